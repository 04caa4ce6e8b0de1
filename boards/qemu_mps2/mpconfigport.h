// MicroPython configuration of the emulated mps2 boards (QEMU_MACHINE and QEMU_NATIVE
// come from the Makefile's FLAVOUR).
#include <stdint.h>
#include <alloca.h>

#define MICROPY_CONFIG_ROM_LEVEL (MICROPY_CONFIG_ROM_LEVEL_EXTRA_FEATURES)
#define MICROPY_HW_BOARD_NAME "QEMU " QEMU_MACHINE
#if defined(__ARM_FP)
#define MICROPY_HW_MCU_NAME "Cortex-M4F"
#else
#define MICROPY_HW_MCU_NAME "Cortex-M3"
#endif
#define MICROPY_PY_SYS_PLATFORM "qemu"

// Single-precision floats, as on the boards emlml targets.
#define MICROPY_FLOAT_IMPL (MICROPY_FLOAT_IMPL_FLOAT)
#define MICROPY_LONGINT_IMPL (MICROPY_LONGINT_IMPL_MPZ)
#define MICROPY_ENABLE_GC (1)
#define MICROPY_STACK_CHECK (1)
#define MICROPY_ALLOC_PATH_MAX (256)
#define MICROPY_HELPER_REPL (1)
#define MICROPY_REPL_STDIN_BUFFER_MAX (4096) // raw-paste window of 2 KB: fewer round trips
#define MICROPY_REPL_AUTO_INDENT (1)
#define MICROPY_KBD_EXCEPTION (1)
#define MICROPY_PY_SYS_PATH_ARGV_DEFAULTS (1)

// Files: the RAM file store (filestore.c) provides open(), import and the os module
// (MicroPython's extmod VFS is not in the PyPI source).
#define MICROPY_ENABLE_EXTERNAL_IMPORT (1)
#define MICROPY_HAS_FILE_READER (1) // else a .mpy file is parsed as source
#define MICROPY_PERSISTENT_CODE_LOAD (1)
#define MICROPY_PY_IO (1)
#define MICROPY_PY_OS (0)   // ours, in filestore.c
#define MICROPY_PY_TIME (0) // ours, in modules.c
#define MICROPY_PY_MACHINE (0)
#define MICROPY_PY_UCTYPES (0)

// Native code: the emitter sets the arch that sys.implementation._mpy reports and the
// native .mpy files this firmware loads (armv6m and armv7m on the M3, up to armv7emsp on
// the M4F). Function pointers must carry the Thumb bit or a call into a natmod faults.
#define MICROPY_EMIT_THUMB (QEMU_NATIVE)
#define MICROPY_EMIT_THUMB_ARMV7M (1)
#define MICROPY_EMIT_INLINE_THUMB (0)
#define MICROPY_MAKE_POINTER_CALLABLE(p) ((void *)((uintptr_t)(p) | 1))

typedef intptr_t mp_int_t;
typedef uintptr_t mp_uint_t;
typedef long mp_off_t;
#define MP_SSIZE_MAX (0x7fffffff)

#define MICROPY_BEGIN_ATOMIC_SECTION() mps2_irq_disable()
#define MICROPY_END_ATOMIC_SECTION(state) mps2_irq_restore(state)

static inline uint32_t mps2_irq_disable(void) {
    uint32_t state;
    __asm volatile ("mrs %0, primask\n cpsid i" : "=r" (state) : : "memory");
    return state;
}

static inline void mps2_irq_restore(uint32_t state) {
    __asm volatile ("msr primask, %0" : : "r" (state) : "memory");
}

#define MP_STATE_PORT MP_STATE_VM
