"""The models the tests use: the demo's four (emlml_tools.demo.models, which also holds
the data splits and the fitting) and the test models below, small, real and deterministic.

Every model is fitted on float32 data from scikit-learn's bundled data sets (no downloads),
with a held-out split ``train_test_split(test_size=0.25, random_state=0)`` (stratified for
classifiers). ``X_test`` is float32; ``ZooModel.inputs()`` gives it in the blob's input type.
"""

from __future__ import annotations

import functools

from emlml_tools.demo.models import DemoModel as ZooModel
from emlml_tools.demo.models import _demo, _model, _on_grid, _split, demo_models  # noqa: F401
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.tree import DecisionTreeClassifier


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
    )


def test_models() -> list[ZooModel]:
    """Broader coverage for the tests (the demo models are not repeated here): every
    supported estimator class, classifiers and regressors, euclidean and manhattan (also
    as minkowski p=1), uniform and distance weights, kNN int8 and int16 samples, trees on
    int8/uint8/int16 inputs, a fully grown DecisionTreeClassifier."""
    return list(_tests())


test_models.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
