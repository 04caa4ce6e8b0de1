// A minimal MicroPython port for x86-64 Linux (see Makefile): the 1.23 core at the
// feature level of the ESP32 and RP2 ports, double-precision floats as on the unix
// port, and only what C stdio gives a script: an `open()` for reading files.
#include <stdint.h>

#define MICROPY_CONFIG_ROM_LEVEL (MICROPY_CONFIG_ROM_LEVEL_EXTRA_FEATURES)
#define MICROPY_FLOAT_IMPL (MICROPY_FLOAT_IMPL_DOUBLE)
#define MICROPY_LONGINT_IMPL (MICROPY_LONGINT_IMPL_MPZ)
#define MICROPY_ENABLE_GC (1)
#define MICROPY_ENABLE_FINALISER (1)      // files are closed when collected
#define MICROPY_STACK_CHECK (1)
#define MICROPY_READER_POSIX (1)          // the script and imported modules are read with open/read
#define MICROPY_USE_INTERNAL_PRINTF (0)   // glibc's printf
#define MICROPY_ALLOC_PATH_MAX (4096)
#define MICROPY_PY_IO (1)                 // the builtin open(): main.c
#define MICROPY_PY_ARRAY (1)
#define MICROPY_PY_GC (1)
#define MICROPY_PY_SYS_EXIT (1)
#define MICROPY_PY_SYS_PATH (1)
#define MICROPY_PY_SYS_ARGV (1)
#define MICROPY_PY_SYS_PLATFORM "linux"
#define MICROPY_HW_BOARD_NAME "emlml host port"
#define MICROPY_HW_MCU_NAME "x86-64"

// Not here: no REPL, no stdin, no sys.stdout objects, no extmod (absent from the sdist).
#define MICROPY_HELPER_REPL (0)
#define MICROPY_KBD_EXCEPTION (0)
#define MICROPY_PY_BUILTINS_INPUT (0)
#define MICROPY_PY_BUILTINS_HELP (0)
#define MICROPY_PY_SYS_STDFILES (0)
#define MICROPY_PY_SYS_PS1_PS2 (0)
#define MICROPY_PY_SELECT (0)
#define MICROPY_PY_ASYNCIO (0)
#define MICROPY_PY_UCTYPES (0)

// The sanitizer build unwinds with setjmp/longjmp, which AddressSanitizer intercepts
// (it unpoisons the stack frames a longjmp abandons); MicroPython's own x86-64 nlr
// assembly would leave their redzones poisoned.
#if defined(EMLML_HOST_SANITIZE)
#define MICROPY_NLR_SETJMP (1)
#endif

typedef intptr_t mp_int_t;
typedef uintptr_t mp_uint_t;
typedef long mp_off_t;

#define MP_STATE_PORT MP_STATE_VM

#include <alloca.h>
#include <sys/types.h>   // ssize_t (MP_SSIZE_MAX)
