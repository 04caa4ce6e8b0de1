"""NumPy reference runtime: executes a blob exactly as docs/FORMAT.md says, one module per
family (trees.py, knn.py, cnn.py); this one checks the inputs and dispatches.

Every sum is done in float32 in the order FORMAT.md writes (tree by tree, feature by
feature, neighbour by neighbour, class by class), vectorised over samples only, so the
results are the bits the C core must produce.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt

from emlml_tools.format import INPUT_DTYPES, Blob, InputType, Kind, read_blob
from emlml_tools.format.c_format import error_format
from emlml_tools.runtime import boost, cnn, knn, pipeline, trees


def predict(blob: bytes | bytearray | memoryview | Blob, X: npt.ArrayLike) -> np.ndarray:
    """Class indices (int64) for a classifier, float32 values for a regressor."""
    model = _as_blob(blob)
    if model.kind == Kind.CNN:
        return np.array([_cnn_one(model, row)[0] for row in _cnn_rows(model, X)], dtype=np.int64)
    model, x = _features(model, check_inputs(model, X))
    if model.kind == Kind.BOOST:
        return boost.predict(model, x)
    if model.kind == Kind.TREES:
        if model.is_classifier:  # integer votes; scikit-learn's float64 sums on a near tie
            return trees.predict_class(model, x)
        return trees.regress(model, x)
    if model.is_classifier:
        return np.argmax(knn.scores(model, x), axis=1)
    return knn.regress(model, x)


def predict_proba(blob: bytes | bytearray | memoryview | Blob, X: npt.ArrayLike
                  ) -> npt.NDArray[np.float32]:
    """Class probabilities (float32, ``(n, n_outputs)``) of a classifier blob."""
    model = _as_blob(blob)
    if not model.is_classifier:
        raise ValueError("predict_proba needs a classifier blob; this one is a regressor "
                         "(use predict)")
    if model.kind == Kind.CNN:  # the dequantized outputs
        return np.stack([_cnn_one(model, row)[1] for row in _cnn_rows(model, X)])
    model, x = _features(model, check_inputs(model, X))
    if model.kind == Kind.BOOST:
        return boost.outputs(model, x)
    if model.kind == Kind.TREES:
        return trees.proba(model, x)
    scores = knn.scores(model, x)
    total = np.zeros(len(scores), dtype=np.float32)
    for c in range(model.n_outputs):  # the sum in class order
        total += scores[:, c]
    return scores / total[:, None]


def transform(blob: bytes | bytearray | memoryview | Blob, X: npt.ArrayLike
              ) -> npt.NDArray[np.float32]:
    """Every feature step on each window (a row of n_inputs values): ``m.transform``."""
    model = _as_blob(blob)
    if model.pipeline is None:
        raise ValueError("this blob has no feature steps: transform needs a converted Pipeline")
    return pipeline.run(model.pipeline, _window_rows(model, X))


def _window_rows(model: Blob, X: npt.ArrayLike) -> np.ndarray:
    x = np.asarray(X)
    if x.ndim != 2 or x.shape[1] != model.n_inputs:
        raise ValueError(f"X must be 2-D with {model.n_inputs} columns (one window per row); "
                         f"got shape {x.shape}")
    with np.errstate(over="ignore"):
        return x.astype(np.float32)


def _features(model: Blob, x: np.ndarray) -> tuple[Blob, np.ndarray]:
    """The model family's view: the run steps' features, and the blob with n_inputs the
    number of features (FORMAT.md, Pipelines)."""
    pipe = model.pipeline
    if pipe is None:
        return model, x
    family = dataclasses.replace(model, n_inputs=pipe.n_features, pipeline=None)
    if not pipe.n_run:
        return family, x
    # The family refuses the features it cannot take, as it refuses inputs.
    return family, check_inputs(family, pipeline.run(pipe, x, pipe.n_run))


def _cnn_rows(model: Blob, X: npt.ArrayLike) -> np.ndarray:
    """Rows of n_inputs values: float (quantized by the model) or int8 (used as is). A
    CNN behind feature steps takes float32 windows: the rows are the steps' features."""
    if model.pipeline is not None:
        pipe = model.pipeline
        features = pipeline.run(pipe, check_inputs(model, X), pipe.n_run)
        bad = np.argwhere(~np.isfinite(features))
        if len(bad):  # a scaler passes NaN; the CNN's quantization refuses it, as in C
            raise ValueError(error_format("EMLML_E_INPUT_NONFINITE", int(bad[0][1])))
        return features
    x = np.asarray(X)
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        raise ValueError("input values must be finite (no NaN or infinity)")
    return x.reshape(-1, model.n_inputs)


def _cnn_one(model: Blob, row: np.ndarray) -> tuple[int, np.ndarray]:
    if model.pipeline is not None:  # the CNN's view: its input is the features
        model = dataclasses.replace(model, n_inputs=model.pipeline.n_features, pipeline=None)
    return cnn.predict(model, row)


def _as_blob(blob: bytes | bytearray | memoryview | Blob) -> Blob:
    return blob if isinstance(blob, Blob) else read_blob(blob)


def check_inputs(model: Blob, X: npt.ArrayLike) -> np.ndarray:
    """``X`` as a 2-D array of the blob's input type.

    float32 blobs take any real array (rounded to float32 as scikit-learn does) and refuse
    infinity, and NaN unless the blob routes it (trees with header flags bit 0); integer
    blobs take values that their type represents exactly.
    """
    x = np.asarray(X)
    if x.ndim != 2 or x.shape[1] != model.n_inputs:
        raise ValueError(f"X must be 2-D with {model.n_inputs} columns (one row per sample); "
                         f"got shape {x.shape}")
    dtype = INPUT_DTYPES[model.input_type]
    if x.dtype.kind not in "biuf":
        raise ValueError(f"X must be numeric, got dtype {x.dtype}")
    if model.input_type == InputType.FLOAT32:
        with np.errstate(over="ignore"):
            x = x.astype(np.float32)
        if model.pipeline is not None and model.pipeline.n_run:
            return x  # the steps refuse what they cannot take, then the model
        nan_routing = (model.kind == Kind.TREES and model.trees.nan_routing or  # type: ignore[union-attr]
                       model.kind == Kind.BOOST and model.boost.nan_routing)  # type: ignore[union-attr]
        if nan_routing and np.isinf(x).any():
            raise ValueError("X has infinite values (after conversion to float32); the model "
                             "accepts NaN for a missing value but refuses infinity, as "
                             "scikit-learn does")
        if not nan_routing and not np.isfinite(x).all():
            raise ValueError("X has NaN or infinite values (after conversion to float32); "
                             "the model refuses them as scikit-learn does (convert a model "
                             "that supports missing values to route NaN)")
        return x
    info = np.iinfo(dtype)
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        raise ValueError(f"X has NaN or infinite values; this blob takes {dtype.name} inputs")
    if x.size and (x.min() < info.min or x.max() > info.max or
                   (x.dtype.kind == "f" and (np.floor(x) != x).any())):
        raise ValueError(f"X has values that {dtype.name} cannot hold exactly "
                         f"(integers {info.min}..{info.max}); this blob takes {dtype.name} inputs")
    return x.astype(dtype)


stored_samples = knn.stored_samples

__all__ = ["predict", "predict_proba", "transform", "check_inputs", "stored_samples"]
