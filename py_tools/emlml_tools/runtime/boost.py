"""Gradient boosting (kind 4) in NumPy, as trees/emlml_boost.c computes it (FORMAT.md,
"Boosting"): the trees' walks (runtime/trees.py), each score group's init score plus its
trees' leaf values in tree order (float64 adds, or float32 for SUM_F32), the class from
those raw scores, the outputs from their float32 roundings through the link, with the
core's float32 exp (``expf``) operation for operation."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from emlml_tools.format import Blob, BoostData, Decision, Link, SumType
from emlml_tools.runtime import trees as tree_walk

F32 = np.float32


def _f32(bits: int) -> np.float32:
    return np.array([bits], dtype=np.uint32).view(np.float32)[0]


_LOG2E = _f32(0x3FB8AA3B)     # 1.44269502f
_LN2_HI = _f32(0x3F317200)    # 0.693145752f
_LN2_LO = _f32(0x35BFBE8E)    # 1.42860677e-06f
_TAYLOR = [F32(1) / F32(n) for n in (5040, 720, 120, 24, 6)] + [F32(0.5), F32(1), F32(1)]
_TWO_M100 = _f32(0x0D800000)  # 2^-100


def expf(x: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """emlml_expf (core/emlml_math.c), float32 operation for operation; NaN stays NaN."""
    given = np.asarray(x, dtype=F32)
    x = np.minimum(np.nan_to_num(given, nan=0.0), F32(88.0))
    t = x * _LOG2E
    k = (t + np.where(t >= 0, F32(0.5), F32(-0.5)).astype(F32)).astype(np.int32)  # truncates
    kf = k.astype(F32)
    r = (x - kf * _LN2_HI) - kf * _LN2_LO
    p = np.full_like(r, _TAYLOR[0])
    for c in _TAYLOR[1:]:
        p = p * r + c
    small = k < -100
    p = np.where(small, p * _TWO_M100, p)
    k = np.where(small, k + 100, k)
    scale = ((np.clip(k, -126, 127) + 127).astype(np.uint32) << np.uint32(23)).view(F32)
    out = (p * scale).astype(F32)
    return np.where(np.isnan(given), given, np.where(x < F32(-103.0), F32(0.0), out))


def raw_scores(model: Blob, x: np.ndarray) -> np.ndarray:
    """``(n, n_groups)`` raw scores: float64 (SUM_F64) or float32 (SUM_F32) values."""
    boost: BoostData = model.boost  # type: ignore[assignment]
    leaf = tree_walk.leaves(model, x, boost)  # type: ignore[arg-type]
    dtype = np.float64 if boost.sum == SumType.F64 else F32
    scores = np.empty((len(x), boost.n_groups), dtype=dtype)
    for g in range(boost.n_groups):
        total = np.full(len(x), boost.init[g], dtype=np.float64).astype(dtype)
        for tree in range(g, boost.n_trees, boost.n_groups):
            total = total + boost.leaves[leaf[:, tree]].astype(dtype)
        scores[:, g] = total
    return scores


def predict(model: Blob, x: np.ndarray) -> np.ndarray:
    """Class index (int64) from the raw scores, or the regression value (float32)."""
    boost: BoostData = model.boost  # type: ignore[assignment]
    scores = raw_scores(model, x).astype(np.float64)
    if boost.link == Link.IDENTITY:
        return scores[:, 0].astype(F32)
    if boost.link == Link.SIGMOID:
        if boost.decision == Decision.GREATER:
            return (scores[:, 0] > boost.threshold).astype(np.int64)
        return (scores[:, 0] >= boost.threshold).astype(np.int64)
    if boost.decision == Decision.FIRST_NEAR_MAX:  # within threshold of the largest
        top = scores[np.arange(len(scores)), np.argmax(scores, axis=1)]
        if boost.sum == SumType.F32:
            s32, top32 = scores.astype(F32), top.astype(F32)
            near = (s32 - top32[:, None]).astype(F32) >= -np.float64(boost.threshold).astype(F32)
        else:
            near = scores - top[:, None] >= -boost.threshold
        return np.argmax(near, axis=1).astype(np.int64)
    return np.argmax(scores, axis=1).astype(np.int64)  # the first largest


def outputs(model: Blob, x: np.ndarray) -> npt.NDArray[np.float32]:
    """The float32 outputs: class probabilities (sigmoid: [1 - p, p]; softmax), or the
    regression value as a column."""
    boost: BoostData = model.boost  # type: ignore[assignment]
    raw = raw_scores(model, x).astype(F32)
    if boost.link == Link.IDENTITY:
        return raw
    if boost.link == Link.SIGMOID:
        p = F32(1.0) / (F32(1.0) + expf(-raw[:, 0]))
        return np.stack([F32(1.0) - p, p], axis=1).astype(F32)
    top = raw[np.arange(len(raw)), np.argmax(raw, axis=1)]
    e = expf(raw - top[:, None])
    total = np.zeros(len(raw), dtype=F32)
    for c in range(raw.shape[1]):  # the sum in class order
        total = total + e[:, c]
    return (e / total[:, None]).astype(F32)
