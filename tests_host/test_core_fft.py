"""emlml's real FFT (micropython_module/features/emlml_dsp.c: emlml_fft_real, and its
NumPy mirror features/dsp.py: fft_real) for every n = 2 .. 4096 (EMLML_PIPE_MAX_FFT):
NumPy's float64 rfft within the documented bound, the C core's bits (ASan + UBSan, gcc
and clang) equal to the mirror's, and the SPECTRUM step through the C driver equal to the
reference runtime's."""

from __future__ import annotations

import os
import subprocess

import numpy as np
import pytest
from runtimes import BUILD, HOST_DRIVERS, SAN_ENV, require_built

from emlml_tools import runtime
from emlml_tools.features.dsp import fft_real
from emlml_tools.features.spectrum import spectrum_params
from emlml_tools.format import c_tables as C

POINTS = [2 ** e for e in range(1, C.PIPE_MAX_FFT.bit_length())]
FFT_DRIVERS = [os.path.join(BUILD, "host", name) for name in ("test_fft", "test_fft_clang")]
UNIT_ROUNDOFF = 2.0 ** -24  # float32


def test_points_reach_the_limit():
    assert POINTS[0] == 2 and POINTS[-1] == C.PIPE_MAX_FFT


def twiddles(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The float32 cos and sin of 2 pi k / n, k < n / 2, as a SPECTRUM step's parameters hold them."""
    p = spectrum_params(n, [0, 1], "none", 1e-10)
    return p[n:n + n // 2], p[n + n // 2:2 * n]


def signals(n: int, seed: int = 0) -> np.ndarray:
    """Windows of n float32 values: Gaussian, uniform, magnitudes over 12 decades, sines
    at random bins and phases, an impulse at each of a few places, constants, zeros,
    alternating signs, and the largest and smallest normal float32 magnitudes."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    rows = [rng.normal(size=(40, n)), rng.uniform(-1, 1, (40, n)),
            rng.normal(size=(20, n)) * 10.0 ** rng.uniform(-6, 6, (20, n)),
            np.sin(2 * np.pi * rng.integers(0, n // 2 + 1, (20, 1)) * t / n + rng.uniform(0, 6, (20, 1))),
            np.eye(n)[sorted({0, 1, n // 2, n - 1})], np.full((1, n), 3.5), np.zeros((1, n)),
            np.where(t % 2, -1.0, 1.0)[None, :], rng.choice([-1.0, 1.0], (2, n)) * 1e30,
            rng.choice([-1.0, 1.0], (2, n)) * float(np.finfo(np.float32).tiny)]
    return np.concatenate(rows).astype(np.float32)


@pytest.mark.parametrize("n", POINTS)
def test_fft_real_matches_float64_rfft(n):
    """The documented bound (docs/features.md, Spectrum): per window, the float32 FFT's
    error in the L2 norm over bins 0 .. n/2 is at most 2 log2(n) float32 unit roundoffs of
    the float64 spectrum's norm (measured: at most 0.96 log2(n), at n = 2)."""
    x = signals(n, seed=n)[:-2]  # the tiny values lose bits to subnormals: left out
    re, im = fft_real(x, *twiddles(n))
    assert re.dtype == im.dtype == np.float32 and re.shape == im.shape == (len(x), n // 2 + 1)
    want = np.fft.rfft(x.astype(np.float64))
    err = np.linalg.norm(re.astype(np.float64) + 1j * im - want, axis=1)
    scale = np.linalg.norm(want, axis=1)
    bound = 2 * np.log2(n) * UNIT_ROUNDOFF * scale
    assert (err <= bound).all(), (err / np.maximum(scale, 1e-300)).max()
    zero = ~scale.astype(bool)
    assert (err[zero] == 0).all() and zero.sum() == 1  # the zero window gives zeros


@pytest.mark.parametrize("n", POINTS)
@pytest.mark.parametrize("driver", FFT_DRIVERS, ids=["gcc", "clang"])
def test_c_fft_real_bits_equal_numpy(driver, n, tmp_path):
    cosine, sine = twiddles(n)
    x = signals(n, seed=n + 1)
    path_in, path_out = tmp_path / "in.bin", tmp_path / "out.bin"
    path_in.write_bytes(np.array([n, len(x)], np.uint32).tobytes() + cosine.tobytes() + sine.tobytes()
                        + x.tobytes())
    result = subprocess.run([require_built(driver), str(path_in), str(path_out)], capture_output=True,
                            text=True, env=SAN_ENV, timeout=300)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    got = np.fromfile(path_out, np.float32).reshape(len(x), 2, n // 2 + 1)
    re, im = fft_real(x, cosine, sine)
    assert got[:, 0].view(np.uint32).tolist() == re.view(np.uint32).tolist()
    assert got[:, 1].view(np.uint32).tolist() == im.view(np.uint32).tolist()


@pytest.mark.parametrize("n", POINTS)
@pytest.mark.parametrize("driver", HOST_DRIVERS[:2], ids=["gcc", "clang"])
def test_c_spectrum_step_bits_equal_reference(driver, n, tmp_path):
    """The SPECTRUM step (mean, Hann window, FFT, power, log per bin) in the C driver
    against the reference runtime, bit for bit, a band per bin 1 .. n/2."""
    from sklearn.neighbors import KNeighborsRegressor
    from sklearn.pipeline import make_pipeline

    from emlml_tools.convert.sklearn_models import convert
    from emlml_tools.features import Spectrum

    x = signals(n, seed=n + 2)[:60]
    blob = convert(make_pipeline(Spectrum(1, bands=n // 2), KNeighborsRegressor(1)).fit(x, np.arange(len(x))))
    (tmp_path / "m.bin").write_bytes(blob)
    (tmp_path / "x.bin").write_bytes(x.tobytes())
    result = subprocess.run([require_built(driver), str(tmp_path / "m.bin"), str(tmp_path / "x.bin"),
                             "transform"], capture_output=True, text=True, env=SAN_ENV, timeout=300)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    want = runtime.transform(blob, x).view(np.uint32)
    lines = result.stdout.splitlines()
    assert len(lines) == len(x)
    for i, line in enumerate(lines):
        assert line.split() == ["features"] + [f"{v:08x}" for v in want[i]], (i, line)
