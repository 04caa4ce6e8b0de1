"""NumPy reference runtime for int8 CNN blobs (kind 3): docs/FORMAT.md's arithmetic, exact.

All integer work is done on int64 arrays holding int32 values; every place where the C
core (and TFLite) computes in int32 with wrap-around goes through ``wrap32``. The fixed
point helpers (``srdhm``, ``rdbpot``, ``mbqm``) and the softmax follow gemmlowp/TFLite
to the bit.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from emlml_tools.format import (
    CNN_TABLE_OPS,
    CNN_TABLE_SIZE,
    INT32_MAX,
    concat_axis,
    INT32_MIN,
    Blob,
    CnnData,
    CnnOp,
    CnnPadding,
    Kind,
    pad_before,
    read_blob,
)

I64 = np.int64


# ---------------------------------------------------------------------------- fixed point


def wrap32(x: npt.ArrayLike) -> np.ndarray:
    """Two's complement wrap of int64 values into int32's range."""
    x = np.asarray(x, dtype=I64)
    return ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def srdhm(a: npt.ArrayLike, b: npt.ArrayLike) -> np.ndarray:
    """SaturatingRoundingDoublingHighMul."""
    a = np.asarray(a, dtype=I64)
    b = np.asarray(b, dtype=I64)
    overflow = (a == INT32_MIN) & (b == INT32_MIN)
    p = a * b
    p = p + np.where(p >= 0, 1 << 30, 1 - (1 << 30))
    q = np.where(p >= 0, p >> 31, -((-p) >> 31))  # division by 2^31 toward zero
    return np.where(overflow, INT32_MAX, q)


def rdbpot(x: npt.ArrayLike, e: npt.ArrayLike) -> np.ndarray:
    """RoundingDivideByPOT, 0 <= e <= 31 (element-wise ``e`` allowed)."""
    x = np.asarray(x, dtype=I64)
    e = np.asarray(e, dtype=I64)
    mask = (np.left_shift(1, e, dtype=I64)) - 1
    rem = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> e) + (rem > threshold)


def mbqm(x: npt.ArrayLike, m: npt.ArrayLike, s: npt.ArrayLike) -> np.ndarray:
    """MultiplyByQuantizedMultiplier (double rounding); the left shift wraps in int32."""
    x = np.asarray(x, dtype=I64)
    s = np.asarray(s, dtype=I64)
    left = np.maximum(s, 0)
    right = np.maximum(-s, 0)
    return rdbpot(srdhm(wrap32(x << left), m), right)


def scale_round(acc: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """FULLY_CONNECTED's rescale: ``round(double(acc) * scale)`` (one float64 multiply,
    rounded to nearest, ties away from zero); a result outside int32 gives INT32_MIN (the
    x86 conversion TFLite's kernel ends with)."""
    p = np.asarray(acc, dtype=np.float64) * np.asarray(scale, dtype=np.float64)
    r = np.sign(p) * np.floor(np.abs(p) + 0.5)
    inside = (r >= -2.0 ** 31) & (r <= 2.0 ** 31 - 1)
    return np.where(inside, np.where(inside, r, 0).astype(I64), INT32_MIN)


def _sat_shift_left(x: np.ndarray, e: int) -> np.ndarray:
    """gemmlowp SaturatingRoundingMultiplyByPOT<e> for e > 0."""
    threshold = (1 << (31 - e)) - 1
    return np.where(x > threshold, INT32_MAX, np.where(x < -threshold, INT32_MIN, x << e))


def _exp_on_interval(a: np.ndarray) -> np.ndarray:
    """exp_on_interval_between_negative_one_quarter_and_0_excl, Q0.31 in and out."""
    x = wrap32(a + (1 << 28))
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    x4_over_4 = rdbpot(x4, 2)
    poly = rdbpot(wrap32(srdhm(wrap32(x4_over_4 + x3), 715827883) + x2), 1)
    constant = 1895147668
    return wrap32(constant + srdhm(constant, wrap32(x + poly)))


_EXP_BARREL = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308),
               (2, 39332535), (3, 720401), (4, 242))


def exp_on_negative_values(a: np.ndarray) -> np.ndarray:
    """gemmlowp exp_on_negative_values for a Q5.26 input <= 0; a Q0.31 result."""
    a = np.asarray(a, dtype=I64)
    quarter = 1 << 24
    a_mod = (a & (quarter - 1)) - quarter
    result = _exp_on_interval(_sat_shift_left(a_mod, 5))
    remainder = wrap32(a_mod - a)
    for exponent, multiplier in _EXP_BARREL:
        bit = 1 << (26 + exponent)
        result = np.where(remainder & bit, srdhm(result, multiplier), result)
    return np.where(a == 0, INT32_MAX, result)


def _one_over_one_plus_x(a: np.ndarray) -> np.ndarray:
    """gemmlowp one_over_one_plus_x_for_x_in_0_1, Q0.31 in and out."""
    s = a + INT32_MAX
    half = np.where(s >= 0, (s + 1) // 2, -((-(s - 1)) // 2))  # (s + sign) / 2, toward zero
    x = wrap32(1515870810 + srdhm(half, -1010580540))
    for _ in range(3):
        one_minus = wrap32((1 << 29) - srdhm(half, x))
        x = wrap32(x + _sat_shift_left(srdhm(x, one_minus), 2))
    return _sat_shift_left(x, 1)


def _clz32(x: np.ndarray) -> np.ndarray:
    out = np.zeros(x.shape, dtype=I64)
    v = x.astype(I64) & 0xFFFFFFFF
    for bits in (16, 8, 4, 2, 1):
        small = v < (1 << (32 - bits))
        out = np.where(small, out + bits, out)
        v = np.where(small, v << bits, v)
    return np.where(x == 0, 32, out)


def get_reciprocal(x: np.ndarray, integer_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """TFLite GetReciprocal: (Q0.31 reciprocal scale, num_bits_over_unit)."""
    headroom = _clz32(x)
    bits_over_unit = integer_bits - headroom
    shifted_minus_one = ((x << headroom) & 0xFFFFFFFF) - (1 << 31)
    return _one_over_one_plus_x(shifted_minus_one), bits_over_unit


# ---------------------------------------------------------------------------- kernels


def _windows(x: np.ndarray, fill: int, fh: int, fw: int, sh: int, sw: int, dh: int, dw: int,
             oh: int, ow: int, pt: int, pl: int) -> tuple[np.ndarray, np.ndarray]:
    """Taps (fh, fw, oh, ow, c) of ``x`` (h, w, c), out-of-image taps set to ``fill``, and
    the in-image mask (fh, fw, oh, ow)."""
    h, w, c = x.shape
    ys = np.arange(oh)[:, None] * sh - pt + np.arange(fh)[None, :] * dh  # (oh, fh)
    xs = np.arange(ow)[:, None] * sw - pl + np.arange(fw)[None, :] * dw  # (ow, fw)
    vy = (ys >= 0) & (ys < h)
    vx = (xs >= 0) & (xs < w)
    taps = x[np.clip(ys, 0, h - 1)[:, :, None, None], np.clip(xs, 0, w - 1)[None, None, :, :]]
    # taps: (oh, fh, ow, fw, c)
    valid = vy[:, :, None, None] & vx[None, None, :, :]
    taps = np.where(valid[..., None], taps, fill)
    return taps.transpose(1, 3, 0, 2, 4), valid.transpose(1, 3, 0, 2)


def _geometry(cnn: CnnData, L: np.void, ins: tuple[int, int, int],
              outs: tuple[int, int, int], dilated: bool) -> tuple[int, ...]:
    fh, fw = int(L["filter_h"]), int(L["filter_w"])
    sh, sw = int(L["stride_h"]), int(L["stride_w"])
    dh, dw = (int(L["dilation_h"]), int(L["dilation_w"])) if dilated else (1, 1)
    oh, ow = outs[0], outs[1]
    if int(L["padding"]) == CnnPadding.SAME:
        pt = pad_before(ins[0], oh, fh, sh, dh)
        pl = pad_before(ins[1], ow, fw, sw, dw)
    else:
        pt = pl = 0
    return fh, fw, sh, sw, dh, dw, oh, ow, pt, pl


def _transpose_conv_sums(cnn: CnnData, L: np.void, v: np.ndarray, ins: tuple[int, int, int],
                         outs: tuple[int, int, int]) -> np.ndarray:
    """TRANSPOSE_CONV's sums as TFLite's kernel makes them: each input value ``v`` (x - zp)
    times each filter tap, added into output (i * stride - pad + f) where that is inside;
    the pad is that of a convolution from ``outs`` to ``ins``. (oh, ow, oc), exact."""
    fh, fw, sh, sw = (int(L[k]) for k in ("filter_h", "filter_w", "stride_h", "stride_w"))
    (ih, iw, ic), (oh, ow, oc) = ins, outs
    pt, pl = pad_before(oh, ih, fh, sh), pad_before(ow, iw, fw, sw)
    w0 = int(L["weights_offset"])
    w = cnn.weights[w0:w0 + oc * fh * fw * ic].astype(I64).reshape(oc, fh, fw, ic)
    contrib = np.einsum("hwi,oyxi->yxhwo", v, w)  # (fh, fw, ih, iw, oc)
    canvas = np.zeros((max((ih - 1) * sh + fh, pt + oh), max((iw - 1) * sw + fw, pl + ow), oc),
                      dtype=I64)
    for fy in range(fh):
        for fx in range(fw):
            canvas[fy:fy + (ih - 1) * sh + 1:sh, fx:fx + (iw - 1) * sw + 1:sw] += contrib[fy, fx]
    return canvas[pt:pt + oh, pl:pl + ow]


def _run_layer(cnn: CnnData, i: int, values: dict[int, np.ndarray]) -> np.ndarray:
    L = cnn.layers[i]
    op = CnnOp(int(L["op"]))
    in0, out = int(L["in0"]), int(L["out"])
    ins, outs = cnn.shape(in0), cnn.shape(out)
    x = values[in0].reshape(ins).astype(I64)
    zp_in = int(cnn.tensors[in0]["zero_point"])
    zp_out = int(cnn.tensors[out]["zero_point"])
    lo, hi = int(L["act_min"]), int(L["act_max"])
    q0 = int(L["qparams_offset"])
    q = cnn.qparams.astype(I64)
    oc = outs[2]
    if op in (CnnOp.CONV_2D, CnnOp.DEPTHWISE_CONV_2D, CnnOp.FULLY_CONNECTED,
              CnnOp.TRANSPOSE_CONV):
        bias, mult, shift = q[q0:q0 + oc], q[q0 + oc:q0 + 2 * oc], q[q0 + 2 * oc:q0 + 3 * oc]
        w0 = int(L["weights_offset"])
        if op == CnnOp.FULLY_CONNECTED:
            n = math.prod(ins)
            w = cnn.weights[w0:w0 + oc * n].astype(I64).reshape(oc, n)
            acc = wrap32(w @ (x.reshape(-1) - zp_in) + bias)
            scale = cnn.qparams[q0 + oc:q0 + 3 * oc].astype("<i4").view("<f8")
            y = wrap32(scale_round(acc, scale) + zp_out)
            return np.clip(y, lo, hi).reshape(1, 1, oc)
        elif op == CnnOp.TRANSPOSE_CONV:
            acc = _transpose_conv_sums(cnn, L, x - zp_in, ins, outs)
        else:
            fh, fw, sh, sw, dh, dw, oh, ow, pt, pl = _geometry(cnn, L, ins, outs, True)
            taps, _ = _windows(x - zp_in, 0, fh, fw, sh, sw, dh, dw, oh, ow, pt, pl)
            if op == CnnOp.CONV_2D:
                w = cnn.weights[w0:w0 + oc * fh * fw * ins[2]].astype(I64).reshape(
                    oc, fh, fw, ins[2])
                acc = np.einsum("yxhwi,oyxi->hwo", taps, w)
            else:
                w = cnn.weights[w0:w0 + fh * fw * oc].astype(I64).reshape(fh, fw, oc)
                dm = oc // ins[2]
                taps = np.repeat(taps, dm, axis=-1)  # output channel o reads o // dm
                acc = np.einsum("yxhwo,yxo->hwo", taps, w)
        acc = wrap32(acc + bias)
        y = wrap32(mbqm(acc, mult, shift) + zp_out)  # the zero point add wraps too
        return np.clip(y, lo, hi)
    if op in (CnnOp.MAX_POOL_2D, CnnOp.AVERAGE_POOL_2D):
        fh, fw, sh, sw, dh, dw, oh, ow, pt, pl = _geometry(cnn, L, ins, outs, False)
        if op == CnnOp.MAX_POOL_2D:
            taps, _ = _windows(x, -1 << 20, fh, fw, sh, sw, 1, 1, oh, ow, pt, pl)
            y = taps.max(axis=(0, 1))
        else:
            taps, valid = _windows(x, 0, fh, fw, sh, sw, 1, 1, oh, ow, pt, pl)
            total = taps.sum(axis=(0, 1))
            count = valid.sum(axis=(0, 1)).astype(I64)[:, :, None]
            half = count // 2
            y = np.where(total > 0, (total + half) // count, -((-(total - half)) // count))
        return np.clip(y, lo, hi)
    if op == CnnOp.MEAN:
        n = ins[0] * ins[1]
        total = x.reshape(n, ins[2]).sum(axis=0)
        y = wrap32(mbqm(wrap32(total - zp_in * n), q[q0], q[q0 + 1]) + zp_out)
        return np.clip(y, -128, 127).reshape(1, 1, oc)
    if op == CnnOp.PAD:
        y = np.full(outs, zp_out, dtype=I64)
        ph, pw, pc = int(L["pad_h"]), int(L["pad_w"]), int(L["pad_c"])
        y[ph:ph + ins[0], pw:pw + ins[1], pc:pc + ins[2]] = x
        return y
    if op in (CnnOp.ADD, CnnOp.SUB, CnnOp.MUL, CnnOp.MAXIMUM, CnnOp.MINIMUM):
        in1 = int(L["in1"])
        x2 = values[in1].reshape(cnn.shape(in1)).astype(I64)  # broadcasts (NumPy's rules)
        if op in (CnnOp.MAXIMUM, CnnOp.MINIMUM):  # the raw values, as TFLite compares them
            return (np.maximum if op == CnnOp.MAXIMUM else np.minimum)(x, x2)
        zp2 = int(cnn.tensors[in1]["zero_point"])
        if op == CnnOp.MUL:
            y = wrap32(mbqm((x - zp_in) * (x2 - zp2), q[q0], q[q0 + 1]) + zp_out)
            return np.clip(y, lo, hi)
        left, m1, s1, m2, s2, mo, so = (int(v) for v in q[q0:q0 + 7])
        a = mbqm(wrap32((x - zp_in) << left), m1, s1)
        b = mbqm(wrap32((x2 - zp2) << left), m2, s2)
        y = wrap32(mbqm(wrap32(a - b if op == CnnOp.SUB else a + b), mo, so) + zp_out)
        return np.clip(y, lo, hi)
    if op == CnnOp.SOFTMAX:
        m, left, diff_min = (int(v) for v in q[q0:q0 + 3])
        return softmax_int8(x.reshape(-1, ins[2]), m, left, diff_min).reshape(outs)
    if op == CnnOp.CONCATENATION:  # one quantization for all: the values joined as they are
        in1 = int(L["in1"])
        x1 = values[in1].reshape(cnn.shape(in1)).astype(I64)
        return np.concatenate([x, x1], axis=concat_axis(ins, cnn.shape(in1), outs))
    if op == CnnOp.PRELU:  # alpha of every output value in the weights
        m1, s1, m2, s2, alpha_zp = (int(v) for v in q[q0:q0 + 5])
        w0 = int(L["weights_offset"])
        alpha = cnn.weights[w0:w0 + math.prod(outs)].astype(I64).reshape(outs) - alpha_zp
        v = x - zp_in
        y = np.where(v >= 0, mbqm(v, m1, s1), mbqm(v * alpha, m2, s2))
        return np.clip(wrap32(y + zp_out), -128, 127)
    if op in CNN_TABLE_OPS:  # output = table[x + 128]
        w0 = int(L["weights_offset"])
        table = cnn.weights[w0:w0 + CNN_TABLE_SIZE].astype(I64)
        return table[x + 128]
    # RESHAPE: a byte copy
    return x.reshape(outs)


def softmax_int8(x: np.ndarray, multiplier: int, left_shift: int, diff_min: int
                 ) -> np.ndarray:
    """TFLite's reference int8 softmax over the last axis of ``x`` (rows, c).

    A row whose sum of exponentials (Q12.19, wrapped to int32 and read as uint32) is
    2^28 or more, i.e. 2^9 or more, makes TFLite's final rounding shift 32..35 and its
    interpreter aborts (``softmax_sum_beyond_tflite``); that shift done exactly rounds
    every value to 0, so the row is all -128 (docs/cnn.md)."""
    x = np.asarray(x, dtype=I64)
    total, exps, valid = _softmax_sum(x, multiplier, left_shift, diff_min)
    beyond = (total & 0xFFFFFFFF) >= SOFTMAX_SUM_LIMIT
    recip, bits_over_unit = get_reciprocal(total, 12)
    shift = np.where(beyond, 31, bits_over_unit + 31 - 8)  # beyond: masked out below
    y = rdbpot(srdhm(recip, exps), shift) - 128
    return np.where(valid & ~beyond, np.clip(y, -128, 127), -128)


SOFTMAX_SUM_LIMIT = 1 << 28  # 2^9 in Q12.19: TFLite's softmax aborts from here on


def _softmax_sum(x: np.ndarray, multiplier: int, left_shift: int, diff_min: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sum of exps as TFLite's wrapping int32, per row; the exps in Q0.31; which values
    take part) for int8 rows ``x``."""
    diff = x - x.max(axis=-1, keepdims=True)
    valid = diff >= diff_min
    scaled = srdhm(wrap32(diff << left_shift), multiplier)
    exps = exp_on_negative_values(scaled)
    total = wrap32(np.where(valid, rdbpot(exps, 12), 0).sum(axis=-1, keepdims=True))
    return total, exps, valid


def softmax_sum_beyond_tflite(x: npt.ArrayLike, multiplier: int, left_shift: int,
                              diff_min: int) -> np.ndarray:
    """For int8 rows ``x`` (rows, c): True where TFLite's reference softmax aborts (its
    sum of exponentials, read as uint32, is 2^28 or more in Q12.19)."""
    total = _softmax_sum(np.asarray(x, dtype=I64), multiplier, left_shift, diff_min)[0]
    return (total.reshape(-1) & 0xFFFFFFFF) >= SOFTMAX_SUM_LIMIT


# ---------------------------------------------------------------------------- public


def _cnn(blob: bytes | bytearray | memoryview | Blob) -> tuple[Blob, CnnData]:
    model = blob if isinstance(blob, Blob) else read_blob(blob)
    if model.kind != Kind.CNN or model.cnn is None:
        raise ValueError("not an int8 CNN blob (kind 3); use emlml_tools.runtime for "
                         "trees and kNN")
    return model, model.cnn


def predict_int8(blob: bytes | bytearray | memoryview | Blob, x_int8: npt.ArrayLike
                 ) -> np.ndarray:
    """The int8 output tensor (flat, ``n_outputs`` values) for one int8 input (any shape
    with ``n_inputs`` values), or ``(n, n_outputs)`` for ``(n, n_inputs)`` inputs."""
    model, cnn = _cnn(blob)
    x = np.asarray(x_int8)
    if x.dtype.kind not in "iu" or np.any(x < -128) or np.any(x > 127):
        raise ValueError("predict_int8 takes int8 values (-128..127)")
    if x.size == model.n_inputs:
        return _forward(cnn, x.reshape(-1))
    if x.ndim == 2 and x.shape[1] == model.n_inputs:
        return np.stack([_forward(cnn, row) for row in x])
    raise ValueError(f"input has {x.size} values (shape {x.shape}); the model takes "
                     f"{model.n_inputs} per sample")


def _forward(cnn: CnnData, x: np.ndarray) -> np.ndarray:
    values = {cnn.input_tensor: x.astype(I64)}
    for t in np.flatnonzero(cnn.tensors["flags"]):  # constants: their bytes in the weights
        start = int(cnn.tensors[t]["offset"])
        values[int(t)] = cnn.weights[start:start + math.prod(cnn.shape(int(t)))].astype(I64)
    for i in range(cnn.n_layers):
        values[int(cnn.layers[i]["out"])] = _run_layer(cnn, i, values)
    return values[cnn.output_tensor].reshape(-1).astype(np.int8)


def quantize_input(blob: bytes | bytearray | memoryview | Blob, x_float: npt.ArrayLike
                   ) -> np.ndarray:
    """TFLite's QUANTIZE of float input: ``r = round(float32(x) / float32(input_scale))``
    (a float32 division, rounded half away from zero); ``r`` outside int32 becomes
    INT32_MIN (the x86 conversion TFLite ends with); then ``clamp(wrap32(r + zp))``.
    NaN/inf are refused."""
    model, cnn = _cnn(blob)
    return quantize_values(x_float, cnn.input_scale,
                           int(cnn.tensors[cnn.input_tensor]["zero_point"]))


def quantize_values(x_float: npt.ArrayLike, scale: float, zp: int) -> np.ndarray:
    """``quantize_input`` with the scale (rounded to float32) and zero point given."""
    x = np.asarray(x_float, dtype=np.float32)
    if not np.all(np.isfinite(x)):
        raise ValueError("input contains NaN or infinity")
    q = (x / np.float32(scale)).astype(np.float64)  # float32 division
    r = np.sign(q) * np.floor(np.abs(q) + 0.5)  # exact in float64
    inside = (r >= -2.0 ** 31) & (r <= 2.0 ** 31 - 1)
    r = np.where(inside, np.where(inside, r, 0).astype(I64), INT32_MIN)
    return np.clip(wrap32(r + zp), -128, 127).astype(np.int8)


def dequantize_output(blob: bytes | bytearray | memoryview | Blob, q_int8: npt.ArrayLike
                      ) -> np.ndarray:
    """TFLite's DEQUANTIZE: float32(output_scale * (q - zp)), the product in double."""
    model, cnn = _cnn(blob)
    zp = int(cnn.tensors[cnn.output_tensor]["zero_point"])
    q = np.asarray(q_int8).astype(np.float64)
    return (np.float64(np.float32(cnn.output_scale)) * (q - zp)).astype(np.float32)


def predict(blob: bytes | bytearray | memoryview | Blob, x: npt.ArrayLike
            ) -> tuple[int, np.ndarray]:
    """(class, float32 outputs) for one sample: ``x`` float (quantized first) or int8
    (used as is); the class is the first index of the largest int8 output."""
    model, _ = _cnn(blob)
    arr = np.asarray(x)
    q = quantize_input(model, arr) if arr.dtype.kind == "f" else arr
    y = predict_int8(model, q)
    return int(np.argmax(y)), dequantize_output(model, y)
