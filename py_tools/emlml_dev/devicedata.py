"""Data for the tests in tests_device/: blobs, inputs and expected outputs.

The device scripts are plain MicroPython, so everything they need is written as raw
files they can read without NumPy:

- ``index.txt``: one line per model: ``name task typecode n_inputs n_outputs n_samples``
- ``<name>.bin``: the blob
- ``<name>.x``: the test inputs, raw, in the blob's input type
- ``<name>.ref``: float32 outputs of the reference runtime (probabilities or values):
  the bits the C core must reproduce
- ``<name>.sk``: scikit-learn's ``predict``: int32 class index or float32 value
- ``bad/index.txt`` and ``bad/*.bin``: corrupted blobs, each with the words its
  ``ValueError`` must contain
"""

from __future__ import annotations

import dataclasses
import functools
import os
import struct
from dataclasses import dataclass
from typing import Callable

import numpy as np
from emlml_tools import runtime as reference
from emlml_tools.format import HEADER_SIZE, SECTION_ENTRY_SIZE, fix_crc

from emlml_dev.zoo import ZooModel, demo_models, test_models

TYPECODES = {np.dtype(np.float32): "f", np.dtype(np.int8): "b", np.dtype(np.uint8): "B",
             np.dtype(np.int16): "h"}


def sklearn_outputs(model: ZooModel) -> np.ndarray:
    """scikit-learn's predict on the float32 test inputs, as class indices or float32."""
    predicted = model.estimator.predict(model.X_test)
    if model.is_classifier:
        return np.searchsorted(model.estimator.classes_, predicted).astype(np.int32)
    return predicted.astype(np.float32)


def reference_outputs(blob: bytes, model: ZooModel) -> np.ndarray:
    if model.is_classifier:
        return reference.predict_proba(blob, model.inputs()).astype(np.float32)
    return reference.predict(blob, model.inputs()).astype(np.float32)[:, None]


def write_model(out_dir: str, model: ZooModel) -> str:
    """Write one model's files; returns its index.txt line."""
    blob = model.blob()
    x = np.ascontiguousarray(model.inputs())
    ref = reference_outputs(blob, model)
    with open(os.path.join(out_dir, model.name + ".bin"), "wb") as f:
        f.write(blob)
    with open(os.path.join(out_dir, model.name + ".x"), "wb") as f:
        f.write(x.tobytes())
    with open(os.path.join(out_dir, model.name + ".ref"), "wb") as f:
        f.write(ref.astype("<f4").tobytes())
    with open(os.path.join(out_dir, model.name + ".sk"), "wb") as f:
        f.write(sklearn_outputs(model).astype("<i4" if model.is_classifier else "<f4").tobytes())
    task = "classifier" if model.is_classifier else "regressor"
    return "%s %s %s %d %d %d" % (model.name, task, TYPECODES[x.dtype], x.shape[1],
                                  ref.shape[1], x.shape[0])


# --------------------------------------------------------------------------- bad blobs


def sections(blob: bytes) -> dict[int, tuple[int, int, int]]:
    """Section id -> (table index, offset, size)."""
    n = struct.unpack_from("<H", blob, 16)[0]
    out = {}
    for j in range(n):
        sid, off, size = struct.unpack_from("<III", blob, HEADER_SIZE + j * SECTION_ENTRY_SIZE)
        out[sid] = (j, off, size)
    return out


def _patch(blob: bytes, offset: int, fmt: str, *values: int | float, crc: bool = True) -> bytes:
    data = bytearray(blob)
    struct.pack_into(fmt, data, offset, *values)
    return fix_crc(bytes(data)) if crc else bytes(data)


def _entry(blob: bytes, sid: int) -> int:
    return HEADER_SIZE + sections(blob)[sid][0] * SECTION_ENTRY_SIZE


def _sec(blob: bytes, sid: int) -> int:
    return sections(blob)[sid][1]


@dataclass(frozen=True)
class BadBlob:
    name: str
    expect: str  # words the ValueError message must contain
    make: Callable[[bytes], bytes]
    base: str = "trees"  # which valid blob it corrupts: trees, forest, knn or cnn


def _first_split_node(blob: bytes) -> int:
    """Offset of the first split node in TREE_NODES."""
    off, size = _sec(blob, 17), sections(blob)[17][2]
    for pos in range(off, off + size, 8):
        if struct.unpack_from("<H", blob, pos + 4)[0] != 0xFFFF:
            return pos
    raise ValueError("no split node")


def _first_leaf_node(blob: bytes) -> int:
    off, size = _sec(blob, 17), sections(blob)[17][2]
    for pos in range(off, off + size, 8):
        if struct.unpack_from("<H", blob, pos + 4)[0] == 0xFFFF:
            return pos
    raise ValueError("no leaf")


def _drop_last_section(b: bytes) -> bytes:
    n = struct.unpack_from("<H", b, 16)[0]
    return _patch(b, 16, "<H", n - 1)


def _cnn_layer(blob: bytes, i: int) -> int:
    """Offset of CNN layer record i (FORMAT.md, CNN_LAYERS)."""
    return _sec(blob, 50) + 32 * i


def _cnn_tensor(blob: bytes, t: int) -> int:
    return _sec(blob, 49) + 16 * t


def _cnn_shift0(blob: bytes) -> int:
    """Offset of shift[0] of layer 0 (a CONV_2D: bias, multiplier, shift per channel)."""
    layer = _cnn_layer(blob, 0)
    out_c = struct.unpack_from("<H", blob, _cnn_tensor(blob, struct.unpack_from("<H", blob, layer + 8)[0]) + 4)[0]
    qp = struct.unpack_from("<I", blob, layer + 28)[0]
    return _sec(blob, 52) + 4 * (qp + 2 * out_c)


def _cnn_out_h(blob: bytes, i: int) -> int:
    """Offset of the h field of layer i's output tensor."""
    return _cnn_tensor(blob, struct.unpack_from("<H", blob, _cnn_layer(blob, i) + 8)[0])


def _cnn_overlap(blob: bytes) -> bytes:
    """The model's input moved onto layer 0's output (both live while layer 0 runs; the
    input is the smaller, so it stays inside the arena)."""
    in0, _, out = struct.unpack_from("<HHH", blob, _cnn_layer(blob, 0) + 4)
    offset = struct.unpack_from("<I", blob, _cnn_tensor(blob, out) + 8)[0]
    return _patch(blob, _cnn_tensor(blob, in0) + 8, "<I", offset)


def _cnn_cut_weights(blob: bytes) -> bytes:
    """CNN_WEIGHTS 16 bytes shorter: the last weighted layer's weights run past it."""
    return _patch(blob, _entry(blob, 51) + 8, "<I", sections(blob)[51][2] - 16)


BAD_BLOBS: tuple[BadBlob, ...] = (
    BadBlob("empty", "truncated", lambda b: b""),
    BadBlob("header_cut", "truncated", lambda b: b[:47]),
    BadBlob("magic", "bad magic", lambda b: b"XXXX" + b[4:]),
    BadBlob("version", "unsupported version 2", lambda b: _patch(b, 4, "<H", 2, crc=False)),
    BadBlob("truncated", "truncated: header says", lambda b: b[:-1]),
    BadBlob("trailing", "trailing bytes", lambda b: b + b"\0"),
    BadBlob("crc", "CRC mismatch", lambda b: b[:-1] + bytes([b[-1] ^ 0x40])),
    BadBlob("header_size", "header_size", lambda b: _patch(b, 18, "<H", 40)),
    BadBlob("reserved", "reserved", lambda b: _patch(b, 40, "<B", 1)),
    BadBlob("flags", "reserved", lambda b: _patch(b, 22, "<H", 1)),
    BadBlob("no_sections", "section count", lambda b: _patch(b, 16, "<H", 0)),
    BadBlob("kind", "unknown model kind 9", lambda b: _patch(b, 6, "<H", 9)),
    BadBlob("task", "unknown task", lambda b: _patch(b, 20, "<B", 5)),
    BadBlob("input_type", "unknown input type", lambda b: _patch(b, 21, "<B", 9)),
    BadBlob("no_inputs", "n_inputs 0", lambda b: _patch(b, 24, "<I", 0)),
    BadBlob("no_outputs", "n_outputs 0", lambda b: _patch(b, 28, "<I", 0)),
    BadBlob("misaligned", "not 4-byte aligned",
            lambda b: _patch(b, _entry(b, 17) + 4, "<I", _sec(b, 17) + 2)),
    BadBlob("outside", "outside the blob",
            lambda b: _patch(b, _entry(b, 18) + 8, "<I", len(b))),
    BadBlob("empty_section", "is empty", lambda b: _patch(b, _entry(b, 16) + 8, "<I", 0)),
    BadBlob("overlap", "overlaps", lambda b: _patch(b, _entry(b, 17) + 4, "<I", _sec(b, 16))),
    BadBlob("duplicate", "appears twice", lambda b: _patch(b, _entry(b, 17), "<I", 16)),
    BadBlob("unknown_section", "unknown section id 99", lambda b: _patch(b, _entry(b, 17), "<I", 99)),
    BadBlob("missing_section", "missing section id 18", _drop_last_section),
    BadBlob("child", "child index out of range",
            lambda b: _patch(b, _first_split_node(b) + 6, "<H", 0xFFFE)),
    BadBlob("child_zero", "child index out of range",
            lambda b: _patch(b, _first_split_node(b) + 6, "<H", 0)),
    BadBlob("feature", "feature 9999 out of range",
            lambda b: _patch(b, _first_split_node(b) + 4, "<H", 9999)),
    BadBlob("leaf", "leaf index", lambda b: _patch(b, _first_leaf_node(b), "<i", 1 << 20)),
    BadBlob("leaf_negative", "leaf index", lambda b: _patch(b, _first_leaf_node(b), "<i", -1)),
    BadBlob("leaf_child", "leaf with a child", lambda b: _patch(b, _first_leaf_node(b) + 6, "<H", 1)),
    BadBlob("arena", "arena_bytes", lambda b: _patch(b, 32, "<I", 16)),
    BadBlob("labels", "labels for", lambda b: _patch(b, 28, "<I", 2)),
    BadBlob("meta_overrun", "overruns", lambda b: _patch(b, _sec(b, 1) + 2, "<H", 0xFFF0)),
    BadBlob("roots", "root", lambda b: _patch(b, _sec(b, 16) + 4, "<I", 0), base="forest"),
    BadBlob("knn_k_zero", "k 0 out of range", lambda b: _patch(b, _sec(b, 32), "<I", 0), base="knn"),
    BadBlob("knn_k_large", "larger than the",
            lambda b: _patch(b, _sec(b, 32), "<I", struct.unpack_from("<I", b, _sec(b, 32) + 4)[0] + 1),
            base="knn"),
    BadBlob("knn_metric", "unknown kNN metric", lambda b: _patch(b, _sec(b, 32) + 8, "<B", 7), base="knn"),
    BadBlob("knn_weights", "unknown kNN weights", lambda b: _patch(b, _sec(b, 32) + 9, "<B", 7), base="knn"),
    BadBlob("knn_sample_type", "unknown kNN sample type",
            lambda b: _patch(b, _sec(b, 32) + 10, "<B", 7), base="knn"),
    BadBlob("knn_class", "class index", lambda b: _patch(b, _sec(b, 35) + 2, "<H", 500), base="knn"),
    BadBlob("knn_nan", "not finite", lambda b: _patch(b, _sec(b, 33) + 4, "<f", float("nan")), base="knn"),
    BadBlob("knn_samples_size", "section id 33 has",
            lambda b: _patch(b, _entry(b, 33) + 8, "<I", sections(b)[33][2] - 4), base="knn"),
    # int8 CNN: each refusal names the layer (FORMAT.md, kind 3)
    BadBlob("cnn_no_layers", "0 layers", lambda b: _patch(b, _sec(b, 48) + 2, "<H", 0), base="cnn"),
    BadBlob("cnn_chain", "layer 0 (CONV_2D): output shape",
            lambda b: _patch(b, _cnn_out_h(b, 0), "<H", struct.unpack_from("<H", b, _cnn_out_h(b, 0))[0] + 1),
            base="cnn"),
    BadBlob("cnn_shift", "layer 0 (CONV_2D): shift[0] 40 out of range",
            lambda b: _patch(b, _cnn_shift0(b), "<i", 40), base="cnn"),
    BadBlob("cnn_arena_small", "outside the 64-byte",
            lambda b: _patch(b, _sec(b, 48) + 16, "<I", 64), base="cnn"),
    BadBlob("cnn_overlap", "share arena bytes", _cnn_overlap, base="cnn"),
    BadBlob("cnn_weights_cut", "outside CNN_WEIGHTS", _cnn_cut_weights, base="cnn"),
    BadBlob("cnn_op", "layer 1: unknown op 99", lambda b: _patch(b, _cnn_layer(b, 1), "<B", 99), base="cnn"),
    BadBlob("cnn_stride", "stride_h is 0", lambda b: _patch(b, _cnn_layer(b, 0) + 10, "<B", 0), base="cnn"),
)


@functools.lru_cache(maxsize=1)
def base_blobs() -> dict[str, bytes]:
    """Small valid blobs that the bad cases corrupt (trained once per process)."""
    from emlml_tools.convert.sklearn_models import convert
    from sklearn.datasets import load_wine
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.tree import DecisionTreeClassifier

    X, y = load_wine(return_X_y=True)
    X = X.astype(np.float32)
    return {
        "trees": convert(DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)),
        "forest": convert(RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0).fit(X, y)),
        "knn": convert(KNeighborsClassifier(n_neighbors=3).fit(X[::10], y[::10])),
        "cnn": _digits_cnn_blob(),
    }


def _digits_cnn_blob() -> bytes:
    """The shipped digits CNN (CONV_2D first, then MAX_POOL_2D), converted."""
    from emlml_tools.convert.tflite_cnn import convert_tflite

    from emlml_dev.paths import MODELS_DIR

    with open(os.path.join(MODELS_DIR, "digits_cnn.tflite"), "rb") as f:
        return convert_tflite(f.read(), name="digits_cnn")


def write_bad_blobs(out_dir: str) -> list[tuple[str, str]]:
    os.makedirs(out_dir, exist_ok=True)
    bases = base_blobs()
    cases = []
    for case in BAD_BLOBS:
        with open(os.path.join(out_dir, case.name + ".bin"), "wb") as f:
            f.write(case.make(bases[case.base]))
        cases.append((case.name, case.expect))
    with open(os.path.join(out_dir, "index.txt"), "w") as f:
        for name, expect in cases:
            f.write("%s\t%s\n" % (name, expect))
    for name, blob in bases.items():
        with open(os.path.join(out_dir, "good_" + name + ".bin"), "wb") as f:
            f.write(blob)
    return cases


def wide_blob() -> bytes:
    """A valid tree whose model takes the most inputs a blob allows (65,534), so that
    loading it needs a 256 KB arena: the device tests use it to hit MemoryError."""
    from emlml_tools.convert.sklearn_models import convert
    from sklearn.tree import DecisionTreeClassifier

    X = np.zeros((4, 65534), dtype=np.float32)
    X[2:, 65533] = 1.0
    return convert(DecisionTreeClassifier(random_state=0).fit(X, [0, 0, 1, 1]))


def write_device_data(out_dir: str, models: list[ZooModel] | None = None,
                      progress: Callable[[str], None] | None = None,
                      cnn_random: int = 200, max_samples: int | None = None) -> list[str]:
    """Write everything tests_device/ reads into out_dir; returns the index lines.
    The CNN data (``cnn/``) holds the shipped .tflite examples and ``cnn_random``
    random networks, with TFLite's own outputs (cnn_devicedata.py). ``max_samples``
    keeps the first that many test samples of each model (every model and estimator
    kind stays): for boards with a small filesystem or a slow emulator."""
    os.makedirs(out_dir, exist_ok=True)
    lines = []
    for model in models if models is not None else demo_models() + test_models():
        if max_samples is not None:
            model = dataclasses.replace(model, X_test=model.X_test[:max_samples],
                                        y_test=model.y_test[:max_samples])
        if progress:
            progress(model.name)
        lines.append(write_model(out_dir, model))
    with open(os.path.join(out_dir, "index.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    write_bad_blobs(os.path.join(out_dir, "bad"))
    with open(os.path.join(out_dir, "wide.bin"), "wb") as f:
        f.write(wide_blob())
    from emlml_dev.cnn_devicedata import write_cnn_data
    write_cnn_data(os.path.join(out_dir, "cnn"), n_random=cnn_random, progress=progress)
    return lines
