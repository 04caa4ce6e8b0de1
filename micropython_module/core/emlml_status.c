// Messages for emlml status codes. Kept in the core so the MicroPython binding, the
// host tests and the fuzzer all print the same words (docs/FORMAT.md, Errors).
#include "emlml.h"

// The messages in two strings (EMLML_STATUS_LIST_A and _B: C99 promises literals of
// 4095 bytes only), each message ended by a NUL, in status order: no table of pointers
// (a native .mpy may not hold relocated data) and no code per message.
// A family this build leaves out keeps its statuses' numbers, with empty messages.
#define EMLML_STATUS_TEXT(name, text) text "\0"
#define EMLML_STATUS_NO_TEXT(name, text) "\0"
#if EMLML_WITH_TREES
#define EMLML_TREES_TEXT EMLML_STATUS_TEXT
#else
#define EMLML_TREES_TEXT EMLML_STATUS_NO_TEXT
#endif
#if EMLML_WITH_KNN
#define EMLML_KNN_TEXT EMLML_STATUS_TEXT
#else
#define EMLML_KNN_TEXT EMLML_STATUS_NO_TEXT
#endif
#if EMLML_WITH_CNN
#define EMLML_CNN_TEXT EMLML_STATUS_TEXT
#else
#define EMLML_CNN_TEXT EMLML_STATUS_NO_TEXT
#endif
#if EMLML_WITH_FEATURES
#define EMLML_FEATURES_TEXT EMLML_STATUS_TEXT
#else
#define EMLML_FEATURES_TEXT EMLML_STATUS_NO_TEXT
#endif
static const char status_texts_a[] =
    EMLML_STATUS_CORE(EMLML_STATUS_TEXT) EMLML_STATUS_TREES(EMLML_TREES_TEXT)
    EMLML_STATUS_KNN(EMLML_KNN_TEXT) EMLML_STATUS_CNN_MODEL(EMLML_CNN_TEXT);
static const char status_texts_b[] =
    EMLML_STATUS_CNN_LAYER(EMLML_CNN_TEXT) EMLML_STATUS_FEATURES(EMLML_FEATURES_TEXT)
    EMLML_STATUS_PREDICT(EMLML_STATUS_TEXT);

// How many statuses the first half holds: the first of the second is this number.
#define EMLML_STATUS_ONE(name, text) +1
enum { STATUS_COUNT_A = 0 EMLML_STATUS_LIST_A(EMLML_STATUS_ONE) };
#undef EMLML_STATUS_ONE

// The nth of the NUL-separated strings in `list`.
static const char *nth_string(const char *list, uint32_t n) {
    while (n-- > 0) {
        while (*list++ != '\0') {
        }
    }
    return list;
}

// The limits a template names (%0 .. %F) are printed by emlml_format itself. A status
// out of range (not made by the core) prints its number.
size_t emlml_error_format(const emlml_error_t *err, char *buf, size_t n) {
    const char *tmpl = "unknown error %u";
    uint32_t a = (uint32_t)err->status;
    if (err->status < EMLML_STATUS_COUNT) {
        tmpl = a < STATUS_COUNT_A ? nth_string(status_texts_a, a)
                                  : nth_string(status_texts_b, a - STATUS_COUNT_A);
        a = err->a;
    }
    return emlml_format(buf, n, tmpl, a, err->b, err->c, err->d);
}

// Append ch to buf at *pos, keeping room for the NUL.
static void put_char(char *buf, size_t n, size_t *pos, char ch) {
    if (*pos + 1 < n) {
        buf[(*pos)++] = ch;
    }
}

// Append the NUL-terminated s (no length to pass: smaller code in a native .mpy).
static void put_str(char *buf, size_t n, size_t *pos, const char *s) {
    while (*s != '\0') {
        put_char(buf, n, pos, *s++);
    }
}

static void put_uint(char *buf, size_t n, size_t *pos, uint32_t v) {
    char digits[11];  // 4294967295 and its NUL
    char *first = digits + sizeof(digits) - 1;
    *first = '\0';
    do {
        *--first = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0);
    put_str(buf, n, pos, first);
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
    switch (conversion) {
        case 'u':
            put_uint(buf, n, pos, v);
            break;
        case 'd':  // two's complement bits, printed without converting to int32
            if ((v & 0x80000000u) != 0) {
                put_char(buf, n, pos, '-');
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
        default:  // 'c': a 7-bit char
            put_char(buf, n, pos, (char)(v & 0x7Fu));
            break;
    }
}

static int is_conversion(char c) {
    return c == 'u' || c == 'd' || c == 'c' || c == 'L' || c == 'N';
}

// The configured values of EMLML_LIMIT_LIST, by place: plain numbers, no pointers.
static const uint32_t limits[EMLML_LIMIT_COUNT] = {
#define EMLML_LIMIT_VALUE(name) EMLML_##name,
    EMLML_LIMIT_LIST(EMLML_LIMIT_VALUE)
#undef EMLML_LIMIT_VALUE
};

// The place in EMLML_LIMIT_LIST that c names as a hex digit ('0'..'9', 'A'..'F'), or a
// number >= EMLML_LIMIT_COUNT when c names none (any other char, a place not listed).
static unsigned limit_place(char c) {
    unsigned place = (unsigned)c - '0';
    if (place > 9u) {
        place = (unsigned)c - ('A' - 10u);
        place = place < 10u ? EMLML_LIMIT_COUNT : place;
    }
    return place;
}

size_t emlml_format(char *buf, size_t n, const char *fmt, uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
    const uint32_t args[4] = {a, b, c, d};
    unsigned next = 0;
    size_t pos = 0;
    if (n == 0) {
        return 0;
    }
    for (const char *p = fmt; *p != '\0'; p++) {
        char conversion = p[0] == '%' ? p[1] : '\0';
        unsigned place = limit_place(conversion);
        if (place < EMLML_LIMIT_COUNT) {
            put_arg(buf, n, &pos, 'u', limits[place]);
            p++;
        } else if (is_conversion(conversion) && next < 4) {
            put_arg(buf, n, &pos, conversion, args[next++]);
            p++;
        } else {
            p += conversion == '%';  // "%%" prints one '%'
            put_char(buf, n, &pos, *p);
        }
    }
    buf[pos] = '\0';
    return pos;
}
