// The bare-metal frame of the benchmarks on the emulated Cortex-M boards (QEMU mps2-an385
// and mps2-an386 under -icount shift=0, boards/qemu_mps2/mps2.ld): Arm semihosting
// output, a 64-bit clock from SysTick, the reset handler (clears .bss, enables the FPU,
// starts SysTick, runs main, exits QEMU with main's status) and the vector table.
// Included once by each program (bench_trees_baremetal.c, bench_fft_baremetal.c).
#ifndef EMLML_BENCH_BAREMETAL_H
#define EMLML_BENCH_BAREMETAL_H

#include <stdint.h>

int main(void);

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

#endif // EMLML_BENCH_BAREMETAL_H
