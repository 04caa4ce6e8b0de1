"""Trees (kind 1) in NumPy, exactly as docs/FORMAT.md says: each walk compares integer keys
(``x <= t`` exact in float32), a classifier adds integer votes, a regressor adds leaf
values in float32 in tree order."""

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
from emlml_tools.format.keys import float32_keys


def input_keys(model: Blob, x: np.ndarray) -> npt.NDArray[np.int32]:
    if model.input_type == InputType.FLOAT32:
        return float32_keys(x)
    return x.astype(np.int32)


def leaves(model: Blob, x: np.ndarray) -> np.ndarray:
    """The leaf index each tree ends in, per sample: ``(n, n_trees)``."""
    trees: TreeData = model.trees  # type: ignore[assignment]
    keys = input_keys(model, x)
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
