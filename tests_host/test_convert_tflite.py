""".tflite -> kind-3 blob: what the converter refuses (naming the operator and its index),
shape arithmetic folding, the arena plan, metadata and the command line."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from emlml_dev.tflite_build import SAME, VALID, ModelBuilder, random_network, softmax_sum_networks
from emlml_tools.cli import main
from emlml_tools.convert.tflite_cnn import (
    add_params,
    convert_tflite,
    mean_params,
    plan_arena,
    quantize_multiplier,
    softmax_params,
)
from emlml_tools.convert.tflite_graph import UnsupportedModel, read_tflite
from emlml_tools.format import CnnOp, read_blob
from emlml_tools.oracle import Oracle
from emlml_tools.runtime.cnn import predict_int8

F32 = np.float32


def _conv(b: ModelBuilder, x: int, in_c: int, out_shape: tuple[int, ...], in_scale: float,
          **opts: object) -> int:
    """A 1x1 CONV_2D from x to a new tensor of out_shape; returns the output tensor."""
    oc = out_shape[-1]
    w = b.tensor((oc, 1, 1, in_c), scale=[0.02] * oc, zero_point=[0] * oc,
                 data=np.ones((oc, 1, 1, in_c)))
    bias = b.tensor((oc,), "int32", scale=[in_scale * 0.02] * oc, zero_point=[0] * oc,
                    data=np.zeros(oc))
    y = b.tensor(out_shape, scale=0.1, zero_point=0)
    b.op("CONV_2D", [x, w, bias], [y], "Conv2DOptions", padding=VALID, stride_w=1,
         stride_h=1, **opts)
    return y


def _refused(data: bytes, *patterns: str) -> str:
    with pytest.raises(UnsupportedModel) as info:
        convert_tflite(data)
    message = str(info.value)
    for pattern in patterns:
        assert re.search(pattern, message), f"{pattern!r} not in {message!r}"
    return message


# ---------------------------------------------------------------------------- refusals


def test_unsupported_operator_names_op_and_index() -> None:
    b = ModelBuilder()
    x = b.tensor((1, 4, 4, 2), scale=0.05, zero_point=1)
    y = _conv(b, x, 2, (1, 4, 4, 3), 0.05)
    z = b.tensor((1, 4, 4, 3), scale=16 / 256, zero_point=127)
    b.op("LOG_SOFTMAX", [y], [z])
    message = _refused(b.build([x], [z]), r"operator 1 \(LOG_SOFTMAX\)", "not supported")
    assert "CONV_2D" in message  # the message lists what is supported


def test_add_of_shapes_that_do_not_broadcast_is_refused() -> None:
    b = ModelBuilder()
    x = b.tensor((1, 4, 4, 3), scale=0.05, zero_point=1)
    y = _conv(b, x, 3, (1, 4, 4, 2), 0.05)
    z = b.tensor((1, 4, 4, 3), scale=0.2, zero_point=0)
    b.op("ADD", [x, y], [z], "AddOptions")
    _refused(b.build([x], [z]), r"operator 1 \(ADD\)", "broadcast")


def _constant_add(c_shape: tuple[int, ...], c_dtype: str = "int8", per_axis: bool = False,
                  out_shape: tuple[int, ...] = (1, 2, 2, 3)) -> bytes:
    b = ModelBuilder()
    x = b.tensor((1, 2, 2, 3), scale=0.05, zero_point=1)
    n = int(np.prod(c_shape))
    if per_axis:
        c = b.tensor(c_shape, scale=[0.05] * c_shape[-1], zero_point=[0] * c_shape[-1],
                     axis=len(c_shape) - 1, data=np.arange(n) - 3)
    elif c_dtype == "int8":
        c = b.tensor(c_shape, scale=0.04, zero_point=-128, data=np.arange(n) * 7 - 60)
    else:
        c = b.tensor(c_shape, c_dtype, data=np.arange(n))
    z = b.tensor(out_shape, scale=0.2, zero_point=0)
    b.op("ADD", [c, x], [z], "AddOptions")
    return b.build([x], [z])


@pytest.mark.parametrize("c_shape", [(3,), (1, 1, 1, 3), (2, 1, 3), (1, 2, 2, 3), (2, 2, 1)])
def test_add_of_a_constant_of_several_values_is_a_constant_tensor(c_shape) -> None:
    """A constant of several values is a constant tensor of the blob (its values in the
    weights, flags 1), read by the op's broadcasting layer: TFLite's outputs."""
    data = _constant_add(c_shape)
    blob = convert_tflite(data)
    cnn = read_blob(blob).cnn
    assert cnn.n_layers == 1 and CnnOp(int(cnn.layers["op"][0])) == CnnOp.ADD
    c = int(cnn.layers["in0"][0])
    assert int(cnn.tensors[c]["flags"]) == 1
    padded = (1,) * (4 - len(c_shape)) + c_shape
    assert cnn.shape(c) == padded[1:]
    rng = np.random.default_rng(3)
    for _ in range(8):
        v = rng.integers(-128, 128, (1, 2, 2, 3)).astype(np.int8)
        assert np.array_equal(predict_int8(blob, v.reshape(-1)), Oracle(data)(v).reshape(-1))


@pytest.mark.parametrize("kind, words", [
    ("float", "int8 constants quantized per tensor"),
    ("per_axis", "int8 constants quantized per tensor"),
    ("rank5", "rank 5, above the output's 4"),
    ("no_broadcast", "does not broadcast")])
def test_constants_emlml_cannot_hold_are_refused(kind: str, words: str) -> None:
    data = {"float": lambda: _constant_add((3,), "float32"),
            "per_axis": lambda: _constant_add((1, 1, 1, 3), per_axis=True),
            "rank5": lambda: _constant_add((1, 1, 2, 2, 3)),
            "no_broadcast": lambda: _constant_add((1, 1, 1, 2))}[kind]  # 2 values along c of 3
    _refused(data(), r"operator 0 \(ADD\)", words)


@pytest.mark.parametrize("dtype,hint", [("uint8", "inference_input_type = tf.int8"), ("int16", "16x8"),
                                        ("float32", "full integer quantization")])
def test_activation_types_other_than_int8(dtype: str, hint: str) -> None:
    b = ModelBuilder()
    q = {} if dtype == "float32" else {"scale": 0.05, "zero_point": 0}
    x = b.tensor((1, 4, 4, 2), dtype, **q)  # type: ignore[arg-type]
    y = b.tensor((1, 2, 2, 2), dtype, **q)  # type: ignore[arg-type]
    b.op("MAX_POOL_2D", [x], [y], "Pool2DOptions", padding=VALID, stride_w=2, stride_h=2,
         filter_width=2, filter_height=2)
    _refused(b.build([x], [y]), hint)


def test_per_axis_quantization_on_the_wrong_axis() -> None:
    b = ModelBuilder()
    x = b.tensor((1, 3, 3, 2), scale=0.05, zero_point=0)
    w = b.tensor((4, 1, 1, 2), scale=[0.01, 0.02], zero_point=[0, 0], axis=3,
                 data=np.ones((4, 1, 1, 2)))
    bias = b.tensor((4,), "int32", scale=[0.0005] * 4, zero_point=[0] * 4, data=np.zeros(4))
    y = b.tensor((1, 3, 3, 4), scale=0.1, zero_point=0)
    b.op("CONV_2D", [x, w, bias], [y], "Conv2DOptions", padding=VALID, stride_w=1,
         stride_h=1)
    _refused(b.build([x], [y]), r"operator 0 \(CONV_2D\)", "axis 3", "output channel axis")


def test_weight_zero_point_must_be_zero() -> None:
    b = ModelBuilder()
    x = b.tensor((1, 3), scale=0.05, zero_point=0)
    w = b.tensor((2, 3), scale=0.01, zero_point=5, data=np.ones((2, 3)))
    y = b.tensor((1, 2), scale=0.1, zero_point=0)
    b.op("FULLY_CONNECTED", [x, w, -1], [y], "FullyConnectedOptions")
    _refused(b.build([x], [y]), r"operator 0 \(FULLY_CONNECTED\)", "zero point 5")


@pytest.mark.parametrize("op", ["MAX_POOL_2D", "AVERAGE_POOL_2D"])
def test_pools_need_equal_quantization(op: str) -> None:
    b = ModelBuilder()
    x = b.tensor((1, 4, 4, 2), scale=0.05, zero_point=3)
    y = b.tensor((1, 2, 2, 2), scale=0.05, zero_point=4)
    b.op(op, [x], [y], "Pool2DOptions", padding=VALID, stride_w=2, stride_h=2,
         filter_width=2, filter_height=2)
    _refused(b.build([x], [y]), rf"operator 0 \({op}\)", "quantization differ")


def test_quantize_to_int16_in_the_middle_is_refused() -> None:
    b = ModelBuilder()
    x = b.tensor((1, 4), scale=0.05, zero_point=0)
    y = b.tensor((1, 4), "int16", scale=0.1, zero_point=0)
    b.op("QUANTIZE", [x], [y])
    _refused(b.build([x], [y]), r"operator 0 \(QUANTIZE\)", "edges")


@pytest.mark.parametrize("op", ["LOGISTIC", "TANH", "LEAKY_RELU", "HARD_SWISH", "QUANTIZE"])
def test_table_ops_convert_to_one_table_layer(op: str) -> None:
    """Each elementwise op is one layer holding a 256-byte table (its weights)."""
    b = ModelBuilder()
    x = b.tensor((1, 3, 3, 2), scale=0.05, zero_point=4)
    y = b.tensor((1, 3, 3, 2), scale=1 / 256 if op == "LOGISTIC" else 0.04,
                 zero_point=-128 if op == "LOGISTIC" else -7)
    opts = dict(alpha=0.1) if op == "LEAKY_RELU" else {}
    b.op(op, [x], [y], "LeakyReluOptions" if opts else None, **opts)
    blob = read_blob(convert_tflite(b.build([x], [y])))
    assert [CnnOp(int(v)).name for v in blob.cnn.layers["op"]] == [op]
    assert len(blob.cnn.weights) == 256


@pytest.mark.parametrize("axis,rank", [(3, 4), (-1, 4), (1, 4), (2, 4), (2, 3), (1, 2)])
def test_concatenation_of_three_is_two_layers(axis: int, rank: int) -> None:
    """CONCATENATION of n inputs becomes n - 1 two-input layers, bit-exact with TFLite
    along every axis but batch."""
    shape = (1, 2, 3, 2)[:rank - 1] + (2,) if rank < 4 else (1, 2, 3, 2)
    b = ModelBuilder()
    x = b.tensor(shape, scale=0.05, zero_point=-4)
    q = b.tensor(shape, scale=0.05, zero_point=-4)
    b.op("QUANTIZE", [x], [q])
    out_shape = list(shape)
    out_shape[axis] *= 3
    y = b.tensor(out_shape, scale=0.05, zero_point=-4)
    b.op("CONCATENATION", [q, x, q], [y], "ConcatenationOptions", axis=axis)
    data = b.build([x], [y])
    blob = convert_tflite(data)
    ops = [CnnOp(int(v)).name for v in read_blob(blob).cnn.layers["op"]]
    assert ops == ["QUANTIZE", "CONCATENATION", "CONCATENATION"]
    v = np.random.default_rng(0).integers(-128, 128, shape).astype(np.int8)
    assert np.array_equal(predict_int8(blob, v.reshape(-1)), Oracle(data)(v).reshape(-1))


def test_concatenation_along_batch_is_refused() -> None:
    b = ModelBuilder()
    x = b.tensor((1, 4), scale=0.05, zero_point=0)
    q = b.tensor((1, 4), scale=0.05, zero_point=0)
    b.op("QUANTIZE", [x], [q])
    y = b.tensor((2, 4), scale=0.05, zero_point=0)
    b.op("CONCATENATION", [x, q], [y], "ConcatenationOptions", axis=0)
    _refused(b.build([x], [y]), r"operator 1 \(CONCATENATION\)", "batch")


@pytest.mark.parametrize("shape,axes,keep_dims", [((1, 5, 7, 3), [1, 2], False),
                                                    ((1, 9, 4), [1], True),
                                                    ((1, 1, 6, 2), [2], False),
                                                    ((1, 4, 4, 8), [2, 1], True)])
def test_reduce_max_is_a_global_max_pool(shape: tuple[int, ...], axes: list[int],
                                         keep_dims: bool) -> None:
    """GlobalMaxPooling2D (REDUCE_MAX over height and width) is a MAX_POOL_2D over the
    whole input, bit-exact with TFLite."""
    b = ModelBuilder()
    x = b.tensor(shape, scale=0.05, zero_point=3)
    a = b.tensor((len(axes),), "int32", data=axes)
    out = (tuple(1 if i in axes else d for i, d in enumerate(shape)) if keep_dims
           else (1, shape[-1]))
    y = b.tensor(out, scale=0.05, zero_point=3)
    b.op("REDUCE_MAX", [x, a], [y], "ReducerOptions", keep_dims=keep_dims)
    data = b.build([x], [y])
    blob = convert_tflite(data)
    assert [CnnOp(int(v)) for v in read_blob(blob).cnn.layers["op"]] == [CnnOp.MAX_POOL_2D]
    rng = np.random.default_rng(1)
    for _ in range(5):
        v = rng.integers(-128, 128, shape).astype(np.int8)
        assert np.array_equal(predict_int8(blob, v.reshape(-1)), Oracle(data)(v).reshape(-1))


def test_reduce_max_over_channels_is_refused() -> None:
    b = ModelBuilder()
    x = b.tensor((1, 2, 2, 3), scale=0.05, zero_point=0)
    a = b.tensor((1,), "int32", data=[3])
    y = b.tensor((1, 2, 2), scale=0.05, zero_point=0)
    b.op("REDUCE_MAX", [x, a], [y], "ReducerOptions", keep_dims=False)
    _refused(b.build([x], [y]), r"operator 0 \(REDUCE_MAX\)", "height and width")


@pytest.mark.parametrize("op", ["ADD", "MUL", "SUB", "MAXIMUM", "MINIMUM"])
@pytest.mark.parametrize("se_first", [False, True])
def test_broadcast_ops_squeeze_and_excite(op: str, se_first: bool) -> None:
    """x (2x3x4) with its 1x1x4 channel means (squeeze-and-excite), in either order:
    bit-exact with TFLite on random inputs."""
    b = ModelBuilder()
    x = b.tensor((1, 2, 3, 4), scale=0.05, zero_point=-3)
    m = b.tensor((1, 1, 1, 4), scale=0.03, zero_point=9)
    b.op("MEAN", [x, b.tensor((2,), "int32", data=[1, 2])], [m], "ReducerOptions",
         keep_dims=True)
    y = b.tensor((1, 2, 3, 4), scale=0.01 if op == "MUL" else 0.07, zero_point=4)
    options = {"ADD": "AddOptions", "MUL": "MulOptions", "SUB": "SubOptions"}.get(op)
    b.op(op, [m, x] if se_first else [x, m], [y], options,
         **({"fused_activation_function": 1} if options else {}))
    data = b.build([x], [y])
    blob = convert_tflite(data)
    assert CnnOp(int(read_blob(blob).cnn.layers["op"][-1])).name == op
    rng = np.random.default_rng(2)
    for _ in range(8):
        v = rng.integers(-128, 128, (1, 2, 3, 4)).astype(np.int8)
        assert np.array_equal(predict_int8(blob, v.reshape(-1)), Oracle(data)(v).reshape(-1))


def test_mul_of_shapes_that_do_not_broadcast_is_refused() -> None:
    b = ModelBuilder()
    x = b.tensor((1, 2, 3, 4), scale=0.05, zero_point=0)
    p = b.tensor((1, 1, 3, 4), scale=0.05, zero_point=0)
    b.op("AVERAGE_POOL_2D", [x], [p], "Pool2DOptions", padding=VALID, stride_w=1, stride_h=1,
         filter_width=1, filter_height=2)
    q = b.tensor((1, 1, 2, 4), scale=0.05, zero_point=0)
    b.op("AVERAGE_POOL_2D", [p], [q], "Pool2DOptions", padding=VALID, stride_w=1, stride_h=1,
         filter_width=2, filter_height=1)
    y = b.tensor((1, 2, 3, 4), scale=0.05, zero_point=0)
    b.op("MUL", [x, q], [y], "MulOptions")
    _refused(b.build([x], [y]), r"operator 2 \(MUL\)", "broadcast")


@pytest.mark.parametrize("alpha_shape", [(2, 3, 4), (1, 1, 4), (4,)])
def test_prelu_alpha_per_value_or_shared(alpha_shape: tuple[int, ...]) -> None:
    """Keras' PReLU (one alpha per value, shared over height and width, per channel):
    the alpha of every output value in the layer's weights; bit-exact with TFLite."""
    rng = np.random.default_rng(5)
    b = ModelBuilder()
    x = b.tensor((1, 2, 3, 4), scale=0.05, zero_point=-3)
    alpha = b.tensor(alpha_shape, scale=0.004, zero_point=7,
                     data=rng.integers(-128, 128, alpha_shape))
    y = b.tensor((1, 2, 3, 4), scale=0.03, zero_point=11)
    b.op("PRELU", [x, alpha], [y])
    data = b.build([x], [y])
    blob = convert_tflite(data)
    assert len(read_blob(blob).cnn.weights) == 24
    for _ in range(8):
        v = rng.integers(-128, 128, (1, 2, 3, 4)).astype(np.int8)
        assert np.array_equal(predict_int8(blob, v.reshape(-1)), Oracle(data)(v).reshape(-1))


def test_logistic_needs_tflite_output_quantization() -> None:
    b = ModelBuilder()
    x = b.tensor((1, 4), scale=0.05, zero_point=0)
    y = b.tensor((1, 4), scale=1 / 128, zero_point=0)
    b.op("LOGISTIC", [x], [y])
    _refused(b.build([x], [y]), r"operator 0 \(LOGISTIC\)", "1/256 and -128")


def test_negative_leaky_relu_alpha_is_refused() -> None:
    b = ModelBuilder()
    x = b.tensor((1, 4), scale=0.05, zero_point=0)
    y = b.tensor((1, 4), scale=0.05, zero_point=0)
    b.op("LEAKY_RELU", [x], [y], "LeakyReluOptions", alpha=-0.5)
    _refused(b.build([x], [y]), r"operator 0 \(LEAKY_RELU\)", "alpha")


def test_batch_two_is_refused() -> None:
    b = ModelBuilder()
    x = b.tensor((2, 4, 4, 1), scale=0.05, zero_point=0)
    y = b.tensor((2, 2, 2, 1), scale=0.05, zero_point=0)
    b.op("MAX_POOL_2D", [x], [y], "Pool2DOptions", padding=VALID, stride_w=2, stride_h=2,
         filter_width=2, filter_height=2)
    _refused(b.build([x], [y]), "batch 2", "batch 1")


def test_fused_tanh_is_refused() -> None:
    b = ModelBuilder()
    x = b.tensor((1, 2, 2, 1), scale=0.05, zero_point=0)
    _conv(b, x, 1, (1, 2, 2, 1), 0.05, fused_activation_function=4)
    _refused(b.build([x], [len(b.tensors) - 1]), r"operator 0 \(CONV_2D\)", "TANH")


def test_mean_over_channels_is_refused() -> None:
    b = ModelBuilder()
    x = b.tensor((1, 3, 3, 4), scale=0.05, zero_point=0)
    axes = b.tensor((1,), "int32", data=[3])
    y = b.tensor((1, 3, 3, 1), scale=0.05, zero_point=0)
    b.op("MEAN", [x, axes], [y], "ReducerOptions", keep_dims=True)
    _refused(b.build([x], [y]), r"operator 0 \(MEAN\)", "height and width")


def test_softmax_needs_tflite_output_quantization() -> None:
    b = ModelBuilder()
    x = b.tensor((1, 4), scale=0.05, zero_point=0)
    y = b.tensor((1, 4), scale=1 / 255, zero_point=-128)
    b.op("SOFTMAX", [x], [y], "SoftmaxOptions", beta=1.0)
    _refused(b.build([x], [y]), r"operator 0 \(SOFTMAX\)", "1/256")


def test_grouped_convolution_is_refused() -> None:
    b = ModelBuilder()
    x = b.tensor((1, 3, 3, 4), scale=0.05, zero_point=0)
    w = b.tensor((2, 1, 1, 2), scale=0.01, zero_point=0, data=np.ones((2, 1, 1, 2)))
    bias = b.tensor((2,), "int32", scale=0.0005, zero_point=0, data=np.zeros(2))
    y = b.tensor((1, 3, 3, 2), scale=0.1, zero_point=0)
    b.op("CONV_2D", [x, w, bias], [y], "Conv2DOptions", padding=VALID, stride_w=1,
         stride_h=1)
    _refused(b.build([x], [y]), r"operator 0 \(CONV_2D\)", "grouped")


def test_not_a_tflite() -> None:
    with pytest.raises(UnsupportedModel, match="not a TensorFlow Lite model"):
        convert_tflite(b"EMLB" + bytes(60))


def test_softmax_with_a_tiny_input_scale_is_refused() -> None:
    """TFLite aborts on beta * scale * 2^26 <= 1; the converter refuses it instead."""
    b = ModelBuilder()
    x = b.tensor((1, 4), scale=1e-9, zero_point=0)
    y = b.tensor((1, 4), scale=1 / 256, zero_point=-128)
    b.op("SOFTMAX", [x], [y], "SoftmaxOptions", beta=1.0)
    _refused(b.build([x], [y]), r"operator 0 \(SOFTMAX\)", "too small")


# ---------------------------------------------------------------------------- folding


def _keras_flatten(b: ModelBuilder, x: int, x_shape: tuple[int, ...], style: str) -> int:
    """RESHAPE(x, shape) where the shape comes from SHAPE/STRIDED_SLICE/PACK/CONCATENATION."""
    n = int(np.prod(x_shape))
    sh = b.tensor((len(x_shape),), "int32")
    b.op("SHAPE", [x], [sh], "ShapeOptions", out_type=2)
    begin, end, step = (b.tensor((1,), "int32", data=[v]) for v in (0, 1, 1))
    target = b.tensor((2,), "int32")
    if style == "pack":
        batch = b.tensor((), "int32")
        b.op("STRIDED_SLICE", [sh, begin, end, step], [batch], "StridedSliceOptions",
             begin_mask=0, end_mask=0, ellipsis_mask=0, new_axis_mask=0, shrink_axis_mask=1)
        rest = b.tensor((), "int32", data=[-1])
        b.op("PACK", [batch, rest], [target], "PackOptions", values_count=2, axis=0)
    else:  # slice [0:1] kept as a vector, then CONCATENATION with [n]
        batch = b.tensor((1,), "int32")
        b.op("STRIDED_SLICE", [sh, begin, end, step], [batch], "StridedSliceOptions",
             begin_mask=0, end_mask=0, ellipsis_mask=0, new_axis_mask=0, shrink_axis_mask=0)
        rest = b.tensor((1,), "int32", data=[n])
        b.op("CONCATENATION", [batch, rest], [target], "ConcatenationOptions", axis=0)
    y = b.tensor((1, n), scale=0.1, zero_point=0)
    b.op("RESHAPE", [x, target], [y])
    return y


@pytest.mark.parametrize("style", ["pack", "concat"])
def test_shape_arithmetic_is_folded(style: str) -> None:
    b = ModelBuilder()
    x = b.tensor((1, 3, 3, 2), scale=0.05, zero_point=-4)
    y = _conv(b, x, 2, (1, 3, 3, 4), 0.05)
    flat = _keras_flatten(b, y, (1, 3, 3, 4), style)
    w = b.tensor((5, 36), scale=0.01, zero_point=0,
                 data=np.random.default_rng(0).integers(-127, 128, (5, 36)))
    out = b.tensor((1, 5), scale=0.3, zero_point=2)
    b.op("FULLY_CONNECTED", [flat, w, -1], [out], "FullyConnectedOptions")
    data = b.build([x], [out])
    graph = read_tflite(data)
    assert [n.op for n in graph.nodes] == ["CONV_2D", "RESHAPE", "FULLY_CONNECTED"]
    assert graph.folded == [1, 2, 3]  # SHAPE, STRIDED_SLICE, PACK/CONCATENATION
    blob = convert_tflite(data)
    oracle = Oracle(data)
    rng = np.random.default_rng(1)
    for _ in range(10):
        q = rng.integers(-128, 128, (1, 3, 3, 2)).astype(np.int8)
        assert np.array_equal(predict_int8(blob, q), oracle(q).reshape(-1))


def test_expand_dims_and_squeeze_become_reshape() -> None:
    b = ModelBuilder()
    x = b.tensor((1, 8, 2), scale=0.05, zero_point=0)
    e = b.tensor((1, 1, 8, 2), scale=0.05, zero_point=0)
    b.op("EXPAND_DIMS", [x, b.tensor((), "int32", data=[1])], [e])
    y = _conv(b, e, 2, (1, 1, 8, 3), 0.05)
    s = b.tensor((1, 8, 3), scale=0.1, zero_point=0)
    b.op("SQUEEZE", [y], [s], "SqueezeOptions", squeeze_dims=[1])
    graph = read_tflite(b.build([x], [s]))
    assert [n.op for n in graph.nodes] == ["RESHAPE", "CONV_2D", "RESHAPE"]
    assert graph.tensors[graph.input].hwc == (1, 8, 2)


def test_dead_branches_are_dropped() -> None:
    b = ModelBuilder()
    x = b.tensor((1, 2, 2, 1), scale=0.05, zero_point=0)
    _conv(b, x, 1, (1, 2, 2, 1), 0.05)  # never used
    y = b.tensor((1, 1, 1, 1), scale=0.05, zero_point=0)
    b.op("MAX_POOL_2D", [x], [y], "Pool2DOptions", padding=VALID, stride_w=2, stride_h=2,
         filter_width=2, filter_height=2)
    blob = read_blob(convert_tflite(b.build([x], [y])))
    assert [int(op) for op in blob.cnn.layers["op"]] == [CnnOp.MAX_POOL_2D]


# ---------------------------------------------------------------------------- blob content


def test_metadata_labels_name_and_shape() -> None:
    data, desc = random_network(np.random.default_rng(3))
    n_out = int(np.prod(Oracle(data)(np.zeros(desc["input_shape"])).shape))
    labels = [f"c{i}" for i in range(n_out)]
    blob = read_blob(convert_tflite(data, name="demo", labels=labels))
    assert blob.name == "demo" and blob.labels == labels
    h, w, c = blob.input_shape
    assert h * w * c == blob.n_inputs
    assert blob.producer.startswith("emlml ") and "TensorFlow Lite" in blob.producer
    with pytest.raises(ValueError, match="labels"):
        convert_tflite(data, labels=labels + ["extra"])


def test_arena_plan_reuses_memory_and_never_overlaps_live_tensors() -> None:
    for seed in range(30):
        rng = np.random.default_rng(seed)
        n = int(rng.integers(1, 30))
        sizes = [int(v) for v in rng.integers(1, 300, n)]
        starts = sorted(int(v) for v in rng.integers(-1, 20, n))
        intervals = [(s, s + int(rng.integers(0, 6))) for s in starts]
        offsets, arena = plan_arena(sizes, intervals)
        assert all(o % 4 == 0 for o in offsets)
        assert arena == max(o + s for o, s in zip(offsets, sizes))
        for a in range(n):
            for b in range(a + 1, n):
                live = intervals[a][0] <= intervals[b][1] and intervals[b][0] <= intervals[a][1]
                apart = (offsets[a] + sizes[a] <= offsets[b]
                         or offsets[b] + sizes[b] <= offsets[a])
                assert not live or apart
    # a chain of equal layers needs two buffers, not one per layer
    offsets, arena = plan_arena([100] * 10, [(i - 1, i) for i in range(10)])
    assert arena == 200


def test_arena_plan_keeps_the_best_order() -> None:
    """The plan is the smallest of its orders, so never above the first plan (largest
    tensor first); on vww96's first layers (input, then a 48x48 chain widening to 16
    channels) it reaches the largest live pair, where largest-first did not."""
    for seed in range(30):
        rng = np.random.default_rng(100 + seed)
        n = int(rng.integers(1, 30))
        sizes = [int(v) for v in rng.integers(1, 300, n)]
        starts = sorted(int(v) for v in rng.integers(-1, 20, n))
        intervals = [(s, s + int(rng.integers(0, 6))) for s in starts]
        assert plan_arena(sizes, intervals)[1] <= plan_arena(sizes, intervals, ("size",))[1]
    sizes = [27648, 18432, 18432, 36864, 9216]
    intervals = [(-1, 0), (0, 1), (1, 2), (2, 3), (3, 4)]
    assert plan_arena(sizes, intervals, ("size",))[1] == 64512
    assert plan_arena(sizes, intervals)[1] == 18432 + 36864


def test_tinymaix_arenas_reach_their_bound() -> None:
    """Every TinyMaix network and shipped example: the converter's arena is the most
    bytes live at one layer, or at the end the output and its floats (bench_arena);
    vww96's 55,296 B is TinyMaix's 54 KB, a 1000-class MobileNet's floats take no byte
    more than its tensors."""
    from emlml_dev import bench_arena
    from emlml_dev.emulators import require_tinymaix

    require_tinymaix()
    rows = {name: row for name, *row in bench_arena.rows()}
    assert all(today == low <= after <= first for first, after, today, low in rows.values()), rows
    assert rows["tm_vww96_q"] == [64520, 55304, 55296, 55296]
    assert rows["tm_vww96_q"][2] <= 54 * 1024
    assert rows["tm_mbnet96_0_25_q"][1:] == [59296, 55296, 55296]


def test_tflite_prepare_constants() -> None:
    """Spot values of the host-side constants (TFLite's functions, by hand)."""
    assert quantize_multiplier(0.5) == (1 << 30, 0)
    assert quantize_multiplier(1.0) == (1 << 30, 1)
    assert quantize_multiplier(0.0) == (0, 0)
    assert quantize_multiplier(2.0 ** -40) == (0, 0)  # shift below -31
    m, s = quantize_multiplier(0.75)
    assert (m, s) == (3 << 29, 0)
    assert add_params(0.5, 0.25, 1.0)[:5] == [20, 1 << 30, 0, 1 << 30, -1]
    m, left, diff_min = softmax_params(1.0, 1 / 16)
    assert (m, left) == (1 << 30, 23) and diff_min == -(31 * 2 ** 26 // 2 ** 23)
    assert mean_params(1.0, 1.0, 4) == ((1 << 30) << 2 >> 2, 1 - 2)


# ---------------------------------------------------------------------------- CLI


def test_cli_convert_and_inspect(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, _ = random_network(np.random.default_rng(11))
    model = tmp_path / "model.tflite"
    model.write_bytes(data)
    out = tmp_path / "m.bin"
    assert main(["convert", str(model), "-o", str(out), "--name", "net"]) == 0
    assert "int8 CNN" in capsys.readouterr().out
    assert read_blob(out.read_bytes()).name == "net"
    assert main(["inspect", str(out)]) == 0
    text = capsys.readouterr().out
    assert "layer 0:" in text and "CNN:" in text
    # found by its identifier too, without the suffix
    other = tmp_path / "model.bin"
    other.write_bytes(data)
    assert main(["convert", str(other), "-o", str(tmp_path / "n.bin")]) == 0


def test_cli_convert_reports_unsupported_ops(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    b = ModelBuilder()
    x = b.tensor((1, 4), scale=0.05, zero_point=0)
    y = b.tensor((1, 4), scale=16 / 256, zero_point=127)
    b.op("LOG_SOFTMAX", [x], [y])
    model = tmp_path / "log_softmax.tflite"
    model.write_bytes(b.build([x], [y]))
    assert main(["convert", str(model), "-o", str(tmp_path / "m.bin")]) == 1
    err = capsys.readouterr().err
    assert "operator 0 (LOG_SOFTMAX)" in err and "not supported" in err
    assert main(["convert", str(model), "-o", str(tmp_path / "m.bin"), "--input-type",
                 "int8"]) == 1
    assert "do not apply" in capsys.readouterr().err


def test_refusals_checked_by_the_interpreter_too() -> None:
    """Sanity of the test models themselves: the interpreter runs the supported ones."""
    b = ModelBuilder()
    x = b.tensor((1, 4, 4, 2), scale=0.05, zero_point=1)
    y = _conv(b, x, 2, (1, 4, 4, 3), 0.05)
    p = b.tensor((1, 2, 2, 3), scale=0.1, zero_point=0)
    b.op("MAX_POOL_2D", [y], [p], "Pool2DOptions", padding=SAME, stride_w=2, stride_h=2,
         filter_width=2, filter_height=2)
    data = b.build([x], [p])
    q = np.random.default_rng(0).integers(-128, 128, (1, 4, 4, 2)).astype(np.int8)
    assert np.array_equal(predict_int8(convert_tflite(data), q), Oracle(data)(q).reshape(-1))



def test_cli_verify_against_the_interpreter(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(21)
    data, desc = random_network(rng, float_input=True, float_output=True)
    model = tmp_path / "model.tflite"
    model.write_bytes(data)
    blob = tmp_path / "m.bin"
    assert main(["convert", str(model), "-o", str(blob)]) == 0
    X = (rng.standard_normal((12, int(np.prod(desc["input_shape"])))) * 0.5).astype(F32)
    np.save(tmp_path / "x.npy", X)
    capsys.readouterr()
    assert main(["verify", str(blob), str(model), str(tmp_path / "x.npy")]) == 0
    assert "12/12 samples identical" in capsys.readouterr().out
    # a blob from another model does not verify
    other, _ = random_network(np.random.default_rng(22), float_input=True, float_output=True)
    (tmp_path / "other.tflite").write_bytes(other)
    assert main(["verify", str(blob), str(tmp_path / "other.tflite"),
                 str(tmp_path / "x.npy")]) == 1


def test_cli_verify_where_tflite_aborts(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """A 1000-value softmax converts; verify compares the inputs TFLite runs and counts
    apart (without dying with it) those on which its interpreter aborts."""
    name, data, inputs = softmax_sum_networks()[1]
    assert name == "softmax_sum_1000_1"
    model = tmp_path / "model.tflite"
    model.write_bytes(data)
    blob = tmp_path / "m.bin"
    assert main(["convert", str(model), "-o", str(blob)]) == 0
    np.save(tmp_path / "q.npy", np.stack([x.reshape(-1) for x in inputs]))
    capsys.readouterr()
    assert main(["verify", str(blob), str(model), str(tmp_path / "q.npy")]) == 0
    out = capsys.readouterr().out
    assert "4 samples not compared: TFLite's interpreter aborts" in out, out
    assert "3/3 samples identical" in out, out


def test_cli_verify_int8_model_with_float_or_int8_data(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """An int8-input model verifies on int8 codes as given, and on float data quantized
    with its input scale (what the board does with an array('f'))."""
    rng = np.random.default_rng(23)
    data, desc = random_network(rng, float_input=False, float_output=False)
    model = tmp_path / "model.tflite"
    model.write_bytes(data)
    blob = tmp_path / "m.bin"
    assert main(["convert", str(model), "-o", str(blob)]) == 0
    n_in = int(np.prod(desc["input_shape"]))
    np.save(tmp_path / "q.npy", rng.integers(-128, 128, (7, n_in)).astype(np.int8))
    np.save(tmp_path / "f.npy", rng.standard_normal((9, n_in)).astype(F32))
    capsys.readouterr()
    assert main(["verify", str(blob), str(model), str(tmp_path / "q.npy")]) == 0
    assert "7/7 samples identical" in capsys.readouterr().out
    assert main(["verify", str(blob), str(model), str(tmp_path / "f.npy")]) == 0
    out = capsys.readouterr().out
    assert "quantized with the model's input scale" in out and "9/9 samples identical" in out


def test_damaged_files_raise_value_errors_only() -> None:
    """Random byte changes in a valid .tflite: a blob that passes read_blob, or a
    ValueError (UnsupportedModel), never another exception."""
    rng = np.random.default_rng(0)
    outcomes = {"ok": 0, "refused": 0}
    for seed in range(15):
        data, _ = random_network(np.random.default_rng(seed))
        for _ in range(20):
            buf = bytearray(data)
            for _ in range(int(rng.integers(1, 4))):
                buf[int(rng.integers(8, len(buf)))] = int(rng.integers(0, 256))
            try:
                read_blob(convert_tflite(bytes(buf)))
                outcomes["ok"] += 1
            except ValueError:
                outcomes["refused"] += 1
    assert outcomes["ok"] > 0 and outcomes["refused"] > 0


def test_reshape_output_without_static_shape_takes_the_folded_target() -> None:
    b = ModelBuilder()
    x = b.tensor((1, 2, 3, 2), scale=0.05, zero_point=0)
    target = b.tensor((2,), "int32", data=[1, -1])
    y = b.tensor((), scale=0.05, zero_point=0)  # no static shape written
    b.op("RESHAPE", [x, target], [y])
    w = b.tensor((3, 12), scale=0.01, zero_point=0, data=np.ones((3, 12)))
    z = b.tensor((1, 3), scale=0.1, zero_point=0)
    b.op("FULLY_CONNECTED", [y, w, -1], [z], "FullyConnectedOptions")
    graph = read_tflite(b.build([x], [z]))
    assert graph.tensors[y].hwc == (1, 1, 12)
