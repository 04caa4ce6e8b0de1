"""The shipped example int8 CNNs (py_tools/emlml_tools/models/*.tflite), without TensorFlow.

Each file runs on TFLite's own interpreter with its reference kernels (ai_edge_litert,
OpResolverType.BUILTIN_REF) over the test split that emlml_dev.cnn_data rebuilds
(scikit-learn's digits, the synthetic accelerometer set): the accuracy is computed here,
live, and must clear its floor and match what train_cnn measured when it wrote the file.
Their operators must stay within what the emlml CNN converter accepts, so that these real
Keras exports stay a fair test of it.
"""

import hashlib
import json
import os

import numpy as np
import pytest
from emlml_dev import cnn_data

MODELS_DIR = cnn_data.models_dir()
with open(os.path.join(MODELS_DIR, "models.json")) as _f:
    META = {m["file"]: m for m in json.load(_f)["models"]}

SUPPORTED_OPS = {
    "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "MAX_POOL_2D", "AVERAGE_POOL_2D",
    "MEAN", "PAD", "ADD", "RESHAPE", "SHAPE", "STRIDED_SLICE", "PACK", "CONCATENATION",
    "SOFTMAX", "QUANTIZE", "DEQUANTIZE", "EXPAND_DIMS", "SQUEEZE",
}


_digits8 = cnn_data.digits_split
_digits16 = cnn_data.digits16_split
_motion = cnn_data.motion_split
_motion_1d = cnn_data.motion_1d_split


# file -> (test data, accuracy floor, operators the file must contain). The floors sit a
# little under the measured int8 accuracy (models/README.md): digits >= 0.95 is the
# issue's requirement; motion_cnn measured 0.996.
EXPECTED = {
    "digits_cnn.tflite": (_digits8, 0.95, {"CONV_2D", "MAX_POOL_2D", "RESHAPE",
                                          "FULLY_CONNECTED", "SOFTMAX"}),
    "digits_cnn_float_io.tflite": (_digits8, 0.95, {"QUANTIZE", "CONV_2D", "DEQUANTIZE"}),
    "motion_cnn.tflite": (_motion, 0.97, {"CONV_2D", "MAX_POOL_2D", "MEAN",
                                         "FULLY_CONNECTED", "SOFTMAX"}),
    "motion_conv1d.tflite": (_motion_1d, 0.95, {"EXPAND_DIMS", "CONV_2D", "MAX_POOL_2D",
                                                "RESHAPE", "MEAN", "FULLY_CONNECTED"}),
    "keras_plain.tflite": (_digits8, 0.95, {"CONV_2D", "MAX_POOL_2D", "SHAPE",
                                           "STRIDED_SLICE", "PACK", "RESHAPE",
                                           "FULLY_CONNECTED", "SOFTMAX"}),
    "keras_dwsep_gap.tflite": (_digits16, 0.94, {"CONV_2D", "DEPTHWISE_CONV_2D", "PAD",
                                                "AVERAGE_POOL_2D", "MEAN",
                                                "FULLY_CONNECTED", "SOFTMAX"}),
    "keras_residual.tflite": (_digits16, 0.96, {"CONV_2D", "ADD", "MEAN",
                                               "FULLY_CONNECTED", "SOFTMAX"}),
}

_DATA = {}


def _data(fn):
    if fn not in _DATA:
        _DATA[fn] = fn()
    return _DATA[fn]


def _blob(name):
    with open(os.path.join(MODELS_DIR, name), "rb") as f:
        return f.read()


def test_shipped_files_are_the_expected_ones():
    files = sorted(f for f in os.listdir(MODELS_DIR) if f.endswith(".tflite"))
    assert files == sorted(EXPECTED)
    assert sorted(META) == sorted(EXPECTED)
    for name in files:
        blob = _blob(name)
        assert len(blob) == META[name]["size_bytes"]
        assert hashlib.sha256(blob).hexdigest() == META[name]["sha256"], \
            "%s changed without models.json / README.md (rerun make train-cnn)" % name
    assert len(_blob("digits_cnn.tflite")) < 20 * 1024
    with open(os.path.join(MODELS_DIR, "README.md")) as f:
        readme = f.read()
    for name in files:
        assert name in readme


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_accuracy_on_tflite_reference_kernels(name):
    data_fn, floor, _ = EXPECTED[name]
    _, x_test, _, y_test = _data(data_fn)
    prob = cnn_data.tflite_predict(_blob(name), x_test)
    assert prob.shape == (len(y_test), META[name]["output"]["shape"][-1])
    acc = float(np.mean(np.argmax(prob, axis=1) == y_test))
    assert acc >= floor, (name, acc)
    # The same interpreter and the same data as when the file was written: the same
    # accuracy (within two test samples, for floating-point differences in the data).
    assert abs(acc - META[name]["tflite_int8_accuracy"]) <= 2.0 / len(y_test) + 1e-9, \
        (name, acc, META[name]["tflite_int8_accuracy"])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_operators_are_supported(name):
    ops = cnn_data.tflite_operators(_blob(name))
    assert set(ops) <= SUPPORTED_OPS, sorted(set(ops) - SUPPORTED_OPS)
    assert EXPECTED[name][2] <= set(ops), sorted(EXPECTED[name][2] - set(ops))
    assert ops == META[name]["operators"]
    # QUANTIZE / DEQUANTIZE only at the edges, and only in the float-I/O file.
    if name.endswith("_float_io.tflite"):
        assert ops[0] == "QUANTIZE" and ops[-1] == "DEQUANTIZE"
        assert "QUANTIZE" not in ops[1:] and "DEQUANTIZE" not in ops[:-1]
    else:
        assert "QUANTIZE" not in ops and "DEQUANTIZE" not in ops


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_io_tensors(name):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interp = Interpreter(model_content=_blob(name),
                         experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    interp.allocate_tensors()
    inp = interp.get_input_details()[0]
    out = interp.get_output_details()[0]
    _, x_test, _, _ = _data(EXPECTED[name][0])
    assert list(inp["shape"]) == [1, *x_test.shape[1:]]
    want = np.float32 if name.endswith("_float_io.tflite") else np.int8
    assert inp["dtype"] == want and out["dtype"] == want
    if want == np.int8:
        # Softmax output: TFLite's fixed int8 quantization, 1/256 and -128.
        assert out["quantization"] == (1.0 / 256, -128)
        assert inp["quantization"][0] > 0


def _fused_activations(blob):
    import tflite

    act = {v: k for k, v in vars(tflite.ActivationFunctionType).items()
           if not k.startswith("_")}
    opt = {v: k for k, v in vars(tflite.BuiltinOptions).items() if not k.startswith("_")}
    sg = tflite.Model.GetRootAsModel(blob, 0).Subgraphs(0)
    found = set()
    for i in range(sg.OperatorsLength()):
        op = sg.Operators(i)
        cls = getattr(tflite, opt.get(op.BuiltinOptionsType(), "NONE"), None)
        if cls is not None and hasattr(cls, "FusedActivationFunction"):
            o = cls()
            o.Init(op.BuiltinOptions().Bytes, op.BuiltinOptions().Pos)
            found.add(act[o.FusedActivationFunction()])
    return found


def test_keras_exports_cover_the_supported_operators():
    ops = set()
    for name in EXPECTED:
        ops |= set(cnn_data.tflite_operators(_blob(name)))
    # Keras' Flatten emits PACK, not CONCATENATION; Conv1D ends in RESHAPE, not SQUEEZE
    assert SUPPORTED_OPS - ops == {"CONCATENATION", "SQUEEZE"}
    assert {"RELU", "RELU6"} <= _fused_activations(_blob("keras_residual.tflite"))


def test_digits_split_is_deterministic():
    a = cnn_data.digits_split()
    b = cnn_data.digits_split()
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    x_train, x_test, y_train, y_test = a
    assert x_train.shape == (1347, 8, 8, 1) and x_test.shape == (450, 8, 8, 1)
    assert x_train.dtype == np.float32 and 0.0 <= x_train.min() and x_train.max() == 1.0
    assert np.bincount(y_test).min() >= 43  # stratified: ~25 % of each digit
    up = cnn_data.digits_split(upsample=2)[1]
    np.testing.assert_array_equal(up[:, ::2, ::2], x_test)
    np.testing.assert_array_equal(up[:, 1::2, 1::2], x_test)


def test_motion_dataset():
    x, y, names = cnn_data.motion_dataset(20, seed=3)
    x2, y2, _ = cnn_data.motion_dataset(20, seed=3)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(x, cnn_data.motion_dataset(20, seed=4)[0])
    assert names == ("idle", "walk", "shake", "tap", "freefall")
    assert x.shape == (100, 1, cnn_data.MOTION_LENGTH, 3) and x.dtype == np.float32
    assert np.bincount(y).tolist() == [20] * 5
    assert np.abs(x).max() <= cnn_data.MOTION_RANGE_G
    mag = np.linalg.norm(x[:, 0], axis=2)
    # Physical sanity: about 1 g at rest, near 0 g somewhere in a fall, spikes in taps.
    assert np.all(np.abs(mag[y == 0] - 1.0) < 0.15)
    assert np.all(mag[y == 4].min(axis=1) < 0.3)
    assert np.all(np.abs(mag[y == 3] - np.median(mag[y == 3], axis=1, keepdims=True))
                  .max(axis=1) > 0.4)
    assert np.all(mag[y == 2].std(axis=1) > mag[y == 0].std(axis=1).max())
    x_train, x_test, y_train, y_test = cnn_data.motion_split()
    assert len(y_train) == 750 and len(y_test) == 250
    assert np.bincount(y_test).tolist() == [50] * 5
