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
    proba: np.ndarray | None = None  # (n_leaves, n_outputs) float64: TREE_PROBA, or None
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


def vote_scale(n_trees: int) -> int:
    """A classifier leaf's votes are out of this many: floor((2^32 - 1) / n_trees), so the
    sum over all trees fits in 32 bits."""
    return 0xFFFFFFFF // n_trees


def trees_blob(*, task: int, input_type: int, n_inputs: int, n_outputs: int,
               roots: npt.ArrayLike, nodes: np.ndarray, leaves: npt.ArrayLike,
               meta: bytes = b"", proba: npt.ArrayLike | None = None,
               nan_routing: bool = False) -> bytes:
    """A kind-1 blob from arrays: roots (u32), nodes (NODE_DTYPE), leaves (n_leaves,
    n_outputs): uint32 votes for a classifier, float32 values for a regressor; proba:
    a classifier's leaf probabilities as float64 (TREE_PROBA, for the tie replay);
    nan_routing: header flags bit 0 (float32 input: NaN accepted, reversed features)."""
    sections = [(SectionId.META, meta)] if meta else []
    sections += [
        (SectionId.TREE_ROOTS, np.asarray(roots, dtype="<u4").tobytes()),
        (SectionId.TREE_NODES, np.asarray(nodes, dtype=NODE_DTYPE).tobytes()),
        (SectionId.TREE_LEAVES, np.asarray(
            leaves, dtype="<u4" if task == Task.CLASSIFIER else "<f4").tobytes()),
    ]
    if proba is not None:
        sections.append((SectionId.TREE_PROBA, np.asarray(proba, dtype="<f8").tobytes()))
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
    child); then a classifier's votes (none above vote_scale); then TREE_PROBA if present
    (a classifier's; 8 bytes per vote; each value in [0, 1])."""
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
    proba = None
    if SectionId.TREE_PROBA in by_id:
        if task != Task.CLASSIFIER:
            raise BlobError("EMLML_E_TREE_PROBA_TASK")
        n_values = n_leaves * n_outputs
        proba_e = exact_section(by_id, SectionId.TREE_PROBA, 8 * n_values)
        bits = section_view(data, proba_e, "<u8", n_values)
        bad_p = bits > 0x3FF0000000000000  # [+0, 1.0] as bit patterns; NaN, -x above
        if bad_p.any():
            i = int(np.argmax(bad_p))
            raise BlobError("EMLML_E_TREE_PROBA", i // n_outputs, i % n_outputs)
        proba = bits.view("<f8").reshape(n_leaves, n_outputs)
    return TreeData(roots=roots, nodes=nodes, leaves=leaves, proba=proba,
                    nan_routing=nan_routing)
