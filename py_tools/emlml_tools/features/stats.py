"""ChannelStats: per-channel statistics of windows (the C step STATS)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from emlml_tools.features.windows import fit_windows
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
        X = fit_windows(self, X, self.channels)
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
