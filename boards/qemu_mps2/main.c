// The emulated mps2 boards' MicroPython: a REPL on UART0 (friendly and raw, so mpremote
// works), soft reset with Ctrl-D, the RAM file store for files and imports.
#include "py/compile.h"
#include "py/gc.h"
#include "py/mperrno.h"
#include "py/mphal.h"
#include "py/runtime.h"
#include "py/stackctrl.h"
#include "shared/readline/readline.h"
#include "shared/runtime/gchelper.h"
#include "shared/runtime/pyexec.h"

extern uint32_t _sstack, _estack, _heap_start, _heap_end;
void filestore_init(void);

int main(void) {
    mps2_hal_init();
    filestore_init();
    for (;;) {
        mp_stack_set_top(&_estack);
        mp_stack_set_limit((char *)&_estack - (char *)&_sstack - 1024);
        gc_init(&_heap_start, &_heap_end);
        mp_init();
        mp_obj_list_append(mp_sys_path, MP_OBJ_NEW_QSTR(MP_QSTR__slash_lib));
        readline_init0();
        for (;;) {
            if (pyexec_mode_kind == PYEXEC_MODE_RAW_REPL) {
                if (pyexec_raw_repl() != 0) {
                    break;
                }
            } else if (pyexec_friendly_repl() != 0) {
                break;
            }
        }
        mp_hal_stdout_tx_str("MPY: soft reboot\r\n");
        gc_sweep_all();
        mp_deinit();
    }
}

void gc_collect(void) {
    gc_collect_start();
    gc_helper_collect_regs_and_stack();
    gc_collect_end();
}

void nlr_jump_fail(void *val) {
    mp_hal_stdout_tx_str("\r\nFATAL: uncaught NLR\r\n");
    mps2_exit(2);
}

void __assert_func(const char *file, int line, const char *func, const char *expr) {
    mp_printf(&mp_plat_print, "\r\nFATAL: assertion '%s' failed, %s:%d\r\n", expr, file, line);
    mps2_exit(2);
}
