"""The models the demo and the tests use: small, real and deterministic.

Every model is fitted on float32 data from scikit-learn's bundled data sets (no downloads),
with a held-out split ``train_test_split(test_size=0.25, random_state=0)`` (stratified for
classifiers). ``X_test`` is float32; ``ZooModel.inputs()`` gives it in the blob's input type.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from emlml_tools.convert.sklearn_models import (
    convert,
    dequantize_samples,
    quantize_samples,
)
from emlml_tools.format import INPUT_DTYPES, INPUT_TYPE_NAMES, SAMPLE_TYPE_NAMES
from sklearn import datasets
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor


@dataclass(frozen=True)
class ZooModel:
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
           grid: str | None = None, **convert_kwargs: Any) -> ZooModel:
    """Fit ``estimator`` on the split. ``grid`` (int8/int16): fit a kNN on its training data
    already quantized as the blob will store it (``_on_grid``), so the blob and the
    estimator hold the very same samples and parity is exact, not approximate."""
    data = _split(dataset, transform)
    X_train = data.X_train
    if grid is not None:
        X_train = _on_grid(X_train, grid)
        convert_kwargs["knn_samples"] = grid
    estimator.fit(X_train, data.y_train)
    if data.target_names is not None and dataset != "digits":
        convert_kwargs.setdefault("labels", list(data.target_names))
    convert_kwargs.setdefault("name", name)
    return ZooModel(name, estimator, dataset, X_train, data.X_test, data.y_test, convert_kwargs)


def near_ties(model: ZooModel) -> np.ndarray:
    """Per held-out sample: scikit-learn's two most probable classes are within 1e-9 (a
    tie in exact arithmetic, which its float64 rounding breaks one way or the other)."""
    top = np.sort(model.estimator.predict_proba(model.X_test), axis=1)
    return top[:, -1] - top[:, -2] <= 1e-9


def _ties_first(model: ZooModel) -> ZooModel:
    """The held-out samples where scikit-learn's two most probable classes are tied (equal
    in exact arithmetic: within 1e-9 in float64) come first, in a stable order: a run on
    the first few samples only (the emulated ESP32) still meets the ties."""
    order = np.argsort(~near_ties(model), kind="stable")
    return dataclasses.replace(model, X_test=model.X_test[order], y_test=model.y_test[order])


def _on_grid(X: np.ndarray, sample_type: str) -> np.ndarray:
    """Quantize then dequantize until nothing changes (a few rounds): a kNN fitted on the
    result is stored by ``convert`` with exactly the samples it was fitted on."""
    for _ in range(20):
        codes, scale, offset = quantize_samples(X, SAMPLE_TYPE_NAMES[sample_type])
        grid = dequantize_samples(codes, scale, offset)
        if np.array_equal(grid, X):
            break
        X = grid
    return X


@functools.lru_cache(maxsize=None)
def _demo() -> tuple[ZooModel, ...]:
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


def demo_models() -> list[ZooModel]:
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
def _tests() -> tuple[ZooModel, ...]:
    return (
        _model("digits_tree_full", DecisionTreeClassifier(random_state=0), "digits"),
        _model("digits_tree_uint8", DecisionTreeClassifier(max_depth=10, random_state=0),
               "digits", input_type="uint8", input_shape=(8, 8)),
        _model("digits_forest_int8",
               RandomForestClassifier(n_estimators=5, max_depth=8, random_state=1),
               "digits", input_type="int8"),
        _model("breast_cancer_extratrees",
               ExtraTreesClassifier(n_estimators=8, max_depth=6, random_state=0),
               "breast_cancer"),
        _model("diabetes_forest",
               RandomForestRegressor(n_estimators=10, max_depth=6, random_state=0),
               "diabetes"),
        _model("diabetes_extratrees_int16",
               ExtraTreesRegressor(n_estimators=5, max_depth=8, random_state=0),
               "diabetes", "milli", input_type="int16"),
        _model("wine_knn_manhattan_distance",
               KNeighborsClassifier(n_neighbors=7, metric="manhattan", weights="distance"),
               "wine", "standard"),
        _model("breast_cancer_knn_minkowski_p1",
               KNeighborsClassifier(n_neighbors=3, metric="minkowski", p=1),
               "breast_cancer", "standard"),
        _model("diabetes_knn_distance", KNeighborsRegressor(n_neighbors=5, weights="distance"),
               "diabetes"),
        _model("diabetes_knn_manhattan", KNeighborsRegressor(n_neighbors=4, metric="manhattan"),
               "diabetes"),
        _model("diabetes_knn_int16_input", KNeighborsRegressor(n_neighbors=3), "diabetes",
               "milli", input_type="int16"),
        _model("wine_knn_int8", KNeighborsClassifier(n_neighbors=5), "wine", "standard",
               grid="int8"),
        _model("breast_cancer_knn_int16_distance",
               KNeighborsClassifier(n_neighbors=6, weights="distance", metric="manhattan"),
               "breast_cancer", "standard", grid="int16"),
        _model("diabetes_knn_int8_distance",
               KNeighborsRegressor(n_neighbors=5, weights="distance"), "diabetes",
               grid="int8"),
    ) + _nan_models() + _tie_models()


def _nan_models() -> tuple[ZooModel, ...]:
    """Missing values: each tree estimator fitted with NaN in its training data, and
    fitted without but predicting on NaN (scikit-learn's missing_go_to_left: the learned
    side, or the child with more samples)."""
    models = []
    for transform in ("nan", "nan_test"):
        models += [
            _model(f"wine_tree_{transform}", DecisionTreeClassifier(max_depth=6, random_state=0),
                   "wine", transform),
            _model(f"wine_forest_{transform}",
                   RandomForestClassifier(n_estimators=4, max_depth=5, random_state=0),
                   "wine", transform),
            _model(f"breast_cancer_extratrees_{transform}",
                   ExtraTreesClassifier(n_estimators=4, max_depth=5, random_state=0),
                   "breast_cancer", transform),
            _model(f"diabetes_tree_{transform}",
                   DecisionTreeRegressor(max_depth=5, random_state=0), "diabetes", transform),
            _model(f"diabetes_forest_{transform}",
                   RandomForestRegressor(n_estimators=4, max_depth=5, random_state=0),
                   "diabetes", transform),
            _model(f"diabetes_extratrees_{transform}",
                   ExtraTreesRegressor(n_estimators=4, max_depth=5, random_state=0),
                   "diabetes", transform),
        ]
    return tuple(models)


def _tie_models() -> tuple[ZooModel, ...]:
    """Exact ties: few trees on small-integer features (digits' 0..16 pixels) with
    impure leaves. scikit-learn's float64 sums decide which tied class comes first; its
    held-out sets hold such ties (tests_host/test_runtime_ties.py asserts it) and the
    tied samples come first."""
    return (
        _ties_first(_model("digits_forest_ties",
                           RandomForestClassifier(n_estimators=2, min_samples_leaf=8,
                                                  random_state=1), "digits")),
        _ties_first(_model("digits_extratrees_ties",
                           ExtraTreesClassifier(n_estimators=2, min_samples_leaf=5,
                                                random_state=1), "digits")),
    )


def test_models() -> list[ZooModel]:
    """Broader coverage for the tests (the demo models are not repeated here): every
    supported estimator class, classifiers and regressors, euclidean and manhattan (also
    as minkowski p=1), uniform and distance weights, kNN int8 and int16 samples, trees on
    int8/uint8/int16 inputs, a fully grown DecisionTreeClassifier; every tree estimator
    with missing values (fitted with NaN, and predicting on NaN only); forests whose
    held-out sets hold exact ties."""
    return list(_tests())


test_models.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
