// The `emlml` MicroPython module: the only file that includes MicroPython headers.
// It checks arguments at the boundary and hands buffers to the C core in core/;
// it does no arithmetic on model data.
//
// Built two ways from this one file: as a user C module (the tables at the end) and
// as a native .mpy (emlml_natmod.c includes this file and builds the type at run time).
//
//   import emlml
//   m = emlml.load('m.bin')        # a path, or bytes / bytearray / memoryview (used in place)
//   m.predict(x)                   # class index (int) or regression value (float)
//   m.predict_proba(x, out=None)   # array('f') of class probabilities
//
// An int8 CNN (m.kind == 'cnn') takes array('f') (quantized with the model's input
// scale and zero point), an int8 buffer used as is (array('b'), or the bytes of a
// bytes, bytearray or array('B') read as int8; memoryviews of them too) or a list of
// numbers (as floats). predict_proba gives its dequantized outputs; `out` may be an
// array('b') of n_outputs, which receives the raw int8 outputs. A CNN behind feature
// steps (a converted Pipeline) takes the float32 window (array('f') or a list) only.
//
// A build may hold some of the model families only (EMLML_WITH_*, core/emlml_config.h):
// its emlml.load refuses a blob of another family with the core's message, a ValueError
// as for any blob it refuses.
#include "py/runtime.h"

#include "core/emlml.h"  // and emlml_config.h: EMLML_VERSION, the release

#if MICROPY_ENABLE_DYNRUNTIME
// The native .mpy API has no MemoryError object: look it up by name.
#define EMLML_MEMORY_ERROR ((const mp_obj_type_t *)MP_OBJ_TO_PTR(mp_load_global(MP_QSTR_MemoryError)))
#define EMLML_RUNTIME_ERROR (&mp_type_RuntimeError)
#else
#define EMLML_MEMORY_ERROR (&mp_type_MemoryError)
#define EMLML_RUNTIME_ERROR (&mp_type_RuntimeError)
static const mp_obj_type_t emlml_model_type;
#define EMLML_MODEL_TYPE (&emlml_model_type)
#define EMLML_ARRAY_TYPE MP_OBJ_FROM_PTR(&mp_type_array)
#endif

// bytearray's buffer typecode (py/binary.h); bytes and array('B') report 'B'.
#define EMLML_BYTEARRAY_TYPECODE 1

typedef struct _emlml_model_obj_t {
    mp_obj_base_t base;
    mp_obj_t blob_obj;    // owns the blob memory the model points into
    void *arena;          // model.arena_bytes of working memory, allocated at load
    uint8_t busy;         // set while predict runs, to refuse re-entrant use
    emlml_model_t model;
} emlml_model_obj_t;

static NORETURN void raise_formatted(const mp_obj_type_t *type, const char *fmt, uint32_t a, uint32_t b, uint32_t c) {
    char msg[112];
    size_t len = emlml_format(msg, sizeof(msg), fmt, a, b, c, 0);
    mp_raise_type_arg(type, mp_obj_new_str(msg, len));
}

static NORETURN void raise_core_error(const emlml_error_t *err) {
    char msg[112];
    size_t len = emlml_error_format(err, msg, sizeof(msg));
    mp_raise_type_arg(&mp_type_ValueError, mp_obj_new_str(msg, len));
}

// m_malloc of a native module returns NULL when the heap is full instead of raising.
static void *alloc_or_raise(size_t n) {
    void *p = m_malloc(n);
    if (p == NULL) {
        raise_formatted(EMLML_MEMORY_ERROR, "emlml: no memory for %u bytes", (uint32_t)n, 0, 0);
    }
    return p;
}

static char input_typecode(uint8_t input_type) {
    switch (input_type) {
        case EMLML_INPUT_I8: return 'b';
        case EMLML_INPUT_U8: return 'B';
        case EMLML_INPUT_I16: return 'h';
        default: return 'f';
    }
}

/******************************************************************************/
// Loading

// A path is opened; a file object that exposes its bytes (a ROMFS file) is used in
// place, any other file is read into a bytes object.
static mp_obj_t blob_from_path(mp_obj_t path) {
    mp_obj_t open_args[2] = {path, MP_OBJ_NEW_QSTR(MP_QSTR_rb)};
    mp_obj_t file = mp_call_function_n_kw(mp_load_global(MP_QSTR_open), 2, 0, open_args);
    mp_buffer_info_t info;
    if (mp_get_buffer(file, &info, MP_BUFFER_READ)) {
        return file;
    }
    // read(size), not read(): a read of unknown length grows its buffer 256 bytes at a
    // time, each growth a reallocation (twice the blob's RAM at the worst moment, which a
    // 50 KB blob on an ESP32's fragmented heap does not get) and a filesystem read.
    mp_obj_t seek = mp_load_attr(file, MP_QSTR_seek);
    mp_obj_t seek_args[2] = {MP_OBJ_NEW_SMALL_INT(0), MP_OBJ_NEW_SMALL_INT(2)};
    mp_obj_t size = mp_call_function_n_kw(seek, 2, 0, seek_args);  // to the end
    mp_call_function_n_kw(seek, 1, 0, seek_args);  // back to the start
    mp_obj_t data = mp_call_function_n_kw(mp_load_attr(file, MP_QSTR_read), 1, 0, &size);
    mp_call_function_n_kw(mp_load_attr(file, MP_QSTR_close), 0, 0, NULL);
    return data;
}

static mp_obj_t mod_emlml_load(mp_obj_t src) {
    mp_obj_t blob_obj = mp_obj_is_str(src) ? blob_from_path(src) : src;
    mp_buffer_info_t blob;
    if (!mp_get_buffer(blob_obj, &blob, MP_BUFFER_READ)) {
        mp_raise_TypeError(MP_ERROR_TEXT("load() takes a path or a bytes, bytearray or memoryview"));
    }
    emlml_model_t model;
    emlml_error_t err;
    if (emlml_load(&model, (const uint8_t *)blob.buf, blob.len, &err) != EMLML_OK) {
        raise_core_error(&err);
    }
    // Arena first: if the object allocation then fails, nothing refers to the arena.
    void *arena = alloc_or_raise(model.arena_bytes);
    emlml_model_obj_t *self = alloc_or_raise(sizeof(emlml_model_obj_t));
    self->base.type = EMLML_MODEL_TYPE;
    self->blob_obj = blob_obj;
    self->arena = arena;
    self->busy = 0;
    self->model = model;
    return MP_OBJ_FROM_PTR(self);
}
static MP_DEFINE_CONST_FUN_OBJ_1(emlml_load_obj, mod_emlml_load);

/******************************************************************************/
// Inputs

static int typecode_matches(const emlml_model_t *m, int typecode) {
    if (m->input_type == EMLML_INPUT_U8 && typecode == EMLML_BYTEARRAY_TYPECODE) {
        return 1;
    }
    return typecode == input_typecode(m->input_type);
}

// An int8 CNN, in a build that has them: a constant 0 in one without, so that what
// follows it is compiled out.
static int is_cnn(const emlml_model_t *m) {
    return EMLML_WITH_CNN && m->kind == EMLML_KIND_CNN;
}

// An int8 CNN reads the bytes of bytes, bytearray and array('B') as int8.
static int is_cnn_int8(const emlml_model_t *m, int typecode) {
    return is_cnn(m) &&
           (typecode == 'b' || typecode == 'B' || typecode == EMLML_BYTEARRAY_TYPECODE);
}

// A model with feature steps: a constant 0 in a build without them.
static int has_steps(const emlml_model_t *m) {
    return EMLML_WITH_FEATURES && m->pipe.n_steps != 0;
}

// A model with feature steps names its first step, which takes the window.
static uint32_t first_step_name(const emlml_model_t *m) {
    return (uint32_t)EMLML_NAME_STEP_SCALE + m->pipe.steps[0].op - 1u;
}

static NORETURN void raise_wrong_length(const emlml_model_t *m, size_t got) {
    if (has_steps(m)) {
        raise_formatted(&mp_type_ValueError, "step 0 (%N) takes a window of %u values, got %u", first_step_name(m), m->n_window, (uint32_t)got);
    }
    raise_formatted(&mp_type_ValueError, "expected %u inputs, got %u", m->n_window, (uint32_t)got, 0);
}

static NORETURN void raise_wrong_typecode(const emlml_model_t *m, int typecode) {
    if (has_steps(m)) {
        raise_formatted(&mp_type_TypeError, "step 0 (%N) takes array('f') or a list, not typecode '%c'", first_step_name(m), (uint32_t)typecode, 0);
    }
    if (is_cnn(m)) {
        raise_formatted(&mp_type_TypeError, "this model takes array('f'), int8 bytes or a list, not typecode '%c'", (uint32_t)typecode, 0, 0);
    }
    if (m->input_type == EMLML_INPUT_U8) {
        raise_formatted(&mp_type_TypeError, "this model takes array('B'), bytes, bytearray or a list, not typecode '%c'", (uint32_t)typecode, 0, 0);
    }
    raise_formatted(&mp_type_TypeError, "this model takes array('%c') or a list, not typecode '%c'", (uint32_t)input_typecode(m->input_type), (uint32_t)typecode, 0);
}

// Convert a list or tuple of numbers into a fresh buffer of values of input_type.
static void *input_from_sequence(const emlml_model_t *m, mp_obj_t seq, uint8_t input_type) {
    size_t len;
    mp_obj_t *items;
    mp_obj_get_array(seq, &len, &items);
    if (len != m->n_window) {
        raise_wrong_length(m, len);
    }
    void *buf = alloc_or_raise(len * emlml_input_item_size(input_type));
    for (size_t i = 0; i < len; i++) {
        if (input_type == EMLML_INPUT_F32) {
            ((float *)buf)[i] = mp_obj_get_float_to_f(items[i]);
            continue;
        }
        mp_int_t v = mp_obj_get_int(items[i]);
        mp_int_t lo = input_type == EMLML_INPUT_I8 ? -128 : input_type == EMLML_INPUT_U8 ? 0 : -32768;
        mp_int_t hi = input_type == EMLML_INPUT_I8 ? 127 : input_type == EMLML_INPUT_U8 ? 255 : 32767;
        if (v < lo || v > hi) {
            raise_formatted(&mp_type_ValueError, "input %u out of range for array('%c')", (uint32_t)i, (uint32_t)input_typecode(input_type), 0);
        }
        if (input_type == EMLML_INPUT_I8) {
            ((int8_t *)buf)[i] = (int8_t)v;
        } else if (input_type == EMLML_INPUT_U8) {
            ((uint8_t *)buf)[i] = (uint8_t)v;
        } else {
            ((int16_t *)buf)[i] = (int16_t)v;
        }
    }
    return buf;
}

// The model's input as a pointer the core can read. *owned is set when it was
// allocated here (list or tuple input) and should be freed after use. An int8 CNN
// also takes floats (to be quantized): *floats is then set to them.
static const void *get_input(const emlml_model_t *m, mp_obj_t x, void **owned, const float **floats) {
    mp_buffer_info_t info;
    // A CNN behind feature steps takes a float32 window as any Pipeline does (the core
    // quantizes the steps' features).
    int cnn = is_cnn(m) && !has_steps(m);
    *owned = NULL;
    *floats = NULL;
    // A str has a buffer too (its UTF-8 bytes): text is never a model input.
    if (!mp_obj_is_str(x) && mp_get_buffer(x, &info, MP_BUFFER_READ)) {
        uint8_t type = m->input_type;
        if (cnn && info.typecode == 'f') {
            type = EMLML_INPUT_F32;
            *floats = info.buf;
        } else if (!(cnn && is_cnn_int8(m, info.typecode)) && !typecode_matches(m, info.typecode)) {
            raise_wrong_typecode(m, info.typecode);
        }
        uint32_t item = emlml_input_item_size(type);
        if (info.len / item != m->n_window || info.len % item != 0) {
            raise_wrong_length(m, info.len / item);
        }
        if (((uintptr_t)info.buf & (item - 1u)) != 0) {
            mp_raise_ValueError(MP_ERROR_TEXT("input buffer is not aligned for its type"));
        }
        return info.buf;
    }
    if (mp_obj_is_type(x, &mp_type_list) || mp_obj_is_type(x, &mp_type_tuple)) {
        *owned = input_from_sequence(m, x, cnn ? EMLML_INPUT_F32 : m->input_type);
        *floats = cnn ? *owned : NULL;
        return *owned;
    }
    mp_raise_TypeError(MP_ERROR_TEXT("input must be an array, bytes, bytearray, memoryview, list or tuple"));
}

/******************************************************************************/
// Prediction

// Where predict_proba puts the outputs: nowhere (predict), n_outputs floats, or (int8
// CNN) its n_outputs raw int8 outputs.
typedef enum {
    OUT_NONE,
    OUT_F32,
    OUT_I8,
} out_kind_t;

// Run the core on x; copy the outputs into `out` as out_kind says, and return the
// predicted class (classifiers) or the value (regressors) in *predicted / *value. The
// busy flag is held only around the core calls and the copy, which cannot raise.
static void run_model(emlml_model_obj_t *self, mp_obj_t x, void *out, out_kind_t out_kind, uint32_t *predicted, float *value) {
    const emlml_model_t *m = &self->model;
    void *owned;
    const float *floats;
    const void *input = get_input(m, x, &owned, &floats);
    if (self->busy) {
        mp_raise_msg(EMLML_RUNTIME_ERROR, MP_ERROR_TEXT("model is busy: predict is not re-entrant"));
    }
    self->busy = 1;
    emlml_error_t err;
    int ok = 1;
#if EMLML_WITH_CNN
    if (floats != NULL) {  // int8 CNN, float input: quantized into the arena
        ok = emlml_cnn_quantize_input(m, floats, self->arena, &err) == EMLML_OK;
        input = emlml_cnn_input(m, self->arena);
    }
#endif
    if (ok && out_kind == OUT_NONE && m->task == EMLML_TASK_CLASSIFIER) {
        ok = emlml_predict_class(m, input, self->arena, predicted, &err) == EMLML_OK;
    } else if (ok) {
        const float *result = emlml_predict(m, input, self->arena, predicted, &err);
        ok = result != NULL;
#if EMLML_WITH_CNN
        if (ok && out_kind == OUT_I8) {
            const int8_t *q = emlml_cnn_output(m, self->arena);
            for (uint32_t i = 0; i < m->n_outputs; i++) {
                ((int8_t *)out)[i] = q[i];
            }
        }
#endif
        for (uint32_t i = 0; ok && out_kind == OUT_F32 && i < m->n_outputs; i++) {
            ((float *)out)[i] = result[i];
        }
        *value = ok ? result[0] : 0.0f;
    }
    self->busy = 0;
    if (owned != NULL) {
        m_free(owned);
    }
    if (!ok) {
        raise_core_error(&err);
    }
}

static mp_obj_t emlml_model_predict(mp_obj_t self_in, mp_obj_t x) {
    emlml_model_obj_t *self = MP_OBJ_TO_PTR(self_in);
    uint32_t predicted = 0;
    float value = 0.0f;
    run_model(self, x, NULL, OUT_NONE, &predicted, &value);
    if (self->model.task == EMLML_TASK_CLASSIFIER) {
        return mp_obj_new_int_from_uint(predicted);
    }
    return mp_obj_new_float_from_f(value);
}
static MP_DEFINE_CONST_FUN_OBJ_2(emlml_model_predict_obj, emlml_model_predict);

// A new array('f') of n floats (contents to be overwritten). The array type is found
// once (EMLML_ARRAY_TYPE): `array` is an extensible built-in module, so an import
// searches the filesystem for array.py first on every call (1 s per predict_proba on
// the emulated ESP32's flash).
static mp_obj_t new_float_array(emlml_model_obj_t *self, uint32_t n) {
    mp_obj_t array_type = EMLML_ARRAY_TYPE;
    // array('f', <bytearray>) copies raw bytes; any n * 4 bytes of the arena will do (its
    // size is at least n_outputs floats, and at least two buffers of the features).
    mp_obj_t args[2] = {
        MP_OBJ_NEW_QSTR(MP_QSTR_f),
        mp_obj_new_bytearray_by_ref(4u * n, self->arena),
    };
    return mp_call_function_n_kw(array_type, 2, 0, args);
}

// predict_proba(x, out=None). Arguments are parsed by hand: a native .mpy has no
// constant qstrs or None for an mp_arg_t table.
static mp_obj_t emlml_model_predict_proba(size_t n_args, const mp_obj_t *pos_args, mp_map_t *kw_args) {
    mp_obj_t out = n_args > 2 ? pos_args[2] : mp_const_none;
    // One message for every wrong call (too many arguments, another keyword, out given
    // twice): one string fewer in the armv6m module, which is at its size budget.
    bool wrong = n_args > 3;
    for (size_t i = 0; kw_args != NULL && i < kw_args->alloc; i++) {
        if (!mp_map_slot_is_filled(kw_args, i)) {
            continue;
        }
        wrong |= kw_args->table[i].key != MP_OBJ_NEW_QSTR(MP_QSTR_out) || n_args > 2;
        out = kw_args->table[i].value;
    }
    if (wrong) {
        mp_raise_TypeError(MP_ERROR_TEXT("predict_proba() takes x and an optional out"));
    }
    emlml_model_obj_t *self = MP_OBJ_TO_PTR(pos_args[0]);
    if (self->model.task != EMLML_TASK_CLASSIFIER) {
        mp_raise_TypeError(MP_ERROR_TEXT("a regressor has no predict_proba(); use predict()"));
    }
    if (out == mp_const_none) {
        out = new_float_array(self, self->model.n_outputs);
    }
    mp_buffer_info_t info;
    int cnn = is_cnn(&self->model);
    if (!mp_get_buffer(out, &info, MP_BUFFER_WRITE) || (info.typecode != 'f' && !(cnn && info.typecode == 'b'))) {
        mp_raise_TypeError(MP_ERROR_TEXT("out must be a writable array('f') (or 'b': a CNN's int8 outputs)"));
    }
    out_kind_t out_kind = info.typecode == 'f' ? OUT_F32 : OUT_I8;
    uint32_t item = out_kind == OUT_F32 ? 4u : 1u;
    if (info.len != item * self->model.n_outputs) {
        raise_formatted(&mp_type_ValueError, out_kind == OUT_F32 ? "out must hold %u floats, it holds %u" : "out must hold %u values, it holds %u",
            self->model.n_outputs, (uint32_t)(info.len / item), 0);
    }
    uint32_t predicted;
    float value;
    run_model(self, pos_args[1], info.buf, out_kind, &predicted, &value);
    return out;
}
static MP_DEFINE_CONST_FUN_OBJ_KW(emlml_model_predict_proba_obj, 2, emlml_model_predict_proba);

#if EMLML_WITH_FEATURES
// transform(window, out=None): the features of a model with feature steps, every step
// run (also those a tree model took into its thresholds), into `out` (an array('f') of
// n_features: nothing allocated) or a new array('f').
static mp_obj_t emlml_model_transform(size_t n_args, const mp_obj_t *args) {
    emlml_model_obj_t *self = MP_OBJ_TO_PTR(args[0]);
    const emlml_model_t *m = &self->model;
    uint32_t n = emlml_transform_size(m);
    if (n == 0) {
        mp_raise_TypeError(MP_ERROR_TEXT("this model has no feature steps: transform() needs a converted Pipeline"));
    }
    mp_obj_t out = n_args > 2 && args[2] != mp_const_none ? args[2] : MP_OBJ_NULL;
    mp_buffer_info_t info;
    if (out != MP_OBJ_NULL && (!mp_get_buffer(out, &info, MP_BUFFER_WRITE) || info.typecode != 'f' || info.len != 4u * n)) {
        raise_formatted(&mp_type_TypeError, "out must be a writable array('f') of %u floats", n, 0, 0);
    }
    void *owned;
    const float *floats;
    const void *window = get_input(m, args[1], &owned, &floats);
    if (self->busy) {
        mp_raise_msg(EMLML_RUNTIME_ERROR, MP_ERROR_TEXT("model is busy: predict is not re-entrant"));
    }
    self->busy = 1;
    emlml_error_t err;
    const float *features = emlml_transform(m, window, self->arena, &err);
    self->busy = 0;
    if (owned != NULL) {
        m_free(owned);
    }
    if (features == NULL) {
        raise_core_error(&err);
    }
    if (out == MP_OBJ_NULL) {  // a copy of the features in the arena
        mp_obj_t array_args[2] = {
            MP_OBJ_NEW_QSTR(MP_QSTR_f), mp_obj_new_bytearray_by_ref(4u * n, (void *)features),
        };
        return mp_call_function_n_kw(EMLML_ARRAY_TYPE, 2, 0, array_args);
    }
    for (uint32_t i = 0; i < n; i++) {
        ((float *)info.buf)[i] = features[i];
    }
    return out;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(emlml_model_transform_obj, 2, 3, emlml_model_transform);
#endif // EMLML_WITH_FEATURES

/******************************************************************************/
// Attributes (read-only)

static mp_obj_t meta_string(const emlml_model_t *m, uint16_t tag, uint32_t nth) {
    const uint8_t *data;
    uint32_t len;
    if (!emlml_meta_find(m, tag, nth, &data, &len)) {
        return mp_const_none;
    }
    return mp_obj_new_str((const char *)data, len);
}

static mp_obj_t labels_tuple(const emlml_model_t *m) {
    mp_obj_t tuple = mp_obj_new_tuple(m->n_labels, NULL);
    for (uint32_t i = 0; i < m->n_labels; i++) {
        mp_obj_t label = meta_string(m, EMLML_META_LABEL, i);
        ((mp_obj_tuple_t *)MP_OBJ_TO_PTR(tuple))->items[i] = label;
    }
    return tuple;
}

static mp_obj_t input_shape_tuple(const emlml_model_t *m) {
    const uint8_t *data;
    uint32_t len;
    if (!emlml_meta_find(m, EMLML_META_INPUT_SHAPE, 0, &data, &len) || len < 2) {
        mp_obj_t n = mp_obj_new_int_from_uint(m->n_window);
        return mp_obj_new_tuple(1, &n);
    }
    mp_obj_t tuple = mp_obj_new_tuple(len / 2u, NULL);
    for (uint32_t i = 0; i < len / 2u; i++) {
        uint32_t dim = (uint32_t)data[2 * i] | ((uint32_t)data[2 * i + 1] << 8);
        ((mp_obj_tuple_t *)MP_OBJ_TO_PTR(tuple))->items[i] = MP_OBJ_NEW_SMALL_INT(dim);
    }
    return tuple;
}

// (samples, channels, sample rate) of a model with feature steps; None without.
static mp_obj_t window_tuple(const emlml_model_t *m) {
    if (!has_steps(m)) {
        return mp_const_none;
    }
    mp_obj_t items[3] = {
        mp_obj_new_int_from_uint(m->n_window / m->pipe.channels),
        MP_OBJ_NEW_SMALL_INT(m->pipe.channels),
        mp_obj_new_float_from_f(m->pipe.sample_rate),
    };
    return mp_obj_new_tuple(3, items);
}

// Heap bytes this model holds: the object and its arena (the blob is the caller's).
static uint32_t model_ram(const emlml_model_obj_t *self) {
    return (uint32_t)sizeof(emlml_model_obj_t) + self->model.arena_bytes;
}

static void emlml_model_attr(mp_obj_t self_in, qstr attr, mp_obj_t *dest) {
    if (dest[0] != MP_OBJ_NULL) {
        return;  // no stores or deletes: attributes are read-only
    }
    emlml_model_obj_t *self = MP_OBJ_TO_PTR(self_in);
    const emlml_model_t *m = &self->model;
    // qstrs are not compile-time constants in a native .mpy, so no switch here.
    if (attr == MP_QSTR_predict) {
        dest[0] = MP_OBJ_FROM_PTR(&emlml_model_predict_obj);
        dest[1] = self_in;
    } else if (attr == MP_QSTR_predict_proba) {
        dest[0] = MP_OBJ_FROM_PTR(&emlml_model_predict_proba_obj);
        dest[1] = self_in;
    } else if (attr == MP_QSTR_kind) {
        // boosting's name is a str, not a fourth qstr: LLVM 22 turns four qstrs into a
        // table in data that the 1.23 mpy_ld cannot relocate for the ESP32
        dest[0] = m->kind == EMLML_KIND_BOOST ? mp_obj_new_str("boost", 5)
            : MP_OBJ_NEW_QSTR(m->kind == EMLML_KIND_TREES ? MP_QSTR_trees : m->kind == EMLML_KIND_KNN ? MP_QSTR_knn : MP_QSTR_cnn);
    } else if (attr == MP_QSTR_task) {
        dest[0] = MP_OBJ_NEW_QSTR(m->task == EMLML_TASK_CLASSIFIER ? MP_QSTR_classifier : MP_QSTR_regressor);
    } else if (attr == MP_QSTR_n_inputs) {
        dest[0] = mp_obj_new_int_from_uint(m->n_window);
#if EMLML_WITH_FEATURES
    } else if (attr == MP_QSTR_transform) {
        dest[0] = MP_OBJ_FROM_PTR(&emlml_model_transform_obj);
        dest[1] = self_in;
    } else if (attr == MP_QSTR_n_features) {
        dest[0] = mp_obj_new_int_from_uint(emlml_transform_size(m));
#endif
    } else if (attr == MP_QSTR_window) {
        dest[0] = window_tuple(m);
    } else if (attr == MP_QSTR_n_outputs) {
        dest[0] = mp_obj_new_int_from_uint(m->n_outputs);
    } else if (attr == MP_QSTR_input_type) {
        char tc = input_typecode(m->input_type);
        dest[0] = mp_obj_new_str(&tc, 1);
    } else if (attr == MP_QSTR_input_shape) {
        dest[0] = input_shape_tuple(m);
    } else if (attr == MP_QSTR_labels) {
        dest[0] = labels_tuple(m);
    } else if (attr == MP_QSTR_name) {
        dest[0] = meta_string(m, EMLML_META_NAME, 0);
    } else if (attr == MP_QSTR_producer) {
        dest[0] = meta_string(m, EMLML_META_PRODUCER, 0);
    } else if (attr == MP_QSTR_ram) {
        dest[0] = mp_obj_new_int_from_uint(model_ram(self));
    } else if (attr == MP_QSTR_blob_size) {
        dest[0] = mp_obj_new_int_from_uint(m->size);
    }
}

static void emlml_model_print(const mp_print_t *print, mp_obj_t self_in, mp_print_kind_t kind) {
    (void)kind;
    emlml_model_obj_t *self = MP_OBJ_TO_PTR(self_in);
    const emlml_model_t *m = &self->model;
    mp_printf(print, "<emlml.Model %s %s, %u inputs, %u outputs, %u blob bytes>",
        m->kind == EMLML_KIND_TREES ? "trees" : m->kind == EMLML_KIND_KNN ? "knn"
            : m->kind == EMLML_KIND_BOOST ? "boost" : "cnn",
        m->task == EMLML_TASK_CLASSIFIER ? "classifier" : "regressor",
        (unsigned)m->n_window, (unsigned)m->n_outputs, (unsigned)m->size);
}

/******************************************************************************/
// Tables for the user C module build (the native .mpy builds these in mpy_init).

#if !MICROPY_ENABLE_DYNRUNTIME

#include "py/objstr.h"

static MP_DEFINE_CONST_OBJ_TYPE(
    emlml_model_type,
    MP_QSTR_Model,
    MP_TYPE_FLAG_NONE,
    attr, emlml_model_attr,
    print, emlml_model_print
    );

static const MP_DEFINE_STR_OBJ(emlml_version_obj, EMLML_VERSION);

static const mp_rom_map_elem_t emlml_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_emlml) },
    { MP_ROM_QSTR(MP_QSTR_load), MP_ROM_PTR(&emlml_load_obj) },
    { MP_ROM_QSTR(MP_QSTR_Model), MP_ROM_PTR(&emlml_model_type) },
    { MP_ROM_QSTR(MP_QSTR___version__), MP_ROM_PTR(&emlml_version_obj) },
};
static MP_DEFINE_CONST_DICT(emlml_module_globals, emlml_module_globals_table);

const mp_obj_module_t emlml_user_cmodule = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&emlml_module_globals,
};

MP_REGISTER_MODULE(MP_QSTR_emlml, emlml_user_cmodule);

#endif // !MICROPY_ENABLE_DYNRUNTIME
