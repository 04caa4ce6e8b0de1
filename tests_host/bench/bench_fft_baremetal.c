// Instructions per FFT on the emulated Cortex-M boards (QEMU mps2-an385 and mps2-an386
// under -icount shift=0, bare metal): emlml_fft_real on n real values against emlearn's
// eml_fft_forward on the same values with im = 0, both with the same float32 twiddles,
// the same compiler and flags, for n = 64, 256, 1024. Built and run by
// py_tools/emlml_dev/bench_fft_boards.py, which writes bench_fft_table.h: COS[512] and
// SIN[512], the float32 cos and sin of 2 pi k / 1024 (a SPECTRUM step's parameters; the
// table of n points is every (1024 / n)-th entry).
//
// Each call is timed on its own (the input copied in before the clock starts), REPS
// times, less the same timing around an empty function. Reports through semihosting:
//   TOTAL <emlml|emlearn|empty>_<n> <ticks over REPS calls>      (one tick: 40 instructions)
//   BITS emlml_<n> <FNV-1a of the bits of re[0 .. n/2] then im[0 .. n/2]>  (the host's
//        fft_real must give the same: the board computes the reference's bits)
//   DONE
#include <stdint.h>

#include "baremetal.h"
#include "bench_fft_table.h"
#include "eml_fft.h"
#include "emlml_dsp.h"

enum { MAX_N = 1024, REPS = 4 };

static float x[MAX_N], re[MAX_N], im[MAX_N], cosine[MAX_N / 2], sine[MAX_N / 2];

typedef void (*fft_fn)(uint32_t n);

__attribute__((noinline)) static void fft_emlml(uint32_t n) {
    emlml_fft_real(re, im, n, cosine, sine);
}

__attribute__((noinline)) static void fft_emlearn(uint32_t n) {
    EmlFFT table = {(int)(n / 2u), sine, cosine};
    eml_fft_forward(table, re, im, n);
}

__attribute__((noinline)) static void fft_empty(uint32_t n) {
    __asm__ volatile ("" : : "r"(n) : "memory");
}

static uint64_t time_calls(fft_fn fn, uint32_t n) {
    uint64_t total = 0;
    for (int r = 0; r < REPS; r++) {
        for (uint32_t t = 0; t < n; t++) {
            re[t] = x[t];
            im[t] = 0.0f;
        }
        uint64_t t0 = clock64();
        fn(n);
        total += clock64() - t0;
    }
    return total;
}

// FNV-1a (32 bits) of the bytes of the floats, little-endian.
static uint32_t fnv1a(const float *v, uint32_t count, uint32_t hash) {
    const uint8_t *bytes = (const uint8_t *)v;
    for (uint32_t i = 0; i < 4u * count; i++) {
        hash = (hash ^ bytes[i]) * 16777619u;
    }
    return hash;
}

static void report(const char *name, fft_fn fn, uint32_t n) {
    put_str("TOTAL ");
    put_str(name);
    put_str("_");
    put_u64(n);
    put_str(" ");
    put_u64(time_calls(fn, n));
    flush_line();
}

int main(void) {
    uint32_t seed = 1;
    for (uint32_t t = 0; t < MAX_N; t++) {
        seed = seed * 1664525u + 1013904223u;
        x[t] = (float)(seed >> 8) / 16777216.0f - 0.5f;
    }
    for (uint32_t n = 64; n <= MAX_N; n *= 4u) {
        for (uint32_t k = 0; k < n / 2u; k++) {
            cosine[k] = COS[k * (MAX_N / n)];
            sine[k] = SIN[k * (MAX_N / n)];
        }
        report("empty", fft_empty, n);
        report("emlml", fft_emlml, n);
        put_str("BITS emlml_");
        put_u64(n);
        put_str(" ");
        put_u64(fnv1a(im, n / 2u + 1u, fnv1a(re, n / 2u + 1u, 2166136261u)));
        flush_line();
        report("emlearn", fft_emlearn, n);
    }
    put_str("DONE");
    flush_line();
    return 0;
}
