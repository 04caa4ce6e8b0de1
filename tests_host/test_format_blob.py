"""Blob writer/reader: round trip, layout, the error type, and the order of the checks
(the first failure wins, as in the C loader). Every refusal of read_blob is a case of the
one table of bad blobs: test_format_bad_blobs.py."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from emlml_dev.bad_blobs import BAD_BLOBS, make_knn, make_trees, tiny_tree
from emlml_dev.blob_edit import (
    header,
    set_entry,
    set_header,
    set_node,
    with_meta,
    without_section,
)
from emlml_tools.format import (
    CRC_START,
    HEADER_SIZE,
    SECTION_ENTRY_SIZE,
    BlobError,
    InputType,
    Kind,
    Metric,
    SampleType,
    SectionId,
    Task,
    Weights,
    encode_meta,
    fix_crc,
    read_blob,
    write_blob,
)

# The main fixture T (make_trees()): header 48 + 3 entries -> 88; TREE_ROOTS 16 bytes at
# 88; TREE_NODES 36 nodes (3 trees of 5, one of 21) at 104; TREE_LEAVES 24 bytes at 392;
# 416 bytes in all.
T = make_trees()
N = len(T)


# ---------------------------------------------------------------------------- round trip


def test_round_trip_trees() -> None:
    meta = encode_meta(producer="emlml test", labels=["cat", "dog"], input_shape=(8, 8),
                       name="pets")
    data = make_trees(meta=meta)
    blob = read_blob(data)
    assert (blob.version, blob.kind, blob.task, blob.input_type) == (1, Kind.TREES,
                                                                     Task.CLASSIFIER,
                                                                     InputType.FLOAT32)
    assert (blob.total_size, blob.n_inputs, blob.n_outputs) == (len(data), 64, 2)
    assert blob.header_size == 48 and blob.flags == 0 and blob.n_sections == 4
    assert blob.crc32 == zlib.crc32(data[CRC_START:]) & 0xFFFFFFFF
    assert blob.arena_bytes == 4 * 64 + 8 * 2
    assert blob.trees is not None and blob.knn is None
    assert list(blob.trees.roots) == [0, 5, 10, 15]
    assert blob.trees.n_nodes == 36 and blob.trees.n_leaves == 3
    assert blob.trees.nodes[0].tolist() == (100, 0, 4)
    assert blob.trees.nodes[1].tolist() == (-5, 1, 2)
    np.testing.assert_array_equal(blob.trees.leaves, np.arange(6, dtype=np.float32).reshape(3, 2))
    assert (blob.producer, blob.labels, blob.input_shape, blob.name) == (
        "emlml test", ["cat", "dog"], (8, 8), "pets")


@pytest.mark.parametrize("sample_type", list(SampleType))
@pytest.mark.parametrize("task", list(Task))
def test_round_trip_knn(sample_type: SampleType, task: Task) -> None:
    data = make_knn(sample_type=sample_type, task=task)
    blob = read_blob(data)
    knn = blob.knn
    assert blob.kind == Kind.KNN and knn is not None and blob.trees is None
    assert (knn.k, knn.n_samples, knn.metric, knn.weights, knn.sample_type) == (
        3, 5, Metric.EUCLIDEAN, Weights.UNIFORM, sample_type)
    assert knn.samples.shape == (5, 3)
    assert blob.arena_bytes == 4 * 3 + 8 * 3 + 4 * blob.n_outputs
    if sample_type == SampleType.FLOAT32:
        assert knn.scale is None and blob.section(SectionId.KNN_QUANT) is None
    else:
        np.testing.assert_array_equal(knn.scale, np.full(3, 0.5, np.float32))
        np.testing.assert_array_equal(knn.offset, np.zeros(3, np.float32))
    if task == Task.CLASSIFIER:
        assert knn.targets.dtype == np.dtype("<u2") and list(knn.targets) == [0, 1, 2, 0, 1]
    assert blob.producer is None and blob.labels == [] and blob.name is None


def test_layout_alignment_and_padding() -> None:
    data = make_trees(meta=encode_meta(producer="p", labels=["a", "bb"], name="xyz"))
    blob = read_blob(data)
    assert len(data) % 8 == 0
    table_end = HEADER_SIZE + SECTION_ENTRY_SIZE * blob.n_sections
    previous_end = table_end
    for entry in blob.sections:
        assert entry.offset % 8 == 0 and entry.offset >= previous_end
        assert not any(data[previous_end:entry.offset]), "padding must be zero"
        previous_end = entry.offset + entry.size
    assert not any(data[previous_end:])
    assert header(data)["reserved"].tobytes() == bytes(12)


def test_write_blob_is_plain_writer() -> None:
    """write_blob writes what it is given; fix_crc recomputes the CRC only."""
    data = write_blob(kind=Kind.TREES, task=0, input_type=0, n_inputs=1, n_outputs=1,
                      arena_bytes=0, sections=[(SectionId.TREE_ROOTS, b"\0" * 4)])
    assert data[:4] == b"EMLB" and header(data)["total_size"] == len(data)
    assert fix_crc(data) == data
    broken = set_header(data, "task", 1, crc=False)
    assert fix_crc(broken) != broken and fix_crc(fix_crc(broken)) == fix_crc(broken)


def test_meta_unknown_tag_skipped_and_padding() -> None:
    meta = encode_meta(producer="abc")  # 4 + 3 -> padded to 8
    assert len(meta) == 8 and meta[7] == 0
    meta += struct.pack("<HH", 77, 5) + b"hello\0\0\0" + encode_meta(name="n")
    blob = read_blob(make_trees(meta=meta))
    assert blob.producer == "abc" and blob.name == "n"


def test_blob_error_is_value_error() -> None:
    with pytest.raises(ValueError) as info:
        read_blob(b"NOPE" + bytes(60))
    error = info.value
    assert isinstance(error, BlobError) and error.status == "EMLML_E_MAGIC"
    assert (error.code, error.numbers, str(error)) == (2, (0, 0, 0, 0),
                                                       "bad magic (not an emlml blob)")


# ---------------------------------------------------------------------------- refusals


def test_formats_examples_verbatim() -> None:
    """The example messages of FORMAT.md's "Errors" section, word for word, are messages
    of the table of bad blobs (which both loaders say)."""
    produced = {case.expected() for case in BAD_BLOBS}
    for example in ["bad magic (not an emlml blob)",
                    "unsupported version 7 (this build reads 1..1)",
                    "truncated: header says 4096 bytes, buffer has 4000", "CRC mismatch",
                    "section 2 outside the blob", "section 1 offset 50 not 4-byte aligned",
                    "tree 3 node 17: child index out of range",
                    "tree 0 node 2: feature 70 out of range (64 inputs)",
                    "leaf vector 2: vote 1073741824 above the scale 1073741823",
                    "k 9 larger than the 5 samples",
                    "layer 0 (CONV_2D): shift[0] 40 out of range",
                    "layer 1 (DEPTHWISE_CONV_2D): output shape 3x3x4 does not chain",
                    "layer 7 (FULLY_CONNECTED): weights [120, 140) outside CNN_WEIGHTS (128)",
                    "layer 2 (MAX_POOL_2D): live tensors 2 and 3 share arena bytes"]:
        assert example in produced, example


def test_valid_fixtures_are_accepted() -> None:
    for data in (T, make_knn(), tiny_tree(), make_knn(sample_type=SampleType.INT8),
                 make_knn(task=Task.REGRESSOR), make_trees(n_outputs=1, task=1)):
        read_blob(data)
    read_blob(bytearray(T))
    read_blob(memoryview(T))


def test_check_order_first_failure_wins() -> None:
    """Two faults: the one checked first is reported (the C loader's order)."""
    def refusal(data: bytes) -> tuple[str, str]:
        with pytest.raises(BlobError) as info:
            read_blob(data)
        return info.value.status, str(info.value)

    bad_kind = set_header(T, "kind", 9, crc=False)  # kind is outside the CRC range
    assert refusal(set_header(bad_kind, "n_outputs", 2 + (1 << 16), crc=False)) == (
        "EMLML_E_CRC", "CRC mismatch")
    with_flags = set_header(T, "flags", 1)
    assert refusal(set_header(with_flags, "header_size", 40)) == (
        "EMLML_E_HEADER_SIZE", "header_size 40, expected 48")
    assert refusal(set_header(with_flags, "n_inputs", 0)) == (
        "EMLML_E_RESERVED", "reserved header bytes or flags are not zero")
    assert refusal(set_entry(T, 1, "offset", N + 90)) == (  # not "outside the blob"
        "EMLML_E_SECTION_ALIGN", f"section 1 offset {N + 90} not 4-byte aligned")
    assert refusal(set_node(set_header(T, "arena_bytes", 1), 4, key=9)) == (  # arena last
        "EMLML_E_TREE_LEAF", "tree 0 node 4: leaf index 9 out of range")
    overrun = with_meta(T, struct.pack("<HH", 1, 100) + bytes(4))
    assert refusal(without_section(overrun, SectionId.TREE_LEAVES)) == (  # META first
        "EMLML_E_META_OVERRUN", "metadata record at offset 0 overruns its section")
    assert refusal(set_entry(without_section(T, SectionId.TREE_NODES), 0, "size", 6)) == (
        "EMLML_E_SECTION_SIZE", "section id 16 size 6 is not a multiple of 4")  # roots first
    assert refusal(set_node(T, 2, key=0, feature=70, right=9)) == (  # feature before child
        "EMLML_E_TREE_FEATURE", "tree 0 node 2: feature 70 out of range (64 inputs)")
