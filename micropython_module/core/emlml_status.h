// Status codes of the emlml core and the text that explains each one.
#ifndef EMLML_STATUS_H
#define EMLML_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include "emlml_config.h"

// The limits of emlml_config.h that messages state. A template names one as % and one
// hex digit, its place in this list (%0 is EMLML_VERSION_MIN, %A EMLML_CNN_MAX_PRODUCTS):
// emlml_format prints the configured value, so a limit is set in one place only.
#define EMLML_LIMIT_LIST(X) \
    X(VERSION_MIN)            /* %0 */ \
    X(VERSION_MAX)            /* %1 */ \
    X(HEADER_SIZE)            /* %2 */ \
    X(MAX_SECTIONS)           /* %3 */ \
    X(MAX_INPUTS)             /* %4 */ \
    X(MAX_OUTPUTS)            /* %5 */ \
    X(MAX_TREES)              /* %6 */ \
    X(MAX_KNN_K)              /* %7 */ \
    X(CNN_MAX_TENSORS)        /* %8 */ \
    X(CNN_MAX_LAYERS)         /* %9 */ \
    X(CNN_MAX_PRODUCTS)       /* %A */ \
    X(CNN_MEAN_CELLS_LOG2)    /* %B */ \
    X(KNN_SCALE_LOG2_MAX)     /* %C */ \
    X(PIPE_MAX_STEPS)         /* %D */

enum {
#define EMLML_LIMIT_ENUM(name) EMLML_LIMIT_##name,
    EMLML_LIMIT_LIST(EMLML_LIMIT_ENUM)
#undef EMLML_LIMIT_ENUM
    EMLML_LIMIT_COUNT
};

// Every status code with its message, in one place. A message is a template for
// emlml_format (below); the numbers of an emlml_error_t fill it in order, and a limit
// of this build is written %0..%F (EMLML_LIMIT_LIST), never typed as a number.
// In groups: the core's, and one per family, whose messages a build without that family
// (EMLML_WITH_*) leaves out (its blobs are refused with EMLML_E_NO_FAMILY first, so those
// statuses never arise there). Two halves, each kept as one string in emlml_status.c:
// C99 promises string literals of 4095 bytes only (-Wpedantic's overlength-strings).
// A new status goes into its group.
#define EMLML_STATUS_LIST(X) EMLML_STATUS_LIST_A(X) EMLML_STATUS_LIST_B(X)
#define EMLML_STATUS_LIST_A(X) \
    EMLML_STATUS_CORE(X) EMLML_STATUS_TREES(X) EMLML_STATUS_KNN(X) EMLML_STATUS_CNN_MODEL(X)
#define EMLML_STATUS_LIST_B(X) \
    EMLML_STATUS_CNN_LAYER(X) EMLML_STATUS_FEATURES(X) EMLML_STATUS_PREDICT(X)
#define EMLML_STATUS_CORE(X) \
    X(EMLML_OK, "ok") \
    /* header */ \
    X(EMLML_E_SHORT, "truncated: %u bytes, the header alone needs %2") \
    X(EMLML_E_MAGIC, "bad magic (not an emlml blob)") \
    X(EMLML_E_VERSION, "unsupported version %u (this build reads %0..%1)") \
    X(EMLML_E_TRUNCATED, "truncated: header says %u bytes, buffer has %u") \
    X(EMLML_E_TRAILING, "trailing bytes: header says %u bytes, buffer has %u") \
    X(EMLML_E_CRC, "CRC mismatch") \
    X(EMLML_E_BUFFER_ALIGN, "blob buffer is not 4-byte aligned (copy it into a bytearray)") \
    X(EMLML_E_HEADER_SIZE, "header_size %u, expected %2") \
    X(EMLML_E_RESERVED, "reserved header bytes or flags are not zero") \
    X(EMLML_E_N_SECTIONS, "bad section count %u (1..%3)") \
    X(EMLML_E_KIND, "unknown model kind %u") \
    X(EMLML_E_TASK, "unknown task %u") \
    X(EMLML_E_INPUT_TYPE, "unknown input type %u") \
    X(EMLML_E_N_INPUTS, "n_inputs %u out of range (1..%4)") \
    X(EMLML_E_N_OUTPUTS, "n_outputs %u out of range (1..%5)") \
    X(EMLML_E_REGRESSOR_OUTPUTS, "a regressor has 1 output, the blob says %u") \
    /* a family this build was made without (EMLML_WITH_*): %N names it, b is the kind */ \
    X(EMLML_E_NO_FAMILY, "this emlml build has no %N support: install one that has (emlml install --for MODEL)") \
    X(EMLML_E_ARENA, "arena_bytes %u, this model needs %u") \
    /* section table */ \
    X(EMLML_E_SECTION_BOUNDS, "section %u outside the blob") \
    X(EMLML_E_SECTION_ALIGN, "section %u offset %u not 4-byte aligned") \
    X(EMLML_E_SECTION_ORDER, "section %u overlaps or precedes the one before") \
    X(EMLML_E_SECTION_EMPTY, "section %u is empty") \
    X(EMLML_E_SECTION_DUP, "section id %u appears twice") \
    X(EMLML_E_SECTION_UNKNOWN, "unknown section id %u for this model kind") \
    X(EMLML_E_SECTION_MISSING, "missing section id %u") \
    X(EMLML_E_SECTION_SIZE, "section id %u size %u is not a multiple of %u") \
    X(EMLML_E_SECTION_LENGTH, "section id %u has %u bytes, expected %u") \
    /* metadata */ \
    X(EMLML_E_META_OVERRUN, "metadata record at offset %u overruns its section") \
    X(EMLML_E_LABELS, "%u labels for %u classes")
#define EMLML_STATUS_TREES(X) \
    X(EMLML_E_TREE_COUNT, "bad tree count %u (1..%6)") \
    X(EMLML_E_TREE_ROOT, "tree %u: root %u out of order or range") \
    X(EMLML_E_TREE_CHILD, "tree %u node %u: child index out of range") \
    X(EMLML_E_TREE_FEATURE, "tree %u node %u: feature %u out of range (%u inputs)") \
    X(EMLML_E_TREE_LEAF, "tree %u node %u: leaf index %u out of range") \
    X(EMLML_E_TREE_LEAF_CHILD, "tree %u node %u: leaf with a child offset") \
    X(EMLML_E_TREE_VOTE, "leaf vector %u: vote %u above the scale %u") \
    X(EMLML_E_TREE_NAN_INPUT, "TREE_NAN (section 19) needs float32 input, not input type %u") \
    X(EMLML_E_TREE_NAN_LEAF, "tree %u node %u: NaN direction on a leaf") \
    X(EMLML_E_TREE_NAN_PADDING, "TREE_NAN: bit %u set beyond the %u nodes") \
    X(EMLML_E_TREE_WEIGHTS_TASK, "TREE_WEIGHTS (section 20) is for classifiers only") \
    X(EMLML_E_TREE_WEIGHT, "leaf vector %u: weight 0") \
    /* boosting (trees family) */ \
    X(EMLML_E_BOOST_LINK, "boosting: link %u for task %u with %u outputs and %u score groups") \
    X(EMLML_E_BOOST_PARAMS, "BOOST_PARAMS (section 21): decision %u, sum %u, reserved %u (need 0..1, 0..1, 0)") \
    X(EMLML_E_BOOST_GROUPS, "boosting: %u trees are not a multiple of %u score groups") \
    X(EMLML_E_BOOST_SCORE, "boosting: threshold or init score %u is not finite") \
    X(EMLML_E_BOOST_LEAF, "boosting: leaf value %u is not finite") \
    X(EMLML_E_BOOST_ZERO_NAN, "BOOST_ZERO (section 23) needs float32 input and TREE_NAN (section 19)") \
    X(EMLML_E_BOOST_ZERO_PADDING, "BOOST_ZERO: bit %u set beyond the %u inputs")
#define EMLML_STATUS_KNN(X) \
    X(EMLML_E_KNN_K_RANGE, "k %u out of range (1..%7)") \
    X(EMLML_E_KNN_K_SAMPLES, "k %u larger than the %u samples") \
    X(EMLML_E_KNN_METRIC, "unknown kNN metric %u") \
    X(EMLML_E_KNN_WEIGHTS, "unknown kNN weights %u") \
    X(EMLML_E_KNN_SAMPLE_TYPE, "unknown kNN sample type %u") \
    X(EMLML_E_KNN_DISTANCES, "unknown kNN distances %u (0 = float32, 1 = integer)") \
    X(EMLML_E_KNN_CLASS, "sample %u: class index %u out of range") \
    X(EMLML_E_KNN_NONFINITE, "sample %u feature %u is not finite") \
    X(EMLML_E_KNN_QUANT_NONFINITE, "feature %u: scale or offset is not finite") \
    X(EMLML_E_KNN_INT_FLOAT_SAMPLES, "integer kNN distances need int8 or int16 samples") \
    X(EMLML_E_KNN_INT_SCALE, "feature %u: integer distances need one scale for all, in [2^-%C, 2^%C]")
#define EMLML_STATUS_CNN_MODEL(X) \
    X(EMLML_E_CNN_HEADER, "CNN: task %u, input type %u (needs 0 and 1: int8)") \
    X(EMLML_E_CNN_COUNTS, "CNN: %u tensors, %u layers (2..%8, 1..%9)") \
    X(EMLML_E_CNN_IO_TENSORS, "CNN: bad input/output tensors %u, %u") \
    X(EMLML_E_CNN_SCALE, "CNN: %N scale not finite and positive") \
    X(EMLML_E_CNN_FLAGS, "CNN: flags %u or reserved bytes not zero") \
    X(EMLML_E_CNN_ARENA_SIZE, "CNN: tensor arena of %u bytes too large") \
    X(EMLML_E_CNN_TENSOR_SHAPE, "tensor %u: shape %ux%ux%u has a zero dimension") \
    X(EMLML_E_CNN_TENSOR_FLAGS, "tensor %u: flags %u, must be 0 or 1 (constant)") \
    X(EMLML_E_CNN_TENSOR_ZP, "tensor %u: zero point %d out of range") \
    X(EMLML_E_CNN_TENSOR_ARENA, "tensor %u: bytes [%u, %u) outside the %u-byte arena") \
    X(EMLML_E_CNN_N_INPUTS, "n_inputs %u, the input tensor holds %u") \
    X(EMLML_E_CNN_N_OUTPUTS, "n_outputs %u, the output tensor holds %u") \
    X(EMLML_E_CNN_OUTPUT_UNWRITTEN, "no layer writes the output tensor %u") \
    /* a Pipeline's blob (sections 56-58) in a build without feature steps (the CNN-only module) */ \
    X(EMLML_E_NO_FEATURES, "this module was built without feature steps: install the module of every family (emlml install --for MODEL)")
#define EMLML_STATUS_CNN_LAYER(X) \
    /* int8 CNN: one layer (the first argument says which: EMLML_WHERE_LAYER, printed by %L) */ \
    X(EMLML_E_CNN_OP, "layer %u: unknown op %u") \
    X(EMLML_E_CNN_TENSOR_INDEX, "%L: tensor %u out of range") \
    X(EMLML_E_CNN_FIELD_ZERO, "%L: %N is %u, must be 0") \
    X(EMLML_E_CNN_FIELD_MIN1, "%L: %N is %u, must be >= 1") \
    X(EMLML_E_CNN_PADDING, "%L: padding is %u, must be 0 or 1") \
    X(EMLML_E_CNN_ACTIVATION, "%L: act_min %d above act_max %d") \
    X(EMLML_E_CNN_NO_ACTIVATION, "%L: %N is %d, must be -128/127") \
    X(EMLML_E_CNN_UNWRITTEN_READ, "%L: reads tensor %u before it is written") \
    X(EMLML_E_CNN_WRITES_INPUT, "%L: writes the input tensor %u") \
    X(EMLML_E_CNN_WRITTEN_TWICE, "%L: tensor %u already written by layer %u") \
    X(EMLML_E_CNN_CHAIN, "%L: output shape %ux%ux%u does not chain") \
    X(EMLML_E_CNN_VALID_WINDOW, "%L: VALID window %u larger than input %c %u") \
    X(EMLML_E_CNN_PRODUCTS, "%L: %u products per output, above %A") \
    X(EMLML_E_CNN_DW_CHANNELS, "%L: %u output channels for %u input") \
    X(EMLML_E_CNN_ZP_DIFFERS, "%L: output zero point %d, input %d") \
    X(EMLML_E_CNN_MEAN_CELLS, "%L: mean over %u cells, above 2^%B") \
    X(EMLML_E_CNN_PAD_SIZE, "%L: output %c %u below input + padding %u") \
    X(EMLML_E_CNN_SOFTMAX_ZP, "%L: output zero point %d, must be -128") \
    X(EMLML_E_CNN_RESHAPE_SIZE, "%L: %u values out, %u in") \
    X(EMLML_E_CNN_WEIGHTS_BOUNDS, "%L: weights [%u, %u) outside CNN_WEIGHTS (%u)") \
    X(EMLML_E_CNN_QPARAMS_BOUNDS, "%L: qparams [%u, %u) outside CNN_QPARAMS (%u)") \
    X(EMLML_E_CNN_CHANNEL_QPARAM, "%L: %N[%u] %d out of range") \
    X(EMLML_E_CNN_FC_SCALE, "%L: scale[%u] not finite and >= 0") \
    X(EMLML_E_CNN_QPARAM, "%L: %N %d out of range") \
    X(EMLML_E_CNN_OVERLAP, "%L: live tensors %u and %u share arena bytes") \
    X(EMLML_E_CNN_CONSTANT_BOUNDS, "tensor %u: constant bytes [%u, %u) outside CNN_WEIGHTS (%u)") \
    X(EMLML_E_CNN_WRITES_CONSTANT, "%L: writes the constant tensor %u")
#define EMLML_STATUS_FEATURES(X) \
    /* pipeline steps (features/): %N names a step's op */ \
    X(EMLML_E_PIPE_INPUT, "steps need input type 0, not %u") \
    X(EMLML_E_PIPE_STEPS, "%u feature steps (at most %D)") \
    X(EMLML_E_PIPE_RUN, "n_run %u > %u steps") \
    X(EMLML_E_PIPE_CHANNELS, "%u channels do not divide %u inputs") \
    X(EMLML_E_PIPE_RATE, "bad sample rate") \
    X(EMLML_E_PIPE_PARAM, "step parameter %u not finite") \
    X(EMLML_E_STEP_OP, "step %u: unknown op %u") \
    X(EMLML_E_STEP_RESERVED, "step %u (%N): reserved bytes not zero") \
    X(EMLML_E_STEP_INPUTS, "step %u (%N): %u inputs, expected %u") \
    X(EMLML_E_STEP_OUTPUTS, "step %u (%N): %u outputs from %u inputs") \
    X(EMLML_E_STEP_PARAMS, "step %u (%N): parameters end at %u of %u") \
    X(EMLML_E_STEP_ZERO, "step %u (%N): divisor %u is zero") \
    X(EMLML_E_STEP_PARAM, "step %u (%N): parameter %u out of range") \
    X(EMLML_E_STEP_CHANNELS, "step %u (%N): %u inputs, not a multiple of %u channels") \
    X(EMLML_E_STEP_FFT, "step %u (%N): %u samples, not a power of two") \
    X(EMLML_E_STEP_FOLD, "step %u (%N) cannot be folded into a %N model") \
    X(EMLML_E_STEP_NAN, "step %u (%N): input %u is NaN") \
    X(EMLML_E_STEP_INFINITE, "step %u (%N): input %u is infinite") \
    X(EMLML_E_STEP_OVERFLOW, "step %u (%N): output %u overflows float32") \
    X(EMLML_E_STEP_MONO, "step %u (%N) takes one channel, not %u") \
    X(EMLML_E_STEP_NO_SOUND, "step %u (%N) is not in this build: load the module of every family")
#define EMLML_STATUS_PREDICT(X) \
    X(EMLML_E_INPUT_NONFINITE, "input %u is NaN or infinite") \
    X(EMLML_E_INPUT_INFINITE, "input %u is infinite (NaN is accepted, infinity is not)")

typedef enum {
#define EMLML_STATUS_ENUM(name, text) name,
    EMLML_STATUS_LIST(EMLML_STATUS_ENUM)
#undef EMLML_STATUS_ENUM
    EMLML_STATUS_COUNT
} emlml_status_t;

// A status with up to four numbers that say where (section, tree, node, ...).
typedef struct {
    emlml_status_t status;
    uint32_t a, b, c, d;
} emlml_error_t;

// Write the message for `err` into buf (always NUL-terminated when n > 0).
// Returns the message length without the NUL.
size_t emlml_error_format(const emlml_error_t *err, char *buf, size_t n);

// printf-like formatting into buf of %u (uint32 args a, b, c, d in order), %d (the
// next arg's bits as an int32), %c (a char from the next arg), %L ("layer N (OP)" from
// an arg made by EMLML_WHERE_LAYER), %N (the name of a field: an EMLML_NAME_* code),
// %0..%9 and %A..%F (a limit of EMLML_LIMIT_LIST, in decimal; takes no arg) and %%.
// Returns the length written without the NUL.
// Names are looked up here, from numbers: a native .mpy can hold no table of string
// pointers (relocated data), so none is passed around.
size_t emlml_format(char *buf, size_t n, const char *fmt, uint32_t a, uint32_t b, uint32_t c, uint32_t d);

// The argument of %L: layer index (< 65536) and CNN op number.
#define EMLML_WHERE_LAYER(layer, op) ((uint32_t)(layer) | ((uint32_t)(op) << 16))

// The arguments of %N: names of CNN layer fields and qparams, of the feature steps' ops
// (EMLML_STEP_OP_LIST order), then of the model families
// in kind order (EMLML_E_NO_FAMILY), in this order.
#define EMLML_NAME_LIST(X) \
    X(PADDING, "padding") X(ACT_MIN, "act_min") X(ACT_MAX, "act_max") X(IN1, "in1") \
    X(STRIDE_H, "stride_h") X(STRIDE_W, "stride_w") X(DILATION_H, "dilation_h") \
    X(DILATION_W, "dilation_w") X(FILTER_H, "filter_h") X(FILTER_W, "filter_w") \
    X(PAD_H, "pad_h") X(PAD_W, "pad_w") X(PAD_C, "pad_c") X(RESERVED, "reserved") \
    X(WEIGHTS_OFFSET, "weights_offset") X(QPARAMS_OFFSET, "qparams_offset") \
    X(INPUT, "input") X(OUTPUT, "output") \
    X(INPUT1_MULTIPLIER, "input1_multiplier") X(INPUT1_SHIFT, "input1_shift") \
    X(INPUT2_MULTIPLIER, "input2_multiplier") X(INPUT2_SHIFT, "input2_shift") \
    X(OUTPUT_MULTIPLIER, "output_multiplier") X(OUTPUT_SHIFT, "output_shift") \
    X(INPUT_MULTIPLIER, "input_multiplier") X(SHIFT, "shift") X(MULTIPLIER, "multiplier") \
    X(LEFT_SHIFT, "left_shift") X(INPUT_LEFT_SHIFT, "input_left_shift") X(DIFF_MIN, "diff_min") \
    X(ALPHA_ZERO_POINT, "alpha_zero_point") \
    X(STEP_SCALE, "SCALE") X(STEP_AFFINE, "AFFINE") X(STEP_PROJECT, "PROJECT") X(STEP_STATS, "STATS") X(STEP_SPECTRUM, "SPECTRUM") \
    X(STEP_SOS, "SOS") X(STEP_MFE, "MFE") X(STEP_MFCC, "MFCC") \
    X(TREES, "trees") X(KNN, "kNN") X(CNN, "CNN")

enum {
#define EMLML_NAME_ENUM(name, text) EMLML_NAME_##name,
    EMLML_NAME_LIST(EMLML_NAME_ENUM)
#undef EMLML_NAME_ENUM
    EMLML_NAME_COUNT
};

#endif // EMLML_STATUS_H
