// The one math function the core needs, without libm (a native .mpy cannot link it).
#include "emlml_internal.h"

// floor(sqrt(n)), digit by digit.
static uint64_t isqrt64(uint64_t n) {
    uint64_t root = 0;
    uint64_t bit = (uint64_t)1 << 62;
    while (bit > n) {
        bit >>= 2;
    }
    while (bit != 0) {
        if (n >= root + bit) {
            n -= root + bit;
            root = (root >> 1) + bit;
        } else {
            root >>= 1;
        }
        bit >>= 2;
    }
    return root;
}

// Correctly rounded sqrt for finite x >= 0 in integer arithmetic. The square root of a
// float32 is never exactly half-way between two float32 values, so rounding to
// nearest only needs the first bit below the kept 24.
float emlml_sqrtf_soft(float x) {
    uint32_t bits = emlml_f32_bits(x);
    if (bits == 0 || bits >= 0x7F800000u) {
        return x;  // +0, +inf; NaN and negatives never reach here (distances are >= 0)
    }
    int32_t exponent = (int32_t)(bits >> 23);
    uint32_t mantissa = bits & 0x7FFFFFu;
    if (exponent == 0) {  // subnormal: normalise
        exponent = 1;
        while ((mantissa & 0x800000u) == 0) {
            mantissa <<= 1;
            exponent--;
        }
    } else {
        mantissa |= 0x800000u;
    }
    // x = mantissa * 2^p with p made even so that sqrt(x) = sqrt(m) * 2^(p/2)
    int32_t p = exponent - 150;
    uint64_t m = mantissa;
    if ((p & 1) != 0) {
        m <<= 1;
        p -= 1;
    }
    m <<= 26;  // sqrt then has 25 or 26 bits: 24 kept, one to round with
    p -= 26;
    uint64_t root = isqrt64(m);
    int32_t q = p / 2;
    while (root >= ((uint64_t)1 << 25)) {
        root >>= 1;
        q++;
    }
    uint32_t kept = (uint32_t)(root >> 1) + (uint32_t)(root & 1u);
    q++;
    if (kept == (1u << 24)) {
        kept >>= 1;
        q++;
    }
    uint32_t biased = (uint32_t)(q + 150);
    return emlml_f32_from_bits((biased << 23) | (kept & 0x7FFFFFu));
}

float emlml_sqrtf(float x) {
#if defined(__SSE2__) || (defined(__ARM_FP) && (__ARM_FP & 4))
    return __builtin_sqrtf(x);  // one instruction with -fno-math-errno
#else
    return emlml_sqrtf_soft(x);
#endif
}

// Binary64 on bit patterns (emlml_internal.h): the tree classifiers' tie replay.
// Values are m * 2^(e - 1078) with a 56-bit m whose bit 55 is the hidden bit of a
// normal number and whose 3 lowest bits are guard, round and sticky.
#define F64_FRAC ((uint64_t)0xFFFFFFFFFFFFFu)
#define F64_HIDDEN ((uint64_t)1 << 52)
#define F64_INF ((uint64_t)0x7FF << 52)

// The number of bits of x > 0 (one instruction where the CPU has a count of leading
// zeros; libgcc's __clzsi2 on a Cortex-M0; a short bit sequence from LLVM on the ESP32).
static uint32_t bit_length(uint32_t x) {
#if defined(__GNUC__)
    return 32u - (uint32_t)__builtin_clz(x);
#else
    uint32_t n = 0;
    while (x != 0) {
        x >>= 1;
        n++;
    }
    return n;
#endif
}

// x >> d with every bit shifted out ORed into bit 0 (sticky).
static uint64_t shift_right_sticky(uint64_t x, uint32_t d) {
    if (d == 0) {
        return x;
    }
    if (d > 60u) {
        return x != 0;
    }
    return (x >> d) | ((x & (((uint64_t)1 << d) - 1u)) != 0);
}

// Round m (hidden bit at 55, or a subnormal's m below it with e == 1) to 53 bits, to
// nearest with ties to even, and pack. Adding the significand with its hidden bit to
// (e - 1) << 52 puts the hidden bit into the exponent; a carry out of the rounding
// moves to the next binade (and to infinity from the largest).
static uint64_t round_pack(int32_t e, uint64_t m) {
    uint64_t kept = m >> 3;
    uint32_t low = (uint32_t)(m & 7u);
    if (low > 4u || (low == 4u && (kept & 1u) != 0)) {
        kept++;
    }
    if (e >= 2047) {
        return F64_INF;
    }
    return ((uint64_t)(uint32_t)(e - 1) << 52) + kept;
}

// The significand with its hidden bit, and the exponent (a subnormal's is 1).
static uint64_t f64_unpack(uint64_t x, int32_t *e) {
    *e = (int32_t)(x >> 52);
    if (*e == 0) {
        *e = 1;
        return x & F64_FRAC;
    }
    return (x & F64_FRAC) | F64_HIDDEN;
}

uint64_t emlml_f64_add(uint64_t a, uint64_t b) {
    if (a < b) {  // for values >= +0 the bit patterns order as the values: a is the larger
        uint64_t t = a;
        a = b;
        b = t;
    }
    if (b == 0) {
        return a;
    }
    int32_t ea, eb;
    uint64_t ma = f64_unpack(a, &ea) << 3;
    uint64_t mb = f64_unpack(b, &eb) << 3;
    uint64_t m = ma + shift_right_sticky(mb, (uint32_t)(ea - eb));
    if (m >= (F64_HIDDEN << 4)) {  // the sum reached the next binade
        m = (m >> 1) | (m & 1u);
        ea++;
    }
    return round_pack(ea, m);
}

uint64_t emlml_f64_div_u32(uint64_t a, uint32_t n) {
    if (a == 0) {
        return 0;
    }
    int32_t e;
    uint64_t m = f64_unpack(a, &e);
    while ((m & F64_HIDDEN) == 0) {  // subnormal: normalise
        m <<= 1;
        e--;
    }
    // d = n * 2^s with d <= m < 2 * d, so that m / d is in [1, 2): n's top bit goes to
    // m's (bit 52), one lower if n is then above m.
    int32_t s = 53 - (int32_t)bit_length(n);
    uint64_t d = (uint64_t)n << s;
    if (d > m) {
        d >>= 1;
        s--;
    }
    // 56 quotient bits by restoring long division (the remainder stays below 2 * d <
    // 2^54); a non-zero remainder is sticky. a / n = q * 2^(e + s - 52 - 1078).
    uint64_t q = 0;
    for (int i = 0; i < 56; i++) {
        q <<= 1;
        if (m >= d) {
            m -= d;
            q |= 1u;
        }
        m <<= 1;
    }
    q |= m != 0;
    int32_t exponent = e + s - 52;
    if (exponent < 1) {  // subnormal result
        q = shift_right_sticky(q, (uint32_t)(1 - exponent));
        exponent = 1;
    }
    return round_pack(exponent, q);
}

uint64_t emlml_f64_from_u32(uint32_t k) {
    if (k == 0) {
        return 0;
    }
    uint32_t e = bit_length(k) - 1u;
    // k = 2^e * (1 + fraction): the 52-bit fraction holds k's bits below its top one.
    return ((uint64_t)(1023u + e) << 52) | (((uint64_t)k << (52u - e)) & F64_FRAC);
}
