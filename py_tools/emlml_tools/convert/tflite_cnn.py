"""TensorFlow Lite full-int8 models -> emlml blobs of kind 3 (docs/FORMAT.md, "int8 CNN").

``convert_tflite(data)`` reads the .tflite into a checked graph (``tflite_model``), derives
every constant TFLite computes at ``Prepare`` time exactly as TFLite does (double
arithmetic on the float32 scales, ``QuantizeMultiplier`` with round-half-away-from-zero,
``CalculateActivationRangeQuantized`` in float32), plans the tensor arena (first fit on
tensor lifetimes) and writes the blob.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Callable, Sequence

import numpy as np

from emlml_tools import __version__
from emlml_tools.convert.tflite_graph import Graph, Node, UnsupportedModel, read_tflite
from emlml_tools.format import (
    CNN_FLAG_FLOAT_INPUT,
    CNN_FLAG_FLOAT_OUTPUT,
    CNN_FLAG_OUTPUTS_AFTER_OUTPUT,
    CNN_LAYER_DTYPE,
    CNN_MAX_DOT,
    CNN_MAX_LAYERS,
    CNN_MAX_TENSORS,
    CNN_MEAN_MAX_CELLS,
    CNN_TENSOR_DTYPE,
    CNN_TENSOR_CONSTANT,
    CNN_TWO_INPUT_OPS,
    MAX_INPUTS,
    MAX_OUTPUTS,
    CnnOp,
    CnnPadding,
    align4,
    cnn_blob,
    encode_meta,
    read_blob,
)

ADD_LEFT_SHIFT = 20  # TFLite's left_shift for 8-bit ADD
SOFTMAX_DIFF_BITS = 5  # kScaledDiffIntegerBits


# ---------------------------------------------------------------------------- TFLite math


def round_half_away(x: float | Fraction) -> int:
    """std::round: to nearest, halves away from zero (exact, through Fraction)."""
    f = Fraction(x)
    r = math.floor(abs(f) + Fraction(1, 2))
    return r if f >= 0 else -r


def quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLite's QuantizeMultiplier (TFLITE_SINGLE_ROUNDING off): (multiplier, shift) with
    ``real ~= multiplier * 2^(shift - 31)``; a positive shift is a left shift."""
    if real == 0.0:
        return 0, 0
    if not (math.isfinite(real) and real > 0):
        raise ValueError(f"multiplier {real} is not a finite positive number")
    q, shift = math.frexp(real)
    q_fixed = round_half_away(Fraction(q) * (1 << 31))
    if q_fixed == 1 << 31:
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return q_fixed, shift


def activation_range(activation: str, scale: float, zero_point: int) -> tuple[int, int]:
    """CalculateActivationRangeQuantized for int8 (the division and rounding in float32)."""
    def quantize(f: float) -> int:
        q = np.float32(f) / np.float32(scale)
        if not np.isfinite(q) or abs(float(q)) > 2 ** 31:
            return -(1 << 31) if (f < 0) else (1 << 31) - 1
        return zero_point + round_half_away(float(q))

    lo, hi = -128, 127
    if activation == "RELU":
        lo = max(lo, quantize(0.0))
    elif activation == "RELU6":
        lo, hi = max(lo, quantize(0.0)), min(hi, quantize(6.0))
    elif activation == "RELU_N1_TO_1":
        lo, hi = max(lo, quantize(-1.0)), min(hi, quantize(1.0))
    return lo, hi


def softmax_params(beta: float, input_scale: float) -> tuple[int, int, int]:
    """(input_multiplier, input_left_shift, diff_min): PreprocessSoftmaxScaling(beta,
    input_scale, 5) and -CalculateInputRadius(5, left_shift, 31)."""
    real = min(beta * input_scale * float(1 << (31 - SOFTMAX_DIFF_BITS)), float((1 << 31) - 1))
    if not real > 1.0:
        raise ValueError(f"beta * input scale = {beta * input_scale:g} is too small for "
                         "TFLite's int8 softmax (it needs beta * scale * 2^26 > 1)")
    multiplier, left_shift = quantize_multiplier(real)
    radius = math.floor(1.0 * ((1 << SOFTMAX_DIFF_BITS) - 1)
                        * float(1 << (31 - SOFTMAX_DIFF_BITS)) / float(1 << left_shift))
    return multiplier, left_shift, -radius


def add_params(s1: float, s2: float, s_out: float) -> list[int]:
    """[left_shift, m1, shift1, m2, shift2, m_out, shift_out] as TFLite's 8-bit ADD Prepare."""
    twice_max = float(np.float32(2) * np.float32(max(s1, s2)))
    r1 = s1 / twice_max
    r2 = s2 / twice_max
    r_out = twice_max / float(np.float32(1 << ADD_LEFT_SHIFT) * np.float32(s_out))
    out = [ADD_LEFT_SHIFT]
    for what, r in (("input 1", r1), ("input 2", r2), ("output", r_out)):
        if not 0.0 < r < 1.0:
            raise ValueError(f"the {what} rescale factor {r:g} is outside (0, 1): the output "
                             "scale is too small for the input scales (TFLite refuses it too)")
        m, s = quantize_multiplier(r)
        out += [m, s]
    return out


def mul_params(s1: float, s2: float, s_out: float) -> tuple[int, int]:
    """MUL's (multiplier, shift): QuantizeMultiplier of ``s1 * s2 / s_out`` computed in
    float32, as TFLite's Prepare writes it (float operands, then widened to double)."""
    real = float(np.float32(np.float32(s1) * np.float32(s2)) / np.float32(s_out))
    m, s = quantize_multiplier(real)
    if s > 30:
        raise ValueError(f"rescale factor {real:g} is too large (shift above 30)")
    return m, s


def prelu_params(s_in: float, s_alpha: float, s_out: float) -> list[int]:
    """PRELU's [m1, s1, m2, s2]: QuantizeMultiplier of the float32 expressions
    ``in / out`` (x >= 0) and ``in * alpha / out`` (x < 0), as TFLite's PreluPrepare."""
    out = []
    for real in (float(np.float32(s_in) / np.float32(s_out)),
                 float(np.float32(np.float32(s_in) * np.float32(s_alpha)) / np.float32(s_out))):
        m, s = quantize_multiplier(real)
        if s > 30:
            raise ValueError(f"rescale factor {real:g} is too large (shift above 30)")
        out += [m, s]
    return out


def mean_params(input_scale: float, output_scale: float, n: int) -> tuple[int, int]:
    """MEAN's (multiplier, shift) with the division by ``n`` folded in, as TFLite's
    QuantizedMeanOrSum does it: QuantizeMultiplier(in/out), then
    ``shift_n = min(floor(log2 n), 32, 31 + shift)``,
    ``multiplier = (multiplier << shift_n) // n``, ``shift -= shift_n``."""
    m, s = quantize_multiplier(input_scale / output_scale)
    k = min(n.bit_length() - 1, 32, 31 + s)
    return (m << k) // n, s - k


# ---------------------------------------------------------------------------- conversion


def _live_nodes(graph: Graph) -> list[Node]:
    """The nodes the output depends on, in order."""
    need = {graph.output}
    keep = []
    for node in reversed(graph.nodes):
        if node.output in need:
            keep.append(node)
            need.update(node.inputs)
    return keep[::-1]


# The orders in which plan_arena places tensors, each a sort key of (tensor, sizes,
# intervals): first fit in each, the smallest arena kept. "size" alone was the first plan
# (vww96: 64,512 bytes); "start" (in the order layers write them) reaches vww96's bound,
# the largest pair of live tensors (55,296).
PLAN_ORDERS: dict[str, Callable[[int, Sequence[int], Sequence[tuple[int, int]]], tuple]] = {
    "size": lambda t, s, iv: (-s[t], t),
    "start": lambda t, s, iv: (iv[t][0], -s[t], t),
    "area": lambda t, s, iv: (-s[t] * (iv[t][1] - iv[t][0] + 1), t),
    "longest": lambda t, s, iv: (iv[t][0] - iv[t][1], -s[t], t),
}


def plan_arena(sizes: Sequence[int], intervals: Sequence[tuple[int, int]],
               orders: Sequence[str] = tuple(PLAN_ORDERS)) -> tuple[list[int], int]:
    """Offsets for tensors with ``sizes`` live over the inclusive layer ``intervals``:
    greedy first fit in each of ``orders`` (PLAN_ORDERS), the smallest arena kept (the
    first on a tie); offsets are multiples of 4. Returns (offsets, arena bytes)."""
    best: tuple[list[int], int] | None = None
    for name in orders:
        key = PLAN_ORDERS[name]
        plan = _first_fit(sizes, intervals,
                          sorted(range(len(sizes)), key=lambda t: key(t, sizes, intervals)))
        if best is None or plan[1] < best[1]:
            best = plan
    assert best is not None
    return best


def _first_fit(sizes: Sequence[int], intervals: Sequence[tuple[int, int]],
               order: Sequence[int]) -> tuple[list[int], int]:
    """Each tensor in ``order`` at the lowest 4-aligned offset where it overlaps no placed
    tensor live at the same time."""
    offsets = [0] * len(sizes)
    placed: list[int] = []
    for t in order:
        s, e = intervals[t]
        busy = sorted((offsets[u], offsets[u] + sizes[u]) for u in placed
                      if intervals[u][0] <= e and s <= intervals[u][1])
        at = 0
        for lo, hi in busy:
            if at + sizes[t] <= lo:
                break
            at = max(at, align4(hi))
        offsets[t] = at
        placed.append(t)
    end = max((offsets[t] + sizes[t] for t in range(len(sizes))), default=0)
    return offsets, end


def convert_graph(graph: Graph, *, name: str | None = None, labels: Sequence[str] = ()
                  ) -> bytes:
    nodes = _live_nodes(graph)
    index: dict[int, int] = {graph.input: 0}  # tflite tensor -> blob tensor
    for node in nodes:
        for t in node.inputs:  # the constants read (the others are written before)
            index.setdefault(t, len(index))
        index.setdefault(node.output, len(index))
    acts = [graph.tensors[t] for t in index]
    if len(acts) > CNN_MAX_TENSORS or len(nodes) > CNN_MAX_LAYERS:
        raise UnsupportedModel(f"the model has {len(nodes)} layers and {len(acts)} tensors; "
                               f"emlml holds at most {CNN_MAX_LAYERS} and {CNN_MAX_TENSORS}")
    t_in, t_out = graph.tensors[graph.input], graph.tensors[graph.output]
    if t_in.size > MAX_INPUTS:
        raise UnsupportedModel(f"the input has {t_in.size} values; at most {MAX_INPUTS}")
    if t_out.size > MAX_OUTPUTS:
        raise UnsupportedModel(f"the output has {t_out.size} values; at most {MAX_OUTPUTS}")
    labels = [str(label) for label in labels]
    if labels and len(labels) != t_out.size:
        raise ValueError(f"{len(labels)} labels for {t_out.size} outputs: give one label per "
                         "output")
    layers = np.zeros(len(nodes), dtype=CNN_LAYER_DTYPE)
    weights = bytearray()
    qparams: list[int] = []
    for i, node in enumerate(nodes):
        row = layers[i]
        try:
            _layer(graph, node, index, row, weights, qparams)
        except ValueError as exc:
            if isinstance(exc, UnsupportedModel):
                raise
            raise UnsupportedModel(f"operator {node.index} ({node.op}): {exc}") from None
    # lifetimes (inclusive layer intervals; the input from -1, the output to the end)
    start = {0: -1}
    end: dict[int, int] = {}
    for i, node in enumerate(nodes):
        start.setdefault(index[node.output], i)
        end.setdefault(index[node.output], i)
        for t in node.inputs:
            end[index[t]] = i
    end[index[graph.output]] = len(nodes)
    # the arena holds the tensors layers write (and the input); constants lie in the weights
    planned = [t for t, a in enumerate(acts) if a.data is None]
    sizes = [acts[t].size for t in planned]
    intervals = [(start[t], max(end.get(t, start[t]), start[t])) for t in planned]
    plan, arena = plan_arena(sizes, intervals)
    offsets = dict(zip(planned, plan))
    tensors = np.zeros(len(acts), dtype=CNN_TENSOR_DTYPE)
    for t, a in enumerate(acts):
        flags = 0
        if a.data is not None:
            weights.extend(bytes(align4(len(weights)) - len(weights)))
            offsets[t], flags = len(weights), CNN_TENSOR_CONSTANT
            weights.extend(a.data.tobytes())
        tensors[t] = (a.hwc[0], a.hwc[1], a.hwc[2], flags, offsets[t], a.zero_point)
    # the float outputs right after the int8 output, over tensors dead by then: never
    # more arena than after every tensor (vww96: 55,296 B, not 55,304)
    flags = (CNN_FLAG_FLOAT_INPUT if graph.float_input else 0) | (
        CNN_FLAG_FLOAT_OUTPUT if graph.float_output else 0) | CNN_FLAG_OUTPUTS_AFTER_OUTPUT
    producer = f"emlml {__version__} / TensorFlow Lite"
    if graph.description:
        producer += f" ({graph.description})"
    meta = encode_meta(producer=producer, labels=labels, input_shape=t_in.hwc, name=name)
    return cnn_blob(input_tensor=0, output_tensor=index[graph.output],
                    input_scale=t_in.scale, output_scale=t_out.scale,
                    tensor_arena_bytes=arena, flags=flags, tensors=tensors, layers=layers,
                    weights=bytes(weights), qparams=qparams, meta=meta)


def _layer(graph: Graph, node: Node, index: dict[int, int], row: np.void,
           weights: bytearray, qparams: list[int]) -> None:
    op = CnnOp[node.op]
    x = graph.tensors[node.inputs[0]]
    out = graph.tensors[node.output]
    row["op"] = op
    row["in0"] = index[node.inputs[0]]
    row["in1"] = index[node.inputs[1]] if op in CNN_TWO_INPUT_OPS else 0
    row["out"] = index[node.output]
    act_min, act_max = activation_range(node.activation, out.scale, out.zero_point)
    if act_min > act_max:
        raise ValueError(f"the fused {node.activation} leaves no output value")
    row["act_min"], row["act_max"] = act_min, act_max
    if op in (CnnOp.CONV_2D, CnnOp.DEPTHWISE_CONV_2D, CnnOp.MAX_POOL_2D,
              CnnOp.AVERAGE_POOL_2D, CnnOp.TRANSPOSE_CONV):
        row["padding"] = CnnPadding[node.padding]
        row["stride_h"], row["stride_w"] = node.stride
        row["dilation_h"], row["dilation_w"] = node.dilation
        row["filter_h"], row["filter_w"] = node.filter
    if op == CnnOp.PAD:
        row["pad_h"], row["pad_w"], row["pad_c"] = node.pad_before
    if op == CnnOp.PRELU:  # the alpha of every output value, then the qparams
        assert node.weights is not None and node.weight_scales is not None
        weights.extend(bytes(align4(len(weights)) - len(weights)))
        row["weights_offset"] = len(weights)
        weights.extend(np.ascontiguousarray(node.weights, dtype=np.int8).tobytes())
        row["qparams_offset"] = len(qparams)
        qparams.extend(prelu_params(x.scale, float(node.weight_scales[0]), out.scale))
        qparams.append(node.alpha_zero_point)
        return
    if node.table is not None:  # the elementwise table ops: 256 int8 as their weights
        weights.extend(bytes(align4(len(weights)) - len(weights)))
        row["weights_offset"] = len(weights)
        weights.extend(np.asarray(node.table, dtype=np.int8).tobytes())
        return
    if node.weights is not None:
        assert node.weight_scales is not None and node.bias is not None
        if (op in (CnnOp.CONV_2D, CnnOp.TRANSPOSE_CONV)
                and node.filter[0] * node.filter[1] * x.hwc[2] > CNN_MAX_DOT):
            raise ValueError(f"filter {node.filter[0]}x{node.filter[1]}x{x.hwc[2]} sums more "
                             f"than {CNN_MAX_DOT} products (int32 accumulator)")
        if op == CnnOp.FULLY_CONNECTED and x.size > CNN_MAX_DOT:
            raise ValueError(f"{x.size} inputs: more than {CNN_MAX_DOT} products per output")
        weights.extend(bytes(align4(len(weights)) - len(weights)))
        row["weights_offset"] = len(weights)
        weights.extend(np.ascontiguousarray(node.weights, dtype=np.int8).tobytes())
        row["qparams_offset"] = len(qparams)
        qparams.extend(int(b) for b in node.bias)
        reals = [x.scale * float(w_scale) / out.scale for w_scale in node.weight_scales]
        if op == CnnOp.FULLY_CONNECTED:  # the real scale itself, as float64 (two i32 words)
            words = np.array(reals, dtype="<f8").view("<i4")
            qparams.extend(int(v) for v in words)
            return
        mult, shift = [], []
        for c, real in enumerate(reals):
            m, s = quantize_multiplier(real)
            if s > 30:
                raise ValueError(f"channel {c}: rescale factor {real:g} is too large "
                                 "(shift above 30)")
            mult.append(m)
            shift.append(s)
        qparams.extend(mult)
        qparams.extend(shift)
    elif op == CnnOp.MEAN:
        if x.hwc[0] * x.hwc[1] > CNN_MEAN_MAX_CELLS:
            raise ValueError(f"mean over {x.hwc[0] * x.hwc[1]} cells; emlml takes at most "
                             f"{CNN_MEAN_MAX_CELLS} (an int32 sum)")
        row["qparams_offset"] = len(qparams)
        qparams.extend(mean_params(x.scale, out.scale, x.hwc[0] * x.hwc[1]))
    elif op in (CnnOp.ADD, CnnOp.SUB):  # TFLite's SUB prepares as its ADD
        row["qparams_offset"] = len(qparams)
        qparams.extend(add_params(x.scale, graph.tensors[node.inputs[1]].scale, out.scale))
    elif op == CnnOp.MUL:
        row["qparams_offset"] = len(qparams)
        qparams.extend(mul_params(x.scale, graph.tensors[node.inputs[1]].scale, out.scale))
    elif op == CnnOp.SOFTMAX:
        row["qparams_offset"] = len(qparams)
        qparams.extend(softmax_params(node.beta, x.scale))


def convert_tflite(data: bytes, *, name: str | None = None, labels: Sequence[str] = ()
                   ) -> bytes:
    """Convert a full-int8 .tflite (bytes) into a kind-3 blob.

    Raises ``UnsupportedModel`` (a ``ValueError``) naming the operator and its index when
    the model uses something emlml cannot run exactly.
    """
    try:
        graph = read_tflite(data)
    except UnsupportedModel:
        raise
    except (IndexError, KeyError, TypeError, OverflowError, ValueError,
            np.exceptions.AxisError) as exc:  # shapes or options no valid model has
        raise UnsupportedModel(f"cannot read the model ({type(exc).__name__}: {exc}); the "
                               "file looks damaged or malformed: re-export it") from None
    blob = convert_graph(graph, name=name, labels=labels)
    read_blob(blob)  # the writer's output always passes the loader's checks
    return blob
