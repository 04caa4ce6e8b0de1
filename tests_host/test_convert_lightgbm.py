"""LightGBM (4.7) against its own predict: LGBMClassifier (binary, multiclass) and
LGBMRegressor, with NaN (missing types NaN and None), converted from the estimator and from
its text model (parsed by emlml, without LightGBM), on held-out rows, on rows placed
exactly on every split threshold and one float32 above it, and on NaN; raw scores
bit-exact; the C core bit-exact with the reference (gcc, clang, ASan/UBSan). The decision
constant is checked against the library."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from emlml_tools import runtime
from emlml_tools.convert.lightgbm_text import BINARY_THRESHOLD
from emlml_tools.convert.sklearn_models import convert, convert_model_file
from emlml_tools.format import read_blob
from emlml_tools.format.keys import round_down_float32
from emlml_tools.runtime import boost as boost_runtime
from runtimes import HOST_DRIVERS, assert_driver_equals_reference
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

lgb = pytest.importorskip("lightgbm")

PROBA_TOL = 1e-6


def _data(name: str, nan: bool):
    X, y = {"wine": load_wine, "cancer": load_breast_cancer,
            "diabetes": load_diabetes}[name](return_X_y=True)
    X = X.astype(np.float32)
    rng = np.random.default_rng(0)
    if nan:
        X[rng.random(X.shape) < 0.15] = np.nan
    order = rng.permutation(len(X))
    return X[order], y[order]


CASES = {
    "binary_nan": (lambda: lgb.LGBMClassifier(n_estimators=30, num_leaves=8, verbose=-1),
                   "cancer", True),
    "binary_no_nan_seen": (lambda: lgb.LGBMClassifier(n_estimators=20, num_leaves=8,
                                                      verbose=-1), "cancer", False),
    "multiclass_nan": (lambda: lgb.LGBMClassifier(n_estimators=15, num_leaves=6, verbose=-1),
                       "wine", True),
    "regressor_nan": (lambda: lgb.LGBMRegressor(n_estimators=40, num_leaves=8, verbose=-1),
                      "diabetes", True),
    "regressor_l1": (lambda: lgb.LGBMRegressor(n_estimators=20, num_leaves=6,
                                               objective="l1", verbose=-1), "diabetes", False),
    "binary_zero_as_missing": (lambda: lgb.LGBMClassifier(n_estimators=20, num_leaves=8,
                                                          zero_as_missing=True, verbose=-1),
                               "cancer", True),
    "regressor_zero_as_missing": (lambda: lgb.LGBMRegressor(n_estimators=20, num_leaves=8,
                                                            zero_as_missing=True, verbose=-1),
                                  "diabetes", False),
}
# The zero band (|x| <= 1e-35f is missing with zero_as_missing) and its edges.
_ZERO_EDGES = [0.0, -0.0, 1e-36, -1e-35, float(np.nextafter(np.float32(1e-35), 1)), 1e-45]


def _splits(text: str) -> list[tuple[int, float]]:
    out = []
    for block in text.split("\nTree=")[1:]:
        fields = dict(line.split("=", 1) for line in block.splitlines()[1:] if "=" in line)
        if "threshold" in fields:
            out += list(zip(map(int, fields["split_feature"].split()),
                            map(float, fields["threshold"].split())))
    return out


def _inputs(text: str, X_test: np.ndarray) -> np.ndarray:
    rows = [X_test]
    rng = np.random.default_rng(1)
    for f, t in _splits(text):
        below = round_down_float32([t])[0]
        for value in (below, np.nextafter(below, np.float32(np.inf))):
            row = X_test[rng.integers(len(X_test))].copy()
            row[f] = value
            rows.append(row[None, :])
    for f in range(X_test.shape[1]):
        for value in [np.nan] + _ZERO_EDGES:
            row = X_test[rng.integers(len(X_test))].copy()
            row[f] = value
            rows.append(row[None, :])
    x = np.concatenate(rows).astype(np.float32)
    return x[~np.isinf(x).any(axis=1)]  # thresholds beyond float32 range


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request):
    make, data, nan = CASES[request.param]
    X, y = _data(data, nan)
    n = len(X) * 3 // 4
    est = make().fit(X[:n], y[:n])
    text = est.booster_.model_to_string()
    return request.param, est, convert(est), text, _inputs(text, X[n:])


def test_reference_agrees_with_lightgbm(case):
    name, est, blob, _, x = case
    got = runtime.predict(blob, x)
    want = est.predict(x)
    if hasattr(est, "classes_"):
        want = np.searchsorted(est.classes_, want)
        assert (got == want).all(), (name, np.flatnonzero(got != want)[:10])
        assert np.abs(runtime.predict_proba(blob, x) - est.predict_proba(x)).max() <= PROBA_TOL
    else:
        assert (np.abs(got - want) <= 1e-5 * np.maximum(np.abs(want), 1.0)).all(), name
    raw = est.predict(x, raw_score=True)
    ours = boost_runtime.raw_scores(read_blob(blob), x).reshape(raw.shape)
    assert np.array_equal(ours, raw), name  # float64 sums, bit for bit


def test_text_file_gives_the_same_blob_as_the_estimator(case):
    name, est, blob, text, _ = case
    from_file = read_blob(convert_model_file(text.encode(), "lightgbm-text"))
    assert from_file.boost.leaves.tobytes() == read_blob(blob).boost.leaves.tobytes()
    assert from_file.boost.nodes.tobytes() == read_blob(blob).boost.nodes.tobytes()


@pytest.mark.parametrize("driver", HOST_DRIVERS[:2], ids=["gcc", "clang"])
def test_c_core_is_bit_exact_with_the_reference(case, driver, tmp_path):
    name, est, blob, _, x = case
    assert_driver_equals_reference(driver, blob, x, tmp_path, name)


def test_binary_threshold_is_lightgbms():
    """LGBMClassifier's predict is argmax([1 - p, p]) of the p LightGBM's C++ sigmoid gives:
    a one-tree model whose leaves all hold the raw score r says class 1 exactly where
    r > BINARY_THRESHOLD."""
    X, y = _data("cancer", False)
    clf = lgb.LGBMClassifier(n_estimators=1, num_leaves=2, verbose=-1).fit(X, y)
    text = clf.booster_.model_to_string()
    line = next(s for s in text.splitlines() if s.startswith("leaf_value="))
    for raw, want in ((BINARY_THRESHOLD, 0), (float(np.nextafter(BINARY_THRESHOLD, 1.0)), 1),
                      (0.0, 0), (-1e-300, 0), (1e-10, 1)):
        model = text.replace(line, f"leaf_value={raw!r} {raw!r}")
        p = lgb.Booster(model_str=model).predict(X[:1])[0]
        assert int(np.argmax([1.0 - p, p])) == want, raw
        blob = convert_model_file(model.encode(), "lightgbm-text")
        assert runtime.predict(blob, X[:1])[0] == want, raw


def test_text_converts_without_lightgbm(tmp_path):
    X, y = _data("wine", True)
    path = tmp_path / "model.txt"
    lgb.LGBMClassifier(n_estimators=3, num_leaves=4, verbose=-1).fit(X, y).booster_.save_model(
        str(path))
    script = ("import sys; sys.modules['lightgbm'] = None; from emlml_tools.cli import main; "
              f"sys.exit(main(['convert', {str(path)!r}, '-o', {str(tmp_path / 'm.bin')!r}]))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert read_blob((tmp_path / "m.bin").read_bytes()).boost.n_trees == 9


def test_zero_as_missing_marks_the_features():
    X, y = _data("cancer", False)
    blob = convert(lgb.LGBMClassifier(n_estimators=5, num_leaves=8, zero_as_missing=True,
                                      verbose=-1).fit(X, y))
    assert read_blob(blob).boost.zero_missing.any()
    plain = convert(lgb.LGBMClassifier(n_estimators=5, num_leaves=8, verbose=-1).fit(X, y))
    assert read_blob(plain).boost.zero_missing is None


def test_early_stopping_keeps_the_trees_predict_uses():
    X, y = _data("cancer", True)
    est = lgb.LGBMClassifier(n_estimators=300, learning_rate=0.5, num_leaves=8, verbose=-1)
    est.fit(X[:300], y[:300], eval_set=[(X[300:], y[300:])],
            callbacks=[lgb.early_stopping(3, verbose=False)])
    assert 0 < est.best_iteration_ < 300
    blob = convert(est)
    assert read_blob(blob).boost.n_trees == est.best_iteration_
    assert (runtime.predict(blob, X) == est.predict(X)).all()


def test_refusals_say_what_to_do():
    X, y = _data("wine", False)
    with pytest.raises(ValueError, match="objective"):
        convert(lgb.LGBMRegressor(n_estimators=2, objective="poisson", verbose=-1).fit(X, y))
    with pytest.raises(ValueError, match="random forest"):
        convert(lgb.LGBMClassifier(boosting_type="rf", n_estimators=2, bagging_freq=1,
                                   bagging_fraction=0.5, verbose=-1).fit(X, y))
    with pytest.raises(ValueError, match="not a LightGBM text model"):
        convert_model_file(b"hello", "lightgbm-text")
