// Status codes of the emlml core and the text that explains each one.
#ifndef EMLML_STATUS_H
#define EMLML_STATUS_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    EMLML_OK = 0,
    // header
    EMLML_E_SHORT,
    EMLML_E_MAGIC,
    EMLML_E_VERSION,
    EMLML_E_TRUNCATED,
    EMLML_E_TRAILING,
    EMLML_E_CRC,
    EMLML_E_BUFFER_ALIGN,
    EMLML_E_HEADER_SIZE,
    EMLML_E_RESERVED,
    EMLML_E_N_SECTIONS,
    EMLML_E_KIND,
    EMLML_E_TASK,
    EMLML_E_INPUT_TYPE,
    EMLML_E_N_INPUTS,
    EMLML_E_N_OUTPUTS,
    EMLML_E_REGRESSOR_OUTPUTS,
    EMLML_E_ARENA,
    // section table
    EMLML_E_SECTION_BOUNDS,
    EMLML_E_SECTION_ALIGN,
    EMLML_E_SECTION_ORDER,
    EMLML_E_SECTION_EMPTY,
    EMLML_E_SECTION_DUP,
    EMLML_E_SECTION_UNKNOWN,
    EMLML_E_SECTION_MISSING,
    EMLML_E_SECTION_SIZE,
    EMLML_E_SECTION_LENGTH,
    // metadata
    EMLML_E_META_OVERRUN,
    EMLML_E_LABELS,
    // trees
    EMLML_E_TREE_COUNT,
    EMLML_E_TREE_ROOT,
    EMLML_E_TREE_CHILD,
    EMLML_E_TREE_FEATURE,
    EMLML_E_TREE_LEAF,
    EMLML_E_TREE_LEAF_CHILD,
    EMLML_E_TREE_VOTE,
    // kNN
    EMLML_E_KNN_K_RANGE,
    EMLML_E_KNN_K_SAMPLES,
    EMLML_E_KNN_METRIC,
    EMLML_E_KNN_WEIGHTS,
    EMLML_E_KNN_SAMPLE_TYPE,
    EMLML_E_KNN_RESERVED,
    EMLML_E_KNN_CLASS,
    EMLML_E_KNN_NONFINITE,
    EMLML_E_KNN_QUANT_NONFINITE,
    // predict
    EMLML_E_INPUT_NONFINITE,
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

// printf-like formatting of %u (uint32 args a, b, c, d in order), %c (a char from the
// next arg) and %% into buf. Returns the length written without the NUL.
size_t emlml_format(char *buf, size_t n, const char *fmt, uint32_t a, uint32_t b, uint32_t c, uint32_t d);

#endif // EMLML_STATUS_H
