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
#include "bench_model.h"  // BLOB[], INPUTS[N_SAMPLES][N_FEATURES], SKLEARN[], emlearn

#define REG(addr) (*(volatile uint32_t *)(addr))
#define SYST_CSR REG(0xe000e010)
#define SYST_RVR REG(0xe000e014)
#define SYST_CVR REG(0xe000e018)
#define SCB_ICSR REG(0xe000ed04)
#define SCB_ICSR_PENDSTSET (1u << 26)
#define SYST_MASK 0xFFFFFFu

// ------------------------------------------------------------------- semihosting

static int semihost(int op, const void *arg) {
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile ("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

#define SYS_WRITE0 0x04
#define SYS_EXIT 0x18
#define ADP_STOPPED_APPLICATION_EXIT 0x20026  // QEMU exits with status 0
#define ADP_STOPPED_RUNTIME_ERROR 0x20023     // QEMU exits with status 1

__attribute__((noreturn)) static void finish(int ok) {
    semihost(SYS_EXIT, (const void *)(uintptr_t)(ok ? ADP_STOPPED_APPLICATION_EXIT
                                                     : ADP_STOPPED_RUNTIME_ERROR));
    for (;;) {
    }
}

static char line[16384];
static uint32_t line_len;

static void put_str(const char *s) {
    while (*s && line_len < sizeof(line) - 1) {
        line[line_len++] = *s++;
    }
}

static void put_u64(uint64_t v) {
    char digits[21];
    int n = 0;
    do {
        digits[n++] = (char)('0' + (int)(v % 10u));
        v /= 10u;
    } while (v != 0);
    while (n > 0 && line_len < sizeof(line) - 1) {
        line[line_len++] = digits[--n];
    }
}

static void flush_line(void) {
    line[line_len++] = '\n';
    line[line_len] = 0;
    semihost(SYS_WRITE0, line);
    line_len = 0;
}

// ------------------------------------------------------------------------- clock

// SysTick runs down from 2^24 - 1 at the CPU clock; its interrupt counts the wraps,
// so that a whole loop (a kNN on the armv6m build: hundreds of millions of
// instructions) is timed without wrapping.
static volatile uint32_t wraps;

void SysTick_Handler(void) {
    wraps++;
}

static uint64_t clock64(void) {
    __asm__ volatile ("cpsid i" ::: "memory");
    uint32_t w = wraps;
    uint32_t v = SYST_CVR;
    if (SCB_ICSR & SCB_ICSR_PENDSTSET) {  // wrapped, the handler has not run yet
        v = SYST_CVR;
        w++;
    }
    __asm__ volatile ("cpsie i" ::: "memory");
    return (uint64_t)w * (SYST_MASK + 1u) + (SYST_MASK - v);
}

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

// ------------------------------------------------------------------ reset, vectors

extern uint32_t _sbss, _ebss, _estack;

__attribute__((noreturn)) void Reset_Handler(void) {
    for (uint32_t *p = &_sbss; p < &_ebss; p++) {
        *p = 0;
    }
#if defined(__ARM_FP)
    REG(0xe000ed88) |= 0xfu << 20;  // CPACR: CP10 and CP11 full access (the FPU)
    __asm__ volatile ("dsb\n isb");
#endif
    SYST_RVR = SYST_MASK;
    SYST_CVR = 0;
    SYST_CSR = 7;  // CPU clock, interrupt on wrap, enabled
    __asm__ volatile ("cpsie i");
    finish(main() == 0);
}

static void Fault_Handler(void) {
    put_str("FAIL fault");
    flush_line();
    finish(0);
}

typedef void (*handler_t)(void);

__attribute__((section(".isr_vector"), used))
const handler_t isr_vector[16] = {
    (handler_t)&_estack,
    Reset_Handler,
    Fault_Handler,  // NMI
    Fault_Handler,  // HardFault
    Fault_Handler,  // MemManage
    Fault_Handler,  // BusFault
    Fault_Handler,  // UsageFault
    [11 ... 14] = Fault_Handler,
    [15] = SysTick_Handler,
};
