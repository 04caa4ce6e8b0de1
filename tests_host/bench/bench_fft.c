// FFT against FFT, instruction counts by callgrind (py_tools/emlml_dev/bench_fft.py).
// Reads a blob with one SPECTRUM step of n points (one channel) and, on the same REPS
// windows of n real values, runs
//   run_emlml_fft: emlml_fft_real (n real values in, bins 0 .. n/2 out),
//   run_emlearn:   eml_fft_forward on the same values with im = 0 (as a user calls it
//                  for real data), its table filled with the step's float32 twiddles,
//   run_emlml_step: emlml_transform, the whole SPECTRUM step (mean, window, FFT, power,
//                  log per band), for the row the docs kept from before.
// Writes the last window and both FFTs' bins 0 .. n/2 (float32: x[n], then re, im of
// emlml, then re, im of emlearn) to OUT, for the accuracy columns.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eml_fft.h"
#include "emlml.h"
#include "emlml_dsp.h"

enum { REPS = 20, MAX_N = 4096 };

static float window_values[REPS][MAX_N];
static float emlml_re[REPS][MAX_N], emlml_im[REPS][MAX_N];
static float emlearn_re[REPS][MAX_N], emlearn_im[REPS][MAX_N];

__attribute__((noinline)) static float run_emlml_step(const emlml_model_t *m, void *arena) {
    emlml_error_t err;
    float check = 0.0f;
    for (int r = 0; r < REPS; r++) {
        const float *f = emlml_transform(m, window_values[r], arena, &err);
        check += f[0];
    }
    return check;
}

__attribute__((noinline)) static float run_emlml_fft(uint32_t n, const float *cosine, const float *sine) {
    float check = 0.0f;
    for (int r = 0; r < REPS; r++) {
        emlml_fft_real(emlml_re[r], emlml_im[r], n, cosine, sine);
        check += emlml_re[r][1];
    }
    return check;
}

__attribute__((noinline)) static float run_emlearn(EmlFFT table, size_t n) {
    float check = 0.0f;
    for (int r = 0; r < REPS; r++) {
        eml_fft_forward(table, emlearn_re[r], emlearn_im[r], n);
        check += emlearn_re[r][1];
    }
    return check;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        return 2;
    }
    FILE *fp = fopen(argv[1], "rb");
    static uint8_t blob[1 << 20] __attribute__((aligned(8)));
    size_t len = fread(blob, 1, sizeof(blob), fp);
    fclose(fp);
    emlml_model_t m;
    emlml_error_t err;
    if (emlml_load(&m, blob, len, &err) != EMLML_OK || m.pipe.n_steps != 1 || m.n_window > MAX_N) {
        return 3;
    }
    uint32_t n = m.n_window;
    const float *p = m.pipe.params + m.pipe.steps[0].params;
    const float *cosine = p + n, *sine = p + n + n / 2u;
    void *arena = malloc(m.arena_bytes);
    uint32_t seed = 1;
    for (int r = 0; r < REPS; r++) {
        for (uint32_t t = 0; t < n; t++) {
            seed = seed * 1664525u + 1013904223u;
            float v = (float)(seed >> 8) / 16777216.0f - 0.5f;
            window_values[r][t] = emlml_re[r][t] = emlearn_re[r][t] = v;
            emlearn_im[r][t] = 0.0f;
        }
    }
    EmlFFT table = {(int)(n / 2u), (float *)sine, (float *)cosine};
    float a = run_emlml_fft(n, cosine, sine);
    float b = run_emlearn(table, n);
    float c = run_emlml_step(&m, arena);
    fp = fopen(argv[2], "wb");
    uint32_t bins = n / 2u + 1u;
    fwrite(window_values[REPS - 1], 4, n, fp);
    fwrite(emlml_re[REPS - 1], 4, bins, fp);
    fwrite(emlml_im[REPS - 1], 4, bins, fp);
    fwrite(emlearn_re[REPS - 1], 4, bins, fp);
    fwrite(emlearn_im[REPS - 1], 4, bins, fp);
    fclose(fp);
    printf("%g %g %g\n", (double)a, (double)b, (double)c);
    free(arena);
    return 0;
}
