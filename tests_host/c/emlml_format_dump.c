// Prints the core's messages, for tests_host/test_c_tables.py to compare with the Python
// port of the formatter (py_tools/emlml_tools/format/c_format.py):
//
//   emlml_format_dump [-n SIZE] A B C D              every status 0..EMLML_STATUS_COUNT
//                                                    (the last is out of range) with args A..D
//   emlml_format_dump [-n SIZE] -f TEMPLATE A B C D  emlml_format of one template
//
// SIZE is the buffer size handed to the formatter (default 256: no truncation). One line
// per message; a byte outside printable ASCII, and the backslash, is written as \xHH so
// that any %c argument keeps the line structure.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emlml.h"

enum { BUF_MAX = 256 };

static void print_escaped(const char *s, size_t len) {
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20u || ch > 0x7Eu || ch == '\\') {
            printf("\\x%02x", ch);
        } else {
            putchar(ch);
        }
    }
    putchar('\n');
}

// An argument in decimal or 0x hex; the full uint32 range (strtoul, then checked).
static int parse_u32(const char *text, uint32_t *out) {
    char *end = NULL;
    unsigned long v = strtoul(text, &end, 0);
    if (end == text || *end != '\0' || v > 0xFFFFFFFFul) {
        return 0;
    }
    *out = (uint32_t)v;
    return 1;
}

static int usage(void) {
    fprintf(stderr, "usage: emlml_format_dump [-n SIZE] [-f TEMPLATE] A B C D\n");
    return 2;
}

int main(int argc, char **argv) {
    uint32_t size = BUF_MAX, args[4];
    const char *tmpl = NULL;
    int i = 1;
    for (; i + 1 < argc && argv[i][0] == '-' && argv[i][1] != '\0' && argv[i][2] == '\0'; i += 2) {
        if (argv[i][1] == 'n' && parse_u32(argv[i + 1], &size) && size <= BUF_MAX) {
            continue;
        }
        if (argv[i][1] != 'f') {
            return usage();
        }
        tmpl = argv[i + 1];
    }
    if (argc - i != 4) {
        return usage();
    }
    for (int k = 0; k < 4; k++) {
        if (!parse_u32(argv[i + k], &args[k])) {
            return usage();
        }
    }
    char buf[BUF_MAX];
    if (tmpl != NULL) {
        print_escaped(buf, emlml_format(buf, size, tmpl, args[0], args[1], args[2], args[3]));
        return 0;
    }
    for (int s = 0; s <= (int)EMLML_STATUS_COUNT; s++) {
        emlml_error_t err = {(emlml_status_t)s, args[0], args[1], args[2], args[3]};
        print_escaped(buf, emlml_error_format(&err, buf, size));
    }
    return 0;
}
