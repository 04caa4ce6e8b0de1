// Shared between the blob loader and the model families; not part of the public API.
#ifndef EMLML_INTERNAL_H
#define EMLML_INTERNAL_H

#include "emlml.h"

// Blobs are little-endian and used in place, so the core reads them natively.
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "emlml needs a little-endian target"
#endif

// Keeps a small function out of line where the call is shorter than its body at each
// of many call sites (gcc and clang; a plain function elsewhere).
#if defined(__GNUC__)
#define EMLML_NOINLINE __attribute__((noinline))
#else
#define EMLML_NOINLINE
#endif

typedef char emlml_node_is_8_bytes[sizeof(emlml_tree_node_t) == 8 ? 1 : -1];
typedef char emlml_cnn_tensor_is_16_bytes[sizeof(emlml_cnn_tensor_t) == 16 ? 1 : -1];
typedef char emlml_step_is_16_bytes[sizeof(emlml_step_t) == 16 ? 1 : -1];
typedef char emlml_cnn_layer_is_32_bytes[sizeof(emlml_cnn_layer_t) == 32 ? 1 : -1];

// Section ids (FORMAT.md, Section table).
enum {
    EMLML_SEC_META = 1,
    EMLML_SEC_TREE_ROOTS = 16,
    EMLML_SEC_TREE_NODES = 17,
    EMLML_SEC_TREE_LEAVES = 18,
    EMLML_SEC_TREE_NAN = 19,
    EMLML_SEC_TREE_WEIGHTS = 20,
    EMLML_SEC_BOOST_PARAMS = 21,
    EMLML_SEC_BOOST_LEAVES = 22,
    EMLML_SEC_BOOST_ZERO = 23,
    EMLML_SEC_KNN_PARAMS = 32,
    EMLML_SEC_KNN_SAMPLES = 33,
    EMLML_SEC_KNN_QUANT = 34,
    EMLML_SEC_KNN_TARGETS = 35,
    EMLML_SEC_CNN_PARAMS = 48,
    EMLML_SEC_CNN_TENSORS = 49,
    EMLML_SEC_CNN_LAYERS = 50,
    EMLML_SEC_CNN_WEIGHTS = 51,
    EMLML_SEC_CNN_QPARAMS = 52,
    EMLML_SEC_PIPE_HEAD = 56,
    EMLML_SEC_PIPE_STEPS = 57,
    EMLML_SEC_PIPE_PARAMS = 58,
    EMLML_SEC_ID_MAX = 58,
};

typedef struct {
    const uint8_t *data;  // NULL when the blob has no such section
    uint32_t size;
} emlml_section_t;

typedef struct {
    emlml_section_t by_id[EMLML_SEC_ID_MAX + 1];
} emlml_sections_t;

// Little-endian reads from byte pointers (any alignment).
static inline uint16_t emlml_rd_u16(const uint8_t *p) {
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t emlml_rd_u32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

// Type punning through a union is defined in C99 (TC3) and needs no libc memcpy,
// which a native .mpy cannot link.
typedef union {
    float f;
    uint32_t u;
} emlml_f32_pun_t;

static inline uint32_t emlml_f32_bits(float f) {
    emlml_f32_pun_t p;
    p.f = f;
    return p.u;
}

static inline float emlml_f32_from_bits(uint32_t u) {
    emlml_f32_pun_t p;
    p.u = u;
    return p.f;
}

static inline int emlml_f32_is_finite(float f) {
    return (emlml_f32_bits(f) & 0x7F800000u) != 0x7F800000u;
}

static inline emlml_status_t emlml_fail(emlml_error_t *err, emlml_status_t status, uint32_t a, uint32_t b, uint32_t c) {
    err->status = status;
    err->a = a;
    err->b = b;
    err->c = c;
    err->d = 0;
    return status;
}

static inline emlml_status_t emlml_fail4(emlml_error_t *err, emlml_status_t status, uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
    emlml_fail(err, status, a, b, c);
    err->d = d;
    return status;
}

// Convert one input value of the model's input type to float32 (exact for integers).
static inline float emlml_input_as_f32(const void *input, uint8_t input_type, uint32_t i) {
    switch (input_type) {
        case EMLML_INPUT_I8: return (float)((const int8_t *)input)[i];
        case EMLML_INPUT_U8: return (float)((const uint8_t *)input)[i];
        case EMLML_INPUT_I16: return (float)((const int16_t *)input)[i];
        default: return ((const float *)input)[i];
    }
}

// Binary64 arithmetic on bit patterns, in integers only (no FPU, no libgcc, no
// double type): what the tree classifiers need to replay scikit-learn's float64 sums
// on a tie (trees/emlml_trees.c). Operands are finite and >= +0 (sign bit clear);
// results are rounded to nearest, ties to even, subnormals included.
uint64_t emlml_f64_add(uint64_t a, uint64_t b);
uint64_t emlml_f64_div_u32(uint64_t a, uint32_t n);  // n >= 1
uint64_t emlml_f64_from_u32(uint32_t k);  // exact
// Boosting's sums: any finite operands, either sign (IEEE-754 double add, round to
// nearest even, x + (-x) = +0); float32 <-> binary64 conversions (exact; rounded to
// nearest even, overflow to infinity); exp in float32 (emlml_math.c says how).
uint64_t emlml_f64_add_signed(uint64_t a, uint64_t b);
uint64_t emlml_f64_from_f32(uint32_t bits);
uint32_t emlml_f64_to_f32(uint64_t x);
float emlml_expf(float x);

// Correctly rounded square root (IEEE-754 round to nearest) for x >= 0.
float emlml_sqrtf(float x);
float emlml_sqrtf_soft(float x);

uint32_t emlml_crc32(const uint8_t *data, size_t len);

// Family loaders: check the sections of the kind, fill model->u, return the arena
// size the family needs in *arena_needed.
emlml_status_t emlml_trees_load(emlml_model_t *model, const emlml_sections_t *sections, uint32_t *arena_needed, emlml_error_t *err);
// want_outputs 0: a classifier may skip computing its n_outputs floats (the class is
// always set); the returned pointer is then only a success indicator.
const float *emlml_trees_predict(const emlml_model_t *model, const void *input, void *arena, uint32_t *predicted, int want_outputs, emlml_error_t *err);

// Shared by trees (kind 1) and boosting (kind 4), trees/emlml_trees.c: the checks of
// TREE_ROOTS, TREE_NODES, the leaves section `leaves_id` (a whole number of leaf_unit
// bytes) and every node; then TREE_NAN if present.
emlml_status_t emlml_trees_check_nodes(emlml_model_t *model, const emlml_sections_t *sections, uint32_t leaves_id, uint32_t leaf_unit, emlml_error_t *err);
emlml_status_t emlml_trees_check_nan(const emlml_model_t *model, const emlml_sections_t *sections, emlml_error_t *err);
// Ready an input for walks: returns what to walk on (the input, or keys in the arena's
// first 4 * n_inputs bytes) and sets *walk, or NULL with err set (refused input).
const void *emlml_trees_prepare(const emlml_model_t *model, const void *input, void *arena, int *walk, emlml_error_t *err);
// The leaf index tree `tree` ends in.
uint32_t emlml_trees_leaf(const emlml_trees_t *t, uint32_t tree, const void *src, int walk);

// Boosting (kind 4), trees/emlml_boost.c.
emlml_status_t emlml_boost_load(emlml_model_t *model, const emlml_sections_t *sections, uint32_t *arena_needed, emlml_error_t *err);
// The raw scores from the walks of emlml_trees_prepare's src; want_outputs 0: the class alone.
const float *emlml_boost_predict(const emlml_model_t *model, const void *src, int walk, void *arena, uint32_t *predicted, int want_outputs);

emlml_status_t emlml_knn_load(emlml_model_t *model, const emlml_sections_t *sections, uint32_t *arena_needed, emlml_error_t *err);
const float *emlml_knn_predict(const emlml_model_t *model, const void *input, void *arena, uint32_t *predicted, emlml_error_t *err);

// Pipeline steps (features/emlml_pipeline.c): check PIPE_* if present, set n_window
// and model->n_inputs to the features the model family reads (before its loader runs),
// and add the steps' buffers to *arena_needed (after it ran: they follow its arena).
// A build without them (EMLML_WITH_FEATURES 0) has no steps: the window is the input.
#if EMLML_WITH_FEATURES
emlml_status_t emlml_pipeline_load(emlml_model_t *model, const emlml_sections_t *sections, emlml_error_t *err);
uint32_t emlml_pipeline_arena(emlml_model_t *model, uint32_t family_arena);
// The window through steps [0, n_run): the features predict hands the model family.
const float *emlml_pipeline_run(const emlml_model_t *model, const float *window, void *arena, emlml_error_t *err);
#else
// The section table took sections 56-58 (so that a corrupt blob gets its own error);
// a blob that has them is refused here by what this build lacks.
static inline emlml_status_t emlml_pipeline_load(emlml_model_t *model, const emlml_sections_t *sections, emlml_error_t *err) {
    model->n_window = model->n_inputs;
    model->pipe.n_steps = 0;
    model->pipe.n_run = 0;
    for (uint32_t id = EMLML_SEC_PIPE_HEAD; id <= EMLML_SEC_PIPE_PARAMS; id++) {
        if (sections->by_id[id].data != NULL) {
            return emlml_fail(err, EMLML_E_NO_FEATURES, id, 0, 0);
        }
    }
    return EMLML_OK;
}
static inline uint32_t emlml_pipeline_arena(emlml_model_t *model, uint32_t family_arena) {
    (void)model;
    (void)family_arena;
    return 0;
}
static inline const float *emlml_pipeline_run(const emlml_model_t *model, const float *window, void *arena, emlml_error_t *err) {
    (void)model;
    (void)arena;
    (void)err;
    return window;
}
#endif

emlml_status_t emlml_cnn_load(emlml_model_t *model, const emlml_sections_t *sections, uint32_t *arena_needed, emlml_error_t *err);
// want_outputs 0: the n_outputs floats are not computed (the class is always set).
const float *emlml_cnn_predict(const emlml_model_t *model, const void *input, void *arena, uint32_t *predicted, int want_outputs, emlml_error_t *err);

#endif // EMLML_INTERNAL_H
