"""The 256-entry tables of the elementwise int8 ops (docs/FORMAT.md, CNN_LAYERS: LOGISTIC,
TANH, LEAKY_RELU, HARD_SWISH, QUANTIZE, and RELU, RELU6, RELU_N1_TO_1, RELU_0_TO_1 as
operators of their own).

Each of these ops maps one int8 input value to one int8 output value, so the blob stores
TFLite's output for every input value (``table[x + 128]``) and the board looks it up.
Each function here computes that output the way TFLite's reference interpreter
(``OpResolverType.BUILTIN_REF``) does, checked against it on every input value:

- LOGISTIC, TANH: a table TFLite itself builds at Prepare from float32 math
  (``PopulateLookupTable``/``LUTPopulate``): dequantize in float32, the function in
  float32, multiply by ``float32(1 / out_scale)``, round half away from zero, add the zero
  point, clamp. ``expf``/``tanhf`` are computed in double and rounded to float32 (the
  correctly rounded value; glibc's gives the same tables on every scale tried).
- LEAKY_RELU, QUANTIZE (int8 -> int8): TFLite's fixed-point path,
  ``MultiplyByQuantizedMultiplier`` with multipliers from ``QuantizeMultiplier``.
- HARD_SWISH: TFLite's int16 fixed-point reference kernel (``reference_ops::HardSwish``).
- RELU, RELU6, RELU_N1_TO_1, RELU_0_TO_1 (Keras' ``ReLU()`` where the converter cannot
  fuse it into the layer before, e.g. after a Concatenate): TFLite's ``QuantizedReluX``,
  a requantization then a clamp to the activation's range in the output's codes.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from emlml_tools.convert.tflite_cnn import quantize_multiplier, round_half_away
from emlml_tools.runtime.cnn import mbqm, wrap32

F32 = np.float32
_VALUES = np.arange(-128, 128, dtype=np.int64)  # table index i holds input value i - 128


def _saturate_int8(values: np.ndarray) -> np.ndarray:
    return np.clip(values, -128, 127).astype(np.int8)


def _f32_to_int32_x86(v: np.float32) -> int:
    """static_cast<int32_t>(float) as x86 computes it: toward zero; NaN, infinities and
    values outside int32 give INT32_MIN."""
    f = float(v)
    if not math.isfinite(f) or not -2.0 ** 31 <= f < 2.0 ** 31:
        return -(1 << 31)
    return int(f)


def _float_table(in_scale: float, in_zp: int, out_scale: float, out_zp: int,
                 transform: Callable[[np.float32], np.float32]) -> np.ndarray:
    """TFLite's LUTPopulate for int8: every step in float32."""
    inverse_scale = F32(1) / F32(out_scale)
    out = []
    with np.errstate(over="ignore", invalid="ignore"):
        for v in range(-128, 128):
            dequantized = F32(in_scale) * F32(v - in_zp)
            transformed = transform(dequantized)
            product = F32(transformed * inverse_scale)
            rescaled = (F32(round_half_away(float(product))) if math.isfinite(float(product))
                        else product)
            out.append(_f32_to_int32_x86(F32(rescaled + F32(out_zp))))
    return _saturate_int8(np.array(out, dtype=np.int64))


def _expf(x: np.float32) -> np.float32:
    return F32(math.exp(float(x))) if float(x) < 709.0 else F32(np.inf)


def _logistic(x: np.float32) -> np.float32:
    return F32(F32(1) / F32(F32(1) + _expf(F32(-x))))


def _tanh(x: np.float32) -> np.float32:
    return F32(math.tanh(float(x)))


def logistic_table(in_scale: float, in_zp: int, out_scale: float, out_zp: int) -> np.ndarray:
    """LOGISTIC: ``1 / (1 + expf(-x))`` through TFLite's float32 table."""
    return _float_table(in_scale, in_zp, out_scale, out_zp, _logistic)


def tanh_table(in_scale: float, in_zp: int, out_scale: float, out_zp: int) -> np.ndarray:
    """TANH: ``tanhf(x)`` through TFLite's float32 table."""
    return _float_table(in_scale, in_zp, out_scale, out_zp, _tanh)


def _multiplier(real: float, what: str) -> tuple[int, int]:
    """QuantizeMultiplier, refused where MBQM's shifts would leave -31..30."""
    m, s = quantize_multiplier(real)
    if not -31 <= s <= 30:
        raise ValueError(f"{what} rescale factor {real:g} is out of TFLite's range")
    return m, s


def requantize_table(in_scale: float, in_zp: int, out_scale: float, out_zp: int
                     ) -> np.ndarray:
    """QUANTIZE int8 -> int8 (TFLite's Requantize): ``MBQM(x - in.zp, m, s) + out.zp``
    with ``(m, s) = QuantizeMultiplier(double(in.scale) / double(out.scale))``."""
    m, s = _multiplier(float(in_scale) / float(out_scale), "the requantize")
    return _saturate_int8(wrap32(mbqm(_VALUES - in_zp, m, s) + out_zp))


# the float range of each ReLU operator (TFLite's ReluEval, Relu6Eval, Relu1Eval, Relu0to1Eval)
RELU_RANGES = {"RELU": (0.0, math.inf), "RELU6": (0.0, 6.0), "RELU_N1_TO_1": (-1.0, 1.0),
               "RELU_0_TO_1": (0.0, 1.0)}


def _roundf_int(v: np.float32) -> int:
    """static_cast<int32>(roundf(v)) for the finite values a range bound gives."""
    return _f32_to_int32_x86(F32(round_half_away(float(v))))


def relu_table(in_scale: float, in_zp: int, out_scale: float, out_zp: int, op: str
               ) -> np.ndarray:
    """RELU, RELU6, RELU_N1_TO_1, RELU_0_TO_1 as TFLite's QuantizedReluX: ``out.zp +
    MBQM(x - in.zp, m, s)`` with ``(m, s) = QuantizeMultiplier(float32(in.scale /
    out.scale))``, clamped to ``[max(-128, out.zp + roundf(lo / out.scale)), min(127,
    out.zp + roundf(hi / out.scale))]`` (the divisions in float32; no upper bound for
    RELU)."""
    lo, hi = RELU_RANGES[op]
    m, s = _multiplier(float(F32(F32(in_scale) / F32(out_scale))), "the ReLU")
    q_min = max(-128, int(wrap32(np.int64(out_zp + _roundf_int(F32(lo) / F32(out_scale))))))
    q_max = (127 if math.isinf(hi) else
             min(127, int(wrap32(np.int64(out_zp + _roundf_int(F32(hi) / F32(out_scale)))))))
    y = wrap32(mbqm(_VALUES - in_zp, m, s) + out_zp)
    # static_cast<int8_t>: the clamped value, which a bound past int32 (a tiny output
    # scale) can leave outside int8, is cut to its low byte
    return np.minimum(np.maximum(y, q_min), q_max).astype(np.int64).astype(np.int8)


def leaky_relu_table(in_scale: float, in_zp: int, out_scale: float, out_zp: int,
                     alpha: float) -> np.ndarray:
    """LEAKY_RELU (TFLite's QuantizeLeakyRelu): ``x - in.zp`` rescaled by the identity
    multiplier when >= 0, by the alpha one below; the factors are float32 expressions
    (``in.scale * alpha / out.scale``) widened to double for QuantizeMultiplier."""
    if not (math.isfinite(alpha) and alpha >= 0):
        raise ValueError(f"alpha {alpha}; emlml takes a finite alpha >= 0")
    alpha_real = float(F32(F32(F32(in_scale) * F32(alpha)) / F32(out_scale)))
    identity_real = float(F32(F32(in_scale) / F32(out_scale)))
    ma, sa = _multiplier(alpha_real, "the alpha")
    mi, si = _multiplier(identity_real, "the identity")
    x = _VALUES - in_zp
    y = np.where(x >= 0, mbqm(x, mi, si), mbqm(x, ma, sa))
    return _saturate_int8(wrap32(y + out_zp))


# HARD_SWISH: TFLite's reference kernel works on int16 values (gemmlowp's int16 helpers).


def _wrap16(v: int) -> int:
    return ((v + 0x8000) & 0xFFFF) - 0x8000


def _srdhm16(a: int, b: int) -> int:
    """gemmlowp's SaturatingRoundingDoublingHighMul on int16."""
    if a == b == -0x8000:
        return 0x7FFF
    p = a * b
    p += (1 << 14) if p >= 0 else 1 - (1 << 14)
    return _wrap16(-((-p) >> 15) if p < 0 else p >> 15)  # divided by 2^15 toward zero


def _sdhm16(a: int, b: int) -> int:
    """SaturatingDoublingHighMul: as SRDHM without the rounding (toward zero)."""
    if a == b == -0x8000:
        return 0x7FFF
    p = a * b
    return _wrap16(-((-p) >> 15) if p < 0 else p >> 15)


def _rdbpot16(x: int, e: int) -> int:
    """gemmlowp's RoundingDivideByPOT on int16 (the mask of ``e >= 16`` is all ones, as
    the int16 cast of ``2^e - 1`` makes it)."""
    mask = _wrap16((1 << e) - 1)
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return _wrap16((x >> e) + (1 if remainder > threshold else 0))


def _saturating_left_shift16(v: int, amount: int) -> int:
    return max(-0x8000, min(0x7FFF, v * (1 << amount)))


def _int16_multiplier(real: float) -> tuple[int, int]:
    """QuantizeMultiplier, then DownScaleInt32ToInt16Multiplier."""
    m, s = quantize_multiplier(real)
    if m >= (1 << 31) - 1 - (1 << 15):
        return 0x7FFF, s
    return (m + (1 << 15)) >> 16, s


def hard_swish_table(in_scale: float, in_zp: int, out_scale: float, out_zp: int
                     ) -> np.ndarray:
    """HARD_SWISH as TFLite's reference int8 kernel: the input on a "high resolution"
    scale (``x * 2^7``), a "relu-ish" factor in [0, 1] in Q0.15, their product shifted to
    the output scale; every constant a float32 expression as in HardSwishPrepare."""
    hires_input_scale = F32(F32(1.0 / 128.0) * F32(in_scale))
    reluish_scale = F32(F32(3.0) / F32(32768.0))
    out_mult, out_exp = _int16_multiplier(float(F32(hires_input_scale / F32(out_scale))))
    if out_exp > 0:
        raise ValueError("the output scale is too small for the input scale (TFLite's "
                         "HARD_SWISH needs in.scale / 128 / out.scale below 1)")
    rel_mult, rel_exp = _int16_multiplier(float(F32(hires_input_scale / reluish_scale)))
    out = []
    for v in range(-128, 128):
        hires = _wrap16((v - in_zp) * (1 << 7))
        preshift_out = _srdhm16(hires, out_mult)
        reluish = hires
        if rel_exp > 0:
            reluish = _saturating_left_shift16(reluish, rel_exp - 1)
        reluish = _srdhm16(reluish, rel_mult)
        if rel_exp > 0:
            reluish = _saturating_left_shift16(reluish, 1)
        if rel_exp < 0:
            reluish = _rdbpot16(reluish, -rel_exp)
        reluish = _wrap16((reluish + (1 << 15)) >> 1)
        value = _rdbpot16(_sdhm16(reluish, preshift_out), -out_exp)
        out.append(_wrap16(value + out_zp))
    return _saturate_int8(np.array(out, dtype=np.int64))


def binary_constant_table(op: str, x_first: bool, x_q: tuple[float, int], c_q: tuple[float, int],
                          c: int, out_q: tuple[float, int], act: tuple[int, int]) -> np.ndarray:
    """ADD, SUB, MUL, MAXIMUM or MINIMUM of an activation and a constant of one int8 value
    ``c`` (either order: ``x_first``), for every input value: TFLite's int8 kernels
    (``add_params``/``mul_params`` as their Prepare, the runtime's arithmetic), then the
    fused activation range ``act``."""
    from emlml_tools.convert.tflite_cnn import add_params, mul_params

    x = _VALUES
    cv = np.full_like(x, c)
    (s1, z1), (s2, z2) = (x_q, c_q) if x_first else (c_q, x_q)
    a, b = (x, cv) if x_first else (cv, x)
    out_scale, out_zp = out_q
    if op in ("MAXIMUM", "MINIMUM"):  # TFLite compares the raw values
        y = np.maximum(a, b) if op == "MAXIMUM" else np.minimum(a, b)
    elif op == "MUL":
        m, s = mul_params(s1, s2, out_scale)
        y = wrap32(mbqm((a - z1) * (b - z2), m, s) + out_zp)
    else:
        left, m1, sh1, m2, sh2, mo, so = add_params(s1, s2, out_scale)
        va = mbqm(wrap32((a - z1) << left), m1, sh1)
        vb = mbqm(wrap32((b - z2) << left), m2, sh2)
        y = wrap32(mbqm(wrap32(va - vb if op == "SUB" else va + vb), mo, so) + out_zp)
    return np.clip(y, act[0], act[1]).astype(np.int8)
