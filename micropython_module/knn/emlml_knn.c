// k-nearest neighbours, classifier and regressor (docs/FORMAT.md, kNN): float32
// distances in a fixed order, a stable choice of the k nearest, scikit-learn's
// weighting rules. Samples are float32, or int8/int16 codes with a per-feature
// scale and offset. Integer distances (KNN_PARAMS byte 11): the codes share one scale,
// the query is quantized to their grid and distances are exact integer sums, with no
// float operation per sample (boards without an FPU).
#include "emlml_internal.h"

// Nothing of this file in a build without the kNN family (EMLML_WITH_KNN 0, emlml_config.h).
#if EMLML_WITH_KNN

enum { PARAMS_SIZE = 12 };

// The integer sums cannot overflow (FORMAT.md, kNN): a query code is within
// +-EMLML_KNN_QUERY_CODE_MAX and a sample code within [-32768, 32767], so a difference
// is at most DIFF_MAX and a sum of EMLML_MAX_INPUTS squares fits a uint64. A query
// whose codes are all within +-NEAR_CODE_MAX (every query inside the training range, and
// far beyond it) takes the near path: differences of at most NEAR_DIFF_MAX, whose
// squares and whose manhattan sums fit a uint32 (no 64-bit multiply: armv6m has none).
enum { NEAR_CODE_MAX = 32767 };
#define DIFF_MAX ((uint64_t)EMLML_KNN_QUERY_CODE_MAX + 32768u)
#define NEAR_DIFF_MAX ((uint64_t)NEAR_CODE_MAX + 32768u)
typedef char emlml_knn_square_sum_fits_u64[DIFF_MAX * DIFF_MAX <= UINT64_MAX / EMLML_MAX_INPUTS ? 1 : -1];
typedef char emlml_knn_near_abs_sum_fits_u32[EMLML_MAX_INPUTS * NEAR_DIFF_MAX <= 0xFFFFFFFFu ? 1 : -1];
typedef char emlml_knn_near_square_fits_u32[NEAR_DIFF_MAX * NEAR_DIFF_MAX <= 0xFFFFFFFFu ? 1 : -1];

static uint32_t sample_item_size(uint8_t sample_type) {
    return sample_type == EMLML_KNN_SAMPLES_I8 ? 1u : sample_type == EMLML_KNN_SAMPLES_I16 ? 2u : 4u;
}

static emlml_status_t need_section(const emlml_section_t *sec, uint32_t id, uint64_t expected, emlml_error_t *err) {
    if (sec->data == NULL) {
        return emlml_fail(err, EMLML_E_SECTION_MISSING, id, 0, 0);
    }
    if (sec->size != expected) {
        uint32_t shown = expected > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)expected;
        return emlml_fail(err, EMLML_E_SECTION_LENGTH, id, sec->size, shown);
    }
    return EMLML_OK;
}

static emlml_status_t read_params(emlml_model_t *m, const emlml_section_t *sec, emlml_error_t *err) {
    emlml_knn_t *knn = &m->u.knn;
    emlml_status_t st = need_section(sec, EMLML_SEC_KNN_PARAMS, PARAMS_SIZE, err);
    if (st != EMLML_OK) {
        return st;
    }
    knn->k = emlml_rd_u32(sec->data);
    knn->n_samples = emlml_rd_u32(sec->data + 4);
    knn->metric = sec->data[8];
    knn->weights = sec->data[9];
    knn->sample_type = sec->data[10];
    knn->distances = sec->data[11];
    if (knn->k < 1 || knn->k > EMLML_MAX_KNN_K) {
        return emlml_fail(err, EMLML_E_KNN_K_RANGE, knn->k, 0, 0);
    }
    if (knn->k > knn->n_samples) {
        return emlml_fail(err, EMLML_E_KNN_K_SAMPLES, knn->k, knn->n_samples, 0);
    }
    if (knn->metric > EMLML_KNN_MANHATTAN) {
        return emlml_fail(err, EMLML_E_KNN_METRIC, knn->metric, 0, 0);
    }
    if (knn->weights > EMLML_KNN_DISTANCE) {
        return emlml_fail(err, EMLML_E_KNN_WEIGHTS, knn->weights, 0, 0);
    }
    if (knn->sample_type > EMLML_KNN_SAMPLES_I16) {
        return emlml_fail(err, EMLML_E_KNN_SAMPLE_TYPE, knn->sample_type, 0, 0);
    }
    if (knn->distances > EMLML_KNN_DIST_INTEGER) {
        return emlml_fail(err, EMLML_E_KNN_DISTANCES, knn->distances, 0, 0);
    }
    if (knn->distances == EMLML_KNN_DIST_INTEGER && knn->sample_type == EMLML_KNN_SAMPLES_F32) {
        return emlml_fail(err, EMLML_E_KNN_INT_FLOAT_SAMPLES, 0, 0, 0);
    }
    return EMLML_OK;
}

// Integer distances: one scale, the same bits for every feature, in [2^-L, 2^L]
// (L = EMLML_KNN_SCALE_LOG2_MAX); for positive floats the bit patterns order as the
// values, and a negative scale's pattern is above the upper bound.
static emlml_status_t check_shared_scale(const float *scale, uint32_t n_inputs, emlml_error_t *err) {
    const uint32_t lowest = (127u - EMLML_KNN_SCALE_LOG2_MAX) << 23;
    const uint32_t highest = (127u + EMLML_KNN_SCALE_LOG2_MAX) << 23;
    uint32_t first = emlml_f32_bits(scale[0]);
    for (uint32_t f = 0; f < n_inputs; f++) {
        uint32_t bits = emlml_f32_bits(scale[f]);
        if (bits != first || bits < lowest || bits > highest) {
            return emlml_fail(err, EMLML_E_KNN_INT_SCALE, f, 0, 0);
        }
    }
    return EMLML_OK;
}

// Finite float32 samples and quantisation parameters keep every distance a number.
static emlml_status_t check_values(const emlml_model_t *m, emlml_error_t *err) {
    const emlml_knn_t *knn = &m->u.knn;
    if (knn->sample_type == EMLML_KNN_SAMPLES_F32) {
        const float *x = (const float *)knn->samples;
        for (uint32_t s = 0; s < knn->n_samples; s++) {
            for (uint32_t f = 0; f < m->n_inputs; f++) {
                if (!emlml_f32_is_finite(x[s * m->n_inputs + f])) {
                    return emlml_fail(err, EMLML_E_KNN_NONFINITE, s, f, 0);
                }
            }
        }
    } else {
        for (uint32_t f = 0; f < m->n_inputs; f++) {
            if (!emlml_f32_is_finite(knn->scale[f]) || !emlml_f32_is_finite(knn->offset[f])) {
                return emlml_fail(err, EMLML_E_KNN_QUANT_NONFINITE, f, 0, 0);
            }
        }
        if (knn->distances == EMLML_KNN_DIST_INTEGER) {
            emlml_status_t st = check_shared_scale(knn->scale, m->n_inputs, err);
            if (st != EMLML_OK) {
                return st;
            }
        }
    }
    if (m->task == EMLML_TASK_CLASSIFIER) {
        const uint16_t *cls = (const uint16_t *)knn->targets;
        for (uint32_t s = 0; s < knn->n_samples; s++) {
            if (cls[s] >= m->n_outputs) {
                return emlml_fail(err, EMLML_E_KNN_CLASS, s, cls[s], 0);
            }
        }
    }
    return EMLML_OK;
}

emlml_status_t emlml_knn_load(emlml_model_t *m, const emlml_sections_t *s, uint32_t *arena_needed, emlml_error_t *err) {
    emlml_knn_t *knn = &m->u.knn;
    emlml_status_t st = read_params(m, &s->by_id[EMLML_SEC_KNN_PARAMS], err);
    if (st != EMLML_OK) {
        return st;
    }
    const emlml_section_t *samples = &s->by_id[EMLML_SEC_KNN_SAMPLES];
    const emlml_section_t *quant = &s->by_id[EMLML_SEC_KNN_QUANT];
    const emlml_section_t *targets = &s->by_id[EMLML_SEC_KNN_TARGETS];
    uint64_t n_values = (uint64_t)knn->n_samples * m->n_inputs;
    if ((st = need_section(samples, EMLML_SEC_KNN_SAMPLES, n_values * sample_item_size(knn->sample_type), err)) != EMLML_OK) {
        return st;
    }
    uint32_t target_size = m->task == EMLML_TASK_CLASSIFIER ? 2u : 4u;
    if ((st = need_section(targets, EMLML_SEC_KNN_TARGETS, (uint64_t)knn->n_samples * target_size, err)) != EMLML_OK) {
        return st;
    }
    knn->samples = samples->data;
    knn->targets = targets->data;
    knn->scale = NULL;
    knn->offset = NULL;
    if (knn->sample_type == EMLML_KNN_SAMPLES_F32) {
        if (quant->data != NULL) {
            return emlml_fail(err, EMLML_E_SECTION_UNKNOWN, EMLML_SEC_KNN_QUANT, 0, 0);
        }
    } else {
        if ((st = need_section(quant, EMLML_SEC_KNN_QUANT, 8u * (uint64_t)m->n_inputs, err)) != EMLML_OK) {
            return st;
        }
        knn->scale = (const float *)(const void *)quant->data;
        knn->offset = knn->scale + m->n_inputs;
    }
    if ((st = check_values(m, err)) != EMLML_OK) {
        return st;
    }
    // Float32: query, distances, indices. Integer: query codes, distances (two words
    // each), indices, weights.
    uint32_t per_neighbour = knn->distances == EMLML_KNN_DIST_INTEGER ? 16u : 8u;
    *arena_needed = 4u * m->n_inputs + per_neighbour * knn->k + 4u * m->n_outputs;
    return EMLML_OK;
}

// One feature's share of the distance: the squared difference (euclidean) or the
// absolute difference (manhattan), float32, never fused (-ffp-contract=off).
static inline float term(float diff, int manhattan) {
    if (manhattan) {
        return diff < 0.0f ? -diff : diff;
    }
    float square = diff * diff;
    return square;
}

// The distance sums, one loop per sample type so that no loop tests the type. Integer
// samples are offset[f] + scale[f] * code (a multiply then an add).
static float distance_f32(const float *query, const float *row, uint32_t n, int manhattan) {
    float sum = 0.0f;
    for (uint32_t f = 0; f < n; f++) {
        sum += term(query[f] - row[f], manhattan);
    }
    return sum;
}

static float distance_i8(const float *query, const int8_t *row, const emlml_knn_t *knn, uint32_t n, int manhattan) {
    float sum = 0.0f;
    for (uint32_t f = 0; f < n; f++) {
        float scaled = knn->scale[f] * (float)row[f];
        sum += term(query[f] - (knn->offset[f] + scaled), manhattan);
    }
    return sum;
}

static float distance_i16(const float *query, const int16_t *row, const emlml_knn_t *knn, uint32_t n, int manhattan) {
    float sum = 0.0f;
    for (uint32_t f = 0; f < n; f++) {
        float scaled = knn->scale[f] * (float)row[f];
        sum += term(query[f] - (knn->offset[f] + scaled), manhattan);
    }
    return sum;
}

static float distance(const emlml_model_t *m, const float *query, uint32_t s) {
    const emlml_knn_t *knn = &m->u.knn;
    uint32_t n = m->n_inputs;
    int manhattan = knn->metric == EMLML_KNN_MANHATTAN;
    switch (knn->sample_type) {
        case EMLML_KNN_SAMPLES_I8:
            return distance_i8(query, (const int8_t *)knn->samples + s * n, knn, n, manhattan);
        case EMLML_KNN_SAMPLES_I16:
            return distance_i16(query, (const int16_t *)knn->samples + s * n, knn, n, manhattan);
        default:
            return distance_f32(query, (const float *)knn->samples + s * n, n, manhattan);
    }
}

// Keep the k smallest distances sorted ascending; a later sample never displaces an
// equal distance, so ties go to the lower sample index.
static void insert_neighbour(float *best_d, uint32_t *best_i, uint32_t *count, uint32_t k, float d, uint32_t s) {
    uint32_t pos = *count < k ? (*count)++ : k;
    if (pos == k) {
        if (!(d < best_d[k - 1])) {
            return;
        }
        pos = k - 1;
    }
    while (pos > 0 && d < best_d[pos - 1]) {
        best_d[pos] = best_d[pos - 1];
        best_i[pos] = best_i[pos - 1];
        pos--;
    }
    best_d[pos] = d;
    best_i[pos] = s;
}

// 1.0f for a neighbour at distance zero, 0.0f for the others (scikit-learn's weights
// when some neighbour is at distance zero). LLVM 22's Xtensa backend with the ESP32's
// FPU cannot compile a select between two float constants (it turns it into a load
// from a table of the two and fails: "Cannot select: TargetConstantPool"), and its
// optimiser turns every branch-free spelling of this (a cast of the comparison, a
// masked bit pattern) back into that select. Reading the zero from a volatile keeps one
// side out of its sight: the values are the same +0.0f and 1.0f. Other compilers keep
// the plain select (the volatile would cost bytes on armv6m).
static float one_if_zero(float d) {
#if defined(__xtensa__) && defined(__clang__)
    volatile float zero = 0.0f;
    return d == 0.0f ? 1.0f : zero;
#else
    return d == 0.0f ? 1.0f : 0.0f;
#endif
}

// Turn the neighbours' distances into weights in place (FORMAT.md, kNN step 5).
static void weights_from_distances(const emlml_knn_t *knn, float *best_d) {
    int any_zero = 0;
    for (uint32_t j = 0; j < knn->k; j++) {
        any_zero |= best_d[j] == 0.0f;
    }
    for (uint32_t j = 0; j < knn->k; j++) {
        if (knn->weights == EMLML_KNN_UNIFORM) {
            best_d[j] = 1.0f;
        } else if (any_zero) {
            best_d[j] = one_if_zero(best_d[j]);
        } else {
            best_d[j] = 1.0f / best_d[j];
        }
    }
}

// Float32 distances: the euclidean sum's square root (FORMAT.md, kNN step 4), then weights.
static void neighbour_weights(const emlml_knn_t *knn, float *best_d) {
    if (knn->metric == EMLML_KNN_EUCLIDEAN) {
        for (uint32_t j = 0; j < knn->k; j++) {
            best_d[j] = emlml_sqrtf(best_d[j]);
        }
    }
    weights_from_distances(knn, best_d);
}

static void vote(const emlml_model_t *m, const float *weight, const uint32_t *index, float *out) {
    const emlml_knn_t *knn = &m->u.knn;
    if (m->task == EMLML_TASK_CLASSIFIER) {
        const uint16_t *cls = (const uint16_t *)knn->targets;
        for (uint32_t c = 0; c < m->n_outputs; c++) {
            out[c] = 0.0f;
        }
        for (uint32_t j = 0; j < knn->k; j++) {
            out[cls[index[j]]] += weight[j];
        }
        float total = 0.0f;
        for (uint32_t c = 0; c < m->n_outputs; c++) {
            total += out[c];
        }
        for (uint32_t c = 0; c < m->n_outputs; c++) {
            out[c] /= total;
        }
    } else {
        const float *y = (const float *)knn->targets;
        float weighted = 0.0f;
        float total = 0.0f;
        for (uint32_t j = 0; j < knn->k; j++) {
            float term = weight[j] * y[index[j]];
            weighted += term;
            total += weight[j];
        }
        out[0] = weighted / total;
    }
}

// ---------------------------------------------------------------- integer distances

// round((x - offset) / scale) to the nearest integer, ties to even, after clamping to
// +-EMLML_KNN_QUERY_CODE_MAX (an infinite quotient included): float32 operations the
// reference replays (FORMAT.md, kNN, integer distances step 1).
static int32_t query_code(float x, float offset, float scale) {
    const float limit = (float)EMLML_KNN_QUERY_CODE_MAX;  // 2^23 - 1: exact
    float t = (x - offset) / scale;
    t = t > limit ? limit : t;
    t = t < -limit ? -limit : t;
    int32_t whole = (int32_t)t;         // toward zero: |t| <= limit
    float frac = t - (float)whole;      // exact (|t| < 2^23)
    uint32_t odd = (uint32_t)whole & 1u;
    if (frac > 0.5f || (frac == 0.5f && odd)) {
        whole++;
    } else if (frac < -0.5f || (frac == -0.5f && odd)) {
        whole--;
    }
    return whole;
}

// The near path's sums, one loop per sample type and metric so that no loop tests
// either, each out of line so that its few registers are not spilled around the
// caller's (armv6m has 8 low registers). A squared difference is computed in uint32:
// exact, as |diff| <= NEAR_DIFF_MAX; the uint64 sum is two words and a carry.
EMLML_NOINLINE static uint64_t squares_i8(const int32_t *q, const int8_t *row, const int8_t *end) {
    uint32_t low = 0, high = 0;
    for (; row < end; row++, q++) {
        uint32_t diff = (uint32_t)(*q - *row);
        uint32_t square = diff * diff;
        low += square;
        high += low < square;
    }
    return ((uint64_t)high << 32) | low;
}

EMLML_NOINLINE static uint64_t squares_i16(const int32_t *q, const int16_t *row, const int16_t *end) {
    uint32_t low = 0, high = 0;
    for (; row < end; row++, q++) {
        uint32_t diff = (uint32_t)(*q - *row);
        uint32_t square = diff * diff;
        low += square;
        high += low < square;
    }
    return ((uint64_t)high << 32) | low;
}

EMLML_NOINLINE static uint32_t absolutes_i8(const int32_t *q, const int8_t *row, const int8_t *end) {
    uint32_t sum = 0;
    for (; row < end; row++, q++) {
        int32_t diff = *q - *row;
        sum += (uint32_t)(diff < 0 ? -diff : diff);
    }
    return sum;
}

EMLML_NOINLINE static uint32_t absolutes_i16(const int32_t *q, const int16_t *row, const int16_t *end) {
    uint32_t sum = 0;
    for (; row < end; row++, q++) {
        int32_t diff = *q - *row;
        sum += (uint32_t)(diff < 0 ? -diff : diff);
    }
    return sum;
}

// The far path (some query code beyond +-NEAR_CODE_MAX): the same sums with 64-bit
// products, exact as |diff| <= DIFF_MAX; one loop for every case, as it is rare.
EMLML_NOINLINE static uint64_t far_sum(const emlml_knn_t *knn, const int32_t *q, uint32_t s, uint32_t n) {
    const int8_t *row8 = (const int8_t *)knn->samples + s * n;
    const int16_t *row16 = (const int16_t *)knn->samples + s * n;
    uint64_t sum = 0;
    for (uint32_t f = 0; f < n; f++) {
        int32_t code = knn->sample_type == EMLML_KNN_SAMPLES_I16 ? row16[f] : row8[f];
        int32_t diff = q[f] - code;
        uint64_t size = (uint64_t)(uint32_t)(diff < 0 ? -diff : diff);
        sum += knn->metric == EMLML_KNN_MANHATTAN ? size : size * size;
    }
    return sum;
}

static uint64_t int_distance(const emlml_model_t *m, const int32_t *q, uint32_t s, int near) {
    const emlml_knn_t *knn = &m->u.knn;
    uint32_t n = m->n_inputs;
    if (!near) {
        return far_sum(knn, q, s, n);
    }
    const int8_t *row8 = (const int8_t *)knn->samples + s * n;
    const int16_t *row16 = (const int16_t *)knn->samples + s * n;
    int i16 = knn->sample_type == EMLML_KNN_SAMPLES_I16;
    if (knn->metric == EMLML_KNN_MANHATTAN) {
        return i16 ? absolutes_i16(q, row16, row16 + n) : absolutes_i8(q, row8, row8 + n);
    }
    return i16 ? squares_i16(q, row16, row16 + n) : squares_i8(q, row8, row8 + n);
}

// The k smallest sums, kept sorted ascending as (high word, low word) pairs (the arena
// is only 4-byte aligned); a later sample never displaces an equal sum, so ties go to
// the lower sample index.
static uint64_t pair_at(const uint32_t *pairs, uint32_t j) {
    return ((uint64_t)pairs[2 * j] << 32) | pairs[2 * j + 1];
}

static void insert_int_neighbour(uint32_t *best_d, uint32_t *best_i, uint32_t *count, uint32_t k, uint64_t d, uint32_t s) {
    uint32_t pos = *count < k ? (*count)++ : k;
    if (pos == k) {
        if (!(d < pair_at(best_d, k - 1))) {
            return;
        }
        pos = k - 1;
    }
    while (pos > 0 && d < pair_at(best_d, pos - 1)) {
        best_d[2 * pos] = best_d[2 * pos - 2];
        best_d[2 * pos + 1] = best_d[2 * pos - 1];
        best_i[pos] = best_i[pos - 1];
        pos--;
    }
    best_d[2 * pos] = (uint32_t)(d >> 32);
    best_d[2 * pos + 1] = (uint32_t)d;
    best_i[pos] = s;
}

// A sum as float32, rounded to nearest (ties to even) as a C cast rounds it. Not the
// cast itself: libgcc's armv6m conversion of a 64-bit integer goes through double
// arithmetic, which would add 3 KB of soft-double code to the module. The kept 24
// bits convert exactly; the shift is added to the exponent (the value is normal).
static float u64_to_f32(uint64_t v) {
    uint32_t shift = 0;
    while ((v >> shift) >= (1u << 24)) {
        shift++;
    }
    uint32_t kept = (uint32_t)(v >> shift);
    if (shift > 0) {
        uint64_t rest = v & ((UINT64_C(1) << shift) - 1u);
        uint64_t half = UINT64_C(1) << (shift - 1u);
        kept += (rest > half || (rest == half && (kept & 1u))) ? 1u : 0u;  // 2^24 at most: exact
    }
    return emlml_f32_from_bits(emlml_f32_bits((float)kept) + (shift << 23));
}

// A neighbour's distance in the original units, once per neighbour: scale times the
// sum (manhattan) or times the square root of the sum (euclidean), float32.
static void int_neighbour_weights(const emlml_knn_t *knn, const uint32_t *best_d, float *weight) {
    float scale = knn->scale[0];
    for (uint32_t j = 0; j < knn->k; j++) {
        float sum = u64_to_f32(pair_at(best_d, j));
        float root = knn->metric == EMLML_KNN_EUCLIDEAN ? emlml_sqrtf(sum) : sum;
        weight[j] = scale * root;
    }
    weights_from_distances(knn, weight);
}

static const float *int_predict(const emlml_model_t *m, const void *input, void *arena, uint32_t *predicted, emlml_error_t *err) {
    const emlml_knn_t *knn = &m->u.knn;
    int32_t *query = (int32_t *)arena;
    uint32_t *best_d = (uint32_t *)(query + m->n_inputs);
    uint32_t *best_i = best_d + 2 * knn->k;
    float *weight = (float *)(best_i + knn->k);
    float *out = weight + knn->k;
    int near = 1;
    for (uint32_t f = 0; f < m->n_inputs; f++) {
        float x = emlml_input_as_f32(input, m->input_type, f);
        if (!emlml_f32_is_finite(x)) {
            emlml_fail(err, EMLML_E_INPUT_NONFINITE, f, 0, 0);
            return NULL;
        }
        query[f] = query_code(x, knn->offset[f], knn->scale[f]);
        near &= query[f] >= -NEAR_CODE_MAX && query[f] <= NEAR_CODE_MAX;
    }
    uint32_t count = 0;
    for (uint32_t s = 0; s < knn->n_samples; s++) {
        insert_int_neighbour(best_d, best_i, &count, knn->k, int_distance(m, query, s, near), s);
    }
    int_neighbour_weights(knn, best_d, weight);
    vote(m, weight, best_i, out);
    *predicted = m->task == EMLML_TASK_CLASSIFIER ? emlml_argmax(out, m->n_outputs) : 0;
    return out;
}

const float *emlml_knn_predict(const emlml_model_t *m, const void *input, void *arena, uint32_t *predicted, emlml_error_t *err) {
    const emlml_knn_t *knn = &m->u.knn;
    if (knn->distances == EMLML_KNN_DIST_INTEGER) {
        return int_predict(m, input, arena, predicted, err);
    }
    float *query = (float *)arena;
    float *best_d = query + m->n_inputs;
    uint32_t *best_i = (uint32_t *)(best_d + knn->k);
    float *out = (float *)(best_i + knn->k);
    for (uint32_t f = 0; f < m->n_inputs; f++) {
        query[f] = emlml_input_as_f32(input, m->input_type, f);
        if (!emlml_f32_is_finite(query[f])) {
            emlml_fail(err, EMLML_E_INPUT_NONFINITE, f, 0, 0);
            return NULL;
        }
    }
    uint32_t count = 0;
    for (uint32_t s = 0; s < knn->n_samples; s++) {
        insert_neighbour(best_d, best_i, &count, knn->k, distance(m, query, s), s);
    }
    neighbour_weights(knn, best_d);
    vote(m, best_d, best_i, out);
    *predicted = m->task == EMLML_TASK_CLASSIFIER ? emlml_argmax(out, m->n_outputs) : 0;
    return out;
}

#endif // EMLML_WITH_KNN
