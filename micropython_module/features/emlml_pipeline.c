// Feature steps in front of a model (a converted scikit-learn Pipeline; docs/FORMAT.md,
// Pipelines; docs/features.md): the load checks of PIPE_HEAD, PIPE_STEPS and
// PIPE_PARAMS, and the float32 kernels, in the order of operations that py_tools'
// runtime/pipeline.py computes to the bit. They belong to every model family.
#include "emlml_internal.h"

#include "emlml_dsp.h"
#include "emlml_filter.h"
#include "emlml_mfcc.h"

#if EMLML_WITH_FEATURES

// PIPE_HEAD fields (8 bytes).
enum {
    HEAD_N_RUN = 0,
    HEAD_CHANNELS = 2,
    HEAD_SAMPLE_RATE = 4,
    HEAD_SIZE = 8,
    STEP_SIZE = 16,
};

// The %N name of a known op.
static uint32_t step_name(uint32_t op) {
    return (uint32_t)EMLML_NAME_STEP_SCALE + op - 1u;
}

// SCALE and AFFINE map each value on its own (n_out == n_in, monotone): a tree model's
// thresholds can take them in (the converter folds them on the host).
static int per_value(uint32_t op) {
    return op == EMLML_STEP_SCALE || op == EMLML_STEP_AFFINE;
}

// Steps that write as many values as they read.
static int same_size(uint32_t op) {
    return per_value(op) || op == EMLML_STEP_SOS;
}

// SPECTRUM's byte 1 (reserved for the other ops): a STATS mask of the statistics of its
// power spectrum it appends to each channel's bands; skewness and kurtosis only.
#define SPECTRUM_SHAPE_STATS ((1u << EMLML_STAT_SKEW) | (1u << EMLML_STAT_KURTOSIS))

// MFE and MFCC: compiled only with EMLML_WITH_SOUND (the module of every family).
static int is_sound(uint32_t op) {
    return op == EMLML_STEP_MFE || op == EMLML_STEP_MFCC;
}

static uint32_t spectrum_shape(const emlml_step_t *s) {
    return s->op == EMLML_STEP_SPECTRUM ? s->reserved[0] : 0u;
}

static uint32_t popcount(uint32_t v) {
    uint32_t n = 0;
    for (; v != 0; v &= v - 1u) {
        n++;
    }
    return n;
}

// SPECTRUM's bands per channel: n_out / channels values less its shape statistics (0
// when there are no more values than those: refused by check_spectrum).
static uint32_t spectrum_bands(const emlml_step_t *s, uint32_t channels) {
    uint32_t per_channel = s->n_out / channels, shape = popcount(spectrum_shape(s));
    return per_channel > shape ? per_channel - shape : 0u;
}

// SPECTRUM's parameters, one block every channel shares: the window (n floats), cos and
// sin of 2 pi k / n (n / 2 each), the band edges (bands + 1, in bins), eps; n = n_in /
// channels samples (their divisibility is checked after the count).
static uint32_t spectrum_params(const emlml_step_t *s, uint32_t channels) {
    return 2u * (s->n_in / channels) + spectrum_bands(s, channels) + 2u;
}

// Parameters a step reads: SCALE and AFFINE two per value; PROJECT a mean per input
// and an n_out x n_in matrix (row-major), at most 65534 + 65534^2 < 2^32; STATS its
// statistics mask; SPECTRUM: the window, the twiddles, the band edges and eps, counted
// for channels of n_in / channels samples; SOS its section count and 5 per section
// (the count read when it lies inside PIPE_PARAMS' n_params floats); MFE and MFCC their
// head (the rest is checked with it: emlml_sound_check).
static uint32_t param_count(const emlml_step_t *s, uint32_t channels, const float *params, uint32_t n_params) {
    switch (s->op) {
        case EMLML_STEP_MFE: return EMLML_SOUND_HEAD;
        case EMLML_STEP_MFCC: return EMLML_SOUND_HEAD;
        case EMLML_STEP_PROJECT: return s->n_in + s->n_out * s->n_in;
        case EMLML_STEP_STATS: return 1u;
        case EMLML_STEP_SPECTRUM: return spectrum_params(s, channels);
        case EMLML_STEP_SOS:
            return emlml_sos_param_count(s->params < n_params ? params + s->params : NULL);
        default: return 2u * s->n_in;
    }
}

#define STATS_MASK_ALL ((1u << EMLML_STAT_COUNT) - 1u)

static emlml_status_t check_sections(const emlml_sections_t *sec, emlml_error_t *err) {
    const emlml_section_t *head = &sec->by_id[EMLML_SEC_PIPE_HEAD];
    const emlml_section_t *steps = &sec->by_id[EMLML_SEC_PIPE_STEPS];
    const emlml_section_t *params = &sec->by_id[EMLML_SEC_PIPE_PARAMS];
    if (head->data == NULL) {
        return emlml_fail(err, EMLML_E_SECTION_MISSING, EMLML_SEC_PIPE_HEAD, 0, 0);
    }
    if (head->size != HEAD_SIZE) {
        return emlml_fail(err, EMLML_E_SECTION_LENGTH, EMLML_SEC_PIPE_HEAD, head->size, HEAD_SIZE);
    }
    if (steps->data == NULL) {
        return emlml_fail(err, EMLML_E_SECTION_MISSING, EMLML_SEC_PIPE_STEPS, 0, 0);
    }
    if (steps->size % STEP_SIZE != 0) {
        return emlml_fail(err, EMLML_E_SECTION_SIZE, EMLML_SEC_PIPE_STEPS, steps->size, STEP_SIZE);
    }
    if (params->data == NULL) {
        return emlml_fail(err, EMLML_E_SECTION_MISSING, EMLML_SEC_PIPE_PARAMS, 0, 0);
    }
    if (params->size % 4u != 0) {
        return emlml_fail(err, EMLML_E_SECTION_SIZE, EMLML_SEC_PIPE_PARAMS, params->size, 4);
    }
    return EMLML_OK;
}

static emlml_status_t check_head(emlml_model_t *m, const uint8_t *head, uint32_t n_steps, emlml_error_t *err) {
    if (m->input_type != EMLML_INPUT_F32) {
        return emlml_fail(err, EMLML_E_PIPE_INPUT, m->input_type, 0, 0);
    }
    if (n_steps > EMLML_PIPE_MAX_STEPS) {
        return emlml_fail(err, EMLML_E_PIPE_STEPS, n_steps, 0, 0);
    }
    uint32_t n_run = emlml_rd_u16(head + HEAD_N_RUN);
    uint32_t channels = emlml_rd_u16(head + HEAD_CHANNELS);
    float rate = emlml_f32_from_bits(emlml_rd_u32(head + HEAD_SAMPLE_RATE));
    if (n_run > n_steps) {
        return emlml_fail(err, EMLML_E_PIPE_RUN, n_run, n_steps, 0);
    }
    if (channels == 0 || m->n_window % channels != 0) {
        return emlml_fail(err, EMLML_E_PIPE_CHANNELS, channels, m->n_window, 0);
    }
    if (!emlml_f32_is_finite(rate) || rate < 0.0f) {
        return emlml_fail(err, EMLML_E_PIPE_RATE, 0, 0, 0);
    }
    m->pipe.n_run = n_run;
    m->pipe.channels = (uint16_t)channels;
    m->pipe.sample_rate = rate;
    return EMLML_OK;
}

// One step's fields; `before` is the number of values it reads (the window's, or the
// step before's outputs).
static emlml_status_t check_step(uint32_t k, const emlml_step_t *s, uint32_t before, const float *params, uint32_t n_params, uint32_t channels, emlml_error_t *err) {
    if (s->op < 1 || s->op > EMLML_STEP_OP_MAX) {
        return emlml_fail(err, EMLML_E_STEP_OP, k, s->op, 0);
    }
    uint32_t name = step_name(s->op);
    if (!EMLML_WITH_SOUND && is_sound(s->op)) {
        return emlml_fail(err, EMLML_E_STEP_NO_SOUND, k, name, 0);
    }
    if (((s->reserved[0] & ~spectrum_shape(s)) | s->reserved[1] | s->reserved[2]) != 0 || (spectrum_shape(s) & ~SPECTRUM_SHAPE_STATS) != 0) {
        return emlml_fail(err, EMLML_E_STEP_RESERVED, k, name, 0);
    }
    if (s->n_in != before) {
        return emlml_fail4(err, EMLML_E_STEP_INPUTS, k, name, s->n_in, before);
    }
    if (s->n_out < 1 || s->n_out > EMLML_MAX_INPUTS || (same_size(s->op) && s->n_out != s->n_in)) {
        return emlml_fail4(err, EMLML_E_STEP_OUTPUTS, k, name, s->n_out, s->n_in);
    }
    uint32_t count = param_count(s, channels, params, n_params);
    if (s->params > n_params || count > n_params - s->params) {
        uint64_t end = (uint64_t)s->params + count;
        return emlml_fail4(err, EMLML_E_STEP_PARAMS, k, name, end > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)end, n_params);
    }
    return EMLML_OK;
}

// SCALE divides by its second half of parameters: none may be zero.
static emlml_status_t check_divisors(const emlml_model_t *m, uint32_t k, emlml_error_t *err) {
    const emlml_step_t *s = &m->pipe.steps[k];
    const float *divisor = m->pipe.params + s->params + s->n_in;
    for (uint32_t i = 0; s->op == EMLML_STEP_SCALE && i < s->n_in; i++) {
        if (divisor[i] == 0.0f) {
            return emlml_fail(err, EMLML_E_STEP_ZERO, k, step_name(s->op), i);
        }
    }
    return EMLML_OK;
}

// STATS: its mask names known statistics; its inputs are samples of the window's
// channels; it writes each channel's statistics.
static emlml_status_t check_stats(const emlml_model_t *m, uint32_t k, emlml_error_t *err) {
    const emlml_step_t *s = &m->pipe.steps[k];
    if (s->op != EMLML_STEP_STATS) {
        return EMLML_OK;
    }
    float mask = m->pipe.params[s->params];
    uint32_t bits = mask >= 1.0f && mask <= (float)STATS_MASK_ALL ? (uint32_t)mask : 0u;
    if (bits == 0 || (float)bits != mask) {
        return emlml_fail(err, EMLML_E_STEP_PARAM, k, step_name(s->op), 0);
    }
    if (s->n_in % m->pipe.channels != 0) {
        return emlml_fail4(err, EMLML_E_STEP_CHANNELS, k, step_name(s->op), s->n_in, m->pipe.channels);
    }
    if (s->n_out != m->pipe.channels * popcount(bits)) {
        return emlml_fail4(err, EMLML_E_STEP_OUTPUTS, k, step_name(s->op), s->n_out, s->n_in);
    }
    return EMLML_OK;
}

// SPECTRUM: n_in and n_out multiples of the channels; n = n_in / channels a power of
// two (2 .. EMLML_PIPE_MAX_FFT); the band edges integers, increasing, at most n / 2 + 1;
// eps a normal float32 (> 0), so that the log's argument is one.
static emlml_status_t check_spectrum(emlml_model_t *m, uint32_t k, emlml_error_t *err) {
    const emlml_step_t *s = &m->pipe.steps[k];
    uint32_t name = step_name(s->op), channels = m->pipe.channels;
    if (s->op != EMLML_STEP_SPECTRUM) {
        return EMLML_OK;
    }
    if (s->n_in % channels != 0 || s->n_out % channels != 0) {
        return emlml_fail4(err, EMLML_E_STEP_CHANNELS, k, name, s->n_in % channels != 0 ? s->n_in : s->n_out, channels);
    }
    uint32_t n = s->n_in / channels, bands = spectrum_bands(s, channels);
    if (bands == 0) {
        return emlml_fail4(err, EMLML_E_STEP_OUTPUTS, k, name, s->n_out, s->n_in);
    }
    if (n < 2 || n > EMLML_PIPE_MAX_FFT || (n & (n - 1u)) != 0) {
        return emlml_fail(err, EMLML_E_STEP_FFT, k, name, n);
    }
    const float *edge = m->pipe.params + s->params + 2u * n;
    float previous = -1.0f;
    for (uint32_t b = 0; b <= bands; b++) {
        if (edge[b] <= previous || edge[b] > (float)(n / 2u + 1u) || edge[b] != (float)(uint32_t)edge[b]) {
            return emlml_fail(err, EMLML_E_STEP_PARAM, k, name, 2u * n + b);
        }
        previous = edge[b];
    }
    if (!(edge[bands + 1u] >= 1.17549435e-38f)) {
        return emlml_fail(err, EMLML_E_STEP_PARAM, k, name, 2u * n + bands + 1u);
    }
    m->pipe.scratch = 2u * n > m->pipe.scratch ? 2u * n : m->pipe.scratch;
    return EMLML_OK;
}

static emlml_status_t check_steps(emlml_model_t *m, uint32_t n_params, emlml_error_t *err) {
    uint32_t before = m->n_window;
    m->pipe.width = 0;
    m->pipe.scratch = 0;
    for (uint32_t k = 0; k < m->pipe.n_steps; k++) {
        const emlml_step_t *s = &m->pipe.steps[k];
        emlml_status_t st = check_step(k, s, before, m->pipe.params, n_params, m->pipe.channels, err);
        if (st == EMLML_OK) {
            st = check_divisors(m, k, err);
        }
        if (st == EMLML_OK) {
            st = check_stats(m, k, err);
        }
        if (st == EMLML_OK) {
            st = check_spectrum(m, k, err);
        }
        if (st == EMLML_OK && s->op == EMLML_STEP_SOS) {
            st = emlml_sos_check(s, m->pipe.params + s->params, k, m->pipe.channels, err);
        }
#if EMLML_WITH_SOUND
        if (st == EMLML_OK && is_sound(s->op)) {
            st = emlml_sound_check(s, k, m->pipe.params, n_params, m->pipe.channels, &m->pipe.scratch, err);
        }
#endif
        if (st != EMLML_OK) {
            return st;
        }
        // Steps after n_run are folded into the thresholds of a tree or boosting model
        // (per value only).
        int has_splits = m->kind == EMLML_KIND_TREES || m->kind == EMLML_KIND_BOOST;
        if (k >= m->pipe.n_run && (!has_splits || !per_value(s->op))) {
            uint32_t family = (uint32_t)EMLML_NAME_TREES + (uint32_t)m->kind - (uint32_t)EMLML_KIND_TREES;
            return emlml_fail4(err, EMLML_E_STEP_FOLD, k, step_name(s->op), family, 0);
        }
        if (k + 1u == m->pipe.n_run) {
            m->n_inputs = s->n_out;
        }
        m->pipe.width = s->n_out > m->pipe.width ? s->n_out : m->pipe.width;
        before = s->n_out;
    }
    return EMLML_OK;
}

emlml_status_t emlml_pipeline_load(emlml_model_t *m, const emlml_sections_t *sec, emlml_error_t *err) {
    m->n_window = m->n_inputs;
    m->pipe.steps = NULL;
    m->pipe.params = NULL;
    m->pipe.n_steps = 0;
    m->pipe.n_run = 0;
    m->pipe.width = 0;
    m->pipe.scratch = 0;
    m->pipe.channels = 1;
    m->pipe.sample_rate = 0.0f;
    if (sec->by_id[EMLML_SEC_PIPE_HEAD].data == NULL && sec->by_id[EMLML_SEC_PIPE_STEPS].data == NULL &&
        sec->by_id[EMLML_SEC_PIPE_PARAMS].data == NULL) {
        return EMLML_OK;
    }
    emlml_status_t st = check_sections(sec, err);
    const emlml_section_t *params = &sec->by_id[EMLML_SEC_PIPE_PARAMS];
    uint32_t n_steps = sec->by_id[EMLML_SEC_PIPE_STEPS].size / STEP_SIZE;
    if (st == EMLML_OK) {
        st = check_head(m, sec->by_id[EMLML_SEC_PIPE_HEAD].data, n_steps, err);
    }
    if (st != EMLML_OK) {
        return st;
    }
    uint32_t n_params = params->size / 4u;
    m->pipe.params = (const float *)(const void *)params->data;
    for (uint32_t i = 0; i < n_params; i++) {
        if (!emlml_f32_is_finite(m->pipe.params[i])) {
            return emlml_fail(err, EMLML_E_PIPE_PARAM, i, 0, 0);
        }
    }
    m->pipe.steps = (const emlml_step_t *)(const void *)sec->by_id[EMLML_SEC_PIPE_STEPS].data;
    m->pipe.n_steps = n_steps;
    return check_steps(m, n_params, err);
}

// The steps' two buffers, then the scratch, follow the family's arena (a multiple of 4
// bytes).
uint32_t emlml_pipeline_arena(emlml_model_t *m, uint32_t family_arena) {
    m->pipe.arena_offset = family_arena;
    return 8u * m->pipe.width + 4u * m->pipe.scratch;
}

/******************************************************************************/
// Kernels: float32, each value in index order (FORMAT.md, Pipelines).

// y = (x - a) / b, one subtraction and one division per value (StandardScaler,
// MaxAbsScaler with a = 0). NaN passes; infinity is refused.
static int run_scale(const float *x, const float *p, float *y, uint32_t n, uint32_t *bad) {
    for (uint32_t i = 0; i < n; i++) {
        if (!emlml_f32_is_finite(x[i]) && x[i] == x[i]) {
            *bad = i;
            return 0;
        }
        y[i] = (x[i] - p[i]) / p[n + i];
    }
    return 1;
}

// y = x * a + b, a multiply then an add, never fused (MinMaxScaler).
static int run_affine(const float *x, const float *p, float *y, uint32_t n, uint32_t *bad) {
    for (uint32_t i = 0; i < n; i++) {
        if (!emlml_f32_is_finite(x[i]) && x[i] == x[i]) {
            *bad = i;
            return 0;
        }
        float product = x[i] * p[i];
        y[i] = product + p[n + i];
    }
    return 1;
}

// y[j] = sum over i in order of (x[i] - mean[i]) * w[j][i], from +0.0 (PCA). Takes
// neither NaN nor infinity.
static int run_project(const float *x, const float *p, float *y, uint32_t n_in, uint32_t n_out, uint32_t *bad) {
    for (uint32_t i = 0; i < n_in; i++) {
        if (!emlml_f32_is_finite(x[i])) {
            *bad = i;
            return 0;
        }
    }
    const float *w = p + n_in;
    for (uint32_t j = 0; j < n_out; j++) {
        float acc = 0.0f;
        for (uint32_t i = 0; i < n_in; i++) {
            acc += (x[i] - p[i]) * w[j * n_in + i];
        }
        y[j] = acc;
    }
    return 1;
}

// Statistics of one channel: its `n` values at x[0], x[stride], ... (FORMAT.md,
// Pipelines: the float32 order of operations).
typedef struct {
    float v[EMLML_STAT_COUNT];
} stats_t;

static void channel_stats(const float *x, uint32_t n, uint32_t stride, stats_t *out) {
    float sum = 0.0f, squares = 0.0f, lo = x[0], hi = x[0];
    for (uint32_t t = 0; t < n; t++) {
        float v = x[t * stride];
        sum += v;
        squares += v * v;
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    float count = (float)n;
    float mean = sum / count;
    float m2 = 0.0f, m3 = 0.0f, m4 = 0.0f, crossings = 0.0f;
    for (uint32_t t = 0; t < n; t++) {
        float d = x[t * stride] - mean;
        float d2 = d * d;
        m2 += d2;
        m3 += d2 * d;
        m4 += d2 * d2;
        if (t > 0 && ((x[(t - 1u) * stride] - mean < 0.0f) != (d < 0.0f))) {
            crossings += 1.0f;
        }
    }
    float var = m2 / count;
    out->v[EMLML_STAT_MEAN] = mean;
    out->v[EMLML_STAT_STD] = emlml_sqrtf(var);
    out->v[EMLML_STAT_RMS] = emlml_sqrtf(squares / count);
    out->v[EMLML_STAT_MIN] = lo;
    out->v[EMLML_STAT_MAX] = hi;
    out->v[EMLML_STAT_PTP] = hi - lo;
    out->v[EMLML_STAT_SKEW] = 0.0f;
    out->v[EMLML_STAT_KURTOSIS] = 0.0f;
    if (var > 0.0f) {
        out->v[EMLML_STAT_SKEW] = (m3 / count) / (var * emlml_sqrtf(var));
        out->v[EMLML_STAT_KURTOSIS] = (m4 / count) / (var * var) - 3.0f;
    }
    out->v[EMLML_STAT_CROSSINGS] = crossings;
}

// Per channel, the statistics of the mask's bits in bit order. Takes neither NaN nor
// infinity.
static int run_stats(const float *x, float mask, uint32_t n_in, uint32_t channels, float *y, uint32_t *bad) {
    for (uint32_t i = 0; i < n_in; i++) {
        if (!emlml_f32_is_finite(x[i])) {
            *bad = i;
            return 0;
        }
    }
    uint32_t bits = (uint32_t)mask;
    uint32_t j = 0;
    for (uint32_t c = 0; c < channels; c++) {
        stats_t st;
        channel_stats(x + c, n_in / channels, channels, &st);
        for (uint32_t b = 0; b < EMLML_STAT_COUNT; b++) {
            if ((bits >> b) & 1u) {
                y[j++] = st.v[b];
            }
        }
    }
    return 1;
}

// The shape statistics (skewness, kurtosis: STATS' bits) of the powers re^2 + im^2 of
// bins 0 .. bins - 1, each divided by the largest (when it is not 0: the statistics do not
// change with the scale, and the fourth powers of values <= 1 cannot overflow), into y
// in bit order. re is overwritten.
static void spectrum_shape_stats(float *re, const float *im, uint32_t bins, uint32_t shape, float *y) {
    float hi = 0.0f;
    for (uint32_t k = 0; k < bins; k++) {
        re[k] = re[k] * re[k] + im[k] * im[k];
        hi = re[k] > hi ? re[k] : hi;
    }
    for (uint32_t k = 0; hi > 0.0f && k < bins; k++) {
        re[k] = re[k] / hi;
    }
    stats_t st;
    channel_stats(re, bins, 1u, &st);
    uint32_t j = 0;
    for (uint32_t b = 0; b < EMLML_STAT_COUNT; b++) {
        if ((shape >> b) & 1u) {
            y[j++] = st.v[b];
        }
    }
}

// One channel: its n values at x[0], x[stride], ... minus their mean, times the window,
// through an n-point FFT (radix 2, in place in re/im, the twiddles from the parameters);
// the power re^2 + im^2 of bins [edge[b], edge[b + 1]) summed in bin order, plus eps,
// then log_f32.
static void channel_spectrum(const float *x, uint32_t n, uint32_t stride, const float *p, uint32_t bands, uint32_t shape, float *re, float *y) {
    float *im = re + n;
    const float *window = p, *cosine = p + n, *sine = p + n + n / 2u, *edge = p + 2u * n;
    float sum = 0.0f;
    for (uint32_t t = 0; t < n; t++) {
        sum += x[t * stride];
    }
    float mean = sum / (float)n;
    for (uint32_t t = 0; t < n; t++) {
        re[t] = (x[t * stride] - mean) * window[t];
    }
    emlml_fft_real(re, im, n, cosine, sine);
    for (uint32_t band = 0; band < bands; band++) {
        float power = 0.0f;
        for (uint32_t bin = (uint32_t)edge[band]; bin < (uint32_t)edge[band + 1u]; bin++) {
            power += re[bin] * re[bin] + im[bin] * im[bin];
        }
        y[band] = emlml_log_f32(power + edge[bands + 1u]);
    }
    if (shape != 0) {
        spectrum_shape_stats(re, im, n / 2u + 1u, shape, y + bands);
    }
}

static int run_spectrum(const emlml_model_t *m, const emlml_step_t *s, const float *x, float *y, float *scratch, uint32_t *bad) {
    for (uint32_t i = 0; i < s->n_in; i++) {
        if (!emlml_f32_is_finite(x[i])) {
            *bad = i;
            return 0;
        }
    }
    uint32_t channels = m->pipe.channels, n = s->n_in / channels, bands = spectrum_bands(s, channels);
    uint32_t per_channel = s->n_out / channels;
    for (uint32_t c = 0; c < channels; c++) {
        channel_spectrum(x + c, n, channels, m->pipe.params + s->params, bands, spectrum_shape(s), scratch, y + c * per_channel);
    }
    return 1;
}

#if EMLML_WITH_SOUND
// MFE, MFCC: take neither NaN nor infinity.
static int run_sound(const emlml_step_t *s, const float *p, const float *x, float *y, float *scratch, uint32_t *bad) {
    for (uint32_t i = 0; i < s->n_in; i++) {
        if (!emlml_f32_is_finite(x[i])) {
            *bad = i;
            return 0;
        }
    }
    emlml_sound_run(s, p, x, y, scratch);
    return 1;
}
#endif

// Steps [0, n) on the window, alternating between the arena's two buffers.
static const float *run_steps(const emlml_model_t *m, const float *window, uint32_t n, void *arena, emlml_error_t *err) {
    const float *x = window;
    float *buffers = (float *)(void *)((uint8_t *)arena + m->pipe.arena_offset);
    for (uint32_t k = 0; k < n; k++) {
        const emlml_step_t *s = &m->pipe.steps[k];
        const float *p = m->pipe.params + s->params;
        float *y = buffers + (k & 1u) * m->pipe.width;
        uint32_t bad = 0;
        int ok;
        switch (s->op) {
            case EMLML_STEP_SCALE: ok = run_scale(x, p, y, s->n_in, &bad); break;
            case EMLML_STEP_AFFINE: ok = run_affine(x, p, y, s->n_in, &bad); break;
            case EMLML_STEP_STATS: ok = run_stats(x, p[0], s->n_in, m->pipe.channels, y, &bad); break;
            case EMLML_STEP_SPECTRUM: ok = run_spectrum(m, s, x, y, buffers + 2u * m->pipe.width, &bad); break;
            case EMLML_STEP_SOS: ok = emlml_sos_run(x, p, y, s->n_in, m->pipe.channels, &bad); break;
#if EMLML_WITH_SOUND
            case EMLML_STEP_MFE: ok = run_sound(s, p, x, y, buffers + 2u * m->pipe.width, &bad); break;
            case EMLML_STEP_MFCC: ok = run_sound(s, p, x, y, buffers + 2u * m->pipe.width, &bad); break;
#endif
            default: ok = run_project(x, p, y, s->n_in, s->n_out, &bad); break;
        }
        if (ok <= 0) {
            // ok < 0: output `bad` overflowed; else input `bad` is refused.
            emlml_status_t st = ok < 0 ? EMLML_E_STEP_OVERFLOW : x[bad] == x[bad] ? EMLML_E_STEP_INFINITE : EMLML_E_STEP_NAN;
            emlml_fail(err, st, k, step_name(s->op), bad);
            return NULL;
        }
        x = y;
    }
    return x;
}

const float *emlml_pipeline_run(const emlml_model_t *m, const float *window, void *arena, emlml_error_t *err) {
    return run_steps(m, window, m->pipe.n_run, arena, err);
}

const float *emlml_transform(const emlml_model_t *m, const float *window, void *arena, emlml_error_t *err) {
    return run_steps(m, window, m->pipe.n_steps, arena, err);
}

uint32_t emlml_transform_size(const emlml_model_t *m) {
    return m->pipe.n_steps == 0 ? 0 : m->pipe.steps[m->pipe.n_steps - 1u].n_out;
}

#endif // EMLML_WITH_FEATURES
