"""kNN (kind 2) in NumPy, exactly as docs/FORMAT.md says: float32 distances summed in
feature order, the k nearest (ties: the lower sample index), votes or values summed in
neighbour order."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from emlml_tools.format import (
    Blob,
    KnnData,
    Metric,
    SampleType,
    Weights,
)

QUERY_CHUNK = 256  # kNN queries per distance block (bounds memory)


def stored_samples(knn: KnnData) -> npt.NDArray[np.float32]:
    """The samples as float32: ``offset + scale * float32(code)`` for integer samples."""
    if knn.sample_type == SampleType.FLOAT32:
        return np.asarray(knn.samples, dtype=np.float32)
    product = knn.scale * knn.samples.astype(np.float32)  # a multiply, then an add
    return product + knn.offset


def neighbours(model: Blob, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(n, k)`` of the k nearest samples (ties: lower index) and their weights."""
    knn: KnnData = model.knn  # type: ignore[assignment]
    q = x.astype(np.float32)
    v = stored_samples(knn)
    index_blocks, dist_blocks = [], []
    for start in range(0, len(q), QUERY_CHUNK):
        block = q[start:start + QUERY_CHUNK]
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


def scores(model: Blob, x: np.ndarray) -> npt.NDArray[np.float32]:
    knn: KnnData = model.knn  # type: ignore[assignment]
    index, w = neighbours(model, x)
    classes = knn.targets.astype(np.int64)[index]
    scores = np.zeros((len(x), model.n_outputs), dtype=np.float32)
    rows = np.arange(len(x))
    for j in range(knn.k):  # float32 sum in neighbour order, nearest first
        scores[rows, classes[:, j]] += w[:, j]
    return scores


def regress(model: Blob, x: np.ndarray) -> npt.NDArray[np.float32]:
    knn: KnnData = model.knn  # type: ignore[assignment]
    index, w = neighbours(model, x)
    y = knn.targets[index]
    num = np.zeros(len(x), dtype=np.float32)
    den = np.zeros(len(x), dtype=np.float32)
    for j in range(knn.k):
        num += w[:, j] * y[:, j]
        den += w[:, j]
    return num / den
