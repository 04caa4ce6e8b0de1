// float32 signal processing the feature steps share: emlml_dsp.h says what each gives.
#include "emlml_dsp.h"

#include <stddef.h>

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

// The n real values as h = n / 2 complex ones z_m = x_2m + i x_2m+1, stored at the
// bit-reversed index of m (log2 h bits) in zr, zi: the input order of the radix-2
// decimation in time. r is a counter that counts with its bits reversed (one carry
// loop, two steps on average), not a loop over the bits of every index.
static void pack_bit_reversed(const float *x, float *zr, float *zi, uint32_t h) {
    uint32_t r = 0;
    for (uint32_t m = 0; m < h; m++) {
        zr[r] = x[2u * m];
        zi[r] = x[2u * m + 1u];
        uint32_t bit = h >> 1;
        while (r & bit) {
            r ^= bit;
            bit >>= 1;
        }
        r |= bit;
    }
}

// The first two stages of the h-point FFT (sizes 2 and 4, h >= 4), whose twiddles are
// 1 and -i: adds and subtracts only, one group of four at a time.
static void trivial_stages(float *zr, float *zi, uint32_t h) {
    for (uint32_t s = 0; s < h; s += 4u) {
        float r0 = zr[s] + zr[s + 1u], i0 = zi[s] + zi[s + 1u];
        float r1 = zr[s] - zr[s + 1u], i1 = zi[s] - zi[s + 1u];
        float r2 = zr[s + 2u] + zr[s + 3u], i2 = zi[s + 2u] + zi[s + 3u];
        float r3 = zr[s + 2u] - zr[s + 3u], i3 = zi[s + 2u] - zi[s + 3u];
        zr[s] = r0 + r2;
        zi[s] = i0 + i2;
        zr[s + 2u] = r0 - r2;
        zi[s + 2u] = i0 - i2;
        zr[s + 1u] = r1 + i3;  // + (-i) (r3 + i i3)
        zi[s + 1u] = i1 - r3;
        zr[s + 3u] = r1 - i3;
        zi[s + 3u] = i1 + r3;
    }
}

// The stages of sizes first .. h: radix-2 butterflies, the twiddle e^(-2 pi i j / size)
// of the n-point table (index j n / size) loaded once per j for every group. Each
// butterfly reads its two values before it writes (zr and zi may alias as far as the
// compiler knows: it would load them again after each store); a size_t index, which the
// compiler turns into a pointer step (x86-64: 20 % fewer instructions than uint32_t).
static void twiddled_stages(float *zr, float *zi, uint32_t h, uint32_t first, const float *cosine, const float *sine) {
    for (uint32_t size = first; size <= h; size *= 2u) {
        uint32_t half = size / 2u, step = 2u * h / size;
        for (uint32_t j = 0; j < half; j++) {
            float wr = cosine[j * step], wi = sine[j * step];
            for (size_t a = j; a < h; a += size) {
                float *ar = zr + a, *ai = zi + a;
                float xr = ar[0], xi = ai[0], yr = ar[half], yi = ai[half];
                float tr = wr * yr + wi * yi;
                float ti = wr * yi - wi * yr;
                ar[half] = xr - tr;
                ai[half] = xi - ti;
                ar[0] = xr + tr;
                ai[0] = xi + ti;
            }
        }
    }
}

// Bins 0 .. h of the n real values from Z, the h-point FFT of z (Z_k at zr[k], zi[k]):
// X_k = E_k + W^k O_k with E_k = (Z_k + conj Z_h-k) / 2, O_k = (Z_k - conj Z_h-k) / 2i,
// W = e^(-2 pi i / n), and X_h-k = conj(E_k - W^k O_k); X_0 and X_h from Z_0, X_h/2
// = conj Z_h/2. Z sits in im[0, n); X goes to re[0, h], im[0, h]: each pair (k, h - k)
// reads its Z values (im[k], im[h - k], im[h + k], im[2h - k]) before writing bins k
// and h - k, and no later pair reads those.
static void split_real(float *re, float *im, uint32_t h, const float *cosine, const float *sine) {
    const float *zr = im, *zi = im + h;
    for (uint32_t k = 1; k < h / 2u; k++) {
        uint32_t j = h - k;
        float even_r = 0.5f * (zr[k] + zr[j]), even_i = 0.5f * (zi[k] - zi[j]);  // E_k
        float odd_r = 0.5f * (zi[k] + zi[j]), odd_i = 0.5f * (zr[j] - zr[k]);  // O_k
        float tr = cosine[k] * odd_r + sine[k] * odd_i;  // W^k O_k
        float ti = cosine[k] * odd_i - sine[k] * odd_r;
        re[k] = even_r + tr;
        im[k] = even_i + ti;
        re[j] = even_r - tr;
        im[j] = ti - even_i;
    }
    if (h >= 2u) {
        re[h / 2u] = zr[h / 2u];
        im[h / 2u] = -zi[h / 2u];
    }
    float r0 = zr[0], i0 = zi[0];
    re[0] = r0 + i0;
    im[0] = 0.0f;
    re[h] = r0 - i0;
    im[h] = 0.0f;
}

// A real FFT through the complex FFT of half its length (features/dsp.py: fft_real).
void emlml_fft_real(float *re, float *im, uint32_t n, const float *cosine, const float *sine) {
    uint32_t h = n / 2u;
    pack_bit_reversed(re, im, im + h, h);
    if (h >= 4u) {
        trivial_stages(im, im + h, h);
    }
    // h = 2: one stage, its twiddle the table's cos 0, sin 0.
    twiddled_stages(im, im + h, h, h >= 4u ? 8u : 2u, cosine, sine);
    split_real(re, im, h, cosine, sine);
}

#endif // EMLML_WITH_FEATURES
