"""Data for tests_device/test_cnn.py: CNN blobs, inputs and TFLite's own outputs.

The oracle is TensorFlow Lite's interpreter with its reference kernels
(``OpResolverType.BUILTIN_REF``): every expected output written here was computed by
it, on the same inputs the board gets. Files, in ``<data>/cnn/``:

- ``index.txt``: one line per model: ``name n_inputs n_outputs n_samples input h w c``
  where ``input`` is ``b`` (the .tflite takes int8) or ``f`` (it takes float32)
- ``<name>.bin``: the blob (``emlml convert`` of the .tflite)
- ``<name>.x``: the test inputs, raw, int8 or float32 as the .tflite takes them
- ``<name>.xf``: the same inputs as float32 values that quantize to the same int8
  (for an int8 model: its dequantized inputs), so the float path is tested on every model
- ``<name>.yq``: the int8 outputs (TFLite's, or for a float-output model the int8 code
  whose dequantized value is TFLite's float)
- ``<name>.yf``: float32 outputs: TFLite's for a float-output model, else
  ``float32(scale * (q - zero_point))`` of TFLite's int8
- ``<name>.cls``: int32 class: the first index of TFLite's largest output
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
from emlml_tools.oracle import Oracle

from emlml_dev.paths import KERAS_EXPORTS_DIR, MODELS_DIR, TINYMAIX_DIR


@dataclass
class OracleRun:
    """What TFLite's reference interpreter says about one model and its inputs."""
    x: np.ndarray         # (n, n_inputs) int8 or float32, as the .tflite takes them
    y: np.ndarray         # (n, n_outputs) int8 or float32, as the .tflite gives them
    in_scale: float
    in_zp: int
    out_scale: float
    out_zp: int
    shape: tuple[int, int, int]  # h, w, c of the input


def _hwc(shape: np.ndarray) -> tuple[int, int, int]:
    dims = [int(d) for d in shape[1:]] or [1]
    while len(dims) < 3:
        dims.insert(0, 1)
    return dims[0], dims[1], dims[2]


def quant_params(detail: dict) -> tuple[float, int]:
    scale, zp = detail["quantization"]
    return float(scale), int(zp)


def random_inputs(oracle: Oracle, n: int, rng: np.random.Generator) -> np.ndarray:
    """n inputs for the model: uniform int8 codes, or floats over the input range a bit
    beyond both ends (clamping) with some exactly halfway between two codes (rounding)."""
    size = int(np.prod(oracle.inp["shape"]))
    if oracle.inp["dtype"] == np.int8:
        return rng.integers(-128, 128, size=(n, size), dtype=np.int8)
    scale, zp = edge_quantization(oracle)[:2]
    codes = rng.integers(-131, 131, size=(n, size)) - zp
    half = rng.random((n, size)) < 0.2
    jitter = np.where(half, 0.5 * rng.choice([-1.0, 1.0], size=(n, size)), rng.uniform(-0.45, 0.45, (n, size)))
    return ((codes + jitter) * scale).astype(np.float32)


def edge_quantization(oracle: Oracle) -> tuple[float, int, float, int]:
    """(input scale, zero point, output scale, zero point) of the int8 network: the I/O
    tensors' own, or behind float edges the output of the model's QUANTIZE (float
    input) and the input of its DEQUANTIZE (float output), as the interpreter reports
    them."""
    it = oracle.interp
    in_scale, in_zp = quant_params(oracle.inp)
    out_scale, out_zp = quant_params(oracle.out)
    if oracle.inp["dtype"] == np.float32 or oracle.out["dtype"] == np.float32:
        tensors = {t["index"]: t for t in it.get_tensor_details()}
        for op in it._get_ops_details():
            if op["op_name"] == "QUANTIZE" and int(op["inputs"][0]) == oracle.inp["index"]:
                in_scale, in_zp = quant_params(tensors[int(op["outputs"][0])])
            if op["op_name"] == "DEQUANTIZE" and int(op["outputs"][0]) == oracle.out["index"]:
                out_scale, out_zp = quant_params(tensors[int(op["inputs"][0])])
    return in_scale, in_zp, out_scale, out_zp


def oracle_run(oracle: Oracle, x: np.ndarray) -> OracleRun:
    """TFLite's outputs for each row of x (one invoke per row, batch 1)."""
    y = np.stack([oracle(row).reshape(-1) for row in x])
    return OracleRun(x, y, *edge_quantization(oracle), _hwc(oracle.inp["shape"]))


def dequantize(q: np.ndarray, scale: float, zp: int) -> np.ndarray:
    """TFLite's DEQUANTIZE: float32(double(scale) * (q - zp)); the product is exact."""
    return (np.float64(np.float32(scale)) * (q.astype(np.int64) - zp)).astype(np.float32)


def int8_codes(y: np.ndarray, scale: float, zp: int) -> np.ndarray:
    """The int8 code of each dequantized output (dequantize is one-to-one on int8)."""
    table = dequantize(np.arange(-128, 128), scale, zp)
    idx = np.searchsorted(table, y)
    if not np.array_equal(table[np.clip(idx, 0, 255)], y):
        raise ValueError("a float output is not the dequantized value of any int8 code")
    return (idx - 128).astype(np.int8)


def expected(run: OracleRun) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(float inputs, int8 outputs, float outputs, classes) of an oracle run."""
    if run.x.dtype == np.float32:
        xf = run.x
    else:
        xf = dequantize(run.x, run.in_scale, run.in_zp)
    if run.y.dtype == np.float32:
        yf = run.y.astype(np.float32)
        yq = int8_codes(yf, run.out_scale, run.out_zp)
    else:
        yq = run.y.astype(np.int8)
        yf = dequantize(yq, run.out_scale, run.out_zp)
    return xf, yq, yf, np.argmax(yq, axis=1).astype(np.int32)


def write_cnn_model(out_dir: str, name: str, model: bytes, oracle: Oracle, x: np.ndarray) -> str:
    """Convert, run the oracle, write the files; returns the index.txt line."""
    from emlml_tools.convert.tflite_cnn import convert_tflite

    blob = convert_tflite(model, name=name)
    run = oracle_run(oracle, x)
    xf, yq, yf, cls = expected(run)
    files = {".bin": blob, ".x": np.ascontiguousarray(run.x).tobytes(),
             ".xf": xf.astype("<f4").tobytes(), ".yq": yq.tobytes(),
             ".yf": yf.astype("<f4").tobytes(), ".cls": cls.astype("<i4").tobytes()}
    for ext, data in files.items():
        with open(os.path.join(out_dir, name + ext), "wb") as f:
            f.write(data)
    h, w, c = run.shape
    typecode = "f" if run.x.dtype == np.float32 else "b"
    return "%s %d %d %d %s %d %d %d" % (name, x.shape[1], yq.shape[1], x.shape[0], typecode, h, w, c)


def _tflite_files(folder: str, prefix: str = "") -> list[tuple[str, bytes]]:
    out = []
    if os.path.isdir(folder):
        for fn in sorted(os.listdir(folder)):
            if fn.endswith(".tflite"):
                with open(os.path.join(folder, fn), "rb") as f:
                    out.append((prefix + fn[:-len(".tflite")], f.read()))
    return out


def shipped_models() -> list[tuple[str, bytes]]:
    """The .tflite files in emlml_tools/models (trained examples and Keras exports)."""
    return _tflite_files(MODELS_DIR)


def keras_export_models(max_blob: int | None = None) -> list[tuple[str, bytes]]:
    """The real Keras exports of issue 15's operators (tests_host/keras_exports, written
    by keras_exports.py), named ke_<file>; with ``max_blob``, those whose emlml blob
    is at most that many bytes (for a board whose heap cannot hold the others)."""
    from emlml_tools.convert.tflite_cnn import convert_tflite

    files = _tflite_files(KERAS_EXPORTS_DIR, "ke_")
    return [(n, d) for n, d in files if max_blob is None or len(convert_tflite(d)) <= max_blob]


def tinymaix_models() -> list[tuple[str, bytes]]:
    """TinyMaix's benchmark networks (``TINYMAIX_DIR``: mnist, cifar10, vww96 and the
    1000-class MobileNets), named tm_<file>; none where the folder is missing."""
    out = []
    if os.path.isdir(TINYMAIX_DIR):
        for fn in sorted(os.listdir(TINYMAIX_DIR)):
            if fn.endswith(".tflite"):
                with open(os.path.join(TINYMAIX_DIR, fn), "rb") as f:
                    out.append(("tm_" + fn[:-len(".tflite")].replace(".", "_"), f.read()))
    return out


def random_models(count: int, seed: int = 2026, elementwise: bool = False,
                  transpose: bool = False) -> Iterator[tuple[str, bytes]]:
    """``count`` random networks TFLite accepts, named rnd000.. (or ew000.. with the
    operators of issue 15: ``random_network(elementwise=True, branches=True)``; tc000..
    with TRANSPOSE_CONV layers: ``transpose=True``)."""
    from emlml_dev.tflite_build import random_network

    rng = np.random.default_rng(seed)
    made = 0
    prefix = "tc" if transpose else "ew" if elementwise else "rnd"
    while made < count:
        model, desc = random_network(rng, elementwise=elementwise, branches=elementwise,
                                     transpose=transpose)
        if transpose and not any(layer["op"] == "TRANSPOSE_CONV" for layer in desc["layers"]):
            continue
        try:
            Oracle(model)
        except RuntimeError:  # TFLite itself refuses it (about 1 in 300): no oracle
            continue
        yield "%s%03d" % (prefix, made), model
        made += 1


def constant_models(count: int, seed: int = 2029) -> Iterator[tuple[str, bytes]]:
    """``count`` random networks with constant operands of several values and
    broadcasting ADD (``tflite_build.constant_tensor_network``), named ct000.."""
    from emlml_dev.tflite_build import constant_tensor_network

    rng = np.random.default_rng(seed)
    for i in range(count):
        yield "ct%03d" % i, constant_tensor_network(rng)[0]


def write_cnn_data(out_dir: str, n_random: int = 200, n_inputs_each: int = 3,
                   progress: Callable[[str], None] | None = None,
                   kernels: bool | None = None, keras_max_blob: int | None = None) -> list[str]:
    """Shipped models (16 inputs each) and n_random random networks, n_inputs_each inputs
    each, with TFLite's outputs, into out_dir: from 100 random networks on (the unix
    runtime's 200), one in eight of them with the operators of issue 15
    (``random_network(elementwise=True, branches=True)``: the table ops, CONCATENATION,
    MUL, SUB, MAXIMUM, MINIMUM, PRELU, REDUCE_MAX), the others as before; there too
    12 networks with TRANSPOSE_CONV (``tc*``), 12 with constant operands of several values
    and broadcasting ADD (``constant_models``, ``ct*``) and TinyMaix's networks
    (``tinymaix_models``, 4 inputs each: the MobileNets' 510 KB blobs fit no emulated
    ESP32 or Pico), and the one-layer networks of the 1x1 and depthwise kernels' shapes
    (``bench_layers.kernel_models``, k_*, 4 inputs each, each input thousands of outputs:
    with ``kernels``, by default from 100 random networks on; at 16 inputs their data
    took 4 MB, whose copy through the emulated UART passed mpremote's 900 s) and the
    real Keras exports of issue 15's operators (``keras_export_models``, ke_*, 6 inputs
    each) wherever the kernel networks go, and with ``keras_max_blob`` those of them whose
    blob is at most that size. The
    emulated boards' smaller counts keep their networks: the Pico's filesystem has no
    block to spare for them. Returns the index lines."""
    from emlml_dev.bench_layers import kernel_models

    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(7)
    lines = []
    n_elementwise = n_random // 8 if n_random >= 100 else 0
    kernels = n_random >= 100 if kernels is None else kernels
    models = (list(shipped_models()) + list(random_models(n_random - n_elementwise))
              + list(random_models(n_elementwise, seed=2027, elementwise=True))
              + (list(random_models(12, seed=2028, transpose=True)) if n_random >= 100 else [])
              + (list(constant_models(12)) if n_random >= 100 else [])
              + (tinymaix_models() if n_random >= 100 else [])
              + (list(kernel_models().items()) if kernels else [])
              + (keras_export_models() if kernels
                 else keras_export_models(keras_max_blob) if keras_max_blob else []))
    for name, model in models:
        if progress:
            progress(name)
        n = (n_inputs_each if name.startswith(("rnd", "ew", "tc", "ct"))
             else 4 if name.startswith(("tm_", "k_")) else 6 if name.startswith("ke_") else 16)
        oracle = Oracle(model)
        lines.append(write_cnn_model(out_dir, name, model, oracle, random_inputs(oracle, n, rng)))
    with open(os.path.join(out_dir, "index.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return lines
