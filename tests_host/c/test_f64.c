// emlml_f64_add, emlml_f64_div_u32 and emlml_f64_from_u32 (binary64 in integers, for the tree classifiers'
// tie replay on boards without double hardware or libgcc) must give the bits of the
// host's IEEE-754 double add and divide, rounded to nearest even, for every operand
// they can meet (finite, >= +0): random bit patterns over the whole range and near
// each other, sums of tree fractions, subnormals, carries into the next binade and
// into infinity, and every divisor of a tree count 1..65535.
#include <stdio.h>
#include <string.h>

#include "emlml_internal.h"

static uint64_t state = 0x9E3779B97F4A7C15u;
#define F64_SIGN_BIT ((uint64_t)1 << 63)

static uint64_t next(void) {  // xorshift64*
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 0x2545F4914F6CDD1Du;
}

static double as_double(uint64_t bits) {
    double d;
    memcpy(&d, &bits, 8);
    return d;
}

static uint64_t as_bits(double d) {
    uint64_t bits;
    memcpy(&bits, &d, 8);
    return bits;
}

static int failures = 0;
static unsigned long checked = 0;

static void check_add(uint64_t a, uint64_t b) {
    uint64_t want = as_bits(as_double(a) + as_double(b));
    uint64_t got = emlml_f64_add(a, b);
    checked++;
    if (want != got && failures++ < 10) {
        printf("add %016llx + %016llx: got %016llx, want %016llx\n", (unsigned long long)a,
               (unsigned long long)b, (unsigned long long)got, (unsigned long long)want);
    }
}

static void check_div(uint64_t a, uint32_t n) {
    uint64_t want = as_bits(as_double(a) / (double)n);
    uint64_t got = emlml_f64_div_u32(a, n);
    checked++;
    if (want != got && failures++ < 10) {
        printf("div %016llx / %u: got %016llx, want %016llx\n", (unsigned long long)a, n,
               (unsigned long long)got, (unsigned long long)want);
    }
}

// Boosting: signed sums, float32 <-> binary64.
static void check_add_signed(uint64_t a, uint64_t b) {
    uint64_t want = as_bits(as_double(a) + as_double(b));
    uint64_t got = emlml_f64_add_signed(a, b);
    checked++;
    if (want != got && failures++ < 10) {
        printf("signed add %016llx + %016llx: got %016llx, want %016llx\n", (unsigned long long)a,
               (unsigned long long)b, (unsigned long long)got, (unsigned long long)want);
    }
}

static void check_f32(uint32_t f) {
    float x;
    memcpy(&x, &f, 4);
    uint64_t want = as_bits((double)x);
    checked++;
    if ((f & 0x7FFFFFFFu) <= 0x7F800000u && emlml_f64_from_f32(f) != want && failures++ < 10) {
        printf("from_f32 %08x\n", (unsigned)f);
    }
}

static void check_to_f32(uint64_t d) {
    float want = (float)as_double(d);
    uint32_t want_bits;
    memcpy(&want_bits, &want, 4);
    if ((d & 0x7FF0000000000000u) == 0x7FF0000000000000u) {
        return;  // finite values only
    }
    checked++;
    if (emlml_f64_to_f32(d) != want_bits && failures++ < 10) {
        printf("to_f32 %016llx: got %08x, want %08x\n", (unsigned long long)d,
               (unsigned)emlml_f64_to_f32(d), (unsigned)want_bits);
    }
}

static uint64_t finite_positive(void) {
    uint64_t x = next() & 0x7FFFFFFFFFFFFFFFu;
    return x >= 0x7FF0000000000000u ? x - 0x7FF0000000000000u : x;
}

int main(void) {
    const uint64_t max_finite = 0x7FEFFFFFFFFFFFFFu;
    for (int i = 0; i < 2000000; i++) {
        uint64_t a = finite_positive();
        uint64_t b = finite_positive();
        check_add(a, b);
        // near each other (every alignment shift from 0 to 64 and beyond)
        uint64_t near = a + (next() >> (next() % 64));
        check_add(a, near <= max_finite ? near : a);
        uint64_t drop = next() % 70u;  // an exponent up to 69 lower
        check_add(a, (a >> 52) > drop ? a - (drop << 52) : a);
        check_add(a & 0x000FFFFFFFFFFFFFu, b & 0x001FFFFFFFFFFFFFu);  // subnormals
        uint32_t n = (uint32_t)(next() % 65535u) + 1u;
        check_div(a, n);
        check_div(a & 0x001FFFFFFFFFFFFFu, n);
        check_div(a, (uint32_t)(next() % 16u) + 1u);
    }
    for (int i = 0; i < 2000000; i++) {
        uint64_t sa = (next() & 1u) << 63, sb = (next() & 1u) << 63;
        uint64_t a = finite_positive();
        uint64_t b = finite_positive();
        check_add_signed(sa | a, sb | b);
        uint64_t near = a + (next() >> (next() % 64));  // cancellation at every shift
        check_add_signed(sa | a, (sa ^ F64_SIGN_BIT) | (near <= max_finite ? near : a));
        uint64_t drop = next() % 70u;
        check_add_signed(sa | a, (sa ^ F64_SIGN_BIT) | ((a >> 52) > drop ? a - (drop << 52) : a));
        check_add_signed(sa | (a & 0x000FFFFFFFFFFFFFu), sb | (b & 0x001FFFFFFFFFFFFFu));
        check_add_signed(sa | a, sb | a);  // x - x, x + x
        uint32_t f = (uint32_t)next();
        check_f32(f);
        check_to_f32(sa | a);
        check_to_f32(sa | (((uint64_t)(next() % 340u) + 1023u - 170u) << 52) | (b & 0xFFFFFFFFFFFFFu));
        check_to_f32(sa | (as_bits((double)(float)as_double(a)) + (next() % 3u) - 1u));  // near ties
    }
    // Leaf sums as boosting adds them: a signed baseline plus small signed values.
    for (int t = 0; t < 20000; t++) {
        double sum = (double)(int32_t)(next() % 2001u - 1000u) / 997.0;
        uint64_t bits = as_bits(sum);
        for (int j = 0; j < 100; j++) {
            double v = (double)(int32_t)(next() % 20001u - 10000u) / 65537.0 * 0.1;
            check_add_signed(bits, as_bits(v));
            bits = emlml_f64_add_signed(bits, as_bits(v));
            sum += v;
        }
        if (bits != as_bits(sum) && failures++ < 10) {
            printf("signed sum differs\n");
        }
    }
    uint64_t zeros[] = {0, F64_SIGN_BIT, 1, F64_SIGN_BIT | 1u, max_finite, F64_SIGN_BIT | max_finite};
    for (size_t i = 0; i < 6; i++) {
        for (size_t j = 0; j < 6; j++) {
            check_add_signed(zeros[i], zeros[j]);
        }
    }
    // Sums of tree fractions k/m, added in order and divided by the tree count.
    for (int t = 0; t < 20000; t++) {
        uint32_t trees = (uint32_t)(next() % 200u) + 1u;
        double sum = 0.0;
        uint64_t bits = 0;
        for (uint32_t j = 0; j < trees; j++) {
            uint32_t m = (uint32_t)(next() % 1000u) + 1u;
            double p = (double)(uint32_t)(next() % (m + 1u)) / (double)m;
            check_add(bits, as_bits(p));
            bits = emlml_f64_add(bits, as_bits(p));
            sum += p;
        }
        check_div(bits, trees);
        if (bits != as_bits(sum) && failures++ < 10) {
            printf("sum of %u fractions differs\n", trees);
        }
    }
    // Edges: zeros, the largest finite (carry into infinity), the smallest values.
    uint64_t edges[] = {0, 1, 2, 3, 0x000FFFFFFFFFFFFFu, 0x0010000000000000u,
                        0x0010000000000001u, 0x3FF0000000000000u, 0x3FEFFFFFFFFFFFFFu,
                        0x7FE0000000000000u, max_finite, 0x7FEFFFFFFFFFFFFEu,
                        0x4340000000000000u, 0x433FFFFFFFFFFFFFu};
    size_t n_edges = sizeof(edges) / sizeof(edges[0]);
    for (size_t i = 0; i < n_edges; i++) {
        for (size_t j = 0; j < n_edges; j++) {
            check_add(edges[i], edges[j]);
        }
        for (uint32_t n = 1; n <= 65535u; n++) {
            check_div(edges[i], n);
        }
    }
    for (uint64_t k = 0; k <= 0xFFFFFFFFu; k += (k >> 20) + 1u) {  // every u32 to double
        uint64_t want = as_bits((double)(uint32_t)k);
        checked++;
        if (emlml_f64_from_u32((uint32_t)k) != want && failures++ < 10) {
            printf("from_u32 %llu\n", (unsigned long long)k);
        }
    }
    printf("%lu binary64 results checked, %d mismatches\n", checked, failures);
    return failures != 0;
}
