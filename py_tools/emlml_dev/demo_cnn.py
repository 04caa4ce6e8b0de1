"""The CNN rows of `make demo`: the shipped .tflite examples (emlml_tools/models),
converted with `emlml convert`, checked on MicroPython against TensorFlow Lite's
reference interpreter on every held-out input, and timed beside the tree and kNN models.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

import numpy as np
from emlml_tools.cli import main as emlml_main
from emlml_tools.errors import CommandError
from emlml_tools.format import SectionId, read_blob
from emlml_tools.oracle import Oracle
from emlml_tools.runtime.cnn import quantize_input

from emlml_dev import cnn_data
from emlml_dev.cnn_devicedata import expected, oracle_run
from emlml_dev.paths import MODELS_DIR


@dataclass
class CnnDemo:
    name: str
    dataset: str
    split: Callable[[], tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]

    @property
    def tflite(self) -> str:
        return os.path.join(MODELS_DIR, self.name + ".tflite")


def cnn_demos() -> list[CnnDemo]:
    return [CnnDemo("digits_cnn", "digits 8x8", cnn_data.digits_split),
            CnnDemo("motion_cnn", "motion 64x3", cnn_data.motion_split)]


def model_inputs(blob: bytes, x_test: np.ndarray) -> np.ndarray:
    """The held-out set as the .tflite takes it: float32, or int8 codes quantized as the
    board quantizes an array('f') (TFLite's QUANTIZE)."""
    flat = x_test.reshape(len(x_test), -1).astype(np.float32)
    return flat if read_blob(blob).cnn.float_input else quantize_input(blob, flat)


def prepare(demo: CnnDemo, out: str, rounds: int) -> str:
    """Convert with the CLI, write inputs, TFLite's outputs and labels; returns the
    bench.txt line."""
    blob_path = os.path.join(out, demo.name + ".bin")
    args = ["convert", demo.tflite, "-o", blob_path]
    print("$ emlml " + " ".join(os.path.relpath(a, os.getcwd()) if os.sep in a else a for a in args))
    if emlml_main(args) != 0:
        raise CommandError(f"converting {demo.name} failed")
    with open(demo.tflite, "rb") as f:
        model = f.read()
    with open(blob_path, "rb") as f:
        blob = f.read()
    _, x_test, _, y_test = demo.split()
    x = model_inputs(blob, x_test)
    _, yq, _, cls = expected(oracle_run(Oracle(model), x))
    files = {".x": x.tobytes(), ".yq": yq.tobytes(), ".sk": cls.astype("<i4").tobytes(),
             ".y": np.asarray(y_test, dtype="<i4").tobytes()}
    for ext, data in files.items():
        with open(os.path.join(out, demo.name + ext), "wb") as f:
            f.write(data)
    typecode = "f" if x.dtype == np.float32 else "b"
    return "%s classifier %s %d %d %d 0 %d" % (demo.name, typecode, x.shape[1], yq.shape[1],
                                               x.shape[0], rounds)


def n_weights(blob: bytes) -> int:
    """int8 weights in the blob (the CNN_WEIGHTS section)."""
    entry = read_blob(blob).section(SectionId.CNN_WEIGHTS)
    return 0 if entry is None else int(entry.size)


def row_fields(blob: bytes) -> tuple[int, float, int]:
    """(blob bytes, bytes per weight, arena bytes)."""
    w = n_weights(blob)
    return len(blob), len(blob) / max(w, 1), read_blob(blob).arena_bytes
