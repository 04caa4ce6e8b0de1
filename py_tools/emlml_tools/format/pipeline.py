"""Feature steps in front of a model (docs/FORMAT.md "Pipelines"): PIPE_HEAD, PIPE_STEPS,
PIPE_PARAMS, the writer and the checked reader, in the order the C loader
(micropython_module/features/emlml_pipeline.c) checks. They go with every kind."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import Sequence

import numpy as np
import numpy.typing as npt

from . import c_tables as C
from .header import (
    HEADER_DTYPE,
    BlobError,
    InputType,
    Kind,
    SectionEntry,
    SectionId,
    clamp_u32,
    exact_section,
    section_table,
    section_view,
    sized_section,
    write_blob,
)

StepOp = IntEnum("StepOp", C.STEP_OPS)
MAX_STEPS = C.PIPE_MAX_STEPS
HEAD_SIZE = 8
STEP_DTYPE = np.dtype([("op", "u1"), ("reserved", "V3"), ("n_in", "<u4"), ("n_out", "<u4"),
                       ("params", "<u4")])
HEAD_DTYPE = np.dtype([("n_run", "<u2"), ("channels", "<u2"), ("sample_rate", "<f4")])
_HEAD = struct.Struct("<HHf")
PER_VALUE_OPS = (StepOp.SCALE, StepOp.AFFINE)
SAME_SIZE_OPS = PER_VALUE_OPS + (StepOp.SOS,)
# SPECTRUM's byte 1 (reserved for the other ops): a STATS mask of its shape statistics.
SPECTRUM_SHAPE_STATS = (1 << C.STATS["SKEW"]) | (1 << C.STATS["KURTOSIS"])
SOS_COEFFS = 5
SOUND_OPS = (StepOp.MFE, StepOp.MFCC)
SOUND_HEAD = 8  # emlml_mfcc.h: EMLML_SOUND_HEAD
PIPE_SECTIONS = (SectionId.PIPE_HEAD, SectionId.PIPE_STEPS, SectionId.PIPE_PARAMS)
assert STEP_DTYPE.itemsize == 16 and _HEAD.size == HEAD_DTYPE.itemsize == HEAD_SIZE


def step_name(op: int) -> int:
    """The %N number of a known op (EMLML_NAME_STEP_*)."""
    return C.FIELD_NAMES.index("SCALE") + op - 1


@dataclass(frozen=True)
class Step:
    """One step as the writer takes it: ``params`` are its float32 values in the order
    FORMAT.md gives (SCALE: a then b; AFFINE: a then b; PROJECT: mean then the
    ``n_out x n_in`` matrix, row-major); ``name`` says what it came from (inspect)."""
    op: StepOp
    n_in: int
    n_out: int
    params: npt.NDArray[np.float32]
    name: str = ""
    shape: int = 0  # SPECTRUM: the STATS mask of its shape statistics (byte 1)


@dataclass(frozen=True)
class PipelineData:
    steps: np.ndarray  # STEP_DTYPE records
    params: npt.NDArray[np.float32]
    n_run: int
    channels: int
    sample_rate: float
    n_window: int
    n_features: int  # what the model family reads: the output of step n_run - 1, or the window

    @property
    def n_steps(self) -> int:
        return len(self.steps)

    @property
    def width(self) -> int:
        return int(self.steps["n_out"].max())

    @property
    def n_transform(self) -> int:
        return int(self.steps[-1]["n_out"])

    @property
    def scratch(self) -> int:
        """Floats of working memory after the two buffers: SPECTRUM's 2 * n, MFE's and
        MFCC's 2 * n_fft + mels."""
        n = [step_scratch(int(s["op"]), int(s["n_in"]), self.channels, self.params[int(s["params"]):])
             for s in self.steps]
        return max(n, default=0)

    def step_params(self, k: int) -> npt.NDArray[np.float32]:
        s = self.steps[k]
        at = int(s["params"])
        count = param_count(int(s["op"]), int(s["n_in"]), int(s["n_out"]), self.channels,
                            step_shape(s), self.params[at:])
        return self.params[at:at + count]


def step_scratch(op: int, n_in: int, channels: int, params: npt.ArrayLike) -> int:
    if op == StepOp.SPECTRUM:
        return 2 * n_in // channels
    if op in SOUND_OPS:
        p = np.asarray(params)
        return 2 * int(p[2]) + int(p[3])
    return 0


def sound_param_count(head: npt.ArrayLike) -> int:
    """MFE's and MFCC's parameters from their (checked) head: the head, the window,
    the twiddles, the filters, the weights, the DCT."""
    frame, _, n_fft, mels, coefs, _, _, weights = (int(v) for v in np.asarray(head)[:SOUND_HEAD])
    return SOUND_HEAD + frame + n_fft + 2 * mels + weights + coefs * mels


def step_shape(s: np.void) -> int:
    """A SPECTRUM step's shape statistics (its byte 1); 0 for the other ops."""
    return bytes(s["reserved"])[0] if int(s["op"]) == StepOp.SPECTRUM else 0


def spectrum_bands(n_out: int, channels: int, shape: int) -> int:
    """SPECTRUM's bands per channel (0 when its outputs leave none: refused)."""
    return max(n_out // channels - bin(shape).count("1"), 0)


def sos_sections(first: float) -> int:
    """An SOS step's section count from its first parameter; 0 when it is not one."""
    whole = 1 <= first <= C.PIPE_MAX_SECTIONS and first == int(first)
    return int(first) if whole else 0


def param_count(op: int, n_in: int, n_out: int, channels: int = 1, shape: int = 0,
                params: npt.ArrayLike | None = None) -> int:
    """Floats step ``op`` reads, ``params`` being those from its first (None: not read).
    SOS's count is in its first parameter (1 when it lies outside PIPE_PARAMS); MFE's
    and MFCC's in their head (their head alone when ``params`` is None)."""
    if op in SOUND_OPS:
        return SOUND_HEAD if params is None else sound_param_count(params)
    if op == StepOp.PROJECT:
        return n_in + n_out * n_in
    if op == StepOp.SPECTRUM:  # one block all channels share (FORMAT.md)
        return 2 * (n_in // channels) + spectrum_bands(n_out, channels, shape) + 2
    if op == StepOp.SOS:
        first = np.asarray(() if params is None else params, dtype=np.float32).reshape(-1)[:1]
        return 1 + SOS_COEFFS * sos_sections(float(first[0])) if len(first) else 1
    return 1 if op == StepOp.STATS else 2 * n_in


STATS_MASK_ALL = (1 << len(C.STATS)) - 1


def pipeline_arena_bytes(width: int, scratch: int = 0) -> int:
    """The steps' two buffers of ``width`` floats and ``scratch`` floats, after the
    family's arena."""
    return 8 * width + 4 * scratch


# ---------------------------------------------------------------------------- writer

def pipeline_sections(steps: Sequence[Step], n_run: int, channels: int = 1,
                      sample_rate: float = 0.0) -> list[tuple[int, bytes]]:
    records = np.zeros(len(steps), dtype=STEP_DTYPE)
    params: list[np.ndarray] = []
    at = 0
    for k, step in enumerate(steps):
        values = np.asarray(step.params, dtype="<f4").reshape(-1)
        records[k] = (int(step.op), bytes([step.shape, 0, 0]), step.n_in, step.n_out, at)
        params.append(values)
        at += len(values)
    return [(SectionId.PIPE_HEAD, _HEAD.pack(n_run, channels, sample_rate)),
            (SectionId.PIPE_STEPS, records.tobytes()),
            (SectionId.PIPE_PARAMS, np.concatenate(params).astype("<f4").tobytes())]


def add_pipeline(blob: bytes, steps: Sequence[Step], n_run: int, channels: int = 1,
                 sample_rate: float = 0.0) -> bytes:
    """A model's blob with feature steps in front: the same sections plus PIPE_*, the
    header's n_inputs the window (the first step's inputs), its input type float32 (a
    window is float32: a CNN's int8 input is then fed by the steps) and its arena the
    family's plus the steps' buffers. Writes what it is given: ``read_blob`` checks."""
    header = np.frombuffer(blob, HEADER_DTYPE, count=1)[0]
    sections = [(e.id, blob[e.offset:e.offset + e.size]) for e in section_table(blob)]
    sections += pipeline_sections(steps, n_run, channels, sample_rate)
    width = max(s.n_out for s in steps)
    scratch = max((step_scratch(s.op, s.n_in, channels, s.params) for s in steps), default=0)
    return write_blob(kind=int(header["kind"]), task=int(header["task"]),
                      input_type=InputType.FLOAT32, n_inputs=steps[0].n_in,
                      n_outputs=int(header["n_outputs"]),
                      arena_bytes=int(header["arena_bytes"]) + pipeline_arena_bytes(width, scratch),
                      sections=sections, version=int(header["version"]))


# ---------------------------------------------------------------------------- reader

def check_pipeline(data: bytes, by_id: dict[int, SectionEntry], kind: Kind, input_type: int,
                   n_window: int, sound: bool = True) -> PipelineData | None:
    """PIPE_* in the C loader's order; None when the blob has none of them. ``sound``:
    the build has the sound steps (EMLML_WITH_SOUND)."""
    if not any(s in by_id for s in PIPE_SECTIONS):
        return None
    head = exact_section(by_id, SectionId.PIPE_HEAD, HEAD_SIZE)
    steps_entry = sized_section(by_id, SectionId.PIPE_STEPS, STEP_DTYPE.itemsize)
    params_entry = sized_section(by_id, SectionId.PIPE_PARAMS, 4)
    if input_type != InputType.FLOAT32:
        raise BlobError("EMLML_E_PIPE_INPUT", input_type)
    n_steps = steps_entry.size // STEP_DTYPE.itemsize
    if n_steps > MAX_STEPS:
        raise BlobError("EMLML_E_PIPE_STEPS", n_steps)
    n_run, channels = struct.unpack_from("<HH", data, head.offset)
    rate = np.frombuffer(data, "<f4", count=1, offset=head.offset + 4)[0]
    if n_run > n_steps:
        raise BlobError("EMLML_E_PIPE_RUN", n_run, n_steps)
    if channels == 0 or n_window % channels:
        raise BlobError("EMLML_E_PIPE_CHANNELS", channels, n_window)
    if not np.isfinite(rate) or rate < 0:
        raise BlobError("EMLML_E_PIPE_RATE")
    n_params = params_entry.size // 4
    params = section_view(data, params_entry, "<f4", n_params)
    bad = np.flatnonzero(~np.isfinite(params))
    if len(bad):
        raise BlobError("EMLML_E_PIPE_PARAM", int(bad[0]))
    steps = section_view(data, steps_entry, STEP_DTYPE, n_steps)
    before, n_features = n_window, n_window
    for k, s in enumerate(steps):
        op, n_in, n_out, at = int(s["op"]), int(s["n_in"]), int(s["n_out"]), int(s["params"])
        _check_step(k, s, before, params, channels, sound)
        if op == StepOp.SCALE:
            zero = np.flatnonzero(params[at + n_in:at + 2 * n_in] == 0)
            if len(zero):
                raise BlobError("EMLML_E_STEP_ZERO", k, step_name(op), int(zero[0]))
        if op == StepOp.STATS:
            _check_stats(k, n_in, n_out, float(params[at]), channels)
        if op == StepOp.SPECTRUM:
            _check_spectrum(k, n_in, n_out, params[at:], channels, step_shape(s))
        if op == StepOp.SOS:
            _check_sos(k, n_in, params[at:], channels)
        if op in SOUND_OPS:
            _check_sound(k, op, n_in, n_out, params, at, channels)
        if k >= n_run and (kind not in (Kind.TREES, Kind.BOOST) or op not in PER_VALUE_OPS):
            family = C.FIELD_NAMES.index("trees") + kind - Kind.TREES
            raise BlobError("EMLML_E_STEP_FOLD", k, step_name(op), family)
        if k + 1 == n_run:
            n_features = n_out
        before = n_out
    return PipelineData(steps=steps, params=params, n_run=n_run, channels=channels,
                        sample_rate=float(rate), n_window=n_window, n_features=n_features)


def _check_stats(k: int, n_in: int, n_out: int, mask: float, channels: int) -> None:
    name = step_name(StepOp.STATS)
    if not (1 <= mask <= STATS_MASK_ALL and mask == int(mask)):
        raise BlobError("EMLML_E_STEP_PARAM", k, name, 0)
    if n_in % channels:
        raise BlobError("EMLML_E_STEP_CHANNELS", k, name, n_in, channels)
    if n_out != channels * bin(int(mask)).count("1"):
        raise BlobError("EMLML_E_STEP_OUTPUTS", k, name, n_out, n_in)


def _check_sos(k: int, n_in: int, p: np.ndarray, channels: int) -> None:
    from emlml_tools.features.filters import unstable_param

    name = step_name(StepOp.SOS)
    if not sos_sections(float(p[0])):
        raise BlobError("EMLML_E_STEP_PARAM", k, name, 0)
    if n_in % channels:
        raise BlobError("EMLML_E_STEP_CHANNELS", k, name, n_in, channels)
    bad = unstable_param(p)
    if bad is not None:
        raise BlobError("EMLML_E_STEP_PARAM", k, name, bad)


def _check_spectrum(k: int, n_in: int, n_out: int, p: np.ndarray, channels: int, shape: int) -> None:
    name = step_name(StepOp.SPECTRUM)
    if n_in % channels or n_out % channels:
        raise BlobError("EMLML_E_STEP_CHANNELS", k, name, n_out if n_in % channels == 0 else n_in,
                        channels)
    n, bands = n_in // channels, spectrum_bands(n_out, channels, shape)
    if bands == 0:
        raise BlobError("EMLML_E_STEP_OUTPUTS", k, name, n_out, n_in)
    if not 2 <= n <= C.PIPE_MAX_FFT or n & (n - 1):
        raise BlobError("EMLML_E_STEP_FFT", k, name, n)
    previous = -1.0
    for b in range(bands + 1):
        edge = float(p[2 * n + b])
        if edge <= previous or edge > n // 2 + 1 or edge != int(edge):
            raise BlobError("EMLML_E_STEP_PARAM", k, name, 2 * n + b)
        previous = edge
    if not p[2 * n + bands + 1] >= np.finfo(np.float32).tiny:
        raise BlobError("EMLML_E_STEP_PARAM", k, name, 2 * n + bands + 1)


def _count(v: float, lo: int, hi: int) -> int:
    """v as an integer in [lo, hi], or -1 (emlml_mfcc.c: as_count)."""
    return int(v) if lo <= v <= hi and v == int(v) else -1


def _sound_head(op: int, n_in: int, p: np.ndarray) -> int:
    """The index of the first bad head value, or SOUND_HEAD (emlml_mfcc.c: bad_head)."""
    frame = _count(p[0], 1, n_in)
    if frame < 0:
        return 0
    if _count(p[1], 1, C.MAX_INPUTS) < 0:
        return 1
    n_fft = _count(p[2], 2, C.PIPE_MAX_FFT)
    if n_fft < 0 or n_fft & (n_fft - 1) or n_fft < frame:
        return 2
    mels = _count(p[3], 1, n_fft // 2 + 1)
    if mels < 0:
        return 3
    mfcc = op == StepOp.MFCC
    if _count(p[4], 1 if mfcc else 0, mels if mfcc else 0) < 0:
        return 4
    if not 0 <= p[5] <= 1:
        return 5
    if not p[6] >= np.finfo(np.float32).tiny:
        return 6
    if _count(p[7], 0, mels * (n_fft // 2 + 1)) < 0:
        return 7
    return SOUND_HEAD


def _check_sound(k: int, op: int, n_in: int, n_out: int, params: np.ndarray, at: int,
                 channels: int) -> None:
    """MFE and MFCC in emlml_sound_check's order; their head is within the parameters."""
    name = step_name(op)
    p = params[at:]
    if channels != 1:
        raise BlobError("EMLML_E_STEP_MONO", k, name, channels)
    bad = _sound_head(op, n_in, p)
    if bad != SOUND_HEAD:
        raise BlobError("EMLML_E_STEP_PARAM", k, name, bad)
    count = sound_param_count(p)
    if count > len(p):
        raise BlobError("EMLML_E_STEP_PARAMS", k, name, clamp_u32(at + count), len(params))
    frame, hop, n_fft, mels, coefs, weights = (int(v) for v in p[[0, 1, 2, 3, 4, 7]])
    if n_out != (1 + (n_in - frame) // hop) * (coefs or mels):
        raise BlobError("EMLML_E_STEP_OUTPUTS", k, name, n_out, n_in)
    bins, i, total = n_fft // 2 + 1, SOUND_HEAD + frame + n_fft, 0
    for _ in range(mels):
        first = _count(p[i], 0, bins)
        if first < 0:
            raise BlobError("EMLML_E_STEP_PARAM", k, name, i)
        if _count(p[i + 1], 0, bins - first) < 0:
            raise BlobError("EMLML_E_STEP_PARAM", k, name, i + 1)
        total += int(p[i + 1])
        i += 2
    if total != weights:
        raise BlobError("EMLML_E_STEP_PARAM", k, name, 7)


def _check_step(k: int, s: np.void, before: int, params: np.ndarray, channels: int,
                sound: bool = True) -> None:
    n_params = len(params)
    op, n_in, n_out, at = int(s["op"]), int(s["n_in"]), int(s["n_out"]), int(s["params"])
    if not 1 <= op <= len(StepOp):
        raise BlobError("EMLML_E_STEP_OP", k, op)
    name = step_name(op)
    if not sound and op in SOUND_OPS:
        raise BlobError("EMLML_E_STEP_NO_SOUND", k, name)
    shape = step_shape(s)
    reserved = bytes(s["reserved"])
    if reserved[0] & ~shape or any(reserved[1:]) or shape & ~SPECTRUM_SHAPE_STATS:
        raise BlobError("EMLML_E_STEP_RESERVED", k, name)
    if n_in != before:
        raise BlobError("EMLML_E_STEP_INPUTS", k, name, n_in, before)
    if not 1 <= n_out <= C.MAX_INPUTS or (op in SAME_SIZE_OPS and n_out != n_in):
        raise BlobError("EMLML_E_STEP_OUTPUTS", k, name, n_out, n_in)
    end = at + param_count(op, n_in, n_out, channels, shape,
                           None if op in SOUND_OPS else params[at:at + 1])
    if end > n_params:
        raise BlobError("EMLML_E_STEP_PARAMS", k, name, clamp_u32(end), n_params)

