"""The emlml blob, version 1 (docs/FORMAT.md): header, section table, META, and the checks
they share; each model family's sections are in trees.py, knn.py and cnn.py.

``read_blob`` runs every load check of FORMAT.md and raises ``BlobError`` (a
``ValueError``) with the C loader's status code, numbers and message: the checks run in
the C loader's order (micropython_module/core/emlml_blob.c, then the family's loader) and
the message is made by the C formatter's port (c_format.py), so a blob with several faults
gets the same status and the same words from both (tests_host/test_format_bad_blobs.py
and test_core_bad_blobs.py hold them to it):

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
from emlml_tools.format.c_format import error_format, status_number

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
                             ("weights", "u1"), ("sample_type", "u1"), ("distances", "u1")])
META_RECORD_DTYPE = np.dtype([("tag", "<u2"), ("length", "<u2")])
CRC_START = HEADER_DTYPE.fields["n_sections"][1]  # the CRC covers [16, total_size)
_TOTAL_SIZE_AT = HEADER_DTYPE.fields["total_size"][1]
_CRC_AT = HEADER_DTYPE.fields["crc32"][1]

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


KIND_NAMES = {Kind.TREES: "trees", Kind.KNN: "kNN", Kind.CNN: "int8 CNN",
              Kind.BOOST: "gradient boosting"}
REQUIRED_SECTIONS: dict[Kind, tuple[SectionId, ...]] = {
    Kind.TREES: (SectionId.TREE_ROOTS, SectionId.TREE_NODES, SectionId.TREE_LEAVES),
    Kind.KNN: (SectionId.KNN_PARAMS, SectionId.KNN_SAMPLES, SectionId.KNN_TARGETS),
    Kind.CNN: (SectionId.CNN_PARAMS, SectionId.CNN_TENSORS, SectionId.CNN_LAYERS,
               SectionId.CNN_QPARAMS),
    Kind.BOOST: (SectionId.TREE_ROOTS, SectionId.TREE_NODES, SectionId.BOOST_PARAMS,
                 SectionId.BOOST_LEAVES),
}
# Feature steps (pipeline.py) go in front of any kind.
_PIPE = (SectionId.PIPE_HEAD, SectionId.PIPE_STEPS, SectionId.PIPE_PARAMS)
ALLOWED_SECTIONS: dict[Kind, frozenset[int]] = {
    Kind.TREES: frozenset({SectionId.META, SectionId.TREE_NAN, SectionId.TREE_WEIGHTS,
                         *REQUIRED_SECTIONS[Kind.TREES], *_PIPE}),
    Kind.KNN: frozenset({SectionId.META, SectionId.KNN_QUANT, *REQUIRED_SECTIONS[Kind.KNN],
                         *_PIPE}),
    Kind.CNN: frozenset({SectionId.META, SectionId.CNN_WEIGHTS, *REQUIRED_SECTIONS[Kind.CNN],
                         *_PIPE}),
    Kind.BOOST: frozenset({SectionId.META, SectionId.TREE_NAN, SectionId.BOOST_ZERO,
                           *REQUIRED_SECTIONS[Kind.BOOST], *_PIPE}),
}


class BlobError(ValueError):
    """A blob refused by ``read_blob``, as the C loader refuses it: ``status`` is the name
    of its C status code (``"EMLML_E_CNN_OP"``, EMLML_STATUS_LIST in
    micropython_module/core/emlml_status.h, ``c_tables.STATUS`` here), ``code`` its number,
    ``numbers`` the four numbers a, b, c, d of the C ``emlml_error_t`` (uint32, unused
    ones 0), and the message is the C core's own (``c_format.error_format``): the words
    ``emlml.load`` says on a board."""

    def __init__(self, status: str, a: int = 0, b: int = 0, c: int = 0, d: int = 0) -> None:
        self.status = status
        self.code = status_number(status)  # a KeyError for a name C does not have
        self.numbers = tuple(v & 0xFFFFFFFF for v in (a, b, c, d))
        super().__init__(error_format(status, a, b, c, d))


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
    if len(buf) < CRC_START:
        return bytes(buf)  # no CRC field
    end = min(struct.unpack_from("<I", buf, _TOTAL_SIZE_AT)[0], len(buf))
    crc = zlib.crc32(bytes(buf[CRC_START:end])) & 0xFFFFFFFF
    struct.pack_into("<I", buf, _CRC_AT, crc)
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
        raise BlobError("EMLML_E_HEADER_SIZE", header_size)
    if flags != 0 or any(reserved):
        raise BlobError("EMLML_E_RESERVED")
    if not 1 <= n_sections <= MAX_SECTIONS:
        raise BlobError("EMLML_E_N_SECTIONS", n_sections)
    if kind not in KIND_NAMES:
        raise BlobError("EMLML_E_KIND", kind)
    if task not in (Task.CLASSIFIER, Task.REGRESSOR):
        raise BlobError("EMLML_E_TASK", task)
    if input_type not in INPUT_DTYPES:
        raise BlobError("EMLML_E_INPUT_TYPE", input_type)
    if not 1 <= n_inputs <= MAX_INPUTS:
        raise BlobError("EMLML_E_N_INPUTS", n_inputs)
    if not 1 <= n_outputs <= MAX_OUTPUTS:
        raise BlobError("EMLML_E_N_OUTPUTS", n_outputs)
    if task == Task.REGRESSOR and n_outputs != 1:
        raise BlobError("EMLML_E_REGRESSOR_OUTPUTS", n_outputs)


def check_table(data: bytes, n_sections: int, kind: Kind) -> list[SectionEntry]:
    total = len(data)
    table_end = HEADER_SIZE + SECTION_ENTRY_SIZE * n_sections
    if table_end > total:
        raise BlobError("EMLML_E_SECTION_BOUNDS", 0)
    entries: list[SectionEntry] = []
    seen: set[int] = set()
    prev_end = table_end
    for i in range(n_sections):
        sid, offset, size = _ENTRY.unpack_from(data, HEADER_SIZE + SECTION_ENTRY_SIZE * i)
        if size == 0:
            raise BlobError("EMLML_E_SECTION_EMPTY", i)
        if offset % 4:
            raise BlobError("EMLML_E_SECTION_ALIGN", i, offset)
        if offset < table_end or offset + size > total:
            raise BlobError("EMLML_E_SECTION_BOUNDS", i)
        if offset < prev_end:
            raise BlobError("EMLML_E_SECTION_ORDER", i)
        if sid not in ALLOWED_SECTIONS[kind]:  # unknown ids, and ids of other kinds
            raise BlobError("EMLML_E_SECTION_UNKNOWN", sid)
        if sid in seen:
            raise BlobError("EMLML_E_SECTION_DUP", sid)
        seen.add(sid)
        prev_end = offset + size
        entries.append(SectionEntry(sid, offset, size))
    return entries


def sized_section(by_id: dict[int, SectionEntry], section_id: SectionId, unit: int) -> SectionEntry:
    """The section, present and a whole number of ``unit``-byte items."""
    entry = by_id.get(section_id)
    if entry is None:
        raise BlobError("EMLML_E_SECTION_MISSING", section_id)
    if entry.size % unit:
        raise BlobError("EMLML_E_SECTION_SIZE", entry.id, entry.size, unit)
    return entry


def exact_section(by_id: dict[int, SectionEntry], section_id: SectionId, expected: int
           ) -> SectionEntry:
    """The section, present and exactly ``expected`` bytes long."""
    entry = by_id.get(section_id)
    if entry is None:
        raise BlobError("EMLML_E_SECTION_MISSING", section_id)
    if entry.size != expected:  # an expected size beyond 32 bits prints as 2^32 - 1, as in C
        raise BlobError("EMLML_E_SECTION_LENGTH", entry.id, entry.size, clamp_u32(expected))
    return entry


def clamp_u32(n: int) -> int:
    """A number as the C loader reports a 64-bit end or size: capped at 2^32 - 1."""
    return min(n, 0xFFFFFFFF)


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
                raise BlobError("EMLML_E_META_OVERRUN", pos - entry.offset)
            tag, length = _META_RECORD.unpack_from(data, pos)
            start = pos + _META_RECORD.size
            if start + length > end:
                raise BlobError("EMLML_E_META_OVERRUN", pos - entry.offset)
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
        raise BlobError("EMLML_E_LABELS", len(labels), n_outputs)
    return producer, labels, input_shape, name
