// emlml's SPECTRUM step against emlearn's eml_fft_forward, instruction counts by
// callgrind (py_tools/emlml_dev/bench_fft.py). Reads a blob with one SPECTRUM step of
// n points (one channel), runs REPS windows through emlml_transform (run_emlml: mean,
// window, FFT, power per bin, log) and the same windowed values through
// eml_fft_forward alone (run_emlearn), with emlml's own twiddles in emlearn's table, and
// prints "same" when the two FFTs give the same bits.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eml_fft.h"
#include "emlml.h"

enum { REPS = 20 };

static float window_values[REPS][4096];

__attribute__((noinline)) static float run_emlml(const emlml_model_t *m, void *arena) {
    emlml_error_t err;
    float check = 0.0f;
    for (int r = 0; r < REPS; r++) {
        const float *f = emlml_transform(m, window_values[r], arena, &err);
        check += f[0];
    }
    return check;
}

__attribute__((noinline)) static float run_emlearn(EmlFFT table, float (*re)[4096], float (*im)[4096], size_t n) {
    float check = 0.0f;
    for (int r = 0; r < REPS; r++) {
        eml_fft_forward(table, re[r], im[r], n);
        check += re[r][1];
    }
    return check;
}

static float re_in[REPS][4096], im_in[REPS][4096];

int main(int argc, char **argv) {
    if (argc < 2) {
        return 2;
    }
    FILE *fp = fopen(argv[1], "rb");
    static uint8_t blob[1 << 20] __attribute__((aligned(8)));
    size_t len = fread(blob, 1, sizeof(blob), fp);
    fclose(fp);
    emlml_model_t m;
    emlml_error_t err;
    if (emlml_load(&m, blob, len, &err) != EMLML_OK || m.pipe.n_steps != 1) {
        return 3;
    }
    size_t n = m.n_window;
    const float *p = m.pipe.params + m.pipe.steps[0].params;
    void *arena = malloc(m.arena_bytes);
    uint32_t seed = 1;
    for (int r = 0; r < REPS; r++) {
        float sum = 0.0f;
        for (size_t t = 0; t < n; t++) {
            seed = seed * 1664525u + 1013904223u;
            window_values[r][t] = (float)(seed >> 8) / 16777216.0f - 0.5f;
            sum += window_values[r][t];
        }
        float mean = sum / (float)n;
        for (size_t t = 0; t < n; t++) {  // emlml's order: bit-reversed by eml_fft itself
            re_in[r][t] = (window_values[r][t] - mean) * p[t];
            im_in[r][t] = 0.0f;
        }
    }
    EmlFFT table = {(int)(n / 2), (float *)(p + n + n / 2), (float *)(p + n)};  // sin, cos
    float a = run_emlml(&m, arena);
    float b = run_emlearn(table, re_in, im_in, n);
    // emlml's scratch holds the last window's re, im after its transform.
    const float *scratch = (const float *)((const uint8_t *)arena + m.pipe.arena_offset) + 2u * m.pipe.width;
    int same = memcmp(scratch, re_in[REPS - 1], 4 * n) == 0 && memcmp(scratch + n, im_in[REPS - 1], 4 * n) == 0;
    printf("%s %g %g\n", same ? "same" : "differ", (double)a, (double)b);
    free(arena);
    return 0;
}
