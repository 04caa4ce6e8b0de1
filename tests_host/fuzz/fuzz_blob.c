// libFuzzer target for the emlml C core (clang -fsanitize=fuzzer,address,undefined).
//
// Each input is tried twice: as it is (the envelope checks: magic, version, sizes,
// CRC) and with its total_size and CRC fixed up, so that mutations reach the header
// fields, the section table and the per-kind checks behind the CRC. Every blob the
// loader accepts is run on fixed inputs (zeros, ones, large and negative values) and
// on inputs cut from the fuzz data itself.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "emlml.h"
#include "emlml_internal.h"

enum { MAX_BLOB = 1 << 20, MAX_ARENA = 1 << 22 };

static void fill_pattern(void *x, size_t bytes, uint8_t input_type, int pattern) {
    static const float floats[4] = {0.0f, 1.0f, -3.5e30f, 1.0e-40f};
    size_t item = emlml_input_item_size(input_type);
    for (size_t i = 0; i + item <= bytes; i += item) {
        if (input_type == EMLML_INPUT_F32) {
            memcpy((uint8_t *)x + i, &floats[pattern & 3], 4);
        } else {
            memset((uint8_t *)x + i, pattern == 2 ? 0x80 : pattern == 1 ? 0x7F : 0, item);
        }
    }
}

static void run_model(const emlml_model_t *m, const uint8_t *data, size_t size) {
    if (m->arena_bytes > MAX_ARENA) {
        return;
    }
    size_t in_bytes = (size_t)m->n_window * emlml_input_item_size(m->input_type);
    void *arena = malloc(m->arena_bytes ? m->arena_bytes : 1);
    void *input = malloc(in_bytes);
    emlml_error_t err;
    for (int pattern = 0; pattern < 4; pattern++) {
        fill_pattern(input, in_bytes, m->input_type, pattern);
        uint32_t predicted;
        const float *out = emlml_predict(m, input, arena, &predicted, &err);
        if (out != NULL && predicted >= m->n_outputs) {
            abort();  // the predicted class must be one of the outputs
        }
    }
    // Inputs taken from the fuzz data (wrapping around), NaNs and all.
    for (size_t i = 0; i < in_bytes && size > 0; i++) {
        ((uint8_t *)input)[i] = data[i % size];
    }
    uint32_t predicted;
    (void)emlml_predict(m, input, arena, &predicted, &err);
    if (m->pipe.n_steps != 0) {  // every feature step, also those folded into trees
        (void)emlml_transform(m, (const float *)input, arena, &err);
    }
    // The float input path of a CNN without steps, on the same data as floats (behind
    // steps, predict took the float32 window above and quantized the features itself).
    if (m->kind == EMLML_KIND_CNN && m->pipe.n_steps == 0) {
        size_t f_bytes = (size_t)m->n_inputs * 4u;
        float *x = malloc(f_bytes);
        for (size_t i = 0; i < f_bytes && size > 0; i++) {
            ((uint8_t *)x)[i] = data[(i + 1) % size];
        }
        if (emlml_cnn_quantize_input(m, x, arena, &err) == EMLML_OK &&
            emlml_predict(m, emlml_cnn_input(m, arena), arena, &predicted, &err) != NULL &&
            predicted >= m->n_outputs) {
            abort();
        }
        free(x);
    }
    free(input);
    free(arena);
}

static void try_blob(const uint8_t *blob, size_t size, const uint8_t *data, size_t data_size) {
    emlml_model_t model;
    emlml_error_t err;
    char msg[160];
    if (emlml_load(&model, blob, size, &err) == EMLML_OK) {
        run_model(&model, data, data_size);
        for (uint32_t i = 0; i < model.n_labels; i++) {
            const uint8_t *label;
            uint32_t len;
            (void)emlml_meta_find(&model, EMLML_META_LABEL, i, &label, &len);
        }
    } else {
        (void)emlml_error_format(&err, msg, sizeof(msg));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > MAX_BLOB) {
        return 0;
    }
    // A fresh, exactly sized heap copy: ASan sees any read past the blob.
    uint8_t *blob = malloc(size ? size : 1);
    memcpy(blob, data, size);
    try_blob(blob, size, data, size);
    if (size >= 16) {
        uint32_t total = (uint32_t)size;
        memcpy(blob + 8, &total, 4);
        uint32_t crc = emlml_crc32(blob + 16, size - 16);
        memcpy(blob + 12, &crc, 4);
        try_blob(blob, size, data, size);
    }
    free(blob);
    return 0;
}
