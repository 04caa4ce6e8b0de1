"""Signed 32-bit keys that order like the values (FORMAT.md, "Keys").

A tree node stores the key of its threshold; a walk compares the key of the input with it
using integers only. For float32 inputs the threshold is first rounded *down* to float32,
which keeps ``float32(x) <= threshold`` exact for every float32 ``x``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
_SIGN_FOLD = np.int32(0x7FFFFFFF)


def float32_keys(values: npt.ArrayLike) -> npt.NDArray[np.int32]:
    """Keys of float32 values: the bit pattern ``s`` as i32 if ``s >= 0``, else ``s ^ 0x7FFFFFFF``."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.int32)
    return np.where(bits >= 0, bits, bits ^ _SIGN_FOLD).astype(np.int32)


def key_values(keys: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """The float32 values of float32 keys (float32_keys undone)."""
    k = np.asarray(keys, dtype=np.int64)
    bits = np.where(k >= 0, k, k ^ 0x7FFFFFFF).astype(np.int32)
    return bits.view(np.float32)


def round_down_float32(thresholds: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """The largest float32 ``<= t`` for each float64 ``t``; -0.0 becomes +0.0.

    For a float32 ``x``: ``x <= t`` exactly when ``x <= round_down_float32(t)``.
    """
    t = np.asarray(thresholds, dtype=np.float64)
    if np.isnan(t).any():
        raise ValueError("a split threshold is NaN; refit the model on finite data")
    with np.errstate(over="ignore", under="ignore"):  # whatever the caller's numpy settings
        t32 = t.astype(np.float32)  # round to nearest (may overflow to +-inf)
    above = t32.astype(np.float64) > t
    t32[above] = np.nextafter(t32[above], np.float32(-np.inf))
    t32[t32 == 0] = np.float32(0.0)  # -0.0 -> +0.0
    return t32


def threshold_keys(thresholds: npt.ArrayLike, integer_input: bool) -> npt.NDArray[np.int32]:
    """Node keys for float64 thresholds.

    float32 input: key of the threshold rounded down to float32.
    Integer input (int8, uint8, int16): ``floor(threshold)`` clamped to the i32 range.
    """
    t = np.asarray(thresholds, dtype=np.float64)
    if not integer_input:
        return float32_keys(round_down_float32(t))
    if np.isnan(t).any():
        raise ValueError("a split threshold is NaN; refit the model on finite data")
    return np.clip(np.floor(t), INT32_MIN, INT32_MAX).astype(np.int32)
