"""Spectrum: spectral power per band of each channel of windows (the C step SPECTRUM)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from emlml_tools.features.dsp import fft_real, log_f32
from emlml_tools.features.stats import channel_stats, stats_mask
from emlml_tools.features.windows import fit_windows
from emlml_tools.format import c_tables as C

# The statistics of the power spectrum Spectrum can append to each channel's bands.
SHAPE_STATS = ("skew", "kurtosis")

_F = np.float32


def spectrum_params(n: int, edges: Sequence[int], window: str, eps: float) -> npt.NDArray[np.float32]:
    """SPECTRUM's parameter block (FORMAT.md, Pipelines): the window, cos and sin of
    2 pi k / n (computed in float64, rounded to float32), the band edges, eps."""
    t = np.arange(n)
    w = np.ones(n) if window == "none" else 0.5 - 0.5 * np.cos(2 * np.pi * t / n)  # periodic Hann
    k = np.arange(n // 2)
    return np.concatenate([w, np.cos(2 * np.pi * k / n), np.sin(2 * np.pi * k / n),
                           np.asarray(edges, np.float64), [eps]]).astype(np.float32)


def spectrum(x: npt.ArrayLike, channels: int, params: npt.ArrayLike, shape: int = 0
             ) -> npt.NDArray[np.float32]:
    """The reference of the C step SPECTRUM: per channel, the mean removed, times the
    window, an n-point radix-2 FFT (the C core's butterflies in its order), the power
    ``re^2 + im^2`` summed per band of bins, plus eps, log_f32; then the statistics of
    the STATS mask ``shape`` (skew, kurtosis) of the powers of bins ``0 .. n/2`` divided
    by the largest. ``(m, n * channels)`` -> ``(m, channels * (bands + shapes))``,
    channel-major."""
    x = np.asarray(x, dtype=np.float32)
    p = np.asarray(params, dtype=np.float32)
    v = x.reshape(len(x), -1, channels).transpose(0, 2, 1)  # (m, channels, n)
    n = v.shape[2]
    window, cosine, sine = p[:n], p[n:n + n // 2], p[n + n // 2:2 * n]
    edges = p[2 * n:-1].astype(np.int64)
    eps = p[-1]
    total = np.zeros(v.shape[:2], np.float32)
    for t in range(n):
        total += v[:, :, t]
    mean = total / _F(n)
    re, im = fft_real((v - mean[:, :, None]) * window, cosine, sine)
    out = np.empty((len(x), channels, len(edges) - 1), np.float32)
    for band in range(len(edges) - 1):
        power = np.zeros(v.shape[:2], np.float32)
        for k in range(edges[band], edges[band + 1]):
            power += re[:, :, k] * re[:, :, k] + im[:, :, k] * im[:, :, k]
        out[:, :, band] = log_f32(power + eps)
    if shape:
        out = np.concatenate([out, _shape_stats(re, im, shape)], axis=2)
    return out.reshape(len(x), -1)


def _shape_stats(re: np.ndarray, im: np.ndarray, shape: int) -> np.ndarray:
    """(m, channels, bins) -> (m, channels, popcount(shape)): the C core's
    spectrum_shape_stats, ChannelStats' float32 skewness and kurtosis of the powers
    divided by the largest (left as they are when it is 0)."""
    power = re * re + im * im
    hi = np.zeros(power.shape[:2], np.float32)
    for k in range(power.shape[2]):
        hi = np.where(power[:, :, k] > hi, power[:, :, k], hi)
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = np.where(hi[:, :, None] > 0, power / hi[:, :, None], power)
    m, channels, bins = power.shape
    return channel_stats(scaled.reshape(m * channels, bins), 1, shape).reshape(m, channels, -1)


class Spectrum(TransformerMixin, BaseEstimator):
    """Spectral power per band of each channel of windows, as Edge Impulse's "spectral
    analysis" computes it in its FFT mode: the channel's mean removed, a window (periodic
    Hann, or none), a real FFT of the window's ``n`` samples (a power of two), the power
    ``|X_k|^2`` of bins ``k = 0 .. n/2`` summed per band, ``log(power + eps)`` with
    emlml's own float32 log (``log_f32``). ``bands``: a number of equal-width bands over
    bins ``1 .. n/2`` (the DC bin, 0 after the mean is removed, left out), or the band
    edges in bins (increasing integers up to ``n/2 + 1``). Output float32, channel by
    channel: the bits the board computes.

    ``shape``: statistics of each channel's power spectrum appended after its bands, of
    ``("skew", "kurtosis")``: as Edge Impulse's spectral skewness and kurtosis,
    ``scipy.stats.skew`` and ``kurtosis`` (population, excess) of the powers of bins
    ``0 .. n/2`` (DC included); EI's FFT has no window (``window="none"`` gives its
    values; they do not depend on the scale, so its ``1/n`` does not matter)."""

    def __init__(self, channels: int = 1, bands: int | Sequence[int] = 8, window: str = "hann",
                 eps: float = 1e-10, shape: Sequence[str] = ()) -> None:
        self.channels = channels
        self.bands = bands
        self.window = window
        self.eps = eps
        self.shape = shape

    def fit(self, X: npt.ArrayLike, y: object = None) -> "Spectrum":
        X = fit_windows(self, X, self.channels)
        n = X.shape[1] // self.channels
        if n < 2 or n & (n - 1) or n > C.PIPE_MAX_FFT:
            raise ValueError(f"{n} samples per channel: the FFT takes a power of two, 2 .. "
                             f"{C.PIPE_MAX_FFT}")
        if self.window not in ("hann", "none"):
            raise ValueError(f"window {self.window!r}: use 'hann' or 'none'")
        if isinstance(self.bands, (int, np.integer)):
            if not 1 <= self.bands <= n // 2:
                raise ValueError(f"{self.bands} bands: 1 .. {n // 2} for {n} samples")
            edges = np.round(np.linspace(1, n // 2 + 1, int(self.bands) + 1)).astype(int)
        else:
            edges = np.asarray(self.bands, dtype=int)
        if len(edges) < 2 or (np.diff(edges) <= 0).any() or edges[0] < 0 or edges[-1] > n // 2 + 1:
            raise ValueError(f"band edges {[int(e) for e in edges]}: increasing bins 0 .. {n // 2 + 1}")
        if not np.float32(self.eps) >= np.finfo(np.float32).tiny:
            raise ValueError(f"eps {self.eps} must be a positive normal float32")
        unknown = [s for s in self.shape if s not in SHAPE_STATS]
        if unknown:
            raise ValueError(f"shape {unknown}: choose from {', '.join(SHAPE_STATS)}")
        self.params_ = spectrum_params(n, edges, self.window, self.eps)
        self.n_bands_ = len(edges) - 1
        self.shape_ = stats_mask(list(self.shape)) if len(self.shape) else 0
        return self

    def transform(self, X: npt.ArrayLike) -> npt.NDArray[np.float32]:
        check_is_fitted(self, "params_")
        X = validate_data(self, X, dtype=np.float32, reset=False)
        return spectrum(X, self.channels, self.params_, self.shape_)

    @property
    def n_outputs_(self) -> int:
        """Values per channel: the bands, then the shape statistics."""
        return self.n_bands_ + bin(self.shape_).count("1")
