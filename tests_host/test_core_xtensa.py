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

import os
import re
import shutil
import subprocess
import sys
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


# --------------------------------------------------------------------------------------
# micropython_module/tools/xtensa_llvm_fixup.py: the objects it writes hold none of the
# four things the 1.23 mpy_ld links wrongly without a word, and two objects with equal
# section layouts and equal static names link into distinct GOT entries.

LLVM = "22"
LLVM_TOOLS = [f"clang-{LLVM}", f"llc-{LLVM}", f"llvm-mc-{LLVM}", f"llvm-objcopy-{LLVM}"]
needs_llvm = pytest.mark.skipif(any(shutil.which(t) is None for t in LLVM_TOOLS),
                                reason=f"LLVM {LLVM} is not installed (make llvm-xtensa installs it)")
FIXUP = ROOT / "micropython_module" / "tools" / "xtensa_llvm_fixup.py"
XTENSA_OBJ = ROOT / "build" / "natmod" / "xtensawin" / "obj"
MPY_DIR = Path(os.environ.get("MPY_DIR", ROOT / "build" / "micropython"))
R_XTENSA_32, R_XTENSA_SLOT0_OP = 1, 20
MPY_LD_PREFIXES = (".literal", ".text", ".rodata", ".data.rel.ro", ".bss")

# Two files alike: the same static function names, a table of function pointers and
# one of string pointers (.rodata with relocations), a switch (a jump table), calls of
# a static function through a literal, float constants and a float division (__divsf3).
SAMPLE = r"""
typedef int (*op_t)(int);
static int twice(int x) { return 2 * x + K; }
static int thrice(int x) { return 3 * x - K; }
static const op_t ops[] = {twice, thrice, twice};
static __attribute__((noinline)) int scaled(int x) { return x * K + 1; }
int use_NAME(int x) { return scaled(x) + scaled(x + 1); }
static const char *const names[] = {"twice" S, "thrice" S};
int call_NAME(int i, int x) { return ops[i % 3](x); }
const char *name_NAME(int i) { return names[i & 1]; }
int switch_NAME(int k) {
    switch (k) {
        case 0: return 11 * K; case 1: return 23; case 2: return 37 + K; case 3: return 41;
        case 4: return 53; case 5: return 67 - K; case 6: return 71; default: return -1;
    }
}
float ratio_NAME(float a, float b) { return a / b + 1.5f; }
"""


def xtensa_object(tmp_path: Path, name: str, source: str) -> Path:
    """C -> IR -> llc -> gather literals -> llvm-mc -> fix-up: the rule of
    micropython_module/Makefile, with only the flags that matter here."""
    c = tmp_path / f"{name}.c"
    c.write_text(source)
    out = tmp_path / name
    py = sys.executable
    steps = [
        [f"clang-{LLVM}", "--target=xtensa", "-std=c99", "-Os", "-ffreestanding", "-Wall", "-Wextra",
         "-Werror", "-emit-llvm", "-c", "-o", f"{out}.bc", str(c)],
        [f"llc-{LLVM}", "-mtriple=xtensa", "-mcpu=esp32", "-o", f"{out}.llc.s", f"{out}.bc"],
        [py, str(FIXUP), "asm", f"{out}.llc.s", f"{out}.lit.s"],
        [f"llvm-mc-{LLVM}", "-triple=xtensa", "-mcpu=esp32", "-filetype=obj", "-o", f"{out}.mc.elf",
         f"{out}.lit.s"],
        [py, str(FIXUP), "obj", "--objcopy", f"llvm-objcopy-{LLVM}", "--tag", name, f"{out}.mc.elf",
         f"{out}.o"],
    ]
    for cmd in steps:
        subprocess.run(cmd, check=True, capture_output=True, text=True)
    text = Path(f"{out}.lit.s").read_text()
    assert ".literal_position" not in text and "\t.literal\t" not in text and " .literal " not in text
    return Path(f"{out}.o")


def check_object(path: Path, tag: str | None = None) -> None:
    """What mpy_ld needs of an object and does not check itself."""
    from elftools.elf.elffile import ELFFile

    with open(path, "rb") as f:
        elf = ELFFile(f)
        sections = list(elf.iter_sections())
        symbols = list(elf.get_section_by_name(".symtab").iter_symbols())
        loaded = [s for s in sections if s.name.startswith(MPY_LD_PREFIXES) and s.data_size]
        assert sum(s.name.startswith(".literal") for s in loaded) <= 1, "one literal section"
        for s in loaded:
            if tag is not None:
                assert s.name.endswith("." + tag), f"{path.name}: {s.name} not tagged"
            if s.name.startswith(".literal"):
                assert s.header.sh_addralign % 4 == 0 and s.data_size % 4 == 0
        for rela in sections:
            if rela.header.sh_type != "SHT_RELA":
                continue
            target = sections[rela.header.sh_info]
            if not target.name.startswith(MPY_LD_PREFIXES):
                continue
            assert not target.name.startswith(".rodata"), f"{path.name}: relocated {target.name}"
            data = target.data()
            for r in rela.iter_relocations():
                sym = symbols[r["r_info_sym"]]
                assert r["r_info_type"] in (R_XTENSA_32, R_XTENSA_SLOT0_OP)
                if r["r_info_type"] == R_XTENSA_32 and sym["st_info"]["type"] == "STT_SECTION":
                    assert r["r_addend"] == 0, f"{path.name}: addend left in {target.name}"
                if r["r_info_type"] == R_XTENSA_SLOT0_OP:
                    insn = data[r["r_offset"]:r["r_offset"] + 3]
                    assert insn[0] & 0x0F == 1, "SLOT0_OP only on l32r"
                    assert insn[1:] == b"\0\0", f"{path.name}: l32r offset field not cleared"
        for s in symbols:
            if tag is not None and s.name and s["st_info"]["bind"] == "STB_LOCAL" \
                    and s["st_info"]["type"] not in ("STT_SECTION", "STT_FILE"):
                assert s.name.startswith(tag + "."), f"{path.name}: local symbol {s.name} not tagged"


@needs_llvm
def test_fixup_objects_link_with_distinct_got_entries(tmp_path):
    mpy_ld = MPY_DIR / "tools" / "mpy_ld.py"
    if not mpy_ld.exists():
        pytest.fail(f"{mpy_ld} is missing: `make setup` unpacks MicroPython's source")
    objs = []
    for name, k, s in (("one", 5, '" one"'), ("two", 9, '" two"')):
        src = f"#define K {k}\n#define S {s}\n" + SAMPLE.replace("NAME", name)
        if name == "one":
            src += "int mpy_init(void) { return 0; }\n"
        objs.append(xtensa_object(tmp_path, name, src))
        check_object(objs[-1], tag=name)
    # __divsf3 comes from the project's helpers, as in the module
    rt = tmp_path / "rt.o"
    subprocess.run([f"clang-{LLVM}", "--target=xtensa", "-std=c99", "-Os", "-ffreestanding", "-emit-llvm",
                    "-c", "-o", tmp_path / "rt.bc", str(RT_SRC)], check=True)
    subprocess.run([f"llc-{LLVM}", "-mtriple=xtensa", "-mcpu=esp32", "-o", tmp_path / "rt.llc.s",
                    tmp_path / "rt.bc"], check=True)
    subprocess.run([sys.executable, str(FIXUP), "asm", tmp_path / "rt.llc.s", tmp_path / "rt.lit.s"], check=True)
    subprocess.run([f"llvm-mc-{LLVM}", "-triple=xtensa", "-mcpu=esp32", "-filetype=obj", "-o",
                    tmp_path / "rt.mc.elf", tmp_path / "rt.lit.s"], check=True)
    subprocess.run([sys.executable, str(FIXUP), "obj", "--objcopy", f"llvm-objcopy-{LLVM}", "--tag", "rt",
                    tmp_path / "rt.mc.elf", rt], check=True)
    check_object(rt, tag="rt")
    result = subprocess.run([sys.executable, str(mpy_ld), "-vv", "--arch", "xtensawin", "-o", "t.mpy",
                             *[o.name for o in objs], rt.name], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    got = []  # mpy_ld -vv: "GOT: <addr>", then "  <offset> <name> -> <section>+<addr>"
    for line in result.stdout.split("\nGOT: ", 1)[1].splitlines()[1:]:
        m = re.match(r"  [0-9a-f]{8} (\S+) -> ", line)
        if m is None:
            break
        got.append(m.group(1))
    # the static functions, the tables and the strings of each object have their own
    # entries: none of "one"'s is shared with "two"
    for name in ("one", "two"):
        mine = [g for g in got if g.split("+")[0].endswith("." + name) or g.startswith(name + ".")]
        assert any(g.startswith(".text.") for g in mine), (name, got)
        assert any(g.startswith(".data.rel.ro.") for g in mine), (name, got)
    assert len(got) == len(set(got))


@needs_llvm
def test_module_objects_are_mended():
    """The ESP32 module's own objects, as `make natmod-all` left them."""
    if shutil.which("xtensa-esp32-elf-gcc"):
        pytest.skip("the module was built with Espressif's gcc (on PATH), not LLVM")
    objs = sorted(XTENSA_OBJ.rglob("*.o"))
    if not objs:
        pytest.fail(f"no objects in {XTENSA_OBJ}: run `make natmod-all`")
    for o in objs:
        check_object(o, tag="_".join(o.relative_to(XTENSA_OBJ).with_suffix("").parts))
