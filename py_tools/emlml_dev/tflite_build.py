"""Build TensorFlow Lite flatbuffers in Python, and random small int8 networks for tests.

``ModelBuilder`` writes a .tflite with the ``tflite`` package's generated builder
functions (``tflite.TensorStart``, ``tflite.Conv2DOptionsAddPadding``, ...) on a
``flatbuffers.Builder``: tensors (shape, dtype, quantization, constant data), operators
with builtin options, one subgraph. ``random_network`` makes small random full-int8
networks that mix every operator emlml supports. The oracle that runs them is
``emlml_tools.oracle.Oracle`` (TFLite's reference kernels).

Example::

    b = ModelBuilder()
    x = b.tensor((1, 8, 8, 3), scale=0.05, zero_point=-3)
    w = b.tensor((4, 3, 3, 3), scale=[0.01] * 4, zero_point=[0] * 4, data=weights)
    y = b.tensor((1, 8, 8, 4), scale=0.1, zero_point=5)
    b.op("CONV_2D", [x, w, -1], [y], "Conv2DOptions", padding=SAME, stride_w=1, stride_h=1)
    data = b.build([x], [y])
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import flatbuffers
import numpy as np
import numpy.typing as npt
import tflite
from tflite.utils import BUILTIN_OPCODE2NAME

OPCODES: dict[str, int] = {name: code for code, name in BUILTIN_OPCODE2NAME.items()}
SAME = tflite.Padding.SAME
VALID = tflite.Padding.VALID
ACT_NONE = tflite.ActivationFunctionType.NONE
ACT_RELU = tflite.ActivationFunctionType.RELU
ACT_RELU6 = tflite.ActivationFunctionType.RELU6
ACT_RELU_N1_TO_1 = tflite.ActivationFunctionType.RELU_N1_TO_1

TENSOR_TYPES: dict[str, int] = {
    "float32": tflite.TensorType.FLOAT32, "int8": tflite.TensorType.INT8,
    "uint8": tflite.TensorType.UINT8, "int16": tflite.TensorType.INT16,
    "int32": tflite.TensorType.INT32, "int64": tflite.TensorType.INT64,
    "bool": tflite.TensorType.BOOL,
}
NUMPY_TYPES: dict[str, str] = {
    "float32": "<f4", "int8": "i1", "uint8": "u1", "int16": "<i2", "int32": "<i4",
    "int64": "<i8", "bool": "?",
}


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


@dataclass
class _Tensor:
    shape: tuple[int, ...]
    dtype: str
    buffer: int
    name: str
    scale: list[float] | None
    zero_point: list[int] | None
    axis: int


@dataclass
class _Op:
    code: int
    inputs: list[int]
    outputs: list[int]
    options_type: str | None
    options: dict[str, Any]


@dataclass
class ModelBuilder:
    """Collects tensors and operators of one subgraph; ``build`` returns the flatbuffer."""

    tensors: list[_Tensor] = field(default_factory=list)
    ops: list[_Op] = field(default_factory=list)
    buffers: list[bytes] = field(default_factory=lambda: [b""])  # buffer 0: the empty one

    def tensor(self, shape: Sequence[int], dtype: str = "int8", *,
               scale: float | Sequence[float] | None = None,
               zero_point: int | Sequence[int] | None = None, axis: int = 0,
               data: npt.ArrayLike | None = None, name: str | None = None) -> int:
        """Add a tensor; ``data`` makes it a constant (stored in its own buffer).

        ``scale``/``zero_point``: a number (per tensor) or a sequence (per axis ``axis``).
        """
        buffer = 0
        if data is not None:
            arr = np.asarray(data, dtype=NUMPY_TYPES[dtype])
            if arr.size != math.prod(shape):
                raise ValueError(f"tensor data has {arr.size} values, shape {tuple(shape)} "
                                 f"holds {math.prod(shape)}")
            self.buffers.append(arr.tobytes())
            buffer = len(self.buffers) - 1
        scales = None if scale is None else [float(s) for s in np.atleast_1d(scale)]
        zps = None
        if zero_point is not None:
            zps = [int(z) for z in np.atleast_1d(zero_point)]
        elif scales is not None:
            zps = [0] * len(scales)
        index = len(self.tensors)
        self.tensors.append(_Tensor(tuple(int(d) for d in shape), dtype, buffer,
                                    name or f"t{index}", scales, zps, axis))
        return index

    def op(self, name: str, inputs: Sequence[int], outputs: Sequence[int],
           options_type: str | None = None, **options: Any) -> int:
        """Add operator ``name`` (a BuiltinOperator name such as ``"CONV_2D"``); the builtin
        options table ``options_type`` (e.g. ``"Conv2DOptions"``) gets ``options`` (snake
        case field names; sequences become int32 vectors). Returns the operator index."""
        if name not in OPCODES:
            raise ValueError(f"unknown TFLite operator {name!r}")
        self.ops.append(_Op(OPCODES[name], list(inputs), list(outputs), options_type,
                            dict(options)))
        return len(self.ops) - 1

    # ------------------------------------------------------------------ serialisation

    def build(self, inputs: Sequence[int], outputs: Sequence[int],
              description: str = "emlml tflite_build") -> bytes:
        b = flatbuffers.Builder(1024)
        buffer_offs = []
        for data in self.buffers:
            vec = b.CreateNumpyVector(np.frombuffer(data, np.uint8)) if data else None
            tflite.BufferStart(b)
            if vec is not None:
                tflite.BufferAddData(b, vec)
            buffer_offs.append(tflite.BufferEnd(b))
        tensor_offs = [self._tensor(b, t) for t in self.tensors]
        codes = sorted({op.code for op in self.ops})
        code_index = {c: i for i, c in enumerate(codes)}
        code_offs = []
        for c in codes:
            tflite.OperatorCodeStart(b)
            tflite.OperatorCodeAddDeprecatedBuiltinCode(b, min(c, 127))
            tflite.OperatorCodeAddBuiltinCode(b, c)
            tflite.OperatorCodeAddVersion(b, 1)
            code_offs.append(tflite.OperatorCodeEnd(b))
        op_offs = [self._op(b, op, code_index[op.code]) for op in self.ops]
        t_vec = self._table_vector(b, tflite.SubGraphStartTensorsVector, tensor_offs)
        o_vec = self._table_vector(b, tflite.SubGraphStartOperatorsVector, op_offs)
        in_vec = b.CreateNumpyVector(np.asarray(inputs, np.int32))
        out_vec = b.CreateNumpyVector(np.asarray(outputs, np.int32))
        sg_name = b.CreateString("main")
        tflite.SubGraphStart(b)
        tflite.SubGraphAddTensors(b, t_vec)
        tflite.SubGraphAddInputs(b, in_vec)
        tflite.SubGraphAddOutputs(b, out_vec)
        tflite.SubGraphAddOperators(b, o_vec)
        tflite.SubGraphAddName(b, sg_name)
        subgraph = tflite.SubGraphEnd(b)
        sg_vec = self._table_vector(b, tflite.ModelStartSubgraphsVector, [subgraph])
        codes_vec = self._table_vector(b, tflite.ModelStartOperatorCodesVector, code_offs)
        buf_vec = self._table_vector(b, tflite.ModelStartBuffersVector, buffer_offs)
        desc = b.CreateString(description)
        tflite.ModelStart(b)
        tflite.ModelAddVersion(b, 3)
        tflite.ModelAddOperatorCodes(b, codes_vec)
        tflite.ModelAddSubgraphs(b, sg_vec)
        tflite.ModelAddDescription(b, desc)
        tflite.ModelAddBuffers(b, buf_vec)
        b.Finish(tflite.ModelEnd(b), file_identifier=b"TFL3")
        return bytes(b.Output())

    @staticmethod
    def _table_vector(b: flatbuffers.Builder, start: Any, offsets: Sequence[int]) -> int:
        start(b, len(offsets))
        for off in reversed(offsets):
            b.PrependUOffsetTRelative(off)
        return b.EndVector()

    @staticmethod
    def _tensor(b: flatbuffers.Builder, t: _Tensor) -> int:
        shape = b.CreateNumpyVector(np.asarray(t.shape, np.int32))
        name = b.CreateString(t.name)
        quant = None
        if t.scale is not None:
            scale = b.CreateNumpyVector(np.asarray(t.scale, np.float32))
            zp = b.CreateNumpyVector(np.asarray(t.zero_point, np.int64))
            tflite.QuantizationParametersStart(b)
            tflite.QuantizationParametersAddScale(b, scale)
            tflite.QuantizationParametersAddZeroPoint(b, zp)
            tflite.QuantizationParametersAddQuantizedDimension(b, t.axis)
            quant = tflite.QuantizationParametersEnd(b)
        tflite.TensorStart(b)
        tflite.TensorAddShape(b, shape)
        tflite.TensorAddType(b, TENSOR_TYPES[t.dtype])
        tflite.TensorAddBuffer(b, t.buffer)
        tflite.TensorAddName(b, name)
        if quant is not None:
            tflite.TensorAddQuantization(b, quant)
        return tflite.TensorEnd(b)

    @staticmethod
    def _op(b: flatbuffers.Builder, op: _Op, code_index: int) -> int:
        ins = b.CreateNumpyVector(np.asarray(op.inputs, np.int32))
        outs = b.CreateNumpyVector(np.asarray(op.outputs, np.int32))
        opts = None
        if op.options_type is not None:
            prefix = op.options_type
            values: dict[str, Any] = {}
            for key, value in op.options.items():  # vectors first: before the table starts
                if isinstance(value, (list, tuple, np.ndarray)):
                    value = b.CreateNumpyVector(np.asarray(value, np.int32))
                values[key] = value
            getattr(tflite, f"{prefix}Start")(b)
            for key, value in values.items():
                getattr(tflite, f"{prefix}Add{_camel(key)}")(b, value)
            opts = getattr(tflite, f"{prefix}End")(b)
        tflite.OperatorStart(b)
        tflite.OperatorAddOpcodeIndex(b, code_index)
        tflite.OperatorAddInputs(b, ins)
        tflite.OperatorAddOutputs(b, outs)
        if opts is not None:
            tflite.OperatorAddBuiltinOptionsType(
                b, getattr(tflite.BuiltinOptions, op.options_type))
            tflite.OperatorAddBuiltinOptions(b, opts)
        return tflite.OperatorEnd(b)


# ---------------------------------------------------------------------------- random nets


@dataclass
class _Act:
    """The running activation while a random network is built."""

    index: int
    shape: tuple[int, ...]
    scale: float
    zp: int
    spread: float  # rough std of (q - zp) in int8 units, to pick output scales


class _RandomNet:
    """Builds one random network; each ``_add_*`` appends a layer to ``self.x``."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.b = ModelBuilder()
        self.layers: list[dict[str, Any]] = []

    # helpers
    def uniform(self, lo: float, hi: float) -> float:
        return float(self.rng.uniform(lo, hi))

    def zp(self) -> int:
        return int(self.rng.integers(-100, 101)) if self.rng.random() < 0.85 else 0

    def act_fn(self) -> int:
        return int(self.rng.choice([ACT_NONE, ACT_NONE, ACT_RELU, ACT_RELU6, ACT_RELU_N1_TO_1]))

    def network_input(self, shape: Sequence[int], float_input: bool) -> tuple[_Act, int]:
        """The network's int8 input of a random scale and zero point, and the model's input
        tensor: a float32 one QUANTIZEd into it when float_input, else the same."""
        scale = float(np.float32(np.exp(self.rng.uniform(np.log(0.005), np.log(0.5)))))
        x0 = self.new(shape, scale, self.zp(), 60.0)
        model_in = x0.index
        if float_input:
            model_in = self.b.tensor(shape, "float32")
            self.b.op("QUANTIZE", [model_in], [x0.index])
        return x0, model_in

    def new(self, shape: Sequence[int], scale: float, zp: int, spread: float) -> _Act:
        scale = float(np.float32(scale))
        return _Act(self.b.tensor(shape, scale=scale, zero_point=zp), tuple(shape), scale,
                    zp, spread)

    def out_scale(self, real_std: float) -> tuple[float, float]:
        """An output scale that spreads a value of std ``real_std`` over the int8 range;
        returns (scale, spread in int8 units)."""
        spread = self.uniform(12.0, 60.0)
        return max(real_std / spread, 1e-5), spread

    def weights(self, shape: tuple[int, ...], n_out: int, axis: int, fan_in: int,
                x: _Act, optional_bias: bool = False
                ) -> tuple[int, int, list[float], np.ndarray]:
        """(weight tensor, bias tensor or -1, weight scales, big-multiplier mask)."""
        rng = self.rng
        w = rng.integers(-127, 128, size=shape)
        per_channel = rng.random() < 0.7
        ws = (np.exp(rng.uniform(np.log(1e-3), np.log(5e-2), n_out)) if per_channel
              else np.full(n_out, np.exp(rng.uniform(np.log(1e-3), np.log(5e-2)))))
        ws = ws.astype(np.float32)
        big = np.zeros(n_out, bool)
        if per_channel and rng.random() < 0.35:  # channels with multiplier > 1 (shift > 0)
            big = rng.random(n_out) < 0.5
            wv = np.moveaxis(w, axis, 0)
            wv[big] = rng.integers(-1, 2, size=wv[big].shape)
        w_t = self.b.tensor(shape, scale=ws.tolist() if per_channel else float(ws[0]),
                            zero_point=[0] * n_out if per_channel else 0, axis=axis, data=w)
        bias_scale = (np.float32(x.scale) * ws).astype(np.float32)
        acc_std = x.spread * float(np.sqrt(np.mean(np.moveaxis(w, axis, 0).reshape(
            n_out, -1).astype(float) ** 2, axis=1)).mean()) * np.sqrt(fan_in)
        bias = rng.integers(-1, 2, n_out) * rng.integers(0, int(acc_std) + 2, n_out)
        b_t = self.b.tensor((n_out,), "int32",
                            scale=bias_scale.tolist() if per_channel else float(bias_scale[0]),
                            zero_point=[0] * n_out if per_channel else 0, data=bias) if (
                                not optional_bias or rng.random() < 0.8) else -1
        return w_t, b_t, ws.tolist(), big

    def weighted_out(self, x: _Act, ws: list[float], big: np.ndarray, fan_in: int,
                     w_rms: float = 73.0) -> tuple[float, float]:
        real_std = x.scale * float(np.mean(ws)) * w_rms * x.spread * np.sqrt(fan_in)
        scale, spread = self.out_scale(real_std)
        if big.any():  # make those channels' multiplier in*w/out > 1
            lo = min(x.scale * ws[c] for c in np.flatnonzero(big))
            scale = min(scale, lo / self.uniform(1.05, 3.0))
        return scale, spread

    def spatial(self, in_hw: tuple[int, int], f: tuple[int, int], dil: tuple[int, int]
                ) -> tuple[int, tuple[int, int], tuple[int, int]]:
        """(padding, stride, out size) valid for this input."""
        rng = self.rng
        stride = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        padding = SAME if rng.random() < 0.5 else VALID
        eff = [(f[i] - 1) * dil[i] + 1 for i in range(2)]
        if padding == VALID and any(eff[i] > in_hw[i] for i in range(2)):
            padding = SAME
        out = tuple((in_hw[i] + stride[i] - 1) // stride[i] if padding == SAME
                    else (in_hw[i] - eff[i] + stride[i]) // stride[i] for i in range(2))
        return padding, stride, out  # type: ignore[return-value]

    # layers
    def conv(self, x: _Act, *, one_d: bool = False, same_shape: bool = False) -> _Act:
        rng = self.rng
        _, h, w, c = x.shape
        fh = 1 if one_d else int(rng.integers(1, 4))
        fw = int(rng.integers(1, 4))
        dil = (1 if one_d else int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        oc = c if same_shape else int(rng.integers(1, 7))
        if same_shape:
            padding, stride, out = SAME, (1, 1), (h, w)
        else:
            padding, stride, out = self.spatial((h, w), (fh, fw), dil)
        if one_d:
            stride = (1, stride[1])
            out = (1, out[1])
        w_t, b_t, ws, big = self.weights((oc, fh, fw, c), oc, 0, fh * fw * c, x)
        scale, spread = self.weighted_out(x, ws, big, fh * fw * c)
        y = self.new((1, out[0], out[1], oc), scale, self.zp(), spread)
        act = self.act_fn()
        self.b.op("CONV_2D", [x.index, w_t, b_t], [y.index], "Conv2DOptions",
                  padding=padding, stride_w=stride[1], stride_h=stride[0],
                  dilation_w_factor=dil[1], dilation_h_factor=dil[0],
                  fused_activation_function=act)
        self.layers.append(dict(op="CONV_2D", filter=(fh, fw), stride=stride, dilation=dil,
                                padding="SAME" if padding == SAME else "VALID", out=y.shape,
                                act=act, big=int(big.sum())))
        return y

    def transpose_conv(self, x: _Act) -> _Act:
        """Keras' Conv2DTranspose: filter 1-4, stride 1-2, SAME (out = in * stride) or
        VALID (out = (in - 1) * stride + filter), bias or none, any fused activation."""
        rng = self.rng
        _, h, w, c = x.shape
        fh, fw = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        sh, sw = int(rng.integers(1, 3)), int(rng.integers(1, 3))
        padding = SAME if rng.random() < 0.5 else VALID
        out = ((h * sh, w * sw) if padding == SAME
               else ((h - 1) * sh + fh, (w - 1) * sw + fw))
        oc = int(rng.integers(1, 7))
        fan_in = max(1, round(fh * fw * c / (sh * sw)))
        w_t, b_t, ws, big = self.weights((oc, fh, fw, c), oc, 0, fan_in, x, optional_bias=True)
        scale, spread = self.weighted_out(x, ws, big, fan_in)
        y = self.new((1, out[0], out[1], oc), scale, self.zp(), spread)
        shape_t = self.b.tensor((4,), "int32", data=list(y.shape))
        act = self.act_fn()
        ins = [shape_t, w_t, x.index] + ([b_t] if b_t >= 0 else [])
        self.b.op("TRANSPOSE_CONV", ins, [y.index], "TransposeConvOptions", padding=padding,
                  stride_w=sw, stride_h=sh, fused_activation_function=act)
        self.layers.append(dict(op="TRANSPOSE_CONV", filter=(fh, fw), stride=(sh, sw),
                                padding="SAME" if padding == SAME else "VALID", out=y.shape,
                                act=act, bias=b_t >= 0, big=int(big.sum())))
        return y

    def depthwise(self, x: _Act, *, same_shape: bool = False) -> _Act:
        rng = self.rng
        _, h, w, c = x.shape
        fh, fw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        dil = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        dm = 1 if same_shape else int(rng.integers(1, 3))
        if same_shape:
            padding, stride, out = SAME, (1, 1), (h, w)
        else:
            padding, stride, out = self.spatial((h, w), (fh, fw), dil)
        oc = c * dm
        w_t, b_t, ws, big = self.weights((1, fh, fw, oc), oc, 3, fh * fw, x)
        scale, spread = self.weighted_out(x, ws, big, fh * fw)
        y = self.new((1, out[0], out[1], oc), scale, self.zp(), spread)
        act = self.act_fn()
        self.b.op("DEPTHWISE_CONV_2D", [x.index, w_t, b_t], [y.index],
                  "DepthwiseConv2DOptions", padding=padding, stride_w=stride[1],
                  stride_h=stride[0], depth_multiplier=dm, dilation_w_factor=dil[1],
                  dilation_h_factor=dil[0], fused_activation_function=act)
        self.layers.append(dict(op="DEPTHWISE_CONV_2D", filter=(fh, fw), stride=stride,
                                dilation=dil, dm=dm, out=y.shape, act=act))
        return y

    def pool(self, x: _Act, kind: str) -> _Act:
        rng = self.rng
        _, h, w, c = x.shape
        f = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        padding, stride, out = self.spatial((h, w), f, (1, 1))
        y = self.new((1, out[0], out[1], c), x.scale, x.zp, x.spread)
        act = self.act_fn()
        self.b.op(kind, [x.index], [y.index], "Pool2DOptions", padding=padding,
                  stride_w=stride[1], stride_h=stride[0], filter_width=f[1],
                  filter_height=f[0], fused_activation_function=act)
        self.layers.append(dict(op=kind, filter=f, stride=stride, out=y.shape, act=act))
        return y

    def pad(self, x: _Act) -> _Act:
        rng = self.rng
        pads = [[0, 0]] + [[int(rng.integers(0, 3)), int(rng.integers(0, 3))]
                           for _ in x.shape[1:-1]] + [[int(rng.integers(0, 2)),
                                                       int(rng.integers(0, 2))]]
        p = self.b.tensor((len(pads), 2), "int32", data=pads)
        shape = tuple(d + a + b for d, (a, b) in zip(x.shape, pads))
        y = self.new(shape, x.scale, x.zp, x.spread)
        self.b.op("PAD", [x.index, p], [y.index])
        self.layers.append(dict(op="PAD", pads=pads, out=shape))
        return y

    def residual(self, x: _Act) -> _Act:
        branch = (self.conv(x, same_shape=True) if self.rng.random() < 0.6
                  else self.depthwise(x, same_shape=True))
        if self.rng.random() < 0.2:
            branch = x  # x + x
        s = max(x.scale, branch.scale) * self.uniform(0.8, 2.5)
        y = self.new(x.shape, s, self.zp(), max(x.spread, branch.spread))
        act = self.act_fn()
        first, second = (x, branch) if self.rng.random() < 0.5 else (branch, x)
        self.b.op("ADD", [first.index, second.index], [y.index], "AddOptions",
                  fused_activation_function=act)
        self.layers.append(dict(op="ADD", out=y.shape, act=act))
        return y

    def mean(self, x: _Act, keep_dims: bool) -> _Act:
        rank = len(x.shape)
        axes = list(range(1, rank - 1))
        if self.rng.random() < 0.3:
            axes = axes[::-1]
        a = self.b.tensor((len(axes),), "int32", data=axes)
        c = x.shape[-1]
        shape = tuple([1] * (rank - 1) + [c]) if keep_dims else (1, c)
        s = x.scale * self.uniform(0.3, 1.5)
        y = self.new(shape, s, self.zp(), x.spread * x.scale / s)
        self.b.op("MEAN", [x.index, a], [y.index], "ReducerOptions", keep_dims=keep_dims)
        self.layers.append(dict(op="MEAN", axes=axes, keep_dims=keep_dims, out=shape))
        return y

    def reduce_max(self, x: _Act, keep_dims: bool) -> _Act:
        """GlobalMaxPooling2D: REDUCE_MAX over the spatial axes, one quantization."""
        rank = len(x.shape)
        axes = list(range(1, rank - 1))
        a = self.b.tensor((len(axes),), "int32", data=axes)
        shape = tuple([1] * (rank - 1) + [x.shape[-1]]) if keep_dims else (1, x.shape[-1])
        y = self.new(shape, x.scale, x.zp, x.spread)
        self.b.op("REDUCE_MAX", [x.index, a], [y.index], "ReducerOptions", keep_dims=keep_dims)
        self.layers.append(dict(op="REDUCE_MAX", keep_dims=keep_dims, out=shape))
        return y

    def reshape(self, x: _Act, shape: tuple[int, ...], how: str = "const") -> _Act:
        y = self.new(shape, x.scale, x.zp, x.spread)
        b = self.b
        if how == "keras":  # Flatten as Keras writes it: shape arithmetic, folded later
            sh = b.tensor((len(x.shape),), "int32")
            b.op("SHAPE", [x.index], [sh], "ShapeOptions", out_type=tflite.TensorType.INT32)
            begin = b.tensor((1,), "int32", data=[0])
            end = b.tensor((1,), "int32", data=[1])
            step = b.tensor((1,), "int32", data=[1])
            batch = b.tensor((), "int32")
            b.op("STRIDED_SLICE", [sh, begin, end, step], [batch], "StridedSliceOptions",
                 begin_mask=0, end_mask=0, ellipsis_mask=0, new_axis_mask=0,
                 shrink_axis_mask=1)
            rest = b.tensor((), "int32", data=[-1] if len(shape) == 2 else [shape[-1]])
            target = b.tensor((len(shape),), "int32")
            if len(shape) == 2:
                b.op("PACK", [batch, rest], [target], "PackOptions", values_count=2, axis=0)
            else:
                mids = b.tensor((len(shape) - 1,), "int32", data=list(shape[1:]))
                batch1 = b.tensor((1,), "int32")
                b.op("PACK", [batch], [batch1], "PackOptions", values_count=1, axis=0)
                b.op("CONCATENATION", [batch1, mids], [target], "ConcatenationOptions",
                     axis=0)
            b.op("RESHAPE", [x.index, target], [y.index])
        elif how == "expand":
            axis = b.tensor((), "int32", data=[1])
            b.op("EXPAND_DIMS", [x.index, axis], [y.index])
        elif how == "squeeze":
            b.op("SQUEEZE", [x.index], [y.index], "SqueezeOptions", squeeze_dims=[1])
        else:
            target = b.tensor((len(shape),), "int32", data=list(shape))
            b.op("RESHAPE", [x.index, target], [y.index], "ReshapeOptions",
                 new_shape=list(shape))
        self.layers.append(dict(op=how.upper() if how != "const" else "RESHAPE", out=shape))
        return y

    def fc(self, x: _Act, n_out: int) -> _Act:
        n_in = math.prod(x.shape)
        w_t, b_t, ws, big = self.weights((n_out, n_in), n_out, 0, n_in, x, True)
        scale, spread = self.weighted_out(x, ws, big, n_in)
        y = self.new((1, n_out), scale, self.zp(), spread)
        act = self.act_fn()
        self.b.op("FULLY_CONNECTED", [x.index, w_t, b_t], [y.index], "FullyConnectedOptions",
                  fused_activation_function=act, keep_num_dims=False)
        self.layers.append(dict(op="FULLY_CONNECTED", out=y.shape, act=act))
        return y

    def elementwise(self, x: _Act, op: str | None = None) -> _Act:
        """One of the table ops (LOGISTIC, TANH, LEAKY_RELU, HARD_SWISH, QUANTIZE int8 to
        int8; or, when asked for, one of RELU_OPS) with the output quantization a Keras
        export gives it, or a random one."""
        rng = self.rng
        if op is None:
            op = str(rng.choice(ELEMENTWISE_OPS))
        opts: dict[str, Any] = {}
        if op == "LOGISTIC":
            scale, zp, spread = 1 / 256, -128, 60.0
        elif op == "TANH":
            scale, zp, spread = ((1 / 128, 0, 60.0) if rng.random() < 0.7 else
                                 (self.uniform(0.004, 0.03), self.zp(), 40.0))
        elif op == "HARD_SWISH":  # TFLite needs out.scale > in.scale / 128
            scale, zp, spread = x.scale * self.uniform(0.05, 1.5), self.zp(), x.spread
        else:
            scale, zp, spread = x.scale * self.uniform(0.3, 3.0), self.zp(), x.spread
        if op == "LEAKY_RELU":
            opts = dict(alpha=float(rng.choice([0.0, 0.01, 0.1, 0.2, 0.3, 1.0, 1.5,
                                                self.uniform(0.0, 1.0)])))
        y = self.new(x.shape, scale, zp, spread)
        self.b.op(op, [x.index], [y.index], "LeakyReluOptions" if opts else None, **opts)
        self.layers.append(dict(op=op, out=x.shape, **opts))
        return y

    def requantize(self, x: _Act, scale: float, zp: int) -> _Act:
        """QUANTIZE int8 -> int8 to (scale, zp), as TFLite's converter puts in front of a
        CONCATENATION input quantized unlike the output."""
        y = self.new(x.shape, scale, zp, x.spread * x.scale / scale)
        self.b.op("QUANTIZE", [x.index], [y.index])
        self.layers.append(dict(op="QUANTIZE", out=x.shape))
        return y

    def concat(self, x: _Act) -> _Act:
        """Keras' Concatenate of x and a branch of x (a same-shape conv or depthwise,
        requantized to x's quantization, which TFLite's int8 CONCATENATION needs), two or
        three inputs in any order, along channels mostly, else height or width."""
        rng = self.rng
        branch = (self.conv(x, same_shape=True) if rng.random() < 0.6
                  else self.depthwise(x, same_shape=True))
        branch = self.requantize(branch, x.scale, x.zp)
        parts = [x, branch] + ([x if rng.random() < 0.5 else branch] if rng.random() < 0.3 else [])
        order = [parts[i] for i in rng.permutation(len(parts))]
        rank = len(x.shape)
        axis = rank - 1 if rng.random() < 0.6 else int(rng.integers(1, rank - 1))
        shape = list(x.shape)
        shape[axis] *= len(parts)
        y = self.new(shape, x.scale, x.zp, x.spread)
        self.b.op("CONCATENATION", [p.index for p in order], [y.index],
                  "ConcatenationOptions", axis=axis if rng.random() < 0.7 else axis - rank)
        self.layers.append(dict(op="CONCATENATION", axis=axis, n=len(parts), out=y.shape))
        return y

    def binary(self, x: _Act, op: str | None = None) -> _Act:
        """MUL, SUB, MAXIMUM or MINIMUM (or ADD, when asked) of x and a second operand made from x that
        broadcasts against it: squeeze-and-excite style (MEAN to 1x1xC, sometimes through
        LOGISTIC), one row per height (AVERAGE_POOL_2D over the whole width), or x's shape
        (a requantized copy); in either order."""
        rng = self.rng
        op = op or str(rng.choice(["MUL", "MUL", "SUB", "MAXIMUM", "MINIMUM"]))
        kind = rng.choice(["se", "row", "same"]) if len(x.shape) == 4 else rng.choice(["se", "same"])
        if kind == "se":
            other = self.mean(x, keep_dims=True)
            if rng.random() < 0.5:
                other = self.elementwise(other, "LOGISTIC")
        elif kind == "row":
            _, h, w, c = x.shape
            other = self.new((1, h, 1, c), x.scale, x.zp, x.spread)
            self.b.op("AVERAGE_POOL_2D", [x.index], [other.index], "Pool2DOptions",
                      padding=VALID, stride_w=1, stride_h=1, filter_width=w, filter_height=1)
            self.layers.append(dict(op="AVERAGE_POOL_2D", filter=(1, w), out=other.shape))
        else:
            other = self.requantize(x, x.scale * self.uniform(0.5, 2.0), self.zp())
        first, second = (x, other) if rng.random() < 0.5 else (other, x)
        if op == "MUL":
            real = first.scale * first.spread * second.scale * second.spread
            scale, spread = self.out_scale(real)
        elif op in ("SUB", "ADD"):
            scale, spread = max(x.scale, other.scale) * self.uniform(0.8, 2.5), x.spread
        else:
            scale, spread = x.scale * self.uniform(0.5, 2.0), x.spread
        y = self.new(x.shape, scale, self.zp(), spread)
        if op in ("MUL", "SUB", "ADD"):
            act = self.act_fn()
            self.b.op(op, [first.index, second.index], [y.index],
                      {"MUL": "MulOptions", "SUB": "SubOptions", "ADD": "AddOptions"}[op],
                      fused_activation_function=act)
        else:
            self.b.op(op, [first.index, second.index], [y.index])
        self.layers.append(dict(op=op, operand=str(kind), out=y.shape))
        return y

    def constant(self, x: _Act, op: str | None = None, shape: tuple[int, ...] | None = None,
                 extreme: bool = False) -> _Act:
        """ADD, SUB, MUL, MAXIMUM or MINIMUM of x and an int8 constant of ``shape`` (random:
        one per channel as (C,), (1, 1, 1, C) or (1, 1, C); x's full shape with or without
        the batch; one per row, column or position; a constant larger than x that x
        broadcasts to), the constant first or second. Its values spread over -128..127
        (every value when it holds 256 or more), its zero point often -128 or 127;
        ``extreme`` makes the output scale 10^-3 to 10^3 times the usual one."""
        rng = self.rng
        op = op or str(rng.choice(["ADD", "SUB", "MUL", "MAXIMUM", "MINIMUM"]))
        if shape is None:
            shape = _constant_shape(rng, x.shape)
        n = math.prod(shape)
        values = rng.integers(-128, 128, n)
        if n >= 256:
            values[:256] = rng.permutation(np.arange(-128, 128))
            values = rng.permutation(values)
        c_zp = int(rng.choice([-128, 127, int(rng.integers(-128, 128))]))
        c_scale = float(np.float32(np.exp(rng.uniform(np.log(1e-3), np.log(0.5)))))
        c = self.b.tensor(shape, scale=c_scale, zero_point=c_zp, data=values.reshape(shape))
        rank = max(len(x.shape), len(shape))
        padded = [(1,) * (rank - len(s)) + tuple(s) for s in (x.shape, shape)]
        out_shape = tuple(max(a, b) for a, b in zip(*padded))
        c_real = c_scale * 128
        if op == "MUL":
            real = x.scale * x.spread * c_real
        elif op in ("ADD", "SUB"):
            real = x.scale * x.spread + c_real
        else:
            real = x.scale * x.spread
        scale, spread = self.out_scale(real)
        if extreme:
            scale *= float(10.0 ** rng.uniform(-3, 3))
        y = self.new(out_shape, scale, int(rng.choice([-128, 127, self.zp()])), spread)
        first, second = (x.index, c) if rng.random() < 0.5 else (c, x.index)
        act = ACT_NONE
        if op in ("ADD", "SUB", "MUL"):
            act = self.act_fn()
            self.b.op(op, [first, second], [y.index], op.capitalize() + "Options",
                      fused_activation_function=act)
        else:
            self.b.op(op, [first, second], [y.index])
        self.layers.append(dict(op=op, constant=tuple(shape), constant_first=first == c,
                                act=act, out=y.shape))
        return y

    def prelu(self, x: _Act) -> _Act:
        """Keras' PReLU: a constant int8 alpha of one value per input value, or shared
        over height and width (1x1xC), or one per channel as a rank-1 tensor."""
        rng = self.rng
        c = x.shape[-1]
        shape = [tuple(x.shape[1:]), (1,) * (len(x.shape) - 2) + (c,), (c,)][int(rng.integers(3))]
        alpha = self.b.tensor(shape, scale=float(np.float32(np.exp(rng.uniform(-8, -3)))),
                              zero_point=self.zp(), data=rng.integers(-128, 128, shape))
        y = self.new(x.shape, x.scale * self.uniform(0.5, 2.0), self.zp(), x.spread)
        self.b.op("PRELU", [x.index, alpha], [y.index])
        self.layers.append(dict(op="PRELU", alpha=shape, out=x.shape))
        return y

    def softmax(self, x: _Act) -> _Act:
        beta = 1.0 if self.rng.random() < 0.5 else self.uniform(0.2, 3.0)
        beta = max(beta, 4.0 / (x.scale * 2 ** 26))
        y = self.new(x.shape, 1 / 256, -128, 40.0)
        self.b.op("SOFTMAX", [x.index], [y.index], "SoftmaxOptions", beta=beta)
        self.layers.append(dict(op="SOFTMAX", beta=beta, out=x.shape))
        return y


ELEMENTWISE_OPS = ("LOGISTIC", "TANH", "LEAKY_RELU", "HARD_SWISH", "QUANTIZE")
# the ReLUs as operators of their own (Keras' ReLU() the converter cannot fuse); table
# layers too, kept apart so that random_network's choices stay what they were
RELU_OPS = ("RELU", "RELU6", "RELU_N1_TO_1", "RELU_0_TO_1")


def random_network(rng: np.random.Generator, *, float_input: bool | None = None,
                   float_output: bool | None = None, one_d: bool | None = None,
                   elementwise: bool = False, branches: bool = False,
                   transpose: bool = False) -> tuple[bytes, dict[str, Any]]:
    """A small random full-int8 network as .tflite bytes, and its description.

    It mixes CONV_2D (kernel 1-3, stride 1-3, SAME/VALID, dilation 1-2, per-channel or
    per-tensor weights, some channels with multiplier > 1), DEPTHWISE_CONV_2D (depth
    multiplier 1-2), pools, PAD, residual ADD, MEAN over h and w (keep_dims or not),
    RESHAPE (constant, or Keras-style shape arithmetic), FULLY_CONNECTED, SOFTMAX (beta 1 or
    not), fused NONE/RELU/RELU6; ``one_d`` builds a 1-D network (EXPAND_DIMS, height-1
    convolutions, SQUEEZE). ``float_input``/``float_output`` add QUANTIZE/DEQUANTIZE at the
    edges (random when None). ``elementwise`` puts the table ops (``ELEMENTWISE_OPS``)
    after layers and on the head; ``branches`` adds two-branch blocks joined by
    CONCATENATION (``_RandomNet.concat``), MUL, SUB, MAXIMUM and MINIMUM of a tensor and
    a broadcast operand (``_RandomNet.binary``), PRELU and REDUCE_MAX heads;
    ``transpose`` TRANSPOSE_CONV layers (``_RandomNet.transpose_conv``). Without them the
    networks of a seed are those of before these ops (the bad-blob table and the device
    data keep their models).
    """

    def maybe_elementwise(x: _Act, p: float = 0.5) -> _Act:
        return net.elementwise(x) if elementwise and rng.random() < p else x

    if float_input is None:
        float_input = bool(rng.random() < 0.3)
    if float_output is None:
        float_output = bool(rng.random() < 0.3)
    if one_d is None:
        one_d = bool(rng.random() < 0.2)
    net = _RandomNet(rng)
    b = net.b
    if one_d:
        in_shape: tuple[int, ...] = (1, int(rng.integers(3, 17)), int(rng.integers(1, 5)))
    else:
        in_shape = (1, int(rng.integers(1, 11)), int(rng.integers(1, 11)),
                    int(rng.integers(1, 5)))
    x0, model_in = net.network_input(in_shape, float_input)
    x = x0
    if one_d:
        x = net.reshape(x, (1, 1) + in_shape[1:], "expand")
        for _ in range(int(rng.integers(1, 4))):
            x = maybe_elementwise(net.conv(x, one_d=True))
        x = net.reshape(x, (1,) + x.shape[2:], "squeeze")
        if rng.random() < 0.3:
            x = net.pad(x)  # a rank-3 PAD (time, channels)
        if rng.random() < 0.5:
            x = net.mean(x, keep_dims=bool(rng.random() < 0.3))
    else:
        for _ in range(int(rng.integers(1, 5))):
            kind = rng.choice(["conv", "conv", "dw", "max", "avg", "pad", "res", "reshape"])
            if kind == "conv":
                x = net.conv(x)
            elif kind == "dw":
                x = net.depthwise(x)
            elif kind in ("max", "avg"):
                x = net.pool(x, "MAX_POOL_2D" if kind == "max" else "AVERAGE_POOL_2D")
            elif kind == "pad":
                x = net.pad(x)
            elif kind == "res":
                x = net.residual(x)
            else:  # move width into height, or back
                _, h, w, c = x.shape
                x = net.reshape(x, (1, h * w, 1, c) if rng.random() < 0.5 else (1, 1, h * w, c))
            x = maybe_elementwise(x)
            if transpose and rng.random() < 0.6 and max(x.shape[1:3]) <= 8:
                x = net.transpose_conv(x)
            if branches and rng.random() < 0.4 and math.prod(x.shape) <= 400:
                x = net.concat(x)
            if branches and rng.random() < 0.4:
                x = net.binary(x)
            if branches and rng.random() < 0.15:
                x = net.prelu(x)
        head = rng.choice(["mean", "flatten", "fc", "none"])
        if head == "mean" and branches and rng.random() < 0.4:
            x = net.reduce_max(x, keep_dims=bool(rng.random() < 0.4))
        elif head == "mean":
            x = net.mean(x, keep_dims=bool(rng.random() < 0.4))
        elif head == "flatten":
            x = net.reshape(x, (1, math.prod(x.shape)),
                            "keras" if rng.random() < 0.5 else "const")
    if math.prod(x.shape) > 1 and x.shape[-1] == 1 and len(x.shape) > 2 and rng.random() < 0.5:
        x = net.reshape(x, (1, math.prod(x.shape)), "const")
    if rng.random() < 0.75:
        x = net.fc(x, int(rng.integers(1, 11)))
        if rng.random() < 0.3:
            x = net.fc(x, int(rng.integers(1, 11)))
        x = maybe_elementwise(x)  # a Dense(..., activation="sigmoid") head, ...
    # TFLite aborts when beta*scale*2^26 <= 1; at most 511 values (the networks of a seed
    # stay those of before softmax took any length; softmax_sum_networks has the long ones)
    if rng.random() < 0.5 and x.scale * 2 ** 26 > 8.0 and x.shape[-1] <= 511:
        x = net.softmax(x)
    model_out = x.index
    if float_output:
        model_out = b.tensor(x.shape, "float32")
        b.op("DEQUANTIZE", [x.index], [model_out])
    desc = dict(input_shape=in_shape, float_input=float_input, float_output=float_output,
                one_d=one_d, layers=net.layers)
    return b.build([model_in], [model_out]), desc


# ---------------------------------------------------------------------------- edge cases


def _fc_model(weights: Sequence[Sequence[int]], w_scale: float, bias: Sequence[int],
              x_q: tuple[float, int], y_q: tuple[float, int]) -> bytes:
    b = ModelBuilder()
    w_arr = np.asarray(weights)
    n_out, n_in = w_arr.shape
    x = b.tensor((1, n_in), scale=x_q[0], zero_point=x_q[1])
    w = b.tensor(w_arr.shape, scale=w_scale, zero_point=0, data=w_arr)
    bias_t = b.tensor((n_out,), "int32", scale=float(np.float32(x_q[0]) * np.float32(w_scale)),
                      zero_point=0, data=bias)
    y = b.tensor((1, n_out), scale=y_q[0], zero_point=y_q[1])
    b.op("FULLY_CONNECTED", [x, w, bias_t], [y], "FullyConnectedOptions")
    return b.build([x], [y])


def _conv_wrap_model(op: str, zp: int, bias: int) -> bytes:
    in_scale, w_scale = 1 + 2 ** -15, 1 - 2 ** -15  # in * w / out = 1 - 2^-30
    b = ModelBuilder()
    x = b.tensor((1, 1, 1, 1), scale=in_scale, zero_point=0)
    w = b.tensor((1, 1, 1, 1), scale=[w_scale], zero_point=[0],
                 axis=3 if op == "DEPTHWISE_CONV_2D" else 0, data=[[[[1]]]])
    bias_t = b.tensor((1,), "int32", scale=[float(np.float32(in_scale * w_scale))],
                      zero_point=[0], data=[bias])
    y = b.tensor((1, 1, 1, 1), scale=1.0, zero_point=zp)
    if op == "CONV_2D":
        b.op(op, [x, w, bias_t], [y], "Conv2DOptions", padding=VALID, stride_w=1, stride_h=1)
    else:
        b.op(op, [x, w, bias_t], [y], "DepthwiseConv2DOptions", padding=VALID, stride_w=1,
             stride_h=1, depth_multiplier=1)
    return b.build([x], [y])


def _quantize_model(scale: float, zp: int, n: int = 64) -> bytes:
    b = ModelBuilder()
    xf = b.tensor((1, n), "float32")
    q = b.tensor((1, n), scale=scale, zero_point=zp)
    r = b.tensor((1, 1, n), scale=scale, zero_point=zp)
    yf = b.tensor((1, 1, n), "float32")
    b.op("QUANTIZE", [xf], [q])
    b.op("RESHAPE", [q], [r], "ReshapeOptions", new_shape=[1, 1, n])
    b.op("DEQUANTIZE", [r], [yf])
    return b.build([xf], [yf])


def _table_op_model(op: str, x_q: tuple[float, int], y_q: tuple[float, int],
                    alpha: float | None = None) -> bytes:
    b = ModelBuilder()
    x = b.tensor((1, 256), scale=x_q[0], zero_point=x_q[1])
    y = b.tensor((1, 256), scale=y_q[0], zero_point=y_q[1])
    if alpha is None:
        b.op(op, [x], [y])
    else:
        b.op(op, [x], [y], "LeakyReluOptions", alpha=alpha)
    return b.build([x], [y])


# The table ops at their corners: (op, input (scale, zp), output (scale, zp), alpha).
_TABLE_EDGES: tuple[tuple[str, tuple[float, int], tuple[float, int], float | None], ...] = (
    ("LOGISTIC", (1e-4, 0), (1 / 256, -128), None),      # flat around 0.5
    ("LOGISTIC", (0.5, -128), (1 / 256, -128), None),    # saturated both ways
    ("LOGISTIC", (1 / 16, 127), (1 / 256, -128), None),
    ("TANH", (1 / 32, 0), (1 / 128, 0), None),
    ("TANH", (2.0, -100), (1 / 128, 0), None),
    ("TANH", (0.01, 5), (1e-4, 3), None),                 # outputs past int8 both ways
    ("LEAKY_RELU", (0.05, -3), (0.05, -3), 0.0),
    ("LEAKY_RELU", (0.05, 10), (0.05, 10), 1.0),
    ("LEAKY_RELU", (0.1, 0), (0.01, -128), 2.5),          # multipliers above 1
    ("LEAKY_RELU", (0.02, 127), (0.07, -128), 0.3),
    ("HARD_SWISH", (0.1, 0), (0.1 / 128 * 1.0001, 0), None),  # output exponent 0
    ("HARD_SWISH", (2.0, -20), (0.5, -100), None),      # relu-ish exponent > 0
    ("HARD_SWISH", (1e-3, 40), (1e-3, 40), None),       # relu-ish exponent < 0
    ("QUANTIZE", (0.05, 7), (0.05, 7), None),            # the same quantization
    ("QUANTIZE", (0.05, -128), (0.05, 127), None),
    ("QUANTIZE", (0.9, 3), (0.1, -5), None),             # multiplier 9
    ("QUANTIZE", (0.01, 0), (0.3, 0), None),
)


def _transpose_conv_model(rng: np.random.Generator, in_shape: tuple[int, int, int],
                          oc: int, f: tuple[int, int], stride: tuple[int, int], padding: int,
                          bias: bool, act: int, out_scale: float) -> bytes:
    """One TRANSPOSE_CONV (Keras' Conv2DTranspose), per-channel weights of full range."""
    h, w, c = in_shape
    out = ((h * stride[0], w * stride[1]) if padding == SAME
           else ((h - 1) * stride[0] + f[0], (w - 1) * stride[1] + f[1]))
    b = ModelBuilder()
    x = b.tensor((1, h, w, c), scale=0.05, zero_point=-7)
    ws = [float(np.float32(v)) for v in np.exp(rng.uniform(np.log(2e-3), np.log(3e-2), oc))]
    w_t = b.tensor((oc, f[0], f[1], c), scale=ws, zero_point=[0] * oc, axis=0,
                   data=rng.integers(-127, 128, (oc, f[0], f[1], c)))
    ins = [b.tensor((4,), "int32", data=[1, out[0], out[1], oc]), w_t, x]
    if bias:
        ins.append(b.tensor((oc,), "int32", scale=[float(np.float32(0.05 * s)) for s in ws],
                            zero_point=[0] * oc, data=rng.integers(-20000, 20000, oc)))
    y = b.tensor((1, out[0], out[1], oc), scale=out_scale, zero_point=5)
    b.op("TRANSPOSE_CONV", ins, [y], "TransposeConvOptions", padding=padding,
         stride_w=stride[1], stride_h=stride[0], fused_activation_function=act)
    return b.build([x], [y])


# TRANSPOSE_CONV corners: (input h, w, c), out channels, filter, stride, padding, bias,
# fused activation, output scale. Filter 1 at stride 2 leaves outputs no input reaches
# (bias alone); a filter larger than the stride overlaps; SAME with an even filter pads
# unevenly; tiny output scales saturate and make multipliers above 1.
_TRANSPOSE_EDGES = (
    ((3, 3, 2), 3, (1, 1), (2, 2), SAME, True, ACT_NONE, 0.2),
    ((3, 2, 2), 2, (1, 1), (2, 2), VALID, False, ACT_NONE, 0.2),
    ((3, 3, 3), 2, (4, 4), (2, 2), SAME, True, ACT_RELU6, 0.05),
    ((2, 4, 1), 4, (3, 2), (2, 1), VALID, True, ACT_RELU, 0.1),
    ((4, 4, 2), 2, (3, 3), (1, 1), SAME, False, ACT_NONE, 1e-4),
    ((1, 5, 4), 3, (1, 3), (1, 2), SAME, True, ACT_RELU_N1_TO_1, 0.01),
    ((2, 2, 8), 2, (2, 2), (2, 2), VALID, True, ACT_NONE, 0.5),
    ((5, 1, 2), 1, (4, 1), (2, 1), VALID, False, ACT_RELU, 3e-3),
)


def edge_networks() -> list[tuple[str, bytes, list[np.ndarray]]]:
    """Hand-made models at the corners where TFLite's arithmetic is easy to get wrong, each
    with inputs that hit the corner: (name, .tflite bytes, inputs in the model's input
    dtype and shape). The interpreter is the oracle for all of them.

    - FULLY_CONNECTED rescaling with the double scale (results where the quantized
      multiplier would round the other way), ties away from zero, results outside int32
      (INT32_MIN, then the zero point added with wrap-around);
    - CONV_2D / DEPTHWISE_CONV_2D with MBQM + zero point overflowing int32 (wraps);
    - QUANTIZE of float inputs at exact half-way points (float32 division) and far out of
      range (INT32_MIN, then the zero point with wrap-around);
    - the table ops (LOGISTIC, TANH, LEAKY_RELU, HARD_SWISH, QUANTIZE int8 to int8) at
      saturation, multipliers above 1, exponents at their limits: every int8 input value;
    - TRANSPOSE_CONV (``_TRANSPOSE_EDGES``): outputs no input reaches, overlapping taps,
      uneven SAME padding, saturation, multipliers above 1, with and without bias.
    """
    out: list[tuple[str, bytes, list[np.ndarray]]] = []
    zeros = [np.zeros((1, 1), np.int8)]
    for out_scale, acc, expected in ((6341039.5, 878233971, 139),
                                     (8180837.5, 658557419, 81)):
        zp = max(-expected, -128)
        out.append((f"fc_double_scale_{acc}", _fc_model([[1]], 1.0, [acc], (1.0, 0),
                                                         (out_scale, zp)), zeros))
    ramp = [np.array([[v]], np.int8) for v in range(-9, 10)]
    for out_scale in (2.0, 4.0, 8.0):
        out.append((f"fc_ties_{out_scale:g}", _fc_model([[1], [-1]], 1.0, [0, 0], (1.0, 0),
                                                        (out_scale, 0)), ramp))
    for zp in (-100, 0, 100):
        out.append((f"fc_overflow_zp{zp}", _fc_model([[1]], 0.5, [1 << 30], (1.0, 0),
                                                      (0.5 / 1024, zp)),
                    [np.array([[v]], np.int8) for v in (-5, 0, 5)]))
    for op in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        for zp in (127, 120, -128):
            for bias in (2147483640, 2147483520, -2147483640):
                out.append((f"{op.lower()}_zp_wrap_{zp}_{bias}", _conv_wrap_model(op, zp, bias),
                            [np.array([[[[v]]]], np.int8) for v in (0, 7, -7)]))
    rng = np.random.default_rng(400)
    for i in range(6):
        scale = float(np.float32(np.exp(rng.uniform(-6, 2))))
        zp = int(rng.integers(-128, 128))
        k = rng.integers(-200, 200, 64)
        halves = ((k + 0.5) * np.float64(scale)).astype(np.float32)
        huge = (rng.choice([-1, 1], 64) * scale * 10.0 ** rng.uniform(8, 12, 64)).astype(
            np.float32)
        inputs = [v.reshape(1, 64) for v in (
            halves, np.nextafter(halves, np.float32(np.inf)),
            np.nextafter(halves, np.float32(-np.inf)), huge)]
        out.append((f"quantize_{i}", _quantize_model(scale, zp), inputs))
    every_value = [np.arange(-128, 128, dtype=np.int8).reshape(1, 256)]
    for i, (op, x_q, y_q, alpha) in enumerate(_TABLE_EDGES):
        x_q = (float(np.float32(x_q[0])), x_q[1])
        y_q = (float(np.float32(y_q[0])), y_q[1])
        out.append((f"{op.lower()}_{i}", _table_op_model(op, x_q, y_q, alpha), every_value))
    rng = np.random.default_rng(22)
    for i, (shape, oc, f, stride, padding, bias, act, out_scale) in enumerate(_TRANSPOSE_EDGES):
        model = _transpose_conv_model(rng, shape, oc, f, stride, padding, bias, act,
                                      float(np.float32(out_scale)))
        inputs = [np.full((1, *shape), v, np.int8) for v in (-128, -7, 127)]
        inputs += [rng.integers(-128, 128, (1, *shape)).astype(np.int8) for _ in range(3)]
        out.append((f"transpose_conv_{i}", model, inputs))
    return out


def ten_op_network() -> bytes:
    """One layer of each op, 10 layers: CONV, DEPTHWISE, MAX_POOL, ADD, PAD, AVERAGE_POOL,
    MEAN, FC, RESHAPE, SOFTMAX; tensors t0 (input) .. t10 (output). The fixture of
    tests_host/test_format_cnn.py and of CNN cases of bad_blobs.py."""
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


def _softmax_model(n: int, scale: float, beta: float, rows: int = 1) -> bytes:
    b = ModelBuilder()
    x = b.tensor((1, rows, n), scale=scale, zero_point=0)
    y = b.tensor((1, rows, n), scale=1 / 256, zero_point=-128)
    b.op("SOFTMAX", [x], [y], "SoftmaxOptions", beta=beta)
    return b.build([x], [y])


def softmax_sum_networks(n_each: int = 6) -> list[tuple[str, bytes, list[np.ndarray]]]:
    """SOFTMAX over 512 to 8200 values with inputs whose sum of exponentials (Q12.19,
    as TFLite's reference kernel adds them) lies just below and at or above 2^9 = 2^28
    raw, where TFLite's interpreter aborts: (name, .tflite bytes, int8 inputs). Each row
    puts ``k`` values at the maximum and the others ``d`` steps under it, (k, d) searched
    so that the sums straddle the limit as closely as the int8 steps allow; plus all
    values equal (the sum is exactly ``n`` ones), a row with two rows (one past the
    limit, one not), and 8200 equal values, whose sum passes 2^32 and wraps back under
    2^28 in TFLite's int32 (no abort: TFLite's result is computed from the wrapped sum)."""
    from emlml_tools.convert.tflite_cnn import softmax_params
    from emlml_tools.runtime.cnn import SOFTMAX_SUM_LIMIT, _softmax_sum

    out: list[tuple[str, bytes, list[np.ndarray]]] = []
    rng = np.random.default_rng(512)
    for n, scale, beta in ((512, 0.05, 1.0), (1000, 0.02, 1.0), (1000, 0.1, 0.7),
                           (2048, 0.004, 2.0)):
        scale = float(np.float32(scale))
        m, left, diff_min = softmax_params(beta, scale)
        candidates = []
        for _ in range(400):
            k = int(rng.integers(1, n + 1))
            d = int(rng.integers(0, 255))
            row = np.full(n, 127, np.int64)
            rest = rng.permutation(n)[:n - k]
            row[rest] = 127 - d + rng.integers(-1, 2, len(rest)) * (d > 0)
            row = np.clip(row, -128, 127)
            total = int(_softmax_sum(row[None, :], m, left, diff_min)[0].reshape(-1)[0])
            candidates.append((total - SOFTMAX_SUM_LIMIT, row.astype(np.int8)))
        below = sorted((c for c in candidates if c[0] < 0), key=lambda c: -c[0])[:n_each // 2]
        above = sorted((c for c in candidates if c[0] >= 0), key=lambda c: c[0])[:n_each // 2]
        inputs = [row.reshape(1, 1, n) for _, row in below + above]
        inputs.append(np.zeros((1, 1, n), np.int8))
        out.append((f"softmax_sum_{n}_{beta:g}", _softmax_model(n, scale, beta), inputs))
    two = np.zeros((1, 2, 600), np.int8)
    two[0, 1, ::2] = -128
    out.append(("softmax_sum_two_rows", _softmax_model(600, 0.05, 1.0, rows=2), [two]))
    out.append(("softmax_sum_wraps", _softmax_model(8200, 0.05, 1.0),
                [np.zeros((1, 1, 8200), np.int8), np.full((1, 1, 8200), 5, np.int8)]))
    return out


def constant_operand_networks(per_op: int = 6) -> list[tuple[str, bytes, list[np.ndarray]]]:
    """ADD, SUB, MUL, MAXIMUM, MINIMUM of an activation and a constant of one value
    (Keras' ``x * 0.5``, ``x - 1``, Rescaling), the constant first or second, shaped
    (1,), () or (1, 1, 1), with random scales and zero points and fused NONE, RELU or
    RELU6 (ADD, SUB, MUL): (name, .tflite bytes, [every int8 value as one input]). Then
    a small Keras-like network: conv, ``* c``, ``+ c``, conv."""
    rng = np.random.default_rng(77)
    every_value = [np.arange(-128, 128, dtype=np.int8).reshape(1, 256)]
    out: list[tuple[str, bytes, list[np.ndarray]]] = []
    options = {"MUL": "MulOptions", "ADD": "AddOptions", "SUB": "SubOptions"}
    for op in ("ADD", "SUB", "MUL", "MAXIMUM", "MINIMUM"):
        for i in range(per_op):
            b = ModelBuilder()

            def q() -> tuple[float, int]:
                return (float(np.float32(np.exp(rng.uniform(-5, 0)))),
                        int(rng.integers(-100, 101)))

            xq, cq, yq = q(), q(), q()
            cshape = [(1,), (), (1, 1, 1)][i % 3]
            x = b.tensor((1, 256), scale=xq[0], zero_point=xq[1])
            c = b.tensor(cshape, scale=cq[0], zero_point=cq[1],
                         data=np.full(cshape, int(rng.integers(-128, 128))))
            y = b.tensor((1, 256), scale=yq[0], zero_point=yq[1])
            ins = [c, x] if i % 2 else [x, c]
            if op in options:
                b.op(op, ins, [y], options[op],
                     fused_activation_function=[ACT_NONE, ACT_RELU, ACT_RELU6][i % 3])
            else:
                b.op(op, ins, [y])
            out.append((f"{op.lower()}_constant_{i}", b.build([x], [y]), every_value))
    net = _RandomNet(rng)
    x0 = net.new((1, 6, 6, 2), 0.05, -3, 40.0)
    h = net.conv(x0)
    for op, opts in (("MUL", "MulOptions"), ("ADD", "AddOptions")):
        c = net.b.tensor((), scale=0.01, zero_point=0, data=np.array(int(rng.integers(20, 120))))
        y = net.new(h.shape, h.scale * net.uniform(0.5, 2.0), net.zp(), h.spread)
        net.b.op(op, [h.index, c], [y.index], opts, fused_activation_function=ACT_NONE)
        h = y
    h = net.conv(h)
    inputs = [rng.integers(-128, 128, (1, 6, 6, 2)).astype(np.int8) for _ in range(6)]
    out.append(("keras_rescale_net", net.b.build([x0.index], [h.index]), inputs))
    return out


def _constant_shape(rng: np.random.Generator, shape: tuple[int, ...]) -> tuple[int, ...]:
    """A constant's shape that broadcasts against an activation of ``shape``."""
    if len(shape) == 2:
        return [(shape[1],), (1, shape[1])][int(rng.integers(2))]
    if len(shape) == 3:
        _, w, c = shape
        return [(c,), (1, 1, c), (w, c), (1, w, 1), (1, w, c)][int(rng.integers(5))]
    _, h, w, c = shape
    if h == w == 1 and rng.random() < 0.4:  # x (a squeezed vector) broadcasts to it
        return (1, int(rng.integers(1, 5)), int(rng.integers(1, 5)), c)
    options = [(c,), (1, 1, 1, c), (1, 1, c), (h, w, c), (1, h, w, c), (1, h, 1, c),
               (1, 1, w, 1), (w, c), (1, h, w, 1)]
    return options[int(rng.integers(len(options)))]


def constant_tensor_network(rng: np.random.Generator) -> tuple[bytes, dict[str, Any]]:
    """A random network with constant operands of several values (``_RandomNet.constant``)
    and ADD of two broadcasting activations: often Keras' Normalization first (SUB then
    MUL by (C,) constants right after the input QUANTIZE), then convolutions or (a Dense
    model, rank 2) fully connected layers with 1-3 constant ops between, some with
    extreme output scales; sometimes a squeeze-and-excite ADD (``_RandomNet.binary``)."""
    net = _RandomNet(rng)
    b = net.b
    dense = bool(rng.random() < 0.25)
    in_shape: tuple[int, ...] = ((1, int(rng.integers(2, 40))) if dense else
                                 (1, int(rng.integers(1, 9)), int(rng.integers(1, 9)),
                                  int(rng.integers(1, 5))))
    float_input = bool(rng.random() < 0.5)
    x0, model_in = net.network_input(in_shape, float_input)
    x = x0
    c = in_shape[-1]
    normalization = bool(rng.random() < 0.5)
    if normalization:  # Keras' Normalization(axis=-1): (x - mean) * (1 / std), per channel
        x = net.constant(x, "SUB", (c,))
        x = net.constant(x, "MUL", (c,))
    for _ in range(int(rng.integers(1, 4))):
        x = net.fc(x, int(rng.integers(2, 12))) if dense else net.conv(x)
        for _ in range(int(rng.integers(1, 3))):
            x = net.constant(x, extreme=bool(rng.random() < 0.2))
        if not dense and rng.random() < 0.3:
            x = net.binary(x, "ADD")
    if not dense and rng.random() < 0.3:  # a squeezed vector that broadcasts to a constant
        x = net.mean(x, keep_dims=True)
        x = net.constant(x)
    if not dense and rng.random() < 0.5:
        x = net.reshape(x, (1, math.prod(x.shape)), "const")
        x = net.fc(x, int(rng.integers(1, 8)))
    desc = dict(input_shape=in_shape, float_input=float_input, normalization=normalization,
                layers=net.layers)
    return b.build([model_in], [x.index]), desc


# ---------------------------------------------------------------------------- CNNs on features


def _asymmetric(lo: float, hi: float) -> tuple[float, int]:
    """(scale, zero point) mapping [lo, hi] (widened to hold 0) onto int8."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = float(np.float32(max(hi - lo, 1e-6) / 255.0))
    return scale, int(np.clip(round(-128 - lo / scale), -128, 127))


def feature_classifier(x_train: npt.ArrayLike, y_train: npt.ArrayLike, *, conv: bool = False,
                       float_input: bool = False, float_output: bool = False,
                       softmax: bool = False) -> bytes:
    """A small full-int8 classifier on feature vectors (a Pipeline's last step, emlml's
    TFLiteClassifier), trained here without TensorFlow: scikit-learn's logistic
    regression on the features (``conv``: on the ReLU outputs of a fixed 1x3 CONV_2D of
    four kernels run along the features, then RESHAPE), its weights quantized per tensor
    into a FULLY_CONNECTED layer; input and output quantization from the training
    data's range. ``float_input``/``float_output`` add QUANTIZE/DEQUANTIZE edges;
    ``softmax`` a SOFTMAX head (scale 1/256, zero point -128)."""
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(x_train, dtype=np.float64)
    n = x.shape[1]
    b = ModelBuilder()
    in_scale, in_zp = _asymmetric(float(x.min()), float(x.max()))
    x_q = b.tensor((1, 1, n, 1) if conv else (1, n), scale=in_scale, zero_point=in_zp)
    model_in = x_q
    if float_input:
        model_in = b.tensor((1, 1, n, 1) if conv else (1, n), "float32")
        b.op("QUANTIZE", [model_in], [x_q])
    fc_in, fc_scale, h = x_q, in_scale, x
    if conv:
        kernels = np.array([[0, 1, 0], [1, 1, 1], [-1, 0, 1], [1, -2, 1]], dtype=np.float64)
        padded = np.pad(x, ((0, 0), (1, 1)))
        h = np.stack([sum(k[t] * padded[:, t:t + n] for t in range(3)) for k in kernels], axis=2)
        h = np.maximum(h, 0.0).reshape(len(x), -1)  # HWC: feature j, kernel c at j * 4 + c
        w_scales = (np.float32(1.0 / 127) * np.abs(kernels).max(axis=1)).astype(np.float32)
        w_q = np.round(kernels / w_scales[:, None]).astype(np.int8).reshape(4, 1, 3, 1)
        w_t = b.tensor((4, 1, 3, 1), scale=w_scales.tolist(), zero_point=[0] * 4, axis=0,
                       data=w_q)
        bias_t = b.tensor((4,), "int32", scale=(np.float32(in_scale) * w_scales).tolist(),
                          zero_point=[0] * 4, data=np.zeros(4, np.int32))
        conv_scale = float(np.float32(max(h.max(), 1e-6) / 255.0))
        c_t = b.tensor((1, 1, n, 4), scale=conv_scale, zero_point=-128)
        b.op("CONV_2D", [x_q, w_t, bias_t], [c_t], "Conv2DOptions", padding=SAME, stride_w=1,
             stride_h=1, dilation_w_factor=1, dilation_h_factor=1,
             fused_activation_function=ACT_RELU)
        fc_in = b.tensor((1, 4 * n), scale=conv_scale, zero_point=-128)
        shape_t = b.tensor((2,), "int32", data=[1, 4 * n])
        b.op("RESHAPE", [c_t, shape_t], [fc_in], "ReshapeOptions", new_shape=[1, 4 * n])
        fc_scale = conv_scale
    lr = LogisticRegression(max_iter=2000).fit(h, np.asarray(y_train))
    w, bias = lr.coef_, lr.intercept_
    if w.shape[0] == 1:  # two classes: one score for each
        w, bias = np.vstack([-w, w]) / 2, np.array([-bias[0], bias[0]]) / 2
    k = w.shape[0]
    w_scale = float(np.float32(np.abs(w).max() / 127.0))
    w_t = b.tensor(w.shape, scale=w_scale, zero_point=0, data=np.round(w / w_scale))
    bias_scale = float(np.float32(fc_scale) * np.float32(w_scale))
    b_t = b.tensor((k,), "int32", scale=bias_scale, zero_point=0,
                   data=np.round(bias / bias_scale).astype(np.int32))
    logits = h @ w.T + bias
    out_scale, out_zp = _asymmetric(float(logits.min()), float(logits.max()))
    y = b.tensor((1, k), scale=out_scale, zero_point=out_zp)
    b.op("FULLY_CONNECTED", [fc_in, w_t, b_t], [y], "FullyConnectedOptions",
         fused_activation_function=ACT_NONE, keep_num_dims=False)
    if softmax:
        p = b.tensor((1, k), scale=1 / 256, zero_point=-128)
        b.op("SOFTMAX", [y], [p], "SoftmaxOptions", beta=1.0)
        y = p
    model_out = y
    if float_output:
        model_out = b.tensor((1, k), "float32")
        b.op("DEQUANTIZE", [y], [model_out])
    return b.build([model_in], [model_out])
