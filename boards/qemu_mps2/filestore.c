// The RAM file store of the emulated boards: open(), import of .py and .mpy files and a
// small `os` module (stat, listdir, ilistdir, mkdir, rmdir, remove, rename, getcwd,
// chdir, statvfs), enough for `mpremote cp/ls/mkdir/rm` and for scripts that read
// models. MicroPython's own VFS (extmod/) is not in the PyPI source, hence this.
//
// The store lives in PSRAM outside the MicroPython heap, so it survives a soft reset
// (mpremote soft-resets before `run`). A table of entries (absolute paths) points into
// one data area; a file grows in place when it is the last one written, else it moves
// to the end; a full data area is compacted.
#include <string.h>

#include "py/builtin.h"
#include "py/lexer.h"
#include "py/mperrno.h"
#include "py/objstr.h"
#include "py/reader.h"
#include "py/runtime.h"
#include "py/stream.h"

#define FS_MAGIC (0x53464d45)
// Files and folders at most: the device data of the emulated boards holds about 550 (every
// zoo model with its inputs and answers, the CNNs, the Pipelines, the bad blobs); the
// table takes 132 B an entry of the 8 MB store.
#define FS_ENTRIES (2048)
#define FS_PATH_MAX (112)
#define FS_MODE_DIR (0x4000)
#define FS_MODE_FILE (0x8000)

typedef struct {
    char path[FS_PATH_MAX]; // absolute and normalised; "" for a free entry
    uint32_t is_dir;
    uint32_t gen; // new on every (re)use: open files notice a removal
    uint32_t off, len, cap;
} fs_entry_t;

typedef struct {
    uint32_t magic;
    uint32_t top; // end of the allocated part of the data area
    uint32_t gen;
    fs_entry_t e[FS_ENTRIES];
} fs_header_t;

extern uint8_t _fs_start[], _fs_end[]; // from the linker script
#define FS ((fs_header_t *)_fs_start)
#define FS_DATA (_fs_start + sizeof(fs_header_t))
#define FS_DATA_SIZE ((uint32_t)(_fs_end - FS_DATA))

static char fs_cwd[FS_PATH_MAX];

void filestore_init(void) {
    if (FS->magic != FS_MAGIC) {
        memset(FS, 0, sizeof(fs_header_t));
        FS->magic = FS_MAGIC;
    }
    strcpy(fs_cwd, "/");
}

static void raise_errno(int err) {
    mp_raise_OSError(err);
}

// Absolute, normalised path ("/", "/a/b") of `in` relative to the working directory.
static void fs_abspath(const char *in, char *out) {
    char tmp[2 * FS_PATH_MAX];
    size_t n = strlen(in);
    if (n >= FS_PATH_MAX) {
        raise_errno(MP_EINVAL);
    }
    if (in[0] == '/') {
        strcpy(tmp, in);
    } else {
        strcpy(tmp, fs_cwd);
        strcat(tmp, "/");
        strcat(tmp, in);
    }
    size_t len = 0;
    char *part = tmp;
    while (*part) {
        char *end = strchr(part, '/');
        size_t plen = end ? (size_t)(end - part) : strlen(part);
        if (plen == 0 || (plen == 1 && part[0] == '.')) {
            // skip
        } else if (plen == 2 && part[0] == '.' && part[1] == '.') {
            while (len > 0 && out[len - 1] != '/') {
                len--;
            }
            if (len > 0) {
                len--;
            }
        } else {
            if (len + 1 + plen >= FS_PATH_MAX) {
                raise_errno(MP_EINVAL);
            }
            out[len++] = '/';
            memcpy(out + len, part, plen);
            len += plen;
        }
        part += plen + (end ? 1 : 0);
    }
    if (len == 0) {
        out[len++] = '/';
    }
    out[len] = 0;
}

static fs_entry_t *fs_find(const char *abspath) {
    for (size_t i = 0; i < FS_ENTRIES; i++) {
        if (FS->e[i].path[0] && strcmp(FS->e[i].path, abspath) == 0) {
            return &FS->e[i];
        }
    }
    return NULL;
}

// 0: no such path, else FS_MODE_DIR or FS_MODE_FILE ("/" is always a directory).
static int fs_kind(const char *abspath, fs_entry_t **entry) {
    fs_entry_t *e = fs_find(abspath);
    if (entry) {
        *entry = e;
    }
    if (strcmp(abspath, "/") == 0) {
        return FS_MODE_DIR;
    }
    return e ? (e->is_dir ? FS_MODE_DIR : FS_MODE_FILE) : 0;
}

// A new entry for abspath, whose parent must be a directory.
static fs_entry_t *fs_create(const char *abspath, bool is_dir) {
    char parent[FS_PATH_MAX];
    strcpy(parent, abspath);
    char *slash = strrchr(parent, '/');
    if (slash == parent) {
        slash[1] = 0;
    } else {
        *slash = 0;
    }
    if (fs_kind(parent, NULL) != FS_MODE_DIR) {
        raise_errno(MP_ENOENT);
    }
    for (size_t i = 0; i < FS_ENTRIES; i++) {
        fs_entry_t *e = &FS->e[i];
        if (!e->path[0]) {
            strcpy(e->path, abspath);
            e->is_dir = is_dir;
            e->gen = ++FS->gen;
            e->off = e->len = e->cap = 0;
            return e;
        }
    }
    raise_errno(MP_ENOSPC);
    return NULL;
}

static void fs_free(fs_entry_t *e) {
    e->path[0] = 0;
    e->gen = ++FS->gen;
    e->len = e->cap = 0;
}

// Moves every file's data down to the start of the data area, in address order.
static void fs_compact(void) {
    uint32_t pos = 0;
    for (;;) {
        fs_entry_t *next = NULL;
        for (size_t i = 0; i < FS_ENTRIES; i++) {
            fs_entry_t *e = &FS->e[i];
            if (e->path[0] && e->cap && e->off >= pos && (!next || e->off < next->off)) {
                next = e;
            }
        }
        if (!next) {
            break;
        }
        memmove(FS_DATA + pos, FS_DATA + next->off, next->len);
        next->off = pos;
        next->cap = (next->len + 3) & ~3u;
        pos += next->cap;
        if (next->cap == 0) {
            next->off = 0;
        }
    }
    FS->top = pos;
}

// Room for `need` bytes in entry e (its data may move).
static void fs_reserve(fs_entry_t *e, uint32_t need) {
    if (need <= e->cap) {
        return;
    }
    if (need > FS_DATA_SIZE) {
        raise_errno(MP_ENOSPC);
    }
    uint32_t want = need < 2 * e->cap ? 2 * e->cap : need;
    want = want < 256 ? 256 : (want + 3) & ~3u;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (e->cap && e->off + e->cap == FS->top) { // the last file: grow in place
            for (uint32_t size = want;; size = need) {
                if (e->off + size <= FS_DATA_SIZE) {
                    e->cap = size;
                    FS->top = e->off + size;
                    return;
                }
                if (size == need) {
                    break;
                }
            }
        } else {
            for (uint32_t size = want;; size = need) {
                if (FS->top + size <= FS_DATA_SIZE) {
                    memmove(FS_DATA + FS->top, FS_DATA + e->off, e->len);
                    e->off = FS->top;
                    e->cap = size;
                    FS->top += size;
                    return;
                }
                if (size == need) {
                    break;
                }
            }
        }
        fs_compact();
    }
    raise_errno(MP_ENOSPC);
}

static const char *path_arg(mp_obj_t path_in, char *abspath) {
    fs_abspath(mp_obj_str_get_str(path_in), abspath);
    return abspath;
}

/******************************************************************************/
// Files

typedef struct {
    mp_obj_base_t base;
    uint16_t index;
    bool readable, writable, append, closed;
    uint32_t gen;
    uint32_t pos;
} fs_file_obj_t;

static fs_entry_t *file_entry(fs_file_obj_t *self, int *errcode) {
    fs_entry_t *e = &FS->e[self->index];
    if (self->closed || !e->path[0] || e->gen != self->gen) {
        *errcode = MP_EBADF;
        return NULL;
    }
    return e;
}

static mp_uint_t file_read(mp_obj_t self_in, void *buf, mp_uint_t size, int *errcode) {
    fs_file_obj_t *self = MP_OBJ_TO_PTR(self_in);
    fs_entry_t *e = file_entry(self, errcode);
    if (!e) {
        return MP_STREAM_ERROR;
    }
    if (!self->readable) {
        *errcode = MP_EBADF;
        return MP_STREAM_ERROR;
    }
    mp_uint_t avail = self->pos < e->len ? e->len - self->pos : 0;
    if (size > avail) {
        size = avail;
    }
    memcpy(buf, FS_DATA + e->off + self->pos, size);
    self->pos += size;
    return size;
}

static mp_uint_t file_write(mp_obj_t self_in, const void *buf, mp_uint_t size, int *errcode) {
    fs_file_obj_t *self = MP_OBJ_TO_PTR(self_in);
    fs_entry_t *e = file_entry(self, errcode);
    if (!e) {
        return MP_STREAM_ERROR;
    }
    if (!self->writable) {
        *errcode = MP_EBADF;
        return MP_STREAM_ERROR;
    }
    if (self->append) {
        self->pos = e->len;
    }
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        fs_reserve(e, self->pos + size);
        nlr_pop();
    } else {
        *errcode = MP_ENOSPC;
        return MP_STREAM_ERROR;
    }
    if (self->pos > e->len) {
        memset(FS_DATA + e->off + e->len, 0, self->pos - e->len);
    }
    memcpy(FS_DATA + e->off + self->pos, buf, size);
    self->pos += size;
    if (self->pos > e->len) {
        e->len = self->pos;
    }
    return size;
}

static mp_uint_t file_ioctl(mp_obj_t self_in, mp_uint_t request, uintptr_t arg, int *errcode) {
    fs_file_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (request == MP_STREAM_CLOSE) {
        self->closed = true;
        return 0;
    }
    fs_entry_t *e = file_entry(self, errcode);
    if (!e) {
        return MP_STREAM_ERROR;
    }
    if (request == MP_STREAM_FLUSH) {
        return 0;
    }
    if (request == MP_STREAM_SEEK) {
        struct mp_stream_seek_t *s = (struct mp_stream_seek_t *)arg;
        mp_off_t base = s->whence == MP_SEEK_SET ? 0 : s->whence == MP_SEEK_CUR ? (mp_off_t)self->pos : (mp_off_t)e->len;
        mp_off_t pos = base + s->offset;
        if (pos < 0) {
            *errcode = MP_EINVAL;
            return MP_STREAM_ERROR;
        }
        self->pos = pos;
        s->offset = pos;
        return 0;
    }
    *errcode = MP_EINVAL;
    return MP_STREAM_ERROR;
}

// read() of a binary file in one allocation (the stream default grows a buffer in
// steps, slow for a model of 100 KB).
static mp_obj_t file_read_bytes(size_t n_args, const mp_obj_t *args) {
    fs_file_obj_t *self = MP_OBJ_TO_PTR(args[0]);
    int errcode = 0;
    fs_entry_t *e = file_entry(self, &errcode);
    if (!e || !self->readable) {
        raise_errno(MP_EBADF);
    }
    mp_int_t avail = self->pos < e->len ? e->len - self->pos : 0;
    mp_int_t size = n_args > 1 && args[1] != mp_const_none ? mp_obj_get_int(args[1]) : -1;
    if (size < 0 || size > avail) {
        size = avail;
    }
    vstr_t vstr;
    vstr_init_len(&vstr, size);
    e = file_entry(self, &errcode); // the allocation may have run a GC, not a store change
    memcpy(vstr.buf, FS_DATA + e->off + self->pos, size);
    self->pos += size;
    return mp_obj_new_bytes_from_vstr(&vstr);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(file_read_bytes_obj, 1, 2, file_read_bytes);

static const mp_rom_map_elem_t file_locals_dict_table[] = {
    { MP_ROM_QSTR(MP_QSTR_read), MP_ROM_PTR(&file_read_bytes_obj) },
    { MP_ROM_QSTR(MP_QSTR_readinto), MP_ROM_PTR(&mp_stream_readinto_obj) },
    { MP_ROM_QSTR(MP_QSTR_readline), MP_ROM_PTR(&mp_stream_unbuffered_readline_obj) },
    { MP_ROM_QSTR(MP_QSTR_readlines), MP_ROM_PTR(&mp_stream_unbuffered_readlines_obj) },
    { MP_ROM_QSTR(MP_QSTR_write), MP_ROM_PTR(&mp_stream_write_obj) },
    { MP_ROM_QSTR(MP_QSTR_seek), MP_ROM_PTR(&mp_stream_seek_obj) },
    { MP_ROM_QSTR(MP_QSTR_tell), MP_ROM_PTR(&mp_stream_tell_obj) },
    { MP_ROM_QSTR(MP_QSTR_flush), MP_ROM_PTR(&mp_stream_flush_obj) },
    { MP_ROM_QSTR(MP_QSTR_close), MP_ROM_PTR(&mp_stream_close_obj) },
    { MP_ROM_QSTR(MP_QSTR___enter__), MP_ROM_PTR(&mp_identity_obj) },
    { MP_ROM_QSTR(MP_QSTR___exit__), MP_ROM_PTR(&mp_stream___exit___obj) },
};
static MP_DEFINE_CONST_DICT(file_locals_dict, file_locals_dict_table);

static const mp_rom_map_elem_t textio_locals_dict_table[] = {
    { MP_ROM_QSTR(MP_QSTR_read), MP_ROM_PTR(&mp_stream_read_obj) },
    { MP_ROM_QSTR(MP_QSTR_readline), MP_ROM_PTR(&mp_stream_unbuffered_readline_obj) },
    { MP_ROM_QSTR(MP_QSTR_readlines), MP_ROM_PTR(&mp_stream_unbuffered_readlines_obj) },
    { MP_ROM_QSTR(MP_QSTR_write), MP_ROM_PTR(&mp_stream_write_obj) },
    { MP_ROM_QSTR(MP_QSTR_seek), MP_ROM_PTR(&mp_stream_seek_obj) },
    { MP_ROM_QSTR(MP_QSTR_tell), MP_ROM_PTR(&mp_stream_tell_obj) },
    { MP_ROM_QSTR(MP_QSTR_flush), MP_ROM_PTR(&mp_stream_flush_obj) },
    { MP_ROM_QSTR(MP_QSTR_close), MP_ROM_PTR(&mp_stream_close_obj) },
    { MP_ROM_QSTR(MP_QSTR___enter__), MP_ROM_PTR(&mp_identity_obj) },
    { MP_ROM_QSTR(MP_QSTR___exit__), MP_ROM_PTR(&mp_stream___exit___obj) },
};
static MP_DEFINE_CONST_DICT(textio_locals_dict, textio_locals_dict_table);

static const mp_stream_p_t file_stream_p = {
    .read = file_read, .write = file_write, .ioctl = file_ioctl,
};

static const mp_stream_p_t textio_stream_p = {
    .read = file_read, .write = file_write, .ioctl = file_ioctl, .is_text = true,
};

static MP_DEFINE_CONST_OBJ_TYPE(
    fs_fileio_type, MP_QSTR_FileIO, MP_TYPE_FLAG_ITER_IS_STREAM,
    protocol, &file_stream_p,
    locals_dict, &file_locals_dict
    );

static MP_DEFINE_CONST_OBJ_TYPE(
    fs_textio_type, MP_QSTR_TextIOWrapper, MP_TYPE_FLAG_ITER_IS_STREAM,
    protocol, &textio_stream_p,
    locals_dict, &textio_locals_dict
    );

mp_obj_t mp_builtin_open(size_t n_args, const mp_obj_t *args, mp_map_t *kwargs) {
    enum { ARG_file, ARG_mode };
    static const mp_arg_t allowed[] = {
        { MP_QSTR_file, MP_ARG_OBJ | MP_ARG_REQUIRED, {.u_rom_obj = MP_ROM_NONE} },
        { MP_QSTR_mode, MP_ARG_OBJ, {.u_rom_obj = MP_ROM_QSTR(MP_QSTR_r)} },
        { MP_QSTR_buffering, MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
        { MP_QSTR_encoding, MP_ARG_OBJ, {.u_rom_obj = MP_ROM_NONE} },
    };
    mp_arg_val_t a[MP_ARRAY_SIZE(allowed)];
    mp_arg_parse_all(n_args, args, kwargs, MP_ARRAY_SIZE(allowed), allowed, a);
    const char *mode = mp_obj_str_get_str(a[ARG_mode].u_obj);
    char path[FS_PATH_MAX];
    path_arg(a[ARG_file].u_obj, path);

    bool binary = false, plus = false;
    char kind = 0;
    for (const char *m = mode; *m; m++) {
        switch (*m) {
            case 'r': case 'w': case 'a': case 'x':
                if (kind) {
                    mp_raise_ValueError(MP_ERROR_TEXT("invalid mode"));
                }
                kind = *m;
                break;
            case 'b': binary = true; break;
            case 't': break;
            case '+': plus = true; break;
            default: mp_raise_ValueError(MP_ERROR_TEXT("invalid mode"));
        }
    }
    kind = kind ? kind : 'r';

    fs_entry_t *e;
    int what = fs_kind(path, &e);
    if (what == FS_MODE_DIR) {
        raise_errno(MP_EISDIR);
    }
    if (kind == 'r' && !e) {
        raise_errno(MP_ENOENT);
    }
    if (kind == 'x' && e) {
        raise_errno(MP_EEXIST);
    }
    if (!e) {
        e = fs_create(path, false);
    }
    if (kind == 'w') {
        e->len = 0;
    }
    fs_file_obj_t *f = mp_obj_malloc(fs_file_obj_t, binary ? &fs_fileio_type : &fs_textio_type);
    f->index = e - FS->e;
    f->gen = e->gen;
    f->readable = kind == 'r' || plus;
    f->writable = kind != 'r' || plus;
    f->append = kind == 'a';
    f->closed = false;
    f->pos = kind == 'a' ? e->len : 0;
    return MP_OBJ_FROM_PTR(f);
}
MP_DEFINE_CONST_FUN_OBJ_KW(mp_builtin_open_obj, 1, mp_builtin_open);

/******************************************************************************/
// Import of .py and .mpy files from the store

mp_import_stat_t mp_import_stat(const char *path) {
    char abspath[FS_PATH_MAX];
    if (strlen(path) >= FS_PATH_MAX) {
        return MP_IMPORT_STAT_NO_EXIST;
    }
    fs_abspath(path, abspath);
    switch (fs_kind(abspath, NULL)) {
        case FS_MODE_DIR: return MP_IMPORT_STAT_DIR;
        case FS_MODE_FILE: return MP_IMPORT_STAT_FILE;
        default: return MP_IMPORT_STAT_NO_EXIST;
    }
}

// The reader uses the stored bytes in place: nothing writes to the store while a
// module is parsed or a .mpy is loaded.
void mp_reader_new_file(mp_reader_t *reader, qstr filename) {
    char abspath[FS_PATH_MAX];
    fs_entry_t *e;
    fs_abspath(qstr_str(filename), abspath);
    if (fs_kind(abspath, &e) != FS_MODE_FILE) {
        raise_errno(MP_ENOENT);
    }
    mp_reader_new_mem(reader, FS_DATA + e->off, e->len, 0);
}

mp_lexer_t *mp_lexer_new_from_file(qstr filename) {
    mp_reader_t reader;
    mp_reader_new_file(&reader, filename);
    return mp_lexer_new(filename, reader);
}

/******************************************************************************/
// The os module

static mp_obj_t os_stat(mp_obj_t path_in) {
    char path[FS_PATH_MAX];
    fs_entry_t *e;
    int mode = fs_kind(path_arg(path_in, path), &e);
    if (!mode) {
        raise_errno(MP_ENOENT);
    }
    mp_obj_t items[10];
    for (size_t i = 0; i < 10; i++) {
        items[i] = MP_OBJ_NEW_SMALL_INT(0);
    }
    items[0] = MP_OBJ_NEW_SMALL_INT(mode);
    items[6] = mp_obj_new_int_from_uint(e && !e->is_dir ? e->len : 0);
    return mp_obj_new_tuple(10, items);
}
static MP_DEFINE_CONST_FUN_OBJ_1(os_stat_obj, os_stat);

// The entries directly inside directory `dir` (absolute), as names or ilistdir tuples.
static mp_obj_t list_dir(size_t n_args, const mp_obj_t *args, bool tuples) {
    char dir[FS_PATH_MAX];
    path_arg(n_args ? args[0] : MP_OBJ_NEW_QSTR(MP_QSTR_), dir);
    if (fs_kind(dir, NULL) != FS_MODE_DIR) {
        raise_errno(fs_kind(dir, NULL) ? MP_ENOTDIR : MP_ENOENT);
    }
    size_t dlen = strcmp(dir, "/") == 0 ? 0 : strlen(dir);
    mp_obj_t list = mp_obj_new_list(0, NULL);
    for (size_t i = 0; i < FS_ENTRIES; i++) {
        fs_entry_t *e = &FS->e[i];
        if (!e->path[0] || strncmp(e->path, dir, dlen) != 0 || e->path[dlen] != '/'
            || strchr(e->path + dlen + 1, '/')) {
            continue;
        }
        const char *name = e->path + dlen + 1;
        mp_obj_t name_obj = mp_obj_new_str(name, strlen(name));
        if (tuples) {
            mp_obj_t t[4] = {
                name_obj, MP_OBJ_NEW_SMALL_INT(e->is_dir ? FS_MODE_DIR : FS_MODE_FILE),
                MP_OBJ_NEW_SMALL_INT(0), mp_obj_new_int_from_uint(e->is_dir ? 0 : e->len)
            };
            name_obj = mp_obj_new_tuple(4, t);
        }
        mp_obj_list_append(list, name_obj);
    }
    return list;
}

static mp_obj_t os_listdir(size_t n_args, const mp_obj_t *args) {
    return list_dir(n_args, args, false);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(os_listdir_obj, 0, 1, os_listdir);

static mp_obj_t os_ilistdir(size_t n_args, const mp_obj_t *args) {
    return mp_getiter(list_dir(n_args, args, true), NULL);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(os_ilistdir_obj, 0, 1, os_ilistdir);

static mp_obj_t os_mkdir(mp_obj_t path_in) {
    char path[FS_PATH_MAX];
    if (fs_kind(path_arg(path_in, path), NULL)) {
        raise_errno(MP_EEXIST);
    }
    fs_create(path, true);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(os_mkdir_obj, os_mkdir);

static bool dir_is_empty(const char *dir) {
    size_t dlen = strlen(dir);
    for (size_t i = 0; i < FS_ENTRIES; i++) {
        const char *p = FS->e[i].path;
        if (p[0] && strncmp(p, dir, dlen) == 0 && p[dlen] == '/') {
            return false;
        }
    }
    return true;
}

static mp_obj_t os_rmdir(mp_obj_t path_in) {
    char path[FS_PATH_MAX];
    fs_entry_t *e;
    int kind = fs_kind(path_arg(path_in, path), &e);
    if (kind != FS_MODE_DIR || !e) {
        raise_errno(kind ? (e ? MP_ENOTDIR : MP_EACCES) : MP_ENOENT);
    }
    if (!dir_is_empty(path)) {
        raise_errno(MP_EACCES);
    }
    fs_free(e);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(os_rmdir_obj, os_rmdir);

static mp_obj_t os_remove(mp_obj_t path_in) {
    char path[FS_PATH_MAX];
    fs_entry_t *e;
    int kind = fs_kind(path_arg(path_in, path), &e);
    if (kind != FS_MODE_FILE) {
        raise_errno(kind ? MP_EISDIR : MP_ENOENT);
    }
    fs_free(e);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(os_remove_obj, os_remove);

static mp_obj_t os_rename(mp_obj_t old_in, mp_obj_t new_in) {
    char old[FS_PATH_MAX], new[FS_PATH_MAX];
    fs_entry_t *e, *target;
    int kind = fs_kind(path_arg(old_in, old), &e);
    if (!kind || !e) {
        raise_errno(kind ? MP_EACCES : MP_ENOENT);
    }
    int target_kind = fs_kind(path_arg(new_in, new), &target);
    size_t olen = strlen(old);
    if (target == e) {
        return mp_const_none;
    }
    if (target_kind == FS_MODE_DIR || (kind == FS_MODE_DIR && strncmp(new, old, olen) == 0 && new[olen] == '/')) {
        raise_errno(MP_EACCES);
    }
    if (target_kind == FS_MODE_FILE && kind == FS_MODE_DIR) {
        raise_errno(MP_ENOTDIR);
    }
    // The parent of the new name must exist: create the entry there, then move the data.
    if (target) {
        fs_free(target);
    }
    fs_entry_t *moved = fs_create(new, e->is_dir);
    moved->gen = e->gen; // open files follow the rename
    moved->off = e->off;
    moved->len = e->len;
    moved->cap = e->cap;
    e->path[0] = 0;
    e->len = e->cap = 0;
    if (kind == FS_MODE_DIR) { // and everything below it
        size_t nlen = strlen(new);
        for (size_t i = 0; i < FS_ENTRIES; i++) {
            char *p = FS->e[i].path;
            if (p[0] && strncmp(p, old, olen) == 0 && p[olen] == '/') {
                if (nlen + strlen(p + olen) >= FS_PATH_MAX) {
                    raise_errno(MP_EINVAL);
                }
                char tail[FS_PATH_MAX];
                strcpy(tail, p + olen);
                strcpy(p, new);
                strcat(p, tail);
            }
        }
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(os_rename_obj, os_rename);

static mp_obj_t os_getcwd(void) {
    return mp_obj_new_str(fs_cwd, strlen(fs_cwd));
}
static MP_DEFINE_CONST_FUN_OBJ_0(os_getcwd_obj, os_getcwd);

static mp_obj_t os_chdir(mp_obj_t path_in) {
    char path[FS_PATH_MAX];
    if (fs_kind(path_arg(path_in, path), NULL) != FS_MODE_DIR) {
        raise_errno(MP_ENOENT);
    }
    strcpy(fs_cwd, path);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(os_chdir_obj, os_chdir);

static mp_obj_t os_statvfs(mp_obj_t path_in) {
    uint32_t used = 0, files = 0;
    for (size_t i = 0; i < FS_ENTRIES; i++) {
        if (FS->e[i].path[0]) {
            used += FS->e[i].len;
            files++;
        }
    }
    const uint32_t bsize = 512;
    mp_obj_t t[10] = {
        MP_OBJ_NEW_SMALL_INT(bsize), MP_OBJ_NEW_SMALL_INT(bsize),
        MP_OBJ_NEW_SMALL_INT(FS_DATA_SIZE / bsize),
        MP_OBJ_NEW_SMALL_INT((FS_DATA_SIZE - used) / bsize),
        MP_OBJ_NEW_SMALL_INT((FS_DATA_SIZE - used) / bsize),
        MP_OBJ_NEW_SMALL_INT(FS_ENTRIES), MP_OBJ_NEW_SMALL_INT(FS_ENTRIES - files),
        MP_OBJ_NEW_SMALL_INT(FS_ENTRIES - files), MP_OBJ_NEW_SMALL_INT(0),
        MP_OBJ_NEW_SMALL_INT(FS_PATH_MAX - 1),
    };
    return mp_obj_new_tuple(10, t);
}
static MP_DEFINE_CONST_FUN_OBJ_1(os_statvfs_obj, os_statvfs);

static mp_obj_t os_sync(void) {
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_0(os_sync_obj, os_sync);

static const mp_rom_map_elem_t os_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_os) },
    { MP_ROM_QSTR(MP_QSTR_stat), MP_ROM_PTR(&os_stat_obj) },
    { MP_ROM_QSTR(MP_QSTR_listdir), MP_ROM_PTR(&os_listdir_obj) },
    { MP_ROM_QSTR(MP_QSTR_ilistdir), MP_ROM_PTR(&os_ilistdir_obj) },
    { MP_ROM_QSTR(MP_QSTR_mkdir), MP_ROM_PTR(&os_mkdir_obj) },
    { MP_ROM_QSTR(MP_QSTR_rmdir), MP_ROM_PTR(&os_rmdir_obj) },
    { MP_ROM_QSTR(MP_QSTR_remove), MP_ROM_PTR(&os_remove_obj) },
    { MP_ROM_QSTR(MP_QSTR_rename), MP_ROM_PTR(&os_rename_obj) },
    { MP_ROM_QSTR(MP_QSTR_getcwd), MP_ROM_PTR(&os_getcwd_obj) },
    { MP_ROM_QSTR(MP_QSTR_chdir), MP_ROM_PTR(&os_chdir_obj) },
    { MP_ROM_QSTR(MP_QSTR_statvfs), MP_ROM_PTR(&os_statvfs_obj) },
    { MP_ROM_QSTR(MP_QSTR_sync), MP_ROM_PTR(&os_sync_obj) },
    { MP_ROM_QSTR(MP_QSTR_sep), MP_ROM_QSTR(MP_QSTR__slash_) },
};
static MP_DEFINE_CONST_DICT(os_module_globals, os_module_globals_table);

const mp_obj_module_t mp_module_os = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&os_module_globals,
};
MP_REGISTER_MODULE(MP_QSTR_os, mp_module_os);
