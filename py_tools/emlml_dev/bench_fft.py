"""The FFT of 64, 256 and 1024 points: emlml's SPECTRUM step (features/emlml_pipeline.c:
mean, Hann window, radix-2 FFT, power per bin, emlml's log) against emlearn's
``eml_fft_forward`` alone (PyPI emlearn==0.23.2, its C header), instructions per window
counted by callgrind on the host (x86-64, the same compiler and flags), and whether the
two FFTs give the same bits when emlearn's table holds emlml's twiddles.

    PYTHONPATH=py_tools python -m emlml_dev.bench_fft [--cflags "-O2"]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import tempfile

import numpy as np

from emlml_dev.bench_emlearn import import_emlearn
from emlml_dev.paths import ROOT, core_sources

CORE = os.path.join(ROOT, "micropython_module")
HARNESS = os.path.join(ROOT, "tests_host", "bench", "bench_fft.c")
REPS = 20  # windows per run (bench_fft.c)


def spectrum_blob(n: int) -> bytes:
    """One SPECTRUM step of n points, one band per bin 1 .. n/2, before a 1-NN."""
    from emlml_tools.convert.sklearn_models import convert
    from emlml_tools.features import Spectrum
    from sklearn.neighbors import KNeighborsRegressor
    from sklearn.pipeline import make_pipeline

    x = np.random.default_rng(0).normal(size=(4, n)).astype(np.float32)
    return convert(make_pipeline(Spectrum(1, bands=n // 2), KNeighborsRegressor(1)).fit(x, np.arange(4)))


def callgrind(exe: str, blob: str) -> tuple[dict[str, int], str]:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cg.out")
        run = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", exe, blob],
                             check=True, capture_output=True, text=True)
        text = subprocess.run(["callgrind_annotate", "--inclusive=yes", out], check=True,
                              capture_output=True, text=True).stdout
    costs = {}
    for line in text.splitlines():
        m = re.match(r"\s*([\d,]+) \([^)]*\)\s+\S*:(run_emlml|run_emlearn)(?:\.\S+)? ", line)
        if m:
            costs[m.group(2)] = int(m.group(1).replace(",", ""))
    return costs, run.stdout.split()[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cflags", default="-O2")
    args = parser.parse_args(argv)
    emlearn = import_emlearn()
    print(f"{'points':>6} {'emlml SPECTRUM step':>20} {'emlearn eml_fft_forward':>24} {'FFT bits':>9}")
    with tempfile.TemporaryDirectory() as work:
        exe = os.path.join(work, "bench_fft")
        subprocess.run(["gcc", "-std=gnu99", *args.cflags.split(), "-ffp-contract=off",
                        "-fno-math-errno", "-g", f"-I{os.path.join(CORE, 'core')}",
                        f"-I{os.path.dirname(emlearn.__file__)}", "-o", exe, HARNESS,
                        *[os.path.join(CORE, s) for s in core_sources()], "-lm"], check=True)
        for n in (64, 256, 1024):
            path = os.path.join(work, f"s{n}.bin")
            with open(path, "wb") as f:
                f.write(spectrum_blob(n))
            costs, same = callgrind(exe, path)
            print(f"{n:>6} {costs['run_emlml'] // REPS:>20,} {costs['run_emlearn'] // REPS:>24,} "
                  f"{same:>9}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
