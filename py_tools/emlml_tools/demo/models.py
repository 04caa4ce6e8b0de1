"""The demo's models: small, real and deterministic, fitted on data that ships with
scikit-learn (no downloads), each with its held-out split ``train_test_split(test_size=0.25,
random_state=0)`` (stratified for classifiers). ``X_test`` is float32;
``DemoModel.inputs()`` gives it in the blob's input type. The checkout's tests use the same
models and splits (emlml_dev.zoo).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from sklearn import datasets
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeRegressor

from emlml_tools.convert.sklearn_models import (
    convert,
    dequantize_samples,
    quantize_on_grid,
    quantize_samples,
)
from emlml_tools.demo import data as demo_data
from emlml_tools.format import INPUT_DTYPES, INPUT_TYPE_NAMES, SAMPLE_TYPE_NAMES


@dataclass(frozen=True)
class DemoModel:
    name: str
    estimator: Any  # fitted on X_train
    dataset: str
    X_train: np.ndarray  # float32
    X_test: np.ndarray  # float32
    y_test: np.ndarray
    convert_kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def is_classifier(self) -> bool:
        return hasattr(self.estimator, "classes_")

    def blob(self) -> bytes:
        return convert(self.estimator, **self.convert_kwargs)

    def inputs(self) -> np.ndarray:
        """X_test in the blob's input type (exact: integer models use integer data)."""
        dtype = INPUT_DTYPES[INPUT_TYPE_NAMES[self.convert_kwargs.get("input_type", "float32")]]
        return self.X_test.astype(dtype)


@dataclass(frozen=True)
class _Split:
    X_train: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    target_names: tuple[str, ...] | None


_LOADERS: dict[str, Callable[..., Any]] = {
    "digits": datasets.load_digits,
    "wine": datasets.load_wine,
    "diabetes": datasets.load_diabetes,
    "breast_cancer": datasets.load_breast_cancer,
}
_CLASSIFICATION = {"digits", "wine", "breast_cancer"}


@functools.lru_cache(maxsize=None)
def _split(dataset: str, transform: str = "none") -> _Split:
    """A data set split 75/25; ``transform``: none, standard (StandardScaler fitted on the
    training part), milli (diabetes' small real values times 1000, rounded: int16 data),
    nan (20 % of the cells of both parts set to NaN: a model fitted with missing values)
    or nan_test (the same in the held-out part only: a model fitted without)."""
    bunch = _LOADERS[dataset]()
    X, y = bunch.data.astype(np.float64), bunch.target
    classification = dataset in _CLASSIFICATION
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y if classification else None)
    if transform == "standard":
        scaler = StandardScaler().fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    elif transform == "milli":
        X_train, X_test = np.round(X_train * 1000), np.round(X_test * 1000)
    elif transform in ("nan", "nan_test"):  # missing values: 20 % of the cells, at random
        rng = np.random.default_rng(13)
        X_train, X_test = X_train.copy(), X_test.copy()
        if transform == "nan":
            X_train[rng.random(X_train.shape) < 0.2] = np.nan
        X_test[rng.random(X_test.shape) < 0.2] = np.nan
    names = tuple(str(n) for n in bunch.target_names) if classification and \
        "target_names" in bunch else None
    return _Split(X_train.astype(np.float32), X_test.astype(np.float32), y_train, y_test, names)


def _model(name: str, estimator: Any, dataset: str, transform: str = "none",
           grid: str | None = None, **convert_kwargs: Any) -> DemoModel:
    """Fit ``estimator`` on the split. ``grid`` (int8/int16): fit a kNN on its training data
    already quantized as the blob will store it (``_on_grid``, with the blob's
    ``knn_distances``), so the blob and the estimator hold the very same samples."""
    data = _split(dataset, transform)
    X_train = data.X_train
    if grid is not None:
        X_train = _on_grid(X_train, grid, convert_kwargs.get("knn_distances", "integer"))
        convert_kwargs["knn_samples"] = grid
    estimator.fit(X_train, data.y_train)
    if data.target_names is not None and dataset != "digits":
        convert_kwargs.setdefault("labels", list(data.target_names))
    convert_kwargs.setdefault("name", name)
    return DemoModel(name, estimator, dataset, X_train, data.X_test, data.y_test, convert_kwargs)


def _on_grid(X: np.ndarray, sample_type: str, distances: str = "integer") -> np.ndarray:
    """Quantize then dequantize until nothing changes (a few rounds): a kNN fitted on the
    result is stored by ``convert`` with exactly the samples it was fitted on."""
    quantize = quantize_on_grid if distances == "integer" else quantize_samples
    for _ in range(20):
        codes, scale, offset = quantize(X, SAMPLE_TYPE_NAMES[sample_type])
        grid = dequantize_samples(codes, scale, offset)
        if np.array_equal(grid, X):
            break
        X = grid
    return X


@functools.lru_cache(maxsize=None)
def _demo() -> tuple[DemoModel, ...]:
    return (
        _model("digits_forest",
               RandomForestClassifier(n_estimators=10, max_leaf_nodes=100, random_state=0),
               "digits", input_shape=(8, 8)),
        _model("wine_extratrees", ExtraTreesClassifier(n_estimators=10, random_state=0),
               "wine"),
        _model("diabetes_tree", DecisionTreeRegressor(max_depth=4, min_samples_leaf=10, random_state=0),
               "diabetes"),
        _model("breast_cancer_knn", KNeighborsClassifier(n_neighbors=5), "breast_cancer",
               "standard"),
    )


def demo_models() -> list[DemoModel]:
    """The four demo models.

    - digits_forest: RandomForestClassifier(n_estimators=10, max_leaf_nodes=100), digits.
    - wine_extratrees: ExtraTreesClassifier(n_estimators=10), wine.
    - diabetes_tree: DecisionTreeRegressor(max_depth=4, min_samples_leaf=10), diabetes.
    - breast_cancer_knn: KNeighborsClassifier(n_neighbors=5), breast cancer. Its features
      are standardised here first (StandardScaler fitted on the training part), so the
      model takes *already scaled* float32 inputs: X_train/X_test are the scaled values,
      and a board must apply the same scaling before ``predict``.
    """
    return list(_demo())




@functools.lru_cache(maxsize=None)
def gesture_models() -> tuple[DemoModel, ...]:
    """gestures_forest: RandomForestClassifier(n_estimators=10, max_depth=8) on the raw
    gesture windows of data.motion_split (64 samples x 3 axes, float32 in g, flattened
    sample by sample), classes by name (idle, walk, shake, tap, freefall)."""
    x_train, x_test, y_train, y_test = demo_data.motion_split()
    names = np.array(demo_data.MOTION_CLASSES)
    x_train = x_train.reshape(len(x_train), -1)
    x_test = x_test.reshape(len(x_test), -1)
    forest = RandomForestClassifier(n_estimators=10, max_depth=8, random_state=0)
    forest.fit(x_train, names[y_train])
    return (DemoModel("gestures_forest", forest, "gestures 64x3", x_train, x_test,
                      names[y_test], {"name": "gestures_forest",
                                      "input_shape": (demo_data.MOTION_LENGTH, 3)}),)
