"""Feature steps in NumPy, exactly as docs/FORMAT.md "Pipelines" says: float32, each
value in index order, a PROJECT output summed over its inputs in order from +0.0; the
bits micropython_module/features/emlml_pipeline.c computes. Vectorised over samples only."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from emlml_tools.features import channel_stats, sosfilt_f32, sound, spectrum
from emlml_tools.format import PipelineData, StepOp
from emlml_tools.format.c_format import error_format
from emlml_tools.format.pipeline import step_name, step_shape


class StepError(ValueError):
    """A value a step refuses: the C core's status and message (EMLML_E_STEP_NAN or
    EMLML_E_STEP_INFINITE), for the first refused value of the first sample."""

    def __init__(self, status: str, k: int, op: int, index: int, sample: int) -> None:
        self.status = status
        self.sample = sample
        super().__init__(error_format(status, k, step_name(op), index))


def run(pipe: PipelineData, x: npt.NDArray[np.float32], n_steps: int | None = None
        ) -> npt.NDArray[np.float32]:
    """Steps ``[0, n_steps)`` (default all) on ``(n, n_window)`` float32 windows."""
    y = np.asarray(x, dtype=np.float32)
    for k in range(pipe.n_steps if n_steps is None else n_steps):
        s = pipe.steps[k]
        op, n_in, n_out = StepOp(int(s["op"])), int(s["n_in"]), int(s["n_out"])
        p = pipe.step_params(k)
        _refuse(y, k, op)
        if op == StepOp.SCALE:
            y = (y - p[:n_in]) / p[n_in:]
        elif op == StepOp.AFFINE:
            product = y * p[:n_in]  # a multiply, then an add, never fused
            y = product + p[n_in:]
        elif op == StepOp.STATS:
            y = channel_stats(y, pipe.channels, int(p[0]))
        elif op == StepOp.SPECTRUM:
            y = spectrum(y, pipe.channels, p, step_shape(s))
        elif op == StepOp.SOS:
            y = sosfilt_f32(y, pipe.channels, p)
            _refuse_overflow(y, k, op)
        elif op in (StepOp.MFE, StepOp.MFCC):
            y = sound(y, p)
        else:
            y = _project(y, p[:n_in], p[n_in:].reshape(n_out, n_in))
    return y


def _project(x: np.ndarray, mean: np.ndarray, w: np.ndarray) -> np.ndarray:
    centred = x - mean
    out = np.zeros((len(x), len(w)), dtype=np.float32)
    for i in range(x.shape[1]):  # float32 sum in input order, from +0.0
        out += centred[:, i, None] * w[None, :, i]
    return out


def _refuse_overflow(y: np.ndarray, k: int, op: StepOp) -> None:
    """SOS refuses an output that overflowed float32 (EMLML_E_STEP_OVERFLOW)."""
    bad = ~np.isfinite(y)
    if bad.any():
        sample, index = (int(v) for v in np.argwhere(bad)[0])
        raise StepError("EMLML_E_STEP_OVERFLOW", k, int(op), index, sample)


def _refuse(y: np.ndarray, k: int, op: StepOp) -> None:
    """SCALE and AFFINE pass NaN and refuse infinity; the other steps refuse both."""
    bad = np.isinf(y) if op in (StepOp.SCALE, StepOp.AFFINE) else ~np.isfinite(y)
    if bad.any():
        sample, index = (int(v) for v in np.argwhere(bad)[0])
        status = "EMLML_E_STEP_NAN" if np.isnan(y[sample, index]) else "EMLML_E_STEP_INFINITE"
        raise StepError(status, k, int(op), index, sample)
