// Host driver for the emlml C core, built with ASan and UBSan by tests_host/c/Makefile.
//   emlml_run BLOB [INPUTS]
// Loads BLOB; on failure prints "load-error <message>" and exits 3. Otherwise reads
// INPUTS (raw samples of the model's input type, back to back) and prints one line
// per sample: "ok <class> <output bits as hex>..." or "error <message>".
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

static void print_outputs(const emlml_model_t *m, const float *out, uint32_t predicted) {
    printf("ok %u", (unsigned)predicted);
    for (uint32_t o = 0; o < m->n_outputs; o++) {
        uint32_t bits;
        memcpy(&bits, &out[o], sizeof(bits));
        printf(" %08x", (unsigned)bits);
    }
    printf("\n");
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
        printf("load-error %s\n", msg);
        free(blob);
        return 3;
    }
    if (argc > 2) {
        size_t in_len;
        unsigned char *inputs = read_file(argv[2], &in_len);
        size_t sample_bytes = (size_t)model.n_inputs * emlml_input_item_size(model.input_type);
        void *arena = malloc(model.arena_bytes);
        void *sample = malloc(sample_bytes);
        for (size_t off = 0; off + sample_bytes <= in_len; off += sample_bytes) {
            memcpy(sample, inputs + off, sample_bytes);  // a fresh, exactly sized buffer per sample
            uint32_t predicted;
            const float *out = emlml_predict(&model, sample, arena, &predicted, &err);
            uint32_t class_only = 0;
            if (out == NULL) {
                emlml_error_format(&err, msg, sizeof(msg));
                printf("error %s\n", msg);
            } else if (emlml_predict_class(&model, sample, arena, &class_only, &err) != EMLML_OK ||
                       class_only != predicted) {
                printf("error emlml_predict_class disagrees with emlml_predict\n");
            } else {
                print_outputs(&model, out, predicted);
            }
        }
        free(sample);
        free(arena);
        free(inputs);
    }
    free(blob);
    return 0;
}
