"""int8 CNN parity: the NumPy reference runtime (reference_cnn) against TFLite's reference
kernels (the interpreter with OpResolverType.BUILTIN_REF), every output element of every
input, on random networks built as .tflite flatbuffers (tflite_build.random_network) and on
hand-made edge cases (ties, overflow, saturation)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from emlml_dev.tflite_build import (
    ACT_NONE,
    ACT_RELU,
    ACT_RELU6,
    SAME,
    VALID,
    ModelBuilder,
    ELEMENTWISE_OPS,
    RELU_OPS,
    _RandomNet,
    edge_networks,
    random_network,
    constant_operand_networks,
    softmax_sum_networks,
)
from emlml_tools.convert.tflite_cnn import convert_tflite
from emlml_tools.format import read_blob
from emlml_tools.oracle import Oracle
from emlml_tools.runtime.cnn import (
    dequantize_output,
    predict,
    predict_int8,
    quantize_input,
    softmax_sum_beyond_tflite,
)

F32 = np.float32
INPUTS_PER_NETWORK = 4


def _inputs(rng: np.random.Generator, shape: tuple[int, ...], float_input: bool,
            scale: float, n: int) -> list[np.ndarray]:
    out = []
    for k in range(n):
        if float_input:  # around the quantized range, sometimes beyond it
            spread = scale * (60 if k % 2 else 200)
            out.append((rng.standard_normal(shape) * spread).astype(F32))
        else:
            out.append(rng.integers(-128, 128, shape).astype(np.int8))
    return out


def _check_network(seed: int, tflite_may_refuse: bool = False, **kwargs: bool) -> int:
    """Convert one random network and compare it on several inputs; returns the count of
    output elements compared (0: TFLite itself refuses the network's scales, allowed with
    ``tflite_may_refuse``)."""
    rng = np.random.default_rng(seed)
    data, desc = random_network(rng, **kwargs)
    try:
        oracle = Oracle(data)
    except RuntimeError:  # e.g. no_integer_overflow_from_quantization at Prepare
        if tflite_may_refuse:
            return 0
        raise
    blob = convert_tflite(data)
    model = read_blob(blob)
    compared = 0
    for x in _inputs(rng, desc["input_shape"], desc["float_input"],
                     model.cnn.input_scale, INPUTS_PER_NETWORK):
        expected = oracle(x).reshape(-1)
        q = quantize_input(model, x.reshape(-1)) if desc["float_input"] else x.reshape(-1)
        got = predict_int8(model, q)
        if desc["float_output"]:
            assert expected.dtype == np.float32
            got = dequantize_output(model, got)
        else:
            assert expected.dtype == np.int8
        assert np.array_equal(got, expected), (
            f"seed {seed}: {[layer['op'] for layer in desc['layers']]}\n"
            f"tflite    {expected.tolist()}\nreference {got.tolist()}")
        compared += expected.size
    return compared


@pytest.mark.parametrize("chunk", range(10))
def test_random_networks(chunk: int) -> None:
    """400 random networks (40 per chunk), every op in the mix, int8 and float edges."""
    for seed in range(chunk * 40, chunk * 40 + 40):
        assert _check_network(seed) > 0


@pytest.mark.parametrize("float_input,float_output", [(True, False), (False, True),
                                                      (True, True)])
def test_random_networks_float_edges(float_input: bool, float_output: bool) -> None:
    """QUANTIZE / DEQUANTIZE at the edges: float outputs equal bit for bit."""
    for seed in range(1000, 1020):
        _check_network(seed, float_input=float_input, float_output=float_output)


def test_random_networks_1d() -> None:
    """Time-series networks: EXPAND_DIMS, height-1 convolutions, SQUEEZE, MEAN over time."""
    for seed in range(2000, 2030):
        _check_network(seed, one_d=True)


@pytest.mark.parametrize("chunk", range(3))
def test_random_networks_elementwise(chunk: int) -> None:
    """120 random networks with the table ops (LOGISTIC, TANH, LEAKY_RELU, HARD_SWISH,
    QUANTIZE int8 to int8) after their layers and on their heads, and two-branch blocks
    joined by CONCATENATION (2 or 3 inputs, along channels, height or width)."""
    checked = sum(_check_network(seed, True, elementwise=True, branches=True) > 0
                  for seed in range(3000 + chunk * 40, 3000 + chunk * 40 + 40))
    assert checked >= 38  # TFLite refuses about one random network in 300


@pytest.mark.parametrize("chunk", range(2))
def test_random_networks_transpose_conv(chunk: int) -> None:
    """80 random networks with TRANSPOSE_CONV layers (Keras' Conv2DTranspose: filter 1-4,
    stride 1-2, SAME and VALID, with and without bias, every fused activation) among
    the other ops, int8 and float edges."""
    layers = checked = 0
    for seed in range(5000 + chunk * 40, 5000 + chunk * 40 + 40):
        checked += _check_network(seed, True, transpose=True) > 0
        desc = random_network(np.random.default_rng(seed), transpose=True)[1]
        layers += sum(layer["op"] == "TRANSPOSE_CONV" for layer in desc["layers"])
    assert checked >= 38 and layers >= 20, (checked, layers)


def test_table_ops_every_input_value() -> None:
    """Each table op alone, 40 random quantizations each (input scale 1e-3 .. 2, any
    zero point, the output quantizations Keras exports and others; LEAKY_RELU alphas
    0 .. 2.5; the ReLU operators with output scales 0.3-3 times the input's, so that
    their bounds fall inside and outside int8): the reference equals TFLite on all 256
    int8 input values."""
    rng = np.random.default_rng(77)
    every = np.arange(-128, 128, dtype=np.int8)
    for op in ELEMENTWISE_OPS + RELU_OPS:
        for _ in range(40):
            net = _RandomNet(rng)
            scale = float(np.exp(rng.uniform(np.log(1e-3), np.log(2.0))))
            x = net.new((1, 16, 16), scale, int(rng.integers(-128, 128)), 60.0)
            y = net.elementwise(x, op)
            data = net.b.build([x.index], [y.index])
            got = predict_int8(convert_tflite(data), every)
            assert np.array_equal(got, Oracle(data)(every).reshape(-1)), (op, net.layers)


def test_predict_gives_class_and_floats() -> None:
    rng = np.random.default_rng(7)
    data, desc = random_network(rng, float_input=True, float_output=True)
    blob = convert_tflite(data)
    x = (rng.standard_normal(desc["input_shape"]) * 0.5).astype(F32)
    cls, y = predict(blob, x.reshape(-1))
    expected = Oracle(data)(x).reshape(-1)
    assert np.array_equal(y, expected)
    q = predict_int8(blob, quantize_input(blob, x.reshape(-1)))
    assert cls == int(np.argmax(q))
    with pytest.raises(ValueError, match="NaN"):
        quantize_input(blob, np.full(x.size, np.nan, F32))


# ---------------------------------------------------------------------------- edges


def _single_op_model(op: str, x_shape: tuple[int, ...], x_q: tuple[float, int],
                     y_shape: tuple[int, ...], y_q: tuple[float, int], options: str | None,
                     extra: list[int] | None = None, b: ModelBuilder | None = None,
                     **opts: object) -> bytes:
    b = b or ModelBuilder()
    x = b.tensor(x_shape, scale=x_q[0], zero_point=x_q[1])
    y = b.tensor(y_shape, scale=y_q[0], zero_point=y_q[1])
    b.op(op, [x] + (extra or []), [y], options, **opts)
    return b.build([x], [y])


def _compare(data: bytes, inputs: list[np.ndarray]) -> None:
    blob = convert_tflite(data)
    oracle = Oracle(data)
    for x in inputs:
        expected = oracle(x).reshape(-1)
        got = predict_int8(blob, x.reshape(-1))
        assert np.array_equal(got, expected), f"{expected.tolist()} != {got.tolist()}"


def _fc(b: ModelBuilder, weights: np.ndarray, w_scale: float, bias: np.ndarray,
        x_q: tuple[float, int], y_q: tuple[float, int]) -> bytes:
    n_out, n_in = weights.shape
    x = b.tensor((1, n_in), scale=x_q[0], zero_point=x_q[1])
    w = b.tensor(weights.shape, scale=w_scale, zero_point=0, data=weights)
    bias_t = b.tensor((n_out,), "int32", scale=float(F32(x_q[0]) * F32(w_scale)),
                      zero_point=0, data=bias)
    y = b.tensor((1, n_out), scale=y_q[0], zero_point=y_q[1])
    b.op("FULLY_CONNECTED", [x, w, bias_t], [y], "FullyConnectedOptions")
    return b.build([x], [y])


@pytest.mark.parametrize("out_scale,acc,expected", [
    (6341039.5, 878233971, 139),  # round(acc * m * 2^(s-31)) would give 138
    (8180837.5, 658557419, 81),   # ... 80: the kernel rescales with the double scale
])
def test_fully_connected_rescales_in_double(out_scale: float, acc: int, expected: int
                                            ) -> None:
    zp = max(-expected, -128)
    data = _fc(ModelBuilder(), np.array([[1]]), 1.0, np.array([acc]), (1.0, 0),
               (out_scale, zp))
    assert int(Oracle(data)(np.zeros((1, 1)))[0, 0]) == expected + zp
    _compare(data, [np.zeros((1, 1), np.int8)])


def test_fully_connected_ties_round_away_from_zero() -> None:
    """A scale of 0.5, 0.25, 0.125: exact halves go away from zero."""
    for out_scale in (2.0, 4.0, 8.0):
        data = _fc(ModelBuilder(), np.array([[1], [-1]]), 1.0, np.array([0, 0]), (1.0, 0),
                   (out_scale, 0))
        _compare(data, [np.array([[v]], np.int8) for v in range(-9, 10)])


@pytest.mark.parametrize("zp", [-100, 0, 100])
def test_fully_connected_overflow_wraps_like_tflite(zp: int) -> None:
    """A result outside int32 becomes INT32_MIN, then the zero point is added with wrap."""
    data = _fc(ModelBuilder(), np.array([[1]]), 0.5, np.array([1 << 30]), (1.0, 0),
               (0.5 / 1024, zp))
    _compare(data, [np.array([[v]], np.int8) for v in (-5, 0, 5)])


@pytest.mark.parametrize("depthwise", [False, True])
def test_conv_overflow_and_large_multipliers(depthwise: bool) -> None:
    """Huge biases (int32 wrap of the accumulator) and multipliers up to 2^13 (the left
    shift of MultiplyByQuantizedMultiplier wraps)."""
    for seed in range(12):
        rng = np.random.default_rng(seed)
        b = ModelBuilder()
        n_in, n_out = 3, 6
        xs = float(F32(rng.uniform(0.01, 0.3)))
        ws = F32(rng.uniform(0.001, 0.05, n_out))
        kind = seed % 3
        bias = [rng.integers(-2 ** 31, 2 ** 31, n_out),
                rng.integers(2 ** 31 - 20000, 2 ** 31, n_out),
                rng.integers(-2 ** 12, 2 ** 12, n_out)][kind]
        mult = (rng.uniform(1.5, 2 ** int(rng.integers(1, 14)), n_out) if kind != 1
                else rng.uniform(0.001, 0.1, n_out))
        x = b.tensor((1, 2, 2, n_in), scale=xs, zero_point=int(rng.integers(-50, 50)))
        shape = (1, 2, 2, n_out) if depthwise else (n_out, 2, 2, n_in)
        w = b.tensor(shape, scale=ws.tolist(), zero_point=[0] * n_out,
                     axis=3 if depthwise else 0, data=rng.integers(-127, 128, shape))
        bias_t = b.tensor((n_out,), "int32", scale=(F32(xs) * ws).tolist(),
                          zero_point=[0] * n_out, data=bias)
        y = b.tensor((1, 1, 1, n_out), scale=float(F32(xs * float(ws.min()) / mult.max())),
                     zero_point=int(rng.integers(-128, 128)))
        if depthwise:
            b.op("DEPTHWISE_CONV_2D", [x, w, bias_t], [y], "DepthwiseConv2DOptions",
                 padding=VALID, stride_w=1, stride_h=1, depth_multiplier=2)
        else:
            b.op("CONV_2D", [x, w, bias_t], [y], "Conv2DOptions", padding=VALID,
                 stride_w=1, stride_h=1)
        _compare(b.build([x], [y]),
                 [rng.integers(-128, 128, (1, 2, 2, n_in)).astype(np.int8) for _ in range(20)])


def test_add_rescaling() -> None:
    """ADD of a tensor and a rescaled copy: scales far apart, both operand orders."""
    for seed in range(30):
        rng = np.random.default_rng(seed)
        b = ModelBuilder()
        shape = (1, 3, 3, 4)
        s1 = float(F32(np.exp(rng.uniform(-6, 1))))
        s2 = float(F32(s1 * np.exp(rng.uniform(-4, 4))))
        so = float(F32(max(s1, s2) * np.exp(rng.uniform(-1.5, 2.5))))
        a = b.tensor(shape, scale=s1, zero_point=int(rng.integers(-128, 128)))
        c = b.tensor(shape, scale=s2, zero_point=int(rng.integers(-128, 128)))
        y = b.tensor(shape, scale=so, zero_point=int(rng.integers(-128, 128)))
        w = b.tensor((1, 1, 1, 4), scale=[1.0] * 4, zero_point=[0] * 4, axis=3,
                     data=rng.integers(-3, 4, (1, 1, 1, 4)))
        bias = b.tensor((4,), "int32", scale=[s1] * 4, zero_point=[0] * 4, data=np.zeros(4))
        b.op("DEPTHWISE_CONV_2D", [a, w, bias], [c], "DepthwiseConv2DOptions", padding=VALID,
             stride_w=1, stride_h=1, depth_multiplier=1)
        b.op("ADD", [a, c] if seed % 2 else [c, a], [y], "AddOptions",
             fused_activation_function=int(rng.choice([ACT_NONE, ACT_RELU, ACT_RELU6])))
        _compare(b.build([a], [y]),
                 [rng.integers(-128, 128, shape).astype(np.int8) for _ in range(10)])


@pytest.mark.parametrize("op", ["AVERAGE_POOL_2D", "MAX_POOL_2D"])
def test_pools(op: str) -> None:
    """Windows cut by SAME padding (averages over the in-image taps, halves away from
    zero), VALID, strides 1-3, fused activations."""
    for seed in range(30):
        rng = np.random.default_rng(100 + seed)
        h, w = int(rng.integers(1, 9)), int(rng.integers(1, 9))
        fh, fw = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        sh, sw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        padding = SAME if (rng.random() < 0.6 or fh > h or fw > w) else VALID
        oh = (h + sh - 1) // sh if padding == SAME else (h - fh + sh) // sh
        ow = (w + sw - 1) // sw if padding == SAME else (w - fw + sw) // sw
        q = (float(F32(rng.uniform(0.01, 1))), int(rng.integers(-128, 128)))
        data = _single_op_model(op, (1, h, w, 3), q, (1, oh, ow, 3), q, "Pool2DOptions",
                                padding=padding, stride_w=sw, stride_h=sh, filter_width=fw,
                                filter_height=fh, fused_activation_function=int(
                                    rng.choice([ACT_NONE, ACT_RELU, ACT_RELU6])))
        _compare(data, [rng.integers(-128, 128, (1, h, w, 3)).astype(np.int8)
                        for _ in range(10)])


def test_mean() -> None:
    """MEAN over h and w (rank 4) or over time (rank 3), keep_dims both ways, axes in any
    order or negative, output scale above and below the input's."""
    for seed in range(40):
        rng = np.random.default_rng(200 + seed)
        b = ModelBuilder()
        if seed % 3:
            shape: tuple[int, ...] = (1, int(rng.integers(1, 9)), int(rng.integers(1, 9)),
                                      int(rng.integers(1, 5)))
            axes = [[1, 2], [2, 1], [-3, -2]][seed % 3 if seed % 5 else 2]
        else:
            shape = (1, int(rng.integers(1, 20)), int(rng.integers(1, 5)))
            axes = [1]
        keep = bool(rng.random() < 0.5)
        s = float(F32(rng.uniform(0.01, 1)))
        ax = b.tensor((len(axes),), "int32", data=axes)
        out_shape = (tuple([1] * (len(shape) - 1)) + (shape[-1],)) if keep else (1, shape[-1])
        data = _single_op_model("MEAN", shape, (s, int(rng.integers(-128, 128))), out_shape,
                                (float(F32(s * np.exp(rng.uniform(-2, 2)))),
                                 int(rng.integers(-128, 128))), "ReducerOptions", [ax], b,
                                keep_dims=keep)
        _compare(data, [rng.integers(-128, 128, shape).astype(np.int8) for _ in range(10)])


def test_softmax() -> None:
    """Per-row softmax of vectors and of 4-D tensors (over channels), beta 1 and not,
    input scales from 0.0025 to 2.7."""
    for seed in range(40):
        rng = np.random.default_rng(300 + seed)
        c = int(rng.integers(1, 40))
        shape = (1, c) if seed % 2 else (1, 2, 2, c)
        s = float(F32(np.exp(rng.uniform(-6, 1))))
        beta = float(F32(1.0 if seed % 3 == 0 else np.exp(rng.uniform(-2, 2))))
        data = _single_op_model("SOFTMAX", shape, (s, int(rng.integers(-128, 128))), shape,
                                (1 / 256, -128), "SoftmaxOptions", beta=beta)
        _compare(data, [rng.integers(-128, 128, shape).astype(np.int8) for _ in range(10)])


def test_quantize_edges_and_overflow() -> None:
    """QUANTIZE divides in float32 (half-way inputs), and overflows to INT32_MIN before the
    zero point is added; DEQUANTIZE gives the same float32."""
    for seed in range(20):
        rng = np.random.default_rng(400 + seed)
        b = ModelBuilder()
        shape = (1, 64)
        s = float(F32(np.exp(rng.uniform(-6, 2))))
        zp = int(rng.integers(-128, 128))
        xf = b.tensor(shape, "float32")
        q = b.tensor(shape, scale=s, zero_point=zp)
        r = b.tensor((1, 8, 8), scale=s, zero_point=zp)
        yf = b.tensor((1, 8, 8), "float32")
        b.op("QUANTIZE", [xf], [q])
        b.op("RESHAPE", [q], [r], "ReshapeOptions", new_shape=[1, 8, 8])
        b.op("DEQUANTIZE", [r], [yf])
        data = b.build([xf], [yf])
        blob = convert_tflite(data)
        oracle = Oracle(data)
        k = rng.integers(-200, 200, 64)
        halves = ((k + 0.5) * np.float64(s)).astype(F32)
        huge = (rng.choice([-1, 1], 64) * s * 10.0 ** rng.uniform(8, 12, 64)).astype(F32)
        for x in (halves, np.nextafter(halves, F32(np.inf)),
                  np.nextafter(halves, F32(-np.inf)), huge):
            expected = oracle(x.reshape(shape)).reshape(-1)
            got = dequantize_output(blob, predict_int8(blob, quantize_input(blob, x)))
            assert np.array_equal(got, expected)


_MODELS = sorted((Path(__file__).resolve().parent.parent / "py_tools" / "emlml_tools"
                  / "models").glob("*.tflite"))


@pytest.mark.parametrize("path", _MODELS, ids=[p.name for p in _MODELS])
def test_shipped_keras_models(path: Path) -> None:
    """Real Keras exports (shape arithmetic before RESHAPE, float I/O variant, residual
    ADDs, depthwise-separable blocks with PAD and MEAN): bit-exact on random inputs."""
    data = path.read_bytes()
    model = read_blob(convert_tflite(data))
    oracle = Oracle(data)
    rng = np.random.default_rng(0)
    for _ in range(40):
        if model.cnn.float_input:
            x = (rng.random(model.n_inputs) * rng.uniform(0.5, 1.5)).astype(F32)
            q = quantize_input(model, x)
        else:
            x = q = rng.integers(-128, 128, model.n_inputs).astype(np.int8)
        got = predict_int8(model, q)
        if model.cnn.float_output:
            got = dequantize_output(model, got)
        assert np.array_equal(got, oracle(x).reshape(-1))


@pytest.mark.parametrize("op", ["CONV_2D", "DEPTHWISE_CONV_2D"])
@pytest.mark.parametrize("zp", [127, 120, -128])
def test_zero_point_add_wraps(op: str, zp: int) -> None:
    """A multiplier of 1 - 2^-30 on an accumulator near INT32_MAX: MBQM + zero point
    overflows int32 and wraps (the interpreter gives -128, not 127)."""
    in_scale, w_scale = 1 + 2 ** -15, 1 - 2 ** -15  # in * w / out = 1 - 2^-30
    for bias in (2147483640, 2147483520, -2147483640):
        b = ModelBuilder()
        x = b.tensor((1, 1, 1, 1), scale=in_scale, zero_point=0)
        w = b.tensor((1, 1, 1, 1), scale=[w_scale], zero_point=[0],
                     axis=3 if op == "DEPTHWISE_CONV_2D" else 0, data=[[[[1]]]])
        bias_t = b.tensor((1,), "int32", scale=[float(F32(in_scale * w_scale))],
                          zero_point=[0], data=[bias])
        y = b.tensor((1, 1, 1, 1), scale=1.0, zero_point=zp)
        if op == "CONV_2D":
            b.op(op, [x, w, bias_t], [y], "Conv2DOptions", padding=VALID, stride_w=1,
                 stride_h=1)
        else:
            b.op(op, [x, w, bias_t], [y], "DepthwiseConv2DOptions", padding=VALID,
                 stride_w=1, stride_h=1, depth_multiplier=1)
        _compare(b.build([x], [y]), [np.array([[[[v]]]], np.int8) for v in (0, 7, -7)])


def test_edge_networks() -> None:
    """tflite_build.edge_networks(): the shared corner cases (the C core's tests use them
    too), every output equal."""
    for name, data, inputs in edge_networks():
        blob = read_blob(convert_tflite(data))
        oracle = Oracle(data)
        for x in inputs:
            expected = oracle(x).reshape(-1)
            flat = x.reshape(-1)
            q = quantize_input(blob, flat) if blob.cnn.float_input else flat
            got = predict_int8(blob, q)
            if blob.cnn.float_output:
                got = dequantize_output(blob, got)
            assert np.array_equal(got, expected), name


def test_softmax_sum_at_2_to_the_9() -> None:
    """SOFTMAX over 512 to 8200 values (tflite_build.softmax_sum_networks): TFLite's
    interpreter aborts exactly on the rows whose sum of exponentials, as the reference
    computes it, reaches 2^9 (2^28 in Q12.19; inputs just below and at or above it), and
    gives the reference's outputs on every other input (a sum wrapped past 2^32
    included); where it aborts, every output is -128."""
    aborted = compared = 0
    for name, data, inputs in softmax_sum_networks():
        blob = read_blob(convert_tflite(data))
        m, left, diff_min = (int(v) for v in blob.cnn.qparams[:3])
        oracle = Oracle(data)
        for x in inputs:
            beyond = softmax_sum_beyond_tflite(x.reshape(-1, x.shape[-1]), m, left, diff_min)
            expected = oracle.or_abort(x)
            got = predict_int8(blob, x.reshape(-1))
            assert (expected is None) == bool(beyond.any()), (name, beyond)
            if expected is None:
                aborted += 1
                rows = got.reshape(len(beyond), -1)
                assert np.all(rows[beyond] == -128), name
            else:
                assert np.array_equal(got, expected.reshape(-1)), name
                compared += 1
    assert aborted >= 12 and compared >= 14, (aborted, compared)


def test_constant_operands() -> None:
    """ADD, SUB, MUL, MAXIMUM, MINIMUM with a constant of one value, either side, every
    int8 input value, and a Keras-like network with them (constant_operand_networks):
    each a table layer equal to TFLite's outputs."""
    nets = constant_operand_networks()
    assert len(nets) == 31
    for name, data, inputs in nets:
        blob = read_blob(convert_tflite(data))
        oracle = Oracle(data)
        for x in inputs:
            assert np.array_equal(predict_int8(blob, x.reshape(-1)), oracle(x).reshape(-1)), name


def test_constant_operand_of_several_values() -> None:
    """SUB of a per-channel constant (Keras' Normalization): a constant tensor read by a
    SUB layer; the reference gives TFLite's output for every input value in each channel."""
    b = ModelBuilder()
    x = b.tensor((1, 2, 128, 3), scale=0.05, zero_point=0)
    c = b.tensor((3,), scale=0.02, zero_point=-128, data=[-128, 1, 127])
    y = b.tensor((1, 2, 128, 3), scale=0.05, zero_point=7)
    b.op("SUB", [x, c], [y], "SubOptions")
    data = b.build([x], [y])
    blob = convert_tflite(data)
    assert sorted(read_blob(blob).cnn.tensors["flags"].tolist()) == [0, 0, 1]
    v = np.repeat(np.arange(-128, 128), 3).reshape(1, 2, 128, 3).astype(np.int8)
    assert np.array_equal(predict_int8(blob, v.reshape(-1)), Oracle(data)(v).reshape(-1))
