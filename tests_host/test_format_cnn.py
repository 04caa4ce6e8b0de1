"""Kind-3 (int8 CNN) blobs: layout of a converted fixture, and every load-time refusal of
read_blob (one case or more per ``cnn_*`` message of blob.ERRORS), each naming the layer or
tensor at fault."""

from __future__ import annotations

import struct
from typing import Callable

import numpy as np
import pytest
from emlml_dev.tflite_build import ACT_RELU, SAME, VALID, ModelBuilder
from emlml_tools.convert.tflite_cnn import convert_tflite
from emlml_tools.format import (
    CNN_LAYER_DTYPE,
    CNN_TENSOR_DTYPE,
    ERRORS,
    BlobError,
    CnnOp,
    Kind,
    SectionId,
    cnn_blob,
    fix_crc,
    read_blob,
)
from emlml_tools.oracle import Oracle
from emlml_tools.runtime.cnn import predict_int8


def _fixture_tflite() -> bytes:
    """10 layers: CONV, DEPTHWISE, MAX_POOL, ADD, PAD, AVERAGE_POOL, MEAN, FC, RESHAPE,
    SOFTMAX; tensors t0 (input) .. t10 (output)."""
    rng = np.random.default_rng(0)
    b = ModelBuilder()
    x = b.tensor((1, 6, 6, 2), scale=0.05, zero_point=-3)

    def conv(inp: int, shape: tuple[int, ...], oc: int, ic: int, dw: bool = False,
             **opts: object) -> int:
        wshape = (1, 3, 3, oc) if dw else (oc, 3, 3, ic)
        w = b.tensor(wshape, scale=[0.02] * oc, zero_point=[0] * oc, axis=3 if dw else 0,
                     data=rng.integers(-127, 128, wshape))
        bias = b.tensor((oc,), "int32", scale=[0.001] * oc, zero_point=[0] * oc,
                        data=rng.integers(-100, 100, oc))
        y = b.tensor(shape, scale=0.1, zero_point=2)
        if dw:
            b.op("DEPTHWISE_CONV_2D", [inp, w, bias], [y], "DepthwiseConv2DOptions",
                 depth_multiplier=1, **opts)
        else:
            b.op("CONV_2D", [inp, w, bias], [y], "Conv2DOptions", **opts)
        return y

    t1 = conv(x, (1, 6, 6, 4), 4, 2, padding=SAME, stride_w=1, stride_h=1,
              fused_activation_function=ACT_RELU)
    t2 = conv(t1, (1, 3, 3, 4), 4, 4, dw=True, padding=SAME, stride_w=2, stride_h=2)
    t3 = b.tensor((1, 3, 3, 4), scale=0.1, zero_point=2)
    b.op("MAX_POOL_2D", [t1], [t3], "Pool2DOptions", padding=SAME, stride_w=2, stride_h=2,
         filter_width=2, filter_height=2)
    t4 = b.tensor((1, 3, 3, 4), scale=0.15, zero_point=-1)
    b.op("ADD", [t2, t3], [t4], "AddOptions")
    t5 = b.tensor((1, 5, 5, 4), scale=0.15, zero_point=-1)
    pads = b.tensor((4, 2), "int32", data=[[0, 0], [1, 1], [1, 1], [0, 0]])
    b.op("PAD", [t4, pads], [t5])
    t6 = b.tensor((1, 2, 2, 4), scale=0.15, zero_point=-1)
    b.op("AVERAGE_POOL_2D", [t5], [t6], "Pool2DOptions", padding=VALID, stride_w=2,
         stride_h=2, filter_width=2, filter_height=2)
    t7 = b.tensor((1, 4), scale=0.1, zero_point=0)
    b.op("MEAN", [t6, b.tensor((2,), "int32", data=[1, 2])], [t7], "ReducerOptions",
         keep_dims=False)
    w = b.tensor((5, 4), scale=0.02, zero_point=0, data=rng.integers(-127, 128, (5, 4)))
    t8 = b.tensor((1, 5), scale=0.05, zero_point=1)
    b.op("FULLY_CONNECTED", [t7, w, -1], [t8], "FullyConnectedOptions")
    t9 = b.tensor((1, 1, 5), scale=0.05, zero_point=1)
    b.op("RESHAPE", [t8], [t9], "ReshapeOptions", new_shape=[1, 1, 5])
    t10 = b.tensor((1, 1, 5), scale=1 / 256, zero_point=-128)
    b.op("SOFTMAX", [t9], [t10], "SoftmaxOptions", beta=1.0)
    return b.build([x], [t10])


TFL = _fixture_tflite()
C = convert_tflite(TFL)
_B = read_blob(C)
_SEC = {e.id: e.offset for e in _B.sections}
LAYER = {name: i for i, name in enumerate(["CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D",
                                           "ADD", "PAD", "AVERAGE_POOL_2D", "MEAN",
                                           "FULLY_CONNECTED", "RESHAPE", "SOFTMAX"])}


def _put(data: bytes, pos: int, fmt: str, value: object, crc: bool = True) -> bytes:
    buf = bytearray(data)
    struct.pack_into("<" + fmt, buf, pos, value)
    return fix_crc(bytes(buf)) if crc else bytes(buf)


def _np_put(data: bytes, pos: int, dtype: np.dtype, value: object) -> bytes:
    buf = bytearray(data)
    raw = np.array(value, dtype=dtype).tobytes()
    buf[pos:pos + len(raw)] = raw
    return fix_crc(bytes(buf))


_PARAM = {"n_tensors": (0, "H"), "n_layers": (2, "H"), "input_tensor": (4, "H"),
          "output_tensor": (6, "H"), "input_scale": (8, "f"), "output_scale": (12, "f"),
          "tensor_arena_bytes": (16, "I"), "flags": (20, "B"), "reserved": (21, "B")}


def param(name: str, value: object) -> bytes:
    pos, fmt = _PARAM[name]
    return _put(C, _SEC[SectionId.CNN_PARAMS] + pos, fmt, value)


def tensor(t: int, name: str, value: int) -> bytes:
    ftype, off = CNN_TENSOR_DTYPE.fields[name][:2]
    return _np_put(C, _SEC[SectionId.CNN_TENSORS] + 16 * t + off, ftype, value)


def layer(i: int | str, name: str, value: int, data: bytes = C) -> bytes:
    index = LAYER[i] if isinstance(i, str) else i
    ftype, off = CNN_LAYER_DTYPE.fields[name][:2]
    buf = bytearray(data)
    raw = np.array(value, dtype=ftype).tobytes()
    pos = _SEC[SectionId.CNN_LAYERS] + 32 * index + off
    buf[pos:pos + len(raw)] = raw
    return fix_crc(bytes(buf))


def qparam(i: str, k: int, value: int, fmt: str = "i") -> bytes:
    q0 = int(_B.cnn.layers[LAYER[i]]["qparams_offset"])
    return _put(C, _SEC[SectionId.CNN_QPARAMS] + 4 * (q0 + k), fmt, value)


def _rebuilt(extra_tensor: bool = False, output: int | None = None) -> bytes:
    """The fixture rewritten with cnn_blob, optionally with one more (unused) tensor."""
    cnn = _B.cnn
    tensors = np.array(cnn.tensors)
    if extra_tensor:
        tensors = np.append(tensors, np.array([(1, 1, 2, 0, 0, 0)], dtype=CNN_TENSOR_DTYPE))
    return cnn_blob(input_tensor=cnn.input_tensor,
                    output_tensor=cnn.output_tensor if output is None else output,
                    input_scale=cnn.input_scale, output_scale=cnn.output_scale,
                    tensor_arena_bytes=cnn.tensor_arena_bytes, flags=cnn.flags,
                    tensors=tensors, layers=np.array(cnn.layers), weights=cnn.weights,
                    qparams=cnn.qparams)


# ---------------------------------------------------------------------------- valid blobs


def test_fixture_round_trip_and_parity() -> None:
    assert _B.kind == Kind.CNN and _B.cnn is not None
    assert [CnnOp(int(op)).name for op in _B.cnn.layers["op"]] == list(LAYER)
    assert _B.input_shape == (6, 6, 2) and _B.n_inputs == 72 and _B.n_outputs == 5
    assert _B.arena_bytes == (_B.cnn.tensor_arena_bytes + 3) // 4 * 4 + 4 * 5
    oracle = Oracle(TFL)
    rng = np.random.default_rng(5)
    for _ in range(10):
        q = rng.integers(-128, 128, (1, 6, 6, 2)).astype(np.int8)
        assert np.array_equal(predict_int8(C, q), oracle(q).reshape(-1))
    # the writer alone gives the same sections (without META)
    again = read_blob(_rebuilt())
    assert np.array_equal(again.cnn.layers, _B.cnn.layers)
    assert np.array_equal(again.cnn.qparams, _B.cnn.qparams)


def test_unused_tensor_is_allowed() -> None:
    assert read_blob(_rebuilt(extra_tensor=True)).cnn.n_tensors == 12


def test_qparams_section_is_never_empty() -> None:
    """A model without qparams (a lone pool) stores one 0 so the section exists."""
    b = ModelBuilder()
    x = b.tensor((1, 4, 4, 1), scale=0.05, zero_point=0)
    y = b.tensor((1, 2, 2, 1), scale=0.05, zero_point=0)
    b.op("MAX_POOL_2D", [x], [y], "Pool2DOptions", padding=VALID, stride_w=2, stride_h=2,
         filter_width=2, filter_height=2)
    blob = read_blob(convert_tflite(b.build([x], [y])))
    assert blob.section(SectionId.CNN_QPARAMS).size == 4
    assert blob.section(SectionId.CNN_WEIGHTS) is None


# ---------------------------------------------------------------------------- refusals

CASES: dict[str, list[tuple[str, Callable[[], bytes]]]] = {}


def case(check: str, message: str) -> Callable[[Callable[[], bytes]], Callable[[], bytes]]:
    def register(make: Callable[[], bytes]) -> Callable[[], bytes]:
        CASES.setdefault(check, []).append((message, make))
        return make
    return register


case("cnn_header", "a CNN blob has task 0 and input type 1 (int8); this one has task 0, "
     "input type 0")(lambda: _put(C, 21, "B", 0))
case("cnn_counts", "CNN with 11 tensors and 0 layers (2..512 tensors, 1..512 layers)")(
    lambda: param("n_layers", 0))
case("cnn_counts", "CNN with 1 tensors and 10 layers (2..512 tensors, 1..512 layers)")(
    lambda: param("n_tensors", 1))
case("cnn_counts", "CNN with 11 tensors and 513 layers (2..512 tensors, 1..512 layers)")(
    lambda: param("n_layers", 513))
case("cnn_io", "CNN input tensor 11 and output tensor 10: out of range (11 tensors) or the "
     "same")(lambda: param("input_tensor", 11))
case("cnn_io", "CNN input tensor 0 and output tensor 0: out of range (11 tensors) or the "
     "same")(lambda: param("output_tensor", 0))
case("cnn_scale", "CNN input scale 0.0 is not finite and positive")(
    lambda: param("input_scale", 0.0))
case("cnn_scale", "CNN output scale nan is not finite and positive")(
    lambda: param("output_scale", float("nan")))
case("cnn_flags", "CNN flags 0x04 or reserved bytes of CNN_PARAMS are not zero")(
    lambda: param("flags", 4))
case("cnn_flags", "CNN flags 0x00 or reserved bytes of CNN_PARAMS are not zero")(
    lambda: param("reserved", 1))
case("cnn_tensor_shape", "tensor 3: shape 0x3x4 has a zero dimension")(
    lambda: tensor(3, "h", 0))
case("cnn_tensor_reserved", "tensor 2: reserved field is not zero")(
    lambda: tensor(2, "reserved", 1))
case("cnn_tensor_zp", "tensor 4: zero point 128 out of range (-128..127)")(
    lambda: tensor(4, "zero_point", 128))
case("cnn_tensor_arena", "tensor 5: bytes [200, 300) outside the 216-byte tensor arena")(
    lambda: tensor(5, "offset", 200))
case("cnn_tensor_arena", "tensor 0: bytes [144, 216) outside the 100-byte tensor arena")(
    lambda: param("tensor_arena_bytes", 100))
case("cnn_n_inputs", "n_inputs 71, the input tensor holds 72")(lambda: _put(C, 24, "I", 71))
case("cnn_n_outputs", "n_outputs 6, the output tensor holds 5")(lambda: _put(C, 28, "I", 6))
case("cnn_op", "layer 4: unknown op 11")(lambda: layer("PAD", "op", 11))
case("cnn_op", "layer 0: unknown op 0")(lambda: layer(0, "op", 0))
case("cnn_tensor_index", "layer 2 (MAX_POOL_2D): tensor index 11 out of range (11 tensors)")(
    lambda: layer("MAX_POOL_2D", "in0", 11))
case("cnn_field", "layer 8 (RESHAPE): stride_h is 1, must be 0 for this op")(
    lambda: layer("RESHAPE", "stride_h", 1))
case("cnn_field", "layer 2 (MAX_POOL_2D): dilation_h is 1, must be 0 for this op")(
    lambda: layer("MAX_POOL_2D", "dilation_h", 1))
case("cnn_field", "layer 3 (ADD): reserved is 1, must be 0 for this op")(
    lambda: layer("ADD", "reserved", 1))
case("cnn_field", "layer 0 (CONV_2D): stride_w is 0, must be >= 1")(
    lambda: layer("CONV_2D", "stride_w", 0))
case("cnn_field", "layer 0 (CONV_2D): padding is 2, must be 0 (VALID) or 1 (SAME)")(
    lambda: layer("CONV_2D", "padding", 2))
case("cnn_field", "layer 6 (MEAN): act_min is -100, must be -128 and 127 for an op without "
     "a fused activation")(lambda: layer("MEAN", "act_min", -100))
case("cnn_field", "layer 3 (ADD): act_min is 10, above act_max 5")(
    lambda: layer("ADD", "act_max", 5, layer("ADD", "act_min", 10)))
case("cnn_read", "layer 3 (ADD): tensor 5 is read before any layer writes it")(
    lambda: layer("ADD", "in1", 5))
case("cnn_write", "layer 2 (MAX_POOL_2D): tensor 0 is the model input")(
    lambda: layer("MAX_POOL_2D", "out", 0))
case("cnn_write", "layer 2 (MAX_POOL_2D): tensor 2 is already written by layer 1")(
    lambda: layer("MAX_POOL_2D", "out", 2))
case("cnn_chain", "layer 0 (CONV_2D): output shape 5x6x4 does not chain, expected 6x6x4")(
    lambda: tensor(1, "h", 5))
case("cnn_chain", "layer 1 (DEPTHWISE_CONV_2D): output shape 3x3x4 does not chain, "
     "expected 6x6x4")(lambda: layer("DEPTHWISE_CONV_2D", "stride_h", 1,
                                     layer("DEPTHWISE_CONV_2D", "stride_w", 1)))
case("cnn_chain", "layer 6 (MEAN): output shape 1x1x5 does not chain, expected 1x1x4")(
    lambda: tensor(7, "c", 5))
case("cnn_shape", "layer 2 (MAX_POOL_2D): output zero point 5 differs from the input's 2")(
    lambda: tensor(3, "zero_point", 5))
case("cnn_shape", "layer 3 (ADD): input shapes 3x3x4 and 6x6x4 differ (no broadcasting)")(
    lambda: layer("ADD", "in1", 1))
case("cnn_shape", "layer 9 (SOFTMAX): output zero point 0, must be -128")(
    lambda: tensor(10, "zero_point", 0))
case("cnn_shape", "layer 5 (AVERAGE_POOL_2D): VALID window 9 larger than the input h 5")(
    lambda: layer("AVERAGE_POOL_2D", "filter_h", 9))
case("cnn_shape", "layer 4 (PAD): output h 5 below input 3 + pad_h 3")(
    lambda: layer("PAD", "pad_h", 3))
case("cnn_shape", "layer 8 (RESHAPE): output 1x1x6 holds 6 values, input 1x1x5 holds 5")(
    lambda: tensor(9, "c", 6))
case("cnn_weights", "layer 7 (FULLY_CONNECTED): weights [120, 140) outside CNN_WEIGHTS "
     "(128 bytes)")(lambda: layer("FULLY_CONNECTED", "weights_offset", 120))
case("cnn_qparams", "layer 9 (SOFTMAX): qparams [50, 53) outside CNN_QPARAMS (51 values)")(
    lambda: layer("SOFTMAX", "qparams_offset", 50))
case("cnn_qvalue", "layer 0 (CONV_2D): shift[0] 31 out of range (-31 .. 30)")(
    lambda: qparam("CONV_2D", 8, 31))
case("cnn_qvalue", "layer 1 (DEPTHWISE_CONV_2D): multiplier[2] 5 out of range (0 or 2^30 .. "
     "2^31-1)")(lambda: qparam("DEPTHWISE_CONV_2D", 6, 5))
case("cnn_qvalue", "layer 3 (ADD): left_shift 21 out of range (0 .. 20)")(
    lambda: qparam("ADD", 0, 21))
case("cnn_qvalue", "layer 3 (ADD): output_shift 1 out of range (-31 .. 0)")(
    lambda: qparam("ADD", 6, 1))
case("cnn_qvalue", "layer 6 (MEAN): multiplier -1 out of range (0 .. 2^31-1)")(
    lambda: qparam("MEAN", 0, -1))
case("cnn_qvalue", "layer 7 (FULLY_CONNECTED): scale[1] nan out of range (finite, >= 0)")(
    lambda: qparam("FULLY_CONNECTED", 8, -1))  # high word of scale[1] all ones: a NaN
case("cnn_qvalue", "layer 9 (SOFTMAX): diff_min 1 out of range (<= 0, and -diff_min * "
     "2^input_left_shift < 2^31)")(lambda: qparam("SOFTMAX", 2, 1))
case("cnn_output", "the output tensor 11 is written by no layer")(
    lambda: _rebuilt(extra_tensor=True, output=11))
case("cnn_overlap", "tensors 2 and 3 are live at the same time and share arena bytes")(
    lambda: tensor(2, "offset", int(_B.cnn.tensors[3]["offset"])))
case("cnn_overlap", "tensors 0 and 1 are live at the same time and share arena bytes")(
    lambda: tensor(0, "offset", 0))
case("arena", "arena_bytes 100, this model needs 236")(lambda: _put(C, 32, "I", 100))
case("section_size", "section id 49 has 176 bytes, expected 192")(
    lambda: param("n_tensors", 12))
case("section_size", "section id 50 has 320 bytes, expected 288")(
    lambda: param("n_layers", 9))
case("section_missing", "missing section id 52")(
    lambda: _put(C, 16, "H", 5))  # the table stops before CNN_QPARAMS


_ALL = [(check, message, make) for check, items in CASES.items()
        for message, make in items]


@pytest.mark.parametrize("check,message,make", _ALL,
                         ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(_ALL)])
def test_refusal(check: str, message: str, make: Callable[[], bytes]) -> None:
    with pytest.raises(BlobError) as info:
        read_blob(make())
    assert (info.value.check, str(info.value)) == (check, message)


def test_every_cnn_check_has_a_case() -> None:
    assert {key for key in ERRORS if key.startswith("cnn_")} <= set(CASES)


def test_writer_rejects_nothing_reader_checks_everything() -> None:
    """Random single-field corruptions of the layer table: read_blob either accepts the blob
    (then the reference runs it without an index error) or refuses it with a BlobError."""
    rng = np.random.default_rng(0)
    names = list(CNN_LAYER_DTYPE.names)
    accepted = refused = 0
    for _ in range(300):
        i = int(rng.integers(0, len(LAYER)))
        name = names[int(rng.integers(0, len(names)))]
        ftype = CNN_LAYER_DTYPE.fields[name][0]
        info = np.iinfo(ftype)
        value = int(rng.integers(max(info.min, -300), min(info.max, 300) + 1))
        data = layer(i, name, value)
        try:
            read_blob(data)
        except BlobError:
            refused += 1
            continue
        accepted += 1
        predict_int8(data, np.zeros(72, np.int8))
    assert refused > 0 and accepted > 0


def test_tensor_table_corruptions_are_caught_or_harmless() -> None:
    """The same for the tensor table: shapes, offsets and zero points."""
    rng = np.random.default_rng(1)
    names = ["h", "w", "c", "offset", "zero_point"]
    accepted = refused = 0
    for _ in range(300):
        t = int(rng.integers(0, _B.cnn.n_tensors))
        name = names[int(rng.integers(0, len(names)))]
        value = int(rng.integers(-130, 300)) if name == "zero_point" else int(
            rng.integers(0, 300))
        data = tensor(t, name, value)
        try:
            model = read_blob(data)
        except BlobError:
            refused += 1
            continue
        accepted += 1
        out = predict_int8(model, np.zeros(model.n_inputs, np.int8))
        assert out.size == model.n_outputs
    assert refused > 0 and accepted > 0
