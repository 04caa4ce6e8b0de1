"""The reference runtime against FORMAT.md itself: hand-made blobs with known answers and a
one-sample-at-a-time scalar transcription of the spec (np.float32 scalars, plain loops)."""

from __future__ import annotations

import numpy as np
import pytest
from emlml_tools import runtime as reference
from emlml_tools.format import (
    LEAF,
    NODE_DTYPE,
    InputType,
    Metric,
    SampleType,
    Task,
    Weights,
    knn_blob,
    read_blob,
    trees_blob,
)
from emlml_tools.format.keys import float32_keys

F = np.float32


def stump(key: int, feature: int = 0, input_type: int = InputType.FLOAT32,
          n_inputs: int = 1) -> bytes:
    """x[feature] <= threshold(key) -> leaf 0 (class 0), else leaf 1 (class 1)."""
    nodes = np.array([(key, feature, 2), (0, LEAF, 0), (1, LEAF, 0)], NODE_DTYPE)
    return trees_blob(task=Task.CLASSIFIER, input_type=input_type, n_inputs=n_inputs,
                      n_outputs=2, roots=[0], nodes=nodes, leaves=[[1, 0], [0, 1]])


def test_walk_equal_goes_left() -> None:
    blob = stump(int(float32_keys(F(2.5))[0]))
    x = np.array([[2.5], [np.nextafter(F(2.5), F(3))], [-1e30], [2.4999998]], np.float32)
    assert reference.predict(blob, x).tolist() == [0, 1, 0, 0]


def test_negative_zero_and_zero_threshold() -> None:
    blob = stump(0)  # threshold +0.0 (a -0.0 threshold is stored as +0.0)
    x = np.array([[-0.0], [0.0], [1.4e-45], [-1.4e-45]], np.float32)
    assert reference.predict(blob, x).tolist() == [0, 0, 1, 0]  # as float compares do


@pytest.mark.parametrize("input_type, dtype", [(InputType.INT8, np.int8),
                                               (InputType.UINT8, np.uint8),
                                               (InputType.INT16, np.int16)])
def test_integer_inputs_compare_keys(input_type: int, dtype: type) -> None:
    blob = stump(2, input_type=input_type)  # floor(2.5) == 2
    info = np.iinfo(dtype)
    x = np.array([[info.min], [2], [3], [info.max]], dtype)
    assert reference.predict(blob, x).tolist() == [0, 0, 1, 1]
    with pytest.raises(ValueError, match="cannot hold"):
        reference.predict(blob, np.array([[info.max + 1]]))
    with pytest.raises(ValueError, match="cannot hold"):
        reference.predict(blob, np.array([[2.5]]))
    assert reference.predict(blob, np.array([[2.0]])).tolist() == [0]


def test_tree_sum_is_float32_in_tree_order() -> None:
    """1 + 2^-24 + 2^-24 is 1 in float32 left to right (not 1 + 2^-23)."""
    tiny = 2.0 ** -24
    nodes = np.array([(i, LEAF, 0) for i in range(3)], NODE_DTYPE)
    blob = trees_blob(task=Task.REGRESSOR, input_type=0, n_inputs=1, n_outputs=1,
                      roots=[0, 1, 2], nodes=nodes, leaves=[[1.0], [tiny], [tiny]])
    assert reference.predict(blob, [[0.0]])[0] == F(1.0) / F(3)
    blob2 = trees_blob(task=Task.REGRESSOR, input_type=0, n_inputs=1, n_outputs=1,
                       roots=[0, 1, 2], nodes=nodes, leaves=[[tiny], [tiny], [1.0]])
    assert reference.predict(blob2, [[0.0]])[0] == F(1.0 + 2 * tiny) / F(3)


def test_tree_predict_first_max() -> None:
    half = (2**32 - 1) // 2 // 2  # half of a vote, two trees
    nodes = np.array([(0, LEAF, 0), (1, LEAF, 0)], NODE_DTYPE)
    blob = trees_blob(task=Task.CLASSIFIER, input_type=0, n_inputs=1, n_outputs=3,
                      roots=[0, 1], nodes=nodes,
                      leaves=[[half, half, 0], [0, half, half]])
    assert reference.predict(blob, [[0.0]]).tolist() == [1]
    np.testing.assert_array_equal(reference.predict_proba(blob, [[0.0]]),
                                  [[0.25, 0.5, 0.25]])
    tie = trees_blob(task=Task.CLASSIFIER, input_type=0, n_inputs=1, n_outputs=3,
                     roots=[0, 1], nodes=nodes, leaves=[[0, half, half], [0, half, half]])
    assert reference.predict(tie, [[0.0]]).tolist() == [1]  # a tie goes to the first


def knn(samples: np.ndarray, targets: np.ndarray, *, k: int, metric: int = 0,
        weights: int = 0, task: int = Task.CLASSIFIER, n_outputs: int = 2,
        sample_type: int = SampleType.FLOAT32, scale: np.ndarray | None = None,
        offset: np.ndarray | None = None) -> bytes:
    return knn_blob(task=task, input_type=0, n_inputs=samples.shape[1],
                    n_outputs=n_outputs if task == Task.CLASSIFIER else 1, k=k, metric=metric,
                    weights=weights, sample_type=sample_type, samples=samples,
                    targets=targets, scale=scale, offset=offset)


def test_knn_ties_go_to_lower_index() -> None:
    samples = np.array([[1.0], [-1.0], [1.0]], np.float32)
    assert reference.predict(knn(samples, np.array([1, 0, 0]), k=1), [[0.0]]).tolist() == [1]
    assert reference.predict(knn(samples, np.array([0, 1, 1]), k=1), [[0.0]]).tolist() == [0]
    # k=2 takes samples 0 and 1 (both at distance 1), never 2
    blob = knn(samples, np.array([0, 0, 1]), k=2, n_outputs=2)
    np.testing.assert_array_equal(reference.predict_proba(blob, [[0.0]]), [[1.0, 0.0]])


def test_knn_uniform_vote_tie_first_class() -> None:
    samples = np.array([[1.0], [2.0]], np.float32)
    blob = knn(samples, np.array([1, 0]), k=2)
    assert reference.predict(blob, [[0.0]]).tolist() == [0]


def test_knn_zero_distance_rule() -> None:
    samples = np.array([[0.0, 0.0], [3.0, 4.0], [0.0, 0.0], [1.0, 0.0]], np.float32)
    blob = knn(samples, np.array([0, 1, 2, 1]), k=3, weights=Weights.DISTANCE, n_outputs=3)
    np.testing.assert_array_equal(reference.predict_proba(blob, [[0.0, 0.0]]),
                                  [[0.5, 0.0, 0.5]])
    np.testing.assert_array_equal(reference.predict_proba(blob, [[3.0, 4.0]]),
                                  [[0.0, 1.0, 0.0]])
    # no zero: 1/d weights; neighbours of (1, 0): sample 3 (d=1), samples 0 and 2 (d=1)
    proba = reference.predict_proba(blob, [[2.0, 0.0]])  # d: 2, sqrt(17), 2, 1
    w = [F(1) / F(2), F(1) / F(2), F(1)]
    total = (F(w[0]) + F(0)) + F(w[1]) + F(w[2])
    np.testing.assert_array_equal(proba, [[w[0] / total, w[2] / total, w[1] / total]])


def test_knn_regressor_weighted_mean() -> None:
    samples = np.array([[0.0], [1.0], [4.0]], np.float32)
    y = np.array([10.0, 20.0, 30.0], np.float32)
    uniform = knn(samples, y, k=2, task=Task.REGRESSOR)
    assert reference.predict(uniform, [[0.4]])[0] == F(15.0)
    dist = knn(samples, y, k=2, task=Task.REGRESSOR, weights=Weights.DISTANCE,
               metric=Metric.MANHATTAN)
    w0, w1 = F(1) / F(0.5), F(1) / F(0.5)
    assert reference.predict(dist, [[0.5]])[0] == (w0 * F(10) + w1 * F(20)) / (w0 + w1)


def test_inputs_are_checked() -> None:
    blob = stump(0, n_inputs=2)
    with pytest.raises(ValueError, match="NaN or infinite"):
        reference.predict(blob, [[0.0, np.nan]])
    with pytest.raises(ValueError, match="NaN or infinite"):
        reference.predict(blob, [[0.0, np.inf]])
    with pytest.raises(ValueError, match="NaN or infinite"):
        reference.predict(blob, [[0.0, 1e300]])  # inf once rounded to float32
    with pytest.raises(ValueError, match="2 columns"):
        reference.predict(blob, [[0.0]])
    with pytest.raises(ValueError, match="2 columns"):
        reference.predict(blob, [0.0, 1.0])
    with pytest.raises(ValueError, match="regressor"):
        reference.predict_proba(trees_blob(
            task=1, input_type=0, n_inputs=1, n_outputs=1, roots=[0],
            nodes=np.array([(0, LEAF, 0)], NODE_DTYPE), leaves=[[1.0]]), [[0.0]])
    assert reference.predict(blob, np.zeros((0, 2))).shape == (0,)


# ---------------------------------------------------------------------------- scalar spec


def spec_trees(blob: bytes, x: np.ndarray) -> np.ndarray:
    b = read_blob(blob)
    t = b.trees
    out = []
    for row in x:
        keys = float32_keys(row) if b.input_type == InputType.FLOAT32 else row.astype(int)
        acc = [F(0.0)] * b.n_outputs
        for r, root in enumerate(t.roots):
            i = int(root)
            while t.nodes[i]["feature"] != LEAF:
                node = t.nodes[i]
                i = i + 1 if keys[node["feature"]] <= node["key"] else i + int(node["right"])
            leaf = t.leaves[t.nodes[i]["key"]]
            acc = [F(a + v) for a, v in zip(acc, leaf)]
        out.append([F(a / F(t.n_trees)) for a in acc])
    return np.array(out, np.float32)


def spec_knn(blob: bytes, x: np.ndarray) -> tuple[list[int | float], list[list[float]]]:
    b = read_blob(blob)
    kn = b.knn
    preds, probas = [], []
    for row in x:
        q = [F(v) for v in row]
        dists = []
        for s in range(kn.n_samples):
            acc = F(0.0)
            for f in range(b.n_inputs):
                if kn.sample_type == SampleType.FLOAT32:
                    v = F(kn.samples[s, f])
                else:
                    v = F(kn.offset[f] + F(kn.scale[f] * F(kn.samples[s, f])))
                diff = F(q[f] - v)
                acc = F(acc + (F(diff * diff) if kn.metric == Metric.EUCLIDEAN else abs(diff)))
            dists.append((acc, s))
        nearest = sorted(dists)[:kn.k]  # (distance, index): ties by lower index
        d = [np.sqrt(F(a)) if kn.metric == Metric.EUCLIDEAN else F(a) for a, _ in nearest]
        if kn.weights == Weights.UNIFORM:
            w = [F(1.0)] * kn.k
        elif any(v == 0 for v in d):
            w = [F(1.0) if v == 0 else F(0.0) for v in d]
        else:
            w = [F(F(1.0) / v) for v in d]
        if b.task == Task.CLASSIFIER:
            score = [F(0.0)] * b.n_outputs
            for (_, s), wj in zip(nearest, w):
                c = int(kn.targets[s])
                score[c] = F(score[c] + wj)
            total = F(0.0)
            for c in range(b.n_outputs):
                total = F(total + score[c])
            probas.append([F(v / total) for v in score])
            preds.append(int(np.argmax(score)))
        else:
            num = den = F(0.0)
            for (_, s), wj in zip(nearest, w):
                num = F(num + F(wj * F(kn.targets[s])))
                den = F(den + wj)
            preds.append(F(num / den))
    return preds, probas


def random_forest_blob(rng: np.random.Generator, task: int, n_inputs: int, n_outputs: int
                       ) -> bytes:
    """Random (valid) trees with keys near the inputs' keys, built recursively."""
    nodes: list[tuple[int, int, int]] = []
    n_leaves = 12

    def grow(depth: int) -> None:
        if depth == 0 or rng.random() < 0.25:
            nodes.append((int(rng.integers(n_leaves)), LEAF, 0))
            return
        here = len(nodes)
        nodes.append((int(float32_keys(F(rng.normal()))[0]), int(rng.integers(n_inputs)), 0))
        grow(depth - 1)
        nodes[here] = (nodes[here][0], nodes[here][1], len(nodes) - here)
        grow(depth - 1)

    roots = []
    for _ in range(int(rng.integers(1, 6))):
        roots.append(len(nodes))
        grow(int(rng.integers(0, 6)))
    leaves = rng.random((n_leaves, n_outputs)).astype(np.float32) * F(rng.choice([1, 1e-6, 1e6]))
    return trees_blob(task=task, input_type=0, n_inputs=n_inputs, n_outputs=n_outputs,
                      roots=roots, nodes=np.array(nodes, NODE_DTYPE), leaves=leaves)


@pytest.mark.parametrize("seed", range(6))
def test_trees_match_scalar_spec(seed: int) -> None:
    rng = np.random.default_rng(seed)
    task = seed % 2
    blob = random_forest_blob(rng, task, 3, 1 if task else 4)
    x = rng.normal(size=(40, 3)).astype(np.float32)
    x[:5] = -0.0
    expected = spec_trees(blob, x)
    if task == Task.CLASSIFIER:
        got = reference.predict_proba(blob, x)
        np.testing.assert_array_equal(got.view(np.int32), expected.view(np.int32))
        assert reference.predict(blob, x).tolist() == np.argmax(expected, axis=1).tolist()
    else:
        np.testing.assert_array_equal(reference.predict(blob, x).view(np.int32),
                                      expected[:, 0].view(np.int32))


@pytest.mark.parametrize("metric", list(Metric))
@pytest.mark.parametrize("weights", list(Weights))
@pytest.mark.parametrize("sample_type", list(SampleType))
@pytest.mark.parametrize("task", list(Task))
def test_knn_matches_scalar_spec(metric: int, weights: int, sample_type: int, task: int) -> None:
    rng = np.random.default_rng(metric + 2 * weights + 4 * sample_type + 16 * task)
    n, d = 30, 4
    scale = offset = None
    if sample_type == SampleType.FLOAT32:
        # wide magnitudes, so that the order of the float32 additions matters
        samples = (rng.normal(size=(n, d)) * rng.choice([1e-4, 1.0, 1e4], size=d)
                   ).astype(np.float32)
    else:
        qmax = 127 if sample_type == SampleType.INT8 else 32767
        samples = rng.integers(-qmax, qmax + 1, size=(n, d))
        scale = rng.random(d).astype(np.float32) / F(qmax)
        offset = rng.normal(size=d).astype(np.float32)
    samples[3] = samples[7]  # a duplicate: distance ties
    targets = rng.integers(0, 3, n) if task == Task.CLASSIFIER else \
        rng.normal(size=n).astype(np.float32)
    blob = knn(samples, targets, k=5, metric=metric, weights=weights, task=task, n_outputs=3,
               sample_type=sample_type, scale=scale, offset=offset)
    stored = reference.stored_samples(read_blob(blob).knn)
    x = np.concatenate([stored[:4], stored[4:12] + rng.normal(size=(8, d)).astype(np.float32)
                        * stored.std(axis=0)]).astype(np.float32)
    preds, probas = spec_knn(blob, x)
    got = reference.predict(blob, x)
    if task == Task.CLASSIFIER:
        assert got.tolist() == preds
        np.testing.assert_array_equal(reference.predict_proba(blob, x),
                                      np.array(probas, np.float32))
    else:
        np.testing.assert_array_equal(got.view(np.int32), np.array(preds, np.float32)
                                      .view(np.int32))


def test_large_query_batches_are_chunked() -> None:
    rng = np.random.default_rng(5)
    samples = rng.normal(size=(50, 2)).astype(np.float32)
    blob = knn(samples, rng.integers(0, 2, 50), k=3)
    x = rng.normal(size=(700, 2)).astype(np.float32)
    whole = reference.predict_proba(blob, x)
    parts = np.concatenate([reference.predict_proba(blob, x[i:i + 7])
                            for i in range(0, 700, 7)])
    np.testing.assert_array_equal(whole, parts)
