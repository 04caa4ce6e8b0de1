"""Trees (kind 1, docs/FORMAT.md "Trees"): the node layout, the writer and the checked
reader of TREE_ROOTS, TREE_NODES and TREE_LEAVES, in the order the C loader checks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .header import (
    FLAG_TREES_NAN,
    LEAF,
    InputType,
    MAX_TREES,
    BlobError,
    Kind,
    SectionEntry,
    SectionId,
    Task,
    exact_section,
    section_view,
    sized_section,
    write_blob,
)

NODE_DTYPE = np.dtype([("key", "<i4"), ("feature", "<u2"), ("right", "<u2")])
assert NODE_DTYPE.itemsize == 8


@dataclass(frozen=True)
class TreeData:
    roots: npt.NDArray[np.uint32]  # (n_trees,)
    nodes: np.ndarray  # (n_nodes,) of NODE_DTYPE
    leaves: np.ndarray  # (n_leaves, n_outputs): uint32 votes (classifier) or float32 values
    weights: np.ndarray | None = None  # (n_leaves,) uint32: TREE_WEIGHTS, or None
    nan_routing: bool = False  # header flags bit 0: NaN inputs accepted, reversed features

    @property
    def n_trees(self) -> int:
        return len(self.roots)

    @property
    def n_nodes(self) -> int:
        return len(self.nodes)

    @property
    def n_leaves(self) -> int:
        return len(self.leaves)


def trees_arena_bytes(n_inputs: int, n_outputs: int, nan_routing: bool = False) -> int:
    """Input keys (twice as many with NaN routing: the reversed ones), sums, outputs."""
    return 4 * n_inputs * (2 if nan_routing else 1) + 8 * n_outputs


def leaf_fractions(votes: np.ndarray, weights: np.ndarray, n_trees: int) -> np.ndarray:
    """scikit-learn's float64 class fractions of leaf vectors (FORMAT.md, Ties): the class
    weights ``k = (votes * m + vote_scale // 2) // vote_scale`` recovered from the votes
    and each vector's weight ``m``, then ``k / m`` correctly rounded."""
    scale = vote_scale(n_trees)
    m = np.asarray(weights, dtype=np.uint64).reshape(-1, 1)
    k = (np.asarray(votes, dtype=np.uint64) * m + np.uint64(scale // 2)) // np.uint64(scale)
    return k.astype(np.float64) / m.astype(np.float64)


def vote_scale(n_trees: int) -> int:
    """A classifier leaf's votes are out of this many: floor((2^32 - 1) / n_trees), so the
    sum over all trees fits in 32 bits."""
    return 0xFFFFFFFF // n_trees


def trees_blob(*, task: int, input_type: int, n_inputs: int, n_outputs: int,
               roots: npt.ArrayLike, nodes: np.ndarray, leaves: npt.ArrayLike,
               meta: bytes = b"", weights: npt.ArrayLike | None = None,
               nan_routing: bool = False) -> bytes:
    """A kind-1 blob from arrays: roots (u32), nodes (NODE_DTYPE), leaves (n_leaves,
    n_outputs): uint32 votes for a classifier, float32 values for a regressor; weights:
    a classifier's training weight per leaf vector (TREE_WEIGHTS, for the tie replay);
    nan_routing: header flags bit 0 (float32 input: NaN accepted, reversed features)."""
    sections = [(SectionId.META, meta)] if meta else []
    sections += [
        (SectionId.TREE_ROOTS, np.asarray(roots, dtype="<u4").tobytes()),
        (SectionId.TREE_NODES, np.asarray(nodes, dtype=NODE_DTYPE).tobytes()),
        (SectionId.TREE_LEAVES, np.asarray(
            leaves, dtype="<u4" if task == Task.CLASSIFIER else "<f4").tobytes()),
    ]
    if weights is not None:
        sections.append((SectionId.TREE_WEIGHTS, np.asarray(weights, dtype="<u4").tobytes()))
    return write_blob(kind=Kind.TREES, task=task, input_type=input_type, n_inputs=n_inputs,
                      n_outputs=n_outputs,
                      arena_bytes=trees_arena_bytes(n_inputs, n_outputs, nan_routing),
                      sections=sections, flags=FLAG_TREES_NAN if nan_routing else 0)


def check_trees(data: bytes, by_id: dict[int, SectionEntry], task: Task, input_type: int,
                flags: int, n_inputs: int, n_outputs: int) -> TreeData:
    """Order: NaN routing (flags bit 0) only with float32 input; TREE_ROOTS, TREE_NODES,
    TREE_LEAVES each present and a whole number of items; tree count; roots (roots[0] ==
    0, strictly increasing, < n_nodes); then every node of every tree in order (leaf:
    right == 0, then leaf index; split: feature (< 2 * n_inputs with NaN routing), then
    child); then a classifier's votes (none above vote_scale); then TREE_WEIGHTS if
    present (a classifier's; one u32 per leaf vector; none 0)."""
    nan_routing = bool(flags & FLAG_TREES_NAN)
    if nan_routing and input_type != InputType.FLOAT32:
        raise BlobError("EMLML_E_TREE_NAN_INPUT", input_type)
    roots_e = sized_section(by_id, SectionId.TREE_ROOTS, 4)
    nodes_e = sized_section(by_id, SectionId.TREE_NODES, NODE_DTYPE.itemsize)
    leaves_e = sized_section(by_id, SectionId.TREE_LEAVES, 4 * n_outputs)
    n_trees = roots_e.size // 4
    n_nodes = nodes_e.size // NODE_DTYPE.itemsize
    n_leaves = leaves_e.size // (4 * n_outputs)
    if not 1 <= n_trees <= MAX_TREES:
        raise BlobError("EMLML_E_TREE_COUNT", n_trees)
    roots = section_view(data, roots_e, "<u4", n_trees)
    nodes = section_view(data, nodes_e, NODE_DTYPE, n_nodes)
    leaf_dtype = "<u4" if task == Task.CLASSIFIER else "<f4"
    leaves = section_view(data, leaves_e, leaf_dtype, n_leaves * n_outputs).reshape(n_leaves, n_outputs)
    lowest = 0
    for t in range(n_trees):
        root = int(roots[t])
        if root >= n_nodes or root < lowest or (t == 0 and root != 0):
            raise BlobError("EMLML_E_TREE_ROOT", t, root)
        lowest = root + 1
    starts = roots.astype(np.int64)
    ends = np.append(starts[1:], n_nodes)
    tree_of = np.repeat(np.arange(n_trees), ends - starts)
    index = np.arange(n_nodes, dtype=np.int64)
    key = nodes["key"].astype(np.int64)
    feature = nodes["feature"].astype(np.int64)
    right = nodes["right"].astype(np.int64)
    leaf = feature == LEAF
    n_features = 2 * n_inputs if nan_routing else n_inputs
    bad = np.where(leaf, (right != 0) | (key < 0) | (key >= n_leaves),
                   (feature >= n_features) | (right < 1) | (index + right >= ends[tree_of]))
    if bad.any():  # the first bad node, with its first failed check
        i = int(np.argmax(bad))
        t = int(tree_of[i])
        local = i - int(starts[t])
        if leaf[i]:
            if right[i] != 0:
                raise BlobError("EMLML_E_TREE_LEAF_CHILD", t, local)
            # the key as u32, as the C loader prints it (-1 shows as 4294967295)
            raise BlobError("EMLML_E_TREE_LEAF", t, local, int(key[i]))
        if feature[i] >= n_features:
            raise BlobError("EMLML_E_TREE_FEATURE", t, local, int(feature[i]), n_inputs)
        raise BlobError("EMLML_E_TREE_CHILD", t, local)
    if task == Task.CLASSIFIER:
        over = leaves.reshape(-1) > vote_scale(n_trees)
        if over.any():
            i = int(np.argmax(over))
            raise BlobError("EMLML_E_TREE_VOTE", i // n_outputs, int(leaves.reshape(-1)[i]),
                            vote_scale(n_trees))
    weights = None
    if SectionId.TREE_WEIGHTS in by_id:
        if task != Task.CLASSIFIER:
            raise BlobError("EMLML_E_TREE_WEIGHTS_TASK")
        weights_e = exact_section(by_id, SectionId.TREE_WEIGHTS, 4 * n_leaves)
        weights = section_view(data, weights_e, "<u4", n_leaves)
        if (weights == 0).any():
            raise BlobError("EMLML_E_TREE_WEIGHT", int(np.argmax(weights == 0)))
    return TreeData(roots=roots, nodes=nodes, leaves=leaves, weights=weights,
                    nan_routing=nan_routing)
