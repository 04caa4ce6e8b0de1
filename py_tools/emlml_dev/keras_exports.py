"""Real Keras exports of the operators issue 15 added, as test data.

The converter's operator tests build ``.tflite`` flatbuffers by hand (tflite_build); these
are what TensorFlow's own converter writes for the Keras layers a user reaches for: a
binary classifier ending in ``Dense(1, activation="sigmoid")``, ``tanh``, ``LeakyReLU``,
``PReLU``, hard-swish (MobileNetV3's block), two branches joined by ``Concatenate``,
squeeze-and-excite (``Multiply``), ``GlobalMaxPooling2D``, ``Maximum`` / ``Minimum`` /
``Subtract``, ``Conv2DTranspose``, ``Normalization`` and per-channel ``Rescaling``, a
1000-class softmax, and ReLUs the converter leaves as operators of their own. Needs
TensorFlow (``make keras-exports`` builds ``.venv-train`` from requirements-train.txt
and runs this)::

    python -m emlml_dev.keras_exports --out tests_host/keras_exports

Each model is trained for 15 epochs on scikit-learn's digits (16x16), so that its
activations have the ranges of a trained network (its accuracy on the test split is in
models.json), then quantized to full int8 as
train_cnn does (int8 I/O; one model also with float32 I/O). ``models.json`` records each
file's operators, size and hash; tests_host/test_keras_exports.py converts every file and
compares emlml with TFLite's reference kernels on every output of many inputs, and the
unix MicroPython and emulated-board tiers run them as device data.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time

import numpy as np

from emlml_dev import cnn_data
from emlml_dev.train_cnn import SEED, _quiet_convert, _tf, _versions, export, inspect_tflite

EPOCHS = 15


def accuracy(prob: np.ndarray, y: np.ndarray) -> float:
    """Of a softmax (argmax) or of one sigmoid unit (above one half: the digit is below 5)."""
    if prob.shape[1] == 1:
        return float(np.mean((prob[:, 0] > 0.5) == (y < 5)))
    return float(np.mean(np.argmax(prob, axis=1) == y))


def _stem(L, inp, filters=8):
    return L.Conv2D(filters, 3, strides=2, padding="same", activation="relu")(inp)  # 8x8


def _head(tf, L, x, classes=10):
    x = L.GlobalAveragePooling2D()(x)
    return L.Dense(classes, activation="softmax")(x)


def build_binary_sigmoid(tf):
    # Is the digit below 5? One sigmoid unit (FULLY_CONNECTED + LOGISTIC).
    L = tf.keras.layers
    inp = tf.keras.Input((16, 16, 1))
    x = _stem(L, inp)
    x = L.Conv2D(16, 3, padding="same", activation="relu")(x)
    x = L.GlobalAveragePooling2D()(x)
    out = L.Dense(1, activation="sigmoid")(x)
    return tf.keras.Model(inp, out, name="binary_sigmoid")


def build_activations(tf):
    # tanh, LeakyReLU, PReLU (one slope per channel), hard-swish and swish (SiLU) between
    # convolutions.
    L = tf.keras.layers
    inp = tf.keras.Input((16, 16, 1))
    x = L.Conv2D(8, 3, strides=2, padding="same")(inp)
    x = L.Activation("tanh")(x)
    x = L.Conv2D(12, 3, padding="same")(x)
    x = L.LeakyReLU(negative_slope=0.2)(x)
    x = L.DepthwiseConv2D(3, padding="same")(x)
    x = L.PReLU(shared_axes=[1, 2])(x)
    x = L.Conv2D(16, 1)(x)
    x = L.Activation("hard_swish")(x)
    x = L.Conv2D(16, 3, padding="same", activation="swish")(x)    # LOGISTIC and MUL
    x = L.Dense(16, activation="tanh")(L.GlobalAveragePooling2D()(x))
    out = L.Dense(10, activation="softmax")(x)
    return tf.keras.Model(inp, out, name="activations")


def _hard_sigmoid(L, x):
    # MobileNetV3's own (keras.applications): ReLU6(x + 3) / 6
    return L.Rescaling(1.0 / 6.0)(L.ReLU(6.0)(L.Rescaling(1.0, offset=3.0)(x)))


def build_mobilenetv3_block(tf):
    # keras.applications.MobileNetV3's inverted residual with squeeze-and-excite and its
    # hard-swish written as it writes them (Multiply by a hard sigmoid).
    L = tf.keras.layers
    inp = tf.keras.Input((16, 16, 1))
    x = L.Conv2D(16, 3, strides=2, padding="same", use_bias=False)(inp)
    x = L.BatchNormalization()(x)
    x = L.Multiply()([x, _hard_sigmoid(L, x)])                   # hard-swish, 8x8x16
    shortcut = x
    y = L.Conv2D(32, 1, use_bias=False)(x)
    y = L.BatchNormalization()(y)
    y = L.Multiply()([y, _hard_sigmoid(L, y)])
    y = L.DepthwiseConv2D(5, padding="same", use_bias=False)(y)
    y = L.BatchNormalization()(y)
    y = L.Multiply()([y, _hard_sigmoid(L, y)])
    s = L.GlobalAveragePooling2D(keepdims=True)(y)               # squeeze-and-excite
    s = L.Conv2D(8, 1, activation="relu")(s)
    s = L.Conv2D(32, 1)(s)
    y = L.Multiply()([y, _hard_sigmoid(L, s)])
    y = L.Conv2D(16, 1, use_bias=False)(y)
    y = L.BatchNormalization()(y)
    x = L.Add()([shortcut, y])
    return tf.keras.Model(inp, _head(tf, L, x), name="mobilenetv3_block")


def build_concat_branches(tf):
    # Inception-like: two branches joined on channels, then two flattened heads joined.
    L = tf.keras.layers
    inp = tf.keras.Input((16, 16, 1))
    x = _stem(L, inp)
    a = L.Conv2D(8, 1, activation="relu")(x)
    b = L.Conv2D(12, 3, padding="same", activation="relu")(x)
    c = L.MaxPooling2D(3, strides=1, padding="same")(x)
    x = L.Concatenate()([a, b, c])                               # 8x8x28
    x = L.MaxPooling2D(2)(x)                                     # 4x4x28
    left = L.Dense(16, activation="relu")(L.Flatten()(x))
    right = L.Dense(8, activation="relu")(L.GlobalAveragePooling2D()(x))
    x = L.Concatenate()([left, right])
    out = L.Dense(10, activation="softmax")(x)
    return tf.keras.Model(inp, out, name="concat_branches")


def build_concat_spatial(tf):
    # Concatenation along height and width (axis 1 and 2), as a two-view model does.
    L = tf.keras.layers
    inp = tf.keras.Input((16, 16, 1))
    x = _stem(L, inp)
    top = L.Conv2D(8, 3, padding="same", activation="relu")(x)
    bottom = L.Conv2D(8, 3, padding="same", activation="relu")(x)
    x = L.Concatenate(axis=1)([top, bottom])                    # 16x8x8
    x = L.Concatenate(axis=2)([x, x])                           # 16x16x8
    x = L.Conv2D(12, 3, strides=2, padding="same", activation="relu")(x)
    return tf.keras.Model(inp, _head(tf, L, x), name="concat_spatial")


def build_squeeze_excite_dense(tf):
    # Squeeze-and-excite written with Dense layers and a Reshape, a sigmoid gate.
    L = tf.keras.layers
    inp = tf.keras.Input((16, 16, 1))
    x = _stem(L, inp, 16)
    s = L.GlobalAveragePooling2D()(x)
    s = L.Dense(4, activation="relu")(s)
    s = L.Dense(16, activation="sigmoid")(s)
    x = L.Multiply()([x, L.Reshape((1, 1, 16))(s)])
    x = L.Conv2D(16, 3, padding="same", activation="relu")(x)
    return tf.keras.Model(inp, _head(tf, L, x), name="squeeze_excite_dense")


def build_global_max_minmax(tf):
    # GlobalMaxPooling2D (REDUCE_MAX), Maximum, Minimum and Subtract of two branches.
    L = tf.keras.layers
    inp = tf.keras.Input((16, 16, 1))
    x = _stem(L, inp)
    a = L.Conv2D(8, 3, padding="same")(x)
    b = L.Conv2D(8, 3, padding="same")(x)
    hi = L.Maximum()([a, b])
    lo = L.Minimum()([a, b])
    d = L.Subtract()([hi, lo])
    x = L.Concatenate()([hi, d])
    x = L.Conv2D(16, 3, padding="same", activation="relu")(x)
    x = L.GlobalMaxPooling2D()(x)
    out = L.Dense(10, activation="softmax")(x)
    return tf.keras.Model(inp, out, name="global_max_minmax")


def build_conv_transpose(tf):
    # An encoder-decoder: strided convs down, Conv2DTranspose (SAME and VALID) back up.
    L = tf.keras.layers
    inp = tf.keras.Input((16, 16, 1))
    x = _stem(L, inp)                                            # 8x8x8
    x = L.Conv2D(16, 3, strides=2, padding="same", activation="relu")(x)  # 4x4x16
    x = L.Conv2DTranspose(8, 3, strides=2, padding="same", activation="relu")(x)  # 8x8
    x = L.Conv2DTranspose(8, 2, strides=1, padding="valid")(x)   # 9x9
    x = L.Conv2DTranspose(4, 3, strides=2, padding="same", use_bias=False)(x)  # 18x18
    return tf.keras.Model(inp, _head(tf, L, x), name="conv_transpose")


def build_normalization(tf, mean, variance):
    # Keras' Normalization layer (adapted to the data) and a per-channel Rescaling.
    L = tf.keras.layers
    inp = tf.keras.Input((16, 16, 1))
    x = L.Normalization(mean=mean, variance=variance)(inp)
    x = L.Conv2D(4, 3, strides=2, padding="same", activation="relu")(x)
    # after the ReLU the converter cannot fold it into the conv: MUL and ADD of [4]
    x = L.Rescaling(scale=[0.5, 1.0, 2.0, -1.0], offset=[0.1, -0.2, 0.0, 0.3])(x)
    x = L.Conv2D(8, 3, padding="same", activation="relu")(x)
    return tf.keras.Model(inp, _head(tf, L, x), name="normalization")


def build_softmax_1000(tf):
    # An ImageNet-sized head: 1000 classes (the digits use the first ten). Pooled and
    # flattened: on global average pooling's 16 features this head does not learn.
    L = tf.keras.layers
    inp = tf.keras.Input((16, 16, 1))
    x = _stem(L, inp, 16)
    x = L.DepthwiseConv2D(3, padding="same", activation="relu6")(x)
    x = L.Conv2D(16, 1, activation="relu6")(x)
    x = L.Flatten()(L.MaxPooling2D(4)(x))                        # 2x2x16
    out = L.Dense(1000, activation="softmax")(x)
    return tf.keras.Model(inp, out, name="softmax_1000")


def build_relu_standalone(tf):
    # ReLUs the converter cannot fuse into the layer before: after a Concatenate (RELU,
    # RELU6), and ReLU(max_value=1) after a BatchNormalization of pooled features.
    L = tf.keras.layers
    inp = tf.keras.Input((16, 16, 1))
    x = _stem(L, inp)
    a = L.Conv2D(8, 3, padding="same")(x)
    b = L.Conv2D(8, 1)(x)
    x = L.ReLU()(L.Concatenate()([a, b]))                        # 8x8x16
    x = L.MaxPooling2D(2)(x)
    c = L.Conv2D(8, 3, padding="same")(x)
    d = L.DepthwiseConv2D(3, padding="same")(x)
    x = L.ReLU(6.0)(L.Concatenate()([c, d]))                     # 4x4x24
    x = L.GlobalAveragePooling2D()(x)
    x = L.BatchNormalization()(x)
    x = L.ReLU(max_value=1.0)(x)
    out = L.Dense(10, activation="softmax")(x)
    return tf.keras.Model(inp, out, name="relu_standalone")


# name, builder, float-I/O export too, binary labels
MODELS = [
    ("binary_sigmoid", build_binary_sigmoid, False, True),
    ("activations", build_activations, True, False),
    ("mobilenetv3_block", build_mobilenetv3_block, False, False),
    ("concat_branches", build_concat_branches, False, False),
    ("concat_spatial", build_concat_spatial, False, False),
    ("squeeze_excite_dense", build_squeeze_excite_dense, False, False),
    ("global_max_minmax", build_global_max_minmax, False, False),
    ("conv_transpose", build_conv_transpose, False, False),
    ("normalization", build_normalization, True, False),
    ("softmax_1000", build_softmax_1000, False, False),
    # last: a model added before others changes their training (TensorFlow's state)
    ("relu_standalone", build_relu_standalone, False, False),
]


def _build(tf, name, builder, xtr):
    tf.keras.utils.set_random_seed(SEED)
    if name == "normalization":
        return builder(tf, float(xtr.mean()), float(xtr.var()))
    return builder(tf)


def run(out_dir: str, only: list[str] | None = None) -> list[dict]:
    tf = _tf()
    os.makedirs(out_dir, exist_ok=True)
    xtr, xte, ytr, yte = cnn_data.digits16_split()
    results = []
    for name, builder, float_io, binary in MODELS:
        if only and name not in only:
            continue
        t0 = time.time()
        model = _build(tf, name, builder, xtr)
        labels = (ytr < 5).astype(np.float32) if binary else ytr
        model.compile(optimizer=tf.keras.optimizers.Adam(3e-3),
                      loss="binary_crossentropy" if binary else "sparse_categorical_crossentropy")
        model.fit(xtr, labels, epochs=EPOCHS, batch_size=32, shuffle=True, verbose=0)
        float_acc = accuracy(model.predict(xte, verbose=0), yte)
        for fname, int8_io in [(name, True)] + ([(name + "_float_io", False)] if float_io else []):
            blob = _quiet_convert(export, tf, model, xtr, int8_io)
            with open(os.path.join(out_dir, fname + ".tflite"), "wb") as f:
                f.write(blob)
            info = inspect_tflite(blob)
            q_acc = accuracy(cnn_data.tflite_predict(blob, xte), yte)
            results.append({"file": fname + ".tflite", "keras_model": name,
                            "io": "int8" if int8_io else "float32", "epochs": EPOCHS,
                            "size_bytes": len(blob),
                            "sha256": hashlib.sha256(blob).hexdigest(),
                            "keras_float_accuracy": float_acc, "tflite_int8_accuracy": q_acc,
                            "keras_params": int(model.count_params()), **info})
            print("%-30s %7d B  float %.3f  int8 %.3f  %5.1f s  %s" % (
                fname + ".tflite", len(blob), float_acc, q_acc, time.time() - t0,
                " ".join(info["operators"])), flush=True)
    if not only:
        meta = {"generated_by": "python -m emlml_dev.keras_exports --out tests_host/keras_exports",
                "data": "scikit-learn digits, 16x16 (cnn_data.digits16_split())",
                "seed": SEED, "versions": _versions(tf), "models": results}
        with open(os.path.join(out_dir, "models.json"), "w") as f:
            json.dump(meta, f, indent=1)
            f.write("\n")
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="directory for the .tflite files and models.json")
    ap.add_argument("--only", nargs="*", help="these models only (no models.json)")
    args = ap.parse_args(argv)
    run(args.out, args.only)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
