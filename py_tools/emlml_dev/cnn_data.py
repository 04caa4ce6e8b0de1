"""Data for the int8 CNN examples: scikit-learn's digits and a synthetic accelerometer set.

NumPy and scikit-learn only (no TensorFlow): the host tests import this module to check
the shipped ``models/*.tflite`` files against the same data they were trained on.

- :func:`digits_split` - scikit-learn's 8x8 handwritten digits (1797 images, shipped
  inside scikit-learn) as float32 images ``(N, 8, 8, 1)`` in [0, 1], split 75/25.
- :func:`motion_dataset` / :func:`motion_split` - a synthetic 3-axis accelerometer
  gesture set ``(N, 1, T, 3)`` (T = 64 samples at 50 Hz, in g): idle, walk, shake, tap
  and free-fall windows.

The shipped example models: :func:`models_dir`, :func:`load_model`. Two small helpers
for ``.tflite`` files, each importing its package only when called:
:func:`tflite_predict` runs a model on TFLite's interpreter (``ai_edge_litert``,
reference kernels) and :func:`tflite_operators` lists its operators (``tflite`` parser).
"""

import os

import numpy as np

from emlml_dev.paths import MODELS_DIR


def models_dir():
    """The folder of the shipped example ``.tflite`` files (``emlml_tools/models``)."""
    return MODELS_DIR


def load_model(name):
    """The bytes of a shipped model, e.g. ``load_model("digits_cnn")`` (models/README.md
    lists them)."""
    if not name.endswith(".tflite"):
        name += ".tflite"
    with open(os.path.join(models_dir(), name), "rb") as f:
        return f.read()


# The digits and gesture data live in the product (the demo uses them); re-exported here
# for the training and test tools.
from emlml_tools.demo.data import (  # noqa: E402,F401
    DIGITS_SEED,
    DIGITS_TEST_SIZE,
    MOTION_CLASSES,
    MOTION_LENGTH,
    MOTION_N_PER_CLASS,
    MOTION_NOISE_G,
    MOTION_RANGE_G,
    MOTION_RATE_HZ,
    MOTION_SEED,
    digits_split,
    motion_dataset,
    motion_split,
)


def digits16_split():
    """``digits_split(upsample=2)``: 16x16 images, for the models that need room for
    strides and pooling."""
    return digits_split(upsample=2)


def motion_1d_split():
    """``motion_split()`` with the height axis dropped: ``(N, T, 3)``, the input of a
    Keras Conv1D model."""
    xtr, xte, ytr, yte = motion_split()
    return xtr[:, 0], xte[:, 0], ytr, yte


# --- .tflite helpers (optional packages, imported on use) --------------------------------

def tflite_predict(model_content, x):
    """Run a ``.tflite`` model on each row of float ``x`` with TFLite's reference kernels
    (``ai_edge_litert``, ``OpResolverType.BUILTIN_REF``), one sample per invocation.

    An int8 input is quantized with the input tensor's scale and zero point; an int8
    output is dequantized with the output's. Returns float32 ``(N, n_outputs)``.
    """
    from emlml_tools.oracle import Oracle

    oracle = Oracle(bytes(model_content))
    inp, out = oracle.inp, oracle.out
    in_scale, in_zp = inp["quantization"]
    out_scale, out_zp = out["quantization"]
    res = []
    for row in np.asarray(x, dtype=np.float32):
        v = row.reshape(inp["shape"])
        if inp["dtype"] == np.int8:
            v = np.clip(np.round(v / in_scale) + in_zp, -128, 127).astype(np.int8)
        o = oracle(v).reshape(-1)
        if out["dtype"] == np.int8:
            o = (o.astype(np.float32) - out_zp) * np.float32(out_scale)
        res.append(o.astype(np.float32))
    return np.stack(res)


def tflite_operators(model_content, versions=False):
    """The builtin operator names of a ``.tflite`` flatbuffer, in the order its main
    subgraph runs them (with repeats), read with the ``tflite`` parser package. With
    ``versions=True``, ``(name, version)`` pairs (the operator code's version)."""
    import tflite

    names = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
    model = tflite.Model.GetRootAsModel(bytes(model_content), 0)
    codes = []
    for i in range(model.OperatorCodesLength()):
        oc = model.OperatorCodes(i)
        code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
        codes.append((names.get(code, "BUILTIN_%d" % code), oc.Version()))
    sg = model.Subgraphs(0)
    ops = [codes[sg.Operators(i).OpcodeIndex()] for i in range(sg.OperatorsLength())]
    return ops if versions else [name for name, _ in ops]
