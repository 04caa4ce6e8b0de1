// emlml's host port: MicroPython 1.23's core as an x86-64 Linux executable that runs
// one script, with emlml linked in as a user C module (see Makefile).
//
//   micropython [-X heapsize=<n>[k|m]] script.py [args...]
//
// The exit status is the script's: 0 at its end, n for sys.exit(n), 1 after an
// uncaught exception (printed to stderr). Files are read through C stdio by the tiny
// open() below (read, readinto, seek, close, `with`): the sdist has no VFS.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "py/builtin.h"
#include "py/compile.h"
#include "py/gc.h"
#include "py/mperrno.h"
#include "py/mphal.h"
#include "py/runtime.h"
#include "py/stackctrl.h"

#define DEFAULT_HEAP_SIZE (2 * 1024 * 1024)  // as the 1.23 unix port on 64-bit hosts

/******************************************************************************/
// HAL and port hooks

mp_uint_t mp_hal_stdout_tx_strn(const char *str, size_t len) {
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(STDOUT_FILENO, str + done, len - done);
        if (n <= 0) {
            break;
        }
        done += (size_t)n;
    }
    return done;
}

// A terminal needs no "\r\n" here: "cooked" output is written as it is.
void mp_hal_stdout_tx_strn_cooked(const char *str, size_t len) {
    mp_hal_stdout_tx_strn(str, len);
}

static void stderr_strn(void *env, const char *str, size_t len) {
    (void)env;
    fwrite(str, 1, len, stderr);
}

static const mp_print_t stderr_print = {NULL, stderr_strn};

mp_import_stat_t mp_import_stat(const char *path) {
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            return MP_IMPORT_STAT_DIR;
        }
        if (S_ISREG(st.st_mode)) {
            return MP_IMPORT_STAT_FILE;
        }
    }
    return MP_IMPORT_STAT_NO_EXIST;
}

void nlr_jump_fail(void *val) {
    fprintf(stderr, "FATAL: uncaught NLR %p\n", val);
    exit(2);
}

// The GC's roots besides MicroPython's state: every word of the C stack between here
// and main(), and the callee-saved registers, which __builtin_unwind_init() spills into
// gc_collect's frame (above scan_stack's). The stack holds AddressSanitizer's redzones
// between locals, so the words are copied out in chunks by a function that is not
// instrumented (and never inlined into one that is: clang 14 inlines py/gc.c's own
// no_sanitize_address gc_get_ptr into gc_collect_root, which then trips ASan), and the
// GC scans the copies.
static MP_NOINLINE __attribute__((no_sanitize_address))
void copy_words(void **dst, void *const *src, size_t n) {
    for (size_t i = 0; i < n; i++) {
        dst[i] = ((void *const volatile *)src)[i];  // volatile: no memcpy (intercepted)
    }
}

static MP_NOINLINE void scan_stack(void) {
    static void *chunk[256];
    void *here = NULL;
    void **sp = &here;
    void **top = (void **)(void *)MP_STATE_THREAD(stack_top);
    while (sp < top) {
        size_t n = (size_t)(top - sp) < MP_ARRAY_SIZE(chunk) ? (size_t)(top - sp) : MP_ARRAY_SIZE(chunk);
        copy_words(chunk, sp, n);
        gc_collect_root(chunk, n);
        sp += n;
    }
}

void gc_collect(void) {
    gc_collect_start();
    __builtin_unwind_init();
    scan_stack();
    gc_collect_end();
}

/******************************************************************************/
// open(path, mode='r'): a read-only file over C stdio

typedef struct _host_file_obj_t {
    mp_obj_base_t base;
    FILE *fp;
    bool binary;
} host_file_obj_t;

static host_file_obj_t *open_file(mp_obj_t self_in) {
    host_file_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (self->fp == NULL) {
        mp_raise_ValueError(MP_ERROR_TEXT("I/O operation on closed file"));
    }
    return self;
}

// read(n=-1): up to n bytes (all that is left when n < 0); str in text mode.
static mp_obj_t file_read(size_t n_args, const mp_obj_t *args) {
    host_file_obj_t *self = open_file(args[0]);
    mp_int_t want = n_args > 1 && args[1] != mp_const_none ? mp_obj_get_int(args[1]) : -1;
    vstr_t vstr;
    vstr_init(&vstr, want >= 0 ? (size_t)want : 4096);
    for (;;) {
        size_t room = want >= 0 ? (size_t)want - vstr.len : 4096;
        if (room == 0) {
            break;
        }
        size_t got = fread(vstr_add_len(&vstr, room), 1, room, self->fp);
        vstr.len -= room - got;
        if (got < room) {
            break;
        }
    }
    if (ferror(self->fp)) {
        mp_raise_OSError(MP_EIO);
    }
    return self->binary ? mp_obj_new_bytes_from_vstr(&vstr) : mp_obj_new_str_from_vstr(&vstr);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(file_read_obj, 1, 2, file_read);

static mp_obj_t file_readinto(mp_obj_t self_in, mp_obj_t buf_in) {
    host_file_obj_t *self = open_file(self_in);
    mp_buffer_info_t buf;
    mp_get_buffer_raise(buf_in, &buf, MP_BUFFER_WRITE);
    size_t got = fread(buf.buf, 1, buf.len, self->fp);
    if (ferror(self->fp)) {
        mp_raise_OSError(MP_EIO);
    }
    return mp_obj_new_int_from_uint(got);
}
static MP_DEFINE_CONST_FUN_OBJ_2(file_readinto_obj, file_readinto);

// seek(offset, whence=0): the new position.
static mp_obj_t file_seek(size_t n_args, const mp_obj_t *args) {
    host_file_obj_t *self = open_file(args[0]);
    int whence = n_args > 2 ? (int)mp_obj_get_int(args[2]) : SEEK_SET;
    if (fseek(self->fp, (long)mp_obj_get_int(args[1]), whence) != 0) {
        mp_raise_OSError(errno);
    }
    return mp_obj_new_int(ftell(self->fp));
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(file_seek_obj, 2, 3, file_seek);

static mp_obj_t file_close(mp_obj_t self_in) {
    host_file_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (self->fp != NULL) {
        fclose(self->fp);
        self->fp = NULL;
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(file_close_obj, file_close);

static mp_obj_t file_exit(size_t n_args, const mp_obj_t *args) {
    return file_close(args[0]);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(file_exit_obj, 4, 4, file_exit);

static const mp_rom_map_elem_t file_locals_table[] = {
    { MP_ROM_QSTR(MP_QSTR_read), MP_ROM_PTR(&file_read_obj) },
    { MP_ROM_QSTR(MP_QSTR_readinto), MP_ROM_PTR(&file_readinto_obj) },
    { MP_ROM_QSTR(MP_QSTR_seek), MP_ROM_PTR(&file_seek_obj) },
    { MP_ROM_QSTR(MP_QSTR_close), MP_ROM_PTR(&file_close_obj) },
    { MP_ROM_QSTR(MP_QSTR___del__), MP_ROM_PTR(&file_close_obj) },
    { MP_ROM_QSTR(MP_QSTR___enter__), MP_ROM_PTR(&mp_identity_obj) },
    { MP_ROM_QSTR(MP_QSTR___exit__), MP_ROM_PTR(&file_exit_obj) },
};
static MP_DEFINE_CONST_DICT(file_locals, file_locals_table);

static MP_DEFINE_CONST_OBJ_TYPE(host_file_type, MP_QSTR_FileIO, MP_TYPE_FLAG_NONE,
    locals_dict, &file_locals);

mp_obj_t mp_builtin_open(size_t n_args, const mp_obj_t *args, mp_map_t *kwargs) {
    if (n_args < 1 || n_args > 2 || kwargs->used != 0) {
        mp_raise_TypeError(MP_ERROR_TEXT("open() takes a path and a mode"));
    }
    const char *mode = n_args > 1 ? mp_obj_str_get_str(args[1]) : "r";
    if (strcmp(mode, "r") != 0 && strcmp(mode, "rb") != 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("this port opens files for reading only: 'r' or 'rb'"));
    }
    host_file_obj_t *self = mp_obj_malloc_with_finaliser(host_file_obj_t, &host_file_type);
    self->fp = NULL;
    self->binary = mode[1] == 'b';
    self->fp = fopen(mp_obj_str_get_str(args[0]), "rb");
    if (self->fp == NULL) {
        mp_raise_OSError(errno);
    }
    return MP_OBJ_FROM_PTR(self);
}
MP_DEFINE_CONST_FUN_OBJ_KW(mp_builtin_open_obj, 1, mp_builtin_open);

/******************************************************************************/
// Running a script

// The process exit status for an exception that reached the top.
static int exit_status(mp_obj_t exc) {
    if (mp_obj_is_subclass_fast(MP_OBJ_FROM_PTR(mp_obj_get_type(exc)), MP_OBJ_FROM_PTR(&mp_type_SystemExit))) {
        mp_obj_t code = mp_obj_exception_get_value(exc);
        if (code == mp_const_none) {
            return 0;
        }
        if (mp_obj_is_small_int(code)) {
            return (int)(MP_OBJ_SMALL_INT_VALUE(code) & 0xff);
        }
        mp_obj_print_helper(&stderr_print, code, PRINT_STR);
        mp_print_str(&stderr_print, "\n");
        return 1;
    }
    mp_obj_print_exception(&stderr_print, exc);
    return 1;
}

static int run_file(const char *path) {
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        qstr name = qstr_from_str(path);
        mp_lexer_t *lex = mp_lexer_new_from_file(name);
        mp_store_global(MP_QSTR___file__, MP_OBJ_NEW_QSTR(name));
        mp_parse_tree_t tree = mp_parse(lex, MP_PARSE_FILE_INPUT);
        mp_obj_t fun = mp_compile(&tree, name, false);
        mp_call_function_0(fun);
        nlr_pop();
        return 0;
    }
    return exit_status(MP_OBJ_FROM_PTR(nlr.ret_val));
}

static int usage(const char *prog) {
    fprintf(stderr, "usage: %s [-X heapsize=<n>[k|m]] script.py [args...]\n", prog);
    return 2;
}

// Runs below main's frame, so that the GC's stack scan (up to main) sees its locals.
static MP_NOINLINE int run(int argc, char **argv) {
    size_t heap_size = DEFAULT_HEAP_SIZE;
    int a = 1;
    for (; a < argc && argv[a][0] == '-'; a++) {
        char *end;
        if (strcmp(argv[a], "-X") != 0 || a + 1 == argc || strncmp(argv[a + 1], "heapsize=", 9) != 0) {
            return usage(argv[0]);
        }
        unsigned long n = strtoul(argv[++a] + 9, &end, 10);
        n *= *end == 'k' || *end == 'K' ? 1024 : *end == 'm' || *end == 'M' ? 1024 * 1024 : 1;
        if (n < 16384 || (*end != '\0' && end[1] != '\0')) {
            return usage(argv[0]);
        }
        heap_size = n;
    }
    if (a == argc) {
        return usage(argv[0]);
    }
    char *heap = malloc(heap_size);
    if (heap == NULL) {
        fprintf(stderr, "no memory for a %zu byte heap\n", heap_size);
        return 2;
    }
    gc_init(heap, heap + heap_size);
    mp_init();

    // sys.path[0]: the script's folder ('' for the current one); sys.argv: the script on.
    const char *script = argv[a];
    const char *slash = strrchr(script, '/');
    mp_obj_list_store(mp_sys_path, MP_OBJ_NEW_SMALL_INT(0),
        slash == NULL ? MP_OBJ_NEW_QSTR(MP_QSTR_) : mp_obj_new_str(script, (size_t)(slash - script)));
    for (int i = a; i < argc; i++) {
        mp_obj_list_append(mp_sys_argv, mp_obj_new_str(argv[i], strlen(argv[i])));
    }

    int status = run_file(script);
    gc_sweep_all();  // runs the finalisers: files left open are closed
    mp_deinit();
    free(heap);
    return status;
}

int main(int argc, char **argv) {
    int stack_top;
    mp_stack_set_top(&stack_top);
    mp_stack_set_limit(1024 * 1024);  // of Linux's 8 MB stack; sanitizer frames are large
    int status = run(argc, argv);
    fflush(stdout);
    return status;
}
