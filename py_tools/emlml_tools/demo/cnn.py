"""The CNN rows of ``emlml demo``: the shipped example .tflite files (emlml_tools/models),
converted like any user's model, with TensorFlow Lite's reference interpreter
(BUILTIN_REF) giving the int8 outputs every board prediction is compared with."""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from typing import Callable

import numpy as np

from emlml_tools.demo import data
from emlml_tools.format import SectionId, read_blob
from emlml_tools.runtime.cnn import quantize_input


@dataclass(frozen=True)
class CnnDemo:
    name: str
    dataset: str
    split: Callable[[], tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]

    @property
    def tflite(self) -> str:
        return str(resources.files("emlml_tools") / "models" / (self.name + ".tflite"))


def cnn_demos() -> list[CnnDemo]:
    return [CnnDemo("digits_cnn", "digits 8x8", data.digits_split),
            CnnDemo("motion_cnn", "gestures 64x3", data.motion_split)]


def model_inputs(blob: bytes, x_test: np.ndarray) -> np.ndarray:
    """The held-out set as the .tflite takes it: float32, or int8 codes quantized as the
    board quantizes an array('f') (TFLite's QUANTIZE)."""
    flat = x_test.reshape(len(x_test), -1).astype(np.float32)
    return flat if read_blob(blob).cnn.float_input else quantize_input(blob, flat)


def tflite_int8_outputs(tflite: str, x: np.ndarray) -> np.ndarray:
    """TFLite's int8 outputs for each row of int8 x, one invocation per row (the shipped
    demo CNNs take and give int8)."""
    from emlml_tools.oracle import Oracle

    with open(tflite, "rb") as f:
        oracle = Oracle(f.read())
    if oracle.out["dtype"] != np.int8:
        raise ValueError(f"{os.path.basename(tflite)}: the demo expects an int8 output")
    return np.stack([oracle(row).reshape(-1) for row in x]).astype(np.int8)


def n_weights(blob: bytes) -> int:
    """int8 weights in the blob (the CNN_WEIGHTS section)."""
    entry = read_blob(blob).section(SectionId.CNN_WEIGHTS)
    return 0 if entry is None else int(entry.size)


def row_fields(blob: bytes) -> tuple[int, float, int]:
    """(blob bytes, bytes per weight, arena bytes)."""
    w = n_weights(blob)
    return len(blob), len(blob) / max(w, 1), read_blob(blob).arena_bytes
