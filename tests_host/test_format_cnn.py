"""Kind-3 (int8 CNN) blobs: layout and parity of a converted fixture (one layer of each
op), what the writer allows, and random corruptions of the layer and tensor tables caught
or harmless. Every refusal of the CNN checks is a case of the one table of bad blobs
(py_tools/emlml_dev/bad_blobs.py; test_format_bad_blobs.py, test_core_bad_blobs.py)."""

from __future__ import annotations

import numpy as np
from emlml_dev.blob_edit import set_layer, set_tensor
from emlml_dev.tflite_build import VALID, ModelBuilder, ten_op_network
from emlml_tools.convert.tflite_cnn import convert_tflite
from emlml_tools.format import (
    CNN_LAYER_DTYPE,
    CNN_TENSOR_DTYPE,
    BlobError,
    CnnOp,
    Kind,
    SectionId,
    cnn_blob,
    read_blob,
)
from emlml_tools.oracle import Oracle
from emlml_tools.runtime.cnn import predict_int8

TFL = ten_op_network()
C = convert_tflite(TFL)
_B = read_blob(C)
LAYER = {name: i for i, name in enumerate(["CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D",
                                           "ADD", "PAD", "AVERAGE_POOL_2D", "MEAN",
                                           "FULLY_CONNECTED", "RESHAPE", "SOFTMAX"])}


def _rebuilt(extra_tensor: bool = False, output: int | None = None) -> bytes:
    """The fixture rewritten with cnn_blob, optionally with one more (unused) tensor."""
    cnn = _B.cnn
    tensors = np.array(cnn.tensors)
    if extra_tensor:
        tensors = np.append(tensors, np.array([(1, 1, 2, 0, 0, 0)], dtype=CNN_TENSOR_DTYPE))
    return cnn_blob(input_tensor=cnn.input_tensor,
                    output_tensor=cnn.output_tensor if output is None else output,
                    input_scale=cnn.input_scale, output_scale=cnn.output_scale,
                    tensor_arena_bytes=cnn.tensor_arena_bytes, flags=cnn.flags,
                    tensors=tensors, layers=np.array(cnn.layers), weights=cnn.weights,
                    qparams=cnn.qparams)


# ---------------------------------------------------------------------------- valid blobs


def test_fixture_round_trip_and_parity() -> None:
    assert _B.kind == Kind.CNN and _B.cnn is not None
    assert [CnnOp(int(op)).name for op in _B.cnn.layers["op"]] == list(LAYER)
    assert _B.input_shape == (6, 6, 2) and _B.n_inputs == 72 and _B.n_outputs == 5
    # the 5 float outputs 4-aligned after the int8 output tensor (flag 4), inside the
    # tensors' bytes when they fit
    out_end = int(_B.cnn.tensors[_B.cnn.output_tensor]["offset"]) + 5
    assert _B.cnn.flags & 4
    assert _B.arena_bytes == max((_B.cnn.tensor_arena_bytes + 3) // 4 * 4,
                                 (out_end + 3) // 4 * 4 + 4 * 5)
    oracle = Oracle(TFL)
    rng = np.random.default_rng(5)
    for _ in range(10):
        q = rng.integers(-128, 128, (1, 6, 6, 2)).astype(np.int8)
        assert np.array_equal(predict_int8(C, q), oracle(q).reshape(-1))
    # the writer alone gives the same sections (without META)
    again = read_blob(_rebuilt())
    assert np.array_equal(again.cnn.layers, _B.cnn.layers)
    assert np.array_equal(again.cnn.qparams, _B.cnn.qparams)


def test_unused_tensor_is_allowed() -> None:
    assert read_blob(_rebuilt(extra_tensor=True)).cnn.n_tensors == 12


def test_qparams_section_is_never_empty() -> None:
    """A model without qparams (a lone pool) stores one 0 so the section exists."""
    b = ModelBuilder()
    x = b.tensor((1, 4, 4, 1), scale=0.05, zero_point=0)
    y = b.tensor((1, 2, 2, 1), scale=0.05, zero_point=0)
    b.op("MAX_POOL_2D", [x], [y], "Pool2DOptions", padding=VALID, stride_w=2, stride_h=2,
         filter_width=2, filter_height=2)
    blob = read_blob(convert_tflite(b.build([x], [y])))
    assert blob.section(SectionId.CNN_QPARAMS).size == 4
    assert blob.section(SectionId.CNN_WEIGHTS) is None


# ---------------------------------------------------------------------------- corruptions


def test_writer_rejects_nothing_reader_checks_everything() -> None:
    """Random single-field corruptions of the layer table: read_blob either accepts the blob
    (then the reference runs it without an index error) or refuses it with a BlobError."""
    rng = np.random.default_rng(0)
    names = list(CNN_LAYER_DTYPE.names)
    accepted = refused = 0
    for _ in range(300):
        i = int(rng.integers(0, len(LAYER)))
        name = names[int(rng.integers(0, len(names)))]
        ftype = CNN_LAYER_DTYPE.fields[name][0]
        info = np.iinfo(ftype)
        value = int(rng.integers(max(info.min, -300), min(info.max, 300) + 1))
        data = set_layer(C, i, **{name: value})
        try:
            read_blob(data)
        except BlobError:
            refused += 1
            continue
        accepted += 1
        predict_int8(data, np.zeros(72, np.int8))
    assert refused > 0 and accepted > 0


def test_tensor_table_corruptions_are_caught_or_harmless() -> None:
    """The same for the tensor table: shapes, offsets and zero points."""
    rng = np.random.default_rng(1)
    names = ["h", "w", "c", "offset", "zero_point"]
    accepted = refused = 0
    for _ in range(300):
        t = int(rng.integers(0, _B.cnn.n_tensors))
        name = names[int(rng.integers(0, len(names)))]
        value = int(rng.integers(-130, 300)) if name == "zero_point" else int(
            rng.integers(0, 300))
        data = set_tensor(C, t, **{name: value})
        try:
            model = read_blob(data)
        except BlobError:
            refused += 1
            continue
        accepted += 1
        out = predict_int8(model, np.zeros(model.n_inputs, np.int8))
        assert out.size == model.n_outputs
    assert refused > 0 and accepted > 0
