"""IIR filters as second-order sections (the C step SOS): ``SOSFilter`` takes any
scipy.signal ``sos`` array, ``Butterworth`` designs one with scipy.signal.butter."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import scipy.signal
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from emlml_tools.features.windows import fit_windows
from emlml_tools.format import c_tables as C

_F = np.float32
COEFFS = 5  # b0 b1 b2 a1 a2 per section (a0 = 1)


def sos_params(sos: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """SOS's parameters (FORMAT.md, Pipelines): the section count, then each section's
    ``b0 b1 b2 a1 a2`` divided by its ``a0`` (in float64), rounded to float32."""
    s = np.asarray(sos, dtype=np.float64).reshape(-1, 6)
    coeffs = np.concatenate([s[:, :3], s[:, 4:]], axis=1) / s[:, 3:4]
    with np.errstate(over="ignore"):
        return np.concatenate([[len(s)], coeffs.reshape(-1)]).astype(np.float32)


def unstable_param(p: npt.ArrayLike) -> int | None:
    """The C loader's stability check (the triangle ``|a2| < 1``, ``|a1| < 1 + a2`` in
    float32, section by section): the index of the first failing parameter, or None."""
    p = np.asarray(p, dtype=np.float32)
    for j in range(int(p[0])):
        at = 1 + COEFFS * j
        a1, a2 = p[at + 3], p[at + 4]
        if not abs(a2) < _F(1):
            return at + 4
        if not abs(a1) < _F(1) + a2:
            return at + 3
    return None


def sosfilt_f32(x: npt.ArrayLike, channels: int, params: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """The reference of the C step SOS: per channel of ``(m, samples * channels)``
    sample-major windows, each section in turn from a zero state, transposed direct form
    II as scipy.signal.sosfilt: ``y = b0 x + z1``, ``z1 = (b1 x - a1 y) + z2``,
    ``z2 = b2 x - a2 y``, every operation float32, vectorised over windows and channels."""
    p = np.asarray(params, dtype=np.float32)
    v = np.asarray(x, dtype=np.float32).reshape(len(x), -1, channels)
    out = v.copy()
    with np.errstate(over="ignore", invalid="ignore"):
        for j in range(int(p[0])):
            b0, b1, b2, a1, a2 = p[1 + COEFFS * j:1 + COEFFS * (j + 1)]
            z1 = np.zeros(out[:, 0].shape, np.float32)
            z2 = np.zeros_like(z1)
            for t in range(out.shape[1]):
                xt = out[:, t].copy()
                y = b0 * xt + z1
                z1 = b1 * xt - a1 * y + z2
                z2 = b2 * xt - a2 * y
                out[:, t] = y
    return out.reshape(len(x), -1)


class _SOSBase(TransformerMixin, BaseEstimator):
    """Fit and transform of a filter whose sections ``_design`` gives."""

    def _design(self) -> np.ndarray:
        raise NotImplementedError

    def fit(self, X: npt.ArrayLike, y: object = None) -> "_SOSBase":
        X = fit_windows(self, X, self.channels)
        sos = np.asarray(self._design(), dtype=np.float64)
        if sos.ndim != 2 or sos.shape[1] != 6 or not 1 <= len(sos) <= C.PIPE_MAX_SECTIONS:
            raise ValueError(f"sos of shape {sos.shape}: give 1 .. {C.PIPE_MAX_SECTIONS} sections "
                             "of 6 coefficients (scipy.signal's sos)")
        if not np.isfinite(sos).all() or (sos[:, 3] == 0).any():
            raise ValueError("sos coefficients must be finite, with a0 != 0")
        params = sos_params(sos)
        if not np.isfinite(params).all():
            raise ValueError("sos coefficients are not finite in float32: rescale the filter")
        # scipy's poles of the float32 coefficients the board runs, and the loader's check
        rounded = np.insert(params[1:].reshape(-1, COEFFS).astype(np.float64), 3, 1.0, axis=1)
        poles = scipy.signal.sos2zpk(rounded)[1]
        if len(poles) and np.abs(poles).max() >= 1 or unstable_param(params) is not None:
            raise ValueError(f"the filter is unstable in float32 (a pole at |p| = "
                             f"{np.abs(poles).max():.7f}): move the cutoff away from 0 and the "
                             "Nyquist frequency, or lower the order")
        self.params_ = params
        return self

    def transform(self, X: npt.ArrayLike) -> npt.NDArray[np.float32]:
        check_is_fitted(self, "params_")
        X = validate_data(self, X, dtype=np.float32, reset=False)
        y = sosfilt_f32(X, self.channels, self.params_)
        bad = np.argwhere(~np.isfinite(y))
        if len(bad):
            raise ValueError(f"{type(self).__name__}: output {bad[0][1]} of window {bad[0][0]} "
                             "overflows float32: scale the input down")
        return y


class SOSFilter(_SOSBase):
    """An IIR filter from scipy.signal's second-order sections ``sos`` (``(k, 6)``, e.g.
    ``scipy.signal.butter(4, 5, fs=50, output="sos")``), applied to each channel of
    sample-major windows as ``scipy.signal.sosfilt`` does from a zero initial state, in
    float32 (the bits the board computes). An unstable filter is refused."""

    def __init__(self, sos: npt.ArrayLike = ((1.0, 0.0, 0.0, 1.0, 0.0, 0.0),), channels: int = 1) -> None:
        self.sos = sos
        self.channels = channels

    def _design(self) -> np.ndarray:
        return np.asarray(self.sos, dtype=np.float64)


class Butterworth(_SOSBase):
    """A Butterworth low- or high-pass filter of ``order`` with its -3 dB ``cutoff`` in Hz
    at ``sample_rate`` Hz, designed by ``scipy.signal.butter(order, cutoff, kind,
    output="sos", fs=sample_rate)`` and applied as ``SOSFilter``. The converter stores
    ``sample_rate`` as the window's sample rate."""

    def __init__(self, kind: str = "lowpass", cutoff: float = 5.0, order: int = 4,
                 sample_rate: float = 50.0, channels: int = 1) -> None:
        self.kind = kind
        self.cutoff = cutoff
        self.order = order
        self.sample_rate = sample_rate
        self.channels = channels

    def _design(self) -> np.ndarray:
        if self.kind not in ("lowpass", "highpass"):
            raise ValueError(f"kind {self.kind!r}: use 'lowpass' or 'highpass'")
        if not (isinstance(self.order, (int, np.integer)) and
                1 <= self.order <= 2 * C.PIPE_MAX_SECTIONS):
            raise ValueError(f"order {self.order}: an integer 1 .. {2 * C.PIPE_MAX_SECTIONS}")
        if not (math.isfinite(self.sample_rate) and self.sample_rate > 0
                and 0 < self.cutoff < self.sample_rate / 2):
            raise ValueError(f"cutoff {self.cutoff} Hz at {self.sample_rate} Hz: the cutoff must "
                             f"lie between 0 and the Nyquist frequency {self.sample_rate / 2} Hz")
        return scipy.signal.butter(int(self.order), self.cutoff, btype=self.kind, output="sos",
                                   fs=self.sample_rate)
