// emlml core: load a checked model blob and run it. C99, no MicroPython headers,
// no dynamic allocation. The blob format is docs/FORMAT.md.
//
// Use: emlml_load() validates a blob once and fills an emlml_model_t that points
// into it (zero-copy: the blob must outlive the model). emlml_predict() then needs
// an arena of model.arena_bytes bytes (4-byte aligned) and an input of
// model.n_inputs values of model.input_type; it does no bounds checks in its loops
// and cannot read or write outside the blob, the input or the arena.
#ifndef EMLML_H
#define EMLML_H

#include <stddef.h>
#include <stdint.h>

#include "emlml_config.h"
#include "emlml_status.h"

typedef enum {
    EMLML_KIND_TREES = 1,
    EMLML_KIND_KNN = 2,
    EMLML_KIND_CNN = 3,
    EMLML_KIND_BOOST = 4,  // gradient boosting: the trees family (EMLML_WITH_TREES)
} emlml_kind_t;

// Boosting (kind 4, FORMAT.md "Boosting"): how raw scores become the outputs.
typedef enum {
    EMLML_BOOST_IDENTITY = 0,  // regressor: the raw score
    EMLML_BOOST_SIGMOID = 1,   // binary classifier: one raw score, p = 1 / (1 + exp(-raw))
    EMLML_BOOST_SOFTMAX = 2,   // multiclass: one raw score per class
} emlml_boost_link_t;

// How leaf values are stored and added (BOOST_PARAMS sum).
typedef enum {
    EMLML_BOOST_SUM_F64 = 0,  // binary64 leaves and sums (scikit-learn, LightGBM)
    EMLML_BOOST_SUM_F32 = 1,  // float32 leaves and sums (XGBoost)
} emlml_boost_sum_t;

typedef enum {
    EMLML_TASK_CLASSIFIER = 0,
    EMLML_TASK_REGRESSOR = 1,
} emlml_task_t;

typedef enum {
    EMLML_INPUT_F32 = 0,
    EMLML_INPUT_I8 = 1,
    EMLML_INPUT_U8 = 2,
    EMLML_INPUT_I16 = 3,
} emlml_input_type_t;

// Metadata record tags (FORMAT.md, META records).
enum {
    EMLML_META_PRODUCER = 1,
    EMLML_META_LABEL = 2,
    EMLML_META_INPUT_SHAPE = 3,
    EMLML_META_NAME = 4,
};

// One tree node, 8 bytes, used in place from the blob.
typedef struct {
    int32_t key;       // threshold key (split) or leaf index (leaf)
    uint16_t feature;  // input index (split) or EMLML_TREE_LEAF
    uint16_t right;    // split: right child = this index + right; leaf: 0
} emlml_tree_node_t;

#define EMLML_TREE_LEAF 0xFFFFu

typedef struct {
    const uint32_t *roots;
    const emlml_tree_node_t *nodes;
    const uint8_t *leaves;      // classifier: uint32 votes; regressor: float32 values
    const uint32_t *nan_left;   // TREE_NAN: a bit per node, NaN goes left; NULL: NaN refused
    const uint32_t *weights;    // TREE_WEIGHTS: u32 per leaf vector (tie replay), or NULL
    uint32_t n_trees;
    uint32_t n_nodes;
    uint32_t n_leaves;
    // boosting (kind 4) only: BOOST_PARAMS (threshold, init scores) and its fields;
    // BOOST_ZERO (a bit per input: |x| <= 1e-35 is missing there, LightGBM's
    // zero_as_missing), or NULL
    const uint32_t *boost_params;
    const uint32_t *zero_missing;
    uint32_t n_groups;
    uint8_t link;
    uint8_t decision;
    uint8_t sum;
} emlml_trees_t;

typedef enum {
    EMLML_KNN_EUCLIDEAN = 0,
    EMLML_KNN_MANHATTAN = 1,
} emlml_knn_metric_t;

typedef enum {
    EMLML_KNN_UNIFORM = 0,
    EMLML_KNN_DISTANCE = 1,
} emlml_knn_weights_t;

typedef enum {
    EMLML_KNN_SAMPLES_F32 = 0,
    EMLML_KNN_SAMPLES_I8 = 1,
    EMLML_KNN_SAMPLES_I16 = 2,
} emlml_knn_sample_type_t;

// KNN_PARAMS byte 11: how distances are computed (FORMAT.md, kNN). FLOAT32: float32
// sums over the (dequantized) samples; INTEGER: integer samples on one shared grid, the
// query quantized to it and exact integer sums.
typedef enum {
    EMLML_KNN_DIST_FLOAT32 = 0,
    EMLML_KNN_DIST_INTEGER = 1,
} emlml_knn_distances_t;

typedef struct {
    const void *samples;    // n_samples * n_inputs values of sample_type
    const float *scale;     // integer samples: per-feature scale, else NULL
    const float *offset;    // integer samples: per-feature offset, else NULL
    const void *targets;    // uint16 class index or float32 value per sample
    uint32_t k;
    uint32_t n_samples;
    uint8_t metric;
    uint8_t weights;
    uint8_t sample_type;
    uint8_t distances;      // emlml_knn_distances_t
} emlml_knn_t;

// int8 CNN operators (FORMAT.md, CNN_LAYERS): X(name as TFLite spells it, op number),
// numbered from 1 without gaps. The one list: the enum below, EMLML_CNN_OP_MAX, the op
// names of messages (emlml_status.c) and py_tools' format/c_tables.py come from it.
#define EMLML_CNN_OP_LIST(X) \
    X(CONV_2D, 1) X(DEPTHWISE_CONV_2D, 2) X(FULLY_CONNECTED, 3) X(MAX_POOL_2D, 4) \
    X(AVERAGE_POOL_2D, 5) X(MEAN, 6) X(PAD, 7) X(ADD, 8) X(SOFTMAX, 9) X(RESHAPE, 10) \
    X(LOGISTIC, 11) X(TANH, 12) X(LEAKY_RELU, 13) X(HARD_SWISH, 14) X(QUANTIZE, 15) \
    X(CONCATENATION, 16) X(MUL, 17) X(SUB, 18) X(MAXIMUM, 19) X(MINIMUM, 20) X(PRELU, 21) \
    X(TRANSPOSE_CONV, 22)

typedef enum {
#define EMLML_CNN_OP_ENUM(name, number) EMLML_CNN_##name = number,
    EMLML_CNN_OP_LIST(EMLML_CNN_OP_ENUM)
#undef EMLML_CNN_OP_ENUM
} emlml_cnn_op_t;

// Each op's place in the list, from 1, and the largest op number.
enum {
    EMLML_CNN_OP_PLACE_NONE,  // 0: no op
#define EMLML_CNN_OP_PLACE(name, number) EMLML_CNN_OP_PLACE_##name,
    EMLML_CNN_OP_LIST(EMLML_CNN_OP_PLACE)
#undef EMLML_CNN_OP_PLACE
    EMLML_CNN_OP_PLACE_END,
    EMLML_CNN_OP_MAX = EMLML_CNN_OP_PLACE_END - 1
};

// Numbers in list order from 1, without gaps: the loader takes 1..EMLML_CNN_OP_MAX as
// the known ops, and messages find an op's name as the op number-th in a list.
#define EMLML_CNN_OP_IN_PLACE(name, number) && EMLML_CNN_OP_PLACE_##name == (number)
typedef char emlml_cnn_ops_numbered_in_order[(1 EMLML_CNN_OP_LIST(EMLML_CNN_OP_IN_PLACE)) ? 1 : -1];
#undef EMLML_CNN_OP_IN_PLACE

// One int8 tensor (batch 1, HWC), 16 bytes, used in place from the blob.
typedef struct {
    uint16_t h, w, c;
    uint16_t flags;      // EMLML_CNN_TENSOR_CONSTANT or 0
    uint32_t offset;     // byte offset in the tensor arena (a constant: in CNN_WEIGHTS)
    int32_t zero_point;
} emlml_cnn_tensor_t;

// A constant tensor (an operand Keras bakes into the graph: a Normalization's mean, a
// per-channel scale) holds its values in CNN_WEIGHTS at `offset`; layers read it, none
// writes it, and it takes no arena bytes.
enum { EMLML_CNN_TENSOR_CONSTANT = 1 };

// One layer, 32 bytes, used in place from the blob.
typedef struct {
    uint8_t op;          // emlml_cnn_op_t
    uint8_t padding;     // 0 = VALID, 1 = SAME (conv, depthwise, pools)
    int8_t act_min, act_max;
    uint16_t in0, in1, out;
    uint8_t stride_h, stride_w;
    uint8_t dilation_h, dilation_w;
    uint8_t filter_h, filter_w;
    uint16_t pad_before_h, pad_before_w, pad_before_c;
    uint16_t reserved;
    uint32_t weights_offset;   // bytes into the weights
    uint32_t qparams_offset;   // int32 values into the qparams
} emlml_cnn_layer_t;

typedef struct {
    const emlml_cnn_tensor_t *tensors;
    const emlml_cnn_layer_t *layers;
    const int8_t *weights;     // CNN_WEIGHTS, or NULL when no layer has weights
    const int32_t *qparams;    // CNN_QPARAMS
    float input_scale;
    float output_scale;
    uint32_t tensor_arena_bytes;
    uint32_t outputs_offset;   // the n_outputs dequantized floats (FORMAT.md: after the tensors or the output)
    uint16_t n_tensors;
    uint16_t n_layers;
    uint16_t input_tensor;
    uint16_t output_tensor;
    uint8_t flags;
} emlml_cnn_t;

// Pipeline steps (FORMAT.md, Pipelines): X(name, op number), numbered from 1 without
// gaps. The enum, the names in messages (%N, EMLML_NAME_STEP_*) and py_tools'
// format/c_tables.py follow this list.
#define EMLML_STEP_OP_LIST(X) \
    X(SCALE, 1) X(AFFINE, 2) X(PROJECT, 3) X(STATS, 4) X(SPECTRUM, 5) X(SOS, 6) X(MFE, 7) X(MFCC, 8)

// The per-channel statistics of STATS, by bit of its mask, in output order
// (docs/features.md gives each one's float32 definition).
#define EMLML_STAT_LIST(X) \
    X(MEAN, 0) X(STD, 1) X(RMS, 2) X(MIN, 3) X(MAX, 4) X(PTP, 5) X(SKEW, 6) X(KURTOSIS, 7) \
    X(CROSSINGS, 8)
enum {
#define EMLML_STAT_BIT(name, bit) EMLML_STAT_##name = bit,
    EMLML_STAT_LIST(EMLML_STAT_BIT)
#undef EMLML_STAT_BIT
    EMLML_STAT_COUNT
};

typedef enum {
#define EMLML_STEP_OP_ENUM(name, number) EMLML_STEP_##name = number,
    EMLML_STEP_OP_LIST(EMLML_STEP_OP_ENUM)
#undef EMLML_STEP_OP_ENUM
    EMLML_STEP_OP_END,
    EMLML_STEP_OP_MAX = EMLML_STEP_OP_END - 1
} emlml_step_op_t;

// One pipeline step, 16 bytes, used in place from the blob (PIPE_STEPS).
typedef struct {
    uint8_t op;           // emlml_step_op_t
    uint8_t reserved[3];
    uint32_t n_in;        // values it reads: the window, or the step before's outputs
    uint32_t n_out;       // values it writes
    uint32_t params;      // index of its first float32 in PIPE_PARAMS
} emlml_step_t;

// The feature steps in front of the model (PIPE_HEAD, PIPE_STEPS, PIPE_PARAMS).
// predict runs steps [0, n_run); steps [n_run, n_steps) are folded into a tree model's
// thresholds on the host and run only in emlml_transform.
typedef struct {
    const emlml_step_t *steps;  // NULL: the blob has no pipeline
    const float *params;
    uint32_t n_steps;
    uint32_t n_run;
    uint32_t width;             // the most values a step writes
    uint32_t scratch;           // floats of working memory after the buffers (SPECTRUM: 2 * fft length)
    uint32_t arena_offset;      // its two buffers of `width` floats start here in the arena
    uint16_t channels;          // the window is samples x channels, sample-major
    float sample_rate;          // Hz; 0: not given
} emlml_pipeline_t;

typedef struct {
    const uint8_t *blob;
    const uint8_t *meta;     // META section or NULL
    uint32_t size;
    uint32_t meta_size;
    uint32_t n_window;       // values predict takes: the header's n_inputs
    uint32_t n_inputs;       // values the model family reads: n_window, or what the run steps give
    uint32_t n_outputs;
    uint32_t arena_bytes;
    uint32_t n_labels;
    uint16_t kind;
    uint8_t task;
    uint8_t input_type;
    emlml_pipeline_t pipe;
    union {
        emlml_trees_t trees;
        emlml_knn_t knn;
        emlml_cnn_t cnn;
    } u;
} emlml_model_t;

// Validate `blob` (len bytes, 4-byte aligned) and describe it in `model`.
emlml_status_t emlml_load(emlml_model_t *model, const uint8_t *blob, size_t len, emlml_error_t *err);

// Run the model on `input` (n_inputs values of input_type, aligned for that type).
// Returns a pointer to n_outputs floats inside `arena` (class probabilities or the
// regression value) and sets *predicted to the predicted class (0 for a regressor),
// or returns NULL with `err` set when the input is refused (non-finite). The floats
// stay valid until the arena's next use by any call (a CNN's lie over tensors the
// next run or emlml_cnn_quantize_input writes): copy them first.
const float *emlml_predict(const emlml_model_t *model, const void *input, void *arena, uint32_t *predicted, emlml_error_t *err);

// The predicted class alone, as emlml_predict sets it, for a classifier. Cheaper for
// tree classifiers: their probabilities (float conversions and divisions, soft-float
// on an FPU-less core) are not computed.
emlml_status_t emlml_predict_class(const emlml_model_t *model, const void *input, void *arena, uint32_t *predicted, emlml_error_t *err);

// int8 CNN (kind 3), in a build with that family (EMLML_WITH_CNN): a call in a build
// without it fails to compile rather than to link.
#if EMLML_WITH_CNN
// emlml_predict takes the n_inputs int8 values of the input tensor; it returns the
// n_outputs dequantized outputs (float32) and sets *predicted to the first index of the
// largest int8 output. For float input, quantize it into the arena first and hand
// emlml_predict the input tensor itself (no copy is made):
//
//   if (emlml_cnn_quantize_input(&m, x, arena, &err) == EMLML_OK)
//       out = emlml_predict(&m, emlml_cnn_input(&m, arena), arena, &cls, &err);
//
// A CNN behind feature steps (a converted Pipeline: model.pipe.n_steps != 0) takes the
// float32 window in emlml_predict like any Pipeline: the steps' features are quantized
// into its input tensor there (as below), so the two calls below are not for it.
//
// Quantize n_inputs float32 values into the input tensor inside `arena` (TFLite's
// QUANTIZE as its reference interpreter computes it: x / input_scale in float32,
// rounded half away from zero, plus the zero point, clamped to int8; docs/FORMAT.md,
// Edges). A NaN or infinite value is refused with EMLML_E_INPUT_NONFINITE.
emlml_status_t emlml_cnn_quantize_input(const emlml_model_t *model, const float *x, void *arena, emlml_error_t *err);
// The input tensor (n_inputs int8 values) inside `arena`. A run may reuse its bytes
// for later tensors: quantize (or copy) the input again before each run.
int8_t *emlml_cnn_input(const emlml_model_t *model, void *arena);
// The raw int8 outputs (n_outputs values) of the last emlml_predict or
// emlml_predict_class run in `arena`.
const int8_t *emlml_cnn_output(const emlml_model_t *model, const void *arena);
#endif // EMLML_WITH_CNN

// A model with feature steps (a converted scikit-learn Pipeline) takes a window of
// n_window float32 values in emlml_predict. In a build with them (EMLML_WITH_FEATURES),
// emlml_transform runs every step on such a window and returns the features
// (emlml_transform_size(model) floats inside `arena`), or NULL with `err` set when a
// step refuses a value (NaN or infinity).
#if EMLML_WITH_FEATURES
const float *emlml_transform(const emlml_model_t *model, const float *window, void *arena, emlml_error_t *err);
// The number of features emlml_transform gives; 0 for a model without steps.
uint32_t emlml_transform_size(const emlml_model_t *model);
#endif

// First index of the largest of n values (scikit-learn's argmax).
uint32_t emlml_argmax(const float *values, uint32_t n);

// Size in bytes of one input value of the model's input type.
uint32_t emlml_input_item_size(uint8_t input_type);

// The nth metadata record with `tag` (0-based). Returns 1 and sets data/len if found.
int emlml_meta_find(const emlml_model_t *model, uint16_t tag, uint32_t nth, const uint8_t **data, uint32_t *len);

#endif // EMLML_H
