// The sound steps MFE and MFCC: emlml_mfcc.h says what they compute, FORMAT.md
// ("Pipelines") their parameters. Every value in float32, in the order py_tools'
// features/mfcc.py computes it (the reference), so that the board gives its bits.
#include "emlml_mfcc.h"

#include "emlml_dsp.h"

#if EMLML_WITH_SOUND

// v as an integer in [lo, hi], or -1 when it is not one (a float32 holds integers
// exactly up to 2^24, beyond every limit here).
static int32_t as_count(float v, uint32_t lo, uint32_t hi) {
    if (!(v >= (float)lo && v <= (float)hi) || v != (float)(uint32_t)v) {
        return -1;
    }
    return (int32_t)v;
}

// The sizes a step's head gives, checked in head order.
typedef struct {
    uint32_t frame, hop, fft, mels, coefs, weights;
} sound_t;

static uint32_t bad_head(const emlml_step_t *s, const float *p, sound_t *d) {
    int32_t v;
    if ((v = as_count(p[EMLML_SOUND_FRAME], 1, s->n_in)) < 0) return EMLML_SOUND_FRAME;
    d->frame = (uint32_t)v;
    if ((v = as_count(p[EMLML_SOUND_HOP], 1, EMLML_MAX_INPUTS)) < 0) return EMLML_SOUND_HOP;
    d->hop = (uint32_t)v;
    v = as_count(p[EMLML_SOUND_FFT], 2, EMLML_PIPE_MAX_FFT);
    if (v < 0 || ((uint32_t)v & ((uint32_t)v - 1u)) != 0 || (uint32_t)v < d->frame) return EMLML_SOUND_FFT;
    d->fft = (uint32_t)v;
    if ((v = as_count(p[EMLML_SOUND_MELS], 1, d->fft / 2u + 1u)) < 0) return EMLML_SOUND_MELS;
    d->mels = (uint32_t)v;
    int mfcc = s->op == EMLML_STEP_MFCC;
    if ((v = as_count(p[EMLML_SOUND_COEFS], mfcc ? 1u : 0u, mfcc ? d->mels : 0u)) < 0) return EMLML_SOUND_COEFS;
    d->coefs = (uint32_t)v;
    if (!(p[EMLML_SOUND_PREEMPH] >= 0.0f && p[EMLML_SOUND_PREEMPH] <= 1.0f)) return EMLML_SOUND_PREEMPH;
    if (!(p[EMLML_SOUND_FLOOR] >= 1.17549435e-38f)) return EMLML_SOUND_FLOOR;
    if ((v = as_count(p[EMLML_SOUND_WEIGHTS], 0, d->mels * (d->fft / 2u + 1u))) < 0) return EMLML_SOUND_WEIGHTS;
    d->weights = (uint32_t)v;
    return EMLML_SOUND_HEAD;
}

// Parameters after the head: the window, cos and sin of 2 pi k / n_fft (n_fft / 2
// each), the filters (first bin, count), the weights, the DCT (coefs x mels).
static uint32_t sound_params(const sound_t *d) {
    return EMLML_SOUND_HEAD + d->frame + d->fft + 2u * d->mels + d->weights + d->coefs * d->mels;
}

// Each filter's bins within 0 .. n_fft / 2, their counts adding up to the weights; the
// index of the first bad parameter, or 0.
static uint32_t bad_filter(const float *p, const sound_t *d) {
    uint32_t bins = d->fft / 2u + 1u, at = EMLML_SOUND_HEAD + d->frame + d->fft, total = 0;
    for (uint32_t m = 0; m < d->mels; m++, at += 2u) {
        int32_t first = as_count(p[at], 0, bins);
        if (first < 0) return at;
        if (as_count(p[at + 1u], 0, bins - (uint32_t)first) < 0) return at + 1u;
        total += (uint32_t)p[at + 1u];
    }
    return total == d->weights ? 0u : EMLML_SOUND_WEIGHTS;
}

emlml_status_t emlml_sound_check(const emlml_step_t *s, uint32_t k, const float *params, uint32_t n_params, uint32_t channels, uint32_t *scratch, emlml_error_t *err) {
    uint32_t name = (uint32_t)EMLML_NAME_STEP_SCALE + s->op - 1u;
    const float *p = params + s->params;
    sound_t d;
    if (channels != 1) {
        return emlml_fail(err, EMLML_E_STEP_MONO, k, name, channels);
    }
    uint32_t bad = bad_head(s, p, &d);
    if (bad != EMLML_SOUND_HEAD) {
        return emlml_fail(err, EMLML_E_STEP_PARAM, k, name, bad);
    }
    uint32_t count = sound_params(&d);
    if (count > n_params - s->params) {
        return emlml_fail4(err, EMLML_E_STEP_PARAMS, k, name, s->params + count, n_params);
    }
    uint32_t frames = 1u + (s->n_in - d.frame) / d.hop;
    if (s->n_out != frames * (d.coefs != 0 ? d.coefs : d.mels)) {
        return emlml_fail4(err, EMLML_E_STEP_OUTPUTS, k, name, s->n_out, s->n_in);
    }
    if ((bad = bad_filter(p, &d)) != 0) {
        return emlml_fail(err, EMLML_E_STEP_PARAM, k, name, bad);
    }
    uint32_t need = 2u * d.fft + d.mels;
    *scratch = need > *scratch ? need : *scratch;
    return EMLML_OK;
}

/******************************************************************************/
// The kernel.

// The frame at x: pre-emphasis (x[t] - a * x[t - 1], the window's first sample
// taking 0 as the one before), times the window, zeros up to n_fft, into re.
static void frame_in(const float *x, int first, const float *p, const sound_t *d, float *re) {
    const float *window = p + EMLML_SOUND_HEAD;
    float a = p[EMLML_SOUND_PREEMPH];
    for (uint32_t t = 0; t < d->frame; t++) {
        float before = (first && t == 0) ? 0.0f : x[(int32_t)t - 1];
        float emphasised = x[t] - a * before;
        re[t] = emphasised * window[t];
    }
    for (uint32_t t = d->frame; t < d->fft; t++) {
        re[t] = 0.0f;
    }
}

// power[k] = re^2 + im^2 of bins k = 0 .. n_fft / 2 (into re); each filter's weighted
// sum of its bins in bin order from +0.0, at least the floor, through the log.
static void log_mels(float *re, const float *im, const float *p, const sound_t *d, float *out) {
    for (uint32_t k = 0; k <= d->fft / 2u; k++) {
        re[k] = re[k] * re[k] + im[k] * im[k];
    }
    const float *filter = p + EMLML_SOUND_HEAD + d->frame + d->fft;
    const float *w = filter + 2u * d->mels;
    float floor = p[EMLML_SOUND_FLOOR];
    for (uint32_t m = 0; m < d->mels; m++) {
        const float *power = re + (uint32_t)filter[2u * m];
        uint32_t count = (uint32_t)filter[2u * m + 1u];
        float energy = 0.0f;
        for (uint32_t j = 0; j < count; j++) {
            energy += power[j] * w[j];
        }
        w += count;
        out[m] = emlml_log_f32(energy > floor ? energy : floor);
    }
}

// out[c] = sum over m in order of dct[c][m] * mel[m], from +0.0.
static void dct(const float *mel, const float *matrix, const sound_t *d, float *out) {
    for (uint32_t c = 0; c < d->coefs; c++) {
        float acc = 0.0f;
        for (uint32_t m = 0; m < d->mels; m++) {
            acc += matrix[c * d->mels + m] * mel[m];
        }
        out[c] = acc;
    }
}

void emlml_sound_run(const emlml_step_t *s, const float *p, const float *x, float *y, float *scratch) {
    sound_t d;
    (void)bad_head(s, p, &d);  // checked at load; decoded again, as the model keeps no copy
    uint32_t frames = 1u + (s->n_in - d.frame) / d.hop;
    uint32_t width = d.coefs != 0 ? d.coefs : d.mels;
    const float *cosine = p + EMLML_SOUND_HEAD + d.frame, *sine = cosine + d.fft / 2u;
    const float *matrix = sine + d.fft / 2u + 2u * d.mels + d.weights;
    float *re = scratch, *im = re + d.fft, *mel = im + d.fft;
    for (uint32_t f = 0; f < frames; f++) {
        frame_in(x + f * d.hop, f == 0, p, &d, re);
        emlml_fft_real(re, im, d.fft, cosine, sine);
        if (d.coefs == 0) {
            log_mels(re, im, p, &d, y + f * width);
        } else {
            log_mels(re, im, p, &d, mel);
            dct(mel, matrix, &d, y + f * width);
        }
    }
}

#endif // EMLML_WITH_SOUND
