"""float32 building blocks the feature steps share with the C core
(micropython_module/features/emlml_dsp.c): the same operations in the same order, so
the board and the host agree to the bit."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

_F = np.float32


def log_f32(x: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """Natural logarithm of float32 ``x > 0`` with the C core's own float32 operations
    (features/emlml_pipeline.c: log_f32, fdlibm's logf reduction and polynomial), so the
    board and the host agree to the bit; within 2 ulp of ``np.log``. Infinity stays."""
    x = np.asarray(x, dtype=np.float32)
    bits = x.view(np.uint32)
    e = (bits >> 23).astype(np.int32) - 127
    m_bits = (bits & np.uint32(0x007FFFFF)) | np.uint32(0x3F800000)
    high = m_bits > np.uint32(0x3FB504F3)
    m_bits = np.where(high, m_bits - np.uint32(0x00800000), m_bits).astype(np.uint32)
    e = e + high.astype(np.int32)
    f = m_bits.view(np.float32) - _F(1)
    s = f / (_F(2) + f)
    z = s * s
    r = z * (_F(0.66666662693) + z * (_F(0.40000972152) + z * (_F(0.28498786688) + z * _F(0.24279078841))))
    hfsq = _F(0.5) * f * f
    k = e.astype(np.float32)
    out = k * _F(6.9313812256e-01) - ((hfsq - (s * (hfsq + r) + k * _F(9.0580006145e-06))) - f)
    return np.where(np.isfinite(x), out, x).astype(np.float32)


def _bit_reverse(h: int) -> npt.NDArray[np.intp]:
    """The bit reversal of log2(h) bits of each index m < h."""
    r = np.zeros(1, dtype=np.intp)
    while len(r) < h:
        r = np.concatenate([2 * r, 2 * r + 1])
    return r


def _trivial_stages(zr: npt.NDArray[np.float32], zi: npt.NDArray[np.float32]) -> None:
    """Stages of sizes 2 and 4 (twiddles 1 and -i) in place, h >= 4, as emlml_dsp.c's
    trivial_stages."""
    h = zr.shape[-1]
    gr = zr.reshape(*zr.shape[:-1], h // 4, 4)
    gi = zi.reshape(*zi.shape[:-1], h // 4, 4)
    r0, i0 = gr[..., 0] + gr[..., 1], gi[..., 0] + gi[..., 1]
    r1, i1 = gr[..., 0] - gr[..., 1], gi[..., 0] - gi[..., 1]
    r2, i2 = gr[..., 2] + gr[..., 3], gi[..., 2] + gi[..., 3]
    r3, i3 = gr[..., 2] - gr[..., 3], gi[..., 2] - gi[..., 3]
    gr[..., 0], gi[..., 0] = r0 + r2, i0 + i2
    gr[..., 2], gi[..., 2] = r0 - r2, i0 - i2
    gr[..., 1], gi[..., 1] = r1 + i3, i1 - r3
    gr[..., 3], gi[..., 3] = r1 - i3, i1 + r3


def _twiddled_stages(zr: npt.NDArray[np.float32], zi: npt.NDArray[np.float32], size: int,
                     cosine: npt.NDArray[np.float32], sine: npt.NDArray[np.float32]) -> None:
    """Stages of sizes size .. h in place, as emlml_dsp.c's twiddled_stages."""
    h = zr.shape[-1]
    while size <= h:
        half = size // 2
        j = np.arange(half) * (2 * h // size)
        wr, wi = cosine[j], sine[j]
        gr = zr.reshape(*zr.shape[:-1], h // size, 2, half)
        gi = zi.reshape(*zi.shape[:-1], h // size, 2, half)
        ar, ai, br, bi = gr[..., 0, :], gi[..., 0, :], gr[..., 1, :], gi[..., 1, :]
        tr = wr * br + wi * bi
        ti = wr * bi - wi * br
        gr[..., 1, :], gi[..., 1, :], gr[..., 0, :], gi[..., 0, :] = ar - tr, ai - ti, ar + tr, ai + ti
        size *= 2


def _split_real(zr: npt.NDArray[np.float32], zi: npt.NDArray[np.float32],
                cosine: npt.NDArray[np.float32], sine: npt.NDArray[np.float32]
                ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Bins 0 .. h from Z, as emlml_dsp.c's split_real."""
    h = zr.shape[-1]
    re = np.empty((*zr.shape[:-1], h + 1), np.float32)
    im = np.empty_like(re)
    k = np.arange(1, h // 2)
    j = h - k
    half = _F(0.5)
    even_r, even_i = half * (zr[..., k] + zr[..., j]), half * (zi[..., k] - zi[..., j])
    odd_r, odd_i = half * (zi[..., k] + zi[..., j]), half * (zr[..., j] - zr[..., k])
    tr = cosine[k] * odd_r + sine[k] * odd_i
    ti = cosine[k] * odd_i - sine[k] * odd_r
    re[..., k], im[..., k] = even_r + tr, even_i + ti
    re[..., j], im[..., j] = even_r - tr, ti - even_i
    if h >= 2:
        re[..., h // 2], im[..., h // 2] = zr[..., h // 2], -zi[..., h // 2]
    re[..., 0], re[..., h] = zr[..., 0] + zi[..., 0], zr[..., 0] - zi[..., 0]
    im[..., 0] = im[..., h] = 0
    return re, im


def fft_real(x: npt.ArrayLike, cosine: npt.ArrayLike, sine: npt.ArrayLike
             ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """The C core's FFT (emlml_fft_real): ``(..., n)`` float32 real values, ``n`` a power
    of two, ``cosine``/``sine`` the float32 cos and sin of ``2 pi k / n``, ``k < n / 2``
    -> the real and imaginary parts of bins ``0 .. n / 2`` of ``sum_t x_t e^(-2 pi i k t / n)``,
    each ``(..., n / 2 + 1)``, with the C core's float32 operations in its order: the
    ``n / 2``-point complex FFT (radix 2, decimation in time) of ``x_2m + i x_2m+1``, then
    the split into the bins of the real values."""
    x = np.asarray(x, dtype=np.float32)
    cosine = np.asarray(cosine, dtype=np.float32)
    sine = np.asarray(sine, dtype=np.float32)
    h = x.shape[-1] // 2
    order = _bit_reverse(h)
    zr = np.empty((*x.shape[:-1], h), np.float32)
    zi = np.empty_like(zr)
    zr[..., order], zi[..., order] = x[..., 0::2], x[..., 1::2]
    if h >= 4:
        _trivial_stages(zr, zi)
    _twiddled_stages(zr, zi, 8 if h >= 4 else 2, cosine, sine)  # h = 2: the table's cos 0, sin 0
    return _split_real(zr, zi, cosine, sine)
