// Unit test of the int8 CNN fixed-point helpers (micropython_module/cnn/emlml_fixedpoint.h),
// built with ASan and UBSan: each integer helper against its definition computed
// another way (exact rationals in 64-bit integers), the exponential and reciprocal
// against libm within their documented accuracy, and edge values. Prints "ok N checks"
// and exits 0, or prints the first failure and exits 1.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../micropython_module/cnn/emlml_fixedpoint.h"

static unsigned long checks;

#define CHECK(cond, ...) do { \
        checks++; \
        if (!(cond)) { \
            printf("FAIL %s:%d: ", __FILE__, __LINE__); \
            printf(__VA_ARGS__); \
            printf("\n"); \
            exit(1); \
        } \
    } while (0)

// xorshift64*: reproducible values without rand()'s range limits.
static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static uint32_t next_u32(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545F4914F6CDD1Du) >> 32);
}

static int32_t next_i32(void) {
    return emlml_i32_from_bits(next_u32());
}

// Values that reach the edges: 0, +-1, powers of two, the extremes, then random.
static int32_t sample(unsigned i) {
    static const int32_t edges[] = {
        0, 1, -1, 2, -2, 3, -3, 1 << 30, -(1 << 30), (1 << 30) - 1, INT32_MAX, INT32_MIN,
        INT32_MIN + 1, INT32_MAX - 1, 1 << 15, -(1 << 15), 12345, -12345,
    };
    unsigned n = sizeof(edges) / sizeof(edges[0]);
    if (i < n) {
        return edges[i];
    }
    switch (i % 4) {
        case 0: return next_i32();
        case 1: return next_i32() >> (next_u32() % 31);
        case 2: return (int32_t)(next_u32() % 2048) - 1024;
        default: return (int32_t)((1u << 30) + next_u32() % (1u << 30));  // a multiplier
    }
}

// round(num / 2^e), halves away from zero, for num in int64 and 0 <= e <= 62.
static int64_t round_div_pot(int64_t num, int e) {
    if (e == 0) {
        return num;
    }
    uint64_t magnitude = num < 0 ? (uint64_t)0 - (uint64_t)num : (uint64_t)num;
    uint64_t q = magnitude >> e;
    uint64_t r = magnitude & (((uint64_t)1 << e) - 1u);
    if (r >= ((uint64_t)1 << (e - 1))) {
        q++;
    }
    return num < 0 ? -(int64_t)q : (int64_t)q;
}

static void test_wrap_and_shift(void) {
    for (unsigned i = 0; i < 200000; i++) {
        int32_t a = sample(i), b = sample(i + 7);
        CHECK(emlml_wrap_add(a, b) == (int32_t)(uint32_t)((uint32_t)a + (uint32_t)b), "wrap_add %d %d", a, b);
        CHECK(emlml_wrap_sub(a, b) == (int32_t)(uint32_t)((uint32_t)a - (uint32_t)b), "wrap_sub %d %d", a, b);
        int e = (int)(next_u32() % 32);
        CHECK(emlml_asr(a, e) == (int32_t)floor((double)a / ldexp(1.0, e)), "asr %d %d", a, e);
        CHECK(emlml_wrap_shl(a, e) == (int32_t)(uint32_t)((uint32_t)a << e), "shl %d %d", a, e);
    }
    CHECK(emlml_clz32(0) == 32 && emlml_clz32(1) == 31 && emlml_clz32(0x80000000u) == 0, "clz");
    for (int k = 0; k < 32; k++) {
        CHECK(emlml_clz32((1u << k) | ((1u << k) - 1u)) == 31 - k, "clz %d", k);
    }
}

// floor(num / 2^e) for 0 <= e <= 62.
static int64_t floor_div_pot(int64_t num, int e) {
    int64_t d = (int64_t)1 << e;
    int64_t q = num / d;
    return (num % d != 0 && num < 0) ? q - 1 : q;
}

// SRDHM is a * b / 2^31 rounded half up (gemmlowp's nudge of 2^30 for a positive
// product and 1 - 2^30 for a negative one, then truncation, is exactly
// floor((a * b + 2^30) / 2^31)); -1 * -1 saturates.
static void test_srdhm(void) {
    CHECK(emlml_srdhm(INT32_MIN, INT32_MIN) == INT32_MAX, "srdhm saturates");
    CHECK(emlml_srdhm(-3, 1 << 30) == -1 && emlml_srdhm(3, 1 << 30) == 2, "srdhm halves go up");
    for (unsigned i = 0; i < 400000; i++) {
        int32_t a = sample(i), b = sample(i / 3 + 5);
        if (a == INT32_MIN && b == INT32_MIN) {
            continue;
        }
        int64_t want = floor_div_pot((int64_t)a * b + ((int64_t)1 << 30), 31);
        CHECK(emlml_srdhm(a, b) == want, "srdhm(%d, %d) = %d, want %lld", a, b, emlml_srdhm(a, b), (long long)want);
        CHECK(emlml_srdhm(a, b) == emlml_srdhm(b, a), "srdhm symmetric %d %d", a, b);
        // gemmlowp's own steps (sign-dependent nudge, truncating division), literally
        int64_t ab = (int64_t)a * b;
        int64_t nudged = ab + (ab >= 0 ? ((int64_t)1 << 30) : 1 - ((int64_t)1 << 30));
        CHECK(emlml_srdhm(a, b) == nudged / ((int64_t)1 << 31), "srdhm(%d, %d) as gemmlowp", a, b);
    }
    // the products next to every rounding boundary, both signs
    for (int32_t k = -4; k <= 4; k++) {
        int32_t b = (1 << 30) + k;
        for (int32_t a = -9; a <= 9; a++) {
            int64_t ab = (int64_t)a * b;
            int64_t nudged = ab + (ab >= 0 ? ((int64_t)1 << 30) : 1 - ((int64_t)1 << 30));
            CHECK(emlml_srdhm(a, b) == nudged / ((int64_t)1 << 31), "srdhm(%d, %d) at a boundary", a, b);
        }
    }
}

// The 32-bit-multiply SRDHM of conv and depthwise multipliers (b in [0, 2^31)) gives
// the bits of the 64-bit one: every sampled a against multipliers, 0, 1 and the extremes.
static void test_srdhm_by_multiplier(void) {
    static const int32_t edge_multipliers[] = {0, 1, 2, 0xFFFF, 0x10000, 1 << 30, (1 << 30) + 1, INT32_MAX, INT32_MAX - 1};
    for (unsigned i = 0; i < 400000; i++) {
        int32_t a = sample(i), b = sample(i / 3 + 5);
        if (b < 0) {
            b = b == INT32_MIN ? INT32_MAX : -b;
        }
        CHECK(emlml_srdhm_by_multiplier(a, b) == emlml_srdhm(a, b), "srdhm_by_multiplier(%d, %d) = %d, want %d", a, b,
              emlml_srdhm_by_multiplier(a, b), emlml_srdhm(a, b));
        int32_t m = edge_multipliers[i % (sizeof(edge_multipliers) / sizeof(edge_multipliers[0]))];
        CHECK(emlml_srdhm_by_multiplier(a, m) == emlml_srdhm(a, m), "srdhm_by_multiplier(%d, %d)", a, m);
        CHECK(emlml_srdhm_by_halves(a, b) == emlml_srdhm(a, b), "srdhm_by_halves(%d, %d) = %d, want %d", a, b,
              emlml_srdhm_by_halves(a, b), emlml_srdhm(a, b));
        CHECK(emlml_srdhm_by_halves(a, m) == emlml_srdhm(a, m), "srdhm_by_halves(%d, %d)", a, m);
        int32_t s = (int32_t)(next_u32() % 62u) - 31;  // shift in [-31, 30]
        CHECK(emlml_mbqm_by_multiplier(a, b, s) == emlml_mbqm(a, b, s), "mbqm_by_multiplier(%d, %d, %d)", a, b, s);
    }
    // both sides of the two-product path's bounds, -2^15 and 2^15 - 1, and around them
    for (unsigned i = 0; i < 400000; i++) {
        int32_t a = (int32_t)(next_u32() % (1u << 18)) - (1 << 17);
        if (i < 64) {
            a = (i % 2 ? -(1 << 15) : (1 << 15)) + (int32_t)(i / 2) - 16;
        }
        int32_t b = i % 5 == 0 ? edge_multipliers[i % 9] : (int32_t)(next_u32() >> 1);
        CHECK(emlml_srdhm_by_multiplier(a, b) == emlml_srdhm(a, b), "srdhm_by_multiplier(%d, %d) = %d, want %d", a, b,
              emlml_srdhm_by_multiplier(a, b), emlml_srdhm(a, b));
    }
    // the halves' carries: every low word next to the rounding points 2^31 - 2^30 and
    // 2^32 - 2^30 and next to 0 and 2^32, against the 64-bit sum, any high word
    static const uint32_t lows[] = {0u, 1u, 0x3FFFFFFFu, 0x40000000u, 0xBFFFFFFFu, 0xC0000000u, 0xC0000001u,
                                    0x7FFFFFFFu, 0x80000000u, 0xFFFFFFFEu, 0xFFFFFFFFu};
    for (unsigned i = 0; i < 200000; i++) {
        uint32_t hi = i < 64 ? (uint32_t)(i % 8) - 4u + (i / 8 % 2 ? 0x80000000u : 0u) : next_u32();
        uint32_t lo = i % 3 == 0 ? next_u32() : lows[i % (sizeof(lows) / sizeof(lows[0]))];
        uint64_t sum = (((uint64_t)hi << 32) | lo) + ((uint64_t)1 << 30);
        int32_t want = emlml_i32_from_bits((uint32_t)(sum >> 31));
        CHECK(emlml_srdhm_from_halves(hi, lo) == want, "srdhm_from_halves(%u, %u)", hi, lo);
        CHECK(emlml_srdhm_from_halves_bits(hi, lo) == want, "srdhm_from_halves_bits(%u, %u)", hi, lo);
    }
}

// The C model of the Cortex-M0 requantization (emlml_mbqm_short) gives emlml_mbqm's
// bits on its domain: x in [-2^16, 2^16) (both ends, both sides of +-2^15 where its
// two formulas meet, and around them), shift <= 0, multipliers in [0, 2^31) with the
// edges.
static void test_mbqm_short(void) {
    static const int32_t edge_multipliers[] = {0, 1, 0xFFFF, 0x10000, 1 << 30, (1 << 30) + 1, INT32_MAX, INT32_MAX - 1};
    static const int32_t edges[] = {-(1 << 16), (1 << 16) - 1, -(1 << 15), (1 << 15) - 1, -(1 << 15) - 1, 1 << 15};
    for (unsigned i = 0; i < 400000; i++) {
        int32_t x = i % 2 ? (int32_t)(next_u32() % (1u << 17)) - (1 << 16) : (int32_t)(next_u32() % (1u << 16)) - (1 << 15);
        if (i < 192) {
            x = edges[i % 6] + (int32_t)(i / 12) * (i % 12 < 6 ? 1 : -1);  // toward and past each edge
            x = x < -(1 << 16) ? -(1 << 16) : x >= (1 << 16) ? (1 << 16) - 1 : x;
        }
        int32_t m = i % 7 == 0 ? edge_multipliers[i % 8] : (int32_t)(next_u32() >> 1);
        int right = (int)(next_u32() % 32u);
        CHECK(emlml_mbqm_short(x, m, right) == emlml_mbqm(x, m, -right), "mbqm_short(%d, %d, %d) = %d, want %d", x, m,
              right, emlml_mbqm_short(x, m, right), emlml_mbqm(x, m, -right));
    }
}

// The Cortex-M4 requantization (emlml_mbqm_small where emlml_mbqm_fits_small; on the host
// its SMMULR is the C model):
// SMMULR against its definition, RDBPOT without the mask against emlml_rdbpot on
// (-2^30, 2^30) and every shift, and the whole against emlml_mbqm, on both sides of the
// [-2^30, 2^30) bound after the left shift.
static void test_mbqm_small(void) {
    for (unsigned i = 0; i < 400000; i++) {
        int32_t a = sample(i), b = sample(i / 3 + 5);
        int64_t want = floor_div_pot((int64_t)a * b + ((int64_t)1 << 31), 32);
        CHECK(emlml_smmulr(a, b) == want, "smmulr(%d, %d) = %d, want %lld", a, b, emlml_smmulr(a, b), (long long)want);
        int32_t h = (int32_t)(next_u32() % ((1u << 31) - 1u)) - ((1 << 30) - 1);  // (-2^30, 2^30)
        if (i < 64) {
            h = (i % 2 ? (1 << 30) - 1 : 1 - (1 << 30)) + (i % 4 < 2 ? 0 : (int32_t)(i / 4)) * (i % 2 ? -1 : 1);
        } else if (i % 3 == 0) {
            h = (int32_t)(next_u32() % 4096u) - 2048;
        }
        int e = (int)(i % 32);
        CHECK(emlml_rdbpot_small(h, e) == emlml_rdbpot(h, e), "rdbpot_small(%d, %d) = %d, want %d", h, e,
              emlml_rdbpot_small(h, e), emlml_rdbpot(h, e));
    }
    static const int32_t edge_multipliers[] = {0, 1 << 30, (1 << 30) + 1, INT32_MAX, INT32_MAX - 1, 1518500250};
    unsigned small_checked = 0;
    for (unsigned i = 0; i < 600000; i++) {
        int32_t m = i % 7 < 6 ? edge_multipliers[i % 6] : (int32_t)((1u << 30) + next_u32() % (1u << 30));
        if (i % 5 == 1) {
            m = (int32_t)((1u << 30) + next_u32() % (1u << 30));
        }
        int32_t s = (int32_t)(next_u32() % 62u) - 31;  // shift in [-31, 30]
        int32_t x = sample(i);
        if (i % 4 == 1) {
            // x * 2^left at the bound: -2^30 - 1 .. -2^30 + 1 and 2^30 - 1 .. 2^30 + 1
            int left = s > 0 ? (int)s : 0;
            int32_t edge = (i % 8 == 1 ? (1 << 30) : -(1 << 30)) >> left;
            x = edge + (int32_t)(next_u32() % 3u) - 1;
        } else if (i % 4 == 2) {
            x = (int32_t)(next_u32() % (1u << 21)) - (1 << 20);  // a conv's accumulators
        }
        int left = s > 0 ? (int)s : 0;
        int64_t shifted = (int32_t)(uint32_t)((uint32_t)x << left);
        int fits = shifted >= -((int64_t)1 << 30) && shifted < ((int64_t)1 << 30);
        CHECK(emlml_mbqm_fits_small(x, s) == fits, "mbqm_fits_small(%d, %d)", x, s);
        if (fits) {
            small_checked++;
            CHECK(emlml_mbqm_small(x, m, s) == emlml_mbqm(x, m, s), "mbqm_small(%d, %d, %d) = %d, want %d", x, m, s,
                  emlml_mbqm_small(x, m, s), emlml_mbqm(x, m, s));
        }
    }
    CHECK(small_checked > 300000, "mbqm_small checked on %u values only", small_checked);
}

// RDBPOT is round(x / 2^e) with halves away from zero.
static void test_rdbpot(void) {
    for (unsigned i = 0; i < 400000; i++) {
        int32_t x = sample(i);
        int e = (int)(i % 32);
        int64_t want = round_div_pot(x, e);
        CHECK(emlml_rdbpot(x, e) == want, "rdbpot(%d, %d) = %d, want %lld", x, e, emlml_rdbpot(x, e), (long long)want);
    }
    CHECK(emlml_rdbpot(-3, 1) == -2 && emlml_rdbpot(3, 1) == 2 && emlml_rdbpot(-5, 2) == -1, "rdbpot halves");
}

// saturating_shl is x * 2^e clamped to int32.
static void test_saturating_shl(void) {
    for (unsigned i = 0; i < 200000; i++) {
        int32_t x = sample(i);
        int e = 1 + (int)(i % 30);
        int64_t want = (int64_t)x * ((int64_t)1 << e);
        want = want > INT32_MAX ? INT32_MAX : want < INT32_MIN ? INT32_MIN : want;
        CHECK(emlml_saturating_shl(x, e) == want, "saturating_shl(%d, %d)", x, e);
    }
}

// MBQM: the left shift wraps, then SRDHM, then RDBPOT; shifts -31..30.
static void test_mbqm(void) {
    for (unsigned i = 0; i < 400000; i++) {
        int32_t x = sample(i);
        int32_t m = (int32_t)((1u << 30) + next_u32() % (1u << 30));
        int32_t s = (int32_t)(next_u32() % 62) - 31;
        int32_t shifted = s > 0 ? (int32_t)(uint32_t)((uint32_t)x << s) : x;
        int64_t high = floor_div_pot((int64_t)shifted * m + ((int64_t)1 << 30), 31);
        int64_t want = s < 0 ? round_div_pot(high, -s) : high;
        CHECK(emlml_mbqm(x, m, s) == want, "mbqm(%d, %d, %d)", x, m, s);
    }
    CHECK(emlml_mbqm(12345, 0, 5) == 0, "mbqm zero multiplier");
}

// exp on Q5.26 inputs in [-32, 0] against libm: gemmlowp's series and barrel shifter
// are good to a few units of 2^-31 near 0 and lose relative accuracy only where the
// value itself is tiny.
static void test_exp(void) {
    CHECK(emlml_exp_on_negative_values(0) == INT32_MAX, "exp(0)");
    int32_t previous = INT32_MAX;
    for (int64_t a = 0; a >= -((int64_t)32 << 26); a -= 4093) {
        int32_t got = emlml_exp_on_negative_values((int32_t)a);
        double want = exp((double)a / 67108864.0) * 2147483648.0;
        CHECK(fabs(got - want) <= 64.0 + want * 4e-7, "exp(%lld / 2^26) = %d, want %.1f", (long long)a, got, want);
        CHECK((int64_t)got <= (int64_t)previous + 2, "exp nearly monotonic at %lld", (long long)a);
        previous = got;
    }
    for (unsigned i = 0; i < 100000; i++) {  // any int32 input is defined (no UB)
        (void)emlml_exp_on_negative_values(next_i32());
    }
}

static void test_reciprocal(void) {
    for (int64_t x = 0; x < ((int64_t)1 << 31); x += 65521) {
        int32_t got = emlml_one_over_one_plus_x((int32_t)x);
        double want = 2147483648.0 / (1.0 + (double)x / 2147483648.0);
        want = want > INT32_MAX ? INT32_MAX : want;
        CHECK(fabs(got - want) <= 16.0, "1 / (1 + %lld / 2^31) = %d, want %.1f", (long long)x, got, want);
    }
    for (unsigned i = 0; i < 100000; i++) {
        uint32_t sum = next_u32() >> (next_u32() % 32);
        if (sum == 0) {
            continue;
        }
        int bits;
        int32_t s = emlml_reciprocal(sum, 12, &bits);
        // 1 / (sum / 2^19) = s / 2^31 / 2^bits
        double want = 524288.0 / sum;
        double got = ldexp((double)s / 2147483648.0, -bits);
        CHECK(fabs(got - want) <= want * 2e-8, "reciprocal of %u", sum);
    }
    int bits;
    (void)emlml_reciprocal(0, 12, &bits);  // defined, if meaningless
}

// The reference: the host's binary64 multiply, then round half away from zero, and
// INT32_MIN outside int32.
static int32_t rescale_by_double(int32_t acc, double scale) {
    double p = (double)acc * scale;
    if (!(p > -2147483648.5 && p < 2147483647.5)) {
        return INT32_MIN;
    }
    double r = p < 0 ? -floor(-p + 0.5) : floor(p + 0.5);
    return (int32_t)r;
}

static uint64_t bits_of(double d) {
    uint64_t u;
    memcpy(&u, &d, sizeof(u));
    return u;
}

static double double_of(uint64_t u) {
    double d;
    memcpy(&d, &u, sizeof(d));
    return d;
}

static void check_rescale(int32_t acc, double scale) {
    int32_t got = emlml_rescale_f64(acc, bits_of(scale));
    int32_t want = rescale_by_double(acc, scale);
    CHECK(got == want, "rescale(%d, %.17g) = %d, want %d", acc, scale, got, want);
}

// FULLY_CONNECTED's integer rescale against the host's double arithmetic: random and
// edge accumulators, scales of every magnitude (subnormal to huge), and products that
// land exactly on halves and on ties of the 53-bit rounding.
static void test_rescale_f64(void) {
    static const double scales[] = {0.0, -0.0, 0.5, 1.0, 1.5, 0.25, 0.75, 1e-300, 4.9e-324,
                                    2.2250738585072014e-308, 1e300, 1.7976931348623157e308,
                                    1.0 / 3.0, 2.0 / 3.0, 0.1, 1e-10, 1e10, 3.0517578125e-05};
    for (unsigned i = 0; i < sizeof(scales) / sizeof(scales[0]); i++) {
        for (unsigned j = 0; j < 2000; j++) {
            check_rescale(sample(j), scales[i]);
        }
    }
    for (unsigned i = 0; i < 200000; i++) {  // small odd acc * odd significand: many ties
        static const int32_t odd[] = {3, -3, 5, -5, 7, 1023, -1025, 65535};
        uint64_t m = (((uint64_t)next_u32() << 21 ^ next_u32()) & 0xFFFFFFFFFFFFFu) | 1u;
        check_rescale(odd[i % 8], ldexp(double_of(0x3FF0000000000000u | m), -(int)(next_u32() % 40)));
    }
    for (unsigned i = 0; i < 3000000; i++) {
        int32_t acc = sample(i);
        double scale;
        switch (i % 5) {
            case 0:  // a typical rescale: about 2^-20 .. 2^0
                scale = ldexp((double)(next_u32() | 1u) / 4294967296.0, -(int)(next_u32() % 20));
                break;
            case 1:  // any finite positive bit pattern
                scale = double_of(((uint64_t)next_u32() << 32 | next_u32()) & 0x7FEFFFFFFFFFFFFFu);
                break;
            case 2:  // k / 2^n: products on exact halves
                scale = ldexp((double)(next_u32() % 4096), -(int)(next_u32() % 40));
                break;
            case 3: {  // a full 53-bit significand near 1: ties of the 53-bit rounding
                uint64_t m = ((uint64_t)next_u32() << 21 ^ next_u32()) & 0xFFFFFFFFFFFFFu;
                scale = ldexp(double_of(0x3FF0000000000000u | m), -(int)(next_u32() % 32));
                break;
            }
            default:  // around the int32 boundary
                scale = ldexp(1.0 + (double)(next_u32() % 1024) / 1048576.0, (int)(next_u32() % 8));
                break;
        }
        check_rescale(acc, scale);
    }
}

int main(void) {
    test_wrap_and_shift();
    test_srdhm();
    test_srdhm_by_multiplier();
    test_mbqm_short();
    test_mbqm_small();
    test_rdbpot();
    test_saturating_shl();
    test_mbqm();
    test_exp();
    test_reciprocal();
    test_rescale_f64();
    printf("ok %lu checks\n", checks);
    return 0;
}
