"""The emlml blob, version 1 (docs/FORMAT.md): constants, writer and checked reader.

``read_blob`` runs every load check of FORMAT.md and raises ``BlobError`` (a
``ValueError``) whose message is ``ERRORS[check]`` filled in. Order and wording follow the
C loader (micropython_module/core/emlml_blob.c, emlml_status.c), so a blob with several
faults gets the same message from both:

1. envelope: length >= 48, magic, version, total_size vs buffer length (``truncated``
   when shorter, ``trailing`` when longer), CRC;
2. header fields: header_size, flags and reserved bytes, n_sections, kind, task,
   input_type, n_inputs, n_outputs, a regressor's n_outputs == 1;
3. section table: the table fits, then per entry in table order: size > 0, offset
   4-byte aligned, inside ``[table_end, total_size)``, after the previous section, id
   known and used by the kind, id not seen before;
4. META records (each fits), then the label count;
5. the kind's sections (``_check_trees`` / ``_check_knn`` / ``_check_cnn`` give their
   order);
6. arena_bytes equals what the kind needs.

Tree messages give the tree index and the node index *within that tree*
(``i - roots[t]``).
"""

from __future__ import annotations

import math
import struct
import zlib
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Iterable, Sequence

import numpy as np
import numpy.typing as npt

MAGIC = b"EMLB"
VERSION = 1
VERSION_MIN = 1
VERSION_MAX = 1
HEADER_SIZE = 48
SECTION_ENTRY_SIZE = 12
MAX_SECTIONS = 16
SECTION_ALIGN = 8  # the writer's alignment; the reader requires 4
MAX_INPUTS = 65534
MAX_OUTPUTS = 65535
MAX_TREES = 65535
MAX_K = 1024
LEAF = 0xFFFF  # node.feature of a leaf
KNN_PARAMS_SIZE = 12

_HEADER = struct.Struct("<4sHHIIHHBBHIII12s")
_ENTRY = struct.Struct("<III")
_KNN_PARAMS = struct.Struct("<IIBBBB")
_META_RECORD = struct.Struct("<HH")
assert _HEADER.size == HEADER_SIZE and _KNN_PARAMS.size == KNN_PARAMS_SIZE


class Kind(IntEnum):
    TREES = 1
    KNN = 2
    CNN = 3  # int8 CNN (TensorFlow Lite)
    CNN_INT8 = 3  # an alias of CNN


class Task(IntEnum):
    CLASSIFIER = 0
    REGRESSOR = 1


class InputType(IntEnum):
    FLOAT32 = 0
    INT8 = 1
    UINT8 = 2
    INT16 = 3


class SectionId(IntEnum):
    META = 1
    TREE_ROOTS = 16
    TREE_NODES = 17
    TREE_LEAVES = 18
    KNN_PARAMS = 32
    KNN_SAMPLES = 33
    KNN_QUANT = 34
    KNN_TARGETS = 35
    CNN_PARAMS = 48
    CNN_TENSORS = 49
    CNN_LAYERS = 50
    CNN_WEIGHTS = 51
    CNN_QPARAMS = 52


class MetaTag(IntEnum):
    PRODUCER = 1
    LABEL = 2
    INPUT_SHAPE = 3
    NAME = 4


class Metric(IntEnum):
    EUCLIDEAN = 0
    MANHATTAN = 1


class Weights(IntEnum):
    UNIFORM = 0
    DISTANCE = 1


class SampleType(IntEnum):
    FLOAT32 = 0
    INT8 = 1
    INT16 = 2


INPUT_DTYPES: dict[InputType, np.dtype] = {
    InputType.FLOAT32: np.dtype("<f4"),
    InputType.INT8: np.dtype("i1"),
    InputType.UINT8: np.dtype("u1"),
    InputType.INT16: np.dtype("<i2"),
}
SAMPLE_DTYPES: dict[SampleType, np.dtype] = {
    SampleType.FLOAT32: np.dtype("<f4"),
    SampleType.INT8: np.dtype("i1"),
    SampleType.INT16: np.dtype("<i2"),
}
INPUT_TYPE_NAMES = {"float32": InputType.FLOAT32, "int8": InputType.INT8,
                    "uint8": InputType.UINT8, "int16": InputType.INT16}
SAMPLE_TYPE_NAMES = {"float32": SampleType.FLOAT32, "int8": SampleType.INT8,
                     "int16": SampleType.INT16}
INPUT_TYPECODES = {InputType.FLOAT32: "f", InputType.INT8: "b", InputType.UINT8: "B",
                   InputType.INT16: "h"}

NODE_DTYPE = np.dtype([("key", "<i4"), ("feature", "<u2"), ("right", "<u2")])
assert NODE_DTYPE.itemsize == 8

KIND_NAMES = {Kind.TREES: "trees", Kind.KNN: "kNN", Kind.CNN: "int8 CNN"}
REQUIRED_SECTIONS: dict[Kind, tuple[SectionId, ...]] = {
    Kind.TREES: (SectionId.TREE_ROOTS, SectionId.TREE_NODES, SectionId.TREE_LEAVES),
    Kind.KNN: (SectionId.KNN_PARAMS, SectionId.KNN_SAMPLES, SectionId.KNN_TARGETS),
    Kind.CNN: (SectionId.CNN_PARAMS, SectionId.CNN_TENSORS, SectionId.CNN_LAYERS,
               SectionId.CNN_QPARAMS),
}
ALLOWED_SECTIONS: dict[Kind, frozenset[int]] = {
    Kind.TREES: frozenset({SectionId.META, *REQUIRED_SECTIONS[Kind.TREES]}),
    Kind.KNN: frozenset({SectionId.META, SectionId.KNN_QUANT, *REQUIRED_SECTIONS[Kind.KNN]}),
    Kind.CNN: frozenset({SectionId.META, SectionId.CNN_WEIGHTS, *REQUIRED_SECTIONS[Kind.CNN]}),
}

# One message per check, in check order. The words are those of the C loader
# (micropython_module/core/emlml_status.c); keep the two in step.
ERRORS: dict[str, str] = {
    "short": "truncated: {size} bytes, the header alone needs 48",
    "magic": "bad magic (not an emlml blob)",
    "version": "unsupported version {version} (this build reads 1..1)",
    "truncated": "truncated: header says {total} bytes, buffer has {size}",
    "trailing": "trailing bytes: header says {total} bytes, buffer has {size}",
    "crc": "CRC mismatch",
    "header_size": "header_size {size}, expected 48",
    "reserved": "reserved header bytes or flags are not zero",
    "n_sections": "bad section count {n} (1..16)",
    "kind": "unknown model kind {kind}",
    "task": "unknown task {task}",
    "input_type": "unknown input type {input_type}",
    "n_inputs": "n_inputs {n} out of range (1..65534)",
    "n_outputs": "n_outputs {n} out of range (1..65535)",
    "regressor_outputs": "a regressor has 1 output, the blob says {n}",
    "section_empty": "section {i} is empty",
    "section_align": "section {i} offset {offset} not 4-byte aligned",
    "section_outside": "section {i} outside the blob",
    "section_order": "section {i} overlaps or precedes the one before",
    "section_unknown": "unknown section id {id} for this model kind",
    "section_duplicate": "section id {id} appears twice",
    "meta_overrun": "metadata record at offset {pos} overruns its section",
    "label_count": "{n} labels for {classes} classes",
    "section_missing": "missing section id {id}",
    "section_multiple": "section id {id} size {size} is not a multiple of {unit}",
    "section_size": "section id {id} has {size} bytes, expected {expected}",
    "n_trees": "bad tree count {n} (1..65535)",
    "root": "tree {t}: root {root} out of order or range",
    "leaf_right": "tree {t} node {i}: leaf with a child offset",
    "leaf_index": "tree {t} node {i}: leaf index {key} out of range",
    "vote": "leaf vector {leaf}: vote {vote} above the scale {scale}",
    "feature": "tree {t} node {i}: feature {feature} out of range ({n} inputs)",
    "child": "tree {t} node {i}: child index out of range",
    "k_range": "k {k} out of range (1..1024)",
    "k_samples": "k {k} larger than the {n} samples",
    "metric": "unknown kNN metric {metric}",
    "weights": "unknown kNN weights {weights}",
    "sample_type": "unknown kNN sample type {sample_type}",
    "knn_reserved": "reserved byte of KNN_PARAMS is not zero",
    "sample_nonfinite": "sample {s} feature {f} is not finite",
    "quant_nonfinite": "feature {f}: scale or offset is not finite",
    "class_index": "sample {s}: class index {c} out of range",
    "arena": "arena_bytes {arena}, this model needs {need}",
    # int8 CNN (kind 3), in check order (``_check_cnn``)
    "cnn_header": "a CNN blob has task 0 and input type 1 (int8); this one has task {task}, "
                  "input type {input_type}",
    "cnn_counts": "CNN with {n_tensors} tensors and {n_layers} layers (2..512 tensors, "
                  "1..512 layers)",
    "cnn_io": "CNN input tensor {inp} and output tensor {out}: out of range ({n} tensors) "
              "or the same",
    "cnn_scale": "CNN {which} scale {scale} is not finite and positive",
    "cnn_flags": "CNN flags 0x{flags:02x} or reserved bytes of CNN_PARAMS are not zero",
    "cnn_tensor_shape": "tensor {t}: shape {h}x{w}x{c} has a zero dimension",
    "cnn_tensor_reserved": "tensor {t}: reserved field is not zero",
    "cnn_tensor_zp": "tensor {t}: zero point {zp} out of range (-128..127)",
    "cnn_tensor_arena": "tensor {t}: bytes [{start}, {end}) outside the {arena}-byte tensor arena",
    "cnn_n_inputs": "n_inputs {n}, the input tensor holds {need}",
    "cnn_n_outputs": "n_outputs {n}, the output tensor holds {need}",
    "cnn_op": "layer {i}: unknown op {op}",
    "cnn_tensor_index": "layer {i} ({op}): tensor index {t} out of range ({n} tensors)",
    "cnn_field": "layer {i} ({op}): {field} is {value}, {rule}",
    "cnn_read": "layer {i} ({op}): tensor {t} is read before any layer writes it",
    "cnn_write": "layer {i} ({op}): tensor {t} {problem}",
    "cnn_chain": "layer {i} ({op}): output shape {got} does not chain, expected {expected}",
    "cnn_shape": "layer {i} ({op}): {detail}",
    "cnn_weights": "layer {i} ({op}): weights [{start}, {end}) outside CNN_WEIGHTS "
                   "({size} bytes)",
    "cnn_qparams": "layer {i} ({op}): qparams [{start}, {end}) outside CNN_QPARAMS "
                   "({n} values)",
    "cnn_qvalue": "layer {i} ({op}): {name} {value} out of range ({rule})",
    "cnn_output": "the output tensor {t} is written by no layer",
    "cnn_overlap": "tensors {a} and {b} are live at the same time and share arena bytes",
}


class BlobError(ValueError):
    """A blob refused by ``read_blob``; ``check`` is the key of its message in ``ERRORS``."""

    def __init__(self, check: str, **fields: object) -> None:
        super().__init__(ERRORS[check].format(**fields))
        self.check = check


@dataclass(frozen=True)
class SectionEntry:
    id: int
    offset: int
    size: int


@dataclass(frozen=True)
class TreeData:
    roots: npt.NDArray[np.uint32]  # (n_trees,)
    nodes: np.ndarray  # (n_nodes,) of NODE_DTYPE
    leaves: np.ndarray  # (n_leaves, n_outputs): uint32 votes (classifier) or float32 values

    @property
    def n_trees(self) -> int:
        return len(self.roots)

    @property
    def n_nodes(self) -> int:
        return len(self.nodes)

    @property
    def n_leaves(self) -> int:
        return len(self.leaves)


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


# ---------------------------------------------------------------------------- writer


def _pad(n: int, align: int) -> int:
    return (n + align - 1) // align * align


def trees_arena_bytes(n_inputs: int, n_outputs: int) -> int:
    return 4 * n_inputs + 8 * n_outputs


def vote_scale(n_trees: int) -> int:
    """A classifier leaf's votes are out of this many: floor((2^32 - 1) / n_trees), so the
    sum over all trees fits in 32 bits."""
    return 0xFFFFFFFF // n_trees


def knn_arena_bytes(n_inputs: int, n_outputs: int, k: int) -> int:
    return 4 * n_inputs + 8 * k + 4 * n_outputs


def write_blob(*, kind: int, task: int, input_type: int, n_inputs: int, n_outputs: int,
               arena_bytes: int, sections: Sequence[tuple[int, bytes]],
               version: int = VERSION, flags: int = 0) -> bytes:
    """Header + section table + sections (in the given order, each at an 8-byte aligned
    offset, zero padded; the blob is padded to a multiple of 8) with the CRC filled in.

    Writes what it is given: ``read_blob`` is the place that checks.
    """
    table_end = HEADER_SIZE + SECTION_ENTRY_SIZE * len(sections)
    offset = _pad(table_end, SECTION_ALIGN)
    entries = []
    for section_id, payload in sections:
        entries.append((section_id, offset, len(payload)))
        offset = _pad(offset + len(payload), SECTION_ALIGN)
    total = offset
    out = bytearray(total)
    _HEADER.pack_into(out, 0, MAGIC, version, kind, total, 0, len(sections), HEADER_SIZE,
                      task, input_type, flags, n_inputs, n_outputs, arena_bytes, bytes(12))
    for i, (entry, (_, payload)) in enumerate(zip(entries, sections)):
        _ENTRY.pack_into(out, HEADER_SIZE + SECTION_ENTRY_SIZE * i, *entry)
        out[entry[1]:entry[1] + len(payload)] = payload
    return fix_crc(bytes(out))


def fix_crc(data: bytes) -> bytes:
    """``data`` with the CRC field recomputed over ``[16, total_size)`` (``total_size`` from
    the header, capped at the buffer length). Lets tests reach the checks after the CRC."""
    buf = bytearray(data)
    if len(buf) < 16:
        return bytes(buf)  # no CRC field
    end = min(struct.unpack_from("<I", buf, 8)[0], len(buf))
    struct.pack_into("<I", buf, 12, zlib.crc32(bytes(buf[16:end])) & 0xFFFFFFFF)
    return bytes(buf)


def encode_meta(*, producer: str | None = None, labels: Iterable[str] = (),
                input_shape: Sequence[int] | None = None, name: str | None = None) -> bytes:
    """META records: producer, one label per class, input shape (u16 each), name."""
    records: list[tuple[int, bytes]] = []
    if producer is not None:
        records.append((MetaTag.PRODUCER, producer.encode("utf-8")))
    records.extend((MetaTag.LABEL, label.encode("utf-8")) for label in labels)
    if input_shape is not None:
        records.append((MetaTag.INPUT_SHAPE, struct.pack(f"<{len(input_shape)}H", *input_shape)))
    if name is not None:
        records.append((MetaTag.NAME, name.encode("utf-8")))
    out = bytearray()
    for tag, payload in records:
        if len(payload) > 0xFFFF:
            raise ValueError(f"META record (tag {int(tag)}) is {len(payload)} bytes; the limit "
                             "is 65535: shorten the label, name or producer")
        out += _META_RECORD.pack(tag, len(payload)) + payload
        out += bytes(_pad(len(out), 4) - len(out))
    return bytes(out)


def trees_blob(*, task: int, input_type: int, n_inputs: int, n_outputs: int,
               roots: npt.ArrayLike, nodes: np.ndarray, leaves: npt.ArrayLike,
               meta: bytes = b"") -> bytes:
    """A kind-1 blob from arrays: roots (u32), nodes (NODE_DTYPE), leaves (n_leaves,
    n_outputs): uint32 votes for a classifier, float32 values for a regressor."""
    sections = [(SectionId.META, meta)] if meta else []
    sections += [
        (SectionId.TREE_ROOTS, np.asarray(roots, dtype="<u4").tobytes()),
        (SectionId.TREE_NODES, np.asarray(nodes, dtype=NODE_DTYPE).tobytes()),
        (SectionId.TREE_LEAVES, np.asarray(
            leaves, dtype="<u4" if task == Task.CLASSIFIER else "<f4").tobytes()),
    ]
    return write_blob(kind=Kind.TREES, task=task, input_type=input_type, n_inputs=n_inputs,
                      n_outputs=n_outputs, arena_bytes=trees_arena_bytes(n_inputs, n_outputs),
                      sections=sections)


def knn_blob(*, task: int, input_type: int, n_inputs: int, n_outputs: int, k: int,
             metric: int, weights: int, sample_type: int, samples: np.ndarray,
             targets: np.ndarray, scale: npt.ArrayLike | None = None,
             offset: npt.ArrayLike | None = None, meta: bytes = b"") -> bytes:
    """A kind-2 blob from arrays; ``scale``/``offset`` only with integer samples."""
    samples = np.asarray(samples, dtype=SAMPLE_DTYPES[SampleType(sample_type)])
    n_samples = samples.shape[0]
    target_dtype = "<u2" if task == Task.CLASSIFIER else "<f4"
    sections = [(SectionId.META, meta)] if meta else []
    sections += [
        (SectionId.KNN_PARAMS, _KNN_PARAMS.pack(k, n_samples, metric, weights, sample_type, 0)),
        (SectionId.KNN_SAMPLES, samples.tobytes()),
    ]
    if scale is not None:
        quant = np.concatenate([np.asarray(scale, "<f4"), np.asarray(offset, "<f4")])
        sections.append((SectionId.KNN_QUANT, quant.tobytes()))
    sections.append((SectionId.KNN_TARGETS, np.asarray(targets, dtype=target_dtype).tobytes()))
    return write_blob(kind=Kind.KNN, task=task, input_type=input_type, n_inputs=n_inputs,
                      n_outputs=n_outputs, arena_bytes=knn_arena_bytes(n_inputs, n_outputs, k),
                      sections=sections)


# ---------------------------------------------------------------------------- reader


def read_blob(data: bytes | bytearray | memoryview) -> Blob:
    """Parse and check a blob; raise ``BlobError`` (a ``ValueError``) on the first failed check.

    The arrays in the result are read-only views of (a copy of) ``data``.
    """
    data = bytes(data)
    size = len(data)
    if size < HEADER_SIZE:
        raise BlobError("short", size=size)
    (magic, version, kind, total, crc, n_sections, header_size, task, input_type, flags,
     n_inputs, n_outputs, arena, reserved) = _HEADER.unpack_from(data, 0)
    if magic != MAGIC:
        raise BlobError("magic")
    if not VERSION_MIN <= version <= VERSION_MAX:
        raise BlobError("version", version=version)
    if total > size:
        raise BlobError("truncated", total=total, size=size)
    if total < size:
        raise BlobError("trailing", total=total, size=size)
    if zlib.crc32(data[16:total]) & 0xFFFFFFFF != crc:
        raise BlobError("crc")
    _check_header(kind, n_sections, header_size, task, input_type, flags, n_inputs,
                  n_outputs, reserved)
    kind, task = Kind(kind), Task(task)
    entries = _check_table(data, n_sections, kind)
    by_id = {e.id: e for e in entries}
    producer, labels, input_shape, name = _check_meta(data, by_id.get(SectionId.META), task,
                                                      n_outputs)
    trees = knn = cnn = None
    if kind == Kind.TREES:
        trees = _check_trees(data, by_id, task, n_inputs, n_outputs)
        need = trees_arena_bytes(n_inputs, n_outputs)
    elif kind == Kind.KNN:
        knn = _check_knn(data, by_id, task, n_inputs, n_outputs)
        need = knn_arena_bytes(n_inputs, n_outputs, knn.k)
    else:
        cnn = _check_cnn(data, by_id, task, input_type, n_inputs, n_outputs)
        need = cnn_arena_bytes(cnn.tensor_arena_bytes, n_outputs)
    if arena != need:
        raise BlobError("arena", arena=arena, need=need)
    return Blob(version=version, kind=kind, total_size=total, crc32=crc, n_sections=n_sections,
                header_size=header_size, task=task, input_type=InputType(input_type),
                flags=flags, n_inputs=n_inputs, n_outputs=n_outputs, arena_bytes=arena,
                sections=tuple(entries), trees=trees, knn=knn, cnn=cnn, producer=producer,
                labels=labels, input_shape=input_shape, name=name)


def _check_header(kind: int, n_sections: int, header_size: int, task: int, input_type: int,
                  flags: int, n_inputs: int, n_outputs: int, reserved: bytes) -> None:
    if header_size != HEADER_SIZE:
        raise BlobError("header_size", size=header_size)
    if flags != 0 or any(reserved):
        raise BlobError("reserved")
    if not 1 <= n_sections <= MAX_SECTIONS:
        raise BlobError("n_sections", n=n_sections)
    if kind not in KIND_NAMES:
        raise BlobError("kind", kind=kind)
    if task not in (Task.CLASSIFIER, Task.REGRESSOR):
        raise BlobError("task", task=task)
    if input_type not in INPUT_DTYPES:
        raise BlobError("input_type", input_type=input_type)
    if not 1 <= n_inputs <= MAX_INPUTS:
        raise BlobError("n_inputs", n=n_inputs)
    if not 1 <= n_outputs <= MAX_OUTPUTS:
        raise BlobError("n_outputs", n=n_outputs)
    if task == Task.REGRESSOR and n_outputs != 1:
        raise BlobError("regressor_outputs", n=n_outputs)


def _check_table(data: bytes, n_sections: int, kind: Kind) -> list[SectionEntry]:
    total = len(data)
    table_end = HEADER_SIZE + SECTION_ENTRY_SIZE * n_sections
    if table_end > total:
        raise BlobError("section_outside", i=0)
    entries: list[SectionEntry] = []
    seen: set[int] = set()
    prev_end = table_end
    for i in range(n_sections):
        sid, offset, size = _ENTRY.unpack_from(data, HEADER_SIZE + SECTION_ENTRY_SIZE * i)
        if size == 0:
            raise BlobError("section_empty", i=i)
        if offset % 4:
            raise BlobError("section_align", i=i, offset=offset)
        if offset < table_end or offset + size > total:
            raise BlobError("section_outside", i=i)
        if offset < prev_end:
            raise BlobError("section_order", i=i)
        if sid not in ALLOWED_SECTIONS[kind]:  # unknown ids, and ids of other kinds
            raise BlobError("section_unknown", id=sid)
        if sid in seen:
            raise BlobError("section_duplicate", id=sid)
        seen.add(sid)
        prev_end = offset + size
        entries.append(SectionEntry(sid, offset, size))
    return entries


def _sized(by_id: dict[int, SectionEntry], section_id: SectionId, unit: int) -> SectionEntry:
    """The section, present and a whole number of ``unit``-byte items."""
    entry = by_id.get(section_id)
    if entry is None:
        raise BlobError("section_missing", id=int(section_id))
    if entry.size % unit:
        raise BlobError("section_multiple", id=entry.id, size=entry.size, unit=unit)
    return entry


def _exact(by_id: dict[int, SectionEntry], section_id: SectionId, expected: int
           ) -> SectionEntry:
    """The section, present and exactly ``expected`` bytes long."""
    entry = by_id.get(section_id)
    if entry is None:
        raise BlobError("section_missing", id=int(section_id))
    if entry.size != expected:
        raise BlobError("section_size", id=entry.id, size=entry.size, expected=expected)
    return entry


def _view(data: bytes, entry: SectionEntry, dtype: npt.DTypeLike, count: int) -> np.ndarray:
    return np.frombuffer(data, dtype=dtype, count=count, offset=entry.offset)


def _check_trees(data: bytes, by_id: dict[int, SectionEntry], task: Task, n_inputs: int,
                 n_outputs: int) -> TreeData:
    """Order: TREE_ROOTS, TREE_NODES, TREE_LEAVES each present and a whole number of items;
    tree count; roots (roots[0] == 0, strictly increasing, < n_nodes); then every node of
    every tree in order (leaf: right == 0, then leaf index; split: feature, then child);
    then a classifier's votes (none above vote_scale)."""
    roots_e = _sized(by_id, SectionId.TREE_ROOTS, 4)
    nodes_e = _sized(by_id, SectionId.TREE_NODES, NODE_DTYPE.itemsize)
    leaves_e = _sized(by_id, SectionId.TREE_LEAVES, 4 * n_outputs)
    n_trees = roots_e.size // 4
    n_nodes = nodes_e.size // NODE_DTYPE.itemsize
    n_leaves = leaves_e.size // (4 * n_outputs)
    if not 1 <= n_trees <= MAX_TREES:
        raise BlobError("n_trees", n=n_trees)
    roots = _view(data, roots_e, "<u4", n_trees)
    nodes = _view(data, nodes_e, NODE_DTYPE, n_nodes)
    leaf_dtype = "<u4" if task == Task.CLASSIFIER else "<f4"
    leaves = _view(data, leaves_e, leaf_dtype, n_leaves * n_outputs).reshape(n_leaves, n_outputs)
    lowest = 0
    for t in range(n_trees):
        root = int(roots[t])
        if root >= n_nodes or root < lowest or (t == 0 and root != 0):
            raise BlobError("root", t=t, root=root)
        lowest = root + 1
    starts = roots.astype(np.int64)
    ends = np.append(starts[1:], n_nodes)
    tree_of = np.repeat(np.arange(n_trees), ends - starts)
    index = np.arange(n_nodes, dtype=np.int64)
    key = nodes["key"].astype(np.int64)
    feature = nodes["feature"].astype(np.int64)
    right = nodes["right"].astype(np.int64)
    leaf = feature == LEAF
    bad = np.where(leaf, (right != 0) | (key < 0) | (key >= n_leaves),
                   (feature >= n_inputs) | (right < 1) | (index + right >= ends[tree_of]))
    if bad.any():  # the first bad node, with its first failed check
        i = int(np.argmax(bad))
        t = int(tree_of[i])
        local = i - int(starts[t])
        if leaf[i]:
            if right[i] != 0:
                raise BlobError("leaf_right", t=t, i=local)
            # the key as u32, as the C loader prints it (-1 shows as 4294967295)
            raise BlobError("leaf_index", t=t, i=local, key=int(key[i]) & 0xFFFFFFFF)
        if feature[i] >= n_inputs:
            raise BlobError("feature", t=t, i=local, feature=int(feature[i]), n=n_inputs)
        raise BlobError("child", t=t, i=local)
    if task == Task.CLASSIFIER:
        over = leaves.reshape(-1) > vote_scale(n_trees)
        if over.any():
            i = int(np.argmax(over))
            raise BlobError("vote", leaf=i // n_outputs, vote=int(leaves.reshape(-1)[i]),
                            scale=vote_scale(n_trees))
    return TreeData(roots=roots, nodes=nodes, leaves=leaves)


def _check_knn(data: bytes, by_id: dict[int, SectionEntry], task: Task, n_inputs: int,
               n_outputs: int) -> KnnData:
    """Order: KNN_PARAMS present and 12 bytes; k in 1..1024; k <= n_samples (so n_samples
    >= 1); metric; weights; sample_type; reserved byte; KNN_SAMPLES and KNN_TARGETS present
    and sized; KNN_QUANT absent (float32 samples: an unused id) or present and sized;
    float32 samples finite (first sample, then feature), or scale and offset finite;
    class indices < n_outputs."""
    params_e = _exact(by_id, SectionId.KNN_PARAMS, KNN_PARAMS_SIZE)
    k, n_samples, metric, weights, sample_type, reserved = _KNN_PARAMS.unpack_from(
        data, params_e.offset)
    if not 1 <= k <= MAX_K:
        raise BlobError("k_range", k=k)
    if k > n_samples:
        raise BlobError("k_samples", k=k, n=n_samples)
    if metric not in (Metric.EUCLIDEAN, Metric.MANHATTAN):
        raise BlobError("metric", metric=metric)
    if weights not in (Weights.UNIFORM, Weights.DISTANCE):
        raise BlobError("weights", weights=weights)
    if sample_type not in SAMPLE_DTYPES:
        raise BlobError("sample_type", sample_type=sample_type)
    if reserved != 0:
        raise BlobError("knn_reserved")
    sample_type = SampleType(sample_type)
    dtype = SAMPLE_DTYPES[sample_type]
    samples_e = _exact(by_id, SectionId.KNN_SAMPLES, n_samples * n_inputs * dtype.itemsize)
    targets_e = _exact(by_id, SectionId.KNN_TARGETS,
                       (2 if task == Task.CLASSIFIER else 4) * n_samples)
    samples = _view(data, samples_e, dtype, n_samples * n_inputs).reshape(n_samples, n_inputs)
    scale = offset = None
    if sample_type == SampleType.FLOAT32:
        if SectionId.KNN_QUANT in by_id:
            raise BlobError("section_unknown", id=int(SectionId.KNN_QUANT))
        bad = np.flatnonzero(~np.isfinite(samples).reshape(-1))
        if len(bad):
            s, f = divmod(int(bad[0]), n_inputs)
            raise BlobError("sample_nonfinite", s=s, f=f)
    else:
        quant_e = _exact(by_id, SectionId.KNN_QUANT, 8 * n_inputs)
        quant = _view(data, quant_e, "<f4", 2 * n_inputs)
        scale, offset = quant[:n_inputs], quant[n_inputs:]
        bad = np.flatnonzero(~(np.isfinite(scale) & np.isfinite(offset)))
        if len(bad):
            raise BlobError("quant_nonfinite", f=int(bad[0]))
    if task == Task.CLASSIFIER:
        targets = _view(data, targets_e, "<u2", n_samples)
        bad = np.flatnonzero(targets >= n_outputs)
        if len(bad):
            s = int(bad[0])
            raise BlobError("class_index", s=s, c=int(targets[s]))
    else:
        targets = _view(data, targets_e, "<f4", n_samples)
    return KnnData(k=k, n_samples=n_samples, metric=Metric(metric), weights=Weights(weights),
                   sample_type=sample_type, samples=samples, scale=scale, offset=offset,
                   targets=targets)


def _check_meta(data: bytes, entry: SectionEntry | None, task: Task, n_outputs: int
                ) -> tuple[str | None, list[str], tuple[int, ...] | None, str | None]:
    """Records must fit in the section; 0 labels, or one per class of a classifier."""
    producer = name = None
    input_shape: tuple[int, ...] | None = None
    labels: list[str] = []
    if entry is not None:
        pos, end = entry.offset, entry.offset + entry.size
        while pos < end:
            if pos + _META_RECORD.size > end:
                raise BlobError("meta_overrun", pos=pos - entry.offset)
            tag, length = _META_RECORD.unpack_from(data, pos)
            start = pos + _META_RECORD.size
            if start + length > end:
                raise BlobError("meta_overrun", pos=pos - entry.offset)
            payload = data[start:start + length]
            if tag == MetaTag.PRODUCER:
                producer = payload.decode("utf-8", "replace")
            elif tag == MetaTag.LABEL:
                labels.append(payload.decode("utf-8", "replace"))
            elif tag == MetaTag.INPUT_SHAPE:
                input_shape = struct.unpack(f"<{length // 2}H", payload[:length // 2 * 2])
            elif tag == MetaTag.NAME:
                name = payload.decode("utf-8", "replace")
            pos = start + _pad(length, 4)
    expected = n_outputs if task == Task.CLASSIFIER else 0
    if labels and len(labels) != expected:
        raise BlobError("label_count", n=len(labels), classes=n_outputs)
    return producer, labels, input_shape, name


# ---------------------------------------------------------------------------- int8 CNN


class CnnOp(IntEnum):
    CONV_2D = 1
    DEPTHWISE_CONV_2D = 2
    FULLY_CONNECTED = 3
    MAX_POOL_2D = 4
    AVERAGE_POOL_2D = 5
    MEAN = 6
    PAD = 7
    ADD = 8
    SOFTMAX = 9
    RESHAPE = 10


class CnnPadding(IntEnum):
    VALID = 0
    SAME = 1


CNN_PARAMS_SIZE = 32
CNN_MAX_TENSORS = 512
CNN_MAX_LAYERS = 512
CNN_MAX_DOT = 65536  # products summed per output: keeps |sum (x - zp) * w| inside int32
CNN_MEAN_MAX_CELLS = 1 << 23  # keeps MEAN's int32 sum of raw values from overflowing
CNN_SOFTMAX_MAX_C = 511  # keeps TFLite's final RoundingDivideByPOT exponent <= 31
CNN_FLAG_FLOAT_INPUT = 1
CNN_FLAG_FLOAT_OUTPUT = 2
_CNN_PARAMS = struct.Struct("<HHHHffIB11s")
assert _CNN_PARAMS.size == CNN_PARAMS_SIZE
CNN_TENSOR_DTYPE = np.dtype([("h", "<u2"), ("w", "<u2"), ("c", "<u2"), ("reserved", "<u2"),
                             ("offset", "<u4"), ("zero_point", "<i4")])
CNN_LAYER_DTYPE = np.dtype([
    ("op", "u1"), ("padding", "u1"), ("act_min", "i1"), ("act_max", "i1"),
    ("in0", "<u2"), ("in1", "<u2"), ("out", "<u2"),
    ("stride_h", "u1"), ("stride_w", "u1"), ("dilation_h", "u1"), ("dilation_w", "u1"),
    ("filter_h", "u1"), ("filter_w", "u1"),
    ("pad_h", "<u2"), ("pad_w", "<u2"), ("pad_c", "<u2"), ("reserved", "<u2"),
    ("weights_offset", "<u4"), ("qparams_offset", "<u4")])
assert CNN_TENSOR_DTYPE.itemsize == 16 and CNN_LAYER_DTYPE.itemsize == 32

CNN_SPATIAL_OPS = frozenset({CnnOp.CONV_2D, CnnOp.DEPTHWISE_CONV_2D, CnnOp.MAX_POOL_2D,
                             CnnOp.AVERAGE_POOL_2D})
CNN_WEIGHT_OPS = frozenset({CnnOp.CONV_2D, CnnOp.DEPTHWISE_CONV_2D, CnnOp.FULLY_CONNECTED})
CNN_ACT_OPS = frozenset({*CNN_WEIGHT_OPS, CnnOp.MAX_POOL_2D, CnnOp.AVERAGE_POOL_2D, CnnOp.ADD})
INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1
Q31_LOW = 1 << 30  # a multiplier from QuantizeMultiplier is 0 or in [2^30, 2^31)


@dataclass(frozen=True)
class CnnData:
    """The sections of a kind-3 blob. ``tensors``/``layers`` are arrays of
    ``CNN_TENSOR_DTYPE``/``CNN_LAYER_DTYPE``; ``weights`` int8, ``qparams`` int32."""

    input_tensor: int
    output_tensor: int
    input_scale: float
    output_scale: float
    tensor_arena_bytes: int
    flags: int
    tensors: np.ndarray
    layers: np.ndarray
    weights: npt.NDArray[np.int8]
    qparams: npt.NDArray[np.int32]

    @property
    def n_tensors(self) -> int:
        return len(self.tensors)

    @property
    def n_layers(self) -> int:
        return len(self.layers)

    @property
    def float_input(self) -> bool:
        return bool(self.flags & CNN_FLAG_FLOAT_INPUT)

    @property
    def float_output(self) -> bool:
        return bool(self.flags & CNN_FLAG_FLOAT_OUTPUT)

    def shape(self, t: int) -> tuple[int, int, int]:
        row = self.tensors[t]
        return int(row["h"]), int(row["w"]), int(row["c"])


def align4(n: int) -> int:
    return (n + 3) // 4 * 4


def cnn_arena_bytes(tensor_arena_bytes: int, n_outputs: int) -> int:
    """Header arena_bytes of a CNN: the int8 tensors, then n_outputs float32 outputs."""
    return align4(tensor_arena_bytes) + 4 * n_outputs


def spatial_out_size(padding: int, in_size: int, filter_size: int, stride: int,
                     dilation: int = 1) -> int:
    """TFLite's ComputeOutSize (0 or less: no valid output)."""
    eff = (filter_size - 1) * dilation + 1
    if padding == CnnPadding.SAME:
        return (in_size + stride - 1) // stride
    return (in_size - eff + stride) // stride


def pad_before(in_size: int, out_size: int, filter_size: int, stride: int,
               dilation: int = 1) -> int:
    """TFLite's ComputePadding: half the total padding, rounded down, at least 0."""
    eff = (filter_size - 1) * dilation + 1
    return max((out_size - 1) * stride + eff - in_size, 0) // 2


def cnn_weight_count(op: int, in_shape: tuple[int, int, int], out_shape: tuple[int, int, int],
                     fh: int, fw: int) -> int:
    h, w, c = in_shape
    oc = out_shape[2]
    if op == CnnOp.CONV_2D:
        return oc * fh * fw * c
    if op == CnnOp.DEPTHWISE_CONV_2D:
        return fh * fw * oc
    if op == CnnOp.FULLY_CONNECTED:
        return oc * h * w * c
    return 0


def cnn_qparam_count(op: int, out_c: int) -> int:
    if op in CNN_WEIGHT_OPS:
        return 3 * out_c
    return {CnnOp.MEAN: 2, CnnOp.ADD: 7, CnnOp.SOFTMAX: 3}.get(CnnOp(op), 0)


def cnn_blob(*, input_tensor: int, output_tensor: int, input_scale: float,
             output_scale: float, tensor_arena_bytes: int, flags: int, tensors: np.ndarray,
             layers: np.ndarray, weights: bytes | npt.ArrayLike, qparams: npt.ArrayLike,
             meta: bytes = b"") -> bytes:
    """A kind-3 blob. CNN_WEIGHTS is written only when ``weights`` is not empty; an empty
    ``qparams`` is stored as a single 0 (a section has at least one byte)."""
    tensors = np.asarray(tensors, dtype=CNN_TENSOR_DTYPE)
    layers = np.asarray(layers, dtype=CNN_LAYER_DTYPE)
    wbytes = weights if isinstance(weights, bytes) else np.asarray(weights, "i1").tobytes()
    q = np.asarray(qparams, dtype="<i4").reshape(-1)
    if q.size == 0:
        q = np.zeros(1, dtype="<i4")
    params = _CNN_PARAMS.pack(len(tensors), len(layers), input_tensor, output_tensor,
                              input_scale, output_scale, tensor_arena_bytes, flags, bytes(11))
    sections = [(SectionId.META, meta)] if meta else []
    sections += [(SectionId.CNN_PARAMS, params), (SectionId.CNN_TENSORS, tensors.tobytes()),
                 (SectionId.CNN_LAYERS, layers.tobytes())]
    if wbytes:
        sections.append((SectionId.CNN_WEIGHTS, wbytes))
    sections.append((SectionId.CNN_QPARAMS, q.tobytes()))
    t_in, t_out = tensors[input_tensor], tensors[output_tensor]
    n_inputs = int(t_in["h"]) * int(t_in["w"]) * int(t_in["c"])
    n_outputs = int(t_out["h"]) * int(t_out["w"]) * int(t_out["c"])
    return write_blob(kind=Kind.CNN, task=Task.CLASSIFIER, input_type=InputType.INT8,
                      n_inputs=n_inputs, n_outputs=n_outputs,
                      arena_bytes=cnn_arena_bytes(tensor_arena_bytes, n_outputs),
                      sections=sections)


def _shape_text(shape: tuple[int, int, int]) -> str:
    return "x".join(str(d) for d in shape)


def _check_cnn(data: bytes, by_id: dict[int, SectionEntry], task: int, input_type: int,
               n_inputs: int, n_outputs: int) -> CnnData:
    """Order: task/input type; CNN_PARAMS (size, counts, input/output tensors, scales,
    flags and reserved bytes); CNN_TENSORS and CNN_LAYERS sizes, CNN_QPARAMS a whole number
    of i32; every tensor in index order (shape, reserved, zero point, arena bounds);
    n_inputs and n_outputs; every layer in order (``_check_cnn_layer``); the output tensor is
    written; no two tensors live at the same time share a byte."""
    if task != Task.CLASSIFIER or input_type != InputType.INT8:
        raise BlobError("cnn_header", task=task, input_type=input_type)
    params_e = _exact(by_id, SectionId.CNN_PARAMS, CNN_PARAMS_SIZE)
    (n_tensors, n_layers, inp, out, in_scale, out_scale, arena, flags,
     reserved) = _CNN_PARAMS.unpack_from(data, params_e.offset)
    if not (2 <= n_tensors <= CNN_MAX_TENSORS and 1 <= n_layers <= CNN_MAX_LAYERS):
        raise BlobError("cnn_counts", n_tensors=n_tensors, n_layers=n_layers)
    if inp >= n_tensors or out >= n_tensors or inp == out:
        raise BlobError("cnn_io", inp=inp, out=out, n=n_tensors)
    for which, scale in (("input", in_scale), ("output", out_scale)):
        if not (np.isfinite(scale) and scale > 0):
            raise BlobError("cnn_scale", which=which, scale=scale)
    if flags & ~(CNN_FLAG_FLOAT_INPUT | CNN_FLAG_FLOAT_OUTPUT) or any(reserved):
        raise BlobError("cnn_flags", flags=flags)
    tensors_e = _exact(by_id, SectionId.CNN_TENSORS, 16 * n_tensors)
    layers_e = _exact(by_id, SectionId.CNN_LAYERS, 32 * n_layers)
    qparams_e = _sized(by_id, SectionId.CNN_QPARAMS, 4)
    weights_e = by_id.get(SectionId.CNN_WEIGHTS)
    tensors = _view(data, tensors_e, CNN_TENSOR_DTYPE, n_tensors)
    layers = _view(data, layers_e, CNN_LAYER_DTYPE, n_layers)
    qparams = _view(data, qparams_e, "<i4", qparams_e.size // 4)
    weights = (_view(data, weights_e, "i1", weights_e.size) if weights_e is not None
               else np.zeros(0, dtype="i1"))
    for t in range(n_tensors):
        h, w, c, res, offset, zp = (int(v) for v in tensors[t])
        if h == 0 or w == 0 or c == 0:
            raise BlobError("cnn_tensor_shape", t=t, h=h, w=w, c=c)
        if res:
            raise BlobError("cnn_tensor_reserved", t=t)
        if not -128 <= zp <= 127:
            raise BlobError("cnn_tensor_zp", t=t, zp=zp)
        if offset + h * w * c > arena:
            raise BlobError("cnn_tensor_arena", t=t, start=offset, end=offset + h * w * c,
                            arena=arena)
    cnn = CnnData(input_tensor=inp, output_tensor=out, input_scale=float(in_scale),
                  output_scale=float(out_scale), tensor_arena_bytes=arena, flags=flags,
                  tensors=tensors, layers=layers, weights=weights, qparams=qparams)
    size = [math.prod(cnn.shape(t)) for t in range(n_tensors)]
    if n_inputs != size[inp]:
        raise BlobError("cnn_n_inputs", n=n_inputs, need=size[inp])
    if n_outputs != size[out]:
        raise BlobError("cnn_n_outputs", n=n_outputs, need=size[out])
    written = np.full(n_tensors, -2, dtype=np.int64)  # the layer that writes each tensor
    written[inp] = -1
    last_read = np.full(n_tensors, -2, dtype=np.int64)
    for i in range(n_layers):
        _check_cnn_layer(cnn, i, written, last_read)
    if written[out] < 0:
        raise BlobError("cnn_output", t=out)
    last_read[out] = n_layers
    live = written >= -1
    start = written
    end = np.maximum(last_read, written)
    lo = tensors["offset"].astype(np.int64)
    hi = lo + np.array(size, dtype=np.int64)
    clash = (live[:, None] & live[None, :] & (start[:, None] <= end[None, :])
             & (start[None, :] <= end[:, None]) & (lo[:, None] < hi[None, :])
             & (lo[None, :] < hi[:, None]))
    clash = np.triu(clash, 1)
    if clash.any():
        a, b = (int(v) for v in np.argwhere(clash)[0])
        raise BlobError("cnn_overlap", a=a, b=b)
    return cnn


_ZERO_UNLESS: dict[str, frozenset[CnnOp]] = {
    "padding": CNN_SPATIAL_OPS,
    "in1": frozenset({CnnOp.ADD}),
    "stride_h": CNN_SPATIAL_OPS, "stride_w": CNN_SPATIAL_OPS,
    "dilation_h": frozenset({CnnOp.CONV_2D, CnnOp.DEPTHWISE_CONV_2D}),
    "dilation_w": frozenset({CnnOp.CONV_2D, CnnOp.DEPTHWISE_CONV_2D}),
    "filter_h": CNN_SPATIAL_OPS, "filter_w": CNN_SPATIAL_OPS,
    "pad_h": frozenset({CnnOp.PAD}), "pad_w": frozenset({CnnOp.PAD}),
    "pad_c": frozenset({CnnOp.PAD}), "reserved": frozenset(),
    "weights_offset": CNN_WEIGHT_OPS,
    "qparams_offset": frozenset({*CNN_WEIGHT_OPS, CnnOp.MEAN, CnnOp.ADD, CnnOp.SOFTMAX}),
}


def _check_cnn_layer(cnn: CnnData, i: int, written: np.ndarray, last_read: np.ndarray
                     ) -> None:
    """One layer, in this order: op; tensor indices (in0, in1, out); fields the op does not
    use are 0; act_min <= act_max (ops without a fused activation: -128, 127); padding,
    strides, dilations and filter sizes; reads (in0, then in1 for ADD) come after their
    writer, out is not the input and not written twice; the op's shape rules; weights and
    qparams inside their sections; the qparam values."""
    L = cnn.layers[i]
    n = cnn.n_tensors
    if int(L["op"]) not in CnnOp._value2member_map_:
        raise BlobError("cnn_op", i=i, op=int(L["op"]))
    op = CnnOp(int(L["op"]))
    name = op.name

    def field_error(fname: str, rule: str) -> BlobError:
        return BlobError("cnn_field", i=i, op=name, field=fname, value=int(L[fname]), rule=rule)

    for key in ("in0", "in1", "out"):
        if int(L[key]) >= n:
            raise BlobError("cnn_tensor_index", i=i, op=name, t=int(L[key]), n=n)
    for fname, users in _ZERO_UNLESS.items():
        if op not in users and int(L[fname]) != 0:
            raise field_error(fname, "must be 0 for this op")
    lo, hi = int(L["act_min"]), int(L["act_max"])
    if op in CNN_ACT_OPS:
        if lo > hi:
            raise field_error("act_min", f"above act_max {hi}")
    elif lo != -128 or hi != 127:
        raise field_error("act_min" if lo != -128 else "act_max",
                          "must be -128 and 127 for an op without a fused activation")
    if op in CNN_SPATIAL_OPS:
        if int(L["padding"]) > 1:
            raise field_error("padding", "must be 0 (VALID) or 1 (SAME)")
        keys = ["stride_h", "stride_w", "filter_h", "filter_w"]
        if op in (CnnOp.CONV_2D, CnnOp.DEPTHWISE_CONV_2D):
            keys += ["dilation_h", "dilation_w"]
        for key in keys:
            if int(L[key]) < 1:
                raise field_error(key, "must be >= 1")
    in0, in1, out = int(L["in0"]), int(L["in1"]), int(L["out"])
    for t in ((in0, in1) if op == CnnOp.ADD else (in0,)):
        if written[t] < -1:
            raise BlobError("cnn_read", i=i, op=name, t=t)
        last_read[t] = i
    if written[out] == -1:
        raise BlobError("cnn_write", i=i, op=name, t=out, problem="is the model input")
    if written[out] >= 0:
        raise BlobError("cnn_write", i=i, op=name, t=out,
                        problem=f"is already written by layer {int(written[out])}")
    written[out] = i
    ins, outs = cnn.shape(in0), cnn.shape(out)
    zp_in = int(cnn.tensors[in0]["zero_point"])
    zp_out = int(cnn.tensors[out]["zero_point"])
    expected = _cnn_out_shape(cnn, i, op, ins, outs, zp_in, zp_out)
    if expected is not None and outs != expected:
        raise BlobError("cnn_chain", i=i, op=name, got=_shape_text(outs),
                        expected=_shape_text(expected))
    fh, fw = int(L["filter_h"]), int(L["filter_w"])
    count = cnn_weight_count(op, ins, outs, fh, fw)
    if count:
        start = int(L["weights_offset"])
        if start + count > len(cnn.weights):
            raise BlobError("cnn_weights", i=i, op=name, start=start, end=start + count,
                            size=len(cnn.weights))
    count = cnn_qparam_count(op, outs[2])
    if count:
        start = int(L["qparams_offset"])
        if start + count > len(cnn.qparams):
            raise BlobError("cnn_qparams", i=i, op=name, start=start, end=start + count,
                            n=len(cnn.qparams))
        _check_cnn_qparams(i, op, cnn.qparams[start:start + count].astype(np.int64), outs[2])


def _cnn_out_shape(cnn: CnnData, i: int, op: CnnOp, ins: tuple[int, int, int],
                   outs: tuple[int, int, int], zp_in: int, zp_out: int
                   ) -> tuple[int, int, int] | None:
    """The output shape the op needs (None: checked here), after the op's other rules."""
    L = cnn.layers[i]
    name = op.name
    h, w, c = ins

    def fail(detail: str) -> BlobError:
        return BlobError("cnn_shape", i=i, op=name, detail=detail)

    if op in CNN_SPATIAL_OPS:
        dil = ((int(L["dilation_h"]), int(L["dilation_w"]))
               if op in (CnnOp.CONV_2D, CnnOp.DEPTHWISE_CONV_2D) else (1, 1))
        pad = int(L["padding"])
        size = []
        for axis, (n_in, f, s, d) in enumerate(zip(
                (h, w), (int(L["filter_h"]), int(L["filter_w"])),
                (int(L["stride_h"]), int(L["stride_w"])), dil)):
            o = spatial_out_size(pad, n_in, f, s, d)
            if o < 1:
                raise fail(f"VALID window {(f - 1) * d + 1} larger than the input "
                           f"{'hw'[axis]} {n_in}")
            size.append(o)
        oh, ow = size
        fh, fw = int(L["filter_h"]), int(L["filter_w"])
        if op == CnnOp.CONV_2D:
            if fh * fw * c > CNN_MAX_DOT:
                raise fail(f"filter_h * filter_w * in_c = {fh * fw * c}, above {CNN_MAX_DOT}")
            return oh, ow, outs[2]
        if op == CnnOp.DEPTHWISE_CONV_2D:
            if outs[2] % c:
                raise fail(f"output channels {outs[2]} not a multiple of the input "
                           f"channels {c}")
            return oh, ow, outs[2]
        if zp_out != zp_in:
            raise fail(f"output zero point {zp_out} differs from the input's {zp_in}")
        return oh, ow, c
    if op == CnnOp.FULLY_CONNECTED:
        if h * w * c > CNN_MAX_DOT:
            raise fail(f"{h * w * c} inputs, above {CNN_MAX_DOT}")
        return 1, 1, outs[2]
    if op == CnnOp.MEAN:
        if h * w > CNN_MEAN_MAX_CELLS:
            raise fail(f"mean over {h * w} cells, above {CNN_MEAN_MAX_CELLS}")
        return 1, 1, c
    if op == CnnOp.PAD:
        if zp_out != zp_in:
            raise fail(f"output zero point {zp_out} differs from the input's {zp_in}")
        for axis, (n_in, n_out, key) in enumerate(zip(ins, outs, ("pad_h", "pad_w", "pad_c"))):
            if n_out < n_in + int(L[key]):
                raise fail(f"output {'hwc'[axis]} {n_out} below input {n_in} + "
                           f"{key} {int(L[key])}")
        return None
    if op == CnnOp.ADD:
        in2 = cnn.shape(int(L["in1"]))
        if in2 != ins:
            raise fail(f"input shapes {_shape_text(ins)} and {_shape_text(in2)} differ "
                       "(no broadcasting)")
        return ins
    if op == CnnOp.SOFTMAX:
        if zp_out != -128:
            raise fail(f"output zero point {zp_out}, must be -128")
        if c > CNN_SOFTMAX_MAX_C:
            raise fail(f"{c} channels, at most {CNN_SOFTMAX_MAX_C}")
        return ins
    # RESHAPE
    if math.prod(outs) != math.prod(ins):
        raise fail(f"output {_shape_text(outs)} holds {math.prod(outs)} values, input "
                   f"{_shape_text(ins)} holds {math.prod(ins)}")
    return None


def _check_cnn_qparams(i: int, op: CnnOp, q: np.ndarray, out_c: int) -> None:
    name = op.name

    def need(ok: bool, what: str, value: int, rule: str) -> None:
        if not ok:
            raise BlobError("cnn_qvalue", i=i, op=name, name=what, value=value, rule=rule)

    def multiplier(what: str, m: int) -> None:
        need(m == 0 or Q31_LOW <= m <= INT32_MAX, what, m, "0 or 2^30 .. 2^31-1")

    def shift(what: str, s: int, hi: int = 30) -> None:
        need(-31 <= s <= hi, what, s, f"-31 .. {hi}")

    if op == CnnOp.FULLY_CONNECTED:
        scales = q[out_c:3 * out_c].astype("<i4").view("<f8")
        for o in range(out_c):
            v = float(scales[o])
            if not (math.isfinite(v) and v >= 0):
                raise BlobError("cnn_qvalue", i=i, op=name, name=f"scale[{o}]", value=v,
                                rule="finite, >= 0")
    elif op in CNN_WEIGHT_OPS:
        for o in range(out_c):
            multiplier(f"multiplier[{o}]", int(q[out_c + o]))
            shift(f"shift[{o}]", int(q[2 * out_c + o]))
    elif op == CnnOp.MEAN:
        need(0 <= q[0] <= INT32_MAX, "multiplier", int(q[0]), "0 .. 2^31-1")
        shift("shift", int(q[1]))
    elif op == CnnOp.ADD:
        need(0 <= q[0] <= 20, "left_shift", int(q[0]), "0 .. 20")
        multiplier("input1_multiplier", int(q[1]))
        shift("input1_shift", int(q[2]), 0)
        multiplier("input2_multiplier", int(q[3]))
        shift("input2_shift", int(q[4]), 0)
        multiplier("output_multiplier", int(q[5]))
        shift("output_shift", int(q[6]), 0)
    elif op == CnnOp.SOFTMAX:
        multiplier("input_multiplier", int(q[0]))
        need(0 <= q[1] <= 31, "input_left_shift", int(q[1]), "0 .. 31")
        need(q[2] <= 0 and (-int(q[2])) << int(q[1]) <= INT32_MAX, "diff_min", int(q[2]),
             "<= 0, and -diff_min * 2^input_left_shift < 2^31")
