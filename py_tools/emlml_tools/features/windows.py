"""What every transformer of windows checks in fit: scikit-learn's validation (float32,
NaN and infinity refused) and a window that is whole samples of the channels."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from sklearn.utils.validation import validate_data


def fit_windows(transformer: object, X: npt.ArrayLike, channels: int) -> np.ndarray:
    """``X`` as float32 ``(n, samples * channels)``, its feature count recorded
    (``n_features_in_``); a ValueError when the rows are not samples of ``channels``."""
    X = validate_data(transformer, X, dtype=np.float32, reset=True)
    if channels < 1 or X.shape[1] % channels:
        raise ValueError(f"windows of {X.shape[1]} values are not samples of {channels} channels")
    return X
