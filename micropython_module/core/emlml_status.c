// Messages for emlml status codes. Kept in the core so the MicroPython binding, the
// host tests and the fuzzer all print the same words (docs/FORMAT.md, Errors).
#include "emlml.h"

// All the messages in one string, each ended by a NUL, in status order: no table of
// pointers (a native .mpy may not hold relocated data) and no code per message.
static const char status_texts[] =
#define EMLML_STATUS_TEXT(name, text) text "\0"
    EMLML_STATUS_LIST(EMLML_STATUS_TEXT)
#undef EMLML_STATUS_TEXT
    ;

// The nth of the NUL-separated strings in `list`.
static const char *nth_string(const char *list, uint32_t n) {
    while (n-- > 0) {
        while (*list++ != '\0') {
        }
    }
    return list;
}

static const char *status_template(emlml_status_t status) {
    return status < EMLML_STATUS_COUNT ? nth_string(status_texts, (uint32_t)status) : "unknown error %u";
}

size_t emlml_error_format(const emlml_error_t *err, char *buf, size_t n) {
    emlml_error_t e = *err;
    if (e.status == EMLML_E_VERSION) {
        e.b = EMLML_VERSION_MIN;
        e.c = EMLML_VERSION_MAX;
    }
    const char *tmpl = status_template(e.status);
    if (e.status >= EMLML_STATUS_COUNT) {
        e.a = (uint32_t)e.status;
    }
    return emlml_format(buf, n, tmpl, e.a, e.b, e.c, e.d);
}

// Append s (length len) to buf at *pos, keeping room for the NUL.
static void put_chars(char *buf, size_t n, size_t *pos, const char *s, size_t len) {
    for (size_t i = 0; i < len && *pos + 1 < n; i++) {
        buf[(*pos)++] = s[i];
    }
}

static void put_uint(char *buf, size_t n, size_t *pos, uint32_t v) {
    char digits[10];
    size_t count = 0;
    do {
        digits[sizeof(digits) - 1 - count++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0);
    put_chars(buf, n, pos, digits + sizeof(digits) - count, count);
}

static void put_str(char *buf, size_t n, size_t *pos, const char *s) {
    while (*s != '\0') {
        put_chars(buf, n, pos, s++, 1);
    }
}

// CNN op names as TFLite spells them, by op number (0 and unknown ops: "?"), and the
// EMLML_NAME_* names: NUL-separated lists, as the messages. Each op name follows a NUL
// rather than precedes one: the literal's own NUL ends the last.
static const char op_names[] = "?"
#define EMLML_CNN_OP_TEXT(name, number) "\0" #name
    EMLML_CNN_OP_LIST(EMLML_CNN_OP_TEXT)
#undef EMLML_CNN_OP_TEXT
    ;

static const char field_names[] =
#define EMLML_NAME_TEXT(name, text) text "\0"
    EMLML_NAME_LIST(EMLML_NAME_TEXT)
#undef EMLML_NAME_TEXT
    "?";

// One conversion (%u, %d, %c, %L or %N) of the argument v.
static void put_arg(char *buf, size_t n, size_t *pos, char conversion, uint32_t v) {
    char ch = (char)(v & 0x7Fu);
    switch (conversion) {
        case 'u':
            put_uint(buf, n, pos, v);
            break;
        case 'd':  // two's complement bits, printed without converting to int32
            if ((v & 0x80000000u) != 0) {
                put_chars(buf, n, pos, "-", 1);
                v = 0u - v;
            }
            put_uint(buf, n, pos, v);
            break;
        case 'L':
            put_str(buf, n, pos, "layer ");
            put_uint(buf, n, pos, v & 0xFFFFu);
            put_str(buf, n, pos, " (");
            put_str(buf, n, pos, nth_string(op_names, (v >> 16) <= EMLML_CNN_OP_MAX ? v >> 16 : 0));
            put_str(buf, n, pos, ")");
            break;
        case 'N':
            put_str(buf, n, pos, nth_string(field_names, v < EMLML_NAME_COUNT ? v : EMLML_NAME_COUNT));
            break;
        default:
            put_chars(buf, n, pos, &ch, 1);
            break;
    }
}

static int is_conversion(char c) {
    return c == 'u' || c == 'd' || c == 'c' || c == 'L' || c == 'N';
}

size_t emlml_format(char *buf, size_t n, const char *fmt, uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
    const uint32_t args[4] = {a, b, c, d};
    unsigned next = 0;
    size_t pos = 0;
    if (n == 0) {
        return 0;
    }
    for (const char *p = fmt; *p != '\0'; p++) {
        if (p[0] == '%' && is_conversion(p[1]) && next < 4) {
            put_arg(buf, n, &pos, p[1], args[next++]);
            p++;
        } else if (p[0] == '%' && p[1] == '%') {
            put_chars(buf, n, &pos, p, 1);
            p++;
        } else {
            put_chars(buf, n, &pos, p, 1);
        }
    }
    buf[pos] = '\0';
    return pos;
}
