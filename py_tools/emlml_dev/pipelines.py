"""The scikit-learn Pipelines the tests convert (docs/features.md): scalers and PCA, in
several orders, before the tree estimators and kNN that emlml converts, fitted on float32
data from scikit-learn's bundled digits and on the demo's synthetic accelerometer windows
(64 samples x 3 channels at 50 Hz, sample-major), some through emlml's own per-channel
statistics (emlml_tools.features.ChannelStats); on synthetic sounds (tones, chirps
and noise, 0.25 s at 8 kHz) through MFE and MFCC; and steps before small int8 CNNs
(emlml_tools.features.TFLiteClassifier, cnn_pipeline_models). Small, real and
deterministic."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import scipy.signal
from emlml_tools.demo.data import MOTION_RATE_HZ, motion_split
from emlml_tools.features import MFCC, MFE, Butterworth, ChannelStats, SOSFilter, Spectrum
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier, RandomForestRegressor
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor


@dataclass(frozen=True)
class PipeModel:
    name: str
    pipeline: Pipeline
    X_test: np.ndarray  # float32 windows, one per row
    y_test: np.ndarray
    channels: int = 1
    sample_rate: float = 0.0

    @property
    def is_classifier(self) -> bool:
        return hasattr(self.pipeline, "classes_")

    def blob(self) -> bytes:
        from emlml_tools.convert.sklearn_models import convert

        return convert(self.pipeline, channels=self.channels, sample_rate=self.sample_rate)


@functools.lru_cache(maxsize=None)
def _digits() -> tuple[np.ndarray, ...]:
    x, y = load_digits(return_X_y=True)
    # Noise, so that the scaled values are not a handful of grid points.
    x = (x + np.random.default_rng(0).normal(0, 0.25, x.shape)).astype(np.float32)
    return tuple(train_test_split(x, y, test_size=0.25, random_state=0, stratify=y))


@functools.lru_cache(maxsize=None)
def _motion() -> tuple[np.ndarray, ...]:
    x_train, x_test, y_train, y_test = motion_split(n_per_class=60)
    return (x_train.reshape(len(x_train), -1), x_test.reshape(len(x_test), -1), y_train, y_test)


SOUND_RATE_HZ = 8000
SOUND_SAMPLES = 2000  # 0.25 s


@functools.lru_cache(maxsize=None)
def sounds(n_per_class: int = 30, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mono float32 windows of four classes: a tone near 500 Hz, a tone near 1500 Hz, a
    chirp rising from about 300 Hz to 3 kHz, white noise; random amplitude, phase and
    frequency, plus noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(SOUND_SAMPLES) / SOUND_RATE_HZ
    x, y = [], []
    for label in range(4):
        for _ in range(n_per_class):
            amp, phase = rng.uniform(0.1, 0.9), rng.uniform(0, 2 * np.pi)
            if label < 2:
                f = (500.0, 1500.0)[label] * rng.uniform(0.85, 1.15)
                s = np.sin(2 * np.pi * f * t + phase)
            elif label == 2:
                f0, f1 = 300 * rng.uniform(0.8, 1.2), 3000 * rng.uniform(0.8, 1.2)
                s = np.sin(2 * np.pi * (f0 * t + (f1 - f0) * t * t / (2 * t[-1])) + phase)
            else:
                s = rng.normal(0, 0.5, len(t))
            x.append(amp * s + rng.normal(0, 0.05, len(t)))
            y.append(label)
    return np.asarray(x, np.float32), np.asarray(y)


@functools.lru_cache(maxsize=None)
def _sounds() -> tuple[np.ndarray, ...]:
    x, y = sounds()
    return tuple(train_test_split(x, y, test_size=20, random_state=0, stratify=y))


def _fit(name: str, data: Callable[[], tuple[np.ndarray, ...]], pipeline: Pipeline,
         regress: bool = False, **window: Any) -> PipeModel:
    x_train, x_test, y_train, y_test = data()
    y = y_train.astype(np.float64) * 1.5 + 0.25 if regress else y_train
    pipeline.fit(x_train, y)
    return PipeModel(name, pipeline, x_test, y_test, **window)


def _fit_cnn(name: str, data: Callable[[], tuple[np.ndarray, ...]], steps: list[Any],
             cnn: dict[str, bool], **window: Any) -> PipeModel:
    """Steps, then emlml's TFLiteClassifier: a small int8 CNN (tflite_build.feature_classifier,
    ``cnn`` its options) trained on the fitted steps' outputs, as a Keras CNN would be."""
    from emlml_dev.tflite_build import feature_classifier
    from emlml_tools.features import TFLiteClassifier

    x_train, x_test, y_train, y_test = data()
    features = make_pipeline(*steps).fit(x_train, y_train).transform(x_train)
    model = feature_classifier(features, y_train, **cnn)
    pipeline = make_pipeline(*steps, TFLiteClassifier(model)).fit(x_train, y_train)
    return PipeModel(name, pipeline, x_test, y_test, **window)


def _forest(n: int = 15) -> RandomForestClassifier:
    return RandomForestClassifier(n, max_depth=12, random_state=0)


@functools.lru_cache(maxsize=None)
def pipeline_models() -> tuple[PipeModel, ...]:
    motion = {"channels": 3, "sample_rate": MOTION_RATE_HZ}
    return (
        _fit("std_forest", _digits, make_pipeline(StandardScaler(), _forest())),
        _fit("minmax_std_maxabs_extra", _digits, make_pipeline(
            MinMaxScaler(), StandardScaler(), MaxAbsScaler(),
            ExtraTreesClassifier(15, max_depth=12, random_state=0))),
        _fit("std_pca_std_forest", _digits, make_pipeline(
            StandardScaler(), PCA(12, random_state=0), StandardScaler(), _forest())),
        _fit("pca_tree", _digits, make_pipeline(PCA(16, random_state=0),
                                                 DecisionTreeClassifier(random_state=0))),
        _fit("std_knn", _digits, make_pipeline(StandardScaler(), KNeighborsClassifier(5))),
        _fit("minmax_pca_whiten_knn", _digits, make_pipeline(
            MinMaxScaler(), PCA(10, whiten=True, random_state=0),
            KNeighborsClassifier(3, weights="distance"))),
        _fit("maxabs_knn_regressor", _digits, make_pipeline(
            MaxAbsScaler(), KNeighborsRegressor(4)), regress=True),
        _fit("std_tree_regressor", _digits, make_pipeline(
            StandardScaler(with_mean=False), DecisionTreeRegressor(max_depth=9, random_state=0)),
            regress=True),
        _fit("minmax_forest_regressor", _digits, make_pipeline(
            MinMaxScaler((-1, 1)), RandomForestRegressor(8, max_depth=8, random_state=0)),
            regress=True),
        _fit("motion_std_forest", _motion, make_pipeline(StandardScaler(), _forest()), **motion),
        _fit("motion_std_pca_knn", _motion, make_pipeline(
            StandardScaler(), PCA(8, random_state=0), KNeighborsClassifier(5)), **motion),
        # emlml's per-channel statistics on the raw accelerometer windows
        _fit("motion_stats_std_forest", _motion, make_pipeline(
            ChannelStats(3), StandardScaler(), _forest()), **motion),
        _fit("motion_stats_minmax_knn", _motion, make_pipeline(
            ChannelStats(3, ("std", "ptp", "kurtosis", "crossings")), MinMaxScaler(),
            KNeighborsClassifier(3)), **motion),
        _fit("motion_stats_extra", _motion, make_pipeline(
            ChannelStats(3, ("mean", "rms", "min", "max", "skew")),
            ExtraTreesClassifier(10, max_depth=10, random_state=0)), **motion),
        # spectral power per band (emlml's own FFT and log) on the raw windows
        _fit("motion_spectrum_forest", _motion, make_pipeline(
            Spectrum(3, bands=8), _forest()), **motion),
        _fit("motion_spectrum_std_knn", _motion, make_pipeline(
            Spectrum(3, bands=(1, 3, 6, 12, 20, 33), window="none"), StandardScaler(),
            KNeighborsClassifier(3)), **motion),
        _fit("motion_std_stats_pca_tree_regressor", _motion, make_pipeline(
            StandardScaler(), ChannelStats(3), PCA(6, random_state=0),
            DecisionTreeRegressor(max_depth=7, random_state=0)), regress=True, **motion),
        # IIR filters (SOS): a Butterworth low-pass before the spectrum with its spectral
        # skewness and kurtosis; any scipy sos (a Chebyshev band-pass) before statistics
        _fit("motion_butter_spectrum_forest", _motion, make_pipeline(
            Butterworth("lowpass", 8.0, 4, MOTION_RATE_HZ, 3),
            Spectrum(3, bands=8, shape=("skew", "kurtosis")), _forest()), **motion),
        _fit("motion_sos_stats_knn", _motion, make_pipeline(
            SOSFilter(scipy.signal.cheby1(4, 1, (1.0, 10.0), "bandpass", output="sos",
                                          fs=MOTION_RATE_HZ), 3),
            ChannelStats(3, ("std", "ptp", "skew", "kurtosis")), StandardScaler(),
            KNeighborsClassifier(5)), **motion),
        # MFCC and MFE (emlml's FFT, mel filterbank, log and DCT) on raw sound windows
        _fit("sound_mfcc_std_forest", _sounds, make_pipeline(
            MFCC(SOUND_RATE_HZ, frame_length=200, hop=80, n_fft=256, n_mels=26,
                 n_coefficients=13), StandardScaler(), _forest()), sample_rate=SOUND_RATE_HZ),
        _fit("sound_mfe_std_knn", _sounds, make_pipeline(
            MFE(SOUND_RATE_HZ, frame_length=256, hop=160, n_fft=256, n_mels=20, fmin=50.0,
                fmax=3800.0, window="hamming", preemphasis=0.97, mel_scale="slaney",
                norm="slaney"), StandardScaler(), KNeighborsClassifier(3)),
             sample_rate=SOUND_RATE_HZ),
        _fit("sound_mfcc_lifter_extra", _sounds, make_pipeline(
            MFCC(SOUND_RATE_HZ, frame_length=240, hop=120, n_fft=256, n_mels=32,
                 n_coefficients=12, preemphasis=0.95, lifter=22.0, floor=1e-6),
            ExtraTreesClassifier(10, max_depth=10, random_state=0)), sample_rate=SOUND_RATE_HZ),
    ) + cnn_pipeline_models()


@functools.lru_cache(maxsize=None)
def cnn_pipeline_models() -> tuple[PipeModel, ...]:
    """Feature steps before int8 CNNs (emlml_tools.features.TFLiteClassifier): every step
    runs on the board, its features quantized into the CNN's input."""
    motion = {"channels": 3, "sample_rate": MOTION_RATE_HZ}
    return (
        _fit_cnn("std_cnn", _digits, [StandardScaler()], {}),
        _fit_cnn("pca_conv_cnn_float_in", _digits, [PCA(16, random_state=0)],
                 {"conv": True, "float_input": True, "softmax": True}),
        _fit_cnn("motion_stats_std_conv_cnn", _motion, [ChannelStats(3), StandardScaler()],
                 {"conv": True, "float_output": True}, **motion),
        _fit_cnn("motion_spectrum_cnn_float_io", _motion, [Spectrum(3, bands=8)],
                 {"float_input": True, "float_output": True, "softmax": True}, **motion),
        _fit_cnn("motion_spectrum_std_cnn", _motion,
                 [Spectrum(3, bands=(1, 3, 6, 12, 20, 33)), StandardScaler()], {}, **motion),
    )


# The Pipelines tests_device/ runs (test_parity: the reference's bits and the host
# Pipeline's predict on every window): the small blobs; the boards with a small
# filesystem or a slow emulator run BOARD_PIPELINES on their first 20 windows.
DEVICE_PIPELINES = ("pca_tree", "std_tree_regressor", "minmax_forest_regressor",
                    "motion_std_forest", "motion_std_pca_knn", "motion_stats_std_forest",
                    "motion_stats_minmax_knn", "motion_stats_extra",
                    "motion_std_stats_pca_tree_regressor", "motion_spectrum_forest",
                    "motion_spectrum_std_knn", "motion_butter_spectrum_forest",
                    "motion_sos_stats_knn", "motion_stats_std_conv_cnn",
                    "motion_spectrum_cnn_float_io",
                    "sound_mfcc_std_forest")
BOARD_PIPELINES = ("motion_stats_std_forest",)


def device_models(names: tuple[str, ...] = DEVICE_PIPELINES, max_samples: int | None = None
                  ) -> list[Any]:
    """The Pipelines as the zoo's models (name ``pipe_<name>``) for devicedata.py."""
    from emlml_tools.demo.models import DemoModel

    out = []
    for m in pipeline_models():
        if m.name in names:
            out.append(DemoModel(
                name="pipe_" + m.name, estimator=m.pipeline, dataset="pipeline",
                X_train=np.zeros((0, m.X_test.shape[1]), np.float32),
                X_test=m.X_test[:max_samples], y_test=m.y_test[:max_samples],
                convert_kwargs={"channels": m.channels, "sample_rate": m.sample_rate}))
    return out
