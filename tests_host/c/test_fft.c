// emlml_fft_real on the host (ASan + UBSan, gcc and clang) for tests_host/test_core_fft.py,
// which checks its bits against features/dsp.py's fft_real.
//   test_fft IN OUT
// IN: uint32 n, uint32 rows, float32 cosine[n / 2], sine[n / 2], x[rows][n].
// OUT: per row, float32 re[n / 2 + 1] then im[n / 2 + 1].
// re and im are each a block of exactly n floats of their own, so that the sanitizer
// sees any access outside them.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "emlml_dsp.h"

static int read_all(FILE *fp, void *dst, size_t count) {
    return fread(dst, 4, count, fp) == count;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s IN OUT\n", argv[0]);
        return 2;
    }
    FILE *in = fopen(argv[1], "rb"), *out = fopen(argv[2], "wb");
    uint32_t head[2];
    if (in == NULL || out == NULL || !read_all(in, head, 2)) {
        fprintf(stderr, "cannot read %s or write %s\n", argv[1], argv[2]);
        return 2;
    }
    uint32_t n = head[0], rows = head[1], bins = n / 2u + 1u;
    float *table = malloc(4u * n), *re = malloc(4u * n), *im = malloc(4u * n);
    if (table == NULL || re == NULL || im == NULL || !read_all(in, table, n)) {
        fprintf(stderr, "bad input header\n");
        return 2;
    }
    for (uint32_t r = 0; r < rows; r++) {
        if (!read_all(in, re, n)) {
            fprintf(stderr, "row %u missing\n", (unsigned)r);
            return 2;
        }
        emlml_fft_real(re, im, n, table, table + n / 2u);
        if (fwrite(re, 4, bins, out) != bins || fwrite(im, 4, bins, out) != bins) {
            return 2;
        }
    }
    free(table);
    free(re);
    free(im);
    fclose(in);
    fclose(out);
    return 0;
}
