// `time` (ticks from SysTick) and `qemu` (exit status, instruction clock) modules of
// the emulated boards.
#include "py/mphal.h"
#include "py/runtime.h"
#include "py/smallint.h"

#define TICKS_PERIOD (MICROPY_PY_TIME_TICKS_PERIOD)
#define TICKS_MASK (TICKS_PERIOD - 1)

static mp_obj_t time_ticks_ms(void) {
    return MP_OBJ_NEW_SMALL_INT(mp_hal_ticks_ms() & TICKS_MASK);
}
static MP_DEFINE_CONST_FUN_OBJ_0(time_ticks_ms_obj, time_ticks_ms);

static mp_obj_t time_ticks_us(void) {
    return MP_OBJ_NEW_SMALL_INT(mp_hal_ticks_us() & TICKS_MASK);
}
static MP_DEFINE_CONST_FUN_OBJ_0(time_ticks_us_obj, time_ticks_us);

// SysTick counts of the 25 MHz CPU clock (40 instructions each under -icount shift=0).
static mp_obj_t time_ticks_cpu(void) {
    return MP_OBJ_NEW_SMALL_INT(mp_hal_ticks_cpu() & TICKS_MASK);
}
static MP_DEFINE_CONST_FUN_OBJ_0(time_ticks_cpu_obj, time_ticks_cpu);

static mp_obj_t time_ticks_diff(mp_obj_t end_in, mp_obj_t start_in) {
    mp_uint_t diff = (MP_OBJ_SMALL_INT_VALUE(end_in) - MP_OBJ_SMALL_INT_VALUE(start_in)) & TICKS_MASK;
    diff = ((diff + TICKS_PERIOD / 2) & TICKS_MASK) - TICKS_PERIOD / 2;
    return MP_OBJ_NEW_SMALL_INT((mp_int_t)diff);
}
static MP_DEFINE_CONST_FUN_OBJ_2(time_ticks_diff_obj, time_ticks_diff);

static mp_obj_t time_ticks_add(mp_obj_t ticks_in, mp_obj_t delta_in) {
    return MP_OBJ_NEW_SMALL_INT((MP_OBJ_SMALL_INT_VALUE(ticks_in) + mp_obj_get_int(delta_in)) & TICKS_MASK);
}
static MP_DEFINE_CONST_FUN_OBJ_2(time_ticks_add_obj, time_ticks_add);

static mp_obj_t time_sleep(mp_obj_t seconds_in) {
    mp_hal_delay_ms((mp_uint_t)(1000 * mp_obj_get_float(seconds_in)));
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(time_sleep_obj, time_sleep);

static mp_obj_t time_sleep_ms(mp_obj_t ms_in) {
    mp_int_t ms = mp_obj_get_int(ms_in);
    if (ms > 0) {
        mp_hal_delay_ms(ms);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(time_sleep_ms_obj, time_sleep_ms);

static mp_obj_t time_sleep_us(mp_obj_t us_in) {
    mp_int_t us = mp_obj_get_int(us_in);
    if (us > 0) {
        mp_hal_delay_us(us);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(time_sleep_us_obj, time_sleep_us);

// Seconds since power-on (the board has no calendar clock).
static mp_obj_t time_time(void) {
    return mp_obj_new_int_from_ull(mps2_ticks64() / MPS2_CPU_HZ);
}
static MP_DEFINE_CONST_FUN_OBJ_0(time_time_obj, time_time);

static const mp_rom_map_elem_t time_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_time) },
    { MP_ROM_QSTR(MP_QSTR_ticks_ms), MP_ROM_PTR(&time_ticks_ms_obj) },
    { MP_ROM_QSTR(MP_QSTR_ticks_us), MP_ROM_PTR(&time_ticks_us_obj) },
    { MP_ROM_QSTR(MP_QSTR_ticks_cpu), MP_ROM_PTR(&time_ticks_cpu_obj) },
    { MP_ROM_QSTR(MP_QSTR_ticks_diff), MP_ROM_PTR(&time_ticks_diff_obj) },
    { MP_ROM_QSTR(MP_QSTR_ticks_add), MP_ROM_PTR(&time_ticks_add_obj) },
    { MP_ROM_QSTR(MP_QSTR_sleep), MP_ROM_PTR(&time_sleep_obj) },
    { MP_ROM_QSTR(MP_QSTR_sleep_ms), MP_ROM_PTR(&time_sleep_ms_obj) },
    { MP_ROM_QSTR(MP_QSTR_sleep_us), MP_ROM_PTR(&time_sleep_us_obj) },
    { MP_ROM_QSTR(MP_QSTR_time), MP_ROM_PTR(&time_time_obj) },
};
static MP_DEFINE_CONST_DICT(time_module_globals, time_module_globals_table);

const mp_obj_module_t mp_module_time = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&time_module_globals,
};
MP_REGISTER_MODULE(MP_QSTR_time, mp_module_time);

// qemu.exit(status=0): end QEMU with this exit status (semihosting).
static mp_obj_t qemu_exit(size_t n_args, const mp_obj_t *args) {
    mps2_exit(n_args ? mp_obj_get_int(args[0]) : 0);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(qemu_exit_obj, 0, 1, qemu_exit);

// qemu.ticks(): the 25 MHz clock as an unbounded int (no wrap, unlike ticks_cpu).
static mp_obj_t qemu_ticks(void) {
    return mp_obj_new_int_from_ull(mps2_ticks64());
}
static MP_DEFINE_CONST_FUN_OBJ_0(qemu_ticks_obj, qemu_ticks);

static const mp_rom_map_elem_t qemu_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_qemu) },
    { MP_ROM_QSTR(MP_QSTR_exit), MP_ROM_PTR(&qemu_exit_obj) },
    { MP_ROM_QSTR(MP_QSTR_ticks), MP_ROM_PTR(&qemu_ticks_obj) },
    { MP_ROM_QSTR(MP_QSTR_CPU_HZ), MP_ROM_INT(MPS2_CPU_HZ) },
};
static MP_DEFINE_CONST_DICT(qemu_module_globals, qemu_module_globals_table);

const mp_obj_module_t mp_module_qemu = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&qemu_module_globals,
};
MP_REGISTER_MODULE(MP_QSTR_qemu, mp_module_qemu);
