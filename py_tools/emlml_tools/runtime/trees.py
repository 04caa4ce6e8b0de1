"""Trees (kind 1) in NumPy, exactly as docs/FORMAT.md says: each walk compares integer keys
(``x <= t`` exact in float32; a NaN is INT32_MAX and goes left where TREE_NAN says), a
classifier adds integer votes (and replays scikit-learn's float64 sums on a near tie), a
regressor adds leaf values in float32 in tree order."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from emlml_tools.format import (
    LEAF,
    Blob,
    InputType,
    TreeData,
    vote_scale,
)
from emlml_tools.format.keys import INT32_MAX, float32_keys
from emlml_tools.format.trees import leaf_fractions

ZERO_MISSING = np.float32(1e-35)  # BOOST_ZERO: inputs this small are missing values


def input_keys(model: Blob, x: np.ndarray) -> npt.NDArray[np.int32]:
    """Keys per sample, ``(n, n_inputs)``; a NaN (a model with TREE_NAN) is INT32_MAX."""
    if model.input_type != InputType.FLOAT32:
        return x.astype(np.int32)
    keys = float32_keys(x)
    keys[np.isnan(x)] = INT32_MAX
    return keys


def leaves(model: Blob, x: np.ndarray, trees: TreeData | None = None) -> np.ndarray:
    """The leaf index each tree ends in, per sample: ``(n, n_trees)``; ``trees`` (the
    walk sections of boosting's BoostData) defaults to the blob's trees."""
    if trees is None:
        trees = model.trees  # type: ignore[assignment]
    keys = input_keys(model, x)
    zero = getattr(trees, "zero_missing", None)  # boosting's BOOST_ZERO
    if zero is not None:
        keys[(np.abs(x) <= ZERO_MISSING) & zero[None, :]] = INT32_MAX
    node_key = trees.nodes["key"].astype(np.int64)
    feature = trees.nodes["feature"].astype(np.int64)
    right = trees.nodes["right"].astype(np.int64)
    idx = np.tile(trees.roots.astype(np.int64), (len(x), 1))  # (n, n_trees) current node
    while True:
        rows, cols = np.nonzero(feature[idx] != LEAF)
        if len(rows) == 0:
            break
        i = idx[rows, cols]
        key = keys[rows, feature[i]]
        go_left = key <= node_key[i]
        if trees.nan_left is not None:  # a NaN (INT32_MAX) goes left where TREE_NAN says
            go_left |= (key == INT32_MAX) & trees.nan_left[i]
        idx[rows, cols] = np.where(go_left, i + 1, i + right[i])
    return node_key[idx]


def votes(model: Blob, x: np.ndarray) -> np.ndarray:
    """A classifier's integer vote sums per class, ``(n, n_outputs)`` (exact: they fit
    in 32 bits by construction of vote_scale)."""
    trees: TreeData = model.trees  # type: ignore[assignment]
    leaf = leaves(model, x)
    acc = np.zeros((len(x), model.n_outputs), dtype=np.uint64)
    for t in range(trees.n_trees):
        acc += trees.leaves[leaf[:, t]].astype(np.uint64)
    assert acc.max(initial=0) <= 0xFFFFFFFF
    return acc


def predict_class(model: Blob, x: np.ndarray) -> npt.NDArray[np.int64]:
    """The first class with the most votes; where another class is within ``n_trees + 1``
    votes of it and the blob has TREE_WEIGHTS, scikit-learn's float64 arithmetic among
    those classes: leaf fractions added in tree order from +0.0, divided by n_trees, the
    first largest (FORMAT.md, Ties). The fractions come from the votes and each leaf
    vector's weight (``leaf_fractions``)."""
    trees: TreeData = model.trees  # type: ignore[assignment]
    leaf = leaves(model, x)
    acc = np.zeros((len(x), model.n_outputs), dtype=np.uint64)
    for t in range(trees.n_trees):
        acc += trees.leaves[leaf[:, t]].astype(np.uint64)
    best = np.argmax(acc, axis=1)
    if trees.weights is None:
        return best
    gap = acc[np.arange(len(x)), best][:, None].astype(np.int64) - acc.astype(np.int64)
    close = gap <= trees.n_trees + 1
    rows = np.nonzero(close.sum(axis=1) > 1)[0]
    if len(rows):
        fractions = leaf_fractions(trees.leaves, trees.weights, trees.n_trees)
        sums = np.zeros((len(rows), model.n_outputs), dtype=np.float64)
        for t in range(trees.n_trees):  # numpy's float64 add: IEEE, rounded to nearest
            sums += fractions[leaf[rows, t]]
        means = sums / np.float64(trees.n_trees)
        means[~close[rows]] = -np.inf
        best[rows] = np.argmax(means, axis=1)
    return best


def proba(model: Blob, x: np.ndarray) -> npt.NDArray[np.float32]:
    """``float32(votes) / float32(vote_scale * n_trees)``."""
    n_trees = model.trees.n_trees  # type: ignore[union-attr]
    total = np.float32(vote_scale(n_trees) * n_trees)
    return votes(model, x).astype(np.float32) / total


def regress(model: Blob, x: np.ndarray) -> npt.NDArray[np.float32]:
    """Leaf values added in float32 in tree order, divided by n_trees."""
    trees: TreeData = model.trees  # type: ignore[assignment]
    leaf = leaves(model, x)
    acc = np.zeros(len(x), dtype=np.float32)
    for t in range(trees.n_trees):
        acc += trees.leaves[leaf[:, t], 0]
    return acc / np.float32(trees.n_trees)
