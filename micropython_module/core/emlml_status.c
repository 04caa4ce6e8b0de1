// Messages for emlml status codes. Kept in the core so the MicroPython binding, the
// host tests and the fuzzer all print the same words (docs/FORMAT.md, Errors).
#include "emlml_status.h"
#include "emlml_config.h"

// A switch, not a table of pointers: native .mpy files may not hold relocated data.
static const char *status_template(emlml_status_t status) {
    switch (status) {
        case EMLML_OK: return "ok";
        case EMLML_E_SHORT: return "truncated: %u bytes, the header alone needs 48";
        case EMLML_E_MAGIC: return "bad magic (not an emlml blob)";
        case EMLML_E_VERSION: return "unsupported version %u (this build reads %u..%u)";
        case EMLML_E_TRUNCATED: return "truncated: header says %u bytes, buffer has %u";
        case EMLML_E_TRAILING: return "trailing bytes: header says %u bytes, buffer has %u";
        case EMLML_E_CRC: return "CRC mismatch";
        case EMLML_E_BUFFER_ALIGN: return "blob buffer is not 4-byte aligned (copy it into a bytearray)";
        case EMLML_E_HEADER_SIZE: return "header_size %u, expected 48";
        case EMLML_E_RESERVED: return "reserved header bytes or flags are not zero";
        case EMLML_E_N_SECTIONS: return "bad section count %u (1..16)";
        case EMLML_E_KIND: return "unknown model kind %u";
        case EMLML_E_TASK: return "unknown task %u";
        case EMLML_E_INPUT_TYPE: return "unknown input type %u";
        case EMLML_E_N_INPUTS: return "n_inputs %u out of range (1..65534)";
        case EMLML_E_N_OUTPUTS: return "n_outputs %u out of range (1..65535)";
        case EMLML_E_REGRESSOR_OUTPUTS: return "a regressor has 1 output, the blob says %u";
        case EMLML_E_ARENA: return "arena_bytes %u, this model needs %u";
        case EMLML_E_SECTION_BOUNDS: return "section %u outside the blob";
        case EMLML_E_SECTION_ALIGN: return "section %u offset %u not 4-byte aligned";
        case EMLML_E_SECTION_ORDER: return "section %u overlaps or precedes the one before";
        case EMLML_E_SECTION_EMPTY: return "section %u is empty";
        case EMLML_E_SECTION_DUP: return "section id %u appears twice";
        case EMLML_E_SECTION_UNKNOWN: return "unknown section id %u for this model kind";
        case EMLML_E_SECTION_MISSING: return "missing section id %u";
        case EMLML_E_SECTION_SIZE: return "section id %u size %u is not a multiple of %u";
        case EMLML_E_SECTION_LENGTH: return "section id %u has %u bytes, expected %u";
        case EMLML_E_META_OVERRUN: return "metadata record at offset %u overruns its section";
        case EMLML_E_LABELS: return "%u labels for %u classes";
        case EMLML_E_TREE_COUNT: return "bad tree count %u (1..65535)";
        case EMLML_E_TREE_ROOT: return "tree %u: root %u out of order or range";
        case EMLML_E_TREE_CHILD: return "tree %u node %u: child index out of range";
        case EMLML_E_TREE_FEATURE: return "tree %u node %u: feature %u out of range (%u inputs)";
        case EMLML_E_TREE_LEAF: return "tree %u node %u: leaf index %u out of range";
        case EMLML_E_TREE_LEAF_CHILD: return "tree %u node %u: leaf with a child offset";
        case EMLML_E_TREE_VOTE: return "leaf vector %u: vote %u above the scale %u";
        case EMLML_E_KNN_K_RANGE: return "k %u out of range (1..1024)";
        case EMLML_E_KNN_K_SAMPLES: return "k %u larger than the %u samples";
        case EMLML_E_KNN_METRIC: return "unknown kNN metric %u";
        case EMLML_E_KNN_WEIGHTS: return "unknown kNN weights %u";
        case EMLML_E_KNN_SAMPLE_TYPE: return "unknown kNN sample type %u";
        case EMLML_E_KNN_RESERVED: return "reserved byte of KNN_PARAMS is not zero";
        case EMLML_E_KNN_CLASS: return "sample %u: class index %u out of range";
        case EMLML_E_KNN_NONFINITE: return "sample %u feature %u is not finite";
        case EMLML_E_KNN_QUANT_NONFINITE: return "feature %u: scale or offset is not finite";
        case EMLML_E_INPUT_NONFINITE: return "input %u is NaN or infinite";
        case EMLML_STATUS_COUNT: break;
    }
    return "unknown error %u";
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

size_t emlml_format(char *buf, size_t n, const char *fmt, uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
    const uint32_t args[4] = {a, b, c, d};
    unsigned next = 0;
    size_t pos = 0;
    if (n == 0) {
        return 0;
    }
    for (const char *p = fmt; *p != '\0'; p++) {
        if (p[0] == '%' && (p[1] == 'u' || p[1] == 'c') && next < 4) {
            uint32_t v = args[next++];
            if (p[1] == 'u') {
                put_uint(buf, n, &pos, v);
            } else {
                char ch = (char)(v & 0x7Fu);
                put_chars(buf, n, &pos, &ch, 1);
            }
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
