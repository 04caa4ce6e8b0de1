// The SOS step: emlml_filter.h says what each function gives; docs/FORMAT.md
// ("Pipelines", SOS) the order of operations.
#include "emlml_filter.h"

#if EMLML_WITH_FEATURES

// A section's five coefficients: b0 b1 b2 a1 a2 (a0 = 1).
enum { SOS_B0, SOS_B1, SOS_B2, SOS_A1, SOS_A2, SOS_COEFFS };

static uint32_t section_count(float count) {
    int whole = count >= 1.0f && count <= (float)EMLML_PIPE_MAX_SECTIONS && count == (float)(uint32_t)count;
    return whole ? (uint32_t)count : 0u;
}

uint32_t emlml_sos_param_count(const float *first) {
    return first == NULL ? 1u : 1u + SOS_COEFFS * section_count(*first);
}

static float abs_f32(float v) {
    return v < 0.0f ? -v : v;
}

// The poles of 1 + a1 z^-1 + a2 z^-2 lie inside the unit circle exactly when |a2| < 1
// and |a1| < 1 + a2 (the stability triangle), compared in float32. An unstable section
// grows without bound from any input: refused at load (the converter refuses it first,
// with scipy's poles).
emlml_status_t emlml_sos_check(const emlml_step_t *s, const float *p, uint32_t k, uint32_t channels, emlml_error_t *err) {
    uint32_t sections = section_count(p[0]);
    if (sections == 0) {
        return emlml_fail(err, EMLML_E_STEP_PARAM, k, EMLML_NAME_STEP_SOS, 0);
    }
    if (s->n_in % channels != 0) {
        return emlml_fail4(err, EMLML_E_STEP_CHANNELS, k, EMLML_NAME_STEP_SOS, s->n_in, channels);
    }
    for (uint32_t j = 0; j < sections; j++) {
        const float *c = p + 1u + SOS_COEFFS * j;
        uint32_t at = 1u + SOS_COEFFS * j;
        if (!(abs_f32(c[SOS_A2]) < 1.0f)) {
            return emlml_fail(err, EMLML_E_STEP_PARAM, k, EMLML_NAME_STEP_SOS, at + SOS_A2);
        }
        if (!(abs_f32(c[SOS_A1]) < 1.0f + c[SOS_A2])) {
            return emlml_fail(err, EMLML_E_STEP_PARAM, k, EMLML_NAME_STEP_SOS, at + SOS_A1);
        }
    }
    return EMLML_OK;
}

// One section on one channel's n values (at in[0], in[stride], ...), transposed direct
// form II from a zero state, as scipy's sosfilt: each product rounded, then the sums
// left to right. in may be out (the later sections run in place).
static void section(const float *in, float *out, uint32_t n, uint32_t stride, const float *c) {
    float z1 = 0.0f, z2 = 0.0f;
    for (uint32_t t = 0; t < n; t++) {
        float v = in[t * stride];
        float y = c[SOS_B0] * v + z1;
        z1 = c[SOS_B1] * v - c[SOS_A1] * y + z2;
        z2 = c[SOS_B2] * v - c[SOS_A2] * y;
        out[t * stride] = y;
    }
}

static int first_not_finite(const float *v, uint32_t n, uint32_t *bad) {
    for (uint32_t i = 0; i < n; i++) {
        if (!emlml_f32_is_finite(v[i])) {
            *bad = i;
            return 1;
        }
    }
    return 0;
}

int emlml_sos_run(const float *x, const float *p, float *y, uint32_t n, uint32_t channels, uint32_t *bad) {
    if (first_not_finite(x, n, bad)) {
        return 0;
    }
    uint32_t sections = section_count(p[0]), samples = n / channels;
    for (uint32_t ch = 0; ch < channels; ch++) {
        for (uint32_t j = 0; j < sections; j++) {
            section(j == 0 ? x + ch : y + ch, y + ch, samples, channels, p + 1u + SOS_COEFFS * j);
        }
    }
    return first_not_finite(y, n, bad) ? -1 : 1;
}

#endif // EMLML_WITH_FEATURES
