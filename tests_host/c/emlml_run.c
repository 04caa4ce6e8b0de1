// Host driver for the emlml C core, built with ASan and UBSan by tests_host/c/Makefile.
//   emlml_run BLOB [INPUTS [float]]
// Loads BLOB; on failure prints "load-error <status number> <status name> <a> <b> <c> <d>
// <message>" (the emlml_error_t and its message, emlml_error_format) and exits 3. Otherwise reads
// INPUTS (raw samples of the model's input type, back to back) and prints one line
// per sample: "ok <class> <output bits as hex>..." or "error <message>".
// An int8 CNN (kind 3) line ends with " q" and its raw int8 outputs in decimal. With
// `float`, a CNN's samples are float32, quantized by emlml_cnn_quantize_input. With
// `transform`, a model with feature steps prints "features <bits as hex>..." per window
// (emlml_transform) instead. A sample is n_window values (the header's n_inputs).
// Built with every family and, -DEMLML_WITH_<FAMILY>=0, with one family alone.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emlml.h"

static unsigned char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    // malloc memory is aligned for any type, as a blob must be.
    unsigned char *buf = malloc(size > 0 ? (size_t)size : 1u);
    if (buf == NULL || (size > 0 && fread(buf, 1, (size_t)size, f) != (size_t)size)) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    fclose(f);
    *len = (size_t)size;
    return buf;
}

// The names of the status codes, by number (EMLML_STATUS_LIST): the host driver may hold
// a table of strings, a native .mpy may not.
static const char *const status_names[] = {
#define EMLML_STATUS_NAME(name, text) #name,
    EMLML_STATUS_LIST(EMLML_STATUS_NAME)
#undef EMLML_STATUS_NAME
};

static void print_outputs(const emlml_model_t *m, const float *out, uint32_t predicted) {
    printf("ok %u", (unsigned)predicted);
    for (uint32_t o = 0; o < m->n_outputs; o++) {
        uint32_t bits;
        memcpy(&bits, &out[o], sizeof(bits));
        printf(" %08x", (unsigned)bits);
    }
    printf("\n");
}

#if EMLML_WITH_CNN
static void print_cnn_outputs(const emlml_model_t *m, const float *out, uint32_t predicted, const void *arena) {
    const int8_t *q = emlml_cnn_output(m, arena);
    printf("ok %u", (unsigned)predicted);
    for (uint32_t o = 0; o < m->n_outputs; o++) {
        uint32_t bits;
        memcpy(&bits, &out[o], sizeof(bits));
        printf(" %08x", (unsigned)bits);
    }
    printf(" q");
    for (uint32_t o = 0; o < m->n_outputs; o++) {
        printf(" %d", (int)q[o]);
    }
    printf("\n");
}
#endif

// What the core runs on: a CNN's float sample quantized into the input tensor in the
// arena (NULL when refused), else the sample as it is.
static const void *model_input(const emlml_model_t *m, const void *sample, void *arena, int float_cnn, emlml_error_t *err) {
#if EMLML_WITH_CNN
    if (float_cnn) {
        return emlml_cnn_quantize_input(m, (const float *)sample, arena, err) == EMLML_OK ? emlml_cnn_input(m, arena) : NULL;
    }
#else
    (void)m;
    (void)arena;
    (void)float_cnn;
    (void)err;
#endif
    return sample;
}

// One window through every feature step: "features" and the bits, or "error" (a build
// without feature steps has no transform: "error no feature steps").
static void transform_sample(const emlml_model_t *m, const void *sample, void *arena) {
#if EMLML_WITH_FEATURES
    emlml_error_t err;
    char msg[160];
    const float *f = emlml_transform(m, (const float *)sample, arena, &err);
    if (f == NULL) {
        emlml_error_format(&err, msg, sizeof(msg));
        printf("error %s\n", msg);
        return;
    }
    printf("features");
    for (uint32_t i = 0; i < emlml_transform_size(m); i++) {
        uint32_t bits;
        memcpy(&bits, &f[i], sizeof(bits));
        printf(" %08x", (unsigned)bits);
    }
    printf("\n");
#else
    (void)m;
    (void)sample;
    (void)arena;
    printf("error no feature steps\n");
#endif
}

// One sample: run it, check predict_class agrees, print the line.
static void run_sample(const emlml_model_t *m, const void *sample, void *arena, int float_cnn) {
    emlml_error_t err;
    char msg[160];
    const void *input = model_input(m, sample, arena, float_cnn, &err);
    if (input == NULL) {
        emlml_error_format(&err, msg, sizeof(msg));
        printf("error %s\n", msg);
        return;
    }
    uint32_t predicted;
    const float *result = emlml_predict(m, input, arena, &predicted, &err);
    // The outputs live in the arena until its next use (a CNN's may lie over its input
    // tensor): copied before the second run.
    float *out = result != NULL ? malloc(sizeof(float) * m->n_outputs + 1) : NULL;
    if (out != NULL) {
        memcpy(out, result, sizeof(float) * m->n_outputs);
    }
    uint32_t class_only = 0;
    // The class alone must agree. The run may have reused the input tensor's bytes
    // (the arena plan): a float input is quantized again first.
    if (result == NULL || out == NULL) {
        emlml_error_format(&err, msg, sizeof(msg));
        printf("error %s\n", msg);
    } else if (model_input(m, sample, arena, float_cnn, &err) == NULL ||
               emlml_predict_class(m, input, arena, &class_only, &err) != EMLML_OK ||
               class_only != predicted) {
        printf("error emlml_predict_class disagrees with emlml_predict\n");
#if EMLML_WITH_CNN
    } else if (m->kind == EMLML_KIND_CNN) {
        print_cnn_outputs(m, out, predicted, arena);
#endif
    } else {
        print_outputs(m, out, predicted);
    }
    free(out);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s BLOB [INPUTS]\n", argv[0]);
        return 2;
    }
    size_t blob_len;
    unsigned char *blob = read_file(argv[1], &blob_len);
    emlml_model_t model;
    emlml_error_t err;
    char msg[160];
    if (emlml_load(&model, blob, blob_len, &err) != EMLML_OK) {
        emlml_error_format(&err, msg, sizeof(msg));
        const char *name = err.status < EMLML_STATUS_COUNT ? status_names[err.status] : "?";
        printf("load-error %u %s %u %u %u %u %s\n", (unsigned)err.status, name, (unsigned)err.a,
               (unsigned)err.b, (unsigned)err.c, (unsigned)err.d, msg);
        free(blob);
        return 3;
    }
    if (argc > 2) {
        size_t in_len;
        unsigned char *inputs = read_file(argv[2], &in_len);
        int float_cnn = model.kind == EMLML_KIND_CNN && argc > 3 && strcmp(argv[3], "float") == 0;
        size_t item = float_cnn ? 4u : emlml_input_item_size(model.input_type);
        int transform = argc > 3 && strcmp(argv[3], "transform") == 0;
        size_t sample_bytes = (size_t)model.n_window * item;
        void *arena = malloc(model.arena_bytes);
        void *sample = malloc(sample_bytes);
        for (size_t off = 0; off + sample_bytes <= in_len; off += sample_bytes) {
            memcpy(sample, inputs + off, sample_bytes);  // a fresh, exactly sized buffer per sample
            if (transform) {
                transform_sample(&model, sample, arena);
            } else {
                run_sample(&model, sample, arena, float_cnn);
            }
        }
        free(sample);
        free(arena);
        free(inputs);
    }
    free(blob);
    return 0;
}
