// Shared by the int8 CNN loader (emlml_cnn_load.c) and its kernels (emlml_cnn.c):
// the shape arithmetic of FORMAT.md, int8 CNN, so that what the loader checks is
// what the kernels compute.
#ifndef EMLML_CNN_INTERNAL_H
#define EMLML_CNN_INTERNAL_H

#include "emlml_internal.h"

// Values in a tensor. The loader checks h * w * c against the u32 arena size, so
// after load this never wraps.
static inline uint32_t emlml_cnn_size(const emlml_cnn_tensor_t *t) {
    return (uint32_t)t->h * t->w * t->c;
}

static inline uint64_t emlml_cnn_size64(const emlml_cnn_tensor_t *t) {
    return (uint64_t)t->h * t->w * t->c;
}

static inline int emlml_cnn_same_shape(const emlml_cnn_tensor_t *a, const emlml_cnn_tensor_t *b) {
    return a->h == b->h && a->w == b->w && a->c == b->c;
}

// Extent of a filter of `filter` taps spread `dilation` apart.
static inline uint32_t emlml_cnn_effective_filter(uint32_t filter, uint32_t dilation) {
    return (filter - 1u) * dilation + 1u;
}

// TFLite's output size: ceil(in / stride) for SAME, (in - eff + stride) / stride for
// VALID (0 when the filter does not fit).
static inline uint32_t emlml_cnn_out_size(uint32_t in, uint32_t stride, uint32_t eff, uint8_t same) {
    if (same) {
        return (in + stride - 1u) / stride;
    }
    return in >= eff ? (in - eff + stride) / stride : 0u;
}

// TFLite's padding before the first row (or column): half of the total, rounded down.
static inline int32_t emlml_cnn_pad_before(uint32_t in, uint32_t out, uint32_t stride, uint32_t eff) {
    int32_t total = (int32_t)((out - 1u) * stride + eff) - (int32_t)in;  // < 2^25: no wrap
    return total > 0 ? total / 2 : 0;
}

enum { EMLML_CNN_PADDING_VALID = 0, EMLML_CNN_PADDING_SAME = 1 };

// The elementwise ops of one int8 input (LOGISTIC, TANH, LEAKY_RELU, HARD_SWISH,
// QUANTIZE) store their output for every input value: table[x + 128], in the weights.
enum { EMLML_CNN_TABLE_SIZE = 256 };

// FULLY_CONNECTED's per-channel scales are binary64, stored as two int32 qparams (low
// word first) at a 4-byte aligned place: read as bits (no unaligned double load).
static inline uint64_t emlml_cnn_f64_bits(const int32_t *words) {
    return (uint64_t)(uint32_t)words[0] | ((uint64_t)(uint32_t)words[1] << 32);
}

#endif // EMLML_CNN_INTERNAL_H
