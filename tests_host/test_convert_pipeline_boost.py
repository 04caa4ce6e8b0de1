"""Pipelines of scalers before gradient boosting (scikit-learn, XGBoost, LightGBM): the
scalers are folded into the splits as for trees (convert/sklearn_pipeline.py), so the
blob's predict equals the host Pipeline's on held-out windows, with NaN, and on raw
inputs placed exactly on each folded split and one float32 above it; LightGBM's
zero_as_missing (a band on the scalers' outputs) runs the steps instead. The C core
(sanitized gcc) gives the reference's bits."""

from __future__ import annotations

import numpy as np
import pytest
from lightgbm import LGBMClassifier
from runtimes import HOST_DRIVERS, assert_driver_equals_reference
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.ensemble import (
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, StandardScaler
from xgboost import XGBClassifier, XGBRegressor

from emlml_tools import runtime
from emlml_tools.convert.sklearn_models import convert
from emlml_tools.format import read_blob
from emlml_tools.format.keys import key_values

DATA = {"wine": load_wine, "breast_cancer": load_breast_cancer, "diabetes": load_diabetes}

# name: (data, NaN in the data, steps, estimator, steps folded)
CASES = {
    "std_gb_wine": ("wine", False, [StandardScaler()],
                    GradientBoostingClassifier(n_estimators=10, max_depth=2, random_state=0), True),
    "minmax_hgb_nan_cancer": ("breast_cancer", True, [MinMaxScaler()],
                              HistGradientBoostingClassifier(max_iter=15, max_leaf_nodes=8,
                                                             random_state=0), True),
    "std_maxabs_hgb_diabetes": ("diabetes", True, [StandardScaler(), MaxAbsScaler()],
                                HistGradientBoostingRegressor(max_iter=20, max_leaf_nodes=8,
                                                              random_state=0), True),
    "std_xgb_nan_wine": ("wine", True, [StandardScaler()],
                         XGBClassifier(n_estimators=8, max_depth=2, n_jobs=1, random_state=0), True),
    "std_xgb_diabetes": ("diabetes", False, [StandardScaler()],
                         XGBRegressor(n_estimators=20, max_depth=3, n_jobs=1, random_state=0), True),
    "minmax_lgbm_nan_cancer": ("breast_cancer", True, [MinMaxScaler()],
                               LGBMClassifier(n_estimators=15, num_leaves=6, n_jobs=1,
                                              random_state=0, verbose=-1), True),
    "std_lgbm_zero_cancer": ("breast_cancer", False, [StandardScaler()],
                             LGBMClassifier(n_estimators=10, num_leaves=6, n_jobs=1,
                                            random_state=0, zero_as_missing=True, verbose=-1),
                             False),
}


def _data(name: str, nan: bool) -> tuple[np.ndarray, np.ndarray]:
    X, y = DATA[name](return_X_y=True)
    X = X.astype(np.float32)
    if nan:
        rng = np.random.default_rng(1)
        X[rng.random(X.shape) < 0.08] = np.nan
    order = np.random.default_rng(0).permutation(len(X))
    return X[order], y[order]


def _on_splits(blob: bytes, row: np.ndarray) -> np.ndarray:
    """Raw inputs exactly on each split's (folded) threshold and one float32 above it."""
    model = read_blob(blob)
    nodes = model.boost.nodes
    split = nodes["feature"] != 0xFFFF
    out = []
    for f, key in zip(nodes["feature"][split][:80], nodes["key"][split][:80]):
        x = key_values(np.array([key]))[0]
        if not np.isfinite(x):
            continue
        for v in (x, np.nextafter(x, np.float32(np.inf))):
            if not np.isfinite(v):  # a split above every float32: no input goes right
                continue
            r = row.copy()
            r[int(f)] = v
            out.append(r)
    return np.array(out, dtype=np.float32)


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request):
    data, nan, steps, est, folded = CASES[request.param]
    X, y = _data(data, nan)
    n = len(X) * 3 // 4
    pipe = make_pipeline(*steps, est).fit(X[:n], y[:n])
    blob = convert(pipe)
    row = np.nan_to_num(X[n], nan=0.5)
    x = np.concatenate([X[n:], _on_splits(blob, row)])
    return request.param, pipe, blob, x, folded


def test_predict_equals_host_pipeline(case):
    name, pipe, blob, x, _ = case
    got = runtime.predict(blob, x)
    want = pipe.predict(x)
    if hasattr(pipe, "classes_"):
        want = np.searchsorted(pipe.classes_, want)
        assert (got == want).all(), (name, np.flatnonzero(got != want)[:10])
    else:
        rel = np.abs(got - want) / np.maximum(np.abs(want), 1.0)
        assert rel.max() <= 1e-5, name


def test_scalers_folded_unless_a_zero_band(case):
    name, pipe, blob, _, folded = case
    pipeline = read_blob(blob).pipeline
    assert pipeline.n_steps == len(pipe.steps) - 1
    assert pipeline.n_run == (0 if folded else pipeline.n_steps), name


def test_c_core_is_bit_exact_with_the_reference(case, tmp_path):
    name, pipe, blob, x, _ = case
    assert_driver_equals_reference(HOST_DRIVERS[0], blob, x, tmp_path, name)
