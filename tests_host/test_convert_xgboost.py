"""XGBoost (xgboost-cpu 3.2) against its own predict: XGBClassifier (binary, multi:softprob,
multi:softmax) and XGBRegressor, with NaN, converted from the estimator and from its saved
JSON model (parsed by emlml, without XGBoost), on held-out rows, on rows placed exactly on
every split threshold and one float32 below it, and on NaN; the margins bit-exact; the C
core bit-exact with the reference (gcc, clang, ASan/UBSan). The decision constants are
checked against the library by bisection over base margins."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from emlml_tools import runtime
from emlml_tools.convert.sklearn_models import convert, convert_model_file
from emlml_tools.convert.xgboost_json import BINARY_THRESHOLD, SOFTPROB_TIE
from emlml_tools.format import read_blob
from emlml_tools.runtime import boost as boost_runtime
from runtimes import HOST_DRIVERS, assert_driver_equals_reference
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

xgb = pytest.importorskip("xgboost")

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
    "binary_nan": (lambda: xgb.XGBClassifier(n_estimators=30, max_depth=3), "cancer", True),
    "softprob_nan": (lambda: xgb.XGBClassifier(n_estimators=15, max_depth=3), "wine", True),
    "softmax": (lambda: xgb.XGBClassifier(n_estimators=10, max_depth=2,
                                          objective="multi:softmax"), "wine", False),
    "regressor_nan": (lambda: xgb.XGBRegressor(n_estimators=40, max_depth=4), "diabetes", True),
    "regressor_huber": (lambda: xgb.XGBRegressor(n_estimators=20, max_depth=3,
                                                 objective="reg:pseudohubererror"),
                        "diabetes", False),
}


def _inputs(est, X_test: np.ndarray) -> np.ndarray:
    """Held-out rows; rows with a feature exactly on a split's threshold (x < t is false:
    right) and one float32 below (left); rows with NaN in each feature in turn."""
    import json
    model = json.loads(bytes(est.get_booster().save_raw("json")))
    rows = [X_test]
    rng = np.random.default_rng(1)
    for tree in model["learner"]["gradient_booster"]["model"]["trees"]:
        for f, t, left in zip(tree["split_indices"], tree["split_conditions"],
                              tree["left_children"]):
            if left == -1:
                continue
            t32 = np.float32(t)
            for value in (t32, np.nextafter(t32, np.float32(-np.inf))):
                row = X_test[rng.integers(len(X_test))].copy()
                row[f] = value
                rows.append(row[None, :])
    for f in range(X_test.shape[1]):
        row = X_test[rng.integers(len(X_test))].copy()
        row[f] = np.nan
        rows.append(row[None, :])
    return np.concatenate(rows).astype(np.float32)


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request):
    make, data, nan = CASES[request.param]
    X, y = _data(data, nan)
    n = len(X) * 3 // 4
    est = make().fit(X[:n], y[:n])
    json_model = bytes(est.get_booster().save_raw("json"))
    return request.param, est, convert(est), json_model, _inputs(est, X[n:])


def test_reference_agrees_with_xgboost(case):
    name, est, blob, _, x = case
    got = runtime.predict(blob, x)
    want = est.predict(x)
    if hasattr(est, "classes_"):
        want = np.searchsorted(est.classes_, want)
        assert (got == want).all(), (name, np.flatnonzero(got != want)[:10])
        assert np.abs(runtime.predict_proba(blob, x) - est.predict_proba(x)).max() <= PROBA_TOL
    else:
        assert np.array_equal(got, want.astype(np.float32)), name  # float32 margins, bit for bit
    margins = est.get_booster().predict(xgb.DMatrix(x), output_margin=True)
    ours = boost_runtime.raw_scores(read_blob(blob), x).astype(np.float32)
    assert np.array_equal(ours.reshape(margins.shape).view(np.uint32),
                          margins.astype(np.float32).view(np.uint32)), name


def test_json_file_gives_the_same_blob_as_the_estimator(case):
    name, est, blob, json_model, _ = case
    from_file = convert_model_file(json_model, "xgboost-json")
    assert read_blob(from_file).boost.leaves.tobytes() == read_blob(blob).boost.leaves.tobytes()
    assert read_blob(from_file).boost.nodes.tobytes() == read_blob(blob).boost.nodes.tobytes()


@pytest.mark.parametrize("driver", HOST_DRIVERS[:2], ids=["gcc", "clang"])
def test_c_core_is_bit_exact_with_the_reference(case, driver, tmp_path):
    name, est, blob, _, x = case
    assert_driver_equals_reference(driver, blob, x, tmp_path, name)


def _float32(bits: int) -> np.float32:
    return np.array([bits], dtype=np.int32).view(np.float32)[0]


def test_decision_constants_are_xgboosts():
    """With learning_rate 0 every leaf is 0: the margin is the base margin we pass. The
    smallest float32 margin XGBoost calls class 1 is just above BINARY_THRESHOLD; a
    softprob class ties with the largest margin exactly when within SOFTPROB_TIE."""
    X, y = _data("cancer", False)
    clf = xgb.XGBClassifier(n_estimators=1, max_depth=1, learning_rate=0.0).fit(X, y)

    def is_one(bits: int) -> bool:
        return bool(clf.predict(X[:1], base_margin=np.array([_float32(bits)]))[0])
    lo, hi = 0, int(np.float32(1e-3).view(np.int32))
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if is_one(mid) else (mid, hi)
    assert float(_float32(lo)) == BINARY_THRESHOLD
    Xw, yw = _data("wine", False)
    multi = xgb.XGBClassifier(n_estimators=1, max_depth=1, learning_rate=0.0).fit(Xw, yw)
    for d, tie in ((SOFTPROB_TIE, True), (float(np.nextafter(np.float32(SOFTPROB_TIE), 1)), False)):
        margins = np.array([[-d, 0.0, -1.0]], dtype=np.float32)
        assert (multi.predict(Xw[:1], base_margin=margins)[0] == 0) == tie


def test_json_converts_without_xgboost(tmp_path):
    X, y = _data("wine", True)
    path = tmp_path / "model.json"
    xgb.XGBClassifier(n_estimators=3, max_depth=2).fit(X, y).get_booster().save_model(str(path))
    script = ("import sys; sys.modules['xgboost'] = None; from emlml_tools.cli import main; "
              f"sys.exit(main(['convert', {str(path)!r}, '-o', {str(tmp_path / 'm.bin')!r}]))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert read_blob((tmp_path / "m.bin").read_bytes()).boost.n_trees == 9


def test_early_stopping_keeps_the_trees_predict_uses(tmp_path):
    X, y = _data("cancer", True)
    est = xgb.XGBClassifier(n_estimators=200, max_depth=3, learning_rate=0.5,
                            early_stopping_rounds=3).fit(X[:300], y[:300],
                                                         eval_set=[(X[300:], y[300:])],
                                                         verbose=False)
    blob = convert(est)
    assert read_blob(blob).boost.n_trees == est.best_iteration + 1
    assert (runtime.predict(blob, X) == est.predict(X)).all()
    path = tmp_path / "m.json"
    est.save_model(str(path))
    again = xgb.XGBClassifier()
    again.load_model(str(path))
    from_file = convert_model_file(path.read_bytes(), "xgboost-json")
    assert (runtime.predict(from_file, X) == again.predict(X)).all()


def test_refusals_say_what_to_do():
    X, y = _data("wine", False)
    with pytest.raises(ValueError, match="objective"):
        convert(xgb.XGBRegressor(n_estimators=2, objective="count:poisson").fit(X, y))
    with pytest.raises(ValueError, match="gbtree"):
        convert(xgb.XGBClassifier(n_estimators=2, booster="dart").fit(X, y))
    with pytest.raises(ValueError, match="not an XGBoost JSON model"):
        convert_model_file(b"{}", "xgboost-json")


def test_pickled_estimator_without_xgboost_says_what_to_install(tmp_path):
    import joblib
    X, y = _data("wine", False)
    path = tmp_path / "model.joblib"
    joblib.dump(xgb.XGBClassifier(n_estimators=2, max_depth=2).fit(X, y), path)
    script = ("import sys; sys.modules['xgboost'] = None; from emlml_tools.cli import main; "
              f"sys.exit(main(['convert', {str(path)!r}, '-o', {str(tmp_path / 'm.bin')!r}]))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "install it with: pip install xgboost-cpu" in result.stderr, result.stderr
