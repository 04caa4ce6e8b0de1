"""Writes the fuzzer's seed corpus: one small, valid blob of every kind and option
(trees: classifier/regressor, forest, float and integer inputs; gradient boosting:
binary, multiclass with NaN, regressor, integer input, float32 sums; kNN: float32/int8/int16
samples, float32 and integer distances, both metrics and weightings, regressor; CNN:
small random networks that together use every operator; feature steps: scalers folded
into trees, PCA run before kNN and trees, channels and a sample rate; steps before int8
CNNs; constant tensors). Run from the
repository root:
    python tests_host/fuzz/make_seeds.py tests_host/fuzz/corpus
"""

from __future__ import annotations

import os
import sys

import numpy as np
from emlml_tools.convert.sklearn_models import convert
from emlml_tools.format import read_blob
from sklearn.datasets import load_wine
from sklearn.ensemble import (
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
)
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor


def seeds() -> dict[str, bytes]:
    X, y = load_wine(return_X_y=True)
    X, y = X[::6, :6].astype(np.float32), y[::6]
    Xi = np.clip(np.round(X), -100, 100)
    return {
        "tree_clf": convert(DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y),
                            labels=["a", "b", "c"], name="t", input_shape=(2, 3)),
        "tree_reg": convert(DecisionTreeRegressor(max_depth=3, random_state=0).fit(X, X[:, 0])),
        "forest": convert(RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0).fit(X, y)),
        "tree_int8": convert(DecisionTreeClassifier(max_depth=3, random_state=0).fit(Xi, y), input_type="int8"),
        "tree_uint8": convert(DecisionTreeClassifier(max_depth=3, random_state=0).fit(np.abs(Xi), y), input_type="uint8"),
        "extra_int16": convert(ExtraTreesRegressor(n_estimators=3, max_depth=3, random_state=0).fit(Xi, y),
                               input_type="int16"),
        **boost_seeds(X, y, Xi),
        "knn": convert(KNeighborsClassifier(n_neighbors=3).fit(X, y)),
        "knn_int8_manhattan": convert(KNeighborsClassifier(n_neighbors=4, metric="manhattan",
                                                           weights="distance").fit(X, y), knn_samples="int8",
                                      knn_distances="float32"),
        "knn_int16_reg": convert(KNeighborsRegressor(n_neighbors=2, weights="distance").fit(X, y),
                                 knn_samples="int16", knn_distances="float32"),
        "knn_int16_integer": convert(KNeighborsClassifier(n_neighbors=3).fit(X, y),
                                     knn_samples="int16"),
        "knn_int8_integer_manhattan_reg": convert(
            KNeighborsRegressor(n_neighbors=4, metric="manhattan", weights="distance").fit(X, y),
            knn_samples="int8"),
    }


def pipeline_seeds() -> dict[str, bytes]:
    """scikit-learn Pipelines: every step op, run and folded, before trees and kNN."""
    from sklearn.decomposition import PCA
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, StandardScaler

    from emlml_tools.features import Butterworth, ChannelStats, SOSFilter, Spectrum

    X, y = load_wine(return_X_y=True)
    X, y = X[::6, :6].astype(np.float32), y[::6]
    tree = DecisionTreeClassifier(max_depth=3, random_state=0)
    return {
        "pipe_std_tree": convert(make_pipeline(StandardScaler(), MaxAbsScaler(), tree).fit(X, y)),
        "pipe_pca_knn": convert(
            make_pipeline(MinMaxScaler(), PCA(3), KNeighborsRegressor(2)).fit(X, y),
            channels=2, sample_rate=100.0),
        "pipe_stats_std_knn": convert(make_pipeline(
            ChannelStats(2), StandardScaler(), KNeighborsClassifier(2)).fit(X, y),
            sample_rate=25.0),
        "pipe_spectrum_knn": convert(make_pipeline(
            Spectrum(1, bands=(0, 1, 3)), KNeighborsClassifier(2)).fit(X[:, :4], y)),
        "pipe_butter_spectrum_knn": convert(make_pipeline(
            Butterworth("highpass", 10.0, 3, 100.0, 2), Spectrum(2, bands=1, shape=("skew", "kurtosis")),
            KNeighborsClassifier(2)).fit(X[:, :4], y)),
        "pipe_sos_stats_tree": convert(make_pipeline(
            SOSFilter([[0.5, 0.25, 0.0, 1.0, -0.5, 0.25]], 3), ChannelStats(3, ("mean", "kurtosis")),
            StandardScaler(), tree).fit(X, y)),
        "pipe_pca_std_forest": convert(make_pipeline(
            StandardScaler(), PCA(4), StandardScaler(),
            RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0)).fit(X, y)),
        **cnn_pipeline_seeds(X, y),
        **sound_seeds(),
    }


def cnn_pipeline_seeds(X: np.ndarray, y: np.ndarray) -> dict[str, bytes]:
    """Feature steps before int8 CNNs (TFLiteClassifier): a dense one, and a conv one with
    a float input edge, behind scalers, PCA and the statistics."""
    from sklearn.decomposition import PCA
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from emlml_dev.tflite_build import feature_classifier
    from emlml_tools.features import ChannelStats, TFLiteClassifier

    def cnn_pipe(steps: list, **options: bool) -> bytes:
        features = make_pipeline(*steps).fit(X, y).transform(X)
        model = feature_classifier(features, y, **options)
        return convert(make_pipeline(*steps, TFLiteClassifier(model)).fit(X, y), channels=2)

    return {
        "pipe_std_pca_cnn": cnn_pipe([StandardScaler(), PCA(3)]),
        "pipe_stats_std_conv_cnn": cnn_pipe([ChannelStats(2), StandardScaler()], conv=True,
                                            float_input=True, softmax=True),
    }


def sound_seeds() -> dict[str, bytes]:
    """MFE and MFCC (the module of every family) on 64-sample mono windows at 8 kHz."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from emlml_tools.features import MFCC, MFE

    rng = np.random.default_rng(3)
    X = rng.normal(0, 0.5, (12, 64)).astype(np.float32)
    y = np.arange(12) % 3
    window = {"sample_rate": 8000, "frame_length": 16, "hop": 8, "n_fft": 16, "n_mels": 4}
    return {
        "pipe_mfe_knn": convert(make_pipeline(
            MFE(**window, preemphasis=0.9), KNeighborsClassifier(2)).fit(X, y)),
        "pipe_mfcc_std_tree": convert(make_pipeline(
            MFCC(**window, window="hamming", n_coefficients=3, lifter=4.0), StandardScaler(),
            DecisionTreeClassifier(max_depth=3, random_state=0)).fit(X, y)),
    }


def boost_seeds(X: np.ndarray, y: np.ndarray, Xi: np.ndarray) -> dict[str, bytes]:
    from emlml_dev.bad_blobs import make_boost
    from emlml_tools.format import SumType

    Xn = X.copy()
    Xn[::4, 1] = np.nan
    return {
        "boost_gb_binary": convert(GradientBoostingClassifier(n_estimators=4, max_depth=2,
                                                              random_state=0).fit(X, y == 1)),
        "boost_hgb_nan": convert(HistGradientBoostingClassifier(max_iter=2, max_leaf_nodes=4,
                                                                random_state=0).fit(Xn, y)),
        "boost_hgb_reg": convert(HistGradientBoostingRegressor(max_iter=3, max_leaf_nodes=4,
                                                               random_state=0).fit(Xn, X[:, 0])),
        "boost_gb_uint8": convert(GradientBoostingClassifier(n_estimators=2, max_depth=2,
                                                             random_state=0).fit(np.abs(Xi), y),
                                  input_type="uint8"),
        "boost_f32": make_boost(n_groups=3, sum_type=SumType.F32),
        "boost_lgbm_zero": _lightgbm_zero_seed(X, y),
    }


def _lightgbm_zero_seed(X: np.ndarray, y: np.ndarray) -> bytes:
    """LightGBM's zero_as_missing (BOOST_ZERO), from its text model."""
    from lightgbm import LGBMClassifier

    Xz = X.copy()
    Xz[::3, 0] = 0.0
    model = LGBMClassifier(n_estimators=3, num_leaves=4, min_child_samples=2,
                           zero_as_missing=True, verbose=-1).fit(Xz, y)
    return convert(model)


CNN_SEED_MAX = 4096  # the fuzz session's -max_len


def cnn_ops(blob: bytes) -> set[int]:
    """The op codes of a CNN blob's layers."""
    return {int(op) for op in read_blob(blob).cnn.layers["op"]}


def cnn_seeds(count: int = 8, n_ops: int = 10) -> dict[str, bytes]:
    """Random networks (tflite_build.random_network, fixed seed) small enough for the
    fuzzer, converted by emlml's converter: at least `count`, and together every one of
    the n_ops operators."""
    from emlml_dev.tflite_build import random_network
    from emlml_tools.convert.tflite_cnn import convert_tflite

    rng = np.random.default_rng(11)
    out: dict[str, bytes] = {}
    seen: set[int] = set()
    for _ in range(200):
        if len(out) >= count and len(seen) == n_ops:
            break
        blob = convert_tflite(random_network(rng)[0])
        ops = cnn_ops(blob)
        if len(blob) <= CNN_SEED_MAX and (len(out) < count or ops - seen):
            out["cnn_%d" % len(out)] = blob
            seen |= ops
    if len(seen) != n_ops:
        raise RuntimeError("the random networks missed operators %s" % sorted(set(range(1, n_ops + 1)) - seen))
    return out


def transpose_conv_seed() -> dict[str, bytes]:
    """One TRANSPOSE_CONV layer (the bad-blob table's base "tconv"): operators after the
    first ten are seeded one by one."""
    from emlml_dev.bad_blobs import base_blob

    return {"cnn_transpose_conv": base_blob("tconv")}


def constant_seeds() -> dict[str, bytes]:
    """Constant tensors (flags 1, values in CNN_WEIGHTS) read by SUB, MUL, MAXIMUM and a
    broadcasting ADD (the bad-blob table's base "const5"), and the first random network
    with constant operands (tflite_build.constant_tensor_network) under 3000 bytes."""
    from emlml_dev.bad_blobs import base_blob
    from emlml_dev.tflite_build import constant_tensor_network
    from emlml_tools.convert.tflite_cnn import convert_tflite

    rng = np.random.default_rng(15)
    while True:
        blob = convert_tflite(constant_tensor_network(rng)[0])
        if len(blob) < 3000 and read_blob(blob).cnn.tensors["flags"].any():
            return {"cnn_constants": base_blob("const5"), "cnn_constants_net": blob}


def main(out: str) -> None:
    os.makedirs(out, exist_ok=True)
    for name, blob in {**seeds(), **pipeline_seeds(), **cnn_seeds(), **transpose_conv_seed(),
                       **constant_seeds()}.items():
        with open(os.path.join(out, name + ".bin"), "wb") as f:
            f.write(blob)
        print(f"{name}: {len(blob)} bytes")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus"))
