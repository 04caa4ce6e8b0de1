"""The int8 CNN (kind 3) in the C core, built for the host with ASan and UBSan (gcc and
clang): bit-exact with TensorFlow Lite's reference interpreter (BUILTIN_REF) and with the
NumPy reference runtime on random networks; float input quantized as TFLite's QUANTIZE;
the fixed-point helpers against their definitions; every load-time rule of FORMAT.md
broken one at a time and refused with a message that names the layer."""

from __future__ import annotations

import functools
import os
import struct
import subprocess
from typing import Callable

import numpy as np
import pytest
from emlml_dev import tflite_build
from emlml_dev.tflite_build import ModelBuilder, random_network
from emlml_tools.convert.tflite_cnn import convert_tflite
from emlml_tools.convert.tflite_graph import UnsupportedModel
from emlml_tools.format import (
    CnnOp,
    SectionId,
    cnn_blob,
    fix_crc,
    read_blob,
    write_blob,
)
from emlml_tools.oracle import Oracle
from emlml_tools.runtime import cnn as reference_cnn
from runtimes import BUILD, SAN_ENV, require_built, run_driver

DRIVERS = [os.path.join(BUILD, "host", name) for name in ("emlml_run", "emlml_run_clang")]
N_NETWORKS = 260  # seeds tried; at least MIN_CONVERTED of them convert
MIN_CONVERTED = 240
def parse_lines(result: subprocess.CompletedProcess[str], n_outputs: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(classes, float32 outputs, int8 outputs) from the driver's "ok" lines."""
    assert result.returncode == 0 and result.stderr == "", result.stdout[-2000:] + result.stderr
    classes, floats, ints = [], [], []
    for line in result.stdout.splitlines():
        parts = line.split()
        assert parts[0] == "ok" and parts[2 + n_outputs] == "q", line
        classes.append(int(parts[1]))
        floats.append([int(h, 16) for h in parts[2:2 + n_outputs]])
        ints.append([int(v) for v in parts[3 + n_outputs:]])
    return (np.array(classes), np.array(floats, dtype=np.uint32).view(np.float32),
            np.array(ints, dtype=np.int8))


@functools.lru_cache(maxsize=None)
def network(seed: int) -> tuple[bytes, dict, bytes | None]:
    """Random network number ``seed``: the .tflite, its description and its blob (None
    when the converter refuses it, e.g. a softmax whose beta * scale TFLite cannot run)."""
    tfl, desc = random_network(np.random.default_rng(seed))
    try:
        return tfl, desc, convert_tflite(tfl)
    except UnsupportedModel:
        return tfl, desc, None


def int8_samples(rng: np.random.Generator, n_inputs: int, n: int = 10) -> np.ndarray:
    """The extremes, then random values, then small values around 0."""
    rows = [np.zeros(n_inputs), np.full(n_inputs, -128), np.full(n_inputs, 127)]
    rows += [rng.integers(-128, 128, n_inputs) for _ in range(n - 4)]
    rows.append(rng.integers(-4, 5, n_inputs))
    return np.array(rows, dtype=np.int8)


def edge_params(blob: bytes) -> tuple[float, int, float, int]:
    cnn = read_blob(blob).cnn
    return (cnn.input_scale, int(cnn.tensors[cnn.input_tensor]["zero_point"]),
            cnn.output_scale, int(cnn.tensors[cnn.output_tensor]["zero_point"]))


def float_samples(rng: np.random.Generator, blob: bytes, n: int = 12) -> np.ndarray:
    """Float inputs over and past the int8 range, and values half a step from a code."""
    scale, zp, _, _ = edge_params(blob)
    n_inputs = read_blob(blob).n_inputs
    q = rng.integers(-140, 141, (n, n_inputs)) - zp
    half = rng.random((n, n_inputs)) < 0.3
    x = (q + np.where(half, 0.5, rng.uniform(-0.49, 0.49, (n, n_inputs)))) * np.float64(scale)
    return x.astype(np.float32)


# ---------------------------------------------------------------------------- helpers


@pytest.mark.parametrize("suffix", ["", "_clang"])
def test_fixedpoint_helpers(suffix):
    """SRDHM, RDBPOT, MBQM, the saturating shift against exact integer definitions; the
    exponential and reciprocal of the softmax against libm (ASan + UBSan)."""
    exe = require_built(os.path.join(BUILD, "host", "test_fixedpoint" + suffix))
    result = subprocess.run([exe], capture_output=True, text=True, env=SAN_ENV, timeout=300)
    assert result.returncode == 0 and result.stderr == "", result.stdout + result.stderr
    assert result.stdout.startswith("ok ")


def _reshape_net(n: int, scale: float, zp: int) -> bytes:
    """float32 input -> QUANTIZE -> int8 -> RESHAPE -> int8 output: the output is the
    quantized input itself."""
    b = ModelBuilder()
    x = b.tensor((1, n), "float32")
    q = b.tensor((1, n), scale=scale, zero_point=zp)
    y = b.tensor((1, 1, n), scale=scale, zero_point=zp)
    shape = b.tensor((3,), "int32", data=[1, 1, n])
    b.op("QUANTIZE", [x], [q])
    b.op("RESHAPE", [q, shape], [y], "ReshapeOptions", new_shape=[1, 1, n])
    return b.build([x], [y])


@pytest.mark.parametrize("seed", range(6))
def test_float_input_quantized_as_tflite(seed, tmp_path):
    """emlml_cnn_quantize_input against TFLite's QUANTIZE, value by value: halves (ties
    round away from zero), neighbours of halves, values far out of range, -0.0, tiny."""
    rng = np.random.default_rng(100 + seed)
    scale = float(np.float32(np.exp(rng.uniform(np.log(1e-3), np.log(2.0)))))
    zp = int(rng.integers(-128, 128))
    n = 64
    tfl = _reshape_net(n, scale, zp)
    blob = convert_tflite(tfl)
    k = rng.integers(-300, 300, (40, n)).astype(np.float64)
    ties = ((k + 0.5) * scale).astype(np.float32)
    x = np.concatenate([
        ties, np.nextafter(ties, np.float32(np.inf)), np.nextafter(ties, np.float32(-np.inf)),
        (rng.standard_normal((20, n)) * 100 * scale).astype(np.float32),
        np.array([[0.0, -0.0, 1e-38, -1e-38, 3e38, -3e38, 1e-45, -1e-45] * (n // 8)],
                 dtype=np.float32)])
    oracle = Oracle(tfl)
    want = np.array([oracle(row).reshape(-1) for row in x], dtype=np.int8)
    for driver in DRIVERS:
        _, floats, ints = parse_lines(
            run_driver(driver, blob, x.tobytes(), tmp_path, float_input=True), n)
        bad = np.argwhere(ints != want)
        assert len(bad) == 0, [(float(x[i, j]), int(ints[i, j]), int(want[i, j]))
                               for i, j in bad[:5]]


def test_nonfinite_float_input_refused(tmp_path):
    _, _, blob = network(0)
    n = read_blob(blob).n_inputs
    x = np.zeros((3, n), dtype=np.float32)
    x[1, n - 1] = np.nan
    x[2, 0] = -np.inf
    result = run_driver(DRIVERS[0], blob, x.tobytes(), tmp_path, float_input=True)
    lines = result.stdout.splitlines()
    assert result.returncode == 0 and result.stderr == "" and lines[0].startswith("ok ")
    assert lines[1] == f"error input {n - 1} is NaN or infinite"
    assert lines[2] == "error input 0 is NaN or infinite"


def test_edge_networks_match_tflite(tmp_path):
    """The corners found while checking FORMAT.md against the interpreter
    (tflite_build.edge_networks: FULLY_CONNECTED's double rescale, its ties and overflow,
    the zero point add wrapping in conv and depthwise, QUANTIZE at half-way points and far
    out of range), through both sanitized drivers: every element equal to TFLite's."""
    edges = tflite_build.edge_networks()
    assert edges
    for name, tfl, inputs in edges:
        blob = convert_tflite(tfl)
        model = read_blob(blob)
        oracle = Oracle(tfl)
        want = np.array([oracle(x).reshape(-1) for x in inputs])
        x = np.stack([np.asarray(v).reshape(-1) for v in inputs])
        float_input = x.dtype.kind == "f"
        for driver in DRIVERS:
            _, floats, ints = parse_lines(
                run_driver(driver, blob, np.ascontiguousarray(x).tobytes(), tmp_path, float_input),
                model.n_outputs)
            got = floats if want.dtype.kind == "f" else ints
            assert np.array_equal(got.view(np.uint32) if want.dtype.kind == "f" else got,
                                  want.view(np.uint32) if want.dtype.kind == "f" else want), (name, driver)


# ---------------------------------------------------------------------------- networks


@pytest.mark.parametrize("seed", range(N_NETWORKS))
def test_random_network_matches_tflite_and_reference(seed, tmp_path):
    """One random network: the C core's int8 outputs, dequantized floats and class equal
    the NumPy reference and TFLite's reference interpreter on the same inputs (int8
    inputs; float inputs too when the .tflite takes float)."""
    tfl, desc, blob = network(seed)
    if blob is None:
        pytest.skip("the converter refuses this network")
    model = read_blob(blob)
    rng = np.random.default_rng(seed)
    in_scale, in_zp, out_scale, out_zp = edge_params(blob)
    oracle = Oracle(tfl)
    q_in = int8_samples(rng, model.n_inputs)
    want_q = reference_cnn.predict_int8(blob, q_in)
    want_f = reference_cnn.dequantize_output(blob, want_q)
    # TFLite on the same int8 codes (fed as exactly dequantized floats to a float model)
    if desc["float_input"]:
        feed = ((q_in.astype(np.float64) - in_zp) * in_scale).astype(np.float32)
        assert np.array_equal(reference_cnn.quantize_input(blob, feed), q_in)
    else:
        feed = q_in
    tfl_out = np.array([oracle(row).reshape(-1) for row in feed])
    if desc["float_output"]:
        assert np.array_equal(tfl_out.view(np.uint32), want_f.view(np.uint32)), "reference vs TFLite"
    else:
        assert np.array_equal(tfl_out, want_q), "reference vs TFLite"
    for driver in DRIVERS:
        classes, floats, ints = parse_lines(run_driver(driver, blob, q_in.tobytes(), tmp_path),
                                            model.n_outputs)
        assert np.array_equal(ints, want_q), (driver, desc)
        assert np.array_equal(floats.view(np.uint32), want_f.view(np.uint32)), driver
        assert np.array_equal(classes, np.argmax(want_q, axis=1)), driver
    if desc["float_input"]:  # the float path against TFLite's QUANTIZE and the network
        xf = float_samples(rng, blob)
        tfl_out = np.array([oracle(row).reshape(-1) for row in xf])
        for driver in DRIVERS:
            _, floats, ints = parse_lines(
                run_driver(driver, blob, xf.tobytes(), tmp_path, float_input=True),
                model.n_outputs)
            if desc["float_output"]:
                assert np.array_equal(floats.view(np.uint32), tfl_out.view(np.uint32)), driver
            else:
                assert np.array_equal(ints, tfl_out), driver


def test_enough_random_networks():
    converted = sum(network(seed)[2] is not None for seed in range(N_NETWORKS))
    assert converted >= MIN_CONVERTED, converted


# ---------------------------------------------------------------------------- load checks

BASE_SEEDS = (6, 62, 46, 2, 24, 75, 84, 150, 239)
WEIGHT_OPS = (CnnOp.CONV_2D, CnnOp.DEPTHWISE_CONV_2D, CnnOp.FULLY_CONNECTED)


@functools.lru_cache(maxsize=None)
def find(op: CnnOp, need: Callable | None = None) -> tuple[bytes, int]:
    """A converted random network with a layer of ``op`` (for which ``need(cnn, k)``
    holds) and the index of that layer."""
    for seed in BASE_SEEDS + tuple(range(300)):
        blob = network(seed)[2]
        if blob is None:
            continue
        cnn = read_blob(blob).cnn
        for k in range(cnn.n_layers):
            if int(cnn.layers[k]["op"]) == op and (need is None or need(cnn, k)):
                return blob, k
    raise AssertionError(f"no random network has a fitting {op.name}")


def section(blob: bytes, sid: int) -> tuple[int, int]:
    """(offset, size) of section ``sid``."""
    n = struct.unpack_from("<H", blob, 16)[0]
    for j in range(n):
        i, off, size = struct.unpack_from("<III", blob, 48 + 12 * j)
        if i == sid:
            return off, size
    raise KeyError(sid)


LAYER_FIELDS = {"op": (0, "B"), "padding": (1, "B"), "act_min": (2, "b"), "act_max": (3, "b"),
                "in0": (4, "<H"), "in1": (6, "<H"), "out": (8, "<H"), "stride_h": (10, "B"),
                "stride_w": (11, "B"), "dilation_h": (12, "B"), "dilation_w": (13, "B"),
                "filter_h": (14, "B"), "filter_w": (15, "B"), "pad_h": (16, "<H"),
                "pad_w": (18, "<H"), "pad_c": (20, "<H"), "reserved": (22, "<H"),
                "weights_offset": (24, "<I"), "qparams_offset": (28, "<I")}
TENSOR_FIELDS = {"h": (0, "<H"), "w": (2, "<H"), "c": (4, "<H"), "reserved": (6, "<H"),
                 "offset": (8, "<I"), "zero_point": (12, "<i")}
PARAM_FIELDS = {"n_tensors": (0, "<H"), "n_layers": (2, "<H"), "input_tensor": (4, "<H"),
                "output_tensor": (6, "<H"), "input_scale": (8, "<f"), "output_scale": (12, "<f"),
                "tensor_arena_bytes": (16, "<I"), "flags": (20, "B"), "reserved": (21, "B")}


def poke(blob: bytes, at: int, fmt: str, value) -> bytes:
    data = bytearray(blob)
    struct.pack_into(fmt, data, at, value)
    return fix_crc(bytes(data))


def set_layer(blob: bytes, k: int, **fields) -> bytes:
    for name, value in fields.items():
        off, fmt = LAYER_FIELDS[name]
        blob = poke(blob, section(blob, SectionId.CNN_LAYERS)[0] + 32 * k + off, fmt, value)
    return blob


def layer(blob: bytes, k: int, name: str) -> int:
    off, fmt = LAYER_FIELDS[name]
    return struct.unpack_from(fmt, blob, section(blob, SectionId.CNN_LAYERS)[0] + 32 * k + off)[0]


def set_tensor(blob: bytes, t: int, **fields) -> bytes:
    for name, value in fields.items():
        off, fmt = TENSOR_FIELDS[name]
        blob = poke(blob, section(blob, SectionId.CNN_TENSORS)[0] + 16 * t + off, fmt, value)
    return blob


def tensor(blob: bytes, t: int, name: str) -> int:
    off, fmt = TENSOR_FIELDS[name]
    return struct.unpack_from(fmt, blob, section(blob, SectionId.CNN_TENSORS)[0] + 16 * t + off)[0]


def set_param(blob: bytes, name: str, value) -> bytes:
    off, fmt = PARAM_FIELDS[name]
    return poke(blob, section(blob, SectionId.CNN_PARAMS)[0] + off, fmt, value)


def set_qparam(blob: bytes, k: int, i: int, value: int) -> bytes:
    first = layer(blob, k, "qparams_offset")
    return poke(blob, section(blob, SectionId.CNN_QPARAMS)[0] + 4 * (first + i), "<i", value)


def without_section(blob: bytes, sid: int) -> bytes:
    m = read_blob(blob)
    sections = [(e.id, blob[e.offset:e.offset + e.size]) for e in m.sections if e.id != sid]
    return write_blob(kind=m.kind, task=m.task, input_type=m.input_type, n_inputs=m.n_inputs,
                      n_outputs=m.n_outputs, arena_bytes=m.arena_bytes, sections=sections)


def where(blob: bytes, k: int) -> str:
    return f"layer {k} ({CnnOp(layer(blob, k, 'op')).name}): "


def out_of(blob: bytes, k: int, name: str) -> int:
    return tensor(blob, layer(blob, k, "out"), name)


def in_of(blob: bytes, k: int, name: str) -> int:
    return tensor(blob, layer(blob, k, "in0"), name)


def unchained(blob: bytes, k: int) -> bytes:
    """Layer k's output with its dimensions rotated (same size, so the arena, n_outputs
    and the next layer's first checks still pass), or one row shorter."""
    t = layer(blob, k, "out")
    h, w, c = (tensor(blob, t, d) for d in "hwc")
    if len({h, w, c}) > 1:
        return set_tensor(blob, t, h=c, w=h, c=w)
    return set_tensor(blob, t, h=h - 1)


def overlapping(blob: bytes, k: int, other: int) -> bytes:
    """Layer k's output moved onto tensor ``other`` (inside the arena)."""
    t = layer(blob, k, "out")
    arena = read_blob(blob).cnn.tensor_arena_bytes
    size = tensor(blob, t, "h") * tensor(blob, t, "w") * tensor(blob, t, "c")
    return set_tensor(blob, t, offset=min(tensor(blob, other, "offset"), arena - size))


def _shape(cnn, t):
    return cnn.shape(t)


# (name, broken blob, words the C loader must say); each a function of the base (blob, k)
CASES: list[tuple[str, Callable[[], tuple[bytes, str]]]] = []


def case(name: str, op: CnnOp, need: Callable | None = None):
    def register(f: Callable[[bytes, int], tuple[bytes, str]]):
        CASES.append((name, lambda: f(*find(op, need))))
        return f
    return register


def model_case(name: str, make: Callable[[bytes], bytes], expect: Callable[[bytes], str] | str):
    def run() -> tuple[bytes, str]:
        blob = find(CnnOp.CONV_2D)[0]
        return make(blob), expect(blob) if callable(expect) else expect
    CASES.append((name, run))


CONV = CnnOp.CONV_2D
# the model
model_case("header_input_type", lambda b: poke(b, 21, "B", 0),
           "CNN: task 0, input type 0 (needs 0 and 1: int8)")
model_case("n_tensors", lambda b: set_param(b, "n_tensors", 1), "CNN: 1 tensors, ")
model_case("n_layers", lambda b: set_param(b, "n_layers", 0), " tensors, 0 layers (2..512, 1..512)")
model_case("io_same", lambda b: set_param(b, "output_tensor", read_blob(b).cnn.input_tensor),
           "CNN: bad input/output tensors ")
model_case("io_range", lambda b: set_param(b, "input_tensor", 999), "CNN: bad input/output tensors 999, ")
model_case("input_scale_nan", lambda b: set_param(b, "input_scale", float("nan")), "CNN: input scale not finite and positive")
model_case("output_scale_zero", lambda b: set_param(b, "output_scale", 0.0), "CNN: output scale not finite and positive")
model_case("output_scale_negative", lambda b: set_param(b, "output_scale", -1.0), "CNN: output scale not finite and positive")
model_case("output_scale_inf", lambda b: set_param(b, "output_scale", float("inf")), "CNN: output scale not finite and positive")
model_case("flags", lambda b: set_param(b, "flags", 4), "CNN: flags 4 or reserved bytes not zero")
model_case("params_reserved", lambda b: set_param(b, "reserved", 1), "CNN: flags 0 or reserved bytes not zero")
model_case("layers_size", lambda b: set_param(b, "n_layers", read_blob(b).cnn.n_layers + 1),
           "section id 50 has ")
model_case("no_qparams", lambda b: without_section(b, SectionId.CNN_QPARAMS), "missing section id 52")
model_case("tensor_zero_dim", lambda b: set_tensor(b, 1, c=0), "tensor 1: shape ")
model_case("tensor_reserved", lambda b: set_tensor(b, 1, reserved=1), "tensor 1: reserved field not zero")
model_case("tensor_zp", lambda b: set_tensor(b, 1, zero_point=128),
           "tensor 1: zero point 128 out of range")
model_case("tensor_zp_negative", lambda b: set_tensor(b, 1, zero_point=-129),
           "tensor 1: zero point -129 out of range")
model_case("tensor_arena", lambda b: set_tensor(b, 1, offset=0xFFFFFF00), "tensor 1: bytes [4294967040, ")
model_case("n_inputs", lambda b: poke(b, 24, "<I", read_blob(b).n_inputs + 1),
           lambda b: f"n_inputs {read_blob(b).n_inputs + 1}, the input tensor holds {read_blob(b).n_inputs}")
model_case("n_outputs", lambda b: poke(b, 28, "<I", read_blob(b).n_outputs + 1),
           lambda b: f"n_outputs {read_blob(b).n_outputs + 1}, the output tensor holds ")
model_case("arena_bytes", lambda b: poke(b, 32, "<I", read_blob(b).arena_bytes + 4),
           lambda b: f"arena_bytes {read_blob(b).arena_bytes + 4}, this model needs {read_blob(b).arena_bytes}")


def _first_weighted(b: bytes) -> int:
    return next(k for k in range(read_blob(b).cnn.n_layers) if layer(b, k, "op") in WEIGHT_OPS)


model_case("no_weights", lambda b: without_section(b, SectionId.CNN_WEIGHTS),
           lambda b: where(b, _first_weighted(b)) + "weights [")


def _unwritten_output(b: bytes) -> bytes:
    cnn = read_blob(b).cnn
    return cnn_blob(input_tensor=cnn.input_tensor, output_tensor=cnn.n_tensors,
                    input_scale=cnn.input_scale, output_scale=cnn.output_scale,
                    tensor_arena_bytes=cnn.tensor_arena_bytes, flags=cnn.flags,
                    tensors=np.concatenate([cnn.tensors, cnn.tensors[cnn.output_tensor:][:1]]),
                    layers=cnn.layers, weights=cnn.weights.tobytes(), qparams=cnn.qparams)


model_case("output_unwritten", _unwritten_output,
           lambda b: f"no layer writes the output tensor {read_blob(b).cnn.n_tensors}")


# one layer: its fields
@case("op_unknown", CONV)
def _(b, k): return set_layer(b, k, op=11), f"layer {k}: unknown op 11"
@case("op_zero", CONV)
def _(b, k): return set_layer(b, k, op=0), f"layer {k}: unknown op 0"
@case("tensor_index", CnnOp.FULLY_CONNECTED)
def _(b, k): return set_layer(b, k, in0=600), where(b, k) + "tensor 600 out of range"
@case("padding_on_fc", CnnOp.FULLY_CONNECTED)
def _(b, k): return set_layer(b, k, padding=1), where(b, k) + "padding is 1, must be 0"
@case("in1_on_conv", CONV)
def _(b, k): return set_layer(b, k, in1=1), where(b, k) + "in1 is 1, must be 0"
@case("stride_on_mean", CnnOp.MEAN)
def _(b, k): return set_layer(b, k, stride_w=2), where(b, k) + "stride_w is 2, must be 0"
@case("dilation_on_pool", CnnOp.MAX_POOL_2D)
def _(b, k): return set_layer(b, k, dilation_h=1), where(b, k) + "dilation_h is 1, must be 0"
@case("filter_on_add", CnnOp.ADD)
def _(b, k): return set_layer(b, k, filter_h=3), where(b, k) + "filter_h is 3, must be 0"
@case("pad_on_conv", CONV)
def _(b, k): return set_layer(b, k, pad_c=1), where(b, k) + "pad_c is 1, must be 0"
@case("reserved", CnnOp.PAD)
def _(b, k): return set_layer(b, k, reserved=7), where(b, k) + "reserved is 7, must be 0"
@case("weights_offset_on_pool", CnnOp.AVERAGE_POOL_2D)
def _(b, k): return set_layer(b, k, weights_offset=4), where(b, k) + "weights_offset is 4, must be 0"
@case("qparams_offset_on_reshape", CnnOp.RESHAPE)
def _(b, k): return set_layer(b, k, qparams_offset=1), where(b, k) + "qparams_offset is 1, must be 0"
@case("act_empty", CONV)
def _(b, k): return set_layer(b, k, act_min=5, act_max=4), where(b, k) + "act_min 5 above act_max 4"
@case("act_on_softmax", CnnOp.SOFTMAX)
def _(b, k):
    return (set_layer(b, k, act_min=0),
            where(b, k) + "act_min is 0, must be -128/127")
@case("act_on_mean", CnnOp.MEAN)
def _(b, k): return set_layer(b, k, act_max=100), where(b, k) + "act_max is 100, must be -128/127"
@case("padding_2", CONV)
def _(b, k): return set_layer(b, k, padding=2), where(b, k) + "padding is 2, must be 0 or 1"
@case("stride_0", CONV)
def _(b, k): return set_layer(b, k, stride_h=0), where(b, k) + "stride_h is 0, must be >= 1"
@case("filter_0", CnnOp.AVERAGE_POOL_2D)
def _(b, k): return set_layer(b, k, filter_w=0), where(b, k) + "filter_w is 0, must be >= 1"
@case("dilation_0", CnnOp.DEPTHWISE_CONV_2D)
def _(b, k): return set_layer(b, k, dilation_w=0), where(b, k) + "dilation_w is 0, must be >= 1"


# one layer: reads and writes
def _has_next(cnn, k):
    return k + 1 < cnn.n_layers


@case("read_before_write", CONV, _has_next)
def _(b, k):
    t = layer(b, k + 1, "out")
    return set_layer(b, k, in0=t), where(b, k) + f"reads tensor {t} before it is written"
@case("reads_own_output", CnnOp.FULLY_CONNECTED)
def _(b, k):
    t = layer(b, k, "out")
    return set_layer(b, k, in0=t), where(b, k) + f"reads tensor {t} before it is written"
@case("writes_input", CONV)
def _(b, k):
    t = read_blob(b).cnn.input_tensor
    return set_layer(b, k, out=t), where(b, k) + f"writes the input tensor {t}"
@case("written_twice", CnnOp.FULLY_CONNECTED, _has_next)
def _(b, k):
    t = layer(b, k, "out")
    return (set_layer(b, k + 1, out=t),
            where(b, k + 1) + f"tensor {t} already written by layer {k}")


# one layer: shapes
for _op in (CONV, CnnOp.DEPTHWISE_CONV_2D, CnnOp.FULLY_CONNECTED, CnnOp.MAX_POOL_2D,
            CnnOp.AVERAGE_POOL_2D, CnnOp.MEAN, CnnOp.ADD, CnnOp.SOFTMAX):
    case(f"chain_{_op.name.lower()}", _op, lambda cnn, k: max(cnn.shape(int(cnn.layers[k]["out"]))) > 1)(
        lambda b, k: (unchained(b, k), where(b, k) + "output shape "))


@case("valid_window", CONV)
def _(b, k):
    fh = in_of(b, k, "h") + 1
    eff = (fh - 1) * layer(b, k, "dilation_h") + 1
    return (set_layer(b, k, padding=0, filter_h=fh),
            where(b, k) + f"VALID window {eff} larger than input h {in_of(b, k, 'h')}")
@case("conv_products", CONV, lambda cnn, k: cnn.shape(int(cnn.layers[k]["in0"]))[2] >= 2)
def _(b, k):
    n = 255 * 255 * in_of(b, k, "c")
    return (set_layer(b, k, padding=1, filter_h=255, filter_w=255),
            where(b, k) + f"{n} products per output, above 65536")
@case("dw_channels", CnnOp.DEPTHWISE_CONV_2D, lambda cnn, k: cnn.shape(int(cnn.layers[k]["in0"]))[2] >= 2)
def _(b, k):
    c = out_of(b, k, "c") - 1
    return (set_tensor(b, layer(b, k, "out"), c=c),
            where(b, k) + f"{c} output channels for {in_of(b, k, 'c')} input")
@case("pool_zero_point", CnnOp.MAX_POOL_2D)
def _(b, k):
    zp = in_of(b, k, "zero_point")
    other = zp + 1 if zp < 127 else zp - 1
    return (set_tensor(b, layer(b, k, "out"), zero_point=other),
            where(b, k) + f"output zero point {other}, input {zp}")
@case("pad_zero_point", CnnOp.PAD)
def _(b, k):
    zp = in_of(b, k, "zero_point")
    other = zp + 1 if zp < 127 else zp - 1
    return (set_tensor(b, layer(b, k, "out"), zero_point=other),
            where(b, k) + f"output zero point {other}, input {zp}")
@case("pad_size", CnnOp.PAD)
def _(b, k):
    h = out_of(b, k, "h")
    return (set_layer(b, k, pad_h=h),
            where(b, k) + f"output h {h} below input + padding {h + in_of(b, k, 'h')}")
@case("add_shapes", CnnOp.ADD)
def _(b, k):
    cnn = read_blob(b).cnn
    mine = cnn.shape(layer(b, k, "in0"))
    earlier = [cnn.input_tensor] + [layer(b, j, "out") for j in range(k)]
    other = next(t for t in earlier if cnn.shape(t) != mine)
    return set_layer(b, k, in1=other), where(b, k) + "input shapes differ"
@case("softmax_zero_point", CnnOp.SOFTMAX)
def _(b, k):
    return (set_tensor(b, layer(b, k, "out"), zero_point=-127),
            where(b, k) + "output zero point -127, must be -128")
@case("reshape_size", CnnOp.RESHAPE, lambda cnn, k: max(cnn.shape(int(cnn.layers[k]["out"]))) > 1)
def _(b, k):
    t = layer(b, k, "out")
    dims = [tensor(b, t, d) for d in "hwc"]
    i = next(i for i, d in enumerate(dims) if d > 1)
    n_out = (dims[0] * dims[1] * dims[2]) // dims[i] * (dims[i] - 1)
    n_in = in_of(b, k, "h") * in_of(b, k, "w") * in_of(b, k, "c")
    return (set_tensor(b, t, **{"hwc"[i]: dims[i] - 1}),
            where(b, k) + f"{n_out} values out, {n_in} in")


# one layer: weights and qparams
@case("weights_bounds", CONV)
def _(b, k): return set_layer(b, k, weights_offset=1 << 20), where(b, k) + "weights [1048576, "
@case("qparams_bounds", CnnOp.FULLY_CONNECTED)
def _(b, k): return set_layer(b, k, qparams_offset=1 << 20), where(b, k) + "qparams [1048576, "
@case("channel_multiplier", CONV)
def _(b, k):
    return (set_qparam(b, k, out_of(b, k, "c"), 5),
            where(b, k) + "multiplier[0] 5 out of range")
@case("channel_multiplier_negative", CnnOp.DEPTHWISE_CONV_2D)
def _(b, k):
    c = out_of(b, k, "c")
    return (set_qparam(b, k, c + c - 1, -(1 << 30)),
            where(b, k) + f"multiplier[{c - 1}] -1073741824 out of range")
@case("channel_shift", CnnOp.DEPTHWISE_CONV_2D)
def _(b, k):
    return set_qparam(b, k, 2 * out_of(b, k, "c"), 31), where(b, k) + "shift[0] 31 out of range"
@case("fc_scale_negative", CnnOp.FULLY_CONNECTED)
def _(b, k):
    c = out_of(b, k, "c")
    lo, hi = struct.unpack("<ii", struct.pack("<d", -0.5))
    return (set_qparam(set_qparam(b, k, c + 2 * (c - 1), lo), k, c + 2 * (c - 1) + 1, hi),
            where(b, k) + f"scale[{c - 1}] not finite and >= 0")
@case("fc_scale_nan", CnnOp.FULLY_CONNECTED)
def _(b, k):
    c = out_of(b, k, "c")
    return set_qparam(b, k, c + 1, 0x7FF80000), where(b, k) + "scale[0] not finite and >= 0"
@case("fc_scale_inf", CnnOp.FULLY_CONNECTED)
def _(b, k):
    c = out_of(b, k, "c")
    return (set_qparam(set_qparam(b, k, c, 0), k, c + 1, 0x7FF00000),
            where(b, k) + "scale[0] not finite and >= 0")
@case("channel_shift_low", CONV)
def _(b, k): return set_qparam(b, k, 2 * out_of(b, k, "c"), -32), where(b, k) + "shift[0] -32 out of range"
@case("mean_multiplier", CnnOp.MEAN)
def _(b, k): return set_qparam(b, k, 0, -1), where(b, k) + "multiplier -1 out of range"
@case("mean_shift", CnnOp.MEAN)
def _(b, k): return set_qparam(b, k, 1, 31), where(b, k) + "shift 31 out of range"
@case("add_left_shift", CnnOp.ADD)
def _(b, k): return set_qparam(b, k, 0, 21), where(b, k) + "left_shift 21 out of range"
@case("add_input1_multiplier", CnnOp.ADD)
def _(b, k):
    return (set_qparam(b, k, 1, 12345),
            where(b, k) + "input1_multiplier 12345 out of range")
@case("add_input2_shift", CnnOp.ADD)
def _(b, k): return set_qparam(b, k, 4, 1), where(b, k) + "input2_shift 1 out of range"
@case("add_output_shift", CnnOp.ADD)
def _(b, k): return set_qparam(b, k, 6, -32), where(b, k) + "output_shift -32 out of range"
@case("softmax_multiplier", CnnOp.SOFTMAX)
def _(b, k): return set_qparam(b, k, 0, 1), where(b, k) + "input_multiplier 1 out of range"
@case("softmax_left_shift", CnnOp.SOFTMAX)
def _(b, k): return set_qparam(b, k, 1, 32), where(b, k) + "input_left_shift 32 out of range"
@case("softmax_diff_min_positive", CnnOp.SOFTMAX)
def _(b, k): return set_qparam(b, k, 2, 1), where(b, k) + "diff_min 1 out of range"
@case("softmax_diff_min_radius", CnnOp.SOFTMAX)
def _(b, k):
    return (set_qparam(set_qparam(b, k, 1, 31), k, 2, -1),
            where(b, k) + "diff_min -1 out of range")


# the arena plan
@case("overlap_with_input", CONV)
def _(b, k):
    return overlapping(b, k, layer(b, k, "in0")), where(b, k) + "live tensors "
@case("overlap_add_inputs", CnnOp.ADD)
def _(b, k):
    return overlapping(b, k, layer(b, k, "in1")), where(b, k) + "live tensors "


@pytest.mark.parametrize("name,make", CASES, ids=[c[0] for c in CASES])
def test_broken_rule_refused(name, make, tmp_path):
    """A good blob with one rule broken: the sanitized C loader refuses it with the
    words of that rule (naming the layer and its op), and the Python reader refuses it
    too."""
    blob, want = make()
    for driver in DRIVERS:
        result = run_driver(driver, blob, None, tmp_path)
        assert result.returncode == 3 and result.stderr == "", result.stdout + result.stderr
        assert result.stdout.startswith("load-error ") and want in result.stdout, (want, result.stdout)
    with pytest.raises(ValueError):
        read_blob(blob)


def test_softmax_depth_limit(tmp_path):
    """A softmax over 512 values is refused (TFLite's int8 softmax shifts past 31 bits
    there); 511 load and run."""
    for c, ok in ((511, True), (512, False)):
        b = ModelBuilder()
        x = b.tensor((1, c), scale=0.05, zero_point=3)
        y = b.tensor((1, c), scale=1 / 256, zero_point=-128)
        b.op("SOFTMAX", [x], [y], "SoftmaxOptions", beta=1.0)
        tfl = b.build([x], [y])
        if ok:
            blob = convert_tflite(tfl)
            q = int8_samples(np.random.default_rng(c), c, 4)
            want = np.array([Oracle(tfl)(row).reshape(-1) for row in q])
            _, _, ints = parse_lines(run_driver(DRIVERS[0], blob, q.tobytes(), tmp_path), c)
            assert np.array_equal(ints, want)
            continue
        blob = _softmax_blob(c)
        result = run_driver(DRIVERS[0], blob, None, tmp_path)
        assert "layer 0 (SOFTMAX): 512 channels, at most 511" in result.stdout, result.stdout


def test_mean_cells_limit(tmp_path):
    """MEAN over more than 2^23 cells (its int32 sum of raw values could overflow) is
    refused: a small PAD -> MEAN network whose padded tensor is made huge."""
    b = ModelBuilder()
    x = b.tensor((1, 2, 2, 1), scale=0.1, zero_point=0)
    pads = b.tensor((4, 2), "int32", data=[0, 0, 1, 1, 1, 1, 0, 0])
    p = b.tensor((1, 4, 4, 1), scale=0.1, zero_point=0)
    axes = b.tensor((2,), "int32", data=[1, 2])
    y = b.tensor((1, 1, 1, 1), scale=0.1, zero_point=0)
    b.op("PAD", [x, pads], [p])
    b.op("MEAN", [p, axes], [y], "ReducerOptions", keep_dims=True)
    cnn = read_blob(convert_tflite(b.build([x], [y]))).cnn
    tensors = cnn.tensors.copy()
    big = int(cnn.layers[0]["out"])
    tensors[big]["h"], tensors[big]["w"] = 4096, 2049
    tensors[big]["offset"] = 64
    for t in range(len(tensors)):
        if t != big:
            tensors[t]["offset"] = 8 * t
    blob = cnn_blob(input_tensor=cnn.input_tensor, output_tensor=cnn.output_tensor,
                    input_scale=cnn.input_scale, output_scale=cnn.output_scale,
                    tensor_arena_bytes=64 + 4096 * 2049, flags=cnn.flags, tensors=tensors,
                    layers=cnn.layers, weights=b"", qparams=cnn.qparams)
    result = run_driver(DRIVERS[0], blob, None, tmp_path)
    assert "layer 1 (MEAN): mean over 8392704 cells, above 2^23" in result.stdout, result.stdout
    with pytest.raises(ValueError):
        read_blob(blob)


def _softmax_blob(c: int) -> bytes:
    """A one-layer softmax blob over c values, written directly (the converter refuses
    c > 511 itself)."""
    small = convert_tflite(_one_softmax(8))
    cnn = read_blob(small).cnn
    tensors = cnn.tensors.copy()
    tensors["c"] = c
    tensors["offset"] = [0, (c + 3) // 4 * 4]
    return cnn_blob(input_tensor=cnn.input_tensor, output_tensor=cnn.output_tensor,
                    input_scale=cnn.input_scale, output_scale=cnn.output_scale,
                    tensor_arena_bytes=2 * ((c + 3) // 4 * 4), flags=cnn.flags, tensors=tensors,
                    layers=cnn.layers, weights=b"", qparams=cnn.qparams)


def _one_softmax(c: int) -> bytes:
    b = ModelBuilder()
    x = b.tensor((1, c), scale=0.05, zero_point=3)
    y = b.tensor((1, c), scale=1 / 256, zero_point=-128)
    b.op("SOFTMAX", [x], [y], "SoftmaxOptions", beta=1.0)
    return b.build([x], [y])


def test_random_corruptions_agree_with_the_python_reader(tmp_path):
    """Random byte changes inside the CNN sections, CRC fixed: the sanitized C loader and
    the Python reader accept and refuse the same blobs, and an accepted blob runs."""
    rng = np.random.default_rng(7)
    disagreements = []
    for seed in BASE_SEEDS:
        good = network(seed)[2]
        n_inputs = read_blob(good).n_inputs
        x = int8_samples(rng, n_inputs, 4).tobytes()
        spans = [section(good, sid) for sid in (SectionId.CNN_PARAMS, SectionId.CNN_TENSORS,
                                                SectionId.CNN_LAYERS, SectionId.CNN_QPARAMS)]
        for trial in range(25):
            data = bytearray(good)
            for _ in range(int(rng.integers(1, 3))):
                off, size = spans[int(rng.integers(len(spans)))]
                data[off + int(rng.integers(size))] = int(rng.integers(256))
            blob = fix_crc(bytes(data))
            result = run_driver(DRIVERS[1], blob, x, tmp_path)
            assert result.returncode in (0, 3) and result.stderr == "", (seed, trial, result.stderr)
            try:
                read_blob(blob)
                python_ok = True
            except ValueError:
                python_ok = False
            if python_ok != (result.returncode == 0):
                disagreements.append((seed, trial, result.stdout.splitlines()[:1]))
    assert not disagreements, disagreements
