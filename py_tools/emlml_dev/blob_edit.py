"""Read and edit a blob by field name (docs/FORMAT.md), for the tests and the checkout's
tools: no offset is typed by hand, every field is found through the format's own
structures (``HEADER_DTYPE``, ``section_table``, ``KNN_PARAMS_DTYPE``, ``NODE_DTYPE``,
``CNN_PARAMS_DTYPE``, ``CNN_TENSOR_DTYPE``, ``CNN_LAYER_DTYPE``).

Every setter returns a new blob with its CRC recomputed (``crc=False`` keeps the old one),
so that an edit reaches the checks after the CRC. Nothing here checks: ``read_blob`` does.

    blob = set_header(blob, "n_sections", 0)
    offset, size = section(blob, SectionId.CNN_LAYERS)
    blob = set_layer(blob, 3, stride_h=0)
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from emlml_tools.format import (
    CNN_LAYER_DTYPE,
    CNN_PARAMS_DTYPE,
    CNN_TENSOR_DTYPE,
    HEADER_DTYPE,
    HEADER_SIZE,
    KNN_PARAMS_DTYPE,
    NODE_DTYPE,
    SECTION_ENTRY_DTYPE,
    SectionId,
    fix_crc,
    section_table,
    write_blob,
)

__all__ = [
    "cnn_param", "entry_index", "fix_crc", "get", "header", "item", "knn_param", "layer",
    "node", "put", "qparam", "replace_section", "section", "section_bytes", "set_cnn_param",
    "set_entry", "set_header", "set_item", "set_knn_param", "set_layer", "set_node",
    "set_qparam", "set_tensor", "tensor", "with_meta", "without_section",
]


# ---------------------------------------------------------------------------- raw access


def get(blob: bytes, offset: int, dtype: npt.DTypeLike) -> np.generic:
    """The value of ``dtype`` (a scalar type or a structure) at ``offset``."""
    return np.frombuffer(blob, dtype=dtype, count=1, offset=offset)[0]


def put(blob: bytes, offset: int, dtype: npt.DTypeLike, value: object, *, field: str | None = None,
        crc: bool = True) -> bytes:
    """``blob`` with ``value`` written at ``offset`` as ``dtype`` (or as its ``field`` when
    ``dtype`` is a structure). A value that does not fit the type is an error, never
    wrapped silently."""
    buf = bytearray(blob)
    view = np.frombuffer(buf, dtype=dtype, count=1, offset=offset)
    if field is None:
        view[0] = value
    else:
        view[field][0] = value
    return fix_crc(bytes(buf)) if crc else bytes(buf)


# ---------------------------------------------------------------------------- header, table


def header(blob: bytes) -> np.void:
    """The header as a ``HEADER_DTYPE`` record: ``header(blob)["arena_bytes"]``."""
    return get(blob, 0, HEADER_DTYPE)


def set_header(blob: bytes, field: str, value: object, *, crc: bool = True) -> bytes:
    return put(blob, 0, HEADER_DTYPE, value, field=field, crc=crc)


def entry_index(blob: bytes, section_id: int) -> int:
    """The place of section ``section_id`` in the section table."""
    for j, entry in enumerate(section_table(blob)):
        if entry.id == section_id:
            return j
    raise KeyError(f"no section {int(section_id)}")


def section(blob: bytes, section_id: int) -> tuple[int, int]:
    """(offset, size) of section ``section_id``, from the section table as written."""
    entry = section_table(blob)[entry_index(blob, section_id)]
    return entry.offset, entry.size


def section_bytes(blob: bytes, section_id: int) -> bytes:
    offset, size = section(blob, section_id)
    return blob[offset:offset + size]


def set_entry(blob: bytes, j: int, field: str, value: int, *, crc: bool = True) -> bytes:
    """Field ``id``, ``offset`` or ``size`` of entry ``j`` of the section table."""
    return put(blob, HEADER_SIZE + SECTION_ENTRY_DTYPE.itemsize * j, SECTION_ENTRY_DTYPE, value,
               field=field, crc=crc)


def _rewritten(blob: bytes, sections: list[tuple[int, bytes]]) -> bytes:
    h = header(blob)
    return write_blob(kind=int(h["kind"]), task=int(h["task"]), input_type=int(h["input_type"]),
                      n_inputs=int(h["n_inputs"]), n_outputs=int(h["n_outputs"]),
                      arena_bytes=int(h["arena_bytes"]), sections=sections,
                      flags=int(h["flags"]))


def _sections(blob: bytes) -> list[tuple[int, bytes]]:
    return [(e.id, blob[e.offset:e.offset + e.size]) for e in section_table(blob)]


def without_section(blob: bytes, section_id: int) -> bytes:
    """The blob written again without section ``section_id`` (header fields kept)."""
    return _rewritten(blob, [s for s in _sections(blob) if s[0] != section_id])


def replace_section(blob: bytes, section_id: int, payload: bytes) -> bytes:
    """The blob written again with section ``section_id`` holding ``payload``: in its place
    when the blob has it, else added in id order."""
    sections = _sections(blob)
    if any(sid == section_id for sid, _ in sections):
        sections = [(sid, payload if sid == section_id else data) for sid, data in sections]
    else:
        sections.append((section_id, payload))
        sections.sort(key=lambda s: s[0])
    return _rewritten(blob, sections)


def with_meta(blob: bytes, meta: bytes) -> bytes:
    """The blob with ``meta`` as its META section (the writer puts META first)."""
    return replace_section(blob, SectionId.META, meta)


# ---------------------------------------------------------------------------- arrays of a section


def item(blob: bytes, section_id: int, i: int, dtype: npt.DTypeLike) -> np.generic:
    """Item ``i`` of a section read as an array of ``dtype``."""
    dtype = np.dtype(dtype)
    return get(blob, section(blob, section_id)[0] + dtype.itemsize * i, dtype)


def set_item(blob: bytes, section_id: int, i: int, dtype: npt.DTypeLike, value: object, *,
             field: str | None = None, crc: bool = True) -> bytes:
    """Item ``i`` (or its ``field``) of a section read as an array of ``dtype``."""
    dtype = np.dtype(dtype)
    return put(blob, section(blob, section_id)[0] + dtype.itemsize * i, dtype, value,
               field=field, crc=crc)


def _set_fields(blob: bytes, section_id: int, i: int, dtype: np.dtype, fields: dict) -> bytes:
    for name, value in fields.items():
        blob = set_item(blob, section_id, i, dtype, value, field=name)
    return blob


def knn_param(blob: bytes, field: str) -> int:
    return int(item(blob, SectionId.KNN_PARAMS, 0, KNN_PARAMS_DTYPE)[field])


def set_knn_param(blob: bytes, field: str, value: int) -> bytes:
    return set_item(blob, SectionId.KNN_PARAMS, 0, KNN_PARAMS_DTYPE, value, field=field)


def node(blob: bytes, i: int) -> np.void:
    """Node ``i`` of TREE_NODES (counted from the first node of the first tree)."""
    return item(blob, SectionId.TREE_NODES, i, NODE_DTYPE)


def set_node(blob: bytes, i: int, **fields: int) -> bytes:
    return _set_fields(blob, SectionId.TREE_NODES, i, NODE_DTYPE, fields)


def cnn_param(blob: bytes, field: str) -> object:
    return item(blob, SectionId.CNN_PARAMS, 0, CNN_PARAMS_DTYPE)[field]


def set_cnn_param(blob: bytes, field: str, value: object) -> bytes:
    if field == "reserved":  # the 11 reserved bytes: value goes into the first
        value = bytes([value]) + bytes(10)
    return set_item(blob, SectionId.CNN_PARAMS, 0, CNN_PARAMS_DTYPE, value, field=field)


def tensor(blob: bytes, t: int) -> np.void:
    return item(blob, SectionId.CNN_TENSORS, t, CNN_TENSOR_DTYPE)


def set_tensor(blob: bytes, t: int, **fields: int) -> bytes:
    return _set_fields(blob, SectionId.CNN_TENSORS, t, CNN_TENSOR_DTYPE, fields)


def layer(blob: bytes, k: int) -> np.void:
    return item(blob, SectionId.CNN_LAYERS, k, CNN_LAYER_DTYPE)


def set_layer(blob: bytes, k: int, **fields: int) -> bytes:
    return _set_fields(blob, SectionId.CNN_LAYERS, k, CNN_LAYER_DTYPE, fields)


def qparam(blob: bytes, k: int, i: int) -> int:
    """The i-th int32 of layer k's qparams."""
    return int(item(blob, SectionId.CNN_QPARAMS, int(layer(blob, k)["qparams_offset"]) + i, "<i4"))


def set_qparam(blob: bytes, k: int, i: int, value: int) -> bytes:
    return set_item(blob, SectionId.CNN_QPARAMS, int(layer(blob, k)["qparams_offset"]) + i, "<i4", value)

