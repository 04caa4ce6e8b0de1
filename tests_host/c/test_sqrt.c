// emlml_sqrtf_soft (the integer square root used where there is no FPU) must equal
// the correctly rounded hardware sqrtf for every float32 it can meet: all finite
// non-negative values are walked with a stride, plus every subnormal edge and
// every power of two.
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "emlml_internal.h"

static int check(uint32_t bits) {
    float x, want, got;
    memcpy(&x, &bits, 4);
    want = sqrtf(x);
    got = emlml_sqrtf_soft(x);
    if (memcmp(&want, &got, 4) != 0) {
        printf("sqrt mismatch for bits %08x: soft %a, libm %a\n", (unsigned)bits, (double)got, (double)want);
        return 1;
    }
    return 0;
}

int main(void) {
    unsigned long checked = 0;
    int failures = 0;
    for (uint32_t bits = 0; bits < 0x7F800000u && failures < 10; bits += 97u) {
        failures += check(bits);
        checked++;
    }
    for (uint32_t bits = 0; bits < 0x10000u; bits++) {
        failures += check(bits);
        failures += check(0x007F0000u + bits);
        checked += 2;
    }
    for (uint32_t e = 0; e < 255u; e++) {
        failures += check(e << 23);
        failures += check((e << 23) | 0x7FFFFFu);
        checked += 2;
    }
    failures += check(0x7F800000u);  // +inf
    printf("%lu sqrt values checked, %d mismatches\n", checked, failures);
    return failures != 0;
}
