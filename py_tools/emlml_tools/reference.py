"""NumPy reference runtime: executes a blob exactly as docs/FORMAT.md says.

Every sum is done in float32 in the order FORMAT.md writes (tree by tree, feature by
feature, neighbour by neighbour, class by class), vectorised over samples only, so the
results are the bits the C core must produce.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .blob import (INPUT_DTYPES, LEAF, Blob, InputType, Kind, KnnData, Metric, SampleType,
                   TreeData, Weights, read_blob, vote_scale)
from .keys import float32_keys

_QUERY_CHUNK = 256  # kNN queries per distance block (bounds memory)


def predict(blob: bytes | bytearray | memoryview | Blob, X: npt.ArrayLike) -> np.ndarray:
    """Class indices (int64) for a classifier, float32 values for a regressor."""
    model = _as_blob(blob)
    if model.kind == Kind.CNN:
        return np.array([_cnn_one(model, row)[0] for row in _cnn_rows(model, X)], dtype=np.int64)
    x = check_inputs(model, X)
    if model.kind == Kind.TREES:
        if model.is_classifier:  # the first class with the most votes (exact integers)
            return np.argmax(_tree_votes(model, x), axis=1)
        return _tree_regress(model, x)
    if model.is_classifier:
        return np.argmax(_knn_scores(model, x), axis=1)
    return _knn_regress(model, x)


def predict_proba(blob: bytes | bytearray | memoryview | Blob, X: npt.ArrayLike
                  ) -> npt.NDArray[np.float32]:
    """Class probabilities (float32, ``(n, n_outputs)``) of a classifier blob."""
    model = _as_blob(blob)
    if not model.is_classifier:
        raise ValueError("predict_proba needs a classifier blob; this one is a regressor "
                         "(use predict)")
    if model.kind == Kind.CNN:  # the dequantized outputs
        return np.stack([_cnn_one(model, row)[1] for row in _cnn_rows(model, X)])
    x = check_inputs(model, X)
    if model.kind == Kind.TREES:
        return _tree_proba(model, x)
    scores = _knn_scores(model, x)
    total = np.zeros(len(scores), dtype=np.float32)
    for c in range(model.n_outputs):  # the sum in class order
        total += scores[:, c]
    return scores / total[:, None]


def _cnn_rows(model: Blob, X: npt.ArrayLike) -> np.ndarray:
    """Rows of n_inputs values: float (quantized by the model) or int8 (used as is)."""
    x = np.asarray(X)
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        raise ValueError("input values must be finite (no NaN or infinity)")
    return x.reshape(-1, model.n_inputs)


def _cnn_one(model: Blob, row: np.ndarray) -> tuple[int, np.ndarray]:
    from . import reference_cnn  # the CNN runtime (FORMAT.md, kind 3)

    return reference_cnn.predict(model, row)


def _as_blob(blob: bytes | bytearray | memoryview | Blob) -> Blob:
    return blob if isinstance(blob, Blob) else read_blob(blob)


def check_inputs(model: Blob, X: npt.ArrayLike) -> np.ndarray:
    """``X`` as a 2-D array of the blob's input type.

    float32 blobs take any real array (rounded to float32 as scikit-learn does) and refuse
    NaN/inf; integer blobs take values that their type represents exactly.
    """
    x = np.asarray(X)
    if x.ndim != 2 or x.shape[1] != model.n_inputs:
        raise ValueError(f"X must be 2-D with {model.n_inputs} columns (one row per sample); "
                         f"got shape {x.shape}")
    dtype = INPUT_DTYPES[model.input_type]
    if x.dtype.kind not in "biuf":
        raise ValueError(f"X must be numeric, got dtype {x.dtype}")
    if model.input_type == InputType.FLOAT32:
        with np.errstate(over="ignore"):
            x = x.astype(np.float32)
        if not np.isfinite(x).all():
            raise ValueError("X has NaN or infinite values (after conversion to float32); "
                             "the model refuses them as scikit-learn does")
        return x
    info = np.iinfo(dtype)
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        raise ValueError(f"X has NaN or infinite values; this blob takes {dtype.name} inputs")
    if x.size and (x.min() < info.min or x.max() > info.max or
                   (x.dtype.kind == "f" and (np.floor(x) != x).any())):
        raise ValueError(f"X has values that {dtype.name} cannot hold exactly "
                         f"(integers {info.min}..{info.max}); this blob takes {dtype.name} inputs")
    return x.astype(dtype)


def _input_keys(model: Blob, x: np.ndarray) -> npt.NDArray[np.int32]:
    if model.input_type == InputType.FLOAT32:
        return float32_keys(x)
    return x.astype(np.int32)


def _tree_leaves(model: Blob, x: np.ndarray) -> np.ndarray:
    """The leaf index each tree ends in, per sample: ``(n, n_trees)``."""
    trees: TreeData = model.trees  # type: ignore[assignment]
    keys = _input_keys(model, x)
    node_key = trees.nodes["key"].astype(np.int64)
    feature = trees.nodes["feature"].astype(np.int64)
    right = trees.nodes["right"].astype(np.int64)
    idx = np.tile(trees.roots.astype(np.int64), (len(x), 1))  # (n, n_trees) current node
    while True:
        rows, cols = np.nonzero(feature[idx] != LEAF)
        if len(rows) == 0:
            break
        i = idx[rows, cols]
        go_left = keys[rows, feature[i]] <= node_key[i]
        idx[rows, cols] = np.where(go_left, i + 1, i + right[i])
    return node_key[idx]


def _tree_votes(model: Blob, x: np.ndarray) -> np.ndarray:
    """A classifier's integer vote sums per class, ``(n, n_outputs)`` (exact: they fit
    in 32 bits by construction of vote_scale)."""
    trees: TreeData = model.trees  # type: ignore[assignment]
    leaf = _tree_leaves(model, x)
    acc = np.zeros((len(x), model.n_outputs), dtype=np.uint64)
    for t in range(trees.n_trees):
        acc += trees.leaves[leaf[:, t]].astype(np.uint64)
    assert acc.max(initial=0) <= 0xFFFFFFFF
    return acc


def _tree_proba(model: Blob, x: np.ndarray) -> npt.NDArray[np.float32]:
    """``float32(votes) / float32(vote_scale * n_trees)``."""
    n_trees = model.trees.n_trees  # type: ignore[union-attr]
    total = np.float32(vote_scale(n_trees) * n_trees)
    return _tree_votes(model, x).astype(np.float32) / total


def _tree_regress(model: Blob, x: np.ndarray) -> npt.NDArray[np.float32]:
    """Leaf values added in float32 in tree order, divided by n_trees."""
    trees: TreeData = model.trees  # type: ignore[assignment]
    leaf = _tree_leaves(model, x)
    acc = np.zeros(len(x), dtype=np.float32)
    for t in range(trees.n_trees):
        acc += trees.leaves[leaf[:, t], 0]
    return acc / np.float32(trees.n_trees)


def stored_samples(knn: KnnData) -> npt.NDArray[np.float32]:
    """The samples as float32: ``offset + scale * float32(code)`` for integer samples."""
    if knn.sample_type == SampleType.FLOAT32:
        return np.asarray(knn.samples, dtype=np.float32)
    product = knn.scale * knn.samples.astype(np.float32)  # a multiply, then an add
    return product + knn.offset


def _knn_neighbours(model: Blob, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(n, k)`` of the k nearest samples (ties: lower index) and their weights."""
    knn: KnnData = model.knn  # type: ignore[assignment]
    q = x.astype(np.float32)
    v = stored_samples(knn)
    index_blocks, dist_blocks = [], []
    for start in range(0, len(q), _QUERY_CHUNK):
        block = q[start:start + _QUERY_CHUNK]
        dist = np.zeros((len(block), knn.n_samples), dtype=np.float32)
        for f in range(model.n_inputs):  # float32 sum in feature order
            diff = block[:, f, None] - v[None, :, f]
            dist += diff * diff if knn.metric == Metric.EUCLIDEAN else np.abs(diff)
        order = np.argsort(dist, axis=1, kind="stable")[:, :knn.k]
        index_blocks.append(order)
        dist_blocks.append(np.take_along_axis(dist, order, axis=1))
    index = np.concatenate(index_blocks) if index_blocks else np.zeros((0, knn.k), np.int64)
    dist = np.concatenate(dist_blocks) if dist_blocks else np.zeros((0, knn.k), np.float32)
    d = np.sqrt(dist) if knn.metric == Metric.EUCLIDEAN else dist
    if knn.weights == Weights.UNIFORM:
        return index, np.ones_like(d)
    zero = d == 0
    with np.errstate(divide="ignore"):
        w = np.float32(1.0) / d
    has_zero = zero.any(axis=1)
    w[has_zero] = zero[has_zero].astype(np.float32)
    return index, w


def _knn_scores(model: Blob, x: np.ndarray) -> npt.NDArray[np.float32]:
    knn: KnnData = model.knn  # type: ignore[assignment]
    index, w = _knn_neighbours(model, x)
    classes = knn.targets.astype(np.int64)[index]
    scores = np.zeros((len(x), model.n_outputs), dtype=np.float32)
    rows = np.arange(len(x))
    for j in range(knn.k):  # float32 sum in neighbour order, nearest first
        scores[rows, classes[:, j]] += w[:, j]
    return scores


def _knn_regress(model: Blob, x: np.ndarray) -> npt.NDArray[np.float32]:
    knn: KnnData = model.knn  # type: ignore[assignment]
    index, w = _knn_neighbours(model, x)
    y = knn.targets[index]
    num = np.zeros(len(x), dtype=np.float32)
    den = np.zeros(len(x), dtype=np.float32)
    for j in range(knn.k):
        num += w[:, j] * y[:, j]
        den += w[:, j]
    return num / den


__all__ = ["predict", "predict_proba", "check_inputs", "stored_samples"]
