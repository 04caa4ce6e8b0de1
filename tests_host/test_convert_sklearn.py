"""Converters: keys and threshold rounding, layout, leaf sharing, quantization, refusals."""

from __future__ import annotations

import pickle
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Iterator

import joblib
import numpy as np
import pytest
import sklearn
from emlml_tools import __version__
from emlml_tools import runtime as reference
from emlml_tools.convert.sklearn_models import (
    GRID_CODE_MAX,
    convert,
    dequantize_samples,
    load_estimator,
    quantize_on_grid,
    quantize_samples,
    supported_estimators,
)
from emlml_tools.format import (
    LEAF,
    Distances,
    InputType,
    Metric,
    SampleType,
    Weights,
    read_blob,
)
from emlml_tools.runtime.knn import query_codes
from emlml_tools.format.keys import float32_keys, round_down_float32, threshold_keys
from sklearn.ensemble import (
    ExtraTreesClassifier,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

F = np.float32
RNG = np.random.default_rng(0)
X4 = RNG.normal(size=(60, 4)).astype(np.float32)
Y4 = (X4[:, 0] + X4[:, 1] > 0).astype(int)


# ---------------------------------------------------------------------------- keys


def random_float32(n: int, rng: np.random.Generator) -> np.ndarray:
    bits = rng.integers(0, 2**32, size=n, dtype=np.uint64).astype(np.uint32)
    x = bits.view(np.float32)
    return x[np.isfinite(x)]


def test_float32_keys_order_like_floats() -> None:
    rng = np.random.default_rng(1)
    x = np.concatenate([random_float32(4000, rng), np.array(
        [0.0, -0.0, 1.4e-45, -1.4e-45, np.inf, -np.inf, 3.4e38, -3.4e38], np.float32)])
    keys = float32_keys(x).astype(np.int64)
    a, b = x[:, None], x[None, :]
    ka, kb = keys[:, None], keys[None, :]
    different_zero = ~((a == 0) & (b == 0))
    assert ((ka <= kb) == (a <= b))[different_zero].all()
    assert float32_keys(np.float32(-0.0))[()] == -1 and float32_keys(np.float32(0.0))[()] == 0


def test_round_down_is_largest_float32_not_above() -> None:
    rng = np.random.default_rng(2)
    t = np.concatenate([rng.normal(size=3000) * 10.0 ** rng.integers(-40, 39, 3000),
                        [0.0, -0.0, -1e-50, 1e-50, 1e39, -1e39, 0.1, -0.1]])
    t32 = round_down_float32(t)
    assert (t32.astype(np.float64) <= t).all()
    with np.errstate(over="ignore"):
        above = np.nextafter(t32, F(np.inf)).astype(np.float64)
    assert (above > t).all()
    assert not np.signbit(t32[t32 == 0]).any()  # -0.0 stored as +0.0


def test_round_down_keeps_comparisons_exact_where_nearest_does_not() -> None:
    """Adjacent float32 a < b: sklearn splits at the float64 midpoint; round to nearest
    (ties to even) can give b, which would send b left."""
    a = np.nextafter(F(1.0), F(2.0))  # odd mantissa: the midpoint rounds up to b
    b = np.nextafter(a, F(2.0))
    t = (float(a) + float(b)) / 2
    assert F(t) == b  # the naive rounding is wrong here
    t32 = round_down_float32([t])[0]
    assert t32 == a
    tree = DecisionTreeClassifier().fit(np.array([[a], [b]], np.float32), [0, 1])
    assert tree.tree_.threshold[0] == t
    blob = convert(tree)
    x = np.array([[a], [b]], np.float32)
    assert reference.predict(blob, x).tolist() == [0, 1] == tree.predict(x).tolist()


def test_integer_threshold_keys() -> None:
    keys = threshold_keys([2.5, -0.5, 3.0, 1e12, -1e12, np.inf, -np.inf], integer_input=True)
    assert keys.tolist() == [2, -1, 3, 2**31 - 1, -(2**31), 2**31 - 1, -(2**31)]
    with pytest.raises(ValueError, match="NaN"):
        threshold_keys([np.nan], integer_input=True)
    with pytest.raises(ValueError, match="NaN"):
        threshold_keys([np.nan], integer_input=False)


# ---------------------------------------------------------------------------- trees


def walk_nodes(blob_bytes: bytes) -> None:
    """Layout invariants: pre-order, left child at i + 1, forward right children."""
    t = read_blob(blob_bytes).trees
    ends = list(t.roots[1:]) + [t.n_nodes]
    for root, end in zip(t.roots, ends):
        def subtree_end(i: int) -> int:
            if t.nodes[i]["feature"] == LEAF:
                return i + 1
            right = i + int(t.nodes[i]["right"])
            assert subtree_end(i + 1) == right
            return subtree_end(right)
        assert subtree_end(int(root)) == end


def test_tree_layout_is_preorder_for_best_first_trees() -> None:
    """max_leaf_nodes makes sklearn number nodes best-first, not pre-order."""
    tree = DecisionTreeClassifier(max_leaf_nodes=12, random_state=0).fit(X4, Y4)
    blob = convert(tree)
    walk_nodes(blob)
    b = read_blob(blob)
    assert b.trees.n_nodes == tree.tree_.node_count
    assert b.trees.n_leaves <= tree.get_n_leaves()
    np.testing.assert_array_equal(reference.predict(blob, X4), tree.predict(X4))


def test_leaf_vectors_are_shared() -> None:
    forest = RandomForestClassifier(n_estimators=8, random_state=0).fit(X4, Y4)
    b = read_blob(convert(forest))
    n_leaf_nodes = int((b.trees.nodes["feature"] == LEAF).sum())
    assert b.trees.n_leaves < n_leaf_nodes  # pure leaves [1, 0] / [0, 1] shared by all
    assert len({row.tobytes() for row in b.trees.leaves}) == b.trees.n_leaves


def test_leaf_vector_normalisation() -> None:
    """A classifier leaf holds its class fractions (normalised in float64 as scikit-learn
    does) as integer votes out of floor((2^32 - 1) / n_trees), rounded to nearest."""
    forest = RandomForestClassifier(n_estimators=3, max_depth=2, random_state=0).fit(X4, Y4)
    leaves = read_blob(convert(forest)).trees.leaves
    assert leaves.dtype == np.uint32
    scale = (2**32 - 1) // 3
    expected = set()
    for member in forest.estimators_:
        value = member.tree_.value[member.tree_.children_left == -1, 0, :]
        for i in range(len(value)):
            fractions = value[i] / value[i].sum()
            expected.add(tuple(int(np.floor(f * scale + 0.5)) for f in fractions))
    assert {tuple(int(v) for v in row) for row in leaves} == expected


def test_regressor_leaves_are_float32_values() -> None:
    y = X4[:, 0] * 3.3 + 1e-3
    tree = DecisionTreeRegressor(max_depth=3, random_state=0).fit(X4, y)
    leaves = read_blob(convert(tree)).trees.leaves[:, 0]
    value = tree.tree_.value[tree.tree_.children_left == -1, 0, 0]
    assert set(leaves.tolist()) == set(value.astype(np.float32).tolist())


def test_single_leaf_tree() -> None:
    tree = DecisionTreeClassifier().fit(X4, np.zeros(60, int))
    blob = convert(tree)
    assert read_blob(blob).trees.n_nodes == 1
    assert reference.predict(blob, X4[:3]).tolist() == [0, 0, 0]


def test_meta_defaults_and_options() -> None:
    y = np.array(["cat", "dog", "emu"])[RNG.integers(0, 3, 60)]
    tree = DecisionTreeClassifier(max_depth=2).fit(X4, y)
    b = read_blob(convert(tree, name="pets", input_shape=(2, 2)))
    assert b.labels == ["cat", "dog", "emu"]
    assert b.producer == (f"emlml {__version__} / scikit-learn {sklearn.__version__} "
                          "DecisionTreeClassifier")
    assert b.name == "pets" and b.input_shape == (2, 2)
    assert read_blob(convert(tree, labels=["c", "d", "e"])).labels == ["c", "d", "e"]
    t = DecisionTreeClassifier(max_depth=2).fit(X4, Y4 * 10)
    assert read_blob(convert(t)).labels == ["0", "10"]
    r = read_blob(convert(DecisionTreeRegressor(max_depth=2).fit(X4, X4[:, 0])))
    assert r.labels == [] and r.n_outputs == 1


@pytest.mark.parametrize("input_type", ["int8", "uint8", "int16"])
def test_integer_input_trees(input_type: str) -> None:
    rng = np.random.default_rng(3)
    x = rng.integers(0, 100, size=(200, 3)).astype(np.float32)
    y = (x[:, 0] > x[:, 1]).astype(int) + (x[:, 2] > 50)
    forest = ExtraTreesClassifier(n_estimators=4, random_state=0).fit(x, y)
    blob = convert(forest, input_type=input_type)
    assert read_blob(blob).input_type == InputType[input_type.upper()]
    probe = np.arange(0, 100, dtype=np.float32)[:, None].repeat(3, axis=1)
    probe[:, 1] = probe[::-1, 1]
    got = reference.predict(blob, probe.astype(np.dtype(input_type)))
    np.testing.assert_array_equal(got, forest.predict(probe))


# ---------------------------------------------------------------------------- kNN


def test_knn_metric_and_weights_mapping() -> None:
    cases = [({"metric": "euclidean"}, Metric.EUCLIDEAN),
             ({"metric": "minkowski", "p": 2}, Metric.EUCLIDEAN),
             ({"metric": "l2"}, Metric.EUCLIDEAN),
             ({"metric": "manhattan"}, Metric.MANHATTAN),
             ({"metric": "minkowski", "p": 1}, Metric.MANHATTAN),
             ({"metric": "cityblock"}, Metric.MANHATTAN)]
    for params, metric in cases:
        for weights in ("uniform", "distance"):
            model = KNeighborsClassifier(n_neighbors=3, weights=weights, **params).fit(X4, Y4)
            knn = read_blob(convert(model)).knn
            assert knn.metric == metric and knn.k == 3
            assert knn.weights == (Weights.UNIFORM if weights == "uniform" else Weights.DISTANCE)
            np.testing.assert_array_equal(knn.samples, X4)
            np.testing.assert_array_equal(knn.targets, Y4)


@pytest.mark.parametrize("sample_type", [SampleType.INT8, SampleType.INT16])
def test_quantization(sample_type: SampleType) -> None:
    x = np.column_stack([X4[:, 0] * 100, X4[:, 1], np.full(60, 7.0), X4[:, 3] + 1e3]
                        ).astype(np.float32)
    codes, scale, offset = quantize_samples(x, sample_type)
    qmax = np.iinfo(codes.dtype).max
    assert codes.dtype == np.dtype("i1" if sample_type == SampleType.INT8 else "<i2")
    assert scale.dtype == offset.dtype == np.float32
    assert (codes.min(axis=0)[[0, 1, 3]] == -qmax).all()
    assert (codes.max(axis=0)[[0, 1, 3]] == qmax).all()
    assert scale[2] == 1.0 and offset[2] == 7.0 and (codes[:, 2] == 0).all()
    lo, hi = x.min(axis=0), x.max(axis=0)
    np.testing.assert_array_equal(offset, ((hi.astype(float) + lo) / 2).astype(np.float32))
    back = dequantize_samples(codes, scale, offset)
    assert (np.abs(back - x) <= scale * 0.5001 + np.abs(x) * 1e-6).all()
    model = KNeighborsRegressor(n_neighbors=2).fit(x, X4[:, 0])
    knn = read_blob(convert(model, knn_samples=sample_type.name.lower(),
                            knn_distances="float32")).knn
    assert knn.sample_type == sample_type and knn.distances == Distances.FLOAT32
    np.testing.assert_array_equal(knn.samples, codes)
    np.testing.assert_array_equal(reference.stored_samples(knn), back)


@pytest.mark.parametrize("sample_type", [SampleType.INT8, SampleType.INT16])
def test_quantization_on_one_grid(sample_type: SampleType) -> None:
    """Integer distances (the default for integer samples): one scale, the widest
    feature's range over the code range; per-feature midpoints; every training point's
    codes are the query rule's codes for it (so it is at distance 0 from itself)."""
    x = np.column_stack([X4[:, 0] * 100, X4[:, 1], np.full(60, 7.0), X4[:, 3] + 1e3]
                        ).astype(np.float32)
    code_max = GRID_CODE_MAX[sample_type]
    codes, scale, offset = quantize_on_grid(x, sample_type)
    lo, hi = x.min(axis=0), x.max(axis=0)
    widest = int(np.argmax(hi.astype(float) - lo))
    assert (scale == scale[0]).all()
    assert scale[0] == np.float32((float(hi[widest]) - float(lo[widest])) / (2 * code_max))
    np.testing.assert_array_equal(offset, ((hi.astype(float) + lo) / 2).astype(np.float32))
    assert codes[:, widest].min() == -code_max and codes[:, widest].max() == code_max
    assert (codes[:, 2] == 0).all()
    # the narrow feature X4[:, 1] spans ~1/100 of the widest: a few codes only
    assert 0 < np.ptp(codes[:, 1]) < code_max / 10
    model = KNeighborsRegressor(n_neighbors=2).fit(x, X4[:, 0])
    blob = read_blob(convert(model, knn_samples=sample_type.name.lower()))
    assert blob.knn.distances == Distances.INTEGER
    np.testing.assert_array_equal(blob.knn.samples, codes)
    np.testing.assert_array_equal(query_codes(blob.knn, x), codes)


# ---------------------------------------------------------------------------- refusals


@contextmanager
def refuses(exc: type[Exception], *patterns: str) -> Iterator[None]:
    """The call raises ``exc`` and its message contains every pattern (the problem and
    the fix)."""
    with pytest.raises(exc) as info:
        yield
    for pattern in patterns:
        assert pattern in str(info.value), (pattern, str(info.value))


def test_refuses_unsupported_type() -> None:
    with refuses(TypeError, "LogisticRegression", "RandomForestClassifier",
                 "KNeighborsRegressor", "Train one of these"):
        convert(LogisticRegression().fit(X4, Y4))
    # trees, kNN, scikit-learn's, XGBoost's and LightGBM's boosting, and emlml's
    # TFLiteClassifier (a .tflite CNN as a Pipeline's final estimator)
    assert len(supported_estimators()) == 17 and "TFLiteClassifier" in supported_estimators()


def test_refuses_unfitted() -> None:
    with refuses(ValueError, "not fitted", ".fit(X, y)"):
        convert(RandomForestClassifier())
    with refuses(ValueError, "not fitted"):
        convert(KNeighborsClassifier())


def test_refuses_pipeline_with_unsupported_step() -> None:
    """Pipelines convert (test_convert_pipeline.py); a step emlml has no kernel for is
    refused by name."""
    from sklearn.preprocessing import PolynomialFeatures
    pipe = make_pipeline(StandardScaler(), PolynomialFeatures(), KNeighborsClassifier()).fit(X4, Y4)
    with refuses(TypeError, "step 1 (PolynomialFeatures)", "cannot be converted"):
        convert(pipe)


def test_refuses_multi_output() -> None:
    y2 = np.column_stack([Y4, 1 - Y4])
    with refuses(ValueError, "multi-output", "one model per output"):
        convert(DecisionTreeClassifier().fit(X4, y2))
    with refuses(ValueError, "multi-output"):
        convert(KNeighborsClassifier().fit(X4, y2))
    with refuses(ValueError, "n_outputs 2", "one model per output"):
        convert(RandomForestRegressor(n_estimators=2).fit(X4, X4[:, :2]))
    with refuses(ValueError, "n_outputs 2"):
        convert(KNeighborsRegressor().fit(X4, X4[:, :2]))


def test_refuses_too_many_features() -> None:
    x = np.zeros((4, 65535), np.float32)
    x[:2, 7] = 1
    with refuses(ValueError, "65535 features", "at most 65534", "reduce"):
        convert(DecisionTreeClassifier().fit(x, [0, 0, 1, 1]))
    with refuses(ValueError, "65535 features"):
        convert(KNeighborsClassifier(n_neighbors=1).fit(x, [0, 0, 1, 1]))


def caterpillar(m: int) -> SimpleNamespace:
    """sklearn-like tree: m splits, each with a leaf on the right; the root's right child
    sits 2m nodes after it in pre-order."""
    n = 2 * m + 1
    left = np.full(n, -1)
    right = np.full(n, -1)
    for i in range(m):
        left[i] = i + 1 if i + 1 < m else m
        right[i] = m + 1 + i
    value = np.zeros((n, 1, 2))
    value[:, 0, 0] = 1.0
    return SimpleNamespace(children_left=left, children_right=right, feature=np.zeros(n, int),
                           threshold=np.zeros(n), value=value, node_count=n,
                           missing_go_to_left=np.zeros(n, np.uint8),
                           weighted_n_node_samples=np.ones(n))


def test_refuses_right_offset_over_16_bits() -> None:
    tree = DecisionTreeClassifier().fit(X4, Y4)
    tree.tree_ = caterpillar(32767)  # root's right child at +65534: fits
    assert read_blob(convert(tree)).trees.nodes[0]["right"] == 65534
    forest = RandomForestClassifier(n_estimators=2).fit(X4, Y4)
    forest.estimators_[1].tree_ = caterpillar(32768)  # +65536
    with refuses(ValueError, "tree 1 is too large for 16-bit child offsets",
                 "limit max_leaf_nodes or max_depth"):
        convert(forest)


def test_refuses_unsupported_metric_and_weights() -> None:
    for params in ({"metric": "chebyshev"}, {"metric": "minkowski", "p": 3},
                   {"metric": "cosine", "algorithm": "brute"}):
        with refuses(ValueError, "is not supported", "metric='euclidean' or 'manhattan'"):
            convert(KNeighborsClassifier(**params).fit(X4, Y4))
    with refuses(ValueError, "callable"):
        convert(KNeighborsClassifier(weights=lambda d: 1 / (d + 1)).fit(X4, Y4))


def test_refuses_large_k() -> None:
    x = RNG.normal(size=(1100, 2)).astype(np.float32)
    with refuses(ValueError, "n_neighbors 1025", "1024", "smaller n_neighbors"):
        convert(KNeighborsClassifier(n_neighbors=1025).fit(x, np.arange(1100) % 2))
    assert read_blob(convert(KNeighborsClassifier(n_neighbors=1024).fit(
        x, np.arange(1100) % 2))).knn.k == 1024


def test_refuses_bad_options() -> None:
    tree = DecisionTreeClassifier(max_depth=2).fit(X4, Y4)
    with refuses(ValueError, "3 labels given for 2 classes", "one label per class"):
        convert(tree, labels=["a", "b", "c"])
    with refuses(ValueError, "input_type 'float64'", "float32, int8, uint8, int16"):
        convert(tree, input_type="float64")
    with refuses(ValueError, "knn_samples 'int4'"):
        convert(tree, knn_samples="int4")
    with refuses(ValueError, "knn_samples applies to kNN models only"):
        convert(tree, knn_samples="int8")
    with refuses(ValueError, "knn_distances 'int'", "float32, integer"):
        convert(tree, knn_distances="int")
    knn = KNeighborsClassifier(n_neighbors=3).fit(X4, Y4)
    with refuses(ValueError, "knn_distances 'integer' needs integer samples",
                 "knn_samples='int16'"):
        convert(knn, knn_distances="integer")
    with refuses(ValueError, "too small or too large for integer kNN distances",
                 "rescale the features"):
        convert(KNeighborsClassifier(n_neighbors=3).fit(X4 * np.float32(1e-25), Y4),
                knn_samples="int16")
    with refuses(ValueError, "input_shape 3x3", "4 inputs"):
        convert(tree, input_shape=(3, 3))
    with refuses(ValueError, "labels apply to classifiers only"):
        convert(DecisionTreeRegressor().fit(X4, X4[:, 0]), labels=["a"])


def test_load_estimator(tmp_path) -> None:
    forest = RandomForestClassifier(n_estimators=2, random_state=0).fit(X4, Y4)
    joblib.dump(forest, tmp_path / "m.joblib")
    with open(tmp_path / "m.pkl", "wb") as f:
        pickle.dump(forest, f)
    for name in ("m.joblib", "m.pkl"):
        assert convert(load_estimator(tmp_path / name)) == convert(forest)


def test_nan_routing_follows_scikit_learn() -> None:
    """NaN routing (TREE_NAN) exactly where scikit-learn's predict takes NaN: not with
    criterion absolute_error or monotonic constraints, never for integer input; its bits
    are missing_go_to_left of the splits, in the blob's node order."""
    x = np.random.default_rng(0).normal(size=(60, 3)).astype(np.float32)
    x[::7, 1] = np.nan
    y = (np.nan_to_num(x[:, 0]) > 0).astype(int)
    tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(x, y)
    blob = read_blob(convert(tree))
    assert blob.trees.nan_routing and blob.arena_bytes == 4 * 3 + 8 * 2
    split = tree.tree_.children_left != -1
    assert blob.trees.nan_left.sum() == (tree.tree_.missing_go_to_left[split] != 0).sum() > 0
    assert not blob.trees.nan_left[blob.trees.nodes["feature"] == 0xFFFF].any()
    assert not read_blob(convert(tree, input_type="int16")).trees.nan_routing
    clean = np.nan_to_num(x)
    for estimator in (DecisionTreeRegressor(criterion="absolute_error", max_depth=2),
                      RandomForestClassifier(n_estimators=2, max_depth=2,
                                             monotonic_cst=[1, 0, 0], random_state=0)):
        estimator.fit(clean, y)
        assert not read_blob(convert(estimator)).trees.nan_routing
        with pytest.raises(ValueError):
            estimator.predict(x)  # scikit-learn refuses NaN there too


def test_tree_weights_only_for_impure_leaves() -> None:
    """TREE_WEIGHTS (each leaf vector's training weight, for the tie replay) is written
    when a leaf is impure, and gives back scikit-learn's float64 leaf values to the bit;
    with pure leaves the votes are exact and it is left out; with non-integer sample
    weights the values cannot be recovered and it is left out too."""
    from emlml_tools.format.trees import leaf_fractions
    x = np.random.default_rng(1).normal(size=(80, 2)).astype(np.float32)
    y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0)
    pure = read_blob(convert(RandomForestClassifier(n_estimators=3, random_state=0).fit(x, y)))
    assert pure.trees.weights is None
    forest = RandomForestClassifier(n_estimators=3, max_depth=2, random_state=0).fit(x, y)
    impure = read_blob(convert(forest))
    assert impure.trees.weights is not None
    fractions = leaf_fractions(impure.trees.leaves, impure.trees.weights, 3)
    values = {row.tobytes() for t in forest.estimators_
              for row in t.tree_.value[t.tree_.children_left == -1, 0]}
    assert {row.tobytes() for row in fractions} == values
    weighted = RandomForestClassifier(n_estimators=3, max_depth=2, random_state=0)
    weighted.fit(x, y, sample_weight=np.linspace(0.1, 1.3, len(x)))
    assert read_blob(convert(weighted)).trees.weights is None
