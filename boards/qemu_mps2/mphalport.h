// The hardware of the emulated mps2 boards that MicroPython sees: UART0, SysTick and
// semihosting (the exit status of QEMU).
#include <stdint.h>
#include "shared/runtime/interrupt_char.h"

// SysTick runs at the 25 MHz CPU clock of the mps2 boards. Under QEMU's -icount shift=0
// one instruction advances the clock by 1 ns, so one tick is 40 instructions.
#define MPS2_CPU_HZ (25000000)

#define mp_hal_pin_obj_t void * // no pins (and no extmod/virtpin.h in the PyPI source)

uint64_t mps2_ticks64(void);
void mps2_exit(int status) __attribute__((noreturn));
void mps2_hal_init(void);

static inline mp_uint_t mp_hal_ticks_cpu(void) {
    return (mp_uint_t)mps2_ticks64();
}
