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

// Boosting (trees/emlml_boost.c): signed binary64 sums of leaf values, as the
// libraries add them in double, on any board.
#define F64_SIGN ((uint64_t)1 << 63)

// |a| - |b| for |a| >= |b| > 0, rounded to nearest even. With the two guard bits and the
// sticky bit below the significand, one normalising shift at most loses nothing when
// the exponents differ by 2 or more; when they differ by 0 or 1 nothing was shifted out
// and the difference is exact.
static uint64_t f64_sub_magnitudes(uint64_t a, uint64_t b) {
    int32_t ea, eb;
    uint64_t ma = f64_unpack(a, &ea) << 3;
    uint64_t mb = f64_unpack(b, &eb) << 3;
    uint64_t m = ma - shift_right_sticky(mb, (uint32_t)(ea - eb));
    if (m == 0) {
        return 0;  // x - x is +0 when rounding to nearest
    }
    while (m < (F64_HIDDEN << 3) && ea > 1) {
        m <<= 1;
        ea--;
    }
    return round_pack(ea, m);
}

uint64_t emlml_f64_add_signed(uint64_t a, uint64_t b) {
    uint64_t sign_a = a & F64_SIGN, sign_b = b & F64_SIGN;
    uint64_t mag_a = a & ~F64_SIGN, mag_b = b & ~F64_SIGN;
    if (mag_a < mag_b) {  // magnitudes order as their bit patterns: a is the larger
        uint64_t t = mag_a;
        mag_a = mag_b;
        mag_b = t;
        t = sign_a;
        sign_a = sign_b;
        sign_b = t;
    }
    if (mag_a == 0) {
        return sign_a & sign_b;  // -0 only when both are -0
    }
    if (sign_a == sign_b) {
        return sign_a | emlml_f64_add(mag_a, mag_b);
    }
    if (mag_b == 0) {
        return sign_a | mag_a;
    }
    uint64_t diff = f64_sub_magnitudes(mag_a, mag_b);
    return diff == 0 ? 0 : (sign_a | diff);
}

uint64_t emlml_f64_from_f32(uint32_t bits) {
    uint64_t sign = (uint64_t)(bits >> 31) << 63;
    uint32_t e = (bits >> 23) & 0xFFu;
    uint32_t frac = bits & 0x7FFFFFu;
    if (e == 0) {
        if (frac == 0) {
            return sign;
        }
        uint32_t shift = 24u - bit_length(frac);  // normalise a subnormal
        frac = (frac << shift) & 0x7FFFFFu;
        return sign | ((uint64_t)(1023u - 126u - shift) << 52) | ((uint64_t)frac << 29);
    }
    if (e == 0xFFu) {
        return sign | F64_INF | ((uint64_t)frac << 29);
    }
    return sign | ((uint64_t)(e + 1023u - 127u) << 52) | ((uint64_t)frac << 29);
}

uint32_t emlml_f64_to_f32(uint64_t x) {
    uint32_t sign = (uint32_t)(x >> 63) << 31;
    int32_t e = (int32_t)((x >> 52) & 0x7FFu);
    uint64_t frac = x & F64_FRAC;
    if (e == 0x7FF) {
        return sign | 0x7F800000u | (frac != 0 ? 0x400000u : 0u);
    }
    if (e == 0 && frac == 0) {
        return sign;
    }
    // m * 2^(e - 1075) with the hidden bit; float32 keeps 24 bits (fewer if subnormal)
    uint64_t m = e == 0 ? frac : (frac | F64_HIDDEN);
    int32_t e32 = (e == 0 ? 1 : e) - 1023 + 127;  // the float32 biased exponent
    // bits to drop: 29 for a normal result, more when the result is subnormal (e32 < 1)
    uint32_t drop = 29u + (e32 < 1 ? (uint32_t)(1 - e32) : 0u);
    if (drop > 60u) {
        return sign;  // far below the smallest subnormal: rounds to zero
    }
    uint64_t kept = m >> drop;
    uint64_t rest = m & (((uint64_t)1 << drop) - 1u);
    uint64_t half = (uint64_t)1 << (drop - 1u);
    if (rest > half || (rest == half && (kept & 1u) != 0)) {
        kept++;
    }
    // a normal e32 >= 1: the hidden bit in kept carries into the exponent field
    uint64_t packed = e32 < 1 ? kept : ((uint64_t)(uint32_t)(e32 - 1) << 23) + kept;
    if (packed >= 0x7F800000u) {
        return sign | 0x7F800000u;
    }
    return sign | (uint32_t)packed;
}

// exp(x) in float32 arithmetic with a fixed sequence of operations (runtime/boost.py
// repeats it): x = k ln2 + r, |r| <= ln2 / 2, e^r by a degree-7 Taylor polynomial
// (relative error below 2^-23), times 2^k built from bits. Within an ulp or two of the
// true value; x is clamped to [-103, 88] (results 0 .. 1.7e38); NaN (the softmax of
// infinite scores) stays NaN.
float emlml_expf(float x) {
    if (x != x) {
        return x;
    }
    if (x < -103.0f) {
        return 0.0f;
    }
    if (x > 88.0f) {
        x = 88.0f;
    }
    float t = x * 1.44269502f;
    // round half away from zero: +-0.5 with t's sign, made from bits (LLVM 22 cannot
    // select between two float constants for the ESP32, DESIGN.md)
    float half = emlml_f32_from_bits(0x3F000000u | (emlml_f32_bits(t) & 0x80000000u));
    int32_t k = (int32_t)(t + half);
    float kf = (float)k;
    float r = (x - kf * 0.693145752f) - kf * 1.42860677e-06f;  // ln2 in two parts
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    if (k < -100) {  // 2^k is subnormal: scale in two steps
        p *= emlml_f32_from_bits(0x0D800000u);  // 2^-100
        k += 100;
    }
    return p * emlml_f32_from_bits((uint32_t)(k + 127) << 23);
}
