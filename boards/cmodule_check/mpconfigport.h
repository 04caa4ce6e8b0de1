// A firmware-like configuration for compiling emlml's binding as a user C module without
// a port (see Makefile): single-precision float as on RP2040, RP2350 and ESP32, unless
// MICROPY_FLOAT_IMPL is given (the unix port's is double).
#include <stdint.h>

#define MICROPY_CONFIG_ROM_LEVEL (MICROPY_CONFIG_ROM_LEVEL_EXTRA_FEATURES)
#ifndef MICROPY_FLOAT_IMPL
#define MICROPY_FLOAT_IMPL (MICROPY_FLOAT_IMPL_FLOAT)
#endif
#define MICROPY_ENABLE_GC (1)
#define MICROPY_PY_ARRAY (1)
#define MICROPY_ALLOC_PATH_MAX (128)
#define MICROPY_HW_BOARD_NAME "emlml-cmodule-check"
#define MICROPY_HW_MCU_NAME "none"

typedef intptr_t mp_int_t;
typedef uintptr_t mp_uint_t;
typedef long mp_off_t;

#define MP_STATE_PORT MP_STATE_VM
