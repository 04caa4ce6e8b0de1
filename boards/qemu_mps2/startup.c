// Vector table, reset and fault handlers of the emulated mps2 boards.
#include <stdint.h>
#include "py/mpconfig.h"
#include "py/mphal.h"

extern uint32_t _sbss, _ebss, _estack;
int main(void);
void UART0_RX_Handler(void);
void SysTick_Handler(void);
void Reset_Handler(void) __attribute__((naked, noreturn));
void Fault_Handler(void) __attribute__((naked));
void mps2_fault_report(const uint32_t *frame) __attribute__((noreturn, used));

void Reset_Handler(void) {
    __asm volatile ("ldr sp, =_estack");
    for (uint32_t *p = &_sbss; p < &_ebss; p++) {
        *p = 0;
    }
    #if defined(__ARM_FP)
    *(volatile uint32_t *)0xe000ed88 |= 0xf << 20; // CPACR: CP10 and CP11 full access
    __asm volatile ("dsb\n isb");
    #endif
    main();
    mps2_exit(0);
}

static void print_hex(const char *name, uint32_t value) {
    char buf[11] = "0x";
    for (int i = 0; i < 8; i++) {
        buf[2 + i] = "0123456789abcdef"[(value >> (28 - 4 * i)) & 0xf];
    }
    mp_hal_stdout_tx_str(name);
    mp_hal_stdout_tx_strn(buf, 10);
}

// A fault ends QEMU with status 3 after printing where it happened: a test that crashes
// the board fails at once instead of hanging.
void Fault_Handler(void) {
    __asm volatile ("mrs r0, msp\n b mps2_fault_report");
}

void mps2_fault_report(const uint32_t *frame) {
    mp_hal_stdout_tx_str("\r\nFATAL: fault");
    print_hex(" pc=", frame[6]);
    print_hex(" lr=", frame[5]);
    print_hex(" cfsr=", *(volatile uint32_t *)0xe000ed28);
    print_hex(" bfar=", *(volatile uint32_t *)0xe000ed38);
    mp_hal_stdout_tx_str("\r\n");
    mps2_exit(3);
}

static void Default_Handler(void) {
    mp_hal_stdout_tx_str("\r\nFATAL: unexpected interrupt\r\n");
    mps2_exit(3);
}

typedef void (*handler_t)(void);

__attribute__((section(".isr_vector"), used))
const handler_t isr_vector[16 + 32] = {
    (handler_t)&_estack,
    Reset_Handler,
    Default_Handler, // NMI
    Fault_Handler, // HardFault
    Fault_Handler, // MemManage
    Fault_Handler, // BusFault
    Fault_Handler, // UsageFault
    [11 ... 14] = Default_Handler, // SVCall, DebugMonitor, reserved, PendSV
    [15] = SysTick_Handler,
    [16 + 0] = UART0_RX_Handler, // UART0 receive
    [16 + 1 ... 16 + 31] = Default_Handler,
};
