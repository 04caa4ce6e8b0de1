"""Gradient boosting (kind 4, docs/FORMAT.md "Boosting"): the trees' walk sections
(TREE_ROOTS, TREE_NODES, TREE_NAN) with additive leaves (BOOST_LEAVES) and BOOST_PARAMS
(link, decision rule, sum type, threshold, init scores); the writer and the checked
reader, in the order trees/emlml_boost.c checks."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from emlml_tools.format import c_tables as C

from .header import (
    BlobError,
    InputType,
    Kind,
    SectionEntry,
    SectionId,
    Task,
    exact_section,
    section_view,
    write_blob,
)
from .trees import NODE_DTYPE, check_nan, check_walk, nan_bitmap

Link = IntEnum("Link", C.BOOST_LINKS)
SumType = IntEnum("SumType", C.BOOST_SUMS)

_PARAMS_HEAD = struct.Struct("<BBBBI")  # link, decision, sum, reserved, n_groups
PARAMS_HEADER = _PARAMS_HEAD.size  # the bytes read before the length is known


class Decision(IntEnum):
    """Sigmoid: class 1 where raw > threshold (0) or raw >= threshold (1). Softmax: the
    first largest raw score (0), or the first whose float32 score is within threshold of
    the largest, in float32 for SUM_F32 (XGBoost's float32 softmax), else in float64
    (LightGBM's). Identity: 0."""
    GREATER = 0
    GREATER_EQUAL = 1
    FIRST_MAX = 0
    FIRST_NEAR_MAX = 1


@dataclass(frozen=True)
class BoostData:
    roots: npt.NDArray[np.uint32]
    nodes: np.ndarray  # NODE_DTYPE; a leaf's key indexes leaves
    leaves: np.ndarray  # (n_leaves,) float64 (SUM_F64) or float32 (SUM_F32)
    link: Link
    decision: Decision
    sum: SumType
    threshold: float  # binary classifiers: the decision threshold on the raw score
    init: npt.NDArray[np.float64]  # (n_groups,) init scores
    nan_left: np.ndarray | None = None
    zero_missing: np.ndarray | None = None  # (n_inputs,) bool: BOOST_ZERO, or None

    @property
    def nan_routing(self) -> bool:
        return self.nan_left is not None

    @property
    def n_trees(self) -> int:
        return len(self.roots)

    @property
    def n_groups(self) -> int:
        return len(self.init)

    @property
    def n_nodes(self) -> int:
        return len(self.nodes)

    @property
    def n_leaves(self) -> int:
        return len(self.leaves)


def boost_arena_bytes(n_inputs: int, n_outputs: int) -> int:
    """Input keys, float32 outputs, binary64 raw scores."""
    return 4 * n_inputs + 12 * n_outputs


def boost_params(link: int, decision: int, sum_type: int, threshold: float,
                 init: npt.ArrayLike) -> bytes:
    scores = np.concatenate([[threshold], np.asarray(init, dtype=np.float64).reshape(-1)])
    return _PARAMS_HEAD.pack(link, decision, sum_type, 0, len(scores) - 1) + \
        scores.astype("<f8").tobytes()


def boost_blob(*, task: int, input_type: int, n_inputs: int, n_outputs: int,
               roots: npt.ArrayLike, nodes: np.ndarray, leaves: npt.ArrayLike, link: int,
               decision: int, sum_type: int, threshold: float, init: npt.ArrayLike,
               meta: bytes = b"", nan_left: npt.ArrayLike | None = None,
               zero_missing: npt.ArrayLike | None = None) -> bytes:
    """A kind-4 blob: tree i adds its leaf value to score group i % len(init).
    zero_missing: a bool per input, BOOST_ZERO (|x| <= 1e-35f is missing there)."""
    sections = [(SectionId.META, meta)] if meta else []
    sections += [
        (SectionId.TREE_ROOTS, np.asarray(roots, dtype="<u4").tobytes()),
        (SectionId.TREE_NODES, np.asarray(nodes, dtype=NODE_DTYPE).tobytes()),
    ]
    if nan_left is not None:
        sections.append((SectionId.TREE_NAN, nan_bitmap(nan_left)))
    leaf_dtype = "<f8" if sum_type == SumType.F64 else "<f4"
    sections += [
        (SectionId.BOOST_PARAMS, boost_params(link, decision, sum_type, threshold, init)),
        (SectionId.BOOST_LEAVES, np.asarray(leaves, dtype=leaf_dtype).tobytes()),
    ]
    if zero_missing is not None:
        sections.append((SectionId.BOOST_ZERO, nan_bitmap(zero_missing)))
    return write_blob(kind=Kind.BOOST, task=task, input_type=input_type, n_inputs=n_inputs,
                      n_outputs=n_outputs, arena_bytes=boost_arena_bytes(n_inputs, n_outputs),
                      sections=sections)


def _link_fits(task: Task, n_outputs: int, link: int, n_groups: int) -> bool:
    if task == Task.REGRESSOR:
        return link == Link.IDENTITY and n_groups == 1
    if link == Link.SIGMOID:
        return n_outputs == 2 and n_groups == 1
    return link == Link.SOFTMAX and n_outputs >= 2 and n_groups == n_outputs


def check_boost(data: bytes, by_id: dict[int, SectionEntry], task: Task, input_type: int,
                n_inputs: int, n_outputs: int) -> BoostData:
    """Order: BOOST_PARAMS present, at least its 8-byte head; the link fits the task and
    outputs; decision, sum and reserved; its exact length (16 + 8 * n_groups); threshold
    and init scores finite; then the walk (check_walk: roots, nodes, BOOST_LEAVES of 8
    or 4 bytes per leaf); the tree count a multiple of n_groups; TREE_NAN; every leaf value
    finite; then BOOST_ZERO if present (float32 input with TREE_NAN; one bit per input in
    u32 words; none set past the inputs)."""
    entry = by_id.get(SectionId.BOOST_PARAMS)
    if entry is None:
        raise BlobError("EMLML_E_SECTION_MISSING", SectionId.BOOST_PARAMS)
    if entry.size < PARAMS_HEADER:
        raise BlobError("EMLML_E_SECTION_LENGTH", SectionId.BOOST_PARAMS, entry.size,
                        PARAMS_HEADER)
    link, decision, sum_type, reserved, n_groups = _PARAMS_HEAD.unpack_from(data, entry.offset)
    if not _link_fits(task, n_outputs, link, n_groups):
        raise BlobError("EMLML_E_BOOST_LINK", link, task, n_outputs, n_groups)
    if decision > 1 or sum_type > SumType.F32 or reserved != 0:
        raise BlobError("EMLML_E_BOOST_PARAMS", decision, sum_type, reserved)
    expected = 16 + 8 * n_groups
    if entry.size != expected:
        raise BlobError("EMLML_E_SECTION_LENGTH", SectionId.BOOST_PARAMS, entry.size, expected)
    scores = np.frombuffer(data, "<f8", n_groups + 1, entry.offset + 8)
    if not np.isfinite(scores).all():
        raise BlobError("EMLML_E_BOOST_SCORE", int(np.argmin(np.isfinite(scores))))
    unit = 8 if sum_type == SumType.F64 else 4
    walk = check_walk(data, by_id, SectionId.BOOST_LEAVES, unit, n_inputs)
    if walk.n_trees % n_groups != 0:
        raise BlobError("EMLML_E_BOOST_GROUPS", walk.n_trees, n_groups)
    nan_left = check_nan(data, by_id, input_type, walk)
    leaves = section_view(data, walk.leaves_entry, "<f8" if unit == 8 else "<f4", walk.n_leaves)
    if not np.isfinite(leaves).all():
        raise BlobError("EMLML_E_BOOST_LEAF", int(np.argmin(np.isfinite(leaves))))
    zero = None
    if SectionId.BOOST_ZERO in by_id:
        if input_type != InputType.FLOAT32 or nan_left is None:
            raise BlobError("EMLML_E_BOOST_ZERO_NAN")
        words = -(-n_inputs // 32)
        entry = exact_section(by_id, SectionId.BOOST_ZERO, 4 * words)
        bits = np.unpackbits(section_view(data, entry, "u1", 4 * words), bitorder="little")
        if bits[n_inputs:].any():
            raise BlobError("EMLML_E_BOOST_ZERO_PADDING",
                            n_inputs + int(np.argmax(bits[n_inputs:])), n_inputs)
        zero = bits[:n_inputs].astype(bool)
    return BoostData(roots=walk.roots, nodes=walk.nodes, leaves=leaves, link=Link(link),
                     decision=Decision(decision), sum=SumType(sum_type),
                     threshold=float(scores[0]), init=scores[1:].copy(), nan_left=nan_left,
                     zero_missing=zero)
