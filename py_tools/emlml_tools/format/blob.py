"""A whole blob: ``read_blob`` checks the header and section table, then the kind's
sections (trees.py, knn.py, cnn.py), then the arena size; ``Blob`` is what it returns."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

from .boost import BoostData, boost_arena_bytes, check_boost
from .cnn import CnnData, check_cnn
from .header import (
    _HEADER,
    CRC_START,
    HEADER_SIZE,
    MAGIC,
    VERSION_MAX,
    VERSION_MIN,
    BlobError,
    InputType,
    Kind,
    SectionEntry,
    SectionId,
    Task,
    check_header,
    check_meta,
    check_table,
    clamp_u32,
)
from .knn import KnnData, check_knn, knn_arena_bytes
from .pipeline import PipelineData, check_pipeline, pipeline_arena_bytes
from .trees import TreeData, check_trees, trees_arena_bytes


@dataclass(frozen=True)
class Blob:
    version: int
    kind: Kind
    total_size: int
    crc32: int
    n_sections: int
    header_size: int
    task: Task
    input_type: InputType
    flags: int
    n_inputs: int
    n_outputs: int
    arena_bytes: int
    sections: tuple[SectionEntry, ...]
    trees: TreeData | None = None
    knn: KnnData | None = None
    cnn: CnnData | None = None
    pipeline: PipelineData | None = None  # feature steps: n_inputs is then the window
    boost: BoostData | None = None
    producer: str | None = None
    labels: list[str] = field(default_factory=list)
    input_shape: tuple[int, ...] | None = None
    name: str | None = None

    @property
    def is_classifier(self) -> bool:
        return self.task == Task.CLASSIFIER

    def section(self, section_id: int) -> SectionEntry | None:
        for entry in self.sections:
            if entry.id == section_id:
                return entry
        return None


def read_blob(data: bytes | bytearray | memoryview, sound: bool = True) -> Blob:
    """Parse and check a blob; raise ``BlobError`` (a ``ValueError``) on the first failed check.
    ``sound=False`` checks it as a build without the sound steps (EMLML_WITH_SOUND 0).

    The arrays in the result are read-only views of (a copy of) ``data``.
    """
    data = bytes(data)
    size = len(data)
    if size < HEADER_SIZE:
        raise BlobError("EMLML_E_SHORT", size)
    (magic, version, kind, total, crc, n_sections, header_size, task, input_type, flags,
     n_inputs, n_outputs, arena, reserved) = _HEADER.unpack_from(data, 0)
    if magic != MAGIC:
        raise BlobError("EMLML_E_MAGIC")
    if not VERSION_MIN <= version <= VERSION_MAX:
        raise BlobError("EMLML_E_VERSION", version)
    if total > size:
        raise BlobError("EMLML_E_TRUNCATED", total, clamp_u32(size))
    if total < size:
        raise BlobError("EMLML_E_TRAILING", total, clamp_u32(size))
    if zlib.crc32(data[CRC_START:total]) & 0xFFFFFFFF != crc:
        raise BlobError("EMLML_E_CRC")
    check_header(kind, n_sections, header_size, task, input_type, flags, n_inputs,
                  n_outputs, reserved)
    kind, task = Kind(kind), Task(task)
    entries = check_table(data, n_sections, kind)
    by_id = {e.id: e for e in entries}
    producer, labels, input_shape, name = check_meta(data, by_id.get(SectionId.META), task,
                                                      n_outputs)
    pipeline = check_pipeline(data, by_id, kind, input_type, n_inputs, sound)
    n_features = n_inputs if pipeline is None else pipeline.n_features  # what the family reads
    trees = knn = cnn = boost = None
    if kind == Kind.BOOST:
        boost = check_boost(data, by_id, task, input_type, n_features, n_outputs)
        need = boost_arena_bytes(n_features, n_outputs)
    elif kind == Kind.TREES:
        trees = check_trees(data, by_id, task, input_type, n_features, n_outputs)
        need = trees_arena_bytes(n_features, n_outputs)
    elif kind == Kind.KNN:
        knn = check_knn(data, by_id, task, n_features, n_outputs)
        need = knn_arena_bytes(n_features, n_outputs, knn.k, knn.distances)
    else:
        cnn = check_cnn(data, by_id, task, input_type, n_features, n_outputs,
                        steps=pipeline is not None)
        need = cnn.arena_bytes(n_outputs)
    if pipeline is not None:
        need = clamp_u32(need + pipeline_arena_bytes(pipeline.width, pipeline.scratch))
    if arena != need:
        raise BlobError("EMLML_E_ARENA", arena, need)
    return Blob(version=version, kind=kind, total_size=total, crc32=crc, n_sections=n_sections,
                header_size=header_size, task=task, input_type=InputType(input_type),
                flags=flags, n_inputs=n_inputs, n_outputs=n_outputs, arena_bytes=arena,
                sections=tuple(entries), trees=trees, knn=knn, cnn=cnn, boost=boost,
                pipeline=pipeline, producer=producer,
                labels=labels, input_shape=input_shape, name=name)
