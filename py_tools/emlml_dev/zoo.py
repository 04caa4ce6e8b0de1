"""The models the tests use: the demo's four (emlml_tools.demo.models, which also holds
the data splits and the fitting) and the test models below, small, real and deterministic.

Every model is fitted on float32 data from scikit-learn's bundled data sets (no downloads),
with a held-out split ``train_test_split(test_size=0.25, random_state=0)`` (stratified for
classifiers). ``X_test`` is float32; ``ZooModel.inputs()`` gives it in the blob's input type.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
from xgboost import XGBClassifier, XGBRegressor
from emlml_tools.demo.models import DemoModel as ZooModel
from emlml_tools.demo.models import _demo, _model, _on_grid, _split, demo_models  # noqa: F401
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from lightgbm import LGBMClassifier, LGBMRegressor
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor


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
        # integer distances (one grid, the query quantized to it): uniform weights, as
        # the query's rounding moves a weight by up to half a grid step
        _model("wine_knn_int8", KNeighborsClassifier(n_neighbors=5), "wine", "standard",
               grid="int8"),
        _model("breast_cancer_knn_int16_integer", KNeighborsClassifier(n_neighbors=5),
               "breast_cancer", "standard", grid="int16"),
        _model("diabetes_knn_int16_integer_manhattan",
               KNeighborsRegressor(n_neighbors=4, metric="manhattan"), "diabetes",
               grid="int16"),
        # float32 distances to dequantized per-feature codes (blobs before integer distances)
        _model("breast_cancer_knn_int16_distance",
               KNeighborsClassifier(n_neighbors=6, weights="distance", metric="manhattan"),
               "breast_cancer", "standard", grid="int16", knn_distances="float32"),
        _model("diabetes_knn_int8_distance",
               KNeighborsRegressor(n_neighbors=5, weights="distance"), "diabetes",
               grid="int8", knn_distances="float32"),
    ) + _nan_models() + _tie_models() + _boost_models()


def _boost_models() -> tuple[ZooModel, ...]:
    """Gradient boosting (names hold "_boost"): scikit-learn's GradientBoosting (binary,
    multiclass, regressor, uint8 input) and HistGradientBoosting (the same, fitted with
    NaN and predicting on NaN only), XGBoost and LightGBM (binary, multiclass, regressor,
    with NaN), small enough for every board."""
    return (
        _model("breast_cancer_boost_gb",
               GradientBoostingClassifier(n_estimators=20, max_depth=3, random_state=0),
               "breast_cancer"),
        _model("wine_boost_gb", GradientBoostingClassifier(n_estimators=8, max_depth=2,
                                                           random_state=0), "wine"),
        _model("diabetes_boost_gb",
               GradientBoostingRegressor(n_estimators=30, max_depth=3, random_state=0),
               "diabetes"),
        _model("digits_boost_gb_uint8",
               GradientBoostingClassifier(n_estimators=3, max_depth=2, random_state=0),
               "digits", input_type="uint8"),
        _model("breast_cancer_boost_hgb_nan",
               HistGradientBoostingClassifier(max_iter=20, max_leaf_nodes=8, random_state=0),
               "breast_cancer", "nan"),
        _model("wine_boost_hgb_nan_test",
               HistGradientBoostingClassifier(max_iter=8, max_leaf_nodes=5, random_state=0),
               "wine", "nan_test"),
        _model("diabetes_boost_hgb_nan",
               HistGradientBoostingRegressor(max_iter=30, max_leaf_nodes=8, random_state=0),
               "diabetes", "nan"),
        _model("digits_boost_hgb_uint8",
               HistGradientBoostingClassifier(max_iter=4, max_leaf_nodes=6, random_state=0),
               "digits", input_type="uint8"),
        _model("breast_cancer_boost_xgb_nan",
               XGBClassifier(n_estimators=20, max_depth=3, n_jobs=1, random_state=0),
               "breast_cancer", "nan"),
        _model("wine_boost_xgb_nan_test",
               XGBClassifier(n_estimators=8, max_depth=2, n_jobs=1, random_state=0),
               "wine", "nan_test"),
        _model("diabetes_boost_xgb_nan",
               XGBRegressor(n_estimators=30, max_depth=3, n_jobs=1, random_state=0),
               "diabetes", "nan"),
        _model("breast_cancer_boost_lgbm_nan",
               LGBMClassifier(n_estimators=20, num_leaves=8, n_jobs=1, random_state=0,
                              verbose=-1), "breast_cancer", "nan"),
        _model("wine_boost_lgbm_nan",
               LGBMClassifier(n_estimators=8, num_leaves=5, n_jobs=1, random_state=0,
                              verbose=-1), "wine", "nan"),
        _model("breast_cancer_boost_lgbm_zero",  # zero_as_missing: the data has zeros
               LGBMClassifier(n_estimators=15, num_leaves=6, n_jobs=1, random_state=0,
                              zero_as_missing=True, verbose=-1), "breast_cancer"),
        _model("diabetes_boost_lgbm_nan_test",
               LGBMRegressor(n_estimators=30, num_leaves=8, n_jobs=1, random_state=0,
                             verbose=-1), "diabetes", "nan_test"),
    )


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
