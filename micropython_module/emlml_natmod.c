// emlml as a native .mpy: the binding in modemlml.c plus the type and module
// globals, which a native module must build at run time (it may not hold
// initialised writable data).
#include "py/dynruntime.h"

mp_obj_full_type_t emlml_model_type;  // bss of a native .mpy may not be static
#define EMLML_MODEL_TYPE ((const mp_obj_type_t *)&emlml_model_type)
// array.array, imported once in mpy_init (the native .mpy API has no mp_type_array). It
// is the firmware's own type (not on the heap), or, where an array.py in the filesystem
// replaces the built-in module, a type that module holds as long as it is loaded.
mp_obj_t emlml_array_type;
#define EMLML_ARRAY_TYPE emlml_array_type

#include "modemlml.c"

#if defined(__arm__)
// gcc at -Os turns struct copies into memcpy calls, and a native .mpy links no libc.
// (The ESP32 module has them, with the other helpers, in rt/emlml_rt.c.)
// (-fno-tree-loop-distribute-patterns keeps these loops from becoming calls to themselves.)
void *memcpy(void *dst, const void *src, size_t n) {
    uint8_t *d = dst;
    const uint8_t *s = src;
    while (n--) {
        *d++ = *s++;
    }
    return dst;
}

void *memset(void *dst, int c, size_t n) {
    uint8_t *d = dst;
    while (n--) {
        *d++ = (uint8_t)c;
    }
    return dst;
}
#endif

mp_obj_t mpy_init(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args) {
    MP_DYNRUNTIME_INIT_ENTRY

    emlml_model_type.base.type = (void *)&mp_type_type;
    emlml_model_type.flags = MP_TYPE_FLAG_NONE;
    emlml_model_type.name = MP_QSTR_Model;
    MP_OBJ_TYPE_SET_SLOT(&emlml_model_type, attr, emlml_model_attr, 0);
    MP_OBJ_TYPE_SET_SLOT(&emlml_model_type, print, emlml_model_print, 1);

    emlml_array_type = mp_load_attr(mp_import_name(MP_QSTR_array, mp_const_none, MP_OBJ_NEW_SMALL_INT(0)),
        MP_QSTR_array);

    mp_store_global(MP_QSTR_load, MP_OBJ_FROM_PTR(&emlml_load_obj));
    mp_store_global(MP_QSTR_Model, MP_OBJ_FROM_PTR(&emlml_model_type));
    mp_store_global(MP_QSTR___version__, mp_obj_new_str(EMLML_VERSION, sizeof(EMLML_VERSION) - 1));

    MP_DYNRUNTIME_INIT_EXIT
}
