"""Train the example CNNs and export them as full-int8 ``.tflite`` files.

Needs TensorFlow (the ``train`` extra, pinned in requirements-train.txt; ``make
train-cnn`` builds ``.venv-train`` and runs this)::

    python -m emlml_dev.train_cnn --out py_tools/emlml_tools/models

Writes, into ``--out``:

- ``digits_cnn.tflite``       2-D CNN on scikit-learn's digits (8x8)
- ``digits_cnn_float_io.tflite`` the same Keras model, float32 input and output
  (QUANTIZE at the input, DEQUANTIZE at the output)
- ``motion_cnn.tflite``       1-D CNN (Conv2D with (1, k) kernels) on the synthetic
  accelerometer gestures of :mod:`emlml_dev.cnn_data`
- ``motion_conv1d.tflite``    the same task with Keras' Conv1D / MaxPooling1D /
  GlobalAveragePooling1D on (T, 3): EXPAND_DIMS and RESHAPE around each conv and pool
- ``keras_plain.tflite``      Conv2D / MaxPooling2D / Flatten / Dense / softmax
- ``keras_dwsep_gap.tflite``  MobileNet-style: depthwise-separable blocks, ZeroPadding2D,
  AveragePooling2D, GlobalAveragePooling2D, Dense
- ``keras_residual.tflite``   a small residual CNN (Add skip connections, ReLU6)
- ``models.json`` and ``README.md``: how each file was made, its layers, its TFLite
  operators, input/output quantization, size and accuracy (float Keras and int8 on
  TFLite's reference kernels).

Every run is deterministic: seeds fixed per model, deterministic TensorFlow ops, one
thread. Full-integer post-training quantization: int8 weights (per channel), int8
activations, calibrated on the training data.
"""

import argparse
import hashlib
import json
import os
import sys
import time

import numpy as np

from emlml_dev import cnn_data
from emlml_dev.paths import MODELS_DIR

SEED = 1234

# The operators the emlml int8 CNN converter accepts (shape arithmetic folded by it).
SUPPORTED_OPS = frozenset({
    "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "MAX_POOL_2D", "AVERAGE_POOL_2D",
    "MEAN", "PAD", "ADD", "RESHAPE", "SHAPE", "STRIDED_SLICE", "PACK", "CONCATENATION",
    "SOFTMAX", "QUANTIZE", "DEQUANTIZE", "EXPAND_DIMS", "SQUEEZE",
})


def _tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_DETERMINISTIC_OPS", "1")
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    try:
        tf.config.threading.set_inter_op_parallelism_threads(1)
        tf.config.threading.set_intra_op_parallelism_threads(1)
    except RuntimeError:  # already initialised (second call in one process)
        pass
    tf.config.experimental.enable_op_determinism()
    return tf


# --- the models --------------------------------------------------------------------------

def build_digits_cnn(tf):
    L = tf.keras.layers
    return tf.keras.Sequential([
        tf.keras.Input((8, 8, 1)),
        L.Conv2D(12, 3, padding="same", activation="relu"),
        L.MaxPooling2D(2),
        L.Conv2D(24, 3, padding="same", activation="relu"),
        L.MaxPooling2D(2),
        L.Flatten(),
        L.Dense(10, activation="softmax"),
    ], name="digits_cnn")


def build_motion_cnn(tf):
    # A 1-D CNN over time written as Conv2D with (1, k) kernels on (1, T, 3): TFLite runs
    # it as plain CONV_2D (a Keras Conv1D adds EXPAND_DIMS / SQUEEZE around each conv).
    L = tf.keras.layers
    return tf.keras.Sequential([
        tf.keras.Input((1, cnn_data.MOTION_LENGTH, 3)),
        L.Conv2D(12, (1, 5), strides=(1, 2), padding="same", activation="relu"),
        L.Conv2D(16, (1, 5), padding="same", activation="relu"),
        L.MaxPooling2D((1, 2)),
        L.Conv2D(24, (1, 3), padding="same", activation="relu"),
        L.MaxPooling2D((1, 2)),
        L.Conv2D(24, (1, 3), padding="same", activation="relu"),
        L.GlobalAveragePooling2D(),
        L.Dense(len(cnn_data.MOTION_CLASSES), activation="softmax"),
    ], name="motion_cnn")


def build_keras_plain(tf):
    L = tf.keras.layers
    return tf.keras.Sequential([
        tf.keras.Input((8, 8, 1)),
        L.Conv2D(16, 3, activation="relu"),
        L.MaxPooling2D(2),
        L.Flatten(),
        L.Dense(32, activation="relu"),
        L.Dense(10, activation="softmax"),
    ], name="keras_plain")


def build_keras_dwsep_gap(tf):
    # MobileNet (v1) style on 16x16 digits: a strided stem, depthwise + pointwise blocks
    # with batch norm and ReLU6, a ZeroPadding2D before a stride-2 valid depthwise conv,
    # a SeparableConv2D, AveragePooling2D, global average pooling.
    L = tf.keras.layers
    inp = tf.keras.Input((16, 16, 1))
    x = L.Conv2D(8, 3, strides=2, padding="same", use_bias=False)(inp)
    x = L.BatchNormalization()(x)
    x = L.ReLU(6.0)(x)                                           # 8x8x8
    x = L.DepthwiseConv2D(3, padding="same", use_bias=False)(x)
    x = L.BatchNormalization()(x)
    x = L.ReLU(6.0)(x)
    x = L.Conv2D(16, 1, use_bias=False)(x)
    x = L.BatchNormalization()(x)
    x = L.ReLU(6.0)(x)                                           # 8x8x16
    # Symmetric padding: MobileNet's own ((0, 1), (0, 1)) here equals SAME padding and
    # the converter folds it into the conv (no PAD operator in the file).
    x = L.ZeroPadding2D(1)(x)                                    # 10x10x16
    x = L.DepthwiseConv2D(3, strides=2, padding="valid", use_bias=False)(x)
    x = L.BatchNormalization()(x)
    x = L.ReLU(6.0)(x)                                           # 4x4x16
    x = L.Conv2D(32, 1, use_bias=False)(x)
    x = L.BatchNormalization()(x)
    x = L.ReLU(6.0)(x)                                           # 4x4x32
    x = L.SeparableConv2D(32, 3, padding="same", activation="relu")(x)
    x = L.AveragePooling2D(2)(x)                                 # 2x2x32
    x = L.GlobalAveragePooling2D()(x)
    out = L.Dense(10, activation="softmax")(x)
    return tf.keras.Model(inp, out, name="keras_dwsep_gap")


def build_keras_residual(tf):
    # Two residual blocks on 16x16 digits: an identity shortcut and a strided one with a
    # 1x1 projection, batch norm, Add, ReLU and ReLU6.
    L = tf.keras.layers
    inp = tf.keras.Input((16, 16, 1))
    x = L.Conv2D(12, 3, strides=2, padding="same", use_bias=False)(inp)
    x = L.BatchNormalization()(x)
    x = L.ReLU()(x)                                              # 8x8x12
    y = L.Conv2D(12, 3, padding="same", use_bias=False)(x)
    y = L.BatchNormalization()(y)
    y = L.ReLU(6.0)(y)
    y = L.Conv2D(12, 3, padding="same", use_bias=False)(y)
    y = L.BatchNormalization()(y)
    x = L.Add()([x, y])
    x = L.ReLU()(x)                                              # 8x8x12
    y = L.Conv2D(24, 3, strides=2, padding="same", use_bias=False)(x)
    y = L.BatchNormalization()(y)
    y = L.ReLU()(y)
    y = L.Conv2D(24, 3, padding="same", use_bias=False)(y)
    y = L.BatchNormalization()(y)
    s = L.Conv2D(24, 1, strides=2, use_bias=False)(x)
    s = L.BatchNormalization()(s)
    x = L.Add()([s, y])
    x = L.ReLU(6.0)(x)                                           # 4x4x24
    x = L.GlobalAveragePooling2D()(x)
    out = L.Dense(10, activation="softmax")(x)
    return tf.keras.Model(inp, out, name="keras_residual")


def build_motion_conv1d(tf):
    # The same task written with Keras' 1-D layers on (T, 3): TFLite wraps each conv and
    # pool in EXPAND_DIMS / RESHAPE and GlobalAveragePooling1D becomes MEAN over time.
    L = tf.keras.layers
    return tf.keras.Sequential([
        tf.keras.Input((cnn_data.MOTION_LENGTH, 3)),
        L.Conv1D(8, 5, padding="same", activation="relu"),
        L.MaxPooling1D(2),
        L.Conv1D(8, 3, padding="same", activation="relu"),
        L.GlobalAveragePooling1D(),
        L.Dense(len(cnn_data.MOTION_CLASSES), activation="softmax"),
    ], name="motion_conv1d")


def build_pad_probe(tf):
    # Not shipped: MobileNet's ZeroPadding2D(((0, 1), (0, 1))) + stride-2 valid conv
    # (equal to SAME padding) -- does a PAD operator survive the converter?
    L = tf.keras.layers
    return tf.keras.Sequential([
        tf.keras.Input((16, 16, 1)),
        L.Conv2D(4, 3, strides=2, padding="same", activation="relu"),
        L.ZeroPadding2D(((0, 1), (0, 1))),
        L.DepthwiseConv2D(3, strides=2, padding="valid", activation="relu"),
        L.GlobalAveragePooling2D(),
        L.Dense(10, activation="softmax"),
    ], name="pad_probe")


_digits8 = cnn_data.digits_split
_digits16 = cnn_data.digits16_split
_motion = cnn_data.motion_split
_motion_1d = cnn_data.motion_1d_split


# name, builder, data, data description, epochs, learning rate, also a float-I/O export
MODELS = [
    ("digits_cnn", build_digits_cnn, _digits8, "digits 8x8 (cnn_data.digits_split())",
     60, 3e-3, True),
    ("motion_cnn", build_motion_cnn, _motion, "synthetic motion (cnn_data.motion_split())",
     60, 3e-3, False),
    ("keras_plain", build_keras_plain, _digits8, "digits 8x8 (cnn_data.digits_split())",
     30, 3e-3, False),
    ("keras_dwsep_gap", build_keras_dwsep_gap, _digits16,
     "digits 16x16 (cnn_data.digits_split(upsample=2))", 60, 3e-3, False),
    ("keras_residual", build_keras_residual, _digits16,
     "digits 16x16 (cnn_data.digits_split(upsample=2))", 20, 3e-3, False),
    # last: adding a model before others changes their training (TF graph state)
    ("motion_conv1d", build_motion_conv1d, _motion_1d,
     "synthetic motion as (T, 3) (cnn_data.motion_split()[i][:, 0])", 60, 3e-3, False),
]
PROBES = [
    ("pad_probe", build_pad_probe, _digits16,
     "digits 16x16 (cnn_data.digits_split(upsample=2))", 0,
     "MobileNet's `ZeroPadding2D(((0, 1), (0, 1)))` before a stride-2 `valid` "
     "DepthwiseConv2D on an even size, which equals SAME padding: the converter folds "
     "the padding into the conv, so no PAD appears (`keras_dwsep_gap` pads 1 on every "
     "side, which keeps its PAD)"),
]


# --- training and export -----------------------------------------------------------------

def train(tf, builder, data, epochs, lr):
    tf.keras.utils.set_random_seed(SEED)
    model = builder(tf)
    xtr, xte, ytr, yte = data
    model.compile(optimizer=tf.keras.optimizers.Adam(lr),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    if epochs:
        model.fit(xtr, ytr, epochs=epochs, batch_size=32, shuffle=True, verbose=0)
    return model


def export(tf, model, x_calib, int8_io=True):
    """Full-integer post-training quantization of a Keras model to ``.tflite`` bytes."""
    def representative():
        for row in x_calib:
            yield [row[np.newaxis].astype(np.float32)]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if int8_io:
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
    return bytes(conv.convert())


def _quiet_convert(fn, *args, **kw):
    # The converter prints its saved-model trace on stdout; keep the report readable.
    fd = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            return fn(*args, **kw)
    finally:
        sys.stdout.flush()
        os.dup2(fd, 1)
        os.close(fd)


def describe_layers(model):
    rows = []
    for layer in model.layers:
        cfg = layer.get_config()
        parts = []
        for key in ("filters", "units", "kernel_size", "pool_size", "strides", "padding",
                    "depth_multiplier", "max_value", "activation", "use_bias"):
            if key in cfg and cfg[key] is not None:
                v = cfg[key]
                if key == "use_bias" and v:
                    continue
                if key == "activation" and v == "linear":
                    continue
                parts.append("%s=%s" % (key, tuple(v) if isinstance(v, list) else v))
        shape = tuple(layer.output.shape[1:])
        rows.append({"layer": type(layer).__name__, "config": ", ".join(parts),
                     "output": list(shape), "params": int(layer.count_params())})
    return rows


def tensor_info(detail):
    scale, zp = detail["quantization"]
    return {"shape": [int(s) for s in detail["shape"]],
            "dtype": np.dtype(detail["dtype"]).name,
            "scale": float(scale), "zero_point": int(zp)}


def operator_details(blob):
    """One short string per operator of the main subgraph: its options that matter to a
    converter (padding, strides, filter size, depth multiplier, fused activation,
    keep_dims) and its tensors' shapes and types."""
    import tflite

    def enum_names(cls):
        return {v: k for k, v in vars(cls).items() if not k.startswith("_")}

    opt_types = enum_names(tflite.BuiltinOptions)
    act = enum_names(tflite.ActivationFunctionType)
    pad = enum_names(tflite.Padding)
    ttype = enum_names(tflite.TensorType)
    model = tflite.Model.GetRootAsModel(blob, 0)
    sg = model.Subgraphs(0)
    names = cnn_data.tflite_operators(blob)

    def tensor(i):
        if i < 0:
            return "-"
        t = sg.Tensors(i)
        buf = model.Buffers(t.Buffer())
        shape = t.ShapeAsNumpy() if t.ShapeLength() else []
        s = "%s[%s]" % (ttype[t.Type()].lower(), "x".join(str(d) for d in shape))
        if buf.DataLength():
            s += "c"
            if ttype[t.Type()] == "INT32" and int(np.prod(shape)) <= 8:
                s += "=%s" % buf.DataAsNumpy().view(np.int32).tolist()
        q = t.Quantization()
        if q is not None and q.ScaleLength() > 1:
            s += "/q%d@%d" % (q.ScaleLength(), q.QuantizedDimension())
        return s

    out = []
    for k in range(sg.OperatorsLength()):
        op = sg.Operators(k)
        parts = []
        tname = opt_types.get(op.BuiltinOptionsType(), "NONE")
        if tname != "NONE" and hasattr(tflite, tname):
            o = getattr(tflite, tname)()
            tab = op.BuiltinOptions()
            o.Init(tab.Bytes, tab.Pos)
            if hasattr(o, "Padding"):
                parts.append(pad[o.Padding()])
            if hasattr(o, "StrideH"):
                parts.append("stride %dx%d" % (o.StrideH(), o.StrideW()))
            if hasattr(o, "FilterHeight"):
                parts.append("filter %dx%d" % (o.FilterHeight(), o.FilterWidth()))
            if hasattr(o, "DilationHFactor") and (o.DilationHFactor(), o.DilationWFactor()) != (1, 1):
                parts.append("dilation %dx%d" % (o.DilationHFactor(), o.DilationWFactor()))
            if hasattr(o, "DepthMultiplier"):
                parts.append("depth_multiplier %d" % o.DepthMultiplier())
            if hasattr(o, "KeepDims"):
                parts.append("keep_dims %s" % bool(o.KeepDims()))
            for mask in ("BeginMask", "EndMask", "EllipsisMask", "NewAxisMask",
                         "ShrinkAxisMask"):
                if hasattr(o, mask) and getattr(o, mask)():
                    parts.append("%s %d" % (mask, getattr(o, mask)()))
            if hasattr(o, "ValuesCount"):
                parts.append("values_count %d" % o.ValuesCount())
            if hasattr(o, "Axis") and tname in ("PackOptions", "ConcatenationOptions"):
                parts.append("axis %d" % o.Axis())
            if hasattr(o, "FusedActivationFunction"):
                parts.append("fused %s" % act[o.FusedActivationFunction()])
        ins = ", ".join(tensor(i) for i in op.InputsAsNumpy())
        outs = ", ".join(tensor(i) for i in op.OutputsAsNumpy())
        out.append("%s(%s) %s -> %s" % (names[k], ", ".join(parts), ins, outs))
    return out


def inspect_tflite(blob):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    it = Interpreter(model_content=blob,
                     experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    interp_ops = [d["op_name"] for d in it._get_ops_details()]
    ops = cnn_data.tflite_operators(blob, versions=True)
    assert [n for n, _ in ops] == interp_ops, (ops, interp_ops)
    return {"operators": [n for n, _ in ops],
            "operator_details": operator_details(blob),
            "operator_codes": sorted({"%s v%d" % o for o in ops}),
            "input": tensor_info(it.get_input_details()[0]),
            "output": tensor_info(it.get_output_details()[0])}


def run(out_dir, only=None):
    tf = _tf()
    os.makedirs(out_dir, exist_ok=True)
    results = []
    todo = [m for m in MODELS if not only or m[0] in only]
    for name, builder, data_fn, data_desc, epochs, lr, float_io in todo:
        t0 = time.time()
        data = data_fn()
        xtr, xte, ytr, yte = data
        model = train(tf, builder, data, epochs, lr)
        float_acc = float(np.mean(np.argmax(model.predict(xte, verbose=0), 1) == yte))
        exports = [(name, True)] + ([(name + "_float_io", False)] if float_io else [])
        for fname, int8_io in exports:
            blob = _quiet_convert(export, tf, model, xtr, int8_io)
            with open(os.path.join(out_dir, fname + ".tflite"), "wb") as f:
                f.write(blob)
            q_acc = float(np.mean(np.argmax(cnn_data.tflite_predict(blob, xte), 1) == yte))
            info = inspect_tflite(blob)
            rec = {
                "file": fname + ".tflite", "keras_model": name, "data": data_desc,
                "n_train": int(len(ytr)), "n_test": int(len(yte)),
                "epochs": epochs, "learning_rate": lr, "seed": SEED,
                "io": "int8" if int8_io else "float32",
                "size_bytes": len(blob), "sha256": hashlib.sha256(blob).hexdigest(),
                "keras_float_accuracy": float_acc, "tflite_int8_accuracy": q_acc,
                "keras_params": int(model.count_params()),
                "layers": describe_layers(model), **info,
                "unsupported_ops": sorted(set(info["operators"]) - SUPPORTED_OPS),
            }
            results.append(rec)
            print("%-28s %6d B  float %.4f  int8 %.4f  %5.1f s  %s" % (
                rec["file"], rec["size_bytes"], float_acc, q_acc, time.time() - t0,
                " ".join(info["operators"])), flush=True)
    probes = []
    if not only:
        for name, builder, data_fn, data_desc, epochs, note in PROBES:
            data = data_fn()
            model = train(tf, builder, data, epochs, 1e-3)
            blob = _quiet_convert(export, tf, model, data[0][:200], True)
            info = inspect_tflite(blob)
            probes.append({"name": name, "data": data_desc, "epochs": epochs, "note": note,
                           "layers": describe_layers(model), **info,
                           "unsupported_ops": sorted(set(info["operators"]) - SUPPORTED_OPS)})
            print("%-28s (probe, not shipped)  %s" % (name, " ".join(info["operators"])))
    if only:
        return results
    meta = {"generated_by": "python -m emlml_dev.train_cnn --out py_tools/emlml_tools/models",
            "versions": _versions(tf), "models": results, "probes": probes}
    with open(os.path.join(out_dir, "models.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    with open(os.path.join(out_dir, "README.md"), "w") as f:
        f.write(readme(meta))
    return results


def _versions(tf):
    import importlib.metadata as md

    v = {"python": "%d.%d.%d" % sys.version_info[:3]}
    for pkg in ("tensorflow-cpu", "keras", "numpy", "scikit-learn", "ai-edge-litert",
                "tflite"):
        try:
            v[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return v


# --- README ------------------------------------------------------------------------------

def _q(t):
    return "%s %s, scale %.9g, zero point %d" % (t["dtype"], "x".join(map(str, t["shape"])),
                                                 t["scale"], t["zero_point"])


def _ops_compact(ops):
    out, prev, n = [], None, 0
    for op in ops + [None]:
        if op == prev:
            n += 1
            continue
        if prev is not None:
            out.append(prev + (" x%d" % n if n > 1 else ""))
        prev, n = op, 1
    return ", ".join(out)


def _layers_table(rows):
    lines = ["| layer | config | output | params |", "| --- | --- | --- | --- |"]
    for r in rows:
        lines.append("| %s | %s | %s | %d |" % (r["layer"], r["config"] or "",
                                                "x".join(map(str, r["output"])), r["params"]))
    return "\n".join(lines)


def readme(meta):
    ms = meta["models"]
    v = meta["versions"]
    out = ["# Example int8 CNNs (TensorFlow Lite)", "",
           "Trained and exported by `py_tools/emlml_dev/train_cnn.py`; this file and "
           "`models.json` are written by the same run. Shipped so that the tests need no "
           "training (`tests_host/test_convert_shipped_cnns.py` checks their accuracy live on "
           "`emlml_dev.cnn_data`, with TFLite's reference kernels, and their operator "
           "sets).", "",
           "Made with:", "", "```",
           "make train-cnn",
           "# which is:",
           "python3 -m venv .venv-train",
           ".venv-train/bin/pip install -r requirements-train.txt",
           ".venv-train/bin/pip install --no-deps -e .",
           ".venv-train/bin/python -m emlml_dev.train_cnn --out py_tools/emlml_tools/models",
           "```", "",
           "Versions: " + ", ".join("%s %s" % kv for kv in v.items()) + ". Deterministic: "
           "`tf.keras.utils.set_random_seed(%d)` before each model, "
           "`enable_op_determinism()`, one thread." % SEED, "",
           "Training environment: `pip install -e .[train]` gives the same packages unpinned; "
           "requirements-train.txt holds the exact set these files were made with.", "",
           "Export: `tf.lite.TFLiteConverter.from_keras_model`, `optimizations=[DEFAULT]`, "
           "`representative_dataset` = every training sample, one at a time, "
           "`supported_ops=[TFLITE_BUILTINS_INT8]`, `inference_input_type` / "
           "`inference_output_type` = `tf.int8` (the `*_float_io` file keeps the default "
           "float32 I/O). Weights int8 with one scale per output channel (`/qN@d` in the "
           "operator lists below: CONV_2D and FULLY_CONNECTED along dimension 0, "
           "DEPTHWISE_CONV_2D along dimension 3), zero points 0; activations int8 with "
           "one scale and zero point per tensor; biases int32 with scale = input scale x "
           "weight scale.", "",
           "Accuracy is on the held-out test split; int8 = the `.tflite` on "
           "`ai_edge_litert.Interpreter(..., experimental_op_resolver_type="
           "OpResolverType.BUILTIN_REF)`, input quantized with the input tensor's "
           "parameters.", "",
           "## Summary", "",
           "| file | bytes | data | Keras float acc | int8 TFLite acc | input | output |",
           "| --- | ---: | --- | ---: | ---: | --- | --- |"]
    for m in ms:
        out.append("| %s | %d | %s | %.4f | %.4f | %s | %s |" % (
            m["file"], m["size_bytes"], m["data"], m["keras_float_accuracy"],
            m["tflite_int8_accuracy"], _q(m["input"]), _q(m["output"])))
    out += ["", "## Operators", "",
            "In execution order (main subgraph), `xN` = N in a row; then the operator "
            "codes with their versions.", ""]
    for m in ms:
        out.append("- **%s**: %s  " % (m["file"], _ops_compact(m["operators"])))
        out.append("  codes: %s" % ", ".join(m["operator_codes"]))
    all_ops = sorted({o for m in ms for o in m["operators"]})
    out += ["", "All operators in the shipped files: %s." % ", ".join(all_ops), ""]
    for p in meta["probes"]:
        out += ["Probe, not shipped: `%s` (%s, untrained), %s. Operators: %s. Outside "
                "the supported list: %s." % (
                    p["name"], p["data"], p["note"], _ops_compact(p["operators"]),
                    ", ".join(p["unsupported_ops"]) or "none"), "", "```"]
        out += p["operator_details"] + ["```", ""]
    out += ["## Models", ""]
    for m in ms:
        out += ["### %s" % m["file"], "",
                "Keras model `%s`, %d parameters, trained %d epochs (Adam, lr %g, batch 32) "
                "on %s: %d training / %d test samples. %d bytes, sha256 `%s`." % (
                    m["keras_model"], m["keras_params"], m["epochs"], m["learning_rate"],
                    m["data"], m["n_train"], m["n_test"], m["size_bytes"], m["sha256"]), "",
                "- input: " + _q(m["input"]),
                "- output: " + _q(m["output"]),
                "- accuracy: Keras float %.4f, int8 TFLite %.4f" % (
                    m["keras_float_accuracy"], m["tflite_int8_accuracy"]),
                "", _layers_table(m["layers"]), "",
                "Operators (options; tensors: type[shape], `c` = constant with its values when a "
                "small int32 one, `/qN@d` = N per-channel scales along dimension d, `-` = optional "
                "input absent):", "",
                "```"] + m["operator_details"] + ["```", ""]
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=MODELS_DIR,
                    help="output folder (default: emlml_tools/models)")
    ap.add_argument("--only", nargs="*", help="train only these models; writes no "
                    "README.md / models.json")
    args = ap.parse_args(argv)
    run(args.out, args.only)


if __name__ == "__main__":
    main()
