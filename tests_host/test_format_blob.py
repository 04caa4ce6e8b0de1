"""Blob writer/reader: round trip, layout, and every rejection path of read_blob."""

from __future__ import annotations

import struct
import zlib
from typing import Callable

import numpy as np
import pytest
from emlml_tools.format import (
    ERRORS,
    HEADER_SIZE,
    LEAF,
    NODE_DTYPE,
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
    knn_blob,
    read_blob,
    trees_blob,
    write_blob,
)

# Layout of the main fixture T (make_trees()): header 48 + 3 entries -> 88; TREE_ROOTS
# 16 bytes at 88; TREE_NODES 36 nodes (3 trees of 5, one of 21) at 104; TREE_LEAVES 24
# bytes at 392; 416 bytes in all.

# ---------------------------------------------------------------------------- fixtures


def _tree(leaf_base: int) -> list[tuple[int, int, int]]:
    """5 nodes in pre-order: split(f0) -> [split(f1) -> leaf, leaf], leaf."""
    return [(100, 0, 4), (-5, 1, 2), (leaf_base, LEAF, 0), (leaf_base + 1, LEAF, 0),
            (leaf_base + 2, LEAF, 0)]


def _caterpillar(m: int) -> list[tuple[int, int, int]]:
    """2m + 1 nodes: splits 0..m-1 (left child next), then m + 1 leaves; split j has its
    right child (a leaf) at j + 2 (m - j)."""
    return [(j, j % 2, 2 * (m - j)) for j in range(m)] + [(j % 3, LEAF, 0)
                                                         for j in range(m + 1)]


def make_trees(n_inputs: int = 64, n_outputs: int = 2, n_trees: int = 4, task: int = 0,
               meta: bytes = b"", input_type: int = InputType.FLOAT32) -> bytes:
    """n_trees - 1 trees of 5 nodes, then a 21-node tree."""
    trees = [_tree(0) for _ in range(n_trees - 1)] + [_caterpillar(10)]
    nodes = np.array([node for tree in trees for node in tree], dtype=NODE_DTYPE)
    leaves = np.arange(3 * n_outputs, dtype=np.float32).reshape(3, n_outputs)
    return trees_blob(task=task, input_type=input_type, n_inputs=n_inputs,
                      n_outputs=n_outputs, roots=np.arange(n_trees) * 5, nodes=nodes,
                      leaves=leaves, meta=meta)


def sections_of(data: bytes) -> list[tuple[int, bytes]]:
    blob = read_blob(data)
    return [(e.id, data[e.offset:e.offset + e.size]) for e in blob.sections]


def rebuild(data: bytes, drop: int) -> bytes:
    """The blob rewritten without section ``drop`` (header fields kept)."""
    blob = read_blob(data)
    return write_blob(kind=blob.kind, task=blob.task, input_type=blob.input_type,
                      n_inputs=blob.n_inputs, n_outputs=blob.n_outputs,
                      arena_bytes=blob.arena_bytes,
                      sections=[sec for sec in sections_of(data) if sec[0] != drop])


def make_knn(sample_type: int = SampleType.FLOAT32, task: int = Task.CLASSIFIER,
             n_samples: int = 5, k: int = 3, quant: bool | None = None, meta: bytes = b"",
             n_inputs: int = 3) -> bytes:
    rng = np.random.default_rng(0)
    samples = rng.integers(-100, 100, size=(n_samples, n_inputs))
    targets = np.arange(n_samples) % 3 if task == Task.CLASSIFIER else rng.random(n_samples)
    quant = sample_type != SampleType.FLOAT32 if quant is None else quant
    scale = np.full(n_inputs, 0.5, np.float32) if quant else None
    offset = np.zeros(n_inputs, np.float32) if quant else None
    return knn_blob(task=task, input_type=InputType.FLOAT32, n_inputs=n_inputs,
                    n_outputs=3 if task == Task.CLASSIFIER else 1, k=k,
                    metric=Metric.EUCLIDEAN, weights=Weights.UNIFORM,
                    sample_type=sample_type, samples=samples, targets=targets, scale=scale,
                    offset=offset, meta=meta)


def patch(data: bytes, pos: int, fmt: str, *values: int | float, crc: bool = True) -> bytes:
    buf = bytearray(data)
    struct.pack_into("<" + fmt, buf, pos, *values)
    return fix_crc(bytes(buf)) if crc else bytes(buf)


def entry_pos(i: int) -> int:
    return HEADER_SIZE + 12 * i


def section_pos(data: bytes, section_id: int) -> int:
    n = struct.unpack_from("<H", data, 16)[0]
    for i in range(n):
        sid, offset, _ = struct.unpack_from("<III", data, entry_pos(i))
        if sid == section_id:
            return offset
    raise KeyError(section_id)


def entry_index(data: bytes, section_id: int) -> int:
    n = struct.unpack_from("<H", data, 16)[0]
    return next(i for i in range(n) if struct.unpack_from("<I", data, entry_pos(i))[0]
                == section_id)


def node_pos(data: bytes, i: int) -> int:
    return section_pos(data, SectionId.TREE_NODES) + 8 * i


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
    assert blob.crc32 == zlib.crc32(data[16:]) & 0xFFFFFFFF
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
    table_end = HEADER_SIZE + 12 * blob.n_sections
    previous_end = table_end
    for entry in blob.sections:
        assert entry.offset % 8 == 0 and entry.offset >= previous_end
        assert not any(data[previous_end:entry.offset]), "padding must be zero"
        previous_end = entry.offset + entry.size
    assert not any(data[previous_end:])
    assert data[36:48] == bytes(12)


def test_write_blob_is_plain_writer() -> None:
    """write_blob writes what it is given; fix_crc recomputes the CRC only."""
    data = write_blob(kind=Kind.TREES, task=0, input_type=0, n_inputs=1, n_outputs=1,
                      arena_bytes=0, sections=[(SectionId.TREE_ROOTS, b"\0" * 4)])
    assert data[:4] == b"EMLB" and struct.unpack_from("<I", data, 8)[0] == len(data)
    assert fix_crc(data) == data
    broken = data[:20] + b"\x01" + data[21:]
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
    assert isinstance(info.value, BlobError) and info.value.check == "magic"


# ---------------------------------------------------------------------------- rejections

Case = Callable[[], bytes]
CASES: dict[str, list[tuple[Case, str]]] = {}


def case(check: str, message: str) -> Callable[[Case], Case]:
    def register(fn: Case) -> Case:
        CASES.setdefault(check, []).append((fn, message))
        return fn
    return register


T = make_trees()
K = make_knn()
N = len(T)
ROOTS = entry_index(T, SectionId.TREE_ROOTS)
NODES = entry_index(T, SectionId.TREE_NODES)
LEAVES = entry_index(T, SectionId.TREE_LEAVES)


def tiny_tree() -> bytes:  # a single leaf: 112 bytes
    return trees_blob(task=1, input_type=0, n_inputs=1, n_outputs=1, roots=[0],
                      nodes=np.array([(0, LEAF, 0)], NODE_DTYPE), leaves=[[1.0]])


ROOTS_AT = section_pos(T, SectionId.TREE_ROOTS)
KP = section_pos(K, SectionId.KNN_PARAMS)
KN = entry_index(K, SectionId.KNN_PARAMS), entry_index(K, SectionId.KNN_SAMPLES), \
    entry_index(K, SectionId.KNN_TARGETS)
K8 = make_knn(sample_type=SampleType.INT8)
KNAN = struct.pack("<f", float("nan"))

case("short", "truncated: 40 bytes, the header alone needs 48")(lambda: T[:40])
case("short", "truncated: 0 bytes, the header alone needs 48")(lambda: b"")
case("magic", "bad magic (not an emlml blob)")(lambda: b"EMLX" + T[4:])
case("magic", "bad magic (not an emlml blob)")(lambda: bytes(64))
case("version", "unsupported version 7 (this build reads 1..1)")(
    lambda: patch(T, 4, "H", 7, crc=False))
case("version", "unsupported version 0 (this build reads 1..1)")(
    lambda: patch(T, 4, "H", 0, crc=False))
case("truncated", "truncated: header says 4096 bytes, buffer has 4000")(
    lambda: patch(T + bytes(4000 - N), 8, "I", 4096))
case("truncated", f"truncated: header says {N} bytes, buffer has {N - 8}")(lambda: T[:-8])
case("trailing", f"trailing bytes: header says {N} bytes, buffer has {N + 8}")(
    lambda: T + bytes(8))
case("crc", "CRC mismatch")(lambda: T[:-1] + b"\x01")
case("crc", "CRC mismatch")(lambda: patch(T, 12, "I", 0, crc=False))
case("crc", "CRC mismatch")(lambda: patch(T, 24, "I", 65, crc=False))
case("header_size", "header_size 40, expected 48")(lambda: patch(T, 18, "H", 40))
case("reserved", "reserved header bytes or flags are not zero")(lambda: patch(T, 22, "H", 1))
case("reserved", "reserved header bytes or flags are not zero")(lambda: patch(T, 47, "B", 1))
case("n_sections", "bad section count 0 (1..16)")(lambda: patch(T, 16, "H", 0))
case("n_sections", "bad section count 17 (1..16)")(lambda: patch(T, 16, "H", 17))
case("kind", "unknown model kind 4")(lambda: patch(T, 6, "H", 4))
case("kind", "unknown model kind 0")(lambda: patch(T, 6, "H", 0))
case("task", "unknown task 2")(lambda: patch(T, 20, "B", 2))
case("input_type", "unknown input type 4")(lambda: patch(T, 21, "B", 4))
case("n_inputs", "n_inputs 0 out of range (1..65534)")(lambda: patch(T, 24, "I", 0))
case("n_inputs", "n_inputs 65535 out of range (1..65534)")(lambda: patch(T, 24, "I", 65535))
case("n_outputs", "n_outputs 0 out of range (1..65535)")(lambda: patch(T, 28, "I", 0))
case("n_outputs", "n_outputs 65536 out of range (1..65535)")(lambda: patch(T, 28, "I", 65536))
case("regressor_outputs", "a regressor has 1 output, the blob says 2")(
    lambda: patch(T, 20, "B", 1))
case("section_empty", "section 1 is empty")(lambda: patch(T, entry_pos(1) + 8, "I", 0))
case("section_align", "section 1 offset 50 not 4-byte aligned")(
    lambda: patch(T, entry_pos(1) + 4, "I", 50))
case("section_align", "section 1 offset 90 not 4-byte aligned")(
    lambda: patch(tiny_tree(), entry_pos(1) + 4, "I", 90))
case("section_outside", "section 0 outside the blob")(  # the table itself does not fit
    lambda: patch(tiny_tree(), 16, "H", 16))
case("section_outside", "section 2 outside the blob")(
    lambda: patch(T, entry_pos(2) + 8, "I", N))
case("section_outside", "section 0 outside the blob")(  # inside the section table
    lambda: patch(T, entry_pos(0) + 4, "I", 48))
case("section_outside", "section 1 outside the blob")(
    lambda: patch(T, entry_pos(1) + 4, "I", 0xFFFFFFF8))
case("section_order", "section 1 overlaps or precedes the one before")(
    lambda: patch(T, entry_pos(1) + 4, "I", ROOTS_AT))
case("section_order", "section 2 overlaps or precedes the one before")(  # by 4 bytes
    lambda: patch(T, entry_pos(2) + 4, "I", section_pos(T, SectionId.TREE_NODES) + 36 * 8 - 4))
case("section_unknown", "unknown section id 99 for this model kind")(
    lambda: patch(T, entry_pos(2), "I", 99))
case("section_unknown", "unknown section id 0 for this model kind")(
    lambda: patch(T, entry_pos(0), "I", 0))
case("section_unknown", "unknown section id 32 for this model kind")(
    lambda: patch(T, entry_pos(0), "I", 32))
case("section_unknown", "unknown section id 17 for this model kind")(
    lambda: patch(K, entry_pos(1), "I", 17))
case("section_unknown", "unknown section id 16 for this model kind")(  # kind flipped
    lambda: patch(T, 6, "H", 2))
case("section_unknown", "unknown section id 34 for this model kind")(
    lambda: make_knn(sample_type=SampleType.FLOAT32, quant=True))
case("section_duplicate", "section id 16 appears twice")(lambda: patch(T, entry_pos(1), "I", 16))
case("meta_overrun", "metadata record at offset 8 overruns its section")(
    lambda: make_trees(meta=encode_meta(producer="abcd") + struct.pack("<HH", 4, 3)
                       + b"\0\0"))
case("meta_overrun", "metadata record at offset 0 overruns its section")(
    lambda: make_trees(meta=struct.pack("<HH", 1, 100) + b"x" * 8))
case("meta_overrun", "metadata record at offset 8 overruns its section")(  # 2 stray bytes
    lambda: make_trees(meta=encode_meta(name="abcd") + b"\0\0"))
case("label_count", "1 labels for 2 classes")(lambda: make_trees(meta=encode_meta(labels=["a"])))
case("label_count", "2 labels for 3 classes")(
    lambda: make_knn(meta=encode_meta(labels=["a", "b"])))
case("label_count", "1 labels for 1 classes")(  # a regressor has none
    lambda: make_trees(n_outputs=1, task=1, meta=encode_meta(labels=["a"])))
case("section_missing", "missing section id 18")(lambda: rebuild(T, SectionId.TREE_LEAVES))
case("section_missing", "missing section id 16")(lambda: rebuild(T, SectionId.TREE_ROOTS))
case("section_missing", "missing section id 32")(lambda: rebuild(K, SectionId.KNN_PARAMS))
case("section_missing", "missing section id 33")(lambda: rebuild(K, SectionId.KNN_SAMPLES))
case("section_missing", "missing section id 35")(lambda: rebuild(K, SectionId.KNN_TARGETS))
case("section_missing", "missing section id 34")(
    lambda: make_knn(sample_type=SampleType.INT8, quant=False))
case("section_multiple", "section id 16 size 6 is not a multiple of 4")(
    lambda: patch(T, entry_pos(ROOTS) + 8, "I", 6))
case("section_multiple", "section id 17 size 284 is not a multiple of 8")(
    lambda: patch(T, entry_pos(NODES) + 8, "I", 284))
case("section_multiple", "section id 18 size 20 is not a multiple of 8")(
    lambda: patch(T, entry_pos(LEAVES) + 8, "I", 20))
case("section_size", "section id 32 has 8 bytes, expected 12")(
    lambda: patch(K, entry_pos(KN[0]) + 8, "I", 8))
case("section_size", "section id 33 has 56 bytes, expected 60")(
    lambda: patch(K, entry_pos(KN[1]) + 8, "I", 56))
case("section_size", "section id 35 has 12 bytes, expected 10")(
    lambda: patch(K, entry_pos(KN[2]) + 8, "I", 12))
case("section_size", "section id 34 has 20 bytes, expected 24")(
    lambda: (lambda b: patch(b, entry_pos(entry_index(b, 34)) + 8, "I", 20))(
        make_knn(sample_type=SampleType.INT16)))
case("n_trees", "bad tree count 65536 (1..65535)")(
    lambda: write_blob(kind=1, task=0, input_type=0, n_inputs=1, n_outputs=1, arena_bytes=8,
                       sections=[(16, bytes(4 * 65536)), (17, bytes(8)), (18, bytes(4))]))
case("root", "tree 0: root 5 out of order or range")(lambda: patch(T, ROOTS_AT, "I", 5))
case("root", "tree 2: root 5 out of order or range")(lambda: patch(T, ROOTS_AT + 8, "I", 5))
case("root", "tree 3: root 4 out of order or range")(lambda: patch(T, ROOTS_AT + 12, "I", 4))
case("root", "tree 3: root 36 out of order or range")(lambda: patch(T, ROOTS_AT + 12, "I", 36))
case("leaf_right", "tree 1 node 4: leaf with a child offset")(
    lambda: patch(T, node_pos(T, 9) + 6, "H", 1))
case("leaf_index", "tree 0 node 4: leaf index 3 out of range")(
    lambda: patch(T, node_pos(T, 4), "i", 3))
case("vote", "leaf vector 2: vote 1073741824 above the scale 1073741823")(  # 2^32-1 // 4 trees
    lambda: patch(T, section_pos(T, SectionId.TREE_LEAVES) + 4 * 5, "I", 1 << 30))
case("leaf_index", "tree 3 node 20: leaf index 4294967295 out of range")(  # key -1
    lambda: patch(T, node_pos(T, 35), "i", -1))
case("feature", "tree 0 node 2: feature 70 out of range (64 inputs)")(
    lambda: patch(T, node_pos(T, 2), "iHH", 0, 70, 1))
case("feature", "tree 2 node 1: feature 64 out of range (64 inputs)")(
    lambda: patch(T, node_pos(T, 11) + 4, "H", 64))
case("child", "tree 3 node 17: child index out of range")(
    lambda: patch(T, node_pos(T, 15 + 17), "iHH", 0, 0, 4))
case("child", "tree 0 node 0: child index out of range")(  # right == 0 on a split
    lambda: patch(T, node_pos(T, 0) + 6, "H", 0))
case("child", "tree 1 node 0: child index out of range")(  # into the next tree
    lambda: patch(T, node_pos(T, 5) + 6, "H", 5))
case("k_range", "k 0 out of range (1..1024)")(lambda: patch(K, KP, "I", 0))
case("k_range", "k 2000 out of range (1..1024)")(lambda: patch(K, KP, "I", 2000))
case("k_range", "k 1025 out of range (1..1024)")(
    lambda: (lambda b: patch(b, section_pos(b, 32), "I", 1025))(
        make_knn(n_samples=1100, n_inputs=1)))
case("k_samples", "k 9 larger than the 5 samples")(lambda: patch(K, KP, "I", 9))
case("k_samples", "k 3 larger than the 0 samples")(lambda: patch(K, KP + 4, "I", 0))
case("metric", "unknown kNN metric 2")(lambda: patch(K, KP + 8, "B", 2))
case("weights", "unknown kNN weights 7")(lambda: patch(K, KP + 9, "B", 7))
case("sample_type", "unknown kNN sample type 3")(lambda: patch(K, KP + 10, "B", 3))
case("knn_reserved", "reserved byte of KNN_PARAMS is not zero")(lambda: patch(K, KP + 11, "B", 1))
case("sample_nonfinite", "sample 2 feature 1 is not finite")(
    lambda: patch(K, section_pos(K, 33) + 4 * (2 * 3 + 1), "f", float("nan")))
case("sample_nonfinite", "sample 0 feature 0 is not finite")(
    lambda: patch(K, section_pos(K, 33), "f", float("-inf")))
case("quant_nonfinite", "feature 1: scale or offset is not finite")(
    lambda: patch(K8, section_pos(K8, 34) + 4 * (3 + 1), "f", float("inf")))
case("quant_nonfinite", "feature 2: scale or offset is not finite")(
    lambda: patch(K8, section_pos(K8, 34) + 4 * 2, "f", float("nan")))
case("class_index", "sample 4: class index 3 out of range")(
    lambda: patch(K, section_pos(K, 35) + 8, "H", 3))
case("arena", "arena_bytes 100, this model needs 272")(lambda: patch(T, 32, "I", 100))
case("arena", "arena_bytes 35, this model needs 48")(lambda: patch(K, 32, "I", 35))

REJECTIONS = [(check, fn, message) for check, cases in CASES.items()
              for fn, message in cases]


@pytest.mark.parametrize("check, craft, message", REJECTIONS,
                         ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(REJECTIONS)])
def test_rejection(check: str, craft: Case, message: str) -> None:
    data = craft()
    with pytest.raises(BlobError) as info:
        read_blob(data)
    assert str(info.value) == message
    assert info.value.check == check


def test_every_check_has_a_rejection_case() -> None:
    # the int8 CNN's checks (cnn_*) have their cases in test_format_cnn.py
    assert set(CASES) == {key for key in ERRORS if not key.startswith("cnn_")}


def test_formats_examples_verbatim() -> None:
    """The example messages of FORMAT.md's "Errors" section, word for word."""
    produced = {str(exc) for exc in _all_errors()}
    for example in ["bad magic (not an emlml blob)",
                    "unsupported version 7 (this build reads 1..1)",
                    "truncated: header says 4096 bytes, buffer has 4000", "CRC mismatch",
                    "section 2 outside the blob", "section 1 offset 50 not 4-byte aligned",
                    "tree 3 node 17: child index out of range",
                    "tree 0 node 2: feature 70 out of range (64 inputs)",
                    "k 9 larger than the 5 samples"]:
        assert example in produced, example


def _all_errors() -> list[BlobError]:
    errors = []
    for _, craft, _ in REJECTIONS:
        try:
            read_blob(craft())
        except BlobError as exc:
            errors.append(exc)
    return errors


def test_valid_fixtures_are_accepted() -> None:
    for data in (T, K, tiny_tree(), make_knn(sample_type=SampleType.INT8),
                 make_knn(task=Task.REGRESSOR), make_trees(n_outputs=1, task=1)):
        read_blob(data)
    read_blob(bytearray(T))
    read_blob(memoryview(T))


def test_check_order_first_failure_wins() -> None:
    """Two faults: the one checked first is reported (the C loader's order)."""
    bad_crc_and_kind = patch(T, 6, "H", 9, crc=False)  # kind is outside the CRC range
    with pytest.raises(ValueError, match="CRC mismatch"):
        read_blob(patch(bad_crc_and_kind, 30, "B", 1, crc=False))
    with pytest.raises(ValueError, match="header_size"):
        read_blob(patch(patch(T, 22, "H", 1), 18, "H", 40))
    with pytest.raises(ValueError, match="reserved header bytes"):
        read_blob(patch(patch(T, 22, "H", 1), 24, "I", 0))
    with pytest.raises(ValueError, match=f"offset {N + 90} not 4-byte aligned"):  # not
        read_blob(patch(T, entry_pos(1) + 4, "I", N + 90))  # "outside the blob"
    with pytest.raises(ValueError, match="leaf index 9"):  # the arena is checked last
        read_blob(patch(patch(T, 32, "I", 1), node_pos(T, 4), "i", 9))
    with pytest.raises(ValueError, match="metadata record"):  # META before the kind
        read_blob(rebuild(make_trees(meta=struct.pack("<HH", 1, 100) + bytes(4)), 18))
    with pytest.raises(ValueError, match="section id 16 size 6"):  # roots before nodes
        read_blob(patch(rebuild(T, SectionId.TREE_NODES), entry_pos(0) + 8, "I", 6))
    with pytest.raises(ValueError, match="feature 70"):  # feature before child
        read_blob(patch(T, node_pos(T, 2), "iHH", 0, 70, 9))
