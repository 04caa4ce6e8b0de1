"""Instructions per window of the feature steps on the emulated Cortex-M boards: the
armv6m emlml.mpy (Cortex-M0+ code, soft float) on the Cortex-M3 board and the armv7emsp
emlml.mpy (Cortex-M4F, hard float) on the Cortex-M4F board, QEMU with -icount shift=0
(one tick of the 25 MHz clock = 40 instructions). Each row is one Pipeline's
``m.transform(window, out)`` (every step, nothing allocated), less a do-nothing call.
Needs `make qemu-firmware natmod-all`.

    PYTHONPATH=py_tools python -m emlml_dev.qemu_bench_features [--windows 10]
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
from sklearn.decomposition import PCA
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from emlml_dev import qemu_board as q
from emlml_dev.paths import ROOT

INSTR_PER_TICK = 40
ON_DEVICE = os.path.join(ROOT, "py_tools", "emlml_dev", "on_device")
BUILDS = [("M3 armv6m", "an385", "armv6m"), ("M4F armv7emsp", "an386", "armv7emsp")]


def cases() -> dict[str, tuple[object, int]]:
    """name -> (the transformers, samples x channels of the window)."""
    from emlml_tools.features import MFCC, MFE, Butterworth, ChannelStats, Spectrum
    kws = {"sample_rate": 16000, "frame_length": 400, "hop": 160, "n_fft": 512, "n_mels": 40}
    return {
        "scale_64x3": (StandardScaler(), 3),
        "stats9_64x3": (ChannelStats(3), 3),
        "scale_pca8_64x3": (make_pipeline(StandardScaler(), PCA(8, random_state=0)), 3),
        "spectrum8_64x3": (Spectrum(3, bands=8), 3),
        "spectrum16_256x1": (Spectrum(1, bands=16), 1),
        "spectrum32_1024x1": (Spectrum(1, bands=32), 1),
        "butter4_64x3": (Butterworth("lowpass", 8.0, 4, 50.0, 3), 3),
        "spectrum8_shape_64x3": (Spectrum(3, bands=8, shape=("skew", "kurtosis")), 3),
        "butter4_spectrum8_shape_64x3": (make_pipeline(Butterworth("lowpass", 8.0, 4, 50.0, 3),
                                                       Spectrum(3, bands=8, shape=("skew", "kurtosis"))), 3),
        # the benchmark: the motion features of a 128-sample 3-axis window
        "stats9_128x3": (ChannelStats(3), 3),
        "spectrum8_128x3": (Spectrum(3, bands=8), 3),
        # keyword spotting at 16 kHz: one 25 ms frame, then 1 s (98 frames, 10 ms hop)
        "mfe40_frame_400x1": (MFE(**kws), 1),
        "mfcc13_frame_400x1": (MFCC(**kws, n_coefficients=13), 1),
        "mfcc13_1s_16000x1": (MFCC(**kws, n_coefficients=13), 1),
    }


def workload(windows: int, names: list[str] | None = None) -> list[tuple[str, bytes, np.ndarray]]:
    """(name, blob, windows x (samples * channels) float32) of each case (or of ``names``):
    the steps with a 1-NN behind them, fitted on 40 random windows (4 for long ones)."""
    from emlml_tools.convert.sklearn_models import convert
    out = []
    rng = np.random.default_rng(0)
    for name, (steps, channels) in cases().items():
        samples = int(name.split("_")[-1].split("x")[0])
        x = rng.normal(size=(40, samples * channels)).astype(np.float32)
        if names is not None and name not in names:
            continue
        fit = 40 if samples <= 1024 else 4  # a small kNN behind the long windows
        pipe = make_pipeline(steps, KNeighborsClassifier(1)).fit(x[:fit], np.arange(fit) % 2)  # nested
        out.append((name, convert(pipe, channels=channels), np.ascontiguousarray(x[:windows])))
    return out


def prepare(work: str, windows: int) -> list[str]:
    os.makedirs(work, exist_ok=True)
    lines = []
    for name, blob, x in workload(windows):
        with open(os.path.join(work, name + ".bin"), "wb") as f:
            f.write(blob)
        with open(os.path.join(work, name + ".x"), "wb") as f:
            f.write(x.tobytes())
        lines.append(f"{name} {x.shape[1]} {windows}")
    with open(os.path.join(work, "features.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return [line.split()[0] for line in lines]


def run(flavour: str, arch: str, work: str, names: list[str]) -> dict[str, float]:
    files = [os.path.join(work, n + ext) for n in names for ext in (".bin", ".x")]
    args = ["mkdir", ":lib", "+", "cp", os.path.join(q.NATMOD_DIR, arch, "emlml.mpy"),
            ":lib/emlml.mpy", "+", "cp", *files, os.path.join(work, "features.txt"), ":", "+",
            "run", os.path.join(ON_DEVICE, "mp_features_icount.py")]
    with q.start(flavour, icount=True) as board:
        out = board.mpremote(*args, timeout=900).stdout
    result = {}
    for line in out.splitlines():
        if line.startswith("RESULT "):
            _, name, ticks, base = line.split()
            t = np.array([int(v) for v in ticks.split(",")], dtype=np.float64)
            b = np.median([int(v) for v in base.split(",")])
            result[name] = float((t - b).mean()) * INSTR_PER_TICK
    missing = [n for n in names if n not in result]
    if missing:
        raise q.BoardError(f"{flavour}/{arch}: no result for {missing}:\n{out[-2000:]}")
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="qemu_bench_features", description=__doc__.split("\n\n")[0])
    p.add_argument("--windows", type=int, default=10)
    args = p.parse_args(argv)
    work = os.path.join(q.BUILD, "qemu_bench_features")
    names = prepare(work, args.windows)
    results = {column: run(flavour, arch, work, names) for column, flavour, arch in BUILDS}
    cols = [c for c, _, _ in BUILDS]
    print("| steps (window) | " + " | ".join(f"{c} instr/window" for c in cols) + " |")
    print("|---|" + "---|" * len(cols))
    for n in names:
        print(f"| {n} | " + " | ".join(f"{results[c][n]:,.0f}" for c in cols) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
