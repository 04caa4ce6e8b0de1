"""The emlml blob, version 1 (docs/FORMAT.md): header, section table, META, and the checks
they share; each model family's sections are in trees.py, knn.py and cnn.py.

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
5. the kind's sections (``check_trees`` in trees.py, ``check_knn`` in knn.py, ``check_cnn``
   in cnn.py give their order);
6. arena_bytes equals what the kind needs.

Tree messages give the tree index and the node index *within that tree*
(``i - roots[t]``).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from enum import IntEnum
from typing import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from emlml_tools.format import c_tables as C

# The C core's limits and numbers (core/emlml_config.h, emlml.h), one source for both.
MAGIC = C.MAGIC
VERSION_MIN = C.VERSION_MIN
VERSION_MAX = C.VERSION_MAX
VERSION = VERSION_MAX  # what the writer writes: the newest version the loader reads
HEADER_SIZE = C.HEADER_SIZE
SECTION_ENTRY_SIZE = C.SECTION_ENTRY_SIZE
MAX_SECTIONS = C.MAX_SECTIONS
MAX_INPUTS = C.MAX_INPUTS
MAX_OUTPUTS = C.MAX_OUTPUTS
MAX_TREES = C.MAX_TREES
MAX_K = C.MAX_KNN_K
SECTION_ALIGN = 8  # the writer's alignment; the reader requires 4
LEAF = 0xFFFF  # node.feature of a leaf
KNN_PARAMS_SIZE = 12

# The fixed structures by field name (FORMAT.md): what the writer and reader pack, and
# where a tool or a test finds a field (``HEADER_DTYPE.fields["n_sections"][1]`` is its
# offset) instead of a hand-copied number.
HEADER_DTYPE = np.dtype([
    ("magic", "S4"), ("version", "<u2"), ("kind", "<u2"), ("total_size", "<u4"),
    ("crc32", "<u4"), ("n_sections", "<u2"), ("header_size", "<u2"), ("task", "u1"),
    ("input_type", "u1"), ("flags", "<u2"), ("n_inputs", "<u4"), ("n_outputs", "<u4"),
    ("arena_bytes", "<u4"), ("reserved", "V12")])
SECTION_ENTRY_DTYPE = np.dtype([("id", "<u4"), ("offset", "<u4"), ("size", "<u4")])
KNN_PARAMS_DTYPE = np.dtype([("k", "<u4"), ("n_samples", "<u4"), ("metric", "u1"),
                             ("weights", "u1"), ("sample_type", "u1"), ("reserved", "u1")])
META_RECORD_DTYPE = np.dtype([("tag", "<u2"), ("length", "<u2")])
CRC_START = HEADER_DTYPE.fields["n_sections"][1]  # the CRC covers [16, total_size)

_HEADER = struct.Struct("<4sHHIIHHBBHIII12s")
_ENTRY = struct.Struct("<III")
_KNN_PARAMS = struct.Struct("<IIBBBB")
_META_RECORD = struct.Struct("<HH")
assert _HEADER.size == HEADER_DTYPE.itemsize == HEADER_SIZE
assert _ENTRY.size == SECTION_ENTRY_DTYPE.itemsize == SECTION_ENTRY_SIZE
assert _KNN_PARAMS.size == KNN_PARAMS_DTYPE.itemsize == KNN_PARAMS_SIZE
assert _META_RECORD.size == META_RECORD_DTYPE.itemsize


# The C enums by the same names (emlml.h, emlml_internal.h); C spells the input types short.
_C_TYPE_NAMES = {"F32": "FLOAT32", "I8": "INT8", "U8": "UINT8", "I16": "INT16"}
Kind = IntEnum("Kind", C.KINDS)  # 3 is the int8 CNN (TensorFlow Lite)
Task = IntEnum("Task", C.TASKS)
InputType = IntEnum("InputType", {_C_TYPE_NAMES[k]: v for k, v in C.INPUT_TYPES.items()})
SectionId = IntEnum("SectionId", C.SECTIONS)
MetaTag = IntEnum("MetaTag", C.META_TAGS)

INPUT_DTYPES: dict[InputType, np.dtype] = {
    InputType.FLOAT32: np.dtype("<f4"),
    InputType.INT8: np.dtype("i1"),
    InputType.UINT8: np.dtype("u1"),
    InputType.INT16: np.dtype("<i2"),
}

INPUT_TYPE_NAMES = {"float32": InputType.FLOAT32, "int8": InputType.INT8,
                    "uint8": InputType.UINT8, "int16": InputType.INT16}

INPUT_TYPECODES = {InputType.FLOAT32: "f", InputType.INT8: "b", InputType.UINT8: "B",
                   InputType.INT16: "h"}


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


# ---------------------------------------------------------------------------- writer

def pad_to(n: int, align: int) -> int:
    return (n + align - 1) // align * align


def write_blob(*, kind: int, task: int, input_type: int, n_inputs: int, n_outputs: int,
               arena_bytes: int, sections: Sequence[tuple[int, bytes]],
               version: int = VERSION, flags: int = 0) -> bytes:
    """Header + section table + sections (in the given order, each at an 8-byte aligned
    offset, zero padded; the blob is padded to a multiple of 8) with the CRC filled in.

    Writes what it is given: ``read_blob`` is the place that checks.
    """
    table_end = HEADER_SIZE + SECTION_ENTRY_SIZE * len(sections)
    offset = pad_to(table_end, SECTION_ALIGN)
    entries = []
    for section_id, payload in sections:
        entries.append((section_id, offset, len(payload)))
        offset = pad_to(offset + len(payload), SECTION_ALIGN)
    total = offset
    out = bytearray(total)
    _HEADER.pack_into(out, 0, MAGIC, version, kind, total, 0, len(sections), HEADER_SIZE,
                      task, input_type, flags, n_inputs, n_outputs, arena_bytes, bytes(12))
    for i, (entry, (_, payload)) in enumerate(zip(entries, sections)):
        _ENTRY.pack_into(out, HEADER_SIZE + SECTION_ENTRY_SIZE * i, *entry)
        out[entry[1]:entry[1] + len(payload)] = payload
    return fix_crc(bytes(out))


def section_table(data: bytes) -> list[SectionEntry]:
    """The section table as written, unchecked (for tools that edit a blob; ``read_blob``
    is the place that checks)."""
    n = int(np.frombuffer(data, HEADER_DTYPE, count=1)[0]["n_sections"])
    return [SectionEntry(*_ENTRY.unpack_from(data, HEADER_SIZE + SECTION_ENTRY_SIZE * i))
            for i in range(n)]


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
        out += bytes(pad_to(len(out), 4) - len(out))
    return bytes(out)


# ---------------------------------------------------------------------------- reader

def check_header(kind: int, n_sections: int, header_size: int, task: int, input_type: int,
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


def check_table(data: bytes, n_sections: int, kind: Kind) -> list[SectionEntry]:
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


def sized_section(by_id: dict[int, SectionEntry], section_id: SectionId, unit: int) -> SectionEntry:
    """The section, present and a whole number of ``unit``-byte items."""
    entry = by_id.get(section_id)
    if entry is None:
        raise BlobError("section_missing", id=int(section_id))
    if entry.size % unit:
        raise BlobError("section_multiple", id=entry.id, size=entry.size, unit=unit)
    return entry


def exact_section(by_id: dict[int, SectionEntry], section_id: SectionId, expected: int
           ) -> SectionEntry:
    """The section, present and exactly ``expected`` bytes long."""
    entry = by_id.get(section_id)
    if entry is None:
        raise BlobError("section_missing", id=int(section_id))
    if entry.size != expected:
        raise BlobError("section_size", id=entry.id, size=entry.size, expected=expected)
    return entry


def section_view(data: bytes, entry: SectionEntry, dtype: npt.DTypeLike, count: int) -> np.ndarray:
    return np.frombuffer(data, dtype=dtype, count=count, offset=entry.offset)


def check_meta(data: bytes, entry: SectionEntry | None, task: Task, n_outputs: int
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
            pos = start + pad_to(length, 4)
    expected = n_outputs if task == Task.CLASSIFIER else 0
    if labels and len(labels) != expected:
        raise BlobError("label_count", n=len(labels), classes=n_outputs)
    return producer, labels, input_shape, name
