// The HAL of the host port: stdout is file descriptor 1 (main.c). No pins (defining
// the pin type keeps py/mphal.h from including extmod/virtpin.h, absent from the sdist)
// and no interrupt character.
#define mp_hal_pin_obj_t void *

static inline void mp_hal_set_interrupt_char(char c) {
    (void)c;
}
