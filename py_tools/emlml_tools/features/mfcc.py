"""MFE and MFCC: log mel energies and mel cepstral coefficients of frames of a mono
window (the C steps MFE and MFCC, features/emlml_mfcc.c), as keyword spotting uses them.

The filterbank, the window, the twiddles and the DCT are computed on the host in float64
and stored as float32; the board computes the rest in float32 with emlml's own FFT and
log (features/dsp.py), and ``sound`` below is its reference: the same float32 operations
in the same order, vectorised over windows and frames."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from emlml_tools.features.dsp import fft_real, log_f32
from emlml_tools.format import c_tables as C

_F = np.float32
HEAD = 8  # frame, hop, n_fft, mels, coefficients, pre-emphasis, floor, weights (emlml_mfcc.h)
WINDOWS = ("hann", "hamming", "none")
MEL_SCALES = ("htk", "slaney")


def hz_to_mel(hz: npt.ArrayLike, scale: str = "htk") -> np.ndarray:
    """HTK's ``2595 log10(1 + f / 700)``, or Slaney's (Auditory Toolbox; librosa's
    default): linear below 1 kHz, logarithmic above."""
    f = np.asarray(hz, dtype=np.float64)
    if scale == "htk":
        return 2595.0 * np.log10(1.0 + f / 700.0)
    linear = f / (200.0 / 3)
    with np.errstate(divide="ignore"):
        log = 15.0 + np.log(np.maximum(f, 1e-300) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(f >= 1000.0, log, linear)


def mel_to_hz(mel: npt.ArrayLike, scale: str = "htk") -> np.ndarray:
    m = np.asarray(mel, dtype=np.float64)
    if scale == "htk":
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    return np.where(m >= 15.0, 1000.0 * np.exp(np.log(6.4) / 27.0 * (m - 15.0)), m * (200.0 / 3))


def mel_filters(sample_rate: float, n_fft: int, n_mels: int, fmin: float, fmax: float,
                scale: str = "htk", norm: str | None = None) -> np.ndarray:
    """``(n_mels, n_fft / 2 + 1)`` float64 triangular filters over the FFT bins (librosa's
    ``filters.mel`` definition): ``n_mels + 2`` points equally spaced in mel from fmin to
    fmax, filter m rising from point m to m + 1 and falling to m + 2; ``norm="slaney"``
    scales each to unit area (``2 / (f[m + 2] - f[m])``)."""
    freqs = np.arange(n_fft // 2 + 1) * (sample_rate / n_fft)
    hz = mel_to_hz(np.linspace(hz_to_mel(fmin, scale), hz_to_mel(fmax, scale), n_mels + 2), scale)
    ramps = hz[:, None] - freqs[None, :]
    lower = -ramps[:-2] / np.diff(hz)[:-1, None]
    upper = ramps[2:] / np.diff(hz)[1:, None]
    w = np.maximum(0.0, np.minimum(lower, upper))
    if norm == "slaney":
        w *= (2.0 / (hz[2:] - hz[:-2]))[:, None]
    return w


def dct_matrix(n_mels: int, n_coefficients: int, lifter: float = 0.0) -> np.ndarray:
    """The first rows of the orthonormal DCT-II (scipy.fft.dct(norm="ortho")) as a
    ``(n_coefficients, n_mels)`` float64 matrix; with ``lifter`` L > 0, row c times
    ``1 + L / 2 sin(pi c / L)`` (HTK's cepstral liftering)."""
    c = np.arange(n_coefficients)[:, None]
    m = np.arange(n_mels)[None, :]
    d = np.sqrt(2.0 / n_mels) * np.cos(np.pi * c * (2 * m + 1) / (2 * n_mels))
    d[0] /= np.sqrt(2.0)
    if lifter > 0:
        d *= (1.0 + lifter / 2.0 * np.sin(np.pi * np.arange(n_coefficients) / lifter))[:, None]
    return d


def frame_window(name: str, length: int) -> np.ndarray:
    """Periodic Hann ``0.5 - 0.5 cos(2 pi t / L)``, Hamming ``0.54 - 0.46 cos(2 pi t / L)``,
    or ones."""
    t = np.arange(length)
    if name == "none":
        return np.ones(length)
    a = 0.5 if name == "hann" else 0.54
    return a - (1.0 - a) * np.cos(2 * np.pi * t / length)


def sparse_filters(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per filter (first bin, count) of its span of nonzero float32 weights, and the
    weights of every span in filter order."""
    pairs, weights = [], []
    for row in w.astype(np.float32):
        nz = np.flatnonzero(row)
        first, count = (int(nz[0]), int(nz[-1] - nz[0] + 1)) if len(nz) else (0, 0)
        pairs.append((first, count))
        weights.append(row[first:first + count])
    return np.asarray(pairs, np.float64).reshape(-1), np.concatenate(weights)


def sound_params(frame_length: int, hop: int, n_fft: int, window: str, preemphasis: float,
                 floor: float, filters: np.ndarray, dct: np.ndarray | None) -> np.ndarray:
    """MFE's (``dct`` None) or MFCC's parameters (FORMAT.md, Pipelines): the head, the
    window, cos and sin of 2 pi k / n_fft, the sparse filters, the DCT; float32."""
    pairs, weights = sparse_filters(filters)
    n_mels = len(filters)
    n_coefs = 0 if dct is None else len(dct)
    k = np.arange(n_fft // 2)
    head = [frame_length, hop, n_fft, n_mels, n_coefs, preemphasis, floor, len(weights)]
    parts = [np.asarray(head, np.float64), frame_window(window, frame_length),
             np.cos(2 * np.pi * k / n_fft), np.sin(2 * np.pi * k / n_fft), pairs,
             weights.astype(np.float64), np.zeros(0) if dct is None else dct.reshape(-1)]
    return np.concatenate(parts).astype(np.float32)


def n_frames(samples: int, frame_length: int, hop: int) -> int:
    """Frames that fit: frame f starts at f * hop; the samples after the last are unused."""
    return 1 + (samples - frame_length) // hop


def sound(x: npt.ArrayLike, params: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """The reference of the C steps MFE and MFCC: ``(m, samples)`` float32 windows ->
    ``(m, frames * mels)`` (MFE) or ``(m, frames * coefficients)`` (MFCC), frame-major."""
    x = np.asarray(x, dtype=np.float32)
    p = np.asarray(params, dtype=np.float32)
    frame, hop, n_fft, mels, coefs, n_w = (int(v) for v in p[[0, 1, 2, 3, 4, 7]])
    a, floor = p[5], p[6]
    at = HEAD
    window = p[at:at + frame]
    cosine, sine = p[at + frame:at + frame + n_fft // 2], p[at + frame + n_fft // 2:at + frame + n_fft]
    at += frame + n_fft
    pairs = p[at:at + 2 * mels].reshape(mels, 2).astype(np.int64)
    weights = p[at + 2 * mels:at + 2 * mels + n_w]
    dct = p[at + 2 * mels + n_w:at + 2 * mels + n_w + coefs * mels].reshape(coefs, mels)
    before = np.concatenate([np.zeros((len(x), 1), np.float32), x[:, :-1]], axis=1)
    emphasised = x - a * before
    count = n_frames(x.shape[1], frame, hop)
    index = np.arange(count)[:, None] * hop + np.arange(frame)[None, :]
    buf = np.zeros((len(x), count, n_fft), np.float32)
    buf[:, :, :frame] = emphasised[:, index] * window
    re, im = fft_real(buf, cosine, sine)
    power = re * re + im * im
    log_mel = np.empty((len(x), count, mels), np.float32)
    w = 0
    for m, (first, n) in enumerate(pairs):
        energy = np.zeros((len(x), count), np.float32)
        for j in range(n):
            energy += power[:, :, first + j] * weights[w + j]
        w += n
        log_mel[:, :, m] = log_f32(np.where(energy > floor, energy, floor))
    if coefs == 0:
        return log_mel.reshape(len(x), -1)
    out = np.zeros((len(x), count, coefs), np.float32)
    for m in range(mels):
        out += dct[None, None, :, m] * log_mel[:, :, m, None]
    return out.reshape(len(x), -1)


class MFE(TransformerMixin, BaseEstimator):
    """Log mel filterbank energies of frames of a mono window of audio samples.

    Frame f is samples ``f * hop .. f * hop + frame_length - 1`` (the frames that fit;
    the samples after the last are unused), after pre-emphasis ``x[t] - a x[t - 1]``
    (``a = preemphasis``; 0 before the window's first sample), times the window (periodic
    ``"hann"``, ``"hamming"`` or ``"none"``), zero-padded to ``n_fft``; its power
    ``|X_k|^2`` (not divided by n_fft) for bins ``k = 0 .. n_fft / 2``; per triangular mel
    filter (``mel_scale`` "htk" or "slaney", ``norm`` None or "slaney", from fmin to
    fmax, default sample_rate / 2) the weighted sum, at least ``floor``, through emlml's
    float32 log. Output float32 ``(n, frames * n_mels)``, frame-major (a frames x mels
    image): the bits the board computes."""

    _coefficients = 0

    def __init__(self, sample_rate: float = 16000, frame_length: int = 400, hop: int = 160,
                 n_fft: int = 512, n_mels: int = 40, fmin: float = 0.0, fmax: float | None = None,
                 window: str = "hann", preemphasis: float = 0.0, floor: float = 1e-10,
                 mel_scale: str = "htk", norm: str | None = None) -> None:
        self.sample_rate = sample_rate
        self.frame_length = frame_length
        self.hop = hop
        self.n_fft = n_fft
        self.n_mels = n_mels
        self.fmin = fmin
        self.fmax = fmax
        self.window = window
        self.preemphasis = preemphasis
        self.floor = floor
        self.mel_scale = mel_scale
        self.norm = norm

    def _check(self, samples: int) -> float:
        name = type(self).__name__
        fmax = self.sample_rate / 2 if self.fmax is None else self.fmax
        n = self.n_fft
        checks = [
            (self.sample_rate > 0, f"sample_rate {self.sample_rate} must be > 0"),
            (1 <= self.frame_length <= samples,
             f"frame_length {self.frame_length}: 1 .. {samples} (the window's samples)"),
            (1 <= self.hop <= C.MAX_INPUTS, f"hop {self.hop}: 1 .. {C.MAX_INPUTS}"),
            (2 <= n <= C.PIPE_MAX_FFT and not n & (n - 1) and n >= self.frame_length,
             f"n_fft {n}: a power of two, 2 .. {C.PIPE_MAX_FFT}, >= frame_length"),
            (1 <= self.n_mels <= n // 2 + 1, f"n_mels {self.n_mels}: 1 .. {n // 2 + 1} for n_fft {n}"),
            (0 <= self.fmin < fmax <= self.sample_rate / 2,
             f"fmin {self.fmin}, fmax {fmax}: 0 <= fmin < fmax <= sample_rate / 2"),
            (self.window in WINDOWS, f"window {self.window!r}: one of {', '.join(WINDOWS)}"),
            (0 <= self.preemphasis <= 1, f"preemphasis {self.preemphasis}: 0 .. 1"),
            (np.float32(self.floor) >= np.finfo(np.float32).tiny,
             f"floor {self.floor} must be a positive normal float32"),
            (self.mel_scale in MEL_SCALES, f"mel_scale {self.mel_scale!r}: 'htk' or 'slaney'"),
            (self.norm in (None, "slaney"), f"norm {self.norm!r}: None or 'slaney'"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"{name}: {message}")
        return fmax

    def fit(self, X: npt.ArrayLike, y: object = None) -> "MFE":
        X = validate_data(self, X, dtype=np.float32, reset=True)
        fmax = self._check(X.shape[1])
        filters = mel_filters(self.sample_rate, self.n_fft, self.n_mels, self.fmin, fmax,
                              self.mel_scale, self.norm)
        dct = self._dct()
        self.n_frames_ = n_frames(X.shape[1], self.frame_length, self.hop)
        width = self.n_mels if dct is None else len(dct)
        if self.n_frames_ * width > C.MAX_INPUTS:
            raise ValueError(f"{type(self).__name__}: {self.n_frames_} frames x {width} values "
                             f"is over {C.MAX_INPUTS}: use a longer hop or fewer filters")
        self.filters_ = filters
        self.params_ = sound_params(self.frame_length, self.hop, self.n_fft, self.window,
                                    self.preemphasis, self.floor, filters, dct)
        return self

    def _dct(self) -> np.ndarray | None:
        return None

    def transform(self, X: npt.ArrayLike) -> npt.NDArray[np.float32]:
        check_is_fitted(self, "params_")
        X = validate_data(self, X, dtype=np.float32, reset=False)
        return sound(X, self.params_)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        check_is_fitted(self, "params_")
        width, what = (self.n_mels, "mel") if self._dct() is None else (len(self._dct()), "c")
        return np.array([f"f{f}_{what}{i}" for f in range(self.n_frames_) for i in range(width)],
                        dtype=object)


class MFCC(MFE):
    """MFE's log mel energies of each frame through the orthonormal DCT-II
    (``scipy.fft.dct(norm="ortho")``), the first ``n_coefficients``, with HTK's cepstral
    liftering when ``lifter`` > 0 (folded into the DCT matrix on the host). Output
    float32 ``(n, frames * n_coefficients)``, frame-major."""

    def __init__(self, sample_rate: float = 16000, frame_length: int = 400, hop: int = 160,
                 n_fft: int = 512, n_mels: int = 40, fmin: float = 0.0, fmax: float | None = None,
                 window: str = "hann", preemphasis: float = 0.0, floor: float = 1e-10,
                 mel_scale: str = "htk", norm: str | None = None, n_coefficients: int = 13,
                 lifter: float = 0.0) -> None:
        super().__init__(sample_rate, frame_length, hop, n_fft, n_mels, fmin, fmax, window,
                         preemphasis, floor, mel_scale, norm)
        self.n_coefficients = n_coefficients
        self.lifter = lifter

    def _check(self, samples: int) -> float:
        if not 1 <= self.n_coefficients <= self.n_mels:
            raise ValueError(f"MFCC: n_coefficients {self.n_coefficients}: 1 .. n_mels ({self.n_mels})")
        if not self.lifter >= 0:
            raise ValueError(f"MFCC: lifter {self.lifter} must be >= 0 (0: none)")
        return super()._check(samples)

    def _dct(self) -> np.ndarray:
        return dct_matrix(self.n_mels, self.n_coefficients, self.lifter)
