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
