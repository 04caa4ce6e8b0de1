"""int8 CNN (kind 3, docs/FORMAT.md "int8 CNN"): operators, tensor and layer layouts, the
writer and the checked reader, in the order the C loader checks."""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import Callable

import numpy as np
import numpy.typing as npt

from . import c_tables as C
from .c_format import where_layer
from .header import (
    BlobError,
    InputType,
    Kind,
    SectionEntry,
    SectionId,
    Task,
    clamp_u32,
    exact_section,
    section_view,
    sized_section,
    write_blob,
)
from .keys import INT32_MAX

CnnOp = IntEnum("CnnOp", dict(C.CNN_OPS))  # the C core's EMLML_CNN_OP_LIST, in order


class CnnPadding(IntEnum):
    VALID = 0
    SAME = 1


CNN_PARAMS_SIZE = 32
CNN_MAX_TENSORS = C.CNN_MAX_TENSORS
CNN_MAX_LAYERS = C.CNN_MAX_LAYERS
CNN_MAX_DOT = C.CNN_MAX_PRODUCTS  # products summed per output: keeps the int32 sum exact
CNN_MEAN_MAX_CELLS = C.CNN_MAX_MEAN_CELLS  # keeps MEAN's int32 sum from overflowing
CNN_FLAG_FLOAT_INPUT = 1
CNN_FLAG_FLOAT_OUTPUT = 2
CNN_FLAG_OUTPUTS_AFTER_OUTPUT = 4  # the float outputs follow the int8 output tensor
_CNN_PARAMS = struct.Struct("<HHHHffIB11s")
CNN_PARAMS_DTYPE = np.dtype([
    ("n_tensors", "<u2"), ("n_layers", "<u2"), ("input_tensor", "<u2"), ("output_tensor", "<u2"),
    ("input_scale", "<f4"), ("output_scale", "<f4"), ("tensor_arena_bytes", "<u4"),
    ("flags", "u1"), ("reserved", "V11")])
assert _CNN_PARAMS.size == CNN_PARAMS_DTYPE.itemsize == CNN_PARAMS_SIZE
CNN_TENSOR_DTYPE = np.dtype([("h", "<u2"), ("w", "<u2"), ("c", "<u2"), ("flags", "<u2"),
                             ("offset", "<u4"), ("zero_point", "<i4")])
CNN_LAYER_DTYPE = np.dtype([
    ("op", "u1"), ("padding", "u1"), ("act_min", "i1"), ("act_max", "i1"),
    ("in0", "<u2"), ("in1", "<u2"), ("out", "<u2"),
    ("stride_h", "u1"), ("stride_w", "u1"), ("dilation_h", "u1"), ("dilation_w", "u1"),
    ("filter_h", "u1"), ("filter_w", "u1"),
    ("pad_h", "<u2"), ("pad_w", "<u2"), ("pad_c", "<u2"), ("reserved", "<u2"),
    ("weights_offset", "<u4"), ("qparams_offset", "<u4")])
assert CNN_TENSOR_DTYPE.itemsize == 16 and CNN_LAYER_DTYPE.itemsize == 32

CNN_SPATIAL_OPS = frozenset({CnnOp.CONV_2D, CnnOp.DEPTHWISE_CONV_2D, CnnOp.MAX_POOL_2D,
                             CnnOp.AVERAGE_POOL_2D, CnnOp.TRANSPOSE_CONV})
CNN_WEIGHT_OPS = frozenset({CnnOp.CONV_2D, CnnOp.DEPTHWISE_CONV_2D, CnnOp.FULLY_CONNECTED,
                            CnnOp.TRANSPOSE_CONV})
CNN_ACT_OPS = frozenset({*CNN_WEIGHT_OPS, CnnOp.MAX_POOL_2D, CnnOp.AVERAGE_POOL_2D, CnnOp.ADD,
                         CnnOp.MUL, CnnOp.SUB})
# Elementwise ops of one int8 input: their weights are a 256-entry int8 table, output =
# table[x + 128] (TFLite's result for every input value, computed by the converter).
CNN_TABLE_OPS = frozenset({CnnOp.LOGISTIC, CnnOp.TANH, CnnOp.LEAKY_RELU, CnnOp.HARD_SWISH,
                           CnnOp.QUANTIZE})
CNN_TABLE_SIZE = 256
# Elementwise ops of two inputs that broadcast, and the ops that read in1.
CNN_BROADCAST_OPS = frozenset({CnnOp.ADD, CnnOp.MUL, CnnOp.SUB, CnnOp.MAXIMUM, CnnOp.MINIMUM})
CNN_TWO_INPUT_OPS = frozenset({CnnOp.CONCATENATION, *CNN_BROADCAST_OPS})
# A tensor's flags: a constant holds its values in CNN_WEIGHTS at its offset (no arena
# bytes); layers read it, none writes it.
CNN_TENSOR_CONSTANT = C.CNN_TENSOR_FLAGS["CONSTANT"]
Q31_LOW = 1 << 30  # a multiplier from QuantizeMultiplier is 0 or in [2^30, 2^31)


@dataclass(frozen=True)
class CnnData:
    """The sections of a kind-3 blob. ``tensors``/``layers`` are arrays of
    ``CNN_TENSOR_DTYPE``/``CNN_LAYER_DTYPE``; ``weights`` int8, ``qparams`` int32."""

    input_tensor: int
    output_tensor: int
    input_scale: float
    output_scale: float
    tensor_arena_bytes: int
    flags: int
    tensors: np.ndarray
    layers: np.ndarray
    weights: npt.NDArray[np.int8]
    qparams: npt.NDArray[np.int32]

    @property
    def n_tensors(self) -> int:
        return len(self.tensors)

    @property
    def n_layers(self) -> int:
        return len(self.layers)

    @property
    def float_input(self) -> bool:
        return bool(self.flags & CNN_FLAG_FLOAT_INPUT)

    @property
    def float_output(self) -> bool:
        return bool(self.flags & CNN_FLAG_FLOAT_OUTPUT)

    def arena_bytes(self, n_outputs: int) -> int:
        """The header's arena_bytes (``cnn_arena_bytes``)."""
        out = self.tensors[self.output_tensor]
        return cnn_arena_bytes(self.tensor_arena_bytes, n_outputs, self.flags,
                               int(out["offset"]) + n_outputs)

    @property
    def outputs_offset(self) -> int:
        out = self.tensors[self.output_tensor]
        n_out = int(out["h"]) * int(out["w"]) * int(out["c"])
        return cnn_outputs_offset(self.tensor_arena_bytes, self.flags, int(out["offset"]) + n_out)

    def shape(self, t: int) -> tuple[int, int, int]:
        row = self.tensors[t]
        return int(row["h"]), int(row["w"]), int(row["c"])


def align4(n: int) -> int:
    return (n + 3) // 4 * 4


def cnn_outputs_offset(tensor_arena_bytes: int, flags: int = 0, output_end: int = 0) -> int:
    """Where the n_outputs float32 outputs lie in the arena: after every int8 tensor, or
    with CNN_FLAG_OUTPUTS_AFTER_OUTPUT after the output tensor (``output_end``: its
    offset + size), 4-aligned. They are written once the last layer has run, when no
    tensor but the output is live."""
    return align4(output_end if flags & CNN_FLAG_OUTPUTS_AFTER_OUTPUT else tensor_arena_bytes)


def cnn_arena_bytes(tensor_arena_bytes: int, n_outputs: int, flags: int = 0,
                    output_end: int = 0) -> int:
    """Header arena_bytes of a CNN: the int8 tensors and the n_outputs float32 outputs
    (``cnn_outputs_offset``), 4-aligned (a pipeline's float buffers follow it)."""
    return max(align4(tensor_arena_bytes),
               cnn_outputs_offset(tensor_arena_bytes, flags, output_end) + 4 * n_outputs)


def spatial_out_size(padding: int, in_size: int, filter_size: int, stride: int,
                     dilation: int = 1) -> int:
    """TFLite's ComputeOutSize (0 or less: no valid output)."""
    eff = (filter_size - 1) * dilation + 1
    if padding == CnnPadding.SAME:
        return (in_size + stride - 1) // stride
    return (in_size - eff + stride) // stride


def pad_before(in_size: int, out_size: int, filter_size: int, stride: int,
               dilation: int = 1) -> int:
    """TFLite's ComputePadding: half the total padding, rounded down, at least 0."""
    eff = (filter_size - 1) * dilation + 1
    return max((out_size - 1) * stride + eff - in_size, 0) // 2


def cnn_weight_count(op: int, in_shape: tuple[int, int, int], out_shape: tuple[int, int, int],
                     fh: int, fw: int) -> int:
    h, w, c = in_shape
    oc = out_shape[2]
    if op in (CnnOp.CONV_2D, CnnOp.TRANSPOSE_CONV):
        return oc * fh * fw * c
    if op == CnnOp.DEPTHWISE_CONV_2D:
        return fh * fw * oc
    if op == CnnOp.FULLY_CONNECTED:
        return oc * h * w * c
    if op in CNN_TABLE_OPS:
        return CNN_TABLE_SIZE
    if op == CnnOp.PRELU:  # the raw alpha of every output value
        return math.prod(out_shape)
    return 0


def cnn_qparam_count(op: int, out_c: int) -> int:
    if op in CNN_WEIGHT_OPS:
        return 3 * out_c
    return {CnnOp.MEAN: 2, CnnOp.ADD: 7, CnnOp.SUB: 7, CnnOp.MUL: 2, CnnOp.PRELU: 5,
            CnnOp.SOFTMAX: 3}.get(CnnOp(op), 0)


def cnn_blob(*, input_tensor: int, output_tensor: int, input_scale: float,
             output_scale: float, tensor_arena_bytes: int, flags: int, tensors: np.ndarray,
             layers: np.ndarray, weights: bytes | npt.ArrayLike, qparams: npt.ArrayLike,
             meta: bytes = b"") -> bytes:
    """A kind-3 blob. CNN_WEIGHTS is written only when ``weights`` is not empty; an empty
    ``qparams`` is stored as a single 0 (a section has at least one byte)."""
    tensors = np.asarray(tensors, dtype=CNN_TENSOR_DTYPE)
    layers = np.asarray(layers, dtype=CNN_LAYER_DTYPE)
    wbytes = weights if isinstance(weights, bytes) else np.asarray(weights, "i1").tobytes()
    q = np.asarray(qparams, dtype="<i4").reshape(-1)
    if q.size == 0:
        q = np.zeros(1, dtype="<i4")
    params = _CNN_PARAMS.pack(len(tensors), len(layers), input_tensor, output_tensor,
                              input_scale, output_scale, tensor_arena_bytes, flags, bytes(11))
    sections = [(SectionId.META, meta)] if meta else []
    sections += [(SectionId.CNN_PARAMS, params), (SectionId.CNN_TENSORS, tensors.tobytes()),
                 (SectionId.CNN_LAYERS, layers.tobytes())]
    if wbytes:
        sections.append((SectionId.CNN_WEIGHTS, wbytes))
    sections.append((SectionId.CNN_QPARAMS, q.tobytes()))
    t_in, t_out = tensors[input_tensor], tensors[output_tensor]
    n_inputs = int(t_in["h"]) * int(t_in["w"]) * int(t_in["c"])
    n_outputs = int(t_out["h"]) * int(t_out["w"]) * int(t_out["c"])
    output_end = int(t_out["offset"]) + n_outputs
    return write_blob(kind=Kind.CNN, task=Task.CLASSIFIER, input_type=InputType.INT8,
                      n_inputs=n_inputs, n_outputs=n_outputs,
                      arena_bytes=cnn_arena_bytes(tensor_arena_bytes, n_outputs, flags,
                                                  output_end),
                      sections=sections)


# The %N names of the C messages (EMLML_NAME_LIST): a layer field or qparam by name.
_NAME = {name: i for i, name in enumerate(C.FIELD_NAMES)}
# The fields only some ops use (FORMAT.md, CNN_LAYERS), in the C loader's order, with the
# ops that use them; any other op has them 0. A field's name is its %N name in C.
_ZERO_UNLESS: tuple[tuple[str, frozenset[CnnOp]], ...] = (
    ("padding", CNN_SPATIAL_OPS),
    ("in1", CNN_TWO_INPUT_OPS),
    ("stride_h", CNN_SPATIAL_OPS), ("stride_w", CNN_SPATIAL_OPS),
    ("dilation_h", frozenset({CnnOp.CONV_2D, CnnOp.DEPTHWISE_CONV_2D})),
    ("dilation_w", frozenset({CnnOp.CONV_2D, CnnOp.DEPTHWISE_CONV_2D})),
    ("filter_h", CNN_SPATIAL_OPS), ("filter_w", CNN_SPATIAL_OPS),
    ("pad_h", frozenset({CnnOp.PAD})), ("pad_w", frozenset({CnnOp.PAD})),
    ("pad_c", frozenset({CnnOp.PAD})), ("reserved", frozenset()),
    ("weights_offset", CNN_WEIGHT_OPS | CNN_TABLE_OPS | {CnnOp.PRELU}),
    ("qparams_offset", frozenset({*CNN_WEIGHT_OPS, CnnOp.MEAN, CnnOp.ADD, CnnOp.SOFTMAX,
                                  CnnOp.MUL, CnnOp.SUB, CnnOp.PRELU})),
)
_DILATED_OPS = frozenset({CnnOp.CONV_2D, CnnOp.DEPTHWISE_CONV_2D})


def _positive_finite(bits: int) -> bool:
    """A float32 scale by its bits, as the C loader checks it: sign clear, not zero, not
    infinite or NaN (subnormals pass)."""
    return 0 < bits < 0x7F800000


def check_cnn(data: bytes, by_id: dict[int, SectionEntry], task: int, input_type: int,
               n_inputs: int, n_outputs: int, steps: bool = False) -> CnnData:
    """The checks of cnn/emlml_cnn_load.c, in its order: task/input type; CNN_PARAMS (size,
    counts, input/output tensors, scales, flags and reserved bytes); CNN_TENSORS and
    CNN_LAYERS sizes, CNN_QPARAMS a whole number of i32; every tensor in index order
    (shape, reserved, zero point, arena bounds); n_inputs, n_outputs and the size of the
    arena; every layer in order (``_check_cnn_layer``); the output tensor is written; no
    two tensors live at the same time share a byte (``_check_lifetimes``). Behind feature
    ``steps`` the window is float32 (check_pipeline) and ``n_inputs`` the steps' features,
    quantized into the int8 input tensor."""
    if task != Task.CLASSIFIER or (input_type != InputType.INT8 and not steps):
        raise BlobError("EMLML_E_CNN_HEADER", task, input_type)
    params_e = exact_section(by_id, SectionId.CNN_PARAMS, CNN_PARAMS_SIZE)
    (n_tensors, n_layers, inp, out, in_scale, out_scale, arena, flags,
     reserved) = _CNN_PARAMS.unpack_from(data, params_e.offset)
    if not (2 <= n_tensors <= CNN_MAX_TENSORS and 1 <= n_layers <= CNN_MAX_LAYERS):
        raise BlobError("EMLML_E_CNN_COUNTS", n_tensors, n_layers)
    if inp >= n_tensors or out >= n_tensors or inp == out:
        raise BlobError("EMLML_E_CNN_IO_TENSORS", inp, out, n_tensors)
    scale_bits = struct.unpack_from("<II", data, params_e.offset + 8)
    for which, bits in zip(("input", "output"), scale_bits):
        if not _positive_finite(bits):
            raise BlobError("EMLML_E_CNN_SCALE", _NAME[which])
    if flags & ~(CNN_FLAG_FLOAT_INPUT | CNN_FLAG_FLOAT_OUTPUT | CNN_FLAG_OUTPUTS_AFTER_OUTPUT) \
            or any(reserved):
        raise BlobError("EMLML_E_CNN_FLAGS", flags)
    tensors_e = exact_section(by_id, SectionId.CNN_TENSORS, CNN_TENSOR_DTYPE.itemsize * n_tensors)
    layers_e = exact_section(by_id, SectionId.CNN_LAYERS, CNN_LAYER_DTYPE.itemsize * n_layers)
    qparams_e = sized_section(by_id, SectionId.CNN_QPARAMS, 4)
    weights_e = by_id.get(SectionId.CNN_WEIGHTS)
    tensors = section_view(data, tensors_e, CNN_TENSOR_DTYPE, n_tensors)
    layers = section_view(data, layers_e, CNN_LAYER_DTYPE, n_layers)
    qparams = section_view(data, qparams_e, "<i4", qparams_e.size // 4)
    weights = (section_view(data, weights_e, "i1", weights_e.size) if weights_e is not None
               else np.zeros(0, dtype="i1"))
    for t in range(n_tensors):
        h, w, c, t_flags, offset, zp = (int(v) for v in tensors[t])
        if h == 0 or w == 0 or c == 0:
            raise BlobError("EMLML_E_CNN_TENSOR_SHAPE", t, h, w, c)
        if t_flags > CNN_TENSOR_CONSTANT:
            raise BlobError("EMLML_E_CNN_TENSOR_FLAGS", t, t_flags)
        if not -128 <= zp <= 127:
            raise BlobError("EMLML_E_CNN_TENSOR_ZP", t, zp)
        space = len(weights) if t_flags else arena
        if offset + h * w * c > space:
            raise BlobError("EMLML_E_CNN_CONSTANT_BOUNDS" if t_flags else "EMLML_E_CNN_TENSOR_ARENA",
                            t, offset, clamp_u32(offset + h * w * c), space)
    cnn = CnnData(input_tensor=inp, output_tensor=out, input_scale=float(in_scale),
                  output_scale=float(out_scale), tensor_arena_bytes=arena, flags=flags,
                  tensors=tensors, layers=layers, weights=weights, qparams=qparams)
    size = [math.prod(cnn.shape(t)) for t in range(n_tensors)]
    if int(tensors[inp]["flags"]):  # the input is written into the arena
        raise BlobError("EMLML_E_CNN_IO_TENSORS", inp, out)
    if n_inputs != size[inp]:
        raise BlobError("EMLML_E_CNN_N_INPUTS", n_inputs, size[inp])
    if n_outputs != size[out]:
        raise BlobError("EMLML_E_CNN_N_OUTPUTS", n_outputs, size[out])
    if cnn.arena_bytes(n_outputs) > 0xFFFFFFFF:
        raise BlobError("EMLML_E_CNN_ARENA_SIZE", arena)
    written = np.full(n_tensors, -2, dtype=np.int64)  # the layer that writes each tensor
    written[inp] = -1  # the input: written before the first layer
    written[tensors["flags"] != 0] = -3  # constants: readable, never written
    for i in range(n_layers):
        _check_cnn_layer(cnn, i, written)
    if written[out] < 0:
        raise BlobError("EMLML_E_CNN_OUTPUT_UNWRITTEN", out)
    _check_lifetimes(cnn, written >= 0, np.array(size, dtype=np.int64))
    return cnn


def _check_lifetimes(cnn: CnnData, written: np.ndarray, size: np.ndarray) -> None:
    """Tensors live at the same time share no byte, checked as the C loader does (and so
    with its message): walking the layers backwards, layer k's output against every
    tensor born before k (the input, outputs of earlier layers) and read by layer k or a
    later one (or the output); the first clash found names layer k and the two tensors."""
    lo = cnn.tensors["offset"].astype(np.int64)
    hi = lo + size
    born = written.copy()
    born[cnn.input_tensor] = True
    read_later = np.zeros(cnn.n_tensors, dtype=bool)
    read_later[cnn.output_tensor] = True
    for k in range(cnn.n_layers - 1, -1, -1):
        layer = cnn.layers[k]
        out = int(layer["out"])
        born[out] = False
        read_later[int(layer["in0"])] = True
        if int(layer["op"]) in CNN_TWO_INPUT_OPS:
            read_later[int(layer["in1"])] = True
        clash = born & read_later & (lo < hi[out]) & (lo[out] < hi)
        clash[out] = False
        if clash.any():
            t = int(np.argmax(clash))
            raise BlobError("EMLML_E_CNN_OVERLAP", where_layer(k, int(layer["op"])),
                            min(t, out), max(t, out))


def _check_cnn_layer(cnn: CnnData, k: int, written: np.ndarray) -> None:
    """Layer k, in the order of the C loader (check_layer): op; tensor indices (in0, in1,
    out); fields the op does not use are 0; act_min <= act_max (ops without a fused
    activation: -128, 127); padding, strides, filter sizes and dilations; reads (in0, then
    in1 for ADD) after their writer, out not the input and not written twice; the op's
    shape rules; weights and qparams inside their sections; the qparam values."""
    L = cnn.layers[k]
    op_number = int(L["op"])
    if op_number not in CnnOp._value2member_map_:
        raise BlobError("EMLML_E_CNN_OP", k, op_number)
    op = CnnOp(op_number)
    where = where_layer(k, op)

    def fail(status: str, *numbers: int) -> BlobError:
        return BlobError(status, where, *numbers)

    n = cnn.n_tensors
    for key in ("in0", "in1", "out"):
        if int(L[key]) >= n:
            raise fail("EMLML_E_CNN_TENSOR_INDEX", int(L[key]), n)
    for key, users in _ZERO_UNLESS:
        if op not in users and int(L[key]) != 0:
            raise fail("EMLML_E_CNN_FIELD_ZERO", _NAME[key], int(L[key]))
    act_min, act_max = int(L["act_min"]), int(L["act_max"])
    if op in CNN_ACT_OPS:
        if act_min > act_max:
            raise fail("EMLML_E_CNN_ACTIVATION", act_min, act_max)
    elif act_min != -128:
        raise fail("EMLML_E_CNN_NO_ACTIVATION", _NAME["act_min"], act_min)
    elif act_max != 127:
        raise fail("EMLML_E_CNN_NO_ACTIVATION", _NAME["act_max"], act_max)
    if op in CNN_SPATIAL_OPS:
        if int(L["padding"]) > 1:
            raise fail("EMLML_E_CNN_PADDING", int(L["padding"]))
        keys = ["stride_h", "stride_w", "filter_h", "filter_w"]
        if op in _DILATED_OPS:
            keys += ["dilation_h", "dilation_w"]
        for key in keys:
            if int(L[key]) < 1:
                raise fail("EMLML_E_CNN_FIELD_MIN1", _NAME[key])
    in0, in1, out = int(L["in0"]), int(L["in1"]), int(L["out"])
    for t in ((in0, in1) if op in CNN_TWO_INPUT_OPS else (in0,)):
        if written[t] == -2:
            raise fail("EMLML_E_CNN_UNWRITTEN_READ", t)
    if written[out] == -1:
        raise fail("EMLML_E_CNN_WRITES_INPUT", out)
    if written[out] == -3:
        raise fail("EMLML_E_CNN_WRITES_CONSTANT", out)
    if written[out] >= 0:
        raise fail("EMLML_E_CNN_WRITTEN_TWICE", out, int(written[out]))
    written[out] = k
    ins, outs = cnn.shape(in0), cnn.shape(out)
    _check_cnn_shapes(cnn, L, op, fail, ins, outs, in1)
    count = cnn_weight_count(op, ins, outs, int(L["filter_h"]), int(L["filter_w"]))
    start = int(L["weights_offset"])
    if count and start + count > len(cnn.weights):
        raise fail("EMLML_E_CNN_WEIGHTS_BOUNDS", start, clamp_u32(start + count),
                   len(cnn.weights))
    count = cnn_qparam_count(op, outs[2])
    if count:
        start = int(L["qparams_offset"])
        if start + count > len(cnn.qparams):
            raise fail("EMLML_E_CNN_QPARAMS_BOUNDS", start, clamp_u32(start + count),
                       len(cnn.qparams))
        _check_cnn_qparams(op, fail, cnn.qparams[start:start + count].astype(np.int64),
                           outs[2])


def _check_cnn_shapes(cnn: CnnData, L: np.void, op: CnnOp, fail: Callable[..., BlobError],
                      ins: tuple[int, int, int], outs: tuple[int, int, int], in1: int) -> None:
    """The op's shape rules (FORMAT.md, Shapes), as check_shapes in C: the op's own rules
    first, then the output shape ("does not chain")."""
    h, w, c = ins
    zp_in = int(cnn.tensors[int(L["in0"])]["zero_point"])
    zp_out = int(cnn.tensors[int(L["out"])]["zero_point"])
    chain = fail("EMLML_E_CNN_CHAIN", *outs)
    if op == CnnOp.TRANSPOSE_CONV:  # a convolution of out with this window gives in
        products = int(L["filter_h"]) * int(L["filter_w"]) * c
        if products > CNN_MAX_DOT:
            raise fail("EMLML_E_CNN_PRODUCTS", products)
        if any(spatial_out_size(int(L["padding"]), o, int(L[f"filter_{a}"]), int(L[f"stride_{a}"]),
                                1) != n for o, n, a in zip(outs[:2], (h, w), "hw")):
            raise chain
    elif op in CNN_SPATIAL_OPS:
        dilation = ((int(L["dilation_h"]), int(L["dilation_w"])) if op in _DILATED_OPS
                    else (1, 1))
        size = []
        for axis, (n_in, f, stride, d) in enumerate(zip(
                (h, w), (int(L["filter_h"]), int(L["filter_w"])),
                (int(L["stride_h"]), int(L["stride_w"])), dilation)):
            o = spatial_out_size(int(L["padding"]), n_in, f, stride, d)
            if o < 1:
                raise fail("EMLML_E_CNN_VALID_WINDOW", (f - 1) * d + 1, ord("hw"[axis]), n_in)
            size.append(o)
        out_c = outs[2]
        if op == CnnOp.CONV_2D:
            products = int(L["filter_h"]) * int(L["filter_w"]) * c
            if products > CNN_MAX_DOT:
                raise fail("EMLML_E_CNN_PRODUCTS", products)
        elif op == CnnOp.DEPTHWISE_CONV_2D:
            if outs[2] % c:
                raise fail("EMLML_E_CNN_DW_CHANNELS", outs[2], c)
        else:  # pools
            if zp_out != zp_in:
                raise fail("EMLML_E_CNN_ZP_DIFFERS", zp_out, zp_in)
            out_c = c
        if outs != (size[0], size[1], out_c):
            raise chain
    elif op == CnnOp.FULLY_CONNECTED:
        if h * w * c > CNN_MAX_DOT:
            raise fail("EMLML_E_CNN_PRODUCTS", h * w * c)
        if outs[:2] != (1, 1):
            raise chain
    elif op == CnnOp.MEAN:
        if h * w > CNN_MEAN_MAX_CELLS:
            raise fail("EMLML_E_CNN_MEAN_CELLS", h * w)
        if outs != (1, 1, c):
            raise chain
    elif op == CnnOp.PAD:
        if zp_out != zp_in:
            raise fail("EMLML_E_CNN_ZP_DIFFERS", zp_out, zp_in)
        for axis, (n_in, n_out, key) in enumerate(zip(ins, outs, ("pad_h", "pad_w", "pad_c"))):
            if n_out < n_in + int(L[key]):
                raise fail("EMLML_E_CNN_PAD_SIZE", ord("hwc"[axis]), n_out, n_in + int(L[key]))
    elif op == CnnOp.SOFTMAX:
        if zp_out != -128:
            raise fail("EMLML_E_CNN_SOFTMAX_ZP", zp_out)
        if outs != ins:
            raise chain
    elif op == CnnOp.CONCATENATION:
        zp_in1 = int(cnn.tensors[in1]["zero_point"])
        if zp_out != zp_in:
            raise fail("EMLML_E_CNN_ZP_DIFFERS", zp_out, zp_in)
        if zp_in1 != zp_out:
            raise fail("EMLML_E_CNN_ZP_DIFFERS", zp_out, zp_in1)
        if concat_axis(ins, cnn.shape(in1), outs) is None:
            raise chain
    elif op in CNN_BROADCAST_OPS:
        b = cnn.shape(in1)
        for n_a, n_b, n_o in zip(ins, b, outs):
            if n_o != max(n_a, n_b) or n_a not in (1, n_o) or n_b not in (1, n_o):
                raise chain
    elif op == CnnOp.PRELU:
        if outs != ins:
            raise chain
    elif op == CnnOp.RESHAPE:
        if math.prod(outs) != math.prod(ins):
            raise fail("EMLML_E_CNN_RESHAPE_SIZE", math.prod(outs), math.prod(ins))
    elif outs != ins:  # CNN_TABLE_OPS: one output per input value
        raise chain


def concat_axis(a: tuple[int, int, int], b: tuple[int, int, int],
                c: tuple[int, int, int]) -> int | None:
    """The axis (0 = h, 1 = w, 2 = c) along which CONCATENATION joins shapes ``a`` and
    ``b`` into ``c``: the first of h, w where ``c`` differs from ``a``, else c; None when
    the shapes do not join that way (the C loader's check_concat_shapes)."""
    axis = next((i for i in range(2) if c[i] != a[i]), 2)
    ok = all(c[i] == a[i] + b[i] if i == axis else c[i] == a[i] == b[i] for i in range(3))
    return axis if ok else None


def _check_cnn_qparams(op: CnnOp, fail: Callable[..., BlobError], q: np.ndarray,
                       out_c: int) -> None:
    """The qparam values (FORMAT.md, QParams rules), in the C loader's order."""

    def multiplier_ok(m: int) -> bool:  # 0, or a Q0.31 value in [0.5, 1)
        return m == 0 or Q31_LOW <= m <= INT32_MAX

    def shift_ok(s: int, hi: int = 30) -> bool:
        return -31 <= s <= hi

    def value(name: str, v: int) -> BlobError:
        return fail("EMLML_E_CNN_QPARAM", _NAME[name], v)

    if op == CnnOp.FULLY_CONNECTED:
        scales = q[out_c:3 * out_c].astype("<i4").view("<f8")
        for o in range(out_c):
            v = float(scales[o])
            if not (math.isfinite(v) and v >= 0):  # -0.0 passes, as in C
                raise fail("EMLML_E_CNN_FC_SCALE", o)
    elif op in CNN_WEIGHT_OPS:
        for o in range(out_c):
            m, s = int(q[out_c + o]), int(q[2 * out_c + o])
            if not multiplier_ok(m):
                raise fail("EMLML_E_CNN_CHANNEL_QPARAM", _NAME["multiplier"], o, m)
            if not shift_ok(s):
                raise fail("EMLML_E_CNN_CHANNEL_QPARAM", _NAME["shift"], o, s)
    elif op == CnnOp.MEAN:
        if q[0] < 0:  # the division by h * w is folded in: may be below 2^30
            raise value("multiplier", int(q[0]))
        if not shift_ok(int(q[1])):
            raise value("shift", int(q[1]))
    elif op in (CnnOp.MUL, CnnOp.PRELU):
        for i in (0, 2) if op == CnnOp.PRELU else (0,):
            if not multiplier_ok(int(q[i])):
                raise value("multiplier", int(q[i]))
            if not shift_ok(int(q[i + 1])):
                raise value("shift", int(q[i + 1]))
        if op == CnnOp.PRELU and not -128 <= q[4] <= 127:
            raise value("alpha_zero_point", int(q[4]))
    elif op in (CnnOp.ADD, CnnOp.SUB):
        if not 0 <= q[0] <= 20:
            raise value("left_shift", int(q[0]))
        for i, who in ((1, "input1"), (3, "input2"), (5, "output")):
            if not multiplier_ok(int(q[i])):
                raise value(who + "_multiplier", int(q[i]))
            if not shift_ok(int(q[i + 1]), 0):
                raise value(who + "_shift", int(q[i + 1]))
    elif op == CnnOp.SOFTMAX:
        left_shift, diff_min = int(q[1]), int(q[2])
        if not multiplier_ok(int(q[0])):
            raise value("input_multiplier", int(q[0]))
        if not 0 <= left_shift <= 31:
            raise value("input_left_shift", left_shift)
        if diff_min > 0 or -diff_min << left_shift > INT32_MAX:  # -diff_min * 2^shift < 2^31
            raise value("diff_min", diff_min)
