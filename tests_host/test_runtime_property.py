"""Property tests (hypothesis): random forests on random float32 data agree exactly with
scikit-learn, and corrupted blobs are refused."""

from __future__ import annotations

import numpy as np
from emlml_tools import runtime as reference
from emlml_tools.convert.sklearn_models import convert
from emlml_tools.format import INPUT_DTYPES, InputType, read_blob
from emlml_tools.runtime.trees import votes as tree_votes
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
CLASSIFIERS = [DecisionTreeClassifier, RandomForestClassifier, ExtraTreesClassifier]
REGRESSORS = [DecisionTreeRegressor, RandomForestRegressor, ExtraTreesRegressor]

float32s = st.one_of(
    st.floats(width=32, allow_nan=False, allow_infinity=False),  # any finite float32
    st.integers(-3, 3).map(float),  # small grid: many equal values
    st.floats(-2, 2, width=32),
)


@st.composite
def dataset(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(4, 40))
    d = draw(st.integers(1, 4))
    x = draw(hnp.arrays(np.float32, (n, d), elements=float32s))
    return x, draw(st.integers(0, 2**31 - 1))


def probes(x: np.ndarray) -> np.ndarray:
    """The training points and their float32 neighbours one ulp either side: exactly the
    inputs that a threshold rounded the wrong way would send down the wrong branch."""
    with np.errstate(over="ignore"):
        up = np.nextafter(x, np.float32(np.inf))
        down = np.nextafter(x, np.float32(-np.inf))
    out = np.concatenate([x, up, down, np.zeros_like(x[:1]), -np.zeros_like(x[:1])])
    return out[np.isfinite(out).all(axis=1)]


def assert_same_classes(ours: np.ndarray, model, q: np.ndarray) -> None:
    """Predictions agree on every probe, ties included: where two classes are tied in
    exact arithmetic (e.g. 3 ExtraTrees at 4/9 and 4/9) scikit-learn's float64 sums break
    the tie, and so does the blob's replay of them (FORMAT.md, Ties)."""
    theirs = np.searchsorted(model.classes_, model.predict(q))
    np.testing.assert_array_equal(ours, theirs)


def fit(cls: type, x: np.ndarray, y: np.ndarray, seed: int, n_trees: int,
        max_depth: int | None):
    params = {"random_state": seed % 1000, "max_depth": max_depth}
    if cls not in (DecisionTreeClassifier, DecisionTreeRegressor):
        params["n_estimators"] = n_trees
    return cls(**params).fit(x, y)


@SETTINGS
@given(data=dataset(), cls=st.sampled_from(CLASSIFIERS), n_classes=st.integers(2, 4),
       n_trees=st.integers(1, 5), max_depth=st.one_of(st.none(), st.integers(1, 6)))
def test_random_classifiers_agree(data, cls, n_classes, n_trees, max_depth) -> None:
    x, seed = data
    y = np.random.default_rng(seed).integers(0, n_classes, len(x))
    assume(len(np.unique(y)) > 1)
    model = fit(cls, x, y, seed, n_trees, max_depth)
    blob = read_blob(convert(model))
    q = probes(x)
    ours_p = reference.predict_proba(blob, q)
    theirs_p = model.predict_proba(q)
    assert np.abs(ours_p - theirs_p).max() <= 1e-6
    assert_same_classes(reference.predict(blob, q), model, q)


@SETTINGS
@given(data=dataset(), cls=st.sampled_from(REGRESSORS), n_trees=st.integers(1, 5),
       max_depth=st.one_of(st.none(), st.integers(1, 6)))
def test_random_regressors_agree(data, cls, n_trees, max_depth) -> None:
    x, seed = data
    y = np.random.default_rng(seed).uniform(1, 100, len(x))
    model = fit(cls, x, y, seed, n_trees, max_depth)
    blob = convert(model)
    q = probes(x)
    ours = reference.predict(blob, q)
    theirs = model.predict(q)
    assert (np.abs(ours - theirs) / np.abs(theirs)).max() <= 1e-5


@SETTINGS
@given(values=hnp.arrays(np.int16, st.tuples(st.integers(4, 40), st.integers(1, 3)),
                         elements=st.integers(-300, 300)),
       input_type=st.sampled_from(["int16", "int8", "uint8"]), seed=st.integers(0, 99))
def test_random_integer_input_trees(values, input_type, seed) -> None:
    info = np.iinfo(input_type)
    x = np.clip(values, info.min, info.max).astype(input_type)
    y = np.random.default_rng(seed).integers(0, 3, len(x))
    model = ExtraTreesClassifier(n_estimators=3, random_state=seed).fit(
        x.astype(np.float32), y)
    blob = convert(model, input_type=input_type)
    q = np.concatenate([x, np.clip(x.astype(int) + 1, info.min, info.max).astype(input_type),
                        np.clip(x.astype(int) - 1, info.min, info.max).astype(input_type)])
    assert np.abs(reference.predict_proba(blob, q)
                  - model.predict_proba(q.astype(np.float32))).max() <= 1e-6
    assert_same_classes(reference.predict(blob, q), model, q.astype(np.float32))


def test_known_tie_float32_vs_float64() -> None:
    """An exact tie (4/9 and 4/9) that scikit-learn's float64 sum breaks one way (by 2^-54)
    and the integer votes the other (by one vote out of 1.4e9, from rounding 2/3 and 1/6
    to whole votes): the votes are within the margin, so predict replays the float64
    sums from the votes and TREE_WEIGHTS and gives scikit-learn's class."""
    x = np.array([[1, 0], [-1, 1], [0, 0], [1, 0], [1, 0], [0, 0], [0, 0], [0, 0], [0, 0],
                  [0, 0]], np.float32)
    y = np.array([2, 1, 1, 0, 0, 0, 0, 0, 0, 2])
    model = ExtraTreesClassifier(n_estimators=3, random_state=0).fit(x, y)
    q = np.array([[-1, -1]], np.float32)
    blob = convert(model)
    theirs = model.predict_proba(q)[0]
    votes = tree_votes(read_blob(blob), q)[0]
    assert theirs[1] - theirs[0] == 2.0 ** -54  # 0.4444444444444445 vs 0.4444444444444444
    assert int(votes[0]) - int(votes[1]) == 1
    ours = reference.predict_proba(blob, q)[0]
    assert ours[0] == ours[1]  # equal once in float32
    assert read_blob(blob).trees.weights is not None  # impure leaves: TREE_WEIGHTS
    assert model.predict(q)[0] == 1 and reference.predict(blob, q)[0] == 1  # the replay


@SETTINGS
@given(data=dataset(), cls=st.sampled_from(CLASSIFIERS + REGRESSORS),
       n_trees=st.integers(1, 4), max_depth=st.one_of(st.none(), st.integers(1, 5)),
       fit_nan=st.booleans())
def test_random_missing_values_agree(data, cls, n_trees, max_depth, fit_nan) -> None:
    """NaN in the training data (fit_nan) or only at predict: every probe, and every probe
    with each feature in turn set to NaN, goes where scikit-learn sends it."""
    x, seed = data
    rng = np.random.default_rng(seed)
    if fit_nan:
        x = x.copy()
        x[rng.random(x.shape) < 0.3] = np.nan
    y = rng.integers(0, 3, len(x)) if cls in CLASSIFIERS else rng.uniform(1, 100, len(x))
    model = fit(cls, x, y, seed, n_trees, max_depth)
    blob = convert(model)
    assert read_blob(blob).trees.nan_routing
    q = probes(np.nan_to_num(x, nan=0.0))
    q = np.concatenate([q] + [np.where(np.arange(x.shape[1]) == f, np.float32(np.nan), q)
                              for f in range(x.shape[1])] + [np.full_like(q[:1], np.nan)])
    if cls in CLASSIFIERS:
        assert np.abs(reference.predict_proba(blob, q) - model.predict_proba(q)).max() <= 1e-6
        assert_same_classes(reference.predict(blob, q), model, q)
    else:
        theirs = model.predict(q)
        assert (np.abs(reference.predict(blob, q) - theirs) / np.abs(theirs)).max() <= 1e-5


# ---------------------------------------------------------------------------- corruption

_X = np.random.default_rng(0).normal(size=(80, 3)).astype(np.float32)
_Y = (_X[:, 0] > _X[:, 1]).astype(int) + (_X[:, 2] > 0.5)
_TREES = convert(RandomForestClassifier(n_estimators=3, max_depth=4, random_state=0)
                 .fit(_X, _Y), labels=["a", "b", "c"], name="t")


def _knn() -> bytes:
    from sklearn.neighbors import KNeighborsClassifier

    return convert(KNeighborsClassifier(n_neighbors=3).fit(_X[:20], _Y[:20]),
                   knn_samples="int8")


_KNN = _knn()


@st.composite
def corruption(draw: st.DrawFn) -> tuple[bytes, bytes]:
    original = draw(st.sampled_from([_TREES, _KNN]))
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(data) - 1))
        data[pos] = draw(st.integers(0, 255))
    cut = draw(st.sampled_from([None, None, None, "cut", "extend"]))
    if cut == "cut":
        data = data[:draw(st.integers(0, len(data) - 1))]
    elif cut == "extend":
        data += bytes(draw(st.integers(1, 16)))
    return original, bytes(data)


@SETTINGS
@given(case=corruption())
def test_corruption_is_never_a_different_valid_model(case: tuple[bytes, bytes]) -> None:
    original, data = case
    try:
        read_blob(data)
    except ValueError:
        return
    assert data == original


@settings(max_examples=300, deadline=None)
@given(case=corruption())
def test_corruption_with_fixed_crc_is_refused_or_runs(case: tuple[bytes, bytes]) -> None:
    """Past the CRC: either a clean ValueError, or a blob that predicts without error
    (no index out of range, no endless walk)."""
    from emlml_tools.format import fix_crc

    _, data = case
    try:
        blob = read_blob(fix_crc(data))
    except ValueError:
        return
    x = np.concatenate([_X[:5], -_X[:5]])
    if blob.input_type != InputType.FLOAT32:  # the corruption may change the input type
        x = np.clip(np.round(x), 0, 100).astype(INPUT_DTYPES[blob.input_type])
    with np.errstate(all="ignore"):
        out = reference.predict(blob, x)
    assert len(out) == len(x)
