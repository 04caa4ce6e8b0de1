"""The FFT of 64, 256 and 1024 points, FFT against FFT: emlml's ``emlml_fft_real`` on n
real values against emlearn's ``eml_fft_forward`` (PyPI emlearn==0.23.2, its C header) on
the same n values with im = 0, as a user calls it for real data, its table holding the
same float32 twiddles; and emlml's whole SPECTRUM step (features/emlml_pipeline.c: mean,
Hann window, FFT, power per bin, emlml's log). Instructions per call counted by callgrind
on the host (x86-64, one compiler and the same flags for all), and the error of each FFT
against NumPy's float64 ``rfft``: max |X_k - rfft_k| over bins 0 .. n/2, relative to
max |rfft_k| (uniform random values in [-0.5, 0.5)).

    PYTHONPATH=py_tools python -m emlml_dev.bench_fft [--cflags "-O2"] [--cc gcc]
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
REPS = 20  # calls per run (bench_fft.c)
POINTS = (64, 256, 1024)
RUNS = ("run_emlml_fft", "run_emlearn", "run_emlml_step")


def spectrum_blob(n: int) -> bytes:
    """One SPECTRUM step of n points, one band per bin 1 .. n/2, before a 1-NN."""
    from emlml_tools.convert.sklearn_models import convert
    from emlml_tools.features import Spectrum
    from sklearn.neighbors import KNeighborsRegressor
    from sklearn.pipeline import make_pipeline

    x = np.random.default_rng(0).normal(size=(4, n)).astype(np.float32)
    return convert(make_pipeline(Spectrum(1, bands=n // 2), KNeighborsRegressor(1)).fit(x, np.arange(4)))


def callgrind(args: list[str]) -> dict[str, int]:
    """Inclusive instructions of each function of RUNS."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cg.out")
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *args],
                       check=True, capture_output=True, text=True)
        text = subprocess.run(["callgrind_annotate", "--inclusive=yes", out], check=True,
                              capture_output=True, text=True).stdout
    costs = {}
    pattern = r"\s*([\d,]+) \([^)]*\)\s+\S*:(" + "|".join(RUNS) + r")(?:\.\S+)? "
    for line in text.splitlines():
        m = re.match(pattern, line)
        if m:
            costs[m.group(2)] = int(m.group(1).replace(",", ""))
    return costs


def relative_errors(path: str, n: int) -> tuple[float, float]:
    """emlml's and emlearn's max error against float64 rfft, relative to its largest bin."""
    v = np.fromfile(path, dtype=np.float32)
    bins = n // 2 + 1
    x, rest = v[:n], v[n:].reshape(4, bins)
    want = np.fft.rfft(x.astype(np.float64))
    scale = np.abs(want).max()
    return tuple(float(np.abs(re + 1j * im - want).max() / scale)  # type: ignore[return-value]
                 for re, im in (rest[:2].astype(np.float64), rest[2:].astype(np.float64)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cflags", default="-O2")
    parser.add_argument("--cc", default="gcc")
    args = parser.parse_args(argv)
    emlearn = import_emlearn()
    print(f"{'points':>6} {'emlml_fft_real':>15} {'eml_fft_forward':>16} {'ratio':>6} "
          f"{'emlml SPECTRUM step':>20} {'emlml error':>12} {'emlearn error':>14}")
    with tempfile.TemporaryDirectory() as work:
        exe = os.path.join(work, "bench_fft")
        subprocess.run([args.cc, "-std=gnu99", *args.cflags.split(), "-ffp-contract=off",
                        "-fno-math-errno", "-gdwarf-4", f"-I{os.path.join(CORE, 'core')}",
                        f"-I{os.path.join(CORE, 'features')}",
                        f"-I{os.path.dirname(emlearn.__file__)}", "-o", exe, HARNESS,
                        *[os.path.join(CORE, s) for s in core_sources()], "-lm"], check=True)
        for n in POINTS:
            blob, out = os.path.join(work, f"s{n}.bin"), os.path.join(work, f"s{n}.out")
            with open(blob, "wb") as f:
                f.write(spectrum_blob(n))
            costs = {k: v // REPS for k, v in callgrind([exe, blob, out]).items()}
            ours, theirs = relative_errors(out, n)
            print(f"{n:>6} {costs['run_emlml_fft']:>15,} {costs['run_emlearn']:>16,} "
                  f"{costs['run_emlml_fft'] / costs['run_emlearn']:>6.2f} "
                  f"{costs['run_emlml_step']:>20,} {ours:>12.1e} {theirs:>14.1e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
