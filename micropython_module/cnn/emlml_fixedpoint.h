// Fixed-point helpers of TFLite's int8 kernels (docs/FORMAT.md, int8 CNN, Arithmetic),
// written from the documented math of gemmlowp's fixed-point library and TFLite's
// common.h, bit for bit. A raw int32 `Qm.n` value x stands for x / 2^n (m integer
// bits, n = 31 - m fractional bits).
//
// No undefined behaviour for any argument: TFLite's arithmetic right shift of a
// negative value, its wrapping int32 products and sums, and its shifts by 31 are done
// here through unsigned and 64-bit operations that give the same bits.
#ifndef EMLML_FIXEDPOINT_H
#define EMLML_FIXEDPOINT_H

#include <stdint.h>

// The int32 with the bits of u (two's complement), without implementation-defined
// conversion. Compiles to nothing.
static inline int32_t emlml_i32_from_bits(uint32_t u) {
    return u <= 0x7FFFFFFFu ? (int32_t)u : -(int32_t)(~u) - 1;
}

// a + b and a - b wrapping modulo 2^32, as int32 arithmetic does on every target.
static inline int32_t emlml_wrap_add(int32_t a, int32_t b) {
    return emlml_i32_from_bits((uint32_t)a + (uint32_t)b);
}

static inline int32_t emlml_wrap_sub(int32_t a, int32_t b) {
    return emlml_i32_from_bits((uint32_t)a - (uint32_t)b);
}

// x * 2^e wrapping modulo 2^32 (0 <= e <= 31), as TFLite's `x * (1 << e)`.
static inline int32_t emlml_wrap_shl(int32_t x, int e) {
    return emlml_i32_from_bits((uint32_t)x << e);
}

// floor(x / 2^e) for 0 <= e <= 31: the arithmetic right shift.
static inline int32_t emlml_asr(int32_t x, int e) {
    return x >= 0 ? x >> e : ~(~x >> e);
}

// SaturatingRoundingDoublingHighMul: round(a * b / 2^31), halves away from zero, with
// the one overflowing case (-1 * -1 in Q0.31) saturated.
static inline int32_t emlml_srdhm(int32_t a, int32_t b) {
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    // gemmlowp adds 2^30 to a positive product and 1 - 2^30 to a negative one, then
    // truncates toward zero: both are floor((a * b + 2^30) / 2^31) (for a negative
    // sum, truncation is ceil(s / 2^31) = floor((s + 2^31 - 1) / 2^31)). So no branch on
    // the sign: one 64-bit add and a shift (half the instructions after the multiply
    // on a Cortex-M0). The shift is done on the unsigned bits (>> of a negative int64
    // is implementation-defined); its low 32 bits are the floor's, which fits int32.
    uint64_t x = (uint64_t)((int64_t)a * b) + ((uint64_t)1 << 30);
    return emlml_i32_from_bits((uint32_t)(x >> 31));
}

// emlml_srdhm(a, m) for a multiplier m in [0, 2^31) (every conv and depthwise
// multiplier: 0 or in [2^30, 2^31), checked at load), from 32-bit multiplies alone:
// where a 64-bit product is a library call (Cortex-M0: __aeabi_lmul, about 45
// instructions), four 16 x 16-bit products cost a third of it. The same bits: the
// 64-bit two's complement of a * m + 2^30 is built in two words (hi, lo), and bits
// 31..62 of it are the floor that emlml_srdhm returns; m >= 0 cannot saturate.
//
// An accumulator in [-2^15, 2^15) (most of them: a layer's outputs span int8 when its
// sums span about 128 / scale) takes two products: with m = mh * 2^16 + ml,
// floor((a * m + 2^30) / 2^31) = floor((a * mh + floor(a * ml / 2^16) + 2^14) / 2^15)
// (2^30 is a multiple of 2^16, and nested floors of divisions by powers of two are one
// floor), where |a * ml| < 2^31 and |a * mh| < 2^30: no product or sum overflows.
static inline int32_t emlml_srdhm_by_multiplier(int32_t a, int32_t m) {
    if ((uint32_t)a + 0x8000u < 0x10000u) {
        const int32_t mh = m >> 16, ml = m & 0xFFFF;
        return emlml_asr(a * mh + emlml_asr(a * ml, 16) + (1 << 14), 15);
    }
    const uint32_t ua = (uint32_t)a, um = (uint32_t)m;
    const uint32_t al = ua & 0xFFFFu, ah = ua >> 16, ml = um & 0xFFFFu, mh = um >> 16;
    // ua * um (unsigned) = hh * 2^32 + (lh + hl) * 2^16 + ll, each product < 2^32
    const uint32_t ll = al * ml, lh = al * mh, hl = ah * ml, hh = ah * mh;
    const uint32_t mid = lh + hl;                       // may wrap: its carry is 2^48
    uint32_t lo = ll + (mid << 16);
    uint32_t hi = hh + (mid >> 16) + (mid < lh ? 0x10000u : 0u) + (lo < ll ? 1u : 0u);
    hi -= um & (0u - (ua >> 31));                       // a < 0: ua = a + 2^32
    const uint32_t nudged = lo + (1u << 30);
    hi += nudged < lo ? 1u : 0u;
    return emlml_i32_from_bits((hi << 1) | (nudged >> 31));
}

// emlml_srdhm(a, m) for m >= 0 from the two words of the 64-bit product a * m: hi its
// signed high word (Xtensa MULSH), lo its low word (MULL). 2^31 divides hi * 2^32, so
// floor((a * m + 2^30) / 2^31) = 2 * hi + floor((lo + 2^30) / 2^31), and the second
// term, in {0, 1, 2}, is ((lo >> 1) + 2^29) >> 30 (lo's low bit never reaches a
// multiple of 2^30): no 64-bit addition and no carry test (the ESP32 has no
// set-on-carry instruction: the 64-bit sum took a branch per output). The low 32 bits
// of the floor, as emlml_srdhm; m >= 0 cannot saturate.
static inline int32_t emlml_srdhm_from_halves(uint32_t hi, uint32_t lo) {
    return emlml_i32_from_bits(2u * hi + (((lo >> 1) + (1u << 29)) >> 30));
}

// emlml_srdhm_from_halves with its rounding term taken as lo's bit 31 plus its bit 30:
// floor((t + 2^29) / 2^30) for t = lo >> 1 is t's bits 31-30 plus the carry of its bit
// 29 (no constant: the C model of the ESP32 requantize loop in emlml_cnn.c).
static inline int32_t emlml_srdhm_from_halves_bits(uint32_t hi, uint32_t lo) {
    return emlml_i32_from_bits(2u * hi + (lo >> 31) + ((lo >> 30) & 1u));
}

static inline int32_t emlml_srdhm_by_halves(int32_t a, int32_t m) {
    const int64_t product = (int64_t)a * m;
    return emlml_srdhm_from_halves((uint32_t)((uint64_t)product >> 32), (uint32_t)(uint64_t)product);
}

// RoundingDivideByPOT: x / 2^e rounded to nearest, halves away from zero (0 <= e <= 31).
// Rounds up when the remainder exceeds the threshold (half, or half plus one for a
// negative x): both are below 2^31, so threshold - remainder wraps past 2^31 exactly
// then, and its top bit is the carry (no compare and branch).
static inline int32_t emlml_rdbpot(int32_t x, int e) {
    const uint32_t mask = (1u << e) - 1u;
    const uint32_t remainder = (uint32_t)x & mask;
    const uint32_t threshold = (mask >> 1) + ((uint32_t)x >> 31);
    uint32_t difference = threshold - remainder;
#if defined(__XTENSA__)
    // LLVM turns the top bit of a difference back into a compare, which the ESP32 (no
    // set-on-compare) does with a branch per value: hide the difference from it.
    __asm__("" : "+r"(difference));
#endif
    return emlml_asr(x, e) + (int32_t)(difference >> 31);
}

// SaturatingRoundingMultiplyByPOT with a positive exponent: x * 2^e, saturated to
// the int32 range (1 <= e <= 30).
static inline int32_t emlml_saturating_shl(int32_t x, int e) {
    int32_t threshold = (int32_t)((1u << (31 - e)) - 1u);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return emlml_wrap_shl(x, e);
}

// MultiplyByQuantizedMultiplier (TFLite's double rounding): x * m / 2^31 * 2^s with
// m in [2^30, 2^31) (or 0) and -31 <= s <= 30; the left shift wraps as in TFLite.
static inline int32_t emlml_mbqm(int32_t x, int32_t multiplier, int32_t shift) {
    int left = shift > 0 ? (int)shift : 0;
    int right = shift > 0 ? 0 : (int)-shift;
    return emlml_rdbpot(emlml_srdhm(emlml_wrap_shl(x, left), multiplier), right);
}

// emlml_mbqm for the multipliers of conv and depthwise (in [0, 2^31)), the same bits:
// on Thumb-1 (Cortex-M0/M0+, no 32 x 32 -> 64 multiply instruction) through
// emlml_srdhm_by_multiplier; elsewhere emlml_srdhm's 64-bit product without its
// saturation test (a multiplier >= 0 never saturates).
static inline int32_t emlml_mbqm_by_multiplier(int32_t x, int32_t multiplier, int32_t shift) {
    const int left = shift > 0 ? (int)shift : 0;
    const int right = left - (int)shift;  // -shift when shift <= 0
    x = emlml_wrap_shl(x, left);
#if defined(__thumb__) && !defined(__thumb2__)
    int32_t high = emlml_srdhm_by_multiplier(x, multiplier);
#elif defined(__XTENSA__)
    int32_t high = emlml_srdhm_by_halves(x, multiplier);  // MULSH, MULL and 4 more
#else
    int32_t high = emlml_i32_from_bits((uint32_t)(((uint64_t)((int64_t)x * multiplier) + ((uint64_t)1 << 30)) >> 31));
#endif
    return emlml_rdbpot(high, right);
}

// emlml_mbqm_by_multiplier(x, multiplier, -right) for x in [-2^16, 2^16), right in
// [0, 31] and a multiplier in [0, 2^31), step by step as the Cortex-M0 assembly of
// emlml_cnn.c (requantize_short) computes it: the two-product SRDHM of
// emlml_srdhm_by_multiplier, then RDBPOT's round-up from the top bit of threshold -
// remainder. Outside [-2^15, 2^15) x * ml may pass 2^31: there ml = 2 * (ml >> 1) +
// (ml & 1) and floor(x * ml / 2^16) = floor((x * (ml >> 1) + (ml & 1) * floor(x / 2)) /
// 2^15) (nested floors), whose terms and sum stay inside int32 (|x * (ml >> 1)| <=
// 2^31 - 2^16), as does x * mh + that + 2^14 for x in [-2^16, 2^16). Its C model:
// tests_host/c/test_fixedpoint.c checks it against emlml_mbqm.
static inline int32_t emlml_mbqm_short(int32_t x, int32_t multiplier, int right) {
    const int32_t mh = multiplier >> 16, ml = multiplier & 0xFFFF;
    const int32_t low = (uint32_t)x + 0x8000u < 0x10000u
                            ? emlml_asr(x * ml, 16)
                            : emlml_asr(x * (ml >> 1) + (emlml_asr(x, 1) & -(ml & 1)), 15);
    const int32_t high = emlml_asr(x * mh + low + (1 << 14), 15);
    const uint32_t mask = (1u << right) - 1u;
    const uint32_t up = ((mask >> 1) - ((uint32_t)high & mask) + ((uint32_t)high >> 31)) >> 31;
    return emlml_asr(high, right) + (int32_t)up;
}

// SMMULR (Cortex-M4/M7/M33 DSP): the high word of a * b + 2^31, floor((a * b + 2^31) /
// 2^32), one instruction there; elsewhere the same value in 64-bit C (the model that
// tests_host/c/test_fixedpoint.c checks on the host).
static inline int32_t emlml_smmulr(int32_t a, int32_t b) {
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    int32_t r;
    __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
#else
    return emlml_i32_from_bits((uint32_t)(((uint64_t)((int64_t)a * b) + ((uint64_t)1 << 31)) >> 32));
#endif
}

// emlml_rdbpot(h, e) for h in (-2^30, 2^30), 0 <= e <= 31, without the mask and the
// threshold. Halves away from zero: floor((h + 2^(e-1)) / 2^e) for h >= 0 and
// floor((h + 2^(e-1) - 1/2) / 2^e) for h < 0, i.e. floor((u + 2^e) / 2^(e+1)) with
// u = 2h - [h < 0] (u = 2h + (h >> 31), no overflow for |h| < 2^30), which as nested
// floors of divisions by powers of two is ((u >> e) + 1) >> 1 (no sum past int32 for
// any e: e = 0 included, where it gives h back).
static inline int32_t emlml_rdbpot_small(int32_t h, int e) {
    const int32_t u = emlml_wrap_add(emlml_wrap_shl(h, 1), emlml_asr(h, 31));
    return emlml_asr(emlml_asr(u, e) + 1, 1);
}

// emlml_mbqm_by_multiplier (m in [0, 2^31), -31 <= shift <= 30), the same bits, in the
// Cortex-M4's few instructions, for x with x * 2^left in [-2^30, 2^30)
// (emlml_mbqm_fits_small; nearly every accumulator of a real network): there
// SRDHM(x, m) = floor((x * m + 2^30) / 2^31) = floor((2x * m + 2^31) / 2^32) =
// SMMULR(2x, m) (2x fits int32), whose result lies in (-2^30, 2^30) (m < 2^31), so
// emlml_rdbpot_small applies.
static inline int emlml_mbqm_fits_small(int32_t x, int32_t shift) {
    const int left = shift > 0 ? (int)shift : 0;
    return (uint32_t)emlml_wrap_shl(x, left) + 0x40000000u < 0x80000000u;
}

static inline int32_t emlml_mbqm_small(int32_t x, int32_t multiplier, int32_t shift) {
    const int left = shift > 0 ? (int)shift : 0;
    const int right = left - (int)shift;
    return emlml_rdbpot_small(emlml_smmulr(emlml_wrap_shl(x, left) * 2, multiplier), right);
}

// Number of leading zero bits of a 32-bit value (32 for 0).
static inline int emlml_clz32(uint32_t x) {
    int n = 0;
    if (x == 0) {
        return 32;
    }
    while ((x & 0x80000000u) == 0) {
        x <<= 1;
        n++;
    }
    return n;
}

// exp(a) for a in [-1/4, 0), Q0.31 in and out: the Taylor series around -1/8 to the
// fourth power, as gemmlowp's exp_on_interval_between_negative_one_quarter_and_0_excl.
static inline int32_t emlml_exp_on_interval_minus_quarter_to_zero(int32_t a) {
    const int32_t exp_minus_one_eighth = 1895147668;  // round(exp(-1/8) * 2^31)
    const int32_t one_third = 715827883;              // round(1/3 * 2^31)
    int32_t x = a + (1 << 28);                        // x = a + 1/8, in [-1/8, 1/8)
    int32_t x2 = emlml_srdhm(x, x);
    int32_t x3 = emlml_srdhm(x2, x);
    int32_t x4 = emlml_srdhm(x2, x2);
    int32_t x4_over_4 = emlml_rdbpot(x4, 2);
    // x^4/24 + x^3/6 + x^2/2 = ((x^4/4 + x^3) / 3 + x^2) / 2
    int32_t higher_terms = emlml_rdbpot(emlml_srdhm(x4_over_4 + x3, one_third) + x2, 1);
    return exp_minus_one_eighth + emlml_srdhm(exp_minus_one_eighth, x + higher_terms);
}

// exp(a) for a <= 0: a in Q5.26, the result in Q0.31 (gemmlowp's
// exp_on_negative_values for 5 integer bits). a = r - n/4 with r in [-1/4, 0): exp(r)
// from the series, times exp(-2^k) for each bit k of the integer n/4 (a barrel
// shifter of constants round(exp(-2^k) * 2^31) for 2^k = 1/4 .. 16).
static inline int32_t emlml_exp_on_negative_values(int32_t a) {
    static const int32_t exp_of_minus_power_of_two[7] = {
        1672461947,  // exp(-1/4)
        1302514674,  // exp(-1/2)
        790015084,   // exp(-1)
        290630308,   // exp(-2)
        39332535,    // exp(-4)
        720401,      // exp(-8)
        242,         // exp(-16)
    };
    const int32_t quarter = 1 << 24;  // 1/4 in Q5.26
    int32_t r = (a & (quarter - 1)) - quarter;
    // r in Q5.26 times 2^5 is r in Q0.31 (no saturation: |r| <= 1/4)
    int32_t result = emlml_exp_on_interval_minus_quarter_to_zero(emlml_wrap_shl(r, 5));
    uint32_t remainder = (uint32_t)r - (uint32_t)a;  // r - a = n/4 in Q5.26
    for (int k = 0; k < 7; k++) {
        if ((remainder & (1u << (24 + k))) != 0) {
            result = emlml_srdhm(result, exp_of_minus_power_of_two[k]);
        }
    }
    return a == 0 ? INT32_MAX : result;  // exp(0) = 1: the largest Q0.31
}

// 1 / (1 + x) for x in [0, 1), Q0.31 in and out (gemmlowp's
// one_over_one_plus_x_for_x_in_0_1): three Newton-Raphson steps on the half
// denominator d = (1 + x) / 2, from the estimate 48/17 - 32/17 * d, in Q2.29.
static inline int32_t emlml_one_over_one_plus_x(int32_t x) {
    const int32_t forty_eight_over_17 = 1515870810;       // round(48/17 * 2^29)
    const int32_t minus_thirty_two_over_17 = -1010580540; // round(-32/17 * 2^29)
    const int32_t one_q2_29 = 1 << 29;
    // RoundingHalfSum(x, 1): (x + INT32_MAX + 1) / 2 in 64 bits; the sum is positive
    int64_t sum = (int64_t)x + INT32_MAX;
    int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    int32_t estimate = emlml_wrap_add(forty_eight_over_17, emlml_srdhm(half_denominator, minus_thirty_two_over_17));
    for (int i = 0; i < 3; i++) {
        int32_t half_denominator_times_estimate = emlml_srdhm(half_denominator, estimate);
        int32_t one_minus = emlml_wrap_sub(one_q2_29, half_denominator_times_estimate);
        // Q2.29 * Q2.29 is Q4.27: back to Q2.29 with a saturating * 4
        int32_t correction = emlml_saturating_shl(emlml_srdhm(estimate, one_minus), 2);
        estimate = emlml_wrap_add(estimate, correction);
    }
    // estimate ~ 1 / d = 2 / (1 + x) in Q2.29 is 1 / (1 + x) in Q1.30: * 2 into Q0.31
    return emlml_saturating_shl(estimate, 1);
}

// TFLite's GetReciprocal: for x > 0 with `integer_bits` integer bits, a Q0.31 value
// s and *num_bits_over_unit n with 1 / x ~ s / 2^n. x = 2^n * (1 + f), f in [0, 1).
// x is unsigned: a softmax sum past 2^31 wraps in TFLite's int32 and is read back
// through uint32, which gives these same bits. x = 0 (a sum that wrapped to exactly
// 2^32) has no reciprocal; it gives a defined, meaningless value here.
static inline int32_t emlml_reciprocal(uint32_t x, int integer_bits, int *num_bits_over_unit) {
    int headroom_plus_one = emlml_clz32(x);
    *num_bits_over_unit = integer_bits - headroom_plus_one;
    uint32_t normalised = headroom_plus_one < 32 ? x << headroom_plus_one : 0u;
    int32_t f = emlml_i32_from_bits(normalised - 0x80000000u);  // (1 + f) - 1 in Q0.31
    return emlml_one_over_one_plus_x(f);
}

// Number of significant bits of a 64-bit value (0 for 0).
static inline int emlml_bit_length64(uint64_t x) {
    uint32_t high = (uint32_t)(x >> 32);
    return high != 0 ? 64 - emlml_clz32(high) : 32 - emlml_clz32((uint32_t)x);
}

// FULLY_CONNECTED's rescale as TFLite computes it in double: the binary64 product
// acc * scale (rounded to nearest, ties to even, to 53 bits), then rounded to an
// integer with ties away from zero; a result outside int32 gives INT32_MIN (what
// TFLite's final conversion gives on x86-64). `scale_bits` is a finite binary64 >= 0
// (or -0.0), checked at load.
//
// Done in integers, bit for bit: soft-float doubles would add kilobytes to a
// microcontroller build. The exact product a * m (a = |acc| <= 2^31, m the 53-bit
// significand) has at most 85 bits: high * 2^32 + low, with high < 2^53.
static inline int32_t emlml_rescale_f64(int32_t acc, uint64_t scale_bits) {
    uint32_t exponent_field = (uint32_t)(scale_bits >> 52) & 0x7FFu;
    uint64_t m = scale_bits & 0xFFFFFFFFFFFFFu;
    if (exponent_field != 0) {
        m |= (uint64_t)1 << 52;
    } else {
        exponent_field = 1;  // subnormal
    }
    uint32_t a = acc < 0 ? 0u - (uint32_t)acc : (uint32_t)acc;
    if (a == 0 || m == 0) {
        return 0;
    }
    int32_t e = (int32_t)exponent_field - 1075;  // scale = m * 2^e
    uint64_t low_product = (uint64_t)a * (uint32_t)m;
    uint64_t high = (uint64_t)a * (uint32_t)(m >> 32) + (low_product >> 32);
    uint32_t low = (uint32_t)low_product;
    // round to 53 significant bits, to nearest, ties to even (the binary64 multiply)
    int bits = high != 0 ? 32 + emlml_bit_length64(high) : 32 - emlml_clz32(low);
    uint64_t p = high != 0 ? (high << 32) | low : low;  // exact when bits <= 53
    if (bits > 53) {
        int k = bits - 53;  // 1..32: the bits dropped are all in `low`
        uint32_t rest = k == 32 ? low : low & ((1u << k) - 1u);
        uint32_t half = 1u << (k - 1);
        p = (high << (32 - k)) | (uint32_t)((uint64_t)low >> k);
        if (rest > half || (rest == half && (p & 1u) != 0)) {
            p++;
        }
        e += k;
    }
    // |acc * scale| = p * 2^e, p <= 2^53: round to an integer, ties away from zero
    uint64_t r;
    if (e >= 32 || (e >= 0 && (p >> (32 - e)) != 0)) {
        return INT32_MIN;  // 2^32 or more
    } else if (e >= 0) {
        r = p << e;
    } else if (e < -54) {
        r = 0;  // below 1/2
    } else {
        r = (p >> -e) + ((p >> (-e - 1)) & 1u);
    }
    if (acc < 0) {
        return r <= 0x80000000u ? (int32_t)(0 - (int64_t)r) : INT32_MIN;
    }
    return r <= 0x7FFFFFFFu ? (int32_t)r : INT32_MIN;
}

#endif // EMLML_FIXEDPOINT_H
