// Instructions per prediction on the emulated Cortex-M boards (QEMU mps2-an385 and
// mps2-an386 under -icount shift=0): emlml's C core against emlearn's generated C
// for the same scikit-learn model, same compiler and flags, bare metal (no
// MicroPython). Built and run by py_tools/emlml_tools/bench_boards.py, which writes
// bench_model.h (the blob, the held-out inputs, scikit-learn's classes and, for a
// tree model, emlearn's code; bench_emlearn.model_header) and links this file with
// micropython_module/core, trees and knn.
//
// Under -icount shift=0 QEMU's clock advances 1 ns per instruction and SysTick counts
// the 25 MHz CPU clock: one tick is 40 instructions, the same on every run. Each
// implementation is timed over the whole loop of inputs (the mean per prediction,
// exact to 80 instructions over the loop) and per prediction (for the fit against
// the split nodes visited); the same loops around an empty function give the
// overhead to subtract. Reports through Arm semihosting on QEMU's stdout:
//   AGREE emlml <n> emlearn <n> of <N>
//   TOTAL <name> <ticks over the loop>                    (name: emlml emlearn empty)
//   TICKS <name> <ticks of each prediction, comma-separated>
//   DONE
#include <stdint.h>

#include "emlml.h"
#include "baremetal.h"
#include "bench_model.h"  // BLOB[], INPUTS[N_SAMPLES][N_FEATURES], SKLEARN[], emlearn

// ------------------------------------------------------------- the implementations

typedef int32_t (*predict_fn)(const float *x);

static emlml_model_t model;
static uint32_t arena[4096];

__attribute__((noinline)) static int32_t predict_emlml(const float *x) {
    uint32_t predicted;
    emlml_error_t err;
    if (emlml_predict_class(&model, x, arena, &predicted, &err) != EMLML_OK) {
        return -1;
    }
    return (int32_t)predicted;
}

#ifdef EMLEARN_PREDICT
__attribute__((noinline)) static int32_t predict_emlearn(const float *x) {
    return EMLEARN_PREDICT(x, N_FEATURES);
}
#endif

__attribute__((noinline)) static int32_t predict_empty(const float *x) {
    __asm__ volatile ("" : : "r"(x) : "memory");
    return 0;
}

static volatile int32_t sink;
static uint32_t ticks[N_SAMPLES];

__attribute__((noinline)) static uint64_t time_loop(predict_fn fn) {
    uint64_t t0 = clock64();
    for (int i = 0; i < N_SAMPLES; i++) {
        sink = fn(INPUTS[i]);
    }
    return clock64() - t0;
}

__attribute__((noinline)) static void time_each(predict_fn fn) {
    for (int i = 0; i < N_SAMPLES; i++) {
        const float *x = INPUTS[i];
        uint32_t t0 = SYST_CVR;
        sink = fn(x);
        uint32_t t1 = SYST_CVR;
        ticks[i] = (t0 - t1) & SYST_MASK;
    }
}

static int32_t agreement(predict_fn fn) {
    int32_t agree = 0;
    for (int i = 0; i < N_SAMPLES; i++) {
        agree += fn(INPUTS[i]) == SKLEARN[i];
    }
    return agree;
}

static void report(const char *name, predict_fn fn) {
    fn(INPUTS[0]);  // the same path through the code before the timing as during it
    uint64_t total = time_loop(fn);
    put_str("TOTAL ");
    put_str(name);
    put_str(" ");
    put_u64(total);
    flush_line();
    time_each(fn);
    put_str("TICKS ");
    put_str(name);
    put_str(" ");
    for (int i = 0; i < N_SAMPLES; i++) {
        if (i) {
            put_str(",");
        }
        put_u64(ticks[i]);
    }
    flush_line();
}

int main(void) {
    emlml_error_t err;
    if (emlml_load(&model, BLOB, sizeof(BLOB), &err) != EMLML_OK) {
        put_str("FAIL emlml_load status ");
        put_u64((uint64_t)err.status);
        flush_line();
        return 1;
    }
    if (model.arena_bytes > sizeof(arena) || model.n_inputs != N_FEATURES) {
        put_str("FAIL arena or inputs");
        flush_line();
        return 1;
    }
    put_str("AGREE emlml ");
    put_u64((uint64_t)agreement(predict_emlml));
#ifdef EMLEARN_PREDICT
    put_str(" emlearn ");
    put_u64((uint64_t)agreement(predict_emlearn));
#endif
    put_str(" of ");
    put_u64(N_SAMPLES);
    flush_line();
    report("empty", predict_empty);
    report("emlml", predict_emlml);
#ifdef EMLEARN_PREDICT
    report("emlearn", predict_emlearn);
#endif
    put_str("DONE");
    flush_line();
    return 0;
}
