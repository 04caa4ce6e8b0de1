// UART0 (the REPL), SysTick (ticks) and semihosting (exit) of the mps2 boards.
#include "py/mphal.h"
#include "py/runtime.h"
#include "py/ringbuf.h"
#include "py/stream.h"

#define REG(addr) (*(volatile uint32_t *)(addr))

// CMSDK APB UART0 and its receive interrupt (IRQ 0 on mps2-an385/an386).
#define UART0 0x40004000
#define UART_DATA REG(UART0 + 0x00)
#define UART_STATE REG(UART0 + 0x04)
#define UART_CTRL REG(UART0 + 0x08)
#define UART_INTSTATUS REG(UART0 + 0x0c)
#define UART_BAUDDIV REG(UART0 + 0x10)
#define UART_STATE_TXFULL (1 << 0)
#define UART_STATE_RXFULL (1 << 1)
#define UART_CTRL_TX_EN (1 << 0)
#define UART_CTRL_RX_EN (1 << 1)
#define UART_CTRL_RX_INTEN (1 << 3)
#define UART_INT_RX (1 << 1)
#define UART0_RX_IRQ 0

#define NVIC_ISER0 REG(0xe000e100)
#define SCB_ICSR REG(0xe000ed04)
#define SCB_ICSR_PENDSTSET (1 << 26)
#define SYST_CSR REG(0xe000e010)
#define SYST_RVR REG(0xe000e014)
#define SYST_CVR REG(0xe000e018)
#define SYST_PERIOD (1u << 24)

static uint8_t rx_buf[4096];
static ringbuf_t rx_ring = {rx_buf, sizeof(rx_buf), 0, 0};
static volatile uint32_t systick_wraps;

void mps2_hal_init(void) {
    UART_BAUDDIV = 16;
    UART_CTRL = UART_CTRL_TX_EN | UART_CTRL_RX_EN | UART_CTRL_RX_INTEN;
    NVIC_ISER0 = 1 << UART0_RX_IRQ;
    SYST_RVR = SYST_PERIOD - 1;
    SYST_CVR = 0;
    SYST_CSR = 7; // CPU clock, interrupt on wrap, enabled
    __asm volatile ("cpsie i");
}

// Received bytes go to rx_ring. When it is full the byte stays in the UART and its
// interrupt is switched off: QEMU then stops reading the pty (flow control, no loss).
static void uart_drain(void) {
    while (UART_STATE & UART_STATE_RXFULL) {
        if (ringbuf_free(&rx_ring) == 0) {
            UART_CTRL &= ~UART_CTRL_RX_INTEN;
            return;
        }
        int c = UART_DATA & 0xff;
        if (c == mp_interrupt_char) {
            mp_sched_keyboard_interrupt();
        } else {
            ringbuf_put(&rx_ring, c);
        }
    }
    UART_CTRL |= UART_CTRL_RX_INTEN;
}

void UART0_RX_Handler(void) {
    UART_INTSTATUS = UART_INT_RX;
    uart_drain();
}

void SysTick_Handler(void) {
    systick_wraps++;
}

uint64_t mps2_ticks64(void) {
    uint32_t state = mps2_irq_disable();
    uint32_t wraps = systick_wraps;
    uint32_t val = SYST_CVR;
    if (SCB_ICSR & SCB_ICSR_PENDSTSET) { // wrapped, handler not run yet
        val = SYST_CVR;
        wraps++;
    }
    mps2_irq_restore(state);
    return (uint64_t)wraps * SYST_PERIOD + (SYST_PERIOD - 1 - val);
}

mp_uint_t mp_hal_ticks_ms(void) {
    return (mp_uint_t)(mps2_ticks64() / (MPS2_CPU_HZ / 1000));
}

mp_uint_t mp_hal_ticks_us(void) {
    return (mp_uint_t)(mps2_ticks64() / (MPS2_CPU_HZ / 1000000));
}

uint64_t mp_hal_time_ns(void) {
    return mps2_ticks64() * (1000000000 / MPS2_CPU_HZ);
}

void mp_hal_delay_us(mp_uint_t us) {
    uint64_t end = mps2_ticks64() + (uint64_t)us * (MPS2_CPU_HZ / 1000000);
    while (mps2_ticks64() < end) { // busy: SysTick interrupts only on its 24-bit wrap
        mp_handle_pending(true);
    }
}

void mp_hal_delay_ms(mp_uint_t ms) {
    mp_hal_delay_us(ms * 1000);
}

int mp_hal_stdin_rx_chr(void) {
    for (;;) {
        uint32_t state = mps2_irq_disable();
        int c = ringbuf_get(&rx_ring);
        if (!(UART_CTRL & UART_CTRL_RX_INTEN)) {
            uart_drain(); // room again: take the byte that waited in the UART
        }
        if (c < 0) {
            __asm volatile ("wfi"); // a pending interrupt wakes us even while masked
        }
        mps2_irq_restore(state);
        if (c >= 0) {
            return c;
        }
        mp_handle_pending(true);
    }
}

uintptr_t mp_hal_stdio_poll(uintptr_t poll_flags) {
    uintptr_t ret = 0;
    if ((poll_flags & MP_STREAM_POLL_RD) && ringbuf_avail(&rx_ring)) {
        ret |= MP_STREAM_POLL_RD;
    }
    return ret | (poll_flags & MP_STREAM_POLL_WR);
}

mp_uint_t mp_hal_stdout_tx_strn(const char *str, size_t len) {
    for (size_t i = 0; i < len; i++) {
        while (UART_STATE & UART_STATE_TXFULL) {
        }
        UART_DATA = (uint8_t)str[i];
    }
    return len;
}

// Arm semihosting (QEMU's -semihosting-config enable=on): SYS_EXIT_EXTENDED ends QEMU
// with this status.
void mps2_exit(int status) {
    uint32_t block[2] = {0x20026, (uint32_t)status}; // ADP_Stopped_ApplicationExit
    register uint32_t r0 __asm("r0") = 0x20;
    register uint32_t *r1 __asm("r1") = block;
    __asm volatile ("bkpt 0xab" : "+r" (r0) : "r" (r1) : "memory");
    for (;;) {
    }
}
