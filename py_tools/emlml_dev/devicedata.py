"""Data for the tests in tests_device/: blobs, inputs and expected outputs.

The device scripts are plain MicroPython, so everything they need is written as raw
files they can read without NumPy:

- ``index.txt``: one line per model: ``name task typecode n_inputs n_outputs n_samples``
- ``<name>.bin``: the blob
- ``<name>.x``: the test inputs, raw, in the blob's input type
- ``<name>.ref``: float32 outputs of the reference runtime (probabilities or values):
  the bits the C core must reproduce
- ``<name>.sk``: scikit-learn's ``predict``: int32 class index or float32 value
- ``bad/index.txt`` and ``bad/*.bin``: corrupted blobs, each with the message its
  ``ValueError`` must contain (the device cases of the one table, bad_blobs.py)
"""

from __future__ import annotations

import dataclasses
import os
from typing import Callable

import numpy as np
from emlml_tools import runtime as reference

# base_blobs: the valid blobs tests_device/data/bad holds (test_device_qemu.py deploys two)
from emlml_dev.bad_blobs import base_blobs, write_bad_blobs  # noqa: F401
from emlml_dev.pipelines import BOARD_PIPELINES, device_models
from emlml_dev.zoo import ZooModel, demo_models, test_models

TYPECODES = {np.dtype(np.float32): "f", np.dtype(np.int8): "b", np.dtype(np.uint8): "B",
             np.dtype(np.int16): "h"}


def sklearn_outputs(model: ZooModel) -> np.ndarray:
    """scikit-learn's predict on the float32 test inputs, as class indices or float32."""
    predicted = model.estimator.predict(model.X_test)
    if model.is_classifier:
        return np.searchsorted(model.estimator.classes_, predicted).astype(np.int32)
    return predicted.astype(np.float32)


def reference_outputs(blob: bytes, model: ZooModel) -> np.ndarray:
    if model.is_classifier:
        return reference.predict_proba(blob, model.inputs()).astype(np.float32)
    return reference.predict(blob, model.inputs()).astype(np.float32)[:, None]


# Left out on those boards: the float32 kNN of 426 x 30 samples as minkowski p=1 (51 KB;
# manhattan is the same code as wine_knn_manhattan_distance's), to make room on the Pico
# for the int16 models with integer distances (breast_cancer_knn_int16_integer, 26 KB).
BOARD_DROPPED = ("breast_cancer_knn_minkowski_p1",)


def board_models(keep: tuple[str, ...] = ("wine_forest_nan", "diabetes_extratrees_nan_test",
                                          "digits_forest_ties", "digits_extratrees_ties",
                                          "breast_cancer_boost_hgb_nan")
                 ) -> list[ZooModel]:
    """The models for the emulated boards with a small filesystem or a slow emulator
    (ESP32, RP2040): every zoo model made before the missing values and ties, and of the
    fourteen made for them those in ``keep`` (the unix port and the Cortex-M boards run
    them all). The tie models put their ties first, so a run of the first few samples
    holds them."""
    new = {m.name for m in test_models()
           if "_nan" in m.name or m.name.endswith("_ties") or "_boost" in m.name}
    new |= set(BOARD_DROPPED)
    models = [m for m in demo_models() + test_models() if m.name not in new or m.name in keep]
    # the tie models: their ties (11 and 17, first) and a few more, to fit the Pico's flash
    # and a converted Pipeline (feature steps on raw windows), 20 windows
    return [dataclasses.replace(m, X_test=m.X_test[:20], y_test=m.y_test[:20])
            if m.name.endswith("_ties") else m for m in models] + \
        device_models(BOARD_PIPELINES, max_samples=20)


def write_model(out_dir: str, model: ZooModel) -> str:
    """Write one model's files; returns its index.txt line."""
    blob = model.blob()
    x = np.ascontiguousarray(model.inputs())
    ref = reference_outputs(blob, model)
    with open(os.path.join(out_dir, model.name + ".bin"), "wb") as f:
        f.write(blob)
    with open(os.path.join(out_dir, model.name + ".x"), "wb") as f:
        f.write(x.tobytes())
    with open(os.path.join(out_dir, model.name + ".ref"), "wb") as f:
        f.write(ref.astype("<f4").tobytes())
    with open(os.path.join(out_dir, model.name + ".sk"), "wb") as f:
        f.write(sklearn_outputs(model).astype("<i4" if model.is_classifier else "<f4").tobytes())
    task = "classifier" if model.is_classifier else "regressor"
    return "%s %s %s %d %d %d" % (model.name, task, TYPECODES[x.dtype], x.shape[1],
                                  ref.shape[1], x.shape[0])


def wide_blob() -> bytes:
    """A valid tree whose model takes the most inputs a blob allows (65,534), so that
    loading it needs a 256 KB arena: the device tests use it to hit MemoryError."""
    from emlml_tools.convert.sklearn_models import convert
    from sklearn.tree import DecisionTreeClassifier

    X = np.zeros((4, 65534), dtype=np.float32)
    X[2:, 65533] = 1.0
    return convert(DecisionTreeClassifier(random_state=0).fit(X, [0, 0, 1, 1]))


def write_device_data(out_dir: str, models: list[ZooModel] | None = None,
                      progress: Callable[[str], None] | None = None,
                      cnn_random: int = 200, max_samples: int | None = None,
                      cnn_kernels: bool = False, cnn_keras_max_blob: int | None = None) -> list[str]:
    """Write everything tests_device/ reads into out_dir; returns the index lines.
    The CNN data (``cnn/``) holds the shipped .tflite examples and ``cnn_random``
    random networks, with TFLite's own outputs (cnn_devicedata.py). ``max_samples``
    keeps the first that many test samples of each model (every model and estimator
    kind stays): for boards with a small filesystem or a slow emulator. ``cnn_kernels``
    adds the one-layer kernel networks (bench_layers.kernel_models) and the real Keras
    exports at any cnn_random; ``cnn_keras_max_blob`` adds the Keras exports whose blob
    is at most that size."""
    os.makedirs(out_dir, exist_ok=True)
    lines = []
    for model in models if models is not None else demo_models() + test_models() + device_models():
        if max_samples is not None:
            model = dataclasses.replace(model, X_test=model.X_test[:max_samples],
                                        y_test=model.y_test[:max_samples])
        if progress:
            progress(model.name)
        lines.append(write_model(out_dir, model))
    with open(os.path.join(out_dir, "index.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    write_bad_blobs(os.path.join(out_dir, "bad"))
    with open(os.path.join(out_dir, "wide.bin"), "wb") as f:
        f.write(wide_blob())
    from emlml_dev.cnn_devicedata import write_cnn_data
    write_cnn_data(os.path.join(out_dir, "cnn"), n_random=cnn_random, progress=progress,
                   kernels=cnn_kernels or None, keras_max_blob=cnn_keras_max_blob)
    return lines
