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


def _bit_reverse(n: int) -> npt.NDArray[np.int64]:
    bits = n.bit_length() - 1
    return np.array([int(format(t, f"0{bits}b")[::-1], 2) if bits else 0 for t in range(n)])


def fft_real(x: npt.ArrayLike, cosine: npt.ArrayLike, sine: npt.ArrayLike
             ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """The C core's FFT (emlml_fft_real): ``(..., n)`` float32 real values, ``n`` a power
    of two, ``cosine``/``sine`` the float32 cos and sin of ``2 pi k / n``, ``k < n / 2``
    -> the real and imaginary parts of bins ``0 .. n / 2`` of ``sum_t x_t e^(-2 pi i k t / n)``,
    each ``(..., n / 2 + 1)``, with the C core's butterflies in its order."""
    x = np.asarray(x, dtype=np.float32)
    cosine = np.asarray(cosine, dtype=np.float32)
    sine = np.asarray(sine, dtype=np.float32)
    n = x.shape[-1]
    re = np.empty_like(x)
    re[..., _bit_reverse(n)] = x
    im = np.zeros_like(x)
    size = 2
    while size <= n:
        half, step = size // 2, n // size
        a = (np.arange(0, n, size)[:, None] + np.arange(half)[None, :]).reshape(-1)
        b = a + half
        j = np.tile(np.arange(half), n // size)
        wr, wi = cosine[j * step], sine[j * step]
        tr = wr * re[..., b] + wi * im[..., b]
        ti = wr * im[..., b] - wi * re[..., b]
        re_a, im_a = re[..., a], im[..., a]
        re[..., b], im[..., b] = re_a - tr, im_a - ti
        re[..., a], im[..., a] = re_a + tr, im_a + ti
        size *= 2
    return re[..., :n // 2 + 1], im[..., :n // 2 + 1]
