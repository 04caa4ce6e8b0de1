// Runtime helpers that a compiler calls by itself, for native .mpy builds that link no
// libgcc and no libc: the ESP32 (xtensawin) module built with LLVM. Espressif's GCC
// brings its own libgcc; Debian's LLVM brings none for Xtensa, and the 1.23 mpy_ld
// cannot link an archive anyway.
//
// What LLVM 22 calls for the ESP32 CPU (-mcpu=esp32, hardware single-precision float):
//   __divsf3  the ESP32's FPU has no divide instruction (only the steps of a Newton
//             sequence), so float division is a call (trees, kNN, CNN)
//   memcpy    struct copies in the binding become calls, even with -ffreestanding
// and what GCC calls besides: memset for zero-initialised locals and arrays.
// sqrtf is not called: emlml_sqrtf uses its integer version on this CPU.
//
// Built for the ESP32 the helpers have the names the compiler calls. Built for the
// host (tests_host/test_xtensa_helpers.py) they have an emlml_rt_ prefix, so that the
// test compares them with the host's own division and libc without replacing them.
#include <stddef.h>
#include <stdint.h>

#if defined(__xtensa__)
#define EMLML_RT(name) name
#else
#define EMLML_RT(name) emlml_rt_##name
#endif

// Prototypes: these names are called by the compiler, never by the project's C.
void *EMLML_RT(memcpy)(void *dst, const void *src, size_t n);
void *EMLML_RT(memset)(void *dst, int c, size_t n);
float EMLML_RT(__divsf3)(float a, float b);

// Byte loops: the copies are small (a few struct fields, a model's arena header), and
// a byte loop needs no alignment. LLVM never turns a loop inside a function named
// memcpy or memset into a call to itself.
void *EMLML_RT(memcpy)(void *dst, const void *src, size_t n) {
    uint8_t *d = dst;
    const uint8_t *s = src;
    while (n--) {
        *d++ = *s++;
    }
    return dst;
}

void *EMLML_RT(memset)(void *dst, int c, size_t n) {
    uint8_t *d = dst;
    while (n--) {
        *d++ = (uint8_t)c;
    }
    return dst;
}

// float <-> bits through a union (C99 allows reading the member not last written).
typedef union {
    float f;
    uint32_t u;
} rt_f32_t;

#define F32_SIGN 0x80000000u
#define F32_INF 0x7F800000u
#define F32_QUIET 0x00400000u
#define F32_HIDDEN 0x00800000u
#define F32_FRAC 0x007FFFFFu
// The NaN an invalid operation makes (0/0, inf/inf): the "default NaN" of x86 SSE,
// negative and quiet. Together with the propagation rule below (the first operand's
// NaN wins, quietened) the helper gives the same bits as the host's divss in every
// case, so the host tests can compare bit patterns and a model's outputs on the ESP32
// are the same bits as the host reference's.
#define F32_DEFAULT_NAN 0xFFC00000u

// Significand with its hidden bit (normals) or shifted up until bit 23 is set
// (subnormals), and the exponent that goes with it (the subnormals' exponent is 1 less
// per shift). x must be finite and non-zero.
static uint32_t rt_unpack(uint32_t x, int32_t *exponent) {
    int32_t e = (int32_t)((x >> 23) & 0xFFu);
    uint32_t m = x & F32_FRAC;
    if (e == 0) {
        e = 1;
        while ((m & F32_HIDDEN) == 0) {
            m <<= 1;
            e--;
        }
    } else {
        m |= F32_HIDDEN;
    }
    *exponent = e;
    return m;
}

// IEEE 754 binary32 division, rounded to nearest with ties to even, with subnormal
// inputs and outputs (no flush to zero), in 32-bit integer arithmetic only (a 64-bit
// division would be another helper call).
float EMLML_RT(__divsf3)(float a, float b) {
    rt_f32_t ua = {a};
    rt_f32_t ub = {b};
    rt_f32_t r;
    uint32_t sign = (ua.u ^ ub.u) & F32_SIGN;
    uint32_t abs_a = ua.u & ~F32_SIGN;
    uint32_t abs_b = ub.u & ~F32_SIGN;

    // NaN, infinity and zero operands, in the order of IEEE 754 and x86 SSE.
    if (abs_a > F32_INF) {
        r.u = ua.u | F32_QUIET;
        return r.f;
    }
    if (abs_b > F32_INF) {
        r.u = ub.u | F32_QUIET;
        return r.f;
    }
    if (abs_a == F32_INF) {
        r.u = abs_b == F32_INF ? F32_DEFAULT_NAN : (sign | F32_INF);
        return r.f;
    }
    if (abs_b == F32_INF) {
        r.u = sign;  // finite / inf = signed zero
        return r.f;
    }
    if (abs_a == 0) {
        r.u = abs_b == 0 ? F32_DEFAULT_NAN : sign;
        return r.f;
    }
    if (abs_b == 0) {
        r.u = sign | F32_INF;  // division by zero
        return r.f;
    }

    // a = ma * 2^(ea - 150), b = mb * 2^(eb - 150), ma and mb in [2^23, 2^24).
    int32_t ea;
    int32_t eb;
    uint32_t ma = rt_unpack(abs_a, &ea);
    uint32_t mb = rt_unpack(abs_b, &eb);
    // Biased exponent of the quotient when ma/mb is in [1, 2); if ma < mb the
    // significand is doubled first (ma < 2^25: no overflow below).
    int32_t e = ea - eb + 127;
    if (ma < mb) {
        ma <<= 1;
        e--;
    }

    // 25 quotient bits of ma/mb by restoring long division (the remainder stays below
    // 2*mb < 2^25): the 24 of the significand and one to round with; a non-zero
    // remainder is the sticky bit.
    uint32_t q = 0;
    uint32_t rem = ma;
    for (int i = 0; i < 25; i++) {
        q <<= 1;
        if (rem >= mb) {
            rem -= mb;
            q |= 1u;
        }
        rem <<= 1;
    }
    uint32_t sticky = rem != 0;

    if (e >= 255) {
        r.u = sign | F32_INF;  // overflow, before rounding already
        return r.f;
    }
    if (e <= 0) {
        // Subnormal result: 1 - e more bits go below the significand. From 25 on
        // every bit is below the rounding bit, and the quotient rounds to zero.
        uint32_t shift = (uint32_t)(1 - e);
        if (shift > 25u) {
            shift = 25u;
        }
        sticky |= (q & ((1u << shift) - 1u)) != 0;
        q >>= shift;
        e = 0;
    }
    uint32_t kept = q >> 1;
    if ((q & 1u) != 0 && (sticky != 0 || (kept & 1u) != 0)) {
        kept++;
    }
    // Adding the significand with its hidden bit to (e - 1) << 23 puts the hidden bit
    // into the exponent; a carry out of the rounding moves to the next binade, and to
    // infinity from the largest. A subnormal (e = 0) has no hidden bit: kept alone, and
    // a carry into bit 23 is the smallest normal.
    r.u = sign | (e == 0 ? kept : ((uint32_t)(e - 1) << 23) + kept);
    return r.f;
}
