"""Trees (kind 1, docs/FORMAT.md "Trees"): the node layout, the writer and the checked
reader of TREE_ROOTS, TREE_NODES and TREE_LEAVES, in the order the C loader checks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .header import (
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
    nan_left: np.ndarray | None = None  # (n_nodes,) bool: TREE_NAN, or None (NaN refused)
    weights: np.ndarray | None = None  # (n_leaves,) uint32: TREE_WEIGHTS, or None

    @property
    def nan_routing(self) -> bool:
        """NaN inputs are accepted (a missing value) and routed by TREE_NAN."""
        return self.nan_left is not None

    @property
    def n_trees(self) -> int:
        return len(self.roots)

    @property
    def n_nodes(self) -> int:
        return len(self.nodes)

    @property
    def n_leaves(self) -> int:
        return len(self.leaves)


def trees_arena_bytes(n_inputs: int, n_outputs: int) -> int:
    """Input keys, sums, outputs."""
    return 4 * n_inputs + 8 * n_outputs


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
               meta: bytes = b"", nan_left: npt.ArrayLike | None = None,
               weights: npt.ArrayLike | None = None) -> bytes:
    """A kind-1 blob from arrays: roots (u32), nodes (NODE_DTYPE), leaves (n_leaves,
    n_outputs): uint32 votes for a classifier, float32 values for a regressor; weights:
    a classifier's training weight per leaf vector (TREE_WEIGHTS, for the tie replay);
    nan_left: a bool per node, the splits that send NaN left (TREE_NAN: float32 input
    only; NaN is refused without it)."""
    sections = [(SectionId.META, meta)] if meta else []
    sections += [
        (SectionId.TREE_ROOTS, np.asarray(roots, dtype="<u4").tobytes()),
        (SectionId.TREE_NODES, np.asarray(nodes, dtype=NODE_DTYPE).tobytes()),
        (SectionId.TREE_LEAVES, np.asarray(
            leaves, dtype="<u4" if task == Task.CLASSIFIER else "<f4").tobytes()),
    ]
    if nan_left is not None:
        sections.append((SectionId.TREE_NAN, nan_bitmap(nan_left)))
    if weights is not None:
        sections.append((SectionId.TREE_WEIGHTS, np.asarray(weights, dtype="<u4").tobytes()))
    return write_blob(kind=Kind.TREES, task=task, input_type=input_type, n_inputs=n_inputs,
                      n_outputs=n_outputs, arena_bytes=trees_arena_bytes(n_inputs, n_outputs),
                      sections=sections)


def nan_bitmap(nan_left: npt.ArrayLike) -> bytes:
    """TREE_NAN: bit i (word i // 32, bit i % 32, u32 little-endian) is node i's."""
    bits = np.asarray(nan_left, dtype=bool)
    padded = np.zeros(-(-len(bits) // 32) * 32, dtype=bool)
    padded[:len(bits)] = bits
    return np.packbits(padded, bitorder="little").tobytes()


def check_trees(data: bytes, by_id: dict[int, SectionEntry], task: Task, input_type: int,
                n_inputs: int, n_outputs: int) -> TreeData:
    """Order: TREE_ROOTS, TREE_NODES, TREE_LEAVES each present and a whole number of items;
    tree count; roots (roots[0] == 0, strictly increasing, < n_nodes); then every node of
    every tree in order (leaf: right == 0, then leaf index; split: feature, then child);
    then a classifier's votes (none above vote_scale); then TREE_NAN if present (float32
    input; one bit per node in u32 words; the first set bit past the nodes or on a leaf
    refused); then TREE_WEIGHTS if present (a classifier's; one u32 per leaf vector;
    none 0)."""
    walk = check_walk(data, by_id, SectionId.TREE_LEAVES, 4 * n_outputs, n_inputs)
    leaf_dtype = "<u4" if task == Task.CLASSIFIER else "<f4"
    n_trees, n_leaves = walk.n_trees, walk.n_leaves
    leaves = section_view(data, walk.leaves_entry, leaf_dtype,
                          n_leaves * n_outputs).reshape(n_leaves, n_outputs)
    if task == Task.CLASSIFIER:
        over = leaves.reshape(-1) > vote_scale(n_trees)
        if over.any():
            i = int(np.argmax(over))
            raise BlobError("EMLML_E_TREE_VOTE", i // n_outputs, int(leaves.reshape(-1)[i]),
                            vote_scale(n_trees))
    nan_left = check_nan(data, by_id, input_type, walk)
    weights = None
    if SectionId.TREE_WEIGHTS in by_id:
        if task != Task.CLASSIFIER:
            raise BlobError("EMLML_E_TREE_WEIGHTS_TASK")
        weights_e = exact_section(by_id, SectionId.TREE_WEIGHTS, 4 * n_leaves)
        weights = section_view(data, weights_e, "<u4", n_leaves)
        if (weights == 0).any():
            raise BlobError("EMLML_E_TREE_WEIGHT", int(np.argmax(weights == 0)))
    return TreeData(roots=walk.roots, nodes=walk.nodes, leaves=leaves, nan_left=nan_left,
                    weights=weights)


@dataclass(frozen=True)
class Walk:
    """The checked walk structure shared by trees and boosting (kind 4)."""
    roots: np.ndarray
    nodes: np.ndarray
    leaves_entry: SectionEntry
    n_leaves: int
    tree_of: np.ndarray
    starts: np.ndarray
    leaf: np.ndarray  # bool per node

    @property
    def n_trees(self) -> int:
        return len(self.roots)


def check_walk(data: bytes, by_id: dict[int, SectionEntry], leaves_id: int, leaf_unit: int,
               n_inputs: int) -> Walk:
    """TREE_ROOTS, TREE_NODES and the leaves section each present and a whole number of
    items; tree count; roots; every node of every tree (emlml_trees_check_nodes in C)."""
    roots_e = sized_section(by_id, SectionId.TREE_ROOTS, 4)
    nodes_e = sized_section(by_id, SectionId.TREE_NODES, NODE_DTYPE.itemsize)
    leaves_e = sized_section(by_id, SectionId(leaves_id), leaf_unit)
    n_trees = roots_e.size // 4
    n_nodes = nodes_e.size // NODE_DTYPE.itemsize
    n_leaves = leaves_e.size // leaf_unit
    if not 1 <= n_trees <= MAX_TREES:
        raise BlobError("EMLML_E_TREE_COUNT", n_trees)
    roots = section_view(data, roots_e, "<u4", n_trees)
    nodes = section_view(data, nodes_e, NODE_DTYPE, n_nodes)
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
    n_features = n_inputs
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
    return Walk(roots=roots, nodes=nodes, leaves_entry=leaves_e, n_leaves=n_leaves,
                tree_of=tree_of, starts=starts, leaf=leaf)


def check_nan(data: bytes, by_id: dict[int, SectionEntry], input_type: int,
              walk: Walk) -> np.ndarray | None:
    """TREE_NAN if present: float32 input; one bit per node in u32 words; the first set
    bit past the nodes or on a leaf refused."""
    n_nodes, leaf, tree_of, starts = len(walk.nodes), walk.leaf, walk.tree_of, walk.starts
    nan_left = None
    if SectionId.TREE_NAN in by_id:
        if input_type != InputType.FLOAT32:
            raise BlobError("EMLML_E_TREE_NAN_INPUT", input_type)
        words = -(-n_nodes // 32)
        nan_e = exact_section(by_id, SectionId.TREE_NAN, 4 * words)
        bits = np.unpackbits(section_view(data, nan_e, "u1", 4 * words), bitorder="little")
        bad_bit = bits.astype(bool)
        bad_bit[:n_nodes] &= leaf
        if bad_bit.any():
            i = int(np.argmax(bad_bit))
            if i >= n_nodes:
                raise BlobError("EMLML_E_TREE_NAN_PADDING", i, n_nodes)
            raise BlobError("EMLML_E_TREE_NAN_LEAF", int(tree_of[i]), i - int(starts[tree_of[i]]))
        nan_left = bits[:n_nodes].astype(bool)
    return nan_left
