"""The FFT of 64, 256 and 1024 points on the emulated Cortex-M boards, FFT against FFT:
emlml's ``emlml_fft_real`` on n real values against emlearn's ``eml_fft_forward`` (PyPI
emlearn==0.23.2, its C header) on the same values with im = 0, the same float32 twiddles,
bare metal (tests_host/bench/bench_fft_baremetal.c), compiled with arm-none-eabi-gcc and
the flags of emlml's .mpy build for the arch (bench_boards.ARCHS: armv6m = Cortex-M0+
code, soft float, on the Cortex-M3 board; armv7emsp = Cortex-M4F, hard float), run by QEMU
with -icount shift=0: instructions per call, exact to 40 instructions.

    PYTHONPATH=py_tools python -m emlml_dev.bench_fft_boards
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile

import numpy as np


from emlml_dev.bench_boards import ARCHS, CC, COMMON_CFLAGS, INSTR_PER_TICK, LINKER_SCRIPT, run_baremetal
from emlml_dev.bench_emlearn import c_array, import_emlearn
from emlml_dev.paths import CORE_DIR, ROOT

HARNESS = os.path.join(ROOT, "tests_host", "bench", "bench_fft_baremetal.c")
POINTS = (64, 256, 1024)
REPS = 4  # calls per figure (bench_fft_baremetal.c)


def table_header() -> str:
    """COS and SIN of 2 pi k / 1024, k < 512, as spectrum_params rounds them."""
    from emlml_tools.features.spectrum import spectrum_params

    n = max(POINTS)
    p = spectrum_params(n, [0, 1], "none", 1e-10)
    return "\n".join(c_array(name, "float", [repr(float(v)) + "f" for v in values])
                     for name, values in (("COS", p[n:n + n // 2]), ("SIN", p[n + n // 2:2 * n])))


def build(arch: str, work: str) -> str:
    emlearn = import_emlearn()
    with open(os.path.join(work, "bench_fft_table.h"), "w") as f:
        f.write(table_header())
    elf = os.path.join(work, f"bench_fft_{arch}.elf")
    subprocess.run([CC, *ARCHS[arch][0], *COMMON_CFLAGS, f"-I{work}",
                    f"-I{os.path.join(CORE_DIR, 'core')}", f"-I{os.path.join(CORE_DIR, 'features')}",
                    f"-I{os.path.dirname(emlearn.__file__)}", "-nostartfiles", "-T", LINKER_SCRIPT,
                    "-Wl,--gc-sections", "--specs=nano.specs", "-o", elf, HARNESS,
                    os.path.join(CORE_DIR, "features", "emlml_dsp.c"), "-lc", "-lm", "-lgcc"], check=True)
    return elf


def board_input(n: int) -> np.ndarray:
    """The program's n values (its LCG, seed 1)."""
    seed, x = 1, np.empty(n, np.float32)
    for t in range(n):
        seed = (seed * 1664525 + 1013904223) % 2 ** 32
        x[t] = np.float32((seed >> 8) / 16777216.0 - 0.5)
    return x


def fnv1a(values: np.ndarray) -> int:
    h = 2166136261
    for byte in values.astype("<f4").tobytes():
        h = ((h ^ byte) * 16777619) % 2 ** 32
    return h


def reference_bits(n: int) -> int:
    """The FNV-1a of fft_real's bins (re then im) on the program's input."""
    from emlml_tools.features.dsp import fft_real
    from emlml_tools.features.spectrum import spectrum_params

    p = spectrum_params(n, [0, 1], "none", 1e-10)
    re, im = fft_real(board_input(max(POINTS))[:n], p[n:n + n // 2], p[n + n // 2:2 * n])
    return fnv1a(np.concatenate([re, im]))


def measure(arch: str, work: str) -> dict[str, dict[int, float]]:
    """{'emlml': {n: instructions per call}, 'emlearn': {...}}, the empty timing taken off;
    refused unless the board's emlml_fft_real gave fft_real's bits."""
    report = run_baremetal(build(arch, work), ARCHS[arch][1])
    total = report["total"]
    bits = {line.split()[1]: int(line.split()[2]) for line in report["lines"] if line.startswith("BITS ")}
    for n in POINTS:
        if bits.get(f"emlml_{n}") != reference_bits(n):
            raise RuntimeError(f"{arch}: emlml_fft_real of {n} points did not give fft_real's bits")
    return {name: {n: (total[f"{name}_{n}"] - total[f"empty_{n}"]) * INSTR_PER_TICK / REPS
                   for n in POINTS} for name in ("emlml", "emlearn")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.parse_args(argv)
    print(f"{'arch':>10} {'points':>6} {'emlml_fft_real':>15} {'eml_fft_forward':>16} {'ratio':>6}")
    with tempfile.TemporaryDirectory() as work:
        for arch in ARCHS:
            got = measure(arch, work)
            for n in POINTS:
                ours, theirs = got["emlml"][n], got["emlearn"][n]
                print(f"{arch:>10} {n:>6} {ours:>15,.0f} {theirs:>16,.0f} {ours / theirs:>6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
