"""int8 CNN (kind 3, docs/FORMAT.md "int8 CNN"): operators, tensor and layer layouts, the
writer and the checked reader, in the order the C loader checks."""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from . import c_tables as C
from .header import (
    BlobError,
    InputType,
    Kind,
    SectionEntry,
    SectionId,
    Task,
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
CNN_SOFTMAX_MAX_C = C.CNN_MAX_SOFTMAX_DEPTH  # TFLite's last RoundingDivideByPOT shifts <= 31
CNN_FLAG_FLOAT_INPUT = 1
CNN_FLAG_FLOAT_OUTPUT = 2
_CNN_PARAMS = struct.Struct("<HHHHffIB11s")
assert _CNN_PARAMS.size == CNN_PARAMS_SIZE
CNN_TENSOR_DTYPE = np.dtype([("h", "<u2"), ("w", "<u2"), ("c", "<u2"), ("reserved", "<u2"),
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
                             CnnOp.AVERAGE_POOL_2D})
CNN_WEIGHT_OPS = frozenset({CnnOp.CONV_2D, CnnOp.DEPTHWISE_CONV_2D, CnnOp.FULLY_CONNECTED})
CNN_ACT_OPS = frozenset({*CNN_WEIGHT_OPS, CnnOp.MAX_POOL_2D, CnnOp.AVERAGE_POOL_2D, CnnOp.ADD})
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

    def shape(self, t: int) -> tuple[int, int, int]:
        row = self.tensors[t]
        return int(row["h"]), int(row["w"]), int(row["c"])


def align4(n: int) -> int:
    return (n + 3) // 4 * 4


def cnn_arena_bytes(tensor_arena_bytes: int, n_outputs: int) -> int:
    """Header arena_bytes of a CNN: the int8 tensors, then n_outputs float32 outputs."""
    return align4(tensor_arena_bytes) + 4 * n_outputs


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
    if op == CnnOp.CONV_2D:
        return oc * fh * fw * c
    if op == CnnOp.DEPTHWISE_CONV_2D:
        return fh * fw * oc
    if op == CnnOp.FULLY_CONNECTED:
        return oc * h * w * c
    return 0


def cnn_qparam_count(op: int, out_c: int) -> int:
    if op in CNN_WEIGHT_OPS:
        return 3 * out_c
    return {CnnOp.MEAN: 2, CnnOp.ADD: 7, CnnOp.SOFTMAX: 3}.get(CnnOp(op), 0)


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
    return write_blob(kind=Kind.CNN, task=Task.CLASSIFIER, input_type=InputType.INT8,
                      n_inputs=n_inputs, n_outputs=n_outputs,
                      arena_bytes=cnn_arena_bytes(tensor_arena_bytes, n_outputs),
                      sections=sections)


def _shape_text(shape: tuple[int, int, int]) -> str:
    return "x".join(str(d) for d in shape)


def check_cnn(data: bytes, by_id: dict[int, SectionEntry], task: int, input_type: int,
               n_inputs: int, n_outputs: int) -> CnnData:
    """Order: task/input type; CNN_PARAMS (size, counts, input/output tensors, scales,
    flags and reserved bytes); CNN_TENSORS and CNN_LAYERS sizes, CNN_QPARAMS a whole number
    of i32; every tensor in index order (shape, reserved, zero point, arena bounds);
    n_inputs and n_outputs; every layer in order (``_check_cnn_layer``); the output tensor is
    written; no two tensors live at the same time share a byte."""
    if task != Task.CLASSIFIER or input_type != InputType.INT8:
        raise BlobError("cnn_header", task=task, input_type=input_type)
    params_e = exact_section(by_id, SectionId.CNN_PARAMS, CNN_PARAMS_SIZE)
    (n_tensors, n_layers, inp, out, in_scale, out_scale, arena, flags,
     reserved) = _CNN_PARAMS.unpack_from(data, params_e.offset)
    if not (2 <= n_tensors <= CNN_MAX_TENSORS and 1 <= n_layers <= CNN_MAX_LAYERS):
        raise BlobError("cnn_counts", n_tensors=n_tensors, n_layers=n_layers)
    if inp >= n_tensors or out >= n_tensors or inp == out:
        raise BlobError("cnn_io", inp=inp, out=out, n=n_tensors)
    for which, scale in (("input", in_scale), ("output", out_scale)):
        if not (np.isfinite(scale) and scale > 0):
            raise BlobError("cnn_scale", which=which, scale=scale)
    if flags & ~(CNN_FLAG_FLOAT_INPUT | CNN_FLAG_FLOAT_OUTPUT) or any(reserved):
        raise BlobError("cnn_flags", flags=flags)
    tensors_e = exact_section(by_id, SectionId.CNN_TENSORS, 16 * n_tensors)
    layers_e = exact_section(by_id, SectionId.CNN_LAYERS, 32 * n_layers)
    qparams_e = sized_section(by_id, SectionId.CNN_QPARAMS, 4)
    weights_e = by_id.get(SectionId.CNN_WEIGHTS)
    tensors = section_view(data, tensors_e, CNN_TENSOR_DTYPE, n_tensors)
    layers = section_view(data, layers_e, CNN_LAYER_DTYPE, n_layers)
    qparams = section_view(data, qparams_e, "<i4", qparams_e.size // 4)
    weights = (section_view(data, weights_e, "i1", weights_e.size) if weights_e is not None
               else np.zeros(0, dtype="i1"))
    for t in range(n_tensors):
        h, w, c, res, offset, zp = (int(v) for v in tensors[t])
        if h == 0 or w == 0 or c == 0:
            raise BlobError("cnn_tensor_shape", t=t, h=h, w=w, c=c)
        if res:
            raise BlobError("cnn_tensor_reserved", t=t)
        if not -128 <= zp <= 127:
            raise BlobError("cnn_tensor_zp", t=t, zp=zp)
        if offset + h * w * c > arena:
            raise BlobError("cnn_tensor_arena", t=t, start=offset, end=offset + h * w * c,
                            arena=arena)
    cnn = CnnData(input_tensor=inp, output_tensor=out, input_scale=float(in_scale),
                  output_scale=float(out_scale), tensor_arena_bytes=arena, flags=flags,
                  tensors=tensors, layers=layers, weights=weights, qparams=qparams)
    size = [math.prod(cnn.shape(t)) for t in range(n_tensors)]
    if n_inputs != size[inp]:
        raise BlobError("cnn_n_inputs", n=n_inputs, need=size[inp])
    if n_outputs != size[out]:
        raise BlobError("cnn_n_outputs", n=n_outputs, need=size[out])
    written = np.full(n_tensors, -2, dtype=np.int64)  # the layer that writes each tensor
    written[inp] = -1
    last_read = np.full(n_tensors, -2, dtype=np.int64)
    for i in range(n_layers):
        _check_cnn_layer(cnn, i, written, last_read)
    if written[out] < 0:
        raise BlobError("cnn_output", t=out)
    last_read[out] = n_layers
    live = written >= -1
    start = written
    end = np.maximum(last_read, written)
    lo = tensors["offset"].astype(np.int64)
    hi = lo + np.array(size, dtype=np.int64)
    clash = (live[:, None] & live[None, :] & (start[:, None] <= end[None, :])
             & (start[None, :] <= end[:, None]) & (lo[:, None] < hi[None, :])
             & (lo[None, :] < hi[:, None]))
    clash = np.triu(clash, 1)
    if clash.any():
        a, b = (int(v) for v in np.argwhere(clash)[0])
        raise BlobError("cnn_overlap", a=a, b=b)
    return cnn


_ZERO_UNLESS: dict[str, frozenset[CnnOp]] = {
    "padding": CNN_SPATIAL_OPS,
    "in1": frozenset({CnnOp.ADD}),
    "stride_h": CNN_SPATIAL_OPS, "stride_w": CNN_SPATIAL_OPS,
    "dilation_h": frozenset({CnnOp.CONV_2D, CnnOp.DEPTHWISE_CONV_2D}),
    "dilation_w": frozenset({CnnOp.CONV_2D, CnnOp.DEPTHWISE_CONV_2D}),
    "filter_h": CNN_SPATIAL_OPS, "filter_w": CNN_SPATIAL_OPS,
    "pad_h": frozenset({CnnOp.PAD}), "pad_w": frozenset({CnnOp.PAD}),
    "pad_c": frozenset({CnnOp.PAD}), "reserved": frozenset(),
    "weights_offset": CNN_WEIGHT_OPS,
    "qparams_offset": frozenset({*CNN_WEIGHT_OPS, CnnOp.MEAN, CnnOp.ADD, CnnOp.SOFTMAX}),
}


def _check_cnn_layer(cnn: CnnData, i: int, written: np.ndarray, last_read: np.ndarray
                     ) -> None:
    """One layer, in this order: op; tensor indices (in0, in1, out); fields the op does not
    use are 0; act_min <= act_max (ops without a fused activation: -128, 127); padding,
    strides, dilations and filter sizes; reads (in0, then in1 for ADD) come after their
    writer, out is not the input and not written twice; the op's shape rules; weights and
    qparams inside their sections; the qparam values."""
    L = cnn.layers[i]
    n = cnn.n_tensors
    if int(L["op"]) not in CnnOp._value2member_map_:
        raise BlobError("cnn_op", i=i, op=int(L["op"]))
    op = CnnOp(int(L["op"]))
    name = op.name

    def field_error(fname: str, rule: str) -> BlobError:
        return BlobError("cnn_field", i=i, op=name, field=fname, value=int(L[fname]), rule=rule)

    for key in ("in0", "in1", "out"):
        if int(L[key]) >= n:
            raise BlobError("cnn_tensor_index", i=i, op=name, t=int(L[key]), n=n)
    for fname, users in _ZERO_UNLESS.items():
        if op not in users and int(L[fname]) != 0:
            raise field_error(fname, "must be 0 for this op")
    lo, hi = int(L["act_min"]), int(L["act_max"])
    if op in CNN_ACT_OPS:
        if lo > hi:
            raise field_error("act_min", f"above act_max {hi}")
    elif lo != -128 or hi != 127:
        raise field_error("act_min" if lo != -128 else "act_max",
                          "must be -128 and 127 for an op without a fused activation")
    if op in CNN_SPATIAL_OPS:
        if int(L["padding"]) > 1:
            raise field_error("padding", "must be 0 (VALID) or 1 (SAME)")
        keys = ["stride_h", "stride_w", "filter_h", "filter_w"]
        if op in (CnnOp.CONV_2D, CnnOp.DEPTHWISE_CONV_2D):
            keys += ["dilation_h", "dilation_w"]
        for key in keys:
            if int(L[key]) < 1:
                raise field_error(key, "must be >= 1")
    in0, in1, out = int(L["in0"]), int(L["in1"]), int(L["out"])
    for t in ((in0, in1) if op == CnnOp.ADD else (in0,)):
        if written[t] < -1:
            raise BlobError("cnn_read", i=i, op=name, t=t)
        last_read[t] = i
    if written[out] == -1:
        raise BlobError("cnn_write", i=i, op=name, t=out, problem="is the model input")
    if written[out] >= 0:
        raise BlobError("cnn_write", i=i, op=name, t=out,
                        problem=f"is already written by layer {int(written[out])}")
    written[out] = i
    ins, outs = cnn.shape(in0), cnn.shape(out)
    zp_in = int(cnn.tensors[in0]["zero_point"])
    zp_out = int(cnn.tensors[out]["zero_point"])
    expected = _cnn_out_shape(cnn, i, op, ins, outs, zp_in, zp_out)
    if expected is not None and outs != expected:
        raise BlobError("cnn_chain", i=i, op=name, got=_shape_text(outs),
                        expected=_shape_text(expected))
    fh, fw = int(L["filter_h"]), int(L["filter_w"])
    count = cnn_weight_count(op, ins, outs, fh, fw)
    if count:
        start = int(L["weights_offset"])
        if start + count > len(cnn.weights):
            raise BlobError("cnn_weights", i=i, op=name, start=start, end=start + count,
                            size=len(cnn.weights))
    count = cnn_qparam_count(op, outs[2])
    if count:
        start = int(L["qparams_offset"])
        if start + count > len(cnn.qparams):
            raise BlobError("cnn_qparams", i=i, op=name, start=start, end=start + count,
                            n=len(cnn.qparams))
        _check_cnn_qparams(i, op, cnn.qparams[start:start + count].astype(np.int64), outs[2])


def _cnn_out_shape(cnn: CnnData, i: int, op: CnnOp, ins: tuple[int, int, int],
                   outs: tuple[int, int, int], zp_in: int, zp_out: int
                   ) -> tuple[int, int, int] | None:
    """The output shape the op needs (None: checked here), after the op's other rules."""
    L = cnn.layers[i]
    name = op.name
    h, w, c = ins

    def fail(detail: str) -> BlobError:
        return BlobError("cnn_shape", i=i, op=name, detail=detail)

    if op in CNN_SPATIAL_OPS:
        dil = ((int(L["dilation_h"]), int(L["dilation_w"]))
               if op in (CnnOp.CONV_2D, CnnOp.DEPTHWISE_CONV_2D) else (1, 1))
        pad = int(L["padding"])
        size = []
        for axis, (n_in, f, s, d) in enumerate(zip(
                (h, w), (int(L["filter_h"]), int(L["filter_w"])),
                (int(L["stride_h"]), int(L["stride_w"])), dil)):
            o = spatial_out_size(pad, n_in, f, s, d)
            if o < 1:
                raise fail(f"VALID window {(f - 1) * d + 1} larger than the input "
                           f"{'hw'[axis]} {n_in}")
            size.append(o)
        oh, ow = size
        fh, fw = int(L["filter_h"]), int(L["filter_w"])
        if op == CnnOp.CONV_2D:
            if fh * fw * c > CNN_MAX_DOT:
                raise fail(f"filter_h * filter_w * in_c = {fh * fw * c}, above {CNN_MAX_DOT}")
            return oh, ow, outs[2]
        if op == CnnOp.DEPTHWISE_CONV_2D:
            if outs[2] % c:
                raise fail(f"output channels {outs[2]} not a multiple of the input "
                           f"channels {c}")
            return oh, ow, outs[2]
        if zp_out != zp_in:
            raise fail(f"output zero point {zp_out} differs from the input's {zp_in}")
        return oh, ow, c
    if op == CnnOp.FULLY_CONNECTED:
        if h * w * c > CNN_MAX_DOT:
            raise fail(f"{h * w * c} inputs, above {CNN_MAX_DOT}")
        return 1, 1, outs[2]
    if op == CnnOp.MEAN:
        if h * w > CNN_MEAN_MAX_CELLS:
            raise fail(f"mean over {h * w} cells, above {CNN_MEAN_MAX_CELLS}")
        return 1, 1, c
    if op == CnnOp.PAD:
        if zp_out != zp_in:
            raise fail(f"output zero point {zp_out} differs from the input's {zp_in}")
        for axis, (n_in, n_out, key) in enumerate(zip(ins, outs, ("pad_h", "pad_w", "pad_c"))):
            if n_out < n_in + int(L[key]):
                raise fail(f"output {'hwc'[axis]} {n_out} below input {n_in} + "
                           f"{key} {int(L[key])}")
        return None
    if op == CnnOp.ADD:
        in2 = cnn.shape(int(L["in1"]))
        if in2 != ins:
            raise fail(f"input shapes {_shape_text(ins)} and {_shape_text(in2)} differ "
                       "(no broadcasting)")
        return ins
    if op == CnnOp.SOFTMAX:
        if zp_out != -128:
            raise fail(f"output zero point {zp_out}, must be -128")
        if c > CNN_SOFTMAX_MAX_C:
            raise fail(f"{c} channels, at most {CNN_SOFTMAX_MAX_C}")
        return ins
    # RESHAPE
    if math.prod(outs) != math.prod(ins):
        raise fail(f"output {_shape_text(outs)} holds {math.prod(outs)} values, input "
                   f"{_shape_text(ins)} holds {math.prod(ins)}")
    return None


def _check_cnn_qparams(i: int, op: CnnOp, q: np.ndarray, out_c: int) -> None:
    name = op.name

    def need(ok: bool, what: str, value: int, rule: str) -> None:
        if not ok:
            raise BlobError("cnn_qvalue", i=i, op=name, name=what, value=value, rule=rule)

    def multiplier(what: str, m: int) -> None:
        need(m == 0 or Q31_LOW <= m <= INT32_MAX, what, m, "0 or 2^30 .. 2^31-1")

    def shift(what: str, s: int, hi: int = 30) -> None:
        need(-31 <= s <= hi, what, s, f"-31 .. {hi}")

    if op == CnnOp.FULLY_CONNECTED:
        scales = q[out_c:3 * out_c].astype("<i4").view("<f8")
        for o in range(out_c):
            v = float(scales[o])
            if not (math.isfinite(v) and v >= 0):
                raise BlobError("cnn_qvalue", i=i, op=name, name=f"scale[{o}]", value=v,
                                rule="finite, >= 0")
    elif op in CNN_WEIGHT_OPS:
        for o in range(out_c):
            multiplier(f"multiplier[{o}]", int(q[out_c + o]))
            shift(f"shift[{o}]", int(q[2 * out_c + o]))
    elif op == CnnOp.MEAN:
        need(0 <= q[0] <= INT32_MAX, "multiplier", int(q[0]), "0 .. 2^31-1")
        shift("shift", int(q[1]))
    elif op == CnnOp.ADD:
        need(0 <= q[0] <= 20, "left_shift", int(q[0]), "0 .. 20")
        multiplier("input1_multiplier", int(q[1]))
        shift("input1_shift", int(q[2]), 0)
        multiplier("input2_multiplier", int(q[3]))
        shift("input2_shift", int(q[4]), 0)
        multiplier("output_multiplier", int(q[5]))
        shift("output_shift", int(q[6]), 0)
    elif op == CnnOp.SOFTMAX:
        multiplier("input_multiplier", int(q[0]))
        need(0 <= q[1] <= 31, "input_left_shift", int(q[1]), "0 .. 31")
        need(q[2] <= 0 and (-int(q[2])) << int(q[1]) <= INT32_MAX, "diff_min", int(q[2]),
             "<= 0, and -diff_min * 2^input_left_shift < 2^31")
