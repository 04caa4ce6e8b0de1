"""emlml's own feature transformers: scikit-learn compatible (fit/transform on arrays of
windows, usable in a Pipeline and a grid search), each with a C kernel on the board that
gives the same bits (docs/features.md).

A window is one row of ``samples * channels`` values, sample-major (interleaved channels:
``x0 y0 z0 x1 y1 z1 ...``), as an accelerometer delivers it.

    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.ensemble import RandomForestClassifier
    from emlml_tools.features import ChannelStats

    pipe = make_pipeline(ChannelStats(channels=3), StandardScaler(), RandomForestClassifier())
    pipe.fit(windows, labels)        # windows: (n, samples * 3) float32
    # emlml convert pipe.joblib -o m.bin; on the board m.predict(window)
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from emlml_tools.format import c_tables as C

# The statistics in output order, by bit of the C step's mask (EMLML_STAT_LIST).
STATS = tuple(name.lower() for name, _ in sorted(C.STATS.items(), key=lambda kv: kv[1]))


def stats_mask(stats: Sequence[str]) -> int:
    unknown = [s for s in stats if s not in STATS]
    if unknown or not stats:
        raise ValueError(f"unknown statistics {unknown}: choose from {', '.join(STATS)}"
                         if unknown else f"no statistics: choose from {', '.join(STATS)}")
    return sum(1 << STATS.index(s) for s in set(stats))


def channel_stats(x: npt.ArrayLike, channels: int, mask: int) -> npt.NDArray[np.float32]:
    """The reference of the C step STATS (features/emlml_pipeline.c): per channel, the
    statistics of ``mask`` in STATS order, computed in float32 in the C core's order of
    operations (sums in sample order from +0.0), vectorised over windows and channels.
    ``(n, samples * channels)`` -> ``(n, channels * popcount(mask))``, channel-major."""
    x = np.asarray(x, dtype=np.float32)
    v = x.reshape(len(x), -1, channels)  # (n, samples, channels)
    n = v.shape[1]
    count = np.float32(n)
    total = np.zeros(v[:, 0].shape, np.float32)
    squares = np.zeros_like(total)
    lo, hi = v[:, 0].copy(), v[:, 0].copy()
    for t in range(n):
        total += v[:, t]
        squares += v[:, t] * v[:, t]
        lo = np.where(v[:, t] < lo, v[:, t], lo)
        hi = np.where(v[:, t] > hi, v[:, t], hi)
    mean = total / count
    m2, m3, m4, crossings = (np.zeros_like(total) for _ in range(4))
    previous = None
    for t in range(n):
        d = v[:, t] - mean
        d2 = d * d
        m2 += d2
        m3 += d2 * d
        m4 += d2 * d2
        if previous is not None:
            crossings += ((previous < 0) != (d < 0)).astype(np.float32)
        previous = d
    var = m2 / count
    std = np.sqrt(var)
    with np.errstate(divide="ignore", invalid="ignore"):
        skew = np.where(var > 0, (m3 / count) / (var * std), np.float32(0))
        kurt = np.where(var > 0, (m4 / count) / (var * var) - np.float32(3), np.float32(0))
    values = {"mean": mean, "std": std, "rms": np.sqrt(squares / count), "min": lo, "max": hi,
              "ptp": hi - lo, "skew": skew, "kurtosis": kurt, "crossings": crossings}
    chosen = [values[s] for i, s in enumerate(STATS) if mask >> i & 1]
    return np.stack(chosen, axis=2).reshape(len(x), -1).astype(np.float32)


class ChannelStats(TransformerMixin, BaseEstimator):
    """Per-channel statistics of windows: mean, standard deviation (population), RMS,
    min, max, peak-to-peak, skewness and excess kurtosis (population, 0 for a constant
    channel), mean crossings (sign changes of ``x - mean`` between consecutive samples).

    ``channels``: values per sample (the window is sample-major); ``stats``: which ones,
    output in STATS order for each channel in turn. Output is float32, the bits the board
    computes."""

    def __init__(self, channels: int = 1, stats: Sequence[str] = STATS) -> None:
        self.channels = channels
        self.stats = stats

    def fit(self, X: npt.ArrayLike, y: object = None) -> "ChannelStats":
        X = validate_data(self, X, dtype=np.float32, reset=True)
        if self.channels < 1 or X.shape[1] % self.channels:
            raise ValueError(f"windows of {X.shape[1]} values are not samples of "
                             f"{self.channels} channels")
        self.mask_ = stats_mask(list(self.stats))
        return self

    def transform(self, X: npt.ArrayLike) -> npt.NDArray[np.float32]:
        check_is_fitted(self, "mask_")
        X = validate_data(self, X, dtype=np.float32, reset=False)
        return channel_stats(X, self.channels, self.mask_)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        check_is_fitted(self, "mask_")
        return np.array([f"ch{c}_{s}" for c in range(self.channels)
                         for i, s in enumerate(STATS) if self.mask_ >> i & 1], dtype=object)


# ---------------------------------------------------------------------------- spectrum

_F = np.float32


def log_f32(x: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """Natural logarithm of float32 ``x > 0`` with the C core's own float32 operations
    (features/emlml_pipeline.c: log_f32, fdlibm's logf reduction and polynomial), so the
    board and the host agree to the bit; within 2 ulp of ``np.log``. Infinity stays."""
    x = np.asarray(x, dtype=np.float32)
    bits = x.view(np.uint32)
    e = (bits >> 23).astype(np.int32) - 127
    m_bits = (bits & np.uint32(0x007FFFFF)) | np.uint32(0x3F800000)
    high = m_bits > np.uint32(0x3FB504F3)
    m_bits = np.where(high, m_bits - np.uint32(0x00800000), m_bits).astype(np.uint32)
    e = e + high.astype(np.int32)
    f = m_bits.view(np.float32) - _F(1)
    s = f / (_F(2) + f)
    z = s * s
    r = z * (_F(0.66666662693) + z * (_F(0.40000972152) + z * (_F(0.28498786688) + z * _F(0.24279078841))))
    hfsq = _F(0.5) * f * f
    k = e.astype(np.float32)
    out = k * _F(6.9313812256e-01) - ((hfsq - (s * (hfsq + r) + k * _F(9.0580006145e-06))) - f)
    return np.where(np.isfinite(x), out, x).astype(np.float32)


def spectrum_params(n: int, edges: Sequence[int], window: str, eps: float) -> npt.NDArray[np.float32]:
    """SPECTRUM's parameter block (FORMAT.md, Pipelines): the window, cos and sin of
    2 pi k / n (computed in float64, rounded to float32), the band edges, eps."""
    t = np.arange(n)
    w = np.ones(n) if window == "none" else 0.5 - 0.5 * np.cos(2 * np.pi * t / n)  # periodic Hann
    k = np.arange(n // 2)
    return np.concatenate([w, np.cos(2 * np.pi * k / n), np.sin(2 * np.pi * k / n),
                           np.asarray(edges, np.float64), [eps]]).astype(np.float32)


def spectrum(x: npt.ArrayLike, channels: int, params: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """The reference of the C step SPECTRUM: per channel, the mean removed, times the
    window, an n-point radix-2 FFT (the C core's butterflies in its order), the power
    ``re^2 + im^2`` summed per band of bins, plus eps, log_f32. ``(m, n * channels)`` ->
    ``(m, channels * bands)``, channel-major."""
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
    bits = n.bit_length() - 1
    rev = np.array([int(format(t, f"0{bits}b")[::-1], 2) if bits else 0 for t in range(n)])
    re = np.empty_like(v)
    re[:, :, rev] = (v - mean[:, :, None]) * window
    im = np.zeros_like(v)
    size = 2
    while size <= n:
        half, step = size // 2, n // size
        a = (np.arange(0, n, size)[:, None] + np.arange(half)[None, :]).reshape(-1)
        b = a + half
        j = np.tile(np.arange(half), n // size)
        wr, wi = cosine[j * step], sine[j * step]
        tr = wr * re[:, :, b] + wi * im[:, :, b]
        ti = wr * im[:, :, b] - wi * re[:, :, b]
        re_a, im_a = re[:, :, a], im[:, :, a]
        re[:, :, b], im[:, :, b] = re_a - tr, im_a - ti
        re[:, :, a], im[:, :, a] = re_a + tr, im_a + ti
        size *= 2
    out = np.empty((len(x), channels, len(edges) - 1), np.float32)
    for band in range(len(edges) - 1):
        power = np.zeros(v.shape[:2], np.float32)
        for k in range(edges[band], edges[band + 1]):
            power += re[:, :, k] * re[:, :, k] + im[:, :, k] * im[:, :, k]
        out[:, :, band] = log_f32(power + eps)
    return out.reshape(len(x), -1)


class Spectrum(TransformerMixin, BaseEstimator):
    """Spectral power per band of each channel of windows, as Edge Impulse's "spectral
    analysis" computes it in its FFT mode: the channel's mean removed, a window (periodic
    Hann, or none), a real FFT of the window's ``n`` samples (a power of two), the power
    ``|X_k|^2`` of bins ``k = 0 .. n/2`` summed per band, ``log(power + eps)`` with
    emlml's own float32 log (``log_f32``). ``bands``: a number of equal-width bands over
    bins ``1 .. n/2`` (the DC bin, 0 after the mean is removed, left out), or the band
    edges in bins (increasing integers up to ``n/2 + 1``). Output float32, channel by
    channel: the bits the board computes."""

    def __init__(self, channels: int = 1, bands: int | Sequence[int] = 8, window: str = "hann",
                 eps: float = 1e-10) -> None:
        self.channels = channels
        self.bands = bands
        self.window = window
        self.eps = eps

    def fit(self, X: npt.ArrayLike, y: object = None) -> "Spectrum":
        X = validate_data(self, X, dtype=np.float32, reset=True)
        if self.channels < 1 or X.shape[1] % self.channels:
            raise ValueError(f"windows of {X.shape[1]} values are not samples of "
                             f"{self.channels} channels")
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
        self.params_ = spectrum_params(n, edges, self.window, self.eps)
        self.n_bands_ = len(edges) - 1
        return self

    def transform(self, X: npt.ArrayLike) -> npt.NDArray[np.float32]:
        check_is_fitted(self, "params_")
        X = validate_data(self, X, dtype=np.float32, reset=False)
        return spectrum(X, self.channels, self.params_)
