"""Constant operands of several values (a constant tensor of the blob, FORMAT.md) and ADD
of two activations that broadcast (issue 15): Keras' Normalization, per-channel scales
and offsets, full-shape constants, on either side of ADD, SUB, MUL, MAXIMUM and MINIMUM.
TFLite's reference interpreter (BUILTIN_REF) is the oracle; the NumPy reference and both
sanitized C drivers must give its int8 outputs on every input."""

from __future__ import annotations

import os

import numpy as np
import pytest
from emlml_dev import tflite_build
from emlml_dev.tflite_build import ACT_NONE, ACT_RELU, ACT_RELU6, ACT_RELU_N1_TO_1, ModelBuilder
from emlml_tools.convert.tflite_cnn import convert_tflite
from emlml_tools.format import CnnOp, read_blob
from emlml_tools.oracle import Oracle
from emlml_tools.runtime import cnn as reference_cnn
from runtimes import run_driver
from test_core_cnn import DRIVERS, edge_params, int8_samples, parse_lines

N_CHUNKS, PER_CHUNK = 4, 15


def _constant_layers(blob: bytes) -> list[tuple[int, bool]]:
    """(op, constant is in0) of every layer that reads a constant tensor."""
    cnn = read_blob(blob).cnn
    const = {t for t in range(cnn.n_tensors) if int(cnn.tensors[t]["flags"])}
    return [(int(L["op"]), int(L["in0"]) in const) for L in cnn.layers
            if int(L["in0"]) in const or int(L["in1"]) in const]


def _check(tfl: bytes, float_input: bool, q_in: np.ndarray, tmp_path, name: str) -> bytes:
    """TFLite, the NumPy reference and both C drivers agree on int8 inputs ``q_in``."""
    blob = convert_tflite(tfl)
    oracle = Oracle(tfl)
    in_scale, in_zp, _, _ = edge_params(blob)
    feed = (((q_in.astype(np.float64) - in_zp) * in_scale).astype(np.float32)
            if float_input else q_in)
    want = np.array([oracle(row).reshape(-1) for row in feed])
    assert np.array_equal(reference_cnn.predict_int8(blob, q_in), want), name
    for driver in DRIVERS:
        _, _, ints = parse_lines(run_driver(driver, blob, q_in.tobytes(), tmp_path), want.shape[1])
        assert np.array_equal(ints, want), (name, driver)
    return blob


@pytest.mark.parametrize("chunk", range(N_CHUNKS))
def test_random_constant_networks_match_tflite(chunk, tmp_path):
    """60 random networks (tflite_build.constant_tensor_network): Normalization-like SUB
    and MUL by (C,) constants after the input, convolutions or Dense layers with 1-3
    constant ops each (per channel, per row/column/position, full shape, larger than the
    activation; either side; fused activations; some extreme output scales) and
    broadcasting ADDs of two activations; 10 inputs each, the extremes among them."""
    for seed in range(chunk * PER_CHUNK, (chunk + 1) * PER_CHUNK):
        rng = np.random.default_rng(1000 + seed)
        tfl, desc = tflite_build.constant_tensor_network(rng)
        n_in = int(np.prod(desc["input_shape"]))
        blob = _check(tfl, desc["float_input"], int8_samples(rng, n_in), tmp_path, f"seed {seed}")
        assert _constant_layers(blob) or not any("constant" in x for x in desc["layers"])


def test_random_constant_networks_cover_every_op_and_side():
    """The 60 networks read a constant with each of the five ops, as in0 and as in1, and
    hold Normalization-shaped heads and broadcasting ADDs of two activations."""
    seen: set[tuple[int, bool]] = set()
    normalization = add_broadcast = 0
    for seed in range(N_CHUNKS * PER_CHUNK):
        tfl, desc = tflite_build.constant_tensor_network(np.random.default_rng(1000 + seed))
        seen.update(_constant_layers(convert_tflite(tfl)))
        normalization += desc["normalization"]
        add_broadcast += any(x["op"] == "ADD" and "operand" in x for x in desc["layers"])
    ops = (CnnOp.ADD, CnnOp.SUB, CnnOp.MUL, CnnOp.MAXIMUM, CnnOp.MINIMUM)
    assert seen >= {(int(op), first) for op in ops for first in (False, True)}, seen
    assert normalization >= 10 and add_broadcast >= 5, (normalization, add_broadcast)


def _normalization_net(float_input: bool) -> bytes:
    """Keras' Normalization(axis=-1) -> Conv2D(relu) -> Rescaling(scale=[..], offset=[..])
    -> GlobalAveragePooling -> Dense: SUB then MUL by (C,) constants right after the
    input QUANTIZE, then MUL and ADD by (1, 1, 1, C) constants."""
    rng = np.random.default_rng(5)
    net = tflite_build._RandomNet(rng)
    b = net.b
    x0 = net.new((1, 8, 8, 3), 0.02, -5, 60.0)
    model_in = x0.index
    if float_input:
        model_in = b.tensor((1, 8, 8, 3), "float32")
        b.op("QUANTIZE", [model_in], [x0.index])
    x = net.constant(x0, "SUB", (3,))
    x = net.constant(x, "MUL", (3,))
    x = net.conv(x)
    x = net.constant(x, "MUL", (1, 1, 1, x.shape[-1]))
    x = net.constant(x, "ADD", (1, 1, 1, x.shape[-1]))
    x = net.mean(x, keep_dims=False)
    x = net.fc(x, 4)
    return b.build([model_in], [x.index])


@pytest.mark.parametrize("float_input", [True, False])
def test_keras_normalization_network_matches_tflite(float_input, tmp_path):
    tfl = _normalization_net(float_input)
    rng = np.random.default_rng(6)
    blob = _check(tfl, float_input, int8_samples(rng, 8 * 8 * 3, 16), tmp_path, "normalization")
    assert [op for op, _ in _constant_layers(blob)] == [CnnOp.SUB, CnnOp.MUL, CnnOp.MUL, CnnOp.ADD]


def _every_pair_model(op: str, constant_first: bool, act: int, zps: tuple[int, int, int],
                      scales: tuple[float, float, float]) -> bytes:
    """op of x (1, 256) and a constant (256,) holding every int8 value once."""
    b = ModelBuilder()
    x = b.tensor((1, 256), scale=scales[0], zero_point=zps[0])
    c = b.tensor((256,), scale=scales[1], zero_point=zps[1], data=np.arange(-128, 128))
    y = b.tensor((1, 256), scale=scales[2], zero_point=zps[2])
    ins = [c, x] if constant_first else [x, c]
    if op in ("ADD", "SUB", "MUL"):
        b.op(op, ins, [y], op.capitalize() + "Options", fused_activation_function=act)
    else:
        b.op(op, ins, [y])
    return b.build([x], [y])


@pytest.mark.parametrize("op", ["ADD", "SUB", "MUL", "MAXIMUM", "MINIMUM"])
def test_every_value_against_every_constant_value(op, tmp_path):
    """Each of the 65,536 pairs (x, constant) of int8 values (256 inputs, each a rotation
    of -128..127, against a constant of every value), both operand orders, fused NONE,
    RELU, RELU6, RELU_N1_TO_1, zero points -128 and 127, and scales whose rescale
    multipliers are extreme (output scale 1000 times below or above the inputs')."""
    rng = np.random.default_rng(hash(op) % 1000)
    q_in = np.array([np.roll(np.arange(-128, 128), k) for k in range(256)], dtype=np.int8)
    cases = [(False, ACT_NONE, (-128, 127, -128), (0.05, 0.01, 0.04)),
             (True, ACT_RELU, (127, -128, 127), (0.02, 0.3, 0.05)),
             (False, ACT_RELU6, (0, 127, -128), (0.1, 0.1, 0.05)),
             (True, ACT_RELU_N1_TO_1, (-7, 3, 0), (0.01, 0.02, 0.01)),
             (True, ACT_NONE, (-128, -128, 127), (0.05, 0.07, 5e-5 if op != "MUL" else 5e-6)),
             (False, ACT_NONE, (127, 127, -128), (0.05, 0.07, 50.0))]
    for first, act, zps, scales in cases:
        scales = tuple(float(np.float32(s * rng.uniform(0.9, 1.1))) for s in scales)
        tfl = _every_pair_model(op, first, act, zps, scales)
        _check(tfl, False, q_in, tmp_path, f"{op} {first} {act} {zps} {scales}")


def test_add_of_two_broadcasting_activations(tmp_path):
    """ADD of HxWxC and 1x1xC (squeeze-and-excite style), 1xWxC and Hx1x1, either order,
    with fused activations: one broadcasting ADD layer, TFLite's outputs."""
    rng = np.random.default_rng(11)
    for i in range(8):
        net = tflite_build._RandomNet(rng)
        x0 = net.new((1, 5, 4, 3), 0.03, net.zp(), 60.0)
        x = net.conv(x0)
        y = net.binary(x, "ADD")
        tfl = net.b.build([x0.index], [y.index])
        blob = _check(tfl, False, int8_samples(rng, 60), tmp_path, f"add {i}")
        assert CnnOp.ADD in [int(L["op"]) for L in read_blob(blob).cnn.layers]


UNIX_SCRIPT = """
import array, emlml
m = emlml.load("m.bin")
raw = open("x.bin", "rb").read()
out = array.array("b", bytes(m.n_outputs))
for i in range(len(raw) // m.n_inputs):
    m.predict_proba(array.array("b", raw[i * m.n_inputs:(i + 1) * m.n_inputs]), out)
    print(" ".join(str(v) for v in out))
"""


@pytest.mark.parametrize("natmod", ["every family", "cnn"])
def test_constant_networks_on_the_micropython_unix_runtime(natmod, tmp_path):
    """The Normalization network and 6 random constant networks on MicroPython's unix
    runtime (the x64 native module of every family, and of the CNN family alone): the
    int8 outputs TFLite gives."""
    from runtimes import NATMOD_X64, run_micropython

    folder = NATMOD_X64 if natmod == "every family" else os.path.join(NATMOD_X64, "cnn")
    nets = [(_normalization_net(False), False)]
    rng = np.random.default_rng(77)
    for _ in range(6):
        tfl, desc = tflite_build.constant_tensor_network(rng)
        nets.append((tfl, desc["float_input"]))
    (tmp_path / "run.py").write_text(UNIX_SCRIPT)
    for k, (tfl, float_input) in enumerate(nets):
        blob = convert_tflite(tfl)
        model = read_blob(blob)
        q_in = int8_samples(rng, model.n_inputs, 6)
        in_scale, in_zp, _, _ = edge_params(blob)
        feed = (((q_in.astype(np.float64) - in_zp) * in_scale).astype(np.float32)
                if float_input else q_in)
        oracle = Oracle(tfl)
        want = np.array([oracle(row).reshape(-1) for row in feed])
        (tmp_path / "m.bin").write_bytes(blob)
        (tmp_path / "x.bin").write_bytes(q_in.tobytes())
        result = run_micropython("run.py", str(tmp_path), natmod=folder)
        assert result.returncode == 0, result.stdout + result.stderr
        got = np.array([[int(v) for v in line.split()] for line in result.stdout.splitlines()])
        assert np.array_equal(got, want), k
