"""The runtime helpers of the ESP32 (xtensawin) module built with LLVM
(micropython_module/rt/emlml_rt.c: __divsf3, memcpy, memset) against the host's own
IEEE 754 float division and plain byte copies.

The helpers are compiled for the host under their emlml_rt_ names, with a driver that
draws many million operand pairs (uniform bit patterns, which include NaNs and
infinities; subnormals; signed zeros; quotients near overflow and underflow; divisors
that are powers of two, whose quotients are exact or ties; operands one ulp apart) and
compares the bit pattern of every quotient with x86-64's divss, NaNs included. Built
once with -O2 and once with UBSan, every warning an error."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RT_SRC = ROOT / "micropython_module" / "rt" / "emlml_rt.c"
CC = shutil.which("gcc") or shutil.which("cc")
STRICT = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-Wpedantic", "-Wshadow", "-Wconversion",
          "-Wstrict-prototypes", "-ffp-contract=off"]

DRIVER = r"""
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *emlml_rt_memcpy(void *dst, const void *src, size_t n);
void *emlml_rt_memset(void *dst, int c, size_t n);
float emlml_rt___divsf3(float a, float b);

static uint64_t state = 0x9E3779B97F4A7C15u;
static uint32_t rnd(void) {  /* splitmix64, upper half */
    uint64_t z = (state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return (uint32_t)((z ^ (z >> 31)) >> 32);
}

static float from_bits(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static uint32_t to_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

static unsigned long checked, failures;

static void check(uint32_t a, uint32_t b) {
    volatile float fa = from_bits(a), fb = from_bits(b);
    uint32_t want = to_bits(fa / fb);
    uint32_t got = to_bits(emlml_rt___divsf3(fa, fb));
    checked++;
    if (want != got && failures++ < 10) {
        printf("mismatch %08x / %08x: helper %08x, host %08x\n",
               (unsigned)a, (unsigned)b, (unsigned)got, (unsigned)want);
    }
}

/* A float with random sign, the given biased exponent and a random or edge fraction. */
static uint32_t with_exp(uint32_t e) {
    uint32_t frac;
    switch (rnd() % 6u) {
        case 0: frac = 0; break;
        case 1: frac = 1; break;
        case 2: frac = 0x7FFFFFu; break;
        case 3: frac = 0x7FFFFFu >> (rnd() % 23u); break;
        default: frac = rnd() & 0x7FFFFFu; break;
    }
    return (rnd() & 0x80000000u) | (e << 23) | frac;
}

int main(int argc, char **argv) {
    unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000ul;
    static const uint32_t specials[] = {
        0x00000000u, 0x80000000u, 0x00000001u, 0x80000001u, 0x007FFFFFu, 0x00800000u,
        0x00400000u, 0x3F800000u, 0xBF800000u, 0x3F800001u, 0x3F7FFFFFu, 0x40400000u,
        0x7F7FFFFFu, 0xFF7FFFFFu, 0x7F800000u, 0xFF800000u, 0x7FC00000u, 0xFFC00000u,
        0x7F800001u, 0xFF800001u, 0x7FBFFFFFu, 0x7FFFFFFFu, 0x34000000u, 0x4B800000u,
    };
    size_t ns = sizeof specials / sizeof specials[0];
    for (size_t i = 0; i < ns; i++) {
        for (size_t j = 0; j < ns; j++) {
            check(specials[i], specials[j]);
        }
    }
    for (unsigned long i = 0; i < n; i++) {
        /* uniform bit patterns (about 1 in 128 is a NaN or an infinity) */
        check(rnd(), rnd());
        /* subnormal dividend or divisor or both, against anything */
        check(rnd() & 0x807FFFFFu, rnd());
        check(rnd(), rnd() & 0x807FFFFFu);
        check(rnd() & 0x807FFFFFu, rnd() & 0x807FFFFFu);
        /* exponents that put the quotient near overflow, near the smallest normal,
           in the subnormals and below them */
        {
            uint32_t ea = rnd() % 255u;
            int32_t d = (int32_t)(rnd() % 60u) - 30;
            int32_t target[4] = {254, 127, 1, -22};
            int32_t eb = (int32_t)ea - target[rnd() % 4u] + 127 + d;
            if (eb >= 0 && eb <= 254) {
                check(with_exp(ea), with_exp((uint32_t)eb));
            }
        }
        /* divisor a power of two (exact quotients, and ties to even in the subnormals) */
        check(rnd() & 0x80FFFFFFu, (rnd() & 0x80000000u) | ((rnd() % 255u) << 23));
        check(rnd(), (rnd() & 0x80000000u) | ((100u + rnd() % 60u) << 23));
        /* operands one ulp apart, and quotients close to 1 and to 2 */
        {
            uint32_t x = rnd() & 0x7F7FFFFFu;
            check(x, x + 1u);
            check(x + 1u, x);
            check(x, x);
            check(x | 0x00800000u, (x & 0x807FFFFFu) | 0x3F800000u);
        }
    }
    /* memcpy / memset: every length and offset up to 64 bytes */
    {
        unsigned char src[80], dst[80], ref[80];
        for (unsigned i = 0; i < sizeof src; i++) src[i] = (unsigned char)rnd();
        for (size_t off = 0; off < 8; off++) {
            for (size_t len = 0; len <= 64; len++) {
                memset(dst, 0xA5, sizeof dst);
                memcpy(ref, dst, sizeof dst);
                memcpy(ref + off, src + 3, len);
                if (emlml_rt_memcpy(dst + off, src + 3, len) != dst + off || memcmp(dst, ref, sizeof dst) != 0) {
                    printf("memcpy mismatch at offset %zu length %zu\n", off, len);
                    failures++;
                }
                memset(ref + off, 0x1C0 & 0xFF, len);
                if (emlml_rt_memset(dst + off, 0x1C0, len) != dst + off || memcmp(dst, ref, sizeof dst) != 0) {
                    printf("memset mismatch at offset %zu length %zu\n", off, len);
                    failures++;
                }
            }
        }
    }
    printf("%lu divisions checked, %lu mismatches\n", checked, failures);
    return failures != 0;
}
"""


def build(tmp_path: Path, name: str, flags: list[str]) -> Path:
    if CC is None:
        pytest.skip("no C compiler on PATH")
    driver = tmp_path / "driver.c"
    driver.write_text(DRIVER)
    exe = tmp_path / name
    subprocess.run([CC, *STRICT, *flags, "-o", str(exe), str(driver), str(RT_SRC)], check=True)
    return exe


@pytest.mark.parametrize("flags, rounds", [
    (["-O2"], 4_000_000),
    (["-O1", "-g", "-fsanitize=undefined,address", "-fno-sanitize-recover=all"], 300_000),
], ids=["O2", "sanitized"])
def test_divsf3_and_memory_helpers_match_host(tmp_path, flags, rounds):
    exe = build(tmp_path, "rt_test", flags)
    result = subprocess.run([str(exe), str(rounds)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0 and result.stderr == "", result.stdout + result.stderr
    last = result.stdout.splitlines()[-1]
    checked = int(last.split()[0])
    assert checked >= rounds * 10 and last.endswith(" 0 mismatches"), result.stdout
