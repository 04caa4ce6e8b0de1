"""Gradient boosting against the libraries themselves: scikit-learn's GradientBoosting and
HistGradientBoosting (binary, multiclass, regressor; NaN), converted, run by the NumPy
reference and by the C core (ASan/UBSan, gcc and clang): 100 % agreement with the
library's predict on held-out data, on inputs placed exactly on every split threshold and
one float32 above it, and on NaN; probabilities within float32 rounding; the C core's
outputs bit-exact with the reference. (The zoo's boosting models run on MicroPython in
test_device_*.)"""

from __future__ import annotations

import numpy as np
import pytest
from emlml_tools import runtime
from emlml_tools.convert.sklearn_models import convert
from emlml_tools.format.keys import round_down_float32
from runtimes import HOST_DRIVERS, assert_driver_equals_reference, run_driver
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)

PROBA_TOL = 1e-6
REL_TOL = 1e-5


def _data(name: str, nan: bool) -> tuple[np.ndarray, np.ndarray]:
    X, y = {"wine": load_wine, "cancer": load_breast_cancer,
            "diabetes": load_diabetes}[name](return_X_y=True)
    X = X.astype(np.float32)
    if nan:
        X[np.random.default_rng(0).random(X.shape) < 0.15] = np.nan
    return X, y


CASES = {
    "gb_binary": (lambda: GradientBoostingClassifier(n_estimators=25, max_depth=3,
                                                     random_state=0), "cancer", False),
    "gb_multiclass": (lambda: GradientBoostingClassifier(n_estimators=15, max_depth=2,
                                                         learning_rate=0.3, random_state=0),
                      "wine", False),
    "gb_regressor": (lambda: GradientBoostingRegressor(n_estimators=40, max_depth=3,
                                                       loss="huber", random_state=0),
                     "diabetes", False),
    "hgb_binary_nan": (lambda: HistGradientBoostingClassifier(max_iter=25, random_state=0),
                       "cancer", True),
    "hgb_multiclass_nan": (lambda: HistGradientBoostingClassifier(max_iter=15,
                                                                  max_leaf_nodes=7,
                                                                  random_state=0),
                           "wine", True),
    "hgb_regressor_nan": (lambda: HistGradientBoostingRegressor(max_iter=40, random_state=0),
                          "diabetes", True),
    "hgb_binary_no_nan_seen": (lambda: HistGradientBoostingClassifier(max_iter=10,
                                                                      random_state=0),
                               "cancer", False),
}


def _thresholds(est) -> list[tuple[int, float]]:
    if hasattr(est, "_predictors"):
        return [(int(f), float(t)) for it in est._predictors for p in it
                for f, t, leaf in zip(p.nodes["feature_idx"], p.nodes["num_threshold"],
                                      p.nodes["is_leaf"]) if not leaf]
    return [(int(f), float(t)) for stage in est.estimators_ for tree in stage
            for f, t in zip(tree.tree_.feature, tree.tree_.threshold) if f >= 0]


def _inputs(est, X_test: np.ndarray, nan: bool) -> np.ndarray:
    """The held-out rows, then rows with one feature exactly on a split's threshold (the
    largest float32 <= t: goes left) and one float32 above (goes right), then (NaN
    models) rows with NaN in each feature in turn."""
    rows = [X_test]
    rng = np.random.default_rng(1)
    splits = _thresholds(est)
    for j in rng.choice(len(splits), size=min(150, len(splits)), replace=False):
        f, t = splits[j]
        below = round_down_float32([t])[0]
        for value in (below, np.nextafter(below, np.float32(np.inf))):
            row = X_test[rng.integers(len(X_test))].copy()
            row[f] = value
            rows.append(row[None, :])
    if nan:
        for f in range(X_test.shape[1]):
            row = X_test[rng.integers(len(X_test))].copy()
            row[f] = np.nan
            rows.append(row[None, :])
    x = np.concatenate(rows).astype(np.float32)
    return x[~np.isinf(x).any(axis=1)]  # a split of missing values alone has t = +inf


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request):
    make, data, nan = CASES[request.param]
    X, y = _data(data, nan)
    n = len(X) * 3 // 4
    est = make().fit(X[:n], y[:n])
    x = _inputs(est, X[n:], nan or request.param.startswith("hgb"))
    return request.param, est, convert(est), x


def test_reference_agrees_with_the_library(case):
    name, est, blob, x = case
    got = runtime.predict(blob, x)
    if hasattr(est, "classes_"):
        want = np.searchsorted(est.classes_, est.predict(x))
        assert (got == want).all(), (name, np.flatnonzero(got != want)[:10])
        proba = runtime.predict_proba(blob, x)
        assert np.abs(proba - est.predict_proba(x)).max() <= PROBA_TOL, name
    else:
        want = est.predict(x)
        rel = np.abs(got - want) / np.maximum(np.abs(want), 1.0)
        assert rel.max() <= REL_TOL, name


@pytest.mark.parametrize("driver", HOST_DRIVERS, ids=["gcc", "clang", "gcc-one-walk"])
def test_c_core_is_bit_exact_with_the_reference(case, driver, tmp_path):
    name, est, blob, x = case
    assert_driver_equals_reference(driver, blob, x, tmp_path, name)


def test_decision_rules_on_a_raw_score_of_exactly_zero(tmp_path):
    """Balanced classes that no split separates: every raw score is exactly 0.0.
    GradientBoostingClassifier says class 1 there (raw >= 0), HistGradientBoosting class
    0 (raw > 0); the blobs say the same."""
    X = np.array([[0.0], [0.0], [1.0], [1.0]] * 10, dtype=np.float32)
    y = np.array([0, 1, 0, 1] * 10)
    for est, want in ((GradientBoostingClassifier(n_estimators=3), 1),
                      (HistGradientBoostingClassifier(max_iter=3, min_samples_leaf=2), 0)):
        est.fit(X, y)
        raw = est.decision_function(X)
        assert (raw == 0.0).all() and (est.predict(X) == want).all()
        blob = convert(est)
        assert (runtime.predict(blob, X) == want).all()
        result = run_driver(HOST_DRIVERS[0], blob, X.tobytes(), tmp_path)
        assert {line.split()[1] for line in result.stdout.splitlines()} == {str(want)}


def test_refusals_say_what_to_do():
    X, y = _data("wine", False)
    cat = X.copy()
    cat[:, 0] = np.round(cat[:, 0]) % 4
    with pytest.raises(ValueError, match="categorical"):
        convert(HistGradientBoostingClassifier(max_iter=2, categorical_features=[0]).fit(cat, y))
    with pytest.raises(ValueError, match="non-identity link"):
        convert(HistGradientBoostingRegressor(loss="poisson", max_iter=2).fit(X, y + 1.0))
    with pytest.raises(ValueError, match="exponential"):
        convert(GradientBoostingClassifier(loss="exponential", n_estimators=2).fit(X, y == 1))
    from sklearn.linear_model import LinearRegression
    with pytest.raises(ValueError, match="init"):
        convert(GradientBoostingRegressor(init=LinearRegression(), n_estimators=2).fit(X, y))
