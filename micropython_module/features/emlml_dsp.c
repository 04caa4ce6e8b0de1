// float32 signal processing the feature steps share: emlml_dsp.h says what each gives.
#include "emlml_dsp.h"

#include "emlml_internal.h"

#if EMLML_WITH_FEATURES

// fdlibm's logf reduction and polynomial, each operation rounded to float32 in this
// order (features/dsp.py: log_f32).
float emlml_log_f32(float x) {
    uint32_t bits = emlml_f32_bits(x);
    if (!emlml_f32_is_finite(x)) {
        return x;
    }
    int32_t e = (int32_t)(bits >> 23) - 127;
    uint32_t m_bits = (bits & 0x007FFFFFu) | 0x3F800000u;  // [1, 2)
    if (m_bits > 0x3FB504F3u) {  // above sqrt(2): [sqrt(2)/2, 1)
        m_bits -= 0x00800000u;
        e += 1;
    }
    float f = emlml_f32_from_bits(m_bits) - 1.0f;
    float s = f / (2.0f + f);
    float z = s * s;
    float r = z * (0.66666662693f + z * (0.40000972152f + z * (0.28498786688f + z * 0.24279078841f)));
    float hfsq = 0.5f * f * f;
    float k = (float)e;
    return k * 6.9313812256e-01f - ((hfsq - (s * (hfsq + r) + k * 9.0580006145e-06f)) - f);
}

// re[t] <-> re[bit_reverse(t)]; im cleared.
static void bit_reverse(float *re, float *im, uint32_t n) {
    uint32_t log2n = 0;
    while ((1u << log2n) < n) {
        log2n++;
    }
    for (uint32_t t = 0; t < n; t++) {
        uint32_t r = 0;
        for (uint32_t b = 0; b < log2n; b++) {
            r |= ((t >> b) & 1u) << (log2n - 1u - b);
        }
        if (r > t) {
            float v = re[t];
            re[t] = re[r];
            re[r] = v;
        }
        im[t] = 0.0f;
    }
}

// Radix 2, decimation in time, in place (features/dsp.py: fft_real).
void emlml_fft_real(float *re, float *im, uint32_t n, const float *cosine, const float *sine) {
    bit_reverse(re, im, n);
    for (uint32_t size = 2; size <= n; size *= 2u) {
        uint32_t half = size / 2u, step = n / size;
        for (uint32_t start = 0; start < n; start += size) {
            for (uint32_t j = 0; j < half; j++) {
                uint32_t a = start + j, b = a + half;
                float wr = cosine[j * step], wi = sine[j * step];
                float tr = wr * re[b] + wi * im[b];
                float ti = wr * im[b] - wi * re[b];
                re[b] = re[a] - tr;
                im[b] = im[a] - ti;
                re[a] = re[a] + tr;
                im[a] = im[a] + ti;
            }
        }
    }
}

#endif // EMLML_WITH_FEATURES
