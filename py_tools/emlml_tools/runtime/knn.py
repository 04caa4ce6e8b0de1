"""kNN (kind 2) in NumPy, exactly as docs/FORMAT.md says: float32 distances summed in
feature order, or (integer distances) the query quantized to the samples' grid and exact
integer sums; the k nearest (ties: the lower sample index), votes or values summed in
neighbour order."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from emlml_tools.format import (
    Blob,
    Distances,
    KnnData,
    Metric,
    SampleType,
    Weights,
)

from emlml_tools.format import c_tables as C

QUERY_CHUNK = 256  # kNN queries per distance block (bounds memory)


def stored_samples(knn: KnnData) -> npt.NDArray[np.float32]:
    """The samples as float32: ``offset + scale * float32(code)`` for integer samples."""
    if knn.sample_type == SampleType.FLOAT32:
        return np.asarray(knn.samples, dtype=np.float32)
    product = knn.scale * knn.samples.astype(np.float32)  # a multiply, then an add
    return product + knn.offset


def query_codes(knn: KnnData, x: np.ndarray) -> npt.NDArray[np.int32]:
    """Integer distances: ``round((x - offset) / scale)`` in float32, clamped to
    +-KNN_QUERY_CODE_MAX (an infinite quotient too), rounded half to even."""
    limit = np.float32(C.KNN_QUERY_CODE_MAX)
    with np.errstate(over="ignore"):
        t = (x.astype(np.float32) - knn.offset) / knn.scale
    return np.rint(np.clip(t, -limit, limit)).astype(np.int32)


def _k_nearest(dist: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(dist, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(dist, order, axis=1)


def _int_neighbours(model: Blob, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer distances: indices of the k nearest and their distances in the original
    units, ``scale * sqrt(float32(sum))`` (euclidean) or ``scale * float32(sum)``."""
    knn: KnnData = model.knn  # type: ignore[assignment]
    q = query_codes(knn, x).astype(np.int64)
    codes = knn.samples.astype(np.int64)
    index_blocks, sum_blocks = [], []
    for start in range(0, len(q), QUERY_CHUNK):
        block = q[start:start + QUERY_CHUNK]
        total = np.zeros((len(block), knn.n_samples), dtype=np.int64)
        for f in range(model.n_inputs):  # exact: the order does not matter
            diff = block[:, f, None] - codes[None, :, f]
            total += diff * diff if knn.metric == Metric.EUCLIDEAN else np.abs(diff)
        order, sums = _k_nearest(total, knn.k)
        index_blocks.append(order)
        sum_blocks.append(sums)
    index = np.concatenate(index_blocks) if index_blocks else np.zeros((0, knn.k), np.int64)
    sums = np.concatenate(sum_blocks) if sum_blocks else np.zeros((0, knn.k), np.int64)
    root = sums.astype(np.float32)  # int64 -> float32: one rounding
    if knn.metric == Metric.EUCLIDEAN:
        root = np.sqrt(root)
    return index, knn.scale[0] * root


def neighbours(model: Blob, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(n, k)`` of the k nearest samples (ties: lower index) and their weights."""
    knn: KnnData = model.knn  # type: ignore[assignment]
    if knn.distances == Distances.INTEGER:
        index, d = _int_neighbours(model, x)
        return index, _weights(knn, d)
    q = x.astype(np.float32)
    v = stored_samples(knn)
    index_blocks, dist_blocks = [], []
    for start in range(0, len(q), QUERY_CHUNK):
        block = q[start:start + QUERY_CHUNK]
        dist = np.zeros((len(block), knn.n_samples), dtype=np.float32)
        for f in range(model.n_inputs):  # float32 sum in feature order
            diff = block[:, f, None] - v[None, :, f]
            dist += diff * diff if knn.metric == Metric.EUCLIDEAN else np.abs(diff)
        order, nearest = _k_nearest(dist, knn.k)
        index_blocks.append(order)
        dist_blocks.append(nearest)
    index = np.concatenate(index_blocks) if index_blocks else np.zeros((0, knn.k), np.int64)
    dist = np.concatenate(dist_blocks) if dist_blocks else np.zeros((0, knn.k), np.float32)
    d = np.sqrt(dist) if knn.metric == Metric.EUCLIDEAN else dist
    return index, _weights(knn, d)


def _weights(knn: KnnData, d: np.ndarray) -> np.ndarray:
    """Uniform: 1. Distance: 1 / d, or (a neighbour at distance 0) 1 for those at 0 and
    0 for the others."""
    if knn.weights == Weights.UNIFORM:
        return np.ones_like(d)
    zero = d == 0
    with np.errstate(divide="ignore"):
        w = np.float32(1.0) / d
    has_zero = zero.any(axis=1)
    w[has_zero] = zero[has_zero].astype(np.float32)
    return w


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
