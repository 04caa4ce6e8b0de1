"""A TensorFlow Lite flatbuffer as a small typed graph, ready for the int8 CNN converter.

``read_tflite(data)`` parses the model with the ``tflite`` package and returns a ``Graph``:

- the shape arithmetic Keras leaves in front of RESHAPE (SHAPE, STRIDED_SLICE, PACK,
  CONCATENATION of constants) is folded away: every shape is static;
- RESHAPE, EXPAND_DIMS and SQUEEZE become one ``RESHAPE`` node;
- a QUANTIZE (float32 -> int8) on the model input and a DEQUANTIZE (int8 -> float32) on its
  output are absorbed into ``Graph.float_input`` / ``Graph.float_output``;
- every other node is one of the operators the blob holds, checked against what emlml
  computes exactly (int8 activations, per-tensor activation quantization, per-channel
  weights on the output channel axis with zero point 0, batch 1, broadcasting only along
  height, width or channels, ...); a constant operand of several values of ADD, SUB, MUL,
  MAXIMUM or MINIMUM is a constant tensor (``Activation.data``).

Anything else raises ``UnsupportedModel`` (a ``ValueError``) naming the operator, its index
in the .tflite (the "layer" Netron and the TFLite tools show) and what to change.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from typing import Any, Callable

import flatbuffers
import numpy as np
import tflite
from tflite.utils import BUILTIN_OPCODE2NAME

from emlml_tools.format import CnnOp

_TYPE_NAMES = {
    tflite.TensorType.FLOAT32: "float32", tflite.TensorType.FLOAT16: "float16",
    tflite.TensorType.INT32: "int32", tflite.TensorType.UINT8: "uint8",
    tflite.TensorType.INT64: "int64", tflite.TensorType.STRING: "string",
    tflite.TensorType.BOOL: "bool", tflite.TensorType.INT16: "int16",
    tflite.TensorType.INT8: "int8", tflite.TensorType.FLOAT64: "float64",
}
_NUMPY = {"float32": "<f4", "int32": "<i4", "int64": "<i8", "int8": "i1", "uint8": "u1",
          "int16": "<i2", "bool": "?", "float16": "<f2", "float64": "<f8"}
ACTIVATIONS = {tflite.ActivationFunctionType.NONE: "NONE",
               tflite.ActivationFunctionType.RELU: "RELU",
               tflite.ActivationFunctionType.RELU_N1_TO_1: "RELU_N1_TO_1",
               tflite.ActivationFunctionType.RELU6: "RELU6"}

# op name -> (options table, fields); fields ending in [] are int vectors
_OPTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "CONV_2D": ("Conv2DOptions", ("padding", "stride_w", "stride_h",
                                  "fused_activation_function", "dilation_w_factor",
                                  "dilation_h_factor")),
    "DEPTHWISE_CONV_2D": ("DepthwiseConv2DOptions", (
        "padding", "stride_w", "stride_h", "depth_multiplier", "fused_activation_function",
        "dilation_w_factor", "dilation_h_factor")),
    "FULLY_CONNECTED": ("FullyConnectedOptions", ("fused_activation_function",
                                                  "weights_format", "keep_num_dims")),
    "MAX_POOL_2D": ("Pool2DOptions", ("padding", "stride_w", "stride_h", "filter_width",
                                      "filter_height", "fused_activation_function")),
    "AVERAGE_POOL_2D": ("Pool2DOptions", ("padding", "stride_w", "stride_h", "filter_width",
                                          "filter_height", "fused_activation_function")),
    "MEAN": ("ReducerOptions", ("keep_dims",)),
    "ADD": ("AddOptions", ("fused_activation_function",)),
    "SOFTMAX": ("SoftmaxOptions", ("beta",)),
    "RESHAPE": ("ReshapeOptions", ("new_shape[]",)),
    "SQUEEZE": ("SqueezeOptions", ("squeeze_dims[]",)),
    "STRIDED_SLICE": ("StridedSliceOptions", ("begin_mask", "end_mask", "ellipsis_mask",
                                              "new_axis_mask", "shrink_axis_mask", "offset")),
    "PACK": ("PackOptions", ("values_count", "axis")),
    "CONCATENATION": ("ConcatenationOptions", ("axis", "fused_activation_function")),
    "LEAKY_RELU": ("LeakyReluOptions", ("alpha",)),
    "REDUCE_MAX": ("ReducerOptions", ("keep_dims",)),
    "MUL": ("MulOptions", ("fused_activation_function",)),
    "SUB": ("SubOptions", ("fused_activation_function",)),
    "TRANSPOSE_CONV": ("TransposeConvOptions", ("padding", "stride_w", "stride_h",
                                                "fused_activation_function")),
}
# What converts: the core's operators (one per CNN layer, named as TFLite names them),
# the reshapes that become RESHAPE, and the float edges.
SUPPORTED = (*(op.name for op in CnnOp if op != CnnOp.QUANTIZE), "EXPAND_DIMS", "SQUEEZE",
             "REDUCE_MAX (over height and width)", "RELU", "RELU6", "RELU_N1_TO_1", "RELU_0_TO_1",
             "QUANTIZE (input edge, or int8 to int8)", "DEQUANTIZE (output edge)")
# The elementwise ops whose layer is a 256-entry table (convert/tflite_tables.py).
TABLE_OPS = ("LOGISTIC", "TANH", "LEAKY_RELU", "HARD_SWISH", "QUANTIZE", "RELU", "RELU6",
             "RELU_N1_TO_1", "RELU_0_TO_1")
_FOLDABLE = frozenset({"SHAPE", "STRIDED_SLICE", "PACK", "CONCATENATION", "RESHAPE",
                       "EXPAND_DIMS", "SQUEEZE"})


class UnsupportedModel(ValueError):
    """A .tflite emlml cannot run exactly; the message says what and where."""


def _op_error(index: int, name: str, message: str) -> UnsupportedModel:
    return UnsupportedModel(f"operator {index} ({name}): {message}")


@dataclass
class Tensor:
    """A tensor of subgraph 0. ``scale``/``zero_point`` are empty when not quantized."""

    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str
    scale: np.ndarray  # float32
    zero_point: np.ndarray  # int64
    axis: int
    data: np.ndarray | None = None  # constant value, shaped

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def per_tensor(self) -> bool:
        return len(self.scale) == 1 and len(self.zero_point) == 1


@dataclass
class Activation:
    """An int8 activation tensor as the blob holds it: batch 1, (h, w, c)."""

    index: int  # tensor index in the .tflite
    name: str
    hwc: tuple[int, int, int]
    scale: float  # the float32 scale, as a Python float
    zero_point: int
    tflite_shape: tuple[int, ...]
    data: np.ndarray | None = None  # a constant operand: its int8 values, shaped hwc

    @property
    def size(self) -> int:
        return math.prod(self.hwc)


@dataclass
class Node:
    """One blob layer. ``op`` is a CnnOp name; unused fields keep their defaults."""

    index: int  # operator index in the .tflite (the first one, for merged nodes)
    op: str
    inputs: tuple[int, ...]  # activation tensor indices (2 for ADD)
    output: int
    activation: str = "NONE"  # fused: NONE, RELU, RELU_N1_TO_1, RELU6
    padding: str = "VALID"
    stride: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (0, 0)
    filter: tuple[int, int] = (0, 0)
    pad_before: tuple[int, int, int] = (0, 0, 0)
    weights: np.ndarray | None = None  # int8 in the blob's layout (OHWI, 1HWO, (O, N))
    weight_scales: np.ndarray | None = None  # float32, one per output channel
    bias: np.ndarray | None = None  # int32, one per output channel
    beta: float = 1.0  # SOFTMAX
    table: np.ndarray | None = None  # TABLE_OPS: int8 output of input value i - 128 at i
    axis: int = 2  # CONCATENATION: 0 = h, 1 = w, 2 = c
    alpha_zero_point: int = 0  # PRELU (its alpha: weights, its scale: weight_scales)


@dataclass
class Graph:
    tensors: dict[int, Activation]
    nodes: list[Node]
    input: int
    output: int
    float_input: bool
    float_output: bool
    description: str = ""
    folded: list[int] = field(default_factory=list)  # operator indices folded away


# ---------------------------------------------------------------------------- parsing


def _options(op: Any, name: str, index: int) -> dict[str, Any]:
    spec = _OPTIONS.get(name)
    if spec is None:
        return {}
    table_name, fields = spec
    cls = getattr(tflite, table_name)
    table = op.BuiltinOptions()
    if table is None:  # absent: the schema defaults
        b = flatbuffers.Builder(16)
        getattr(tflite, f"{table_name}Start")(b)
        b.Finish(getattr(tflite, f"{table_name}End")(b))
        obj = cls.GetRootAs(b.Output(), 0)
    else:
        if op.BuiltinOptionsType() != getattr(tflite.BuiltinOptions, table_name):
            raise _op_error(index, name, f"builtin options are not {table_name}; the file "
                            "looks damaged, re-export it")
        obj = cls()
        obj.Init(table.Bytes, table.Pos)
    out: dict[str, Any] = {}
    for f in fields:
        vector = f.endswith("[]")
        key = f[:-2] if vector else f
        camel = "".join(p[:1].upper() + p[1:] for p in key.split("_"))
        if vector:
            arr = getattr(obj, f"{camel}AsNumpy")()
            out[key] = [] if isinstance(arr, int) else [int(v) for v in arr]
        else:
            out[key] = getattr(obj, camel)()
    return out


def _tensor(model: Any, sub: Any, i: int) -> Tensor:
    t = sub.Tensors(i)
    shape_arr = t.ShapeAsNumpy()
    shape = () if isinstance(shape_arr, int) else tuple(int(d) for d in shape_arr)
    type_code = t.Type()
    dtype = _TYPE_NAMES.get(type_code, f"type {type_code}")
    name = (t.Name() or b"").decode("utf-8", "replace")
    q = t.Quantization()
    scale = np.zeros(0, np.float32)
    zp = np.zeros(0, np.int64)
    axis = 0
    if q is not None:
        s = q.ScaleAsNumpy()
        z = q.ZeroPointAsNumpy()
        scale = np.zeros(0, np.float32) if isinstance(s, int) else np.asarray(s, np.float32)
        zp = np.zeros(0, np.int64) if isinstance(z, int) else np.asarray(z, np.int64)
        axis = q.QuantizedDimension()
    data = None
    buf_index = t.Buffer()
    if 0 < buf_index < model.BuffersLength():
        buf = model.Buffers(buf_index)
        if buf.Offset() > 1:
            raise UnsupportedModel(f"tensor {i} ({name}) keeps its data outside the "
                                   "flatbuffer (a model over 2 GB): not supported")
        raw = buf.DataAsNumpy()
        if not isinstance(raw, int) and len(raw):
            if dtype not in _NUMPY:
                raise UnsupportedModel(f"tensor {i} ({name}): constant of type {dtype} "
                                       "is not supported")
            arr = np.frombuffer(raw.tobytes(), dtype=_NUMPY[dtype])
            if arr.size != math.prod(shape):
                raise UnsupportedModel(f"tensor {i} ({name}): {arr.size} values for shape "
                                       f"{shape}; the file looks damaged")
            data = arr.reshape(shape)
    return Tensor(i, name, shape, dtype, scale, zp, axis, data)


@dataclass
class _Op:
    index: int
    name: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options: dict[str, Any]


_DAMAGED = (struct.error, TypeError, IndexError, KeyError, OverflowError, AttributeError,
            UnicodeDecodeError, ValueError)


def _parse(data: bytes) -> tuple[list[Tensor], list[_Op], list[int], list[int], str]:
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise UnsupportedModel("not a TensorFlow Lite model (no TFL3 identifier): pass the "
                               ".tflite file written by tf.lite.TFLiteConverter")
    try:
        return _parse_model(data)
    except UnsupportedModel:
        raise
    except _DAMAGED as exc:  # the flatbuffer's offsets point nowhere sensible
        raise UnsupportedModel(f"cannot parse the .tflite ({type(exc).__name__}: {exc}); "
                               "the file looks damaged: re-export it") from None


def _parse_model(data: bytes) -> tuple[list[Tensor], list[_Op], list[int], list[int], str]:
    model = tflite.Model.GetRootAs(data, 0)
    n_sub = model.SubgraphsLength()
    if n_sub < 1:
        raise UnsupportedModel("the .tflite has no subgraph")
    # Only subgraph 0 (the main function) runs; the others can only be reached through
    # control flow operators (WHILE, IF, CALL_ONCE), which are refused by name below.
    sub = model.Subgraphs(0)
    tensors = [_tensor(model, sub, i) for i in range(sub.TensorsLength())]
    n_tensors = len(tensors)
    ops: list[_Op] = []
    for i in range(sub.OperatorsLength()):
        op = sub.Operators(i)
        if not 0 <= op.OpcodeIndex() < model.OperatorCodesLength():
            raise UnsupportedModel(f"operator {i}: operator code {op.OpcodeIndex()} out of "
                                   "range; the file looks damaged")
        code = model.OperatorCodes(op.OpcodeIndex())
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if builtin == tflite.BuiltinOperator.CUSTOM:
            custom = (code.CustomCode() or b"?").decode("utf-8", "replace")
            name = f"CUSTOM {custom}"
        else:
            name = BUILTIN_OPCODE2NAME.get(builtin, f"builtin {builtin}")
        ins = op.InputsAsNumpy()
        outs = op.OutputsAsNumpy()
        new = _Op(i, name, () if isinstance(ins, int) else tuple(int(v) for v in ins),
                  () if isinstance(outs, int) else tuple(int(v) for v in outs),
                  _options(op, name, i))
        if any(not -1 <= t < n_tensors for t in new.inputs) or any(
                not 0 <= t < n_tensors for t in new.outputs) or not new.outputs:
            raise UnsupportedModel(f"operator {i} ({name}): tensor index out of range; the "
                                   "file looks damaged")
        ops.append(new)
    inputs = sub.InputsAsNumpy()
    outputs = sub.OutputsAsNumpy()
    for t in ([] if isinstance(inputs, int) else inputs.tolist()) + (
            [] if isinstance(outputs, int) else outputs.tolist()):
        if not 0 <= t < n_tensors:
            raise UnsupportedModel(f"model input/output tensor {t} out of range; the file "
                                   "looks damaged")
    desc = (model.Description() or b"").decode("utf-8", "replace")
    return (tensors, ops, [] if isinstance(inputs, int) else [int(v) for v in inputs],
            [] if isinstance(outputs, int) else [int(v) for v in outputs], desc)


# ---------------------------------------------------------------------------- folding


def _strided_slice(x: np.ndarray, begin: np.ndarray, end: np.ndarray, strides: np.ndarray,
                   o: dict[str, Any], err: Callable[[str], UnsupportedModel]) -> np.ndarray:
    if o["ellipsis_mask"] or o["new_axis_mask"]:
        raise err("ellipsis_mask/new_axis_mask in shape arithmetic are not supported")
    if o.get("offset"):
        raise err("STRIDED_SLICE with offset=true is not supported")
    slices: list[Any] = []
    for d in range(len(begin)):
        b, e, s = int(begin[d]), int(end[d]), int(strides[d])
        if s == 0:
            raise err("stride 0")
        if o["shrink_axis_mask"] >> d & 1:
            slices.append(b)
            continue
        slices.append(slice(None if o["begin_mask"] >> d & 1 else b,
                            None if o["end_mask"] >> d & 1 else e, s))
    return np.asarray(x[tuple(slices)])


def _fold(op: _Op, values: list[np.ndarray | None], tensors: list[Tensor]
          ) -> np.ndarray | None:
    """The constant output of a shape-arithmetic op, or None when it is not constant."""
    def err(message: str) -> UnsupportedModel:
        return _op_error(op.index, op.name, message)

    o = op.options
    if op.name == "SHAPE":
        shape = tensors[op.inputs[0]].shape
        if any(d < 0 for d in shape):
            return None
        return np.asarray(shape, dtype=np.int32)
    if any(v is None for i, v in zip(op.inputs, values) if i >= 0):
        return None  # an operand that is not constant: a real (activation) op
    vals = [v for v in values if v is not None]
    if op.name == "STRIDED_SLICE":
        return _strided_slice(vals[0], vals[1], vals[2], vals[3], o, err)
    if op.name == "PACK":
        return np.stack(vals, axis=o["axis"])
    if op.name == "CONCATENATION":
        if o.get("fused_activation_function", 0):
            return None
        return np.concatenate([np.atleast_1d(v) for v in vals], axis=o["axis"])
    if op.name in ("RESHAPE", "EXPAND_DIMS", "SQUEEZE"):
        if tensors[op.inputs[0]].dtype not in ("int32", "int64"):
            return None
        out_shape = tensors[op.outputs[0]].shape
        return vals[0].reshape(out_shape)
    return None


def _static_reshape(op: _Op, tensors: list[Tensor], consts: dict[int, np.ndarray]) -> None:
    """Give a RESHAPE output without a static shape the target shape (from the folded
    shape operand or the options, -1 resolved); check a static one against it."""
    out = tensors[op.outputs[0]]
    if len(op.inputs) > 1 and op.inputs[1] >= 0 and op.inputs[1] in consts:
        target = [int(v) for v in np.asarray(consts[op.inputs[1]]).reshape(-1)]
    elif op.options.get("new_shape"):
        target = list(op.options["new_shape"])
    else:
        return
    n = tensors[op.inputs[0]].size
    known = math.prod(d for d in target if d != -1)
    if target.count(-1) == 1 and known > 0 and n % known == 0:
        target[target.index(-1)] = n // known
    if -1 in target or math.prod(target) != n:
        raise _op_error(op.index, op.name, f"target shape {target} does not hold the "
                        f"{n} input values")
    if not out.shape or any(d <= 0 for d in out.shape):
        out.shape = tuple(target)
    elif math.prod(out.shape) != n:
        raise _op_error(op.index, op.name, f"output shape {out.shape} does not hold the "
                        f"{n} input values")


# ---------------------------------------------------------------------------- graph


def _hwc(t: Tensor, where: str) -> tuple[int, int, int]:
    shape = t.shape
    if any(d <= 0 for d in shape):
        raise UnsupportedModel(f"{where}: tensor {t.index} ({t.name}) has a dynamic or "
                               f"empty shape {shape}; export with a fixed input shape and "
                               "batch size 1")
    if len(shape) >= 2 and shape[0] != 1:
        raise UnsupportedModel(f"{where}: tensor {t.index} ({t.name}) has batch "
                               f"{shape[0]}; emlml runs batch 1: export with "
                               "batch_size=1 (e.g. a fixed tf.TensorSpec([1, ...]))")
    if len(shape) == 4:
        hwc = shape[1], shape[2], shape[3]
    elif len(shape) == 3:
        hwc = 1, shape[1], shape[2]
    elif len(shape) == 2:
        hwc = 1, 1, shape[1]
    elif len(shape) == 1:
        hwc = 1, 1, shape[0]
    else:
        raise UnsupportedModel(f"{where}: tensor {t.index} ({t.name}) has rank "
                               f"{len(shape)}; emlml holds tensors of rank 1 to 4")
    if any(d > 0xFFFF for d in hwc):
        raise UnsupportedModel(f"{where}: tensor {t.index} ({t.name}) has a dimension "
                               "above 65535")
    return hwc


def _activation(t: Tensor, where: str) -> Activation:
    if t.dtype != "int8":
        hint = {"uint8": "emlml takes int8 (or float32) input and output, not uint8: "
                         "convert with converter.inference_input_type = tf.int8 and "
                         "converter.inference_output_type = tf.int8",
                "int16": "16x8 quantization is not supported: use full int8",
                "float32": "the model is not fully quantized: set "
                           "converter.optimizations = [tf.lite.Optimize.DEFAULT], a "
                           "representative_dataset and "
                           "target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]"
                }.get(t.dtype, "emlml runs int8 activations only")
        raise UnsupportedModel(f"{where}: tensor {t.index} ({t.name}) is {t.dtype}; {hint}")
    if t.data is not None:
        raise UnsupportedModel(f"{where}: tensor {t.index} ({t.name}) is a constant where "
                               "an activation is expected; emlml takes constant operands of "
                               "ADD, SUB, MUL, MAXIMUM and MINIMUM only")
    if not t.per_tensor:
        raise UnsupportedModel(f"{where}: activation tensor {t.index} ({t.name}) has "
                               f"{len(t.scale)} scales; activations need one scale and one "
                               "zero point")
    scale = float(t.scale[0])
    zp = int(t.zero_point[0])
    if not (math.isfinite(scale) and scale > 0):
        raise UnsupportedModel(f"{where}: tensor {t.index} ({t.name}) has scale {scale}")
    if not -128 <= zp <= 127:
        raise UnsupportedModel(f"{where}: tensor {t.index} ({t.name}) has zero point {zp}")
    return Activation(t.index, t.name, _hwc(t, where), scale, zp, t.shape)


def read_tflite(data: bytes) -> Graph:
    """Parse, fold, normalise and check a .tflite; raise ``UnsupportedModel`` on anything
    emlml cannot run exactly."""
    tensors, ops, inputs, outputs, desc = _parse(bytes(data))
    if len(inputs) != 1 or len(outputs) != 1:
        raise UnsupportedModel(f"the model has {len(inputs)} inputs and {len(outputs)} "
                               "outputs; emlml runs models with one input and one output")
    consts: dict[int, np.ndarray] = {t.index: t.data for t in tensors if t.data is not None}
    kept: list[_Op] = []
    folded: list[int] = []
    for op in ops:
        if op.name in _FOLDABLE:
            values = [consts.get(i) if i >= 0 else None for i in op.inputs]
            value = _fold(op, values, tensors)
            if value is not None:
                consts[op.outputs[0]] = value
                tensors[op.outputs[0]].data = value
                folded.append(op.index)
                continue
            if op.name == "RESHAPE":
                _static_reshape(op, tensors, consts)
        kept.append(op)
    graph_in, graph_out = inputs[0], outputs[0]
    float_input = float_output = False
    readers: dict[int, list[_Op]] = {}
    for op in kept:
        for i in op.inputs:
            readers.setdefault(i, []).append(op)
    # the float edges
    t_in = tensors[graph_in]
    if t_in.dtype == "float32":
        users = readers.get(graph_in, [])
        if (len(users) != 1 or users[0].name != "QUANTIZE"
                or tensors[users[0].outputs[0]].dtype != "int8"):
            raise UnsupportedModel(
                f"the model input (tensor {graph_in}, {t_in.name}) is float32 but is not "
                "only read by one QUANTIZE to int8: convert the model with full integer "
                "quantization")
        q = users[0]
        kept.remove(q)
        folded.append(q.index)
        graph_in = q.outputs[0]
        float_input = True
    t_out = tensors[graph_out]
    if t_out.dtype == "float32":
        writer = [op for op in kept if graph_out in op.outputs]
        if (len(writer) != 1 or writer[0].name != "DEQUANTIZE"
                or tensors[writer[0].inputs[0]].dtype != "int8"):
            raise UnsupportedModel(
                f"the model output (tensor {graph_out}, {t_out.name}) is float32 but is not "
                "written by a DEQUANTIZE from int8: convert the model with full integer "
                "quantization")
        d = writer[0]
        kept.remove(d)
        folded.append(d.index)
        graph_out = d.inputs[0]
        float_output = True
    acts: dict[int, Activation] = {}

    def act(i: int, where: str) -> Activation:
        if i not in acts:
            acts[i] = _activation(tensors[i], where)
        return acts[i]

    def const(i: int, rank: int, where: str) -> Activation:
        if i not in acts:
            acts[i] = _constant_tensor(tensors[i], rank, where)
        return acts[i]

    act(graph_in, "model input")
    nodes = _two_way([_node(op, tensors, act, const) for op in kept], acts)
    if not nodes:
        raise UnsupportedModel("the model has no layers emlml can run (it only moves its "
                               "input to its output)")
    act(graph_out, "model output")
    produced = {graph_in, *(i for i, a in acts.items() if a.data is not None)}
    for node in nodes:
        for i in node.inputs:
            if i not in produced:
                raise UnsupportedModel(f"operator {node.index} ({node.op}) reads tensor {i} "
                                       "before any operator writes it")
        produced.add(node.output)
    if graph_out not in produced:
        raise UnsupportedModel(f"the model output (tensor {graph_out}) is written by no "
                               "operator")
    if graph_out == graph_in:
        raise UnsupportedModel("the model output is its input")
    return Graph(acts, nodes, graph_in, graph_out, float_input, float_output, desc,
                 sorted(folded))


def _two_way(nodes: list[Node], acts: dict[int, Activation]) -> list[Node]:
    """A CONCATENATION of n > 2 inputs as n - 1 layers of two: the first two inputs
    joined into a new tensor (negative index, with the output's quantization), that one
    and the third, ... the last one writes the operator's output."""
    out: list[Node] = []
    for node in nodes:
        if node.op != "CONCATENATION" or len(node.inputs) <= 2:
            out.append(node)
            continue
        final = acts[node.output]
        joined = node.inputs[0]
        for k, nxt in enumerate(node.inputs[1:]):
            if k == len(node.inputs) - 2:
                target = node.output
            else:
                target = -len(acts) - 1
                hwc = list(acts[joined].hwc)
                hwc[node.axis] += acts[nxt].hwc[node.axis]
                acts[target] = Activation(target, f"{final.name}/part{k}", (hwc[0], hwc[1], hwc[2]),
                                          final.scale, final.zero_point, ())
            out.append(Node(node.index, node.op, (joined, nxt), target, axis=node.axis))
            joined = target
    return out


def _spatial_axes(op: _Op, tensors: list[Tensor], what: str) -> None:
    """MEAN and REDUCE_MAX: constant axes that cover height and width (the axes left
    out have size 1), nothing else."""
    in_t = tensors[op.inputs[0]]
    rank = len(in_t.shape)
    axes_t = tensors[op.inputs[1]]
    if axes_t.data is None:
        raise _op_error(op.index, op.name, "the axes are not constant")
    axes = {int(a) % rank for a in np.atleast_1d(axes_t.data).reshape(-1)} if rank else set()
    spatial = set(range(1, rank - 1))
    if (rank < 3 or not axes or not axes <= spatial
            or any(in_t.shape[a] != 1 for a in spatial - axes)):
        raise _op_error(op.index, op.name, f"{what} over axes {sorted(axes)} of a "
                        f"{in_t.shape} tensor; emlml reduces over height and width only "
                        "(global pooling)")


def _reduce_max(op: _Op, tensors: list[Tensor], act: Callable[[int, str], Activation]
                ) -> Node:
    """REDUCE_MAX over height and width (Keras' GlobalMaxPooling2D): TFLite's int8 kernel
    takes the largest raw value and needs one quantization in and out, so it is a
    MAX_POOL_2D whose window is the whole input."""
    name, where = op.name, f"operator {op.index} ({op.name})"
    x, out = act(op.inputs[0], where), act(op.outputs[0], where)
    _spatial_axes(op, tensors, "max")
    if out.hwc != (1, 1, x.hwc[2]):
        raise _op_error(op.index, name, f"output shape {out.tflite_shape}")
    if (x.scale, x.zero_point) != (out.scale, out.zero_point):
        raise _op_error(op.index, name, "input and output quantization differ (TFLite "
                        "needs them equal)")
    h, w = x.hwc[0], x.hwc[1]
    if h > 255 or w > 255:
        raise _op_error(op.index, name, f"max over {h}x{w}; emlml takes windows up to "
                        "255x255")
    return Node(op.index, "MAX_POOL_2D", (x.index,), out.index, filter=(h, w), stride=(1, 1),
                padding="VALID", dilation=(0, 0))


def _broadcast(op: _Op, tensors: list[Tensor], act: Callable[[int, str], Activation]
               ) -> Node:
    """ADD, MUL, SUB, MAXIMUM, MINIMUM of two tensors that broadcast against each other
    (Keras' squeeze-and-excite multiplies HxWxC by 1x1xC, a residual ADD has one shape,
    a Normalization subtracts a constant of C values): along each of h, w, c an input has
    the output's size or 1."""
    name, where = op.name, f"operator {op.index} ({op.name})"
    if len(op.inputs) != 2:
        raise _op_error(op.index, name, f"{len(op.inputs)} inputs")
    a, b = act(op.inputs[0], where), act(op.inputs[1], where)
    out = act(op.outputs[0], where)
    rank = len(tensors[op.outputs[0]].shape)
    for x in (a, b):
        if len(tensors[x.index].shape) > rank or any(
                n not in (1, n_out) for n, n_out in zip(x.hwc, out.hwc)):
            raise _op_error(op.index, name, f"input shape {x.tflite_shape} does not "
                            f"broadcast to the output shape {out.tflite_shape}")
    if any(n_out != max(n_a, n_b) for n_a, n_b, n_out in zip(a.hwc, b.hwc, out.hwc)):
        raise _op_error(op.index, name, f"input shapes {a.tflite_shape} and "
                        f"{b.tflite_shape} do not make the output shape {out.tflite_shape}")
    return Node(op.index, name, (a.index, b.index), out.index, _act_fn(op.options, where))


def _prelu(op: _Op, tensors: list[Tensor], act: Callable[[int, str], Activation]) -> Node:
    """PRELU with a constant int8 alpha (per tensor quantized), broadcast to the input's
    shape (Keras' PReLU: one alpha per value, or shared over height and width)."""
    name, where = op.name, f"operator {op.index} ({op.name})"
    x, out = act(op.inputs[0], where), act(op.outputs[0], where)
    a_t = tensors[op.inputs[1]]
    if a_t.data is None or a_t.dtype != "int8" or len(a_t.scale) != 1 or len(a_t.zero_point) != 1:
        raise _op_error(op.index, name, "alpha must be a constant int8 tensor quantized per "
                        "tensor")
    in_shape = tensors[op.inputs[0]].shape
    if in_shape != tensors[op.outputs[0]].shape or len(a_t.shape) > len(in_shape):
        raise _op_error(op.index, name, f"alpha {a_t.shape} and input {in_shape} do not make "
                        f"the output {tensors[op.outputs[0]].shape}")
    alpha = np.asarray(a_t.data, np.int8).reshape((1,) * (len(in_shape) - len(a_t.shape))
                                                  + tuple(a_t.shape))
    try:
        full = np.broadcast_to(alpha, in_shape).reshape(out.hwc)
    except ValueError:
        raise _op_error(op.index, name, f"alpha {a_t.shape} does not broadcast to the "
                        f"input {in_shape}") from None
    return Node(op.index, name, (x.index,), out.index, weights=np.ascontiguousarray(full),
                weight_scales=np.asarray(a_t.scale, np.float32),
                alpha_zero_point=int(a_t.zero_point[0]))


def _concatenation(op: _Op, tensors: list[Tensor], act: Callable[[int, str], Activation]
                   ) -> Node:
    """CONCATENATION of int8 activations: TFLite's int8 kernel needs one quantization
    for the inputs and the output (its converter puts a QUANTIZE in front of an input
    that has another), so the values are copied as they are."""
    name, where = op.name, f"operator {op.index} ({op.name})"
    out = act(op.outputs[0], where)
    if op.options.get("fused_activation_function", 0):
        raise _op_error(op.index, name, "a fused activation is not supported")
    ins = [act(i, where) for i in op.inputs]
    for x in ins:
        if (x.scale, x.zero_point) != (out.scale, out.zero_point):
            raise _op_error(op.index, name, f"input tensor {x.index} is quantized (scale "
                            f"{x.scale}, zero point {x.zero_point}) unlike the output "
                            f"({out.scale}, {out.zero_point}); TFLite's int8 kernel needs "
                            "them equal")
    rank = len(tensors[op.outputs[0]].shape)
    axis = int(op.options["axis"])
    axis = axis + rank if axis < 0 else axis
    if not (1 <= axis < rank) or any(len(tensors[i].shape) != rank for i in op.inputs):
        raise _op_error(op.index, name, f"axis {op.options['axis']} of rank-{rank} tensors; "
                        "emlml joins along height, width or channels (batch 1)")
    hwc_axis = axis + 3 - rank
    total = sum(x.hwc[hwc_axis] for x in ins)
    for x in ins:
        if any(x.hwc[i] != out.hwc[i] for i in range(3) if i != hwc_axis):
            raise _op_error(op.index, name, f"input shape {x.tflite_shape} does not join "
                            f"the others along axis {axis} into {out.tflite_shape}")
    if total != out.hwc[hwc_axis] or len(ins) < 2:
        raise _op_error(op.index, name, f"{len(ins)} inputs do not make the output shape "
                        f"{out.tflite_shape}")
    return Node(op.index, name, tuple(x.index for x in ins), out.index, axis=hwc_axis)


def _weights(t: Tensor, where: str, shape_rank: int, axis: int, n_out: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """(int8 data, float32 scale per output channel) of a constant weight tensor."""
    if t.data is None:
        raise UnsupportedModel(f"{where}: weights (tensor {t.index}) are not constant")
    if t.dtype != "int8":
        raise UnsupportedModel(f"{where}: weights (tensor {t.index}) are {t.dtype}; emlml "
                               "needs int8 weights (full integer quantization)")
    if len(t.shape) != shape_rank:
        raise UnsupportedModel(f"{where}: weights have shape {t.shape}")
    n = len(t.scale)
    if n == 0 or len(t.zero_point) not in (1, n):
        raise UnsupportedModel(f"{where}: weights (tensor {t.index}) are not quantized")
    if n != 1 and (t.axis != axis or n != n_out):
        raise UnsupportedModel(f"{where}: weights are quantized per axis {t.axis} with {n} "
                               f"scales; emlml needs per-tensor or per-channel quantization "
                               f"on the output channel axis ({axis}, {n_out} channels)")
    if np.any(t.zero_point != 0):
        raise UnsupportedModel(f"{where}: weight zero point "
                               f"{int(t.zero_point[np.flatnonzero(t.zero_point)[0]])}; the "
                               "int8 spec (and emlml) needs symmetric weights, zero point 0")
    scales = np.broadcast_to(t.scale, (n_out,)).astype(np.float32)
    if not np.all(np.isfinite(scales)) or np.any(scales < 0):
        raise UnsupportedModel(f"{where}: weight scales must be finite and >= 0")
    return t.data.astype(np.int8), scales


def _bias(tensors: list[Tensor], i: int, where: str, n_out: int) -> np.ndarray:
    if i < 0:
        return np.zeros(n_out, np.int32)
    t = tensors[i]
    if t.data is None:
        raise UnsupportedModel(f"{where}: bias (tensor {i}) is not constant")
    if t.dtype != "int32":
        raise UnsupportedModel(f"{where}: bias (tensor {i}) is {t.dtype}; emlml needs int32 "
                               "biases (full int8 quantization, not 16x8)")
    if t.size != n_out:
        raise UnsupportedModel(f"{where}: bias has {t.size} values for {n_out} outputs")
    return t.data.reshape(-1).astype(np.int32)


def _spatial(o: dict[str, Any], where: str, dilated: bool) -> dict[str, Any]:
    padding = {tflite.Padding.SAME: "SAME", tflite.Padding.VALID: "VALID"}.get(o["padding"])
    if padding is None:
        raise UnsupportedModel(f"{where}: padding {o['padding']} is not SAME or VALID")
    stride = (o["stride_h"], o["stride_w"])
    dilation = (o["dilation_h_factor"], o["dilation_w_factor"]) if dilated else (1, 1)
    for what, pair in (("stride", stride), ("dilation", dilation)):
        if not all(1 <= v <= 255 for v in pair):
            raise UnsupportedModel(f"{where}: {what} {pair[0]}x{pair[1]}; emlml takes 1..255")
    return {"padding": padding, "stride": stride, "dilation": dilation}


def _act_fn(o: dict[str, Any], where: str) -> str:
    code = o.get("fused_activation_function", 0)
    if code not in ACTIVATIONS:
        name = {4: "TANH", 5: "SIGN_BIT"}.get(code, str(code))
        raise UnsupportedModel(f"{where}: fused activation {name} is not supported (NONE, "
                               "RELU, RELU_N1_TO_1, RELU6 are)")
    return ACTIVATIONS[code]


def _table_node(op: _Op, tensors: list[Tensor], act: Callable[[int, str], Activation]
                ) -> Node:
    """An elementwise op of one int8 input: TFLite's output for each of the 256 input
    values (convert/tflite_tables.py)."""
    from emlml_tools.convert import tflite_tables  # it needs tflite_cnn's helpers

    name = op.name
    where = f"operator {op.index} ({name})"
    if len(op.inputs) != 1 or len(op.outputs) != 1:
        raise _op_error(op.index, name, f"{len(op.inputs)} inputs and {len(op.outputs)} "
                        "outputs")
    x = act(op.inputs[0], where)
    out = act(op.outputs[0], where)
    if tensors[op.inputs[0]].shape != tensors[op.outputs[0]].shape:
        raise _op_error(op.index, name, f"input shape {tensors[op.inputs[0]].shape} and "
                        f"output shape {tensors[op.outputs[0]].shape} differ")
    q = (x.scale, x.zero_point, out.scale, out.zero_point)
    try:
        if name == "LOGISTIC":
            if out.scale != 1 / 256 or out.zero_point != -128:
                raise ValueError(f"output scale {out.scale} and zero point {out.zero_point}; "
                                 "TFLite's int8 LOGISTIC needs 1/256 and -128")
            table = tflite_tables.logistic_table(*q)
        elif name == "TANH":
            table = tflite_tables.tanh_table(*q)
        elif name == "LEAKY_RELU":
            table = tflite_tables.leaky_relu_table(*q, float(np.float32(op.options["alpha"])))
        elif name == "HARD_SWISH":
            table = tflite_tables.hard_swish_table(*q)
        elif name in tflite_tables.RELU_RANGES:
            table = tflite_tables.relu_table(*q, name)
        else:
            table = tflite_tables.requantize_table(*q)
    except ValueError as exc:
        raise _op_error(op.index, name, str(exc)) from None
    # the ReLUs have no layer op of their own: QUANTIZE is the table of no fixed meaning
    layer_op = "QUANTIZE" if name in tflite_tables.RELU_RANGES else name
    return Node(op.index, layer_op, (x.index,), out.index, table=table)


def _transpose_conv(op: _Op, tensors: list[Tensor], act: Callable[[int, str], Activation]
                    ) -> Node:
    """Keras' Conv2DTranspose: inputs (output shape, OHWI weights, input[, bias]). The
    output must be the size a convolution of it with the same window maps to the input
    (TFLite pads as for that convolution): SAME gives in * stride, VALID
    (in - 1) * stride + filter; Keras' output_padding makes other sizes, refused."""
    name = op.name
    where = f"operator {op.index} ({name})"
    if len(op.inputs) not in (3, 4) or len(op.outputs) != 1:
        raise _op_error(op.index, name, f"{len(op.inputs)} inputs and {len(op.outputs)} "
                        "outputs")
    x = act(op.inputs[2], where)
    out = act(op.outputs[0], where)
    shape_t = tensors[op.inputs[0]]
    if shape_t.data is None or [int(v) for v in shape_t.data.reshape(-1)] != list(
            tensors[op.outputs[0]].shape):
        raise _op_error(op.index, name, "the output shape is not a constant equal to the "
                        "output tensor's shape")
    if len(tensors[op.inputs[2]].shape) != 4 or len(tensors[op.outputs[0]].shape) != 4:
        raise _op_error(op.index, name, "input and output must be 4-D (NHWC)")
    oc = out.hwc[2]
    weights, scales = _weights(tensors[op.inputs[1]], where, 4, 0, oc)
    if weights.shape[0] != oc or weights.shape[3] != x.hwc[2]:
        raise _op_error(op.index, name, f"filter shape {weights.shape} does not match "
                        f"{x.hwc[2]} input and {oc} output channels")
    fh, fw = weights.shape[1], weights.shape[2]
    if not (1 <= fh <= 255 and 1 <= fw <= 255):
        raise _op_error(op.index, name, f"filter {fh}x{fw}; emlml takes 1..255")
    sp = _spatial(op.options, where, False)
    for n_out, n_in, f, s in zip(out.hwc[:2], x.hwc[:2], (fh, fw), sp["stride"]):
        back = (n_out + s - 1) // s if sp["padding"] == "SAME" else (n_out - f + s) // s
        if back != n_in:
            raise _op_error(op.index, name, f"output {out.hwc[0]}x{out.hwc[1]} from input "
                            f"{x.hwc[0]}x{x.hwc[1]} (stride {sp['stride'][0]}x"
                            f"{sp['stride'][1]}, {sp['padding']}): emlml takes the sizes "
                            "without output_padding (in * stride for SAME, (in - 1) * "
                            "stride + filter for VALID)")
    bias_index = op.inputs[3] if len(op.inputs) > 3 else -1
    bias = _bias(tensors, bias_index, where, oc)
    return Node(op.index, name, (x.index,), out.index, _act_fn(op.options, where),
                filter=(fh, fw), weights=weights, weight_scales=scales, bias=bias,
                **{**sp, "dilation": (0, 0)})


def _constant_tensor(t: Tensor, rank: int, where: str) -> Activation:
    """A constant int8 operand of several values (a Normalization's mean or variance, a
    per-channel scale, a positional offset) as a constant tensor of the blob: its shape
    brought to the output's ``rank`` with leading 1s (NumPy's broadcasting), then to
    (h, w, c) as activations are; its values stored in the weights."""
    if t.dtype != "int8" or not t.per_tensor:
        raise UnsupportedModel(f"{where}: the constant operand (tensor {t.index}, {t.name}) "
                               f"is {t.dtype} with {len(t.scale)} scales; emlml takes int8 "
                               "constants quantized per tensor")
    if len(t.shape) > rank:
        raise UnsupportedModel(f"{where}: the constant operand (tensor {t.index}) has rank "
                               f"{len(t.shape)}, above the output's {rank}")
    shape = (1,) * (rank - len(t.shape)) + tuple(t.shape)
    padded = Tensor(t.index, t.name, shape, t.dtype, t.scale, t.zero_point, t.axis)
    a = _activation(padded, where)
    assert t.data is not None
    return Activation(t.index, t.name, a.hwc, a.scale, a.zero_point, t.shape,
                      np.ascontiguousarray(np.asarray(t.data, np.int8).reshape(a.hwc)))


def _constant_operand(op: _Op, tensors: list[Tensor], act: Callable[[int, str], Activation],
                      const: Callable[[int, int, str], Activation]) -> Node:
    """ADD, SUB, MUL, MAXIMUM, MINIMUM of an activation and a constant. A constant of one
    value (Keras' ``x * 0.5``, ``x - 1``, Rescaling) makes an elementwise function of one
    int8 input, so a 256-entry table layer (its op code QUANTIZE, the table op of no fixed
    meaning), TFLite's result for each input value. A constant of several values (one per
    channel, as a Normalization layer makes, or one per value) is a constant tensor of the
    blob, the op's own broadcasting layer reading it in its place."""
    from emlml_tools.convert import tflite_cnn, tflite_tables

    name, where = op.name, f"operator {op.index} ({op.name})"
    x_first = tensors[op.inputs[1]].data is not None
    x_i, c_i = (op.inputs[0], op.inputs[1]) if x_first else (op.inputs[1], op.inputs[0])
    c_t = tensors[c_i]
    if c_t.size != 1:
        const(c_i, len(tensors[op.outputs[0]].shape), where)
        return _broadcast(op, tensors, lambda i, w: const(i, 0, w) if i == c_i else act(i, w))
    x, out = act(x_i, where), act(op.outputs[0], where)
    if c_t.dtype != "int8" or not c_t.per_tensor:
        raise _op_error(op.index, name, f"the constant operand (tensor {c_i}) is "
                        f"{c_t.dtype} with {len(c_t.scale)} scales; emlml takes int8 "
                        "constants quantized per tensor")
    if tensors[x_i].shape != tensors[op.outputs[0]].shape:
        raise _op_error(op.index, name, f"input shape {tensors[x_i].shape} and output shape "
                        f"{tensors[op.outputs[0]].shape} differ")
    act_fn = _act_fn(op.options, where) if name in ("ADD", "SUB", "MUL") else "NONE"
    act_range = tflite_cnn.activation_range(act_fn, out.scale, out.zero_point)
    try:
        table = tflite_tables.binary_constant_table(
            name, x_first, (x.scale, x.zero_point),
            (float(c_t.scale[0]), int(c_t.zero_point[0])), int(c_t.data.reshape(-1)[0]),
            (out.scale, out.zero_point), act_range)
    except ValueError as exc:
        raise _op_error(op.index, name, str(exc)) from None
    return Node(op.index, "QUANTIZE", (x.index,), out.index, table=table)


def _node(op: _Op, tensors: list[Tensor], act: Callable[[int, str], Activation],
          const: Callable[[int, int, str], Activation]) -> Node:
    """Check one operator and turn it into a blob layer."""
    name = op.name
    where = f"operator {op.index} ({name})"
    o = op.options
    if name == "DEQUANTIZE" or (name == "QUANTIZE" and not all(
            tensors[i].dtype == "int8" for i in (*op.inputs[:1], *op.outputs[:1]))):
        raise _op_error(op.index, name, "only allowed at the model's edges (float input "
                        "quantized by the first op, float output dequantized by the last) "
                        "or, for QUANTIZE, from int8 to int8 (a requantization)")
    if name in TABLE_OPS:
        return _table_node(op, tensors, act)
    if (name in ("ADD", "SUB", "MUL", "MAXIMUM", "MINIMUM") and len(op.inputs) == 2
            and [tensors[i].data is not None for i in op.inputs].count(True) == 1):
        return _constant_operand(op, tensors, act, const)
    if name == "REDUCE_MAX":
        return _reduce_max(op, tensors, act)
    if name == "CONCATENATION":
        return _concatenation(op, tensors, act)
    if name in ("ADD", "MUL", "SUB", "MAXIMUM", "MINIMUM"):
        return _broadcast(op, tensors, act)
    if name == "PRELU":
        return _prelu(op, tensors, act)
    if name == "TRANSPOSE_CONV":
        return _transpose_conv(op, tensors, act)
    if name not in SUPPORTED:
        raise _op_error(op.index, name, "not supported by emlml (supported: "
                        f"{', '.join(SUPPORTED)})")
    if len(op.outputs) != 1:
        raise _op_error(op.index, name, f"{len(op.outputs)} outputs")
    out = act(op.outputs[0], where)
    if name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        x = act(op.inputs[0], where)
        if len(tensors[op.inputs[0]].shape) != 4 or len(tensors[op.outputs[0]].shape) != 4:
            raise _op_error(op.index, name, "input and output must be 4-D (NHWC)")
        w_t = tensors[op.inputs[1]]
        sp = _spatial(o, where, True)
        oc = out.hwc[2]
        if name == "CONV_2D":
            weights, scales = _weights(w_t, where, 4, 0, oc)
            if weights.shape[0] != oc or weights.shape[3] != x.hwc[2]:
                raise _op_error(op.index, name, f"filter shape {weights.shape} does not match "
                                f"{x.hwc[2]} input and {oc} output channels (grouped "
                                "convolutions are not supported)")
            fh, fw = weights.shape[1], weights.shape[2]
        else:
            weights, scales = _weights(w_t, where, 4, 3, oc)
            if weights.shape[0] != 1 or weights.shape[3] != oc:
                raise _op_error(op.index, name, f"filter shape {weights.shape} does not match "
                                f"{oc} output channels")
            if oc % x.hwc[2]:
                raise _op_error(op.index, name, f"{oc} output channels are not a multiple of "
                                f"the {x.hwc[2]} input channels")
            dm = o.get("depth_multiplier", 0)
            if dm not in (0, oc // x.hwc[2]):
                raise _op_error(op.index, name, f"depth_multiplier {dm} does not match "
                                f"{oc} outputs / {x.hwc[2]} inputs")
            fh, fw = weights.shape[1], weights.shape[2]
        if not (1 <= fh <= 255 and 1 <= fw <= 255):
            raise _op_error(op.index, name, f"filter {fh}x{fw}; emlml takes 1..255")
        bias = _bias(tensors, op.inputs[2] if len(op.inputs) > 2 else -1, where, oc)
        return Node(op.index, name, (x.index,), out.index, _act_fn(o, where),
                    filter=(fh, fw), weights=weights, weight_scales=scales, bias=bias, **sp)
    if name == "FULLY_CONNECTED":
        x = act(op.inputs[0], where)
        if o.get("weights_format", 0) != 0:
            raise _op_error(op.index, name, "shuffled weights format is not supported")
        w_t = tensors[op.inputs[1]]
        oc = out.size
        weights, scales = _weights(w_t, where, 2, 0, w_t.shape[0] if w_t.shape else 0)
        if weights.shape != (oc, x.size):
            raise _op_error(op.index, name, f"weights {weights.shape} do not map the {x.size} "
                            f"inputs to the {oc} outputs (batch 1)")
        bias = _bias(tensors, op.inputs[2] if len(op.inputs) > 2 else -1, where, oc)
        return Node(op.index, name, (x.index,), out.index, _act_fn(o, where),
                    weights=weights, weight_scales=scales, bias=bias)
    if name in ("MAX_POOL_2D", "AVERAGE_POOL_2D"):
        x = act(op.inputs[0], where)
        if len(tensors[op.inputs[0]].shape) != 4:
            raise _op_error(op.index, name, "input must be 4-D (NHWC)")
        sp = _spatial(o, where, False)
        if x.scale != out.scale or x.zero_point != out.zero_point:
            raise _op_error(op.index, name, f"input (scale {x.scale}, zero point "
                            f"{x.zero_point}) and output (scale {out.scale}, zero point "
                            f"{out.zero_point}) quantization differ; TFLite pools need them "
                            "equal")
        fh, fw = o["filter_height"], o["filter_width"]
        if not (1 <= fh <= 255 and 1 <= fw <= 255):
            raise _op_error(op.index, name, f"filter {fh}x{fw}; emlml takes 1..255")
        return Node(op.index, name, (x.index,), out.index, _act_fn(o, where),
                    filter=(fh, fw), **{**sp, "dilation": (0, 0)})
    if name == "MEAN":
        x = act(op.inputs[0], where)
        _spatial_axes(op, tensors, "mean")
        if out.hwc != (1, 1, x.hwc[2]):
            raise _op_error(op.index, name, f"output shape {out.tflite_shape}")
        return Node(op.index, name, (x.index,), out.index)
    if name == "PAD":
        x = act(op.inputs[0], where)
        pads_t = tensors[op.inputs[1]]
        in_shape = tensors[op.inputs[0]].shape
        if pads_t.data is None:
            raise _op_error(op.index, name, "the paddings are not constant")
        pads = np.asarray(pads_t.data, np.int64).reshape(-1, 2)
        if len(pads) != len(in_shape) or np.any(pads < 0):
            raise _op_error(op.index, name, f"paddings {pads.tolist()} for shape {in_shape}")
        if len(in_shape) >= 2 and np.any(pads[0] != 0):
            raise _op_error(op.index, name, "padding the batch dimension is not supported")
        if x.scale != out.scale or x.zero_point != out.zero_point:
            raise _op_error(op.index, name, "input and output quantization differ")
        lead: dict[int, tuple[int | None, int | None, int]] = {
            4: (1, 2, 3), 3: (None, 1, 2), 2: (None, None, 1), 1: (None, None, 0)}
        h_ax, w_ax, c_ax = lead[len(in_shape)]
        before = (0 if h_ax is None else int(pads[h_ax][0]),
                  0 if w_ax is None else int(pads[w_ax][0]), int(pads[c_ax][0]))
        if any(b > 0xFFFF for b in before):
            raise _op_error(op.index, name, "padding above 65535")
        expected = tuple(int(d + p.sum()) for d, p in zip(in_shape, pads))
        if expected != tensors[op.outputs[0]].shape:
            raise _op_error(op.index, name, f"output shape {tensors[op.outputs[0]].shape}, "
                            f"expected {expected}")
        return Node(op.index, name, (x.index,), out.index, pad_before=before)
    if name in ("RESHAPE", "EXPAND_DIMS", "SQUEEZE"):
        x = act(op.inputs[0], where)
        if x.size != out.size:
            raise _op_error(op.index, name, f"{x.size} values in, {out.size} out")
        return Node(op.index, "RESHAPE", (x.index,), out.index)
    if name == "SOFTMAX":
        x = act(op.inputs[0], where)
        if x.hwc != out.hwc:
            raise _op_error(op.index, name, "input and output shapes differ")
        if out.zero_point != -128 or abs(out.scale - 1 / 256) > 0.001 / 256:
            raise _op_error(op.index, name, f"output scale {out.scale} and zero point "
                            f"{out.zero_point}; TFLite's int8 softmax needs 1/256 and -128")
        beta = float(np.float32(o["beta"]))
        if not (math.isfinite(beta) and beta > 0):
            raise _op_error(op.index, name, f"beta {beta}")
        return Node(op.index, name, (x.index,), out.index, beta=beta)
    raise _op_error(op.index, name, "not supported by emlml")  # pragma: no cover
