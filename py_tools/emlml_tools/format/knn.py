"""kNN (kind 2, docs/FORMAT.md "kNN"): KNN_PARAMS, the writer and the checked reader of
the samples, quantization and targets, in the order the C loader checks."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from . import c_tables as C
from .header import (
    _C_TYPE_NAMES,
    _KNN_PARAMS,
    KNN_PARAMS_SIZE,
    MAX_K,
    BlobError,
    Kind,
    SectionEntry,
    SectionId,
    Task,
    exact_section,
    section_view,
    write_blob,
)

Metric = IntEnum("Metric", C.KNN_METRICS)
Weights = IntEnum("Weights", C.KNN_WEIGHTS)
SampleType = IntEnum("SampleType", {_C_TYPE_NAMES[k]: v for k, v in C.KNN_SAMPLE_TYPES.items()})
Distances = IntEnum("Distances", C.KNN_DISTANCES)

SAMPLE_DTYPES: dict[SampleType, np.dtype] = {
    SampleType.FLOAT32: np.dtype("<f4"),
    SampleType.INT8: np.dtype("i1"),
    SampleType.INT16: np.dtype("<i2"),
}

SAMPLE_TYPE_NAMES = {"float32": SampleType.FLOAT32, "int8": SampleType.INT8,
                     "int16": SampleType.INT16}
DISTANCES_NAMES = {"float32": Distances.FLOAT32, "integer": Distances.INTEGER}

# Integer distances: the shared scale lies in [2^-L, 2^L] (float32 bit patterns).
_SCALE_BITS_LOWEST = (127 - C.KNN_SCALE_LOG2_MAX) << 23
_SCALE_BITS_HIGHEST = (127 + C.KNN_SCALE_LOG2_MAX) << 23

@dataclass(frozen=True)
class KnnData:
    k: int
    n_samples: int
    metric: Metric
    weights: Weights
    sample_type: SampleType
    samples: np.ndarray  # (n_samples, n_inputs) of the sample type
    scale: npt.NDArray[np.float32] | None  # (n_inputs,), integer samples only
    offset: npt.NDArray[np.float32] | None
    targets: np.ndarray  # u16 class indices or float32 values, (n_samples,)
    distances: Distances = Distances.FLOAT32


def knn_arena_bytes(n_inputs: int, n_outputs: int, k: int,
                    distances: int = Distances.FLOAT32) -> int:
    """Query, then per neighbour a distance and an index (float32 distances) or a
    two-word distance, an index and a weight (integer distances), then the outputs."""
    per_neighbour = 16 if distances == Distances.INTEGER else 8
    return 4 * n_inputs + per_neighbour * k + 4 * n_outputs


def knn_blob(*, task: int, input_type: int, n_inputs: int, n_outputs: int, k: int,
             metric: int, weights: int, sample_type: int, samples: np.ndarray,
             targets: np.ndarray, scale: npt.ArrayLike | None = None,
             offset: npt.ArrayLike | None = None, meta: bytes = b"",
             distances: int = Distances.FLOAT32) -> bytes:
    """A kind-2 blob from arrays; ``scale``/``offset`` only with integer samples."""
    samples = np.asarray(samples, dtype=SAMPLE_DTYPES[SampleType(sample_type)])
    n_samples = samples.shape[0]
    target_dtype = "<u2" if task == Task.CLASSIFIER else "<f4"
    sections = [(SectionId.META, meta)] if meta else []
    sections += [
        (SectionId.KNN_PARAMS, _KNN_PARAMS.pack(k, n_samples, metric, weights, sample_type,
                                                distances)),
        (SectionId.KNN_SAMPLES, samples.tobytes()),
    ]
    if scale is not None:
        quant = np.concatenate([np.asarray(scale, "<f4"), np.asarray(offset, "<f4")])
        sections.append((SectionId.KNN_QUANT, quant.tobytes()))
    sections.append((SectionId.KNN_TARGETS, np.asarray(targets, dtype=target_dtype).tobytes()))
    return write_blob(kind=Kind.KNN, task=task, input_type=input_type, n_inputs=n_inputs,
                      n_outputs=n_outputs, arena_bytes=knn_arena_bytes(n_inputs, n_outputs, k, distances),
                      sections=sections)


def check_knn(data: bytes, by_id: dict[int, SectionEntry], task: Task, n_inputs: int,
               n_outputs: int) -> KnnData:
    """Order: KNN_PARAMS present and 12 bytes; k in 1..1024; k <= n_samples (so n_samples
    >= 1); metric; weights; sample_type; distances (0 or 1; integer needs integer
    samples); KNN_SAMPLES and KNN_TARGETS present and sized; KNN_QUANT absent (float32
    samples: an unused id) or present and sized; float32 samples finite (first sample,
    then feature), or scale and offset finite, then (integer distances) one scale in
    [2^-64, 2^64] for every feature; class indices < n_outputs."""
    params_e = exact_section(by_id, SectionId.KNN_PARAMS, KNN_PARAMS_SIZE)
    k, n_samples, metric, weights, sample_type, distances = _KNN_PARAMS.unpack_from(
        data, params_e.offset)
    if not 1 <= k <= MAX_K:
        raise BlobError("EMLML_E_KNN_K_RANGE", k)
    if k > n_samples:
        raise BlobError("EMLML_E_KNN_K_SAMPLES", k, n_samples)
    if metric not in (Metric.EUCLIDEAN, Metric.MANHATTAN):
        raise BlobError("EMLML_E_KNN_METRIC", metric)
    if weights not in (Weights.UNIFORM, Weights.DISTANCE):
        raise BlobError("EMLML_E_KNN_WEIGHTS", weights)
    if sample_type not in SAMPLE_DTYPES:
        raise BlobError("EMLML_E_KNN_SAMPLE_TYPE", sample_type)
    if distances not in (Distances.FLOAT32, Distances.INTEGER):
        raise BlobError("EMLML_E_KNN_DISTANCES", distances)
    if distances == Distances.INTEGER and sample_type == SampleType.FLOAT32:
        raise BlobError("EMLML_E_KNN_INT_FLOAT_SAMPLES")
    sample_type = SampleType(sample_type)
    dtype = SAMPLE_DTYPES[sample_type]
    samples_e = exact_section(by_id, SectionId.KNN_SAMPLES, n_samples * n_inputs * dtype.itemsize)
    targets_e = exact_section(by_id, SectionId.KNN_TARGETS,
                       (2 if task == Task.CLASSIFIER else 4) * n_samples)
    samples = section_view(data, samples_e, dtype, n_samples * n_inputs).reshape(n_samples, n_inputs)
    scale = offset = None
    if sample_type == SampleType.FLOAT32:
        if SectionId.KNN_QUANT in by_id:
            raise BlobError("EMLML_E_SECTION_UNKNOWN", SectionId.KNN_QUANT)
        bad = np.flatnonzero(~np.isfinite(samples).reshape(-1))
        if len(bad):
            s, f = divmod(int(bad[0]), n_inputs)
            raise BlobError("EMLML_E_KNN_NONFINITE", s, f)
    else:
        quant_e = exact_section(by_id, SectionId.KNN_QUANT, 8 * n_inputs)
        quant = section_view(data, quant_e, "<f4", 2 * n_inputs)
        scale, offset = quant[:n_inputs], quant[n_inputs:]
        bad = np.flatnonzero(~(np.isfinite(scale) & np.isfinite(offset)))
        if len(bad):
            raise BlobError("EMLML_E_KNN_QUANT_NONFINITE", int(bad[0]))
        if distances == Distances.INTEGER:
            bits = scale.view("<u4")
            bad = np.flatnonzero((bits != bits[0]) | (bits < _SCALE_BITS_LOWEST)
                                 | (bits > _SCALE_BITS_HIGHEST))
            if len(bad):
                raise BlobError("EMLML_E_KNN_INT_SCALE", int(bad[0]))
    if task == Task.CLASSIFIER:
        targets = section_view(data, targets_e, "<u2", n_samples)
        bad = np.flatnonzero(targets >= n_outputs)
        if len(bad):
            s = int(bad[0])
            raise BlobError("EMLML_E_KNN_CLASS", s, int(targets[s]))
    else:
        targets = section_view(data, targets_e, "<f4", n_samples)
    return KnnData(k=k, n_samples=n_samples, metric=Metric(metric), weights=Weights(weights),
                   sample_type=sample_type, samples=samples, scale=scale, offset=offset,
                   targets=targets, distances=Distances(distances))
