"""TFLiteClassifier: a trained full-int8 TensorFlow Lite CNN as the last step of a
scikit-learn Pipeline, so that ``emlml convert pipe.joblib`` puts the feature steps and
the CNN in one blob (docs/features.md, "A CNN after the steps").

It does not train: the CNN is trained (in Keras) and quantized beforehand, on the
features the steps give. ``predict`` is what the board's ``m.predict`` gives on those
features: the features quantized as the board quantizes ``array('f')`` (TFLite's
QUANTIZE: ``x / input_scale`` in float32, rounded half away from zero, plus the zero
point, clamped to int8), or fed as float32 to a ``.tflite`` that takes float input (its
own QUANTIZE edge is the same operation), then TensorFlow Lite's reference kernels
(``OpResolverType.BUILTIN_REF``, the oracle emlml is bit-exact with); the class is the
first index of the largest output. ``predict_proba`` is the board's ``predict_proba``:
the dequantized outputs, ``float32(output_scale * (q - zero_point))``.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted, validate_data


class TFLiteClassifier(ClassifierMixin, BaseEstimator):
    """A full-int8 ``.tflite`` classifier (``model``: a path or the file's bytes) on the
    features of the steps before it; ``fit(X, y=None)`` checks that a row of ``X`` holds
    as many values as the model's input and sets ``classes_`` (``np.unique(y)``, one per
    output, or ``0 .. n_outputs - 1`` without ``y``). Picklable: it keeps the model's
    bytes, not an interpreter."""

    def __init__(self, model: str | os.PathLike[str] | bytes | None = None) -> None:
        self.model = model

    # ------------------------------------------------------------------ fitting

    def fit(self, X: npt.ArrayLike, y: npt.ArrayLike | None = None) -> TFLiteClassifier:
        from emlml_tools.convert.tflite_cnn import convert_tflite
        from emlml_tools.format import read_blob

        data = self._model_bytes()
        blob = read_blob(convert_tflite(data))  # refuses what emlml cannot run, by name
        x = validate_data(self, X, dtype=np.float32, reset=True)
        if x.shape[1] != blob.n_inputs:
            raise ValueError(f"X has {x.shape[1]} features per row, the CNN's input holds "
                             f"{blob.n_inputs} values: give the steps' outputs one value per "
                             "input of the model")
        if y is None:
            classes = np.arange(blob.n_outputs)
        else:
            classes = np.unique(np.asarray(y))
            if len(classes) != blob.n_outputs:
                raise ValueError(f"y has {len(classes)} classes, the CNN gives {blob.n_outputs} "
                                 "outputs: pass labels of one class per output (or no y)")
        self.model_ = data
        self.classes_ = classes
        self.n_outputs_ = blob.n_outputs
        self._oracle = None
        return self

    def _model_bytes(self) -> bytes:
        if isinstance(self.model, (bytes, bytearray, memoryview)):
            return bytes(self.model)
        if self.model is None:
            raise ValueError("TFLiteClassifier needs model=: a .tflite path or its bytes")
        with open(self.model, "rb") as f:
            return f.read()

    # ------------------------------------------------------------------ inference

    def _outputs(self, X: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """(the int8 outputs as the board computes them, their dequantized float32 values),
        one row per row of X, from TFLite's reference kernels."""
        from emlml_tools.runtime.cnn import quantize_values

        check_is_fitted(self, "model_")
        x = validate_data(self, X, dtype=np.float32, reset=False)
        oracle = self._interpreter()
        inp, out = oracle.inp, oracle.out
        q_in = inp["dtype"] == np.int8
        q_out = out["dtype"] == np.int8
        in_scale, in_zp = inp["quantization"]
        out_scale, out_zp = out["quantization"]
        raw, values = [], []
        for row in x:
            fed = quantize_values(row, in_scale, int(in_zp)) if q_in else row
            if not q_in and not np.isfinite(row).all():
                raise ValueError("input contains NaN or infinity")
            y = np.asarray(oracle(fed)).reshape(-1)
            if q_out:  # TFLite's DEQUANTIZE: the product exact in double, rounded once
                raw.append(y.astype(np.int64))
                values.append((np.float64(np.float32(out_scale)) * (y.astype(np.float64) - out_zp)
                               ).astype(np.float32))
            else:  # the .tflite's own DEQUANTIZE edge gave the same floats
                raw.append(y.astype(np.float32))
                values.append(y.astype(np.float32))
        return np.array(raw), np.array(values, dtype=np.float32).reshape(len(x), -1)

    def _interpreter(self) -> Any:
        if getattr(self, "_oracle", None) is None:
            from emlml_tools.oracle import Oracle

            self._oracle = Oracle(self.model_)  # a CommandError naming ai-edge-litert if missing
        return self._oracle

    def predict(self, X: npt.ArrayLike) -> np.ndarray:
        """The class of each row: ``classes_`` at the first index of the largest output
        (the board's ``m.predict`` gives that index)."""
        raw, _ = self._outputs(X)
        return self.classes_[np.argmax(raw, axis=1)]

    def predict_proba(self, X: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """The dequantized outputs (the board's ``m.predict_proba``): probabilities when
        the CNN ends in a softmax."""
        return self._outputs(X)[1]

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_oracle", None)  # an interpreter does not pickle; made again on use
        return state
