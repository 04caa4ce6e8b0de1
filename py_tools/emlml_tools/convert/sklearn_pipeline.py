"""A fitted scikit-learn ``Pipeline`` -> one blob: feature steps (docs/features.md) in
front of the final estimator's model (docs/FORMAT.md, Pipelines).

Each transformer becomes a step of the C core (``_STEPS``: StandardScaler and
MaxAbsScaler -> SCALE, MinMaxScaler -> AFFINE, PCA -> PROJECT, emlml's ChannelStats ->
STATS, Spectrum -> SPECTRUM, SOSFilter and Butterworth -> SOS, MFE -> MFE, MFCC ->
MFCC), with its parameters rounded to float32; the board computes the steps in float32.
The final estimator may be emlml's TFLiteClassifier (a .tflite CNN): every step then
runs, and the board quantizes the features into the CNN's int8 input as it quantizes
array('f').

Tree models: the per-value steps after the last PROJECT (or all of them) are *folded*
into the trees on the host. scikit-learn sends a window left at a split on feature ``f``
with threshold ``t`` when ``g_f(x) <= t``, ``g_f`` being those steps' own ``transform``
(their float64 arithmetic rounded to float32, in place, as they do it). ``g_f`` is
monotone non-decreasing, so the float32 ``x`` that go left are exactly those ``<= x*``,
the largest float32 with ``g_f(x*) <= t``, found by bisection over the float32 keys with
the estimators' own ``transform``. The split then compares the raw value with ``x*``:
``predict`` equals the host Pipeline's on every float32 window, by construction; the
blob keeps the steps for ``transform``, which computes them in float32 (predict runs
only the steps before them: n_run).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from sklearn.decomposition import PCA
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, StandardScaler

from emlml_tools.features import MFCC, MFE, Butterworth, ChannelStats, SOSFilter, Spectrum
from emlml_tools.format import MAX_INPUTS, HEADER_DTYPE, InputType, Kind, Step, StepOp, add_pipeline
from emlml_tools.format.keys import float32_keys, key_values
from emlml_tools.format.pipeline import MAX_STEPS, PER_VALUE_OPS


def _label(k: int, transformer: Any) -> str:
    return f"step {k} ({type(transformer).__name__})"


def _f32(k: int, transformer: Any, what: str, values: Any) -> np.ndarray:
    """Parameters as float32; refused when one is not finite or a divisor becomes 0."""
    with np.errstate(over="ignore", under="ignore"):
        out = np.asarray(values, dtype=np.float64).astype(np.float32).reshape(-1)
    if not np.isfinite(out).all():
        raise ValueError(f"{_label(k, transformer)}: {what} is not finite in float32: scale "
                         "the data into float32 range and refit")
    return out


def _divisor(k: int, transformer: Any, what: str, values: Any) -> np.ndarray:
    out = _f32(k, transformer, what, values)
    if (out == 0).any():
        raise ValueError(f"{_label(k, transformer)}: {what} underflows to 0 in float32: "
                         "scale the data into float32 range and refit")
    return out


def _standard(k: int, t: StandardScaler, n: int) -> Step:
    mean = _f32(k, t, "mean_", t.mean_) if t.with_mean else np.zeros(n, np.float32)
    scale = _divisor(k, t, "scale_", t.scale_) if t.with_std else np.ones(n, np.float32)
    return Step(StepOp.SCALE, n, n, np.concatenate([mean, scale]), "StandardScaler")


def _max_abs(k: int, t: MaxAbsScaler, n: int) -> Step:
    scale = _divisor(k, t, "scale_", t.scale_)
    return Step(StepOp.SCALE, n, n, np.concatenate([np.zeros(n, np.float32), scale]),
                "MaxAbsScaler")


def _min_max(k: int, t: MinMaxScaler, n: int) -> Step:
    if t.clip:
        raise ValueError(f"{_label(k, t)}: clip=True is not supported: refit with clip=False")
    return Step(StepOp.AFFINE, n, n, np.concatenate([_f32(k, t, "scale_", t.scale_),
                                                     _f32(k, t, "min_", t.min_)]),
                "MinMaxScaler")


def _pca(k: int, t: PCA, n: int) -> Step:
    w = np.asarray(t.components_, dtype=np.float64)
    if t.whiten:  # scikit-learn divides the projection by sqrt(explained_variance_)
        scale = np.sqrt(np.asarray(t.explained_variance_, dtype=np.float64))
        scale[scale < np.finfo(scale.dtype).eps] = np.finfo(scale.dtype).eps
        w = w / scale[:, None]
    mean = _f32(k, t, "mean_", t.mean_)
    return Step(StepOp.PROJECT, n, w.shape[0],
                np.concatenate([mean, _f32(k, t, "components_", w)]), "PCA")


def _stats(k: int, t: ChannelStats, n: int) -> Step:
    return Step(StepOp.STATS, n, t.channels * bin(t.mask_).count("1"),
                np.array([t.mask_], np.float32), "ChannelStats")


def _spectrum(k: int, t: Spectrum, n: int) -> Step:
    return Step(StepOp.SPECTRUM, n, t.channels * t.n_outputs_, t.params_, "Spectrum", t.shape_)


def _sos(k: int, t: SOSFilter | Butterworth, n: int) -> Step:
    return Step(StepOp.SOS, n, n, t.params_, type(t).__name__)


def _sound(k: int, t: MFE, n: int) -> Step:
    op, width = (StepOp.MFCC, t.n_coefficients) if isinstance(t, MFCC) else (StepOp.MFE, t.n_mels)
    return Step(op, n, t.n_frames_ * width, t.params_, type(t).__name__)


_STEPS: dict[type, Callable[[int, Any, int], Step]] = {
    Butterworth: _sos,
    ChannelStats: _stats,
    SOSFilter: _sos,
    MFE: _sound,
    MFCC: _sound,
    Spectrum: _spectrum,
    StandardScaler: _standard,
    MaxAbsScaler: _max_abs,
    MinMaxScaler: _min_max,
    PCA: _pca,
}


def supported_steps() -> list[str]:
    return sorted(cls.__name__ for cls in _STEPS)


def _flat(steps: list[Any]) -> list[Any]:
    """Transformers in order, a nested Pipeline's own steps in its place."""
    out: list[Any] = []
    for t in steps:
        if isinstance(t, Pipeline):
            out += _flat([s for _, s in t.steps])
        elif t is not None and not (isinstance(t, str) and t == "passthrough"):
            out.append(t)
    return out


def _transformers(pipeline: Pipeline) -> list[Any]:
    out = _flat([t for _, t in pipeline.steps[:-1]])
    for k, t in enumerate(out):
        if type(t) not in _STEPS:
            raise TypeError(f"{_label(k, t)} cannot be converted: emlml's feature steps are "
                            f"{', '.join(supported_steps())}")
    return out


_CHANNEL_STEPS = (Butterworth, ChannelStats, SOSFilter, Spectrum)


def _stats_channels(transformers: list[Any], channels: int) -> int:
    """The window's channels: those of emlml's transformers (all the same; MFE and MFCC
    take 1), unless --channels says others."""
    found = {getattr(t, "channels", 1) for t in transformers if isinstance(t, _CHANNEL_STEPS + (MFE,))}
    if not found:
        return channels
    if len(found) > 1 or (channels != 1 and channels not in found):
        raise ValueError(f"feature steps with channels {sorted(found)} and a window of "
                         f"{channels} channels: give one number of channels")
    return found.pop()


def _sample_rate(transformers: list[Any], sample_rate: float) -> float:
    """The window's sample rate: the Butterworth filters' (all the same), which a given
    --sample-rate must equal."""
    found = sorted({float(t.sample_rate) for t in transformers if isinstance(t, Butterworth)})
    if len(found) > 1:
        raise ValueError(f"Butterworth filters designed for sample rates {found} Hz: the window "
                         "has one rate; design them for the same rate")
    if found and sample_rate not in (0.0, found[0]):
        raise ValueError(f"--sample-rate {sample_rate} Hz, but the Butterworth filter is designed "
                         f"for {found[0]} Hz: drop --sample-rate or refit the filter at that rate")
    return found[0] if found else sample_rate


def _sound_rate(transformers: list[Any], sample_rate: float) -> float:
    """The window's sample rate: MFE's and MFCC's (all the same), which --sample-rate, if
    given, must equal."""
    found = {float(t.sample_rate) for t in transformers if isinstance(t, MFE)}
    if not found:
        return sample_rate
    rate = found.pop()
    if found or (sample_rate and float(np.float32(sample_rate)) != float(np.float32(rate))):
        raise ValueError(f"MFE/MFCC steps at {sorted(found | {rate})} Hz and a window at "
                         f"{sample_rate} Hz: drop --sample-rate (the steps' rate is stored)")
    return rate


def _window_size(transformers: list[Any], final: Any) -> int:
    first = transformers[0] if transformers else final
    n = int(first.n_features_in_)
    if n > MAX_INPUTS:
        raise ValueError(f"the window has {n} values; a blob takes at most {MAX_INPUTS}")
    return n


def convert_pipeline(pipeline: Pipeline, options: Any, channels: int = 1,
                     sample_rate: float = 0.0) -> bytes:
    from emlml_tools.convert.sklearn_models import FOLDING, NotFoldable, _find_converter

    final = pipeline.steps[-1][1]
    converter = _find_converter(type(final))
    transformers = _transformers(pipeline)
    if not transformers:  # a Pipeline of the estimator alone
        return converter(final, options)
    if options.input_type != InputType.FLOAT32:
        raise ValueError("a Pipeline's window is float32: drop --input-type")
    if options.input_shape is not None:
        raise ValueError("--input-shape does not apply to a Pipeline: its window is samples x "
                         "channels (give --channels and --sample-rate)")
    if len(transformers) > MAX_STEPS:
        raise ValueError(f"{len(transformers)} feature steps; a blob holds at most {MAX_STEPS}")
    n_window = _window_size(transformers, final)
    channels = _stats_channels(transformers, channels)
    if channels < 1 or channels > 0xFFFF or n_window % channels:
        raise ValueError(f"{channels} channels do not divide the window of {n_window} values: "
                         "give the number of channels of each sample")
    if not np.isfinite(sample_rate) or sample_rate < 0:
        raise ValueError(f"sample rate {sample_rate} must be finite and >= 0 (0: not given)")
    sample_rate = _sound_rate(transformers, _sample_rate(transformers, float(sample_rate)))
    steps, n = [], n_window
    for k, t in enumerate(transformers):
        steps.append(_STEPS[type(t)](k, t, n))
        n = steps[-1].n_out
    n_run = len(steps)
    if converter in FOLDING:  # fold the per-value steps after the last PROJECT into the thresholds
        while n_run > 0 and steps[n_run - 1].op in PER_VALUE_OPS:
            n_run -= 1
    blob = None
    if n_run < len(steps):
        try:
            blob = converter(final, options, fold=_folder(transformers[n_run:]))
        except NotFoldable:  # e.g. LightGBM's zero band: it is on the steps' outputs
            n_run = len(steps)
    if blob is None:
        blob = converter(final, options)
    _check_model_inputs(blob, final, n)
    return add_pipeline(blob, steps, n_run, channels, float(sample_rate))


def _check_model_inputs(blob: bytes, final: Any, n: int) -> None:
    """The steps' outputs feed the model one value per input (a CNN's input tensor: every
    step runs, its features quantized into it)."""
    header = np.frombuffer(blob, HEADER_DTYPE, count=1)[0]
    n_model = int(header["n_inputs"])
    if n_model != n:
        what = ("the CNN's input holds" if int(header["kind"]) == Kind.CNN
                else f"the {type(final).__name__} takes")
        raise ValueError(f"the feature steps give {n} values, {what} {n_model}: make the last "
                         "step's outputs one per input of the model")


# ---------------------------------------------------------------------------- folding

_KEY_LO = int(float32_keys([-np.finfo(np.float32).max])[0])
_KEY_HI = int(float32_keys([np.finfo(np.float32).max])[0])


_from_keys = key_values


def _folder(tail: list[Any]) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """(features, thresholds on the steps' outputs) -> thresholds on their inputs: the
    largest finite float32 whose transform goes left, -inf when none does."""

    def through(values: np.ndarray, features: np.ndarray, n_features: int) -> np.ndarray:
        m = np.zeros((len(values), n_features), dtype=np.float32)
        m[np.arange(len(values)), features] = values
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for t in tail:  # each step's own transform, float32 in and out
                # A value that overflowed to infinity stays there (the monotone limit;
                # scikit-learn's next step would refuse that window).
                finite = np.isfinite(m).all(axis=1)
                m[finite] = t.transform(m[finite])
        return m[np.arange(len(values)), features]

    def fold(features: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
        n_features = int(tail[0].n_features_in_)
        features = np.asarray(features, dtype=np.int64)
        t = np.asarray(thresholds, dtype=np.float64)
        lo = np.full(len(t), _KEY_LO - 1, dtype=np.int64)  # goes left (virtually)
        hi = np.full(len(t), _KEY_HI + 1, dtype=np.int64)  # goes right (virtually)
        while (active := hi - lo > 1).any():
            mid = np.where(active, (lo + hi) // 2, _KEY_LO)  # always a finite float32
            left = through(_from_keys(mid), features, n_features).astype(np.float64) <= t
            lo = np.where(active & left, mid, lo)
            hi = np.where(active & ~left, mid, hi)
        out = _from_keys(np.maximum(lo, _KEY_LO)).astype(np.float64)
        out[lo < _KEY_LO] = -np.inf
        return out

    return fold
