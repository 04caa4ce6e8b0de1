"""Real Keras exports of issue 15's operators (tests_host/keras_exports, written by
``make keras-exports`` with TensorFlow's own converter; emlml_dev/keras_exports.py says
how): each converts, and the NumPy reference and both sanitized C drivers give TFLite's
reference kernels' (BUILTIN_REF) outputs on every output of digits images and extreme
inputs. The unix MicroPython runtime and the emulated Cortex-M3/M4F boards run the same
files as device data (``ke_*`` in tests_device/data/cnn, tests_device/test_cnn.py)."""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np
import pytest
from emlml_dev import cnn_data, keras_exports
from emlml_dev.cnn_devicedata import int8_codes
from emlml_dev.paths import KERAS_EXPORTS_DIR
from emlml_tools.convert.tflite_cnn import convert_tflite
from emlml_tools.format import read_blob
from emlml_tools.oracle import Oracle
from emlml_tools.runtime import cnn as reference_cnn
from runtimes import run_driver
from test_core_cnn import DRIVERS, edge_params, int8_samples, parse_lines

with open(os.path.join(KERAS_EXPORTS_DIR, "models.json")) as _f:
    META = {m["file"]: m for m in json.load(_f)["models"]}
FILES = sorted(META)

# What the issue names, as TensorFlow writes it for the Keras layers a user reaches for.
ISSUE_OPERATORS = {"LOGISTIC", "TANH", "HARD_SWISH", "LEAKY_RELU", "PRELU", "CONCATENATION",
                   "MUL", "SUB", "REDUCE_MAX", "MAXIMUM", "MINIMUM", "TRANSPOSE_CONV",
                   "QUANTIZE"}
N_DIGITS = 40  # digits test images per file, with the 10 int8 extremes of int8_samples


def _tflite(name: str) -> bytes:
    with open(os.path.join(KERAS_EXPORTS_DIR, name), "rb") as f:
        return f.read()


def test_files_are_the_ones_models_json_describes():
    files = sorted(f for f in os.listdir(KERAS_EXPORTS_DIR) if f.endswith(".tflite"))
    assert files == FILES and len(files) >= 12
    for name in files:
        data = _tflite(name)
        assert len(data) == META[name]["size_bytes"]
        assert hashlib.sha256(data).hexdigest() == META[name]["sha256"], \
            f"{name} changed without models.json (rerun make keras-exports)"
        assert cnn_data.tflite_operators(data) == META[name]["operators"]


def test_exports_hold_every_operator_of_the_issue():
    ops = {op for name in FILES for op in META[name]["operators"]}
    assert ISSUE_OPERATORS <= ops, sorted(ISSUE_OPERATORS - ops)
    # and Keras' ReLU where the converter could not fuse it (after a Concatenate)
    assert {"RELU", "RELU6"} <= set(META["relu_standalone.tflite"]["operators"])
    # QUANTIZE between int8 layers (a requantization), not only at a float input
    mid = META["global_max_minmax.tflite"]["operators"]
    assert mid[0] != "QUANTIZE" and "QUANTIZE" in mid
    # CONCATENATION along channels, height, width and the features of two Dense heads
    # (axis, rank of the output): Keras writes the channel axis as -1
    concats = {(int(d.split("(axis ")[1].split(",")[0]), d.split("-> int8[")[1].count("x") + 1)
               for name in FILES for d in META[name]["operator_details"]
               if d.startswith("CONCATENATION")}
    assert {(1, 4), (2, 4), (-1, 4), (-1, 2)} <= concats, concats
    assert META["softmax_1000.tflite"]["output"]["shape"] == [1, 1000]
    assert META["binary_sigmoid.tflite"]["operators"][-1] == "LOGISTIC"


def _inputs(data: bytes, blob: bytes, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(int8 codes, what the .tflite takes): digits test images quantized with the
    network's input parameters, then the extremes and random codes."""
    in_scale, in_zp, _, _ = edge_params(blob)
    images = cnn_data.digits16_split()[1][:N_DIGITS].reshape(N_DIGITS, -1)
    q_digits = np.clip(np.round(images / in_scale) + in_zp, -128, 127).astype(np.int8)
    q_in = np.concatenate([q_digits, int8_samples(rng, q_digits.shape[1])])
    float_input = Oracle(data).inp["dtype"] == np.float32
    feed = ((q_in.astype(np.float64) - in_zp) * in_scale).astype(np.float32) if float_input else q_in
    return q_in, feed


@pytest.mark.parametrize("name", FILES)
def test_export_matches_tflite_on_every_output(name, tmp_path):
    data = _tflite(name)
    blob = convert_tflite(data)
    oracle = Oracle(data)
    q_in, feed = _inputs(data, blob, np.random.default_rng(len(data)))
    want = np.array([oracle(row.reshape(oracle.inp["shape"])).reshape(-1) for row in feed])
    _, _, out_scale, out_zp = edge_params(blob)
    want_q = int8_codes(want, out_scale, out_zp) if want.dtype == np.float32 else want
    assert np.array_equal(reference_cnn.predict_int8(blob, q_in), want_q), name
    for driver in DRIVERS:
        _, floats, ints = parse_lines(run_driver(driver, blob, q_in.tobytes(), tmp_path),
                                      want.shape[1])
        assert np.array_equal(ints, want_q), (name, driver)
        if want.dtype == np.float32:  # DEQUANTIZE's float32, bit for bit
            assert np.array_equal(floats.view(np.uint32), want.view(np.uint32)), (name, driver)


@pytest.mark.parametrize("name", FILES)
def test_exports_are_trained_networks(name):
    """Each file classifies the digits test split as it did when it was written (live,
    on TFLite's reference kernels): trained activations, not a constant output."""
    _, x_test, _, y_test = cnn_data.digits16_split()
    acc = keras_exports.accuracy(cnn_data.tflite_predict(_tflite(name), x_test), y_test)
    assert abs(acc - META[name]["tflite_int8_accuracy"]) <= 2.0 / len(y_test) + 1e-9, (name, acc)
    assert acc >= 0.55, (name, acc)  # chance: 0.1 (the binary unit: about 0.5)


def test_binary_classifier_reads_as_one_probability():
    """Dense(1, activation="sigmoid"): one output, LOGISTIC's fixed int8 scale 1/256."""
    blob = convert_tflite(_tflite("binary_sigmoid.tflite"))
    model = read_blob(blob)
    assert model.n_outputs == 1
    _, _, out_scale, out_zp = edge_params(blob)
    assert (out_scale, out_zp) == (1.0 / 256, -128)
