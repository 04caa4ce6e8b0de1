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
} emlml_kind_t;

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
    uint32_t n_trees;
    uint32_t n_nodes;
    uint32_t n_leaves;
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
} emlml_knn_t;

typedef struct {
    const uint8_t *blob;
    const uint8_t *meta;     // META section or NULL
    uint32_t size;
    uint32_t meta_size;
    uint32_t n_inputs;
    uint32_t n_outputs;
    uint32_t arena_bytes;
    uint32_t n_labels;
    uint16_t kind;
    uint8_t task;
    uint8_t input_type;
    union {
        emlml_trees_t trees;
        emlml_knn_t knn;
    } u;
} emlml_model_t;

// Validate `blob` (len bytes, 4-byte aligned) and describe it in `model`.
emlml_status_t emlml_load(emlml_model_t *model, const uint8_t *blob, size_t len, emlml_error_t *err);

// Run the model on `input` (n_inputs values of input_type, aligned for that type).
// Returns a pointer to n_outputs floats inside `arena` (class probabilities or the
// regression value) and sets *predicted to the predicted class (0 for a regressor),
// or returns NULL with `err` set when the input is refused (non-finite).
const float *emlml_predict(const emlml_model_t *model, const void *input, void *arena, uint32_t *predicted, emlml_error_t *err);

// The predicted class alone, as emlml_predict sets it, for a classifier. Cheaper for
// tree classifiers: their probabilities (float conversions and divisions, soft-float
// on an FPU-less core) are not computed.
emlml_status_t emlml_predict_class(const emlml_model_t *model, const void *input, void *arena, uint32_t *predicted, emlml_error_t *err);

// First index of the largest of n values (scikit-learn's argmax).
uint32_t emlml_argmax(const float *values, uint32_t n);

// Size in bytes of one input value of the model's input type.
uint32_t emlml_input_item_size(uint8_t input_type);

// The nth metadata record with `tag` (0-based). Returns 1 and sets data/len if found.
int emlml_meta_find(const emlml_model_t *model, uint16_t tag, uint32_t nth, const uint8_t **data, uint32_t *len);

#endif // EMLML_H
