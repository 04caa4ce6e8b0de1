"""The one table of bad blobs: every way a blob is refused, for every family (header,
section table and META; trees; kNN; int8 CNN), with what both loaders must say.

A case (``BadBlob``) is a name, the valid base blob it edits (a name in ``BASES``), the
edit (a function of the base's bytes, made of the field-name helpers of blob_edit.py), the
C status it is refused with (its name in EMLML_STATUS_LIST,
micropython_module/core/emlml_status.h) and the whole message (``emlml_error_format``'s
words; a function of the base when its numbers come from the base).

Who reads it:

- tests_host/test_format_bad_blobs.py: the Python reader (``read_blob``) raises
  ``BlobError`` with that status and that message;
- tests_host/test_core_bad_blobs.py: the sanitized C loader (tests_host/c/emlml_run.c,
  gcc and clang) refuses it with the same status, numbers and message;
- tests_device/test_bad_blobs.py: the cases marked ``device`` (small blobs, so the data
  stays small for the boards) are written by ``write_bad_blobs`` with their messages,
  and ``emlml.load`` on MicroPython must say them.

A build of some families only (EMLML_WITH_*, core/emlml_config.h) says what a build of
every family says, but for a blob of a family it lacks that passes the header checks
(``HEADER_STATUSES``): ``refusal`` gives what it says, tests_host/test_core_bad_blobs.py and
tests_host/test_device_families.py hold the single-family C drivers and .mpy to it.
"""

from __future__ import annotations

import functools
import math
import os
import struct
from dataclasses import dataclass
from typing import Callable, Collection

import numpy as np
from emlml_tools.format import (
    LEAF,
    META_RECORD_DTYPE,
    NODE_DTYPE,
    BlobError,
    CnnOp,
    InputType,
    Kind,
    Distances,
    Metric,
    SampleType,
    HEAD_DTYPE,
    STEP_DTYPE,
    Link,
    SectionId,
    Step,
    StepOp,
    SumType,
    Task,
    Weights,
    add_pipeline,
    boost_blob,
    cnn_blob,
    cnn_weight_count,
    encode_meta,
    knn_blob,
    read_blob,
    trees_blob,
)
from emlml_tools.format import c_tables as C
from emlml_tools.format.c_format import error_format
from emlml_tools.format.header import section_table
from emlml_tools.format import c_tables
from emlml_tools.format.c_tables import FIELD_NAMES

from emlml_dev.blob_edit import (
    cnn_param,
    entry_index,
    header,
    knn_param,
    layer,
    node,
    replace_section,
    section_bytes,
    section,
    set_cnn_param,
    set_entry,
    set_header,
    set_item,
    set_knn_param,
    set_layer,
    set_node,
    set_qparam,
    set_tensor,
    tensor,
    with_meta,
    without_section,
)

# ---------------------------------------------------------------------------- base blobs


def make_trees(n_inputs: int = 64, n_outputs: int = 2, n_trees: int = 4, task: int = 0,
               meta: bytes = b"", input_type: int = InputType.FLOAT32) -> bytes:
    """n_trees - 1 trees of 5 nodes, then a 21-node tree ("caterpillar")."""
    def tree(leaf_base: int) -> list[tuple[int, int, int]]:
        # 5 nodes in pre-order: split(f0) -> [split(f1) -> leaf, leaf], leaf
        return [(100, 0, 4), (-5, 1, 2), (leaf_base, LEAF, 0), (leaf_base + 1, LEAF, 0),
                (leaf_base + 2, LEAF, 0)]

    def caterpillar(m: int) -> list[tuple[int, int, int]]:
        # 2m + 1 nodes: splits 0..m-1 (left child next), then m + 1 leaves; split j has
        # its right child (a leaf) at j + 2 (m - j)
        return [(j, j % 2, 2 * (m - j)) for j in range(m)] + [(j % 3, LEAF, 0)
                                                             for j in range(m + 1)]

    trees = [tree(0) for _ in range(n_trees - 1)] + [caterpillar(10)]
    nodes = np.array([n for t in trees for n in t], dtype=NODE_DTYPE)
    leaves = np.arange(3 * n_outputs, dtype=np.float32).reshape(3, n_outputs)
    return trees_blob(task=task, input_type=input_type, n_inputs=n_inputs,
                      n_outputs=n_outputs, roots=np.arange(n_trees) * 5, nodes=nodes,
                      leaves=leaves, meta=meta)


def make_knn(sample_type: int = SampleType.FLOAT32, task: int = Task.CLASSIFIER,
             n_samples: int = 5, k: int = 3, quant: bool | None = None, meta: bytes = b"",
             n_inputs: int = 3, distances: int = Distances.FLOAT32) -> bytes:
    """n_samples random samples of n_inputs features, classes 0, 1, 2, 0, ..."""
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
                    offset=offset, meta=meta, distances=distances)


def make_pipe_knn() -> bytes:
    """make_knn (3 features) behind SCALE 6 -> 6 and PROJECT 6 -> 3, both run; a window of
    3 samples x 2 channels at 50 Hz. Params: SCALE 0..11, PROJECT 12..35 (36 floats)."""
    scale = Step(StepOp.SCALE, 6, 6, np.r_[np.zeros(6), np.arange(1, 7)].astype(np.float32))
    project = Step(StepOp.PROJECT, 6, 3, np.linspace(-1, 1, 24).astype(np.float32))
    return add_pipeline(make_knn(), [scale, project], 2, 2, 50.0)


def make_pipe_stats() -> bytes:
    """make_knn (4 features) behind PROJECT 8 -> 6 and STATS (mean and std: mask 3) of
    3 samples x 2 channels -> 4; a window of 4 samples x 2 channels. Params: PROJECT
    0..55, the mask at 56."""
    project = Step(StepOp.PROJECT, 8, 6, np.linspace(-1, 1, 56).astype(np.float32))
    stats = Step(StepOp.STATS, 6, 4, np.array([3], np.float32))
    return add_pipeline(make_knn(n_inputs=4), [project, stats], 2, 2)


def make_pipe_spectrum() -> bytes:
    """make_knn (6 features) behind SPECTRUM of 8 samples x 2 channels -> 3 bands each
    (edges 1, 2, 3, 5; eps 1e-10); params: window 0..7, cos 8..11, sin 12..15, edges
    16..19, eps 20."""
    from emlml_tools.features import spectrum_params

    step = Step(StepOp.SPECTRUM, 16, 6, spectrum_params(8, [1, 2, 3, 5], "hann", 1e-10))
    return add_pipeline(make_knn(n_inputs=6), [step], 1, 2)


def make_pipe_spectrum_shape() -> bytes:
    """make_knn (10 features) behind SPECTRUM of 8 samples x 2 channels -> 3 bands, skew
    and kurtosis each (byte 1: the STATS mask 0xC0); params as make_pipe_spectrum's."""
    from emlml_tools.features import spectrum_params

    step = Step(StepOp.SPECTRUM, 16, 10, spectrum_params(8, [1, 2, 3, 5], "none", 1e-10),
                shape=0xC0)
    return add_pipeline(make_knn(n_inputs=10), [step], 1, 2)


def _sos_two_sections() -> np.ndarray:
    """A 4th-order Butterworth low-pass (scipy) as SOS parameters: the count at 0, then
    b0 b1 b2 a1 a2 of section 0 at 1..5 and of section 1 at 6..10."""
    import scipy.signal
    from emlml_tools.features import sos_params

    return sos_params(scipy.signal.butter(4, 0.2, output="sos"))


def make_pipe_sos() -> bytes:
    """make_knn (8 features) behind SOS (two sections) of 4 samples x 2 channels."""
    return add_pipeline(make_knn(n_inputs=8), [Step(StepOp.SOS, 8, 8, _sos_two_sections())], 1, 2)


def make_pipe_sound(coefficients: int = 0) -> bytes:
    """make_knn behind MFE (``coefficients`` 0: 3 frames x 3 mels) or MFCC (3 frames x
    ``coefficients``) of a mono window of 16 samples at 8 kHz: frames of 8, hop 4,
    n_fft 8, three filters of two bins each. Params: head 0..7, window 8..15, cos 16..19,
    sin 20..23, filters (first, count) 24..29, weights 30..35, the DCT from 36."""
    from emlml_tools.features.mfcc import dct_matrix, sound_params

    filters = np.array([[0, 1, 0.5, 0, 0], [0, 0, 0.5, 1, 0], [0, 0, 0, 0.5, 1]])
    dct = dct_matrix(3, coefficients) if coefficients else None
    params = sound_params(8, 4, 8, "hann", 0.5, 1e-10, filters, dct)
    op, width = (StepOp.MFCC, coefficients) if coefficients else (StepOp.MFE, 3)
    step = Step(op, 16, 3 * width, params)
    return add_pipeline(make_knn(n_inputs=3 * width), [step], 1, 1, 8000.0)


def make_pipe_trees() -> bytes:
    """make_trees (64 inputs) behind SCALE and AFFINE 64 -> 64, both folded (n_run 0)."""
    ones = np.ones(64, np.float32)
    steps = [Step(StepOp.SCALE, 64, 64, np.r_[ones * 0.5, ones * 2]),
             Step(StepOp.AFFINE, 64, 64, np.r_[ones * 3, ones * -1])]
    return add_pipeline(make_trees(), steps, 0)


def make_pipe_cnn() -> bytes:
    """A FULLY_CONNECTED CNN (4 inputs -> 3 outputs, int8) behind SCALE 6 -> 6 and
    PROJECT 6 -> 4, both run (a CNN takes no folded step); a window of 3 samples x 2
    channels. Params: SCALE 0..11, PROJECT 12..41 (42 floats)."""
    from emlml_tools.convert.tflite_cnn import convert_tflite

    from emlml_dev.tflite_build import _fc_model
    fc = _fc_model([[1, -2, 3, 4], [5, 6, -7, 8], [-9, 10, 11, 12]], 0.02, [3, -4, 5],
                   (0.05, -3), (0.1, 2))
    scale = Step(StepOp.SCALE, 6, 6, np.r_[np.zeros(6), np.arange(1, 7)].astype(np.float32))
    project = Step(StepOp.PROJECT, 6, 4, np.linspace(-1, 1, 30).astype(np.float32))
    return add_pipeline(convert_tflite(fc), [scale, project], 2, 2)


def make_boost(n_groups: int = 1, task: int = Task.CLASSIFIER, sum_type: int = SumType.F64,
               input_type: int = InputType.FLOAT32) -> bytes:
    """Gradient boosting: 2 stumps per score group (3 nodes each: split on feature t % 3,
    two leaves), 3 inputs, NaN bits on every split; one group (binary classifier, or
    regressor) or n_groups classes (softmax). Leaf values 0.5 * (leaf index - 1)."""
    n_trees = 2 * n_groups
    nodes = np.array([n for t in range(n_trees) for n in
                      ((t - 1, t % 3, 2), (2 * t, LEAF, 0), (2 * t + 1, LEAF, 0))],
                     dtype=NODE_DTYPE)
    classifier = task == Task.CLASSIFIER
    link = Link.IDENTITY if not classifier else Link.SIGMOID if n_groups == 1 else Link.SOFTMAX
    return boost_blob(task=task, input_type=input_type, n_inputs=3,
                      n_outputs=max(2, n_groups) if classifier else 1,
                      roots=np.arange(n_trees) * 3, nodes=nodes,
                      leaves=0.5 * (np.arange(2 * n_trees) - 1.0), link=link, decision=0,
                      sum_type=sum_type, threshold=0.0, init=np.linspace(-1, 1, n_groups),
                      nan_left=None if input_type != InputType.FLOAT32 else
                      np.tile([True, False, False], n_trees))


def tiny_tree() -> bytes:
    """A regressor of a single leaf: 112 bytes."""
    return trees_blob(task=1, input_type=0, n_inputs=1, n_outputs=1, roots=[0],
                      nodes=np.array([(0, LEAF, 0)], NODE_DTYPE), leaves=[[1.0]])


@functools.lru_cache(maxsize=1)
def base_blobs() -> dict[str, bytes]:
    """The valid blobs the device tests also hold (``good_<name>.bin``), trained once per
    process: three wine models and the shipped digits CNN."""
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


@functools.lru_cache(maxsize=None)
def network(seed: int) -> tuple[bytes, dict, bytes | None]:
    """Random network number ``seed`` (tflite_build.random_network): the .tflite, its
    description and its blob (None when the converter refuses it)."""
    from emlml_tools.convert.tflite_cnn import convert_tflite
    from emlml_tools.convert.tflite_graph import UnsupportedModel

    from emlml_dev.tflite_build import random_network
    tfl, desc = random_network(np.random.default_rng(seed))
    try:
        return tfl, desc, convert_tflite(tfl)
    except UnsupportedModel:
        return tfl, desc, None


# Seeds of random networks tried first when a case needs a layer of some op.
NET_SEEDS = (6, 62, 46, 2, 24, 75, 84, 150, 239)
# What a case may need of the layer it breaks, besides its op.
NEEDS: dict[str, Callable] = {
    "": lambda cnn, k: True,
    "next": lambda cnn, k: k + 1 < cnn.n_layers,  # a layer after it
    "in_c2": lambda cnn, k: cnn.shape(int(cnn.layers[k]["in0"]))[2] >= 2,  # 2+ input channels
    "big_out": lambda cnn, k: max(cnn.shape(int(cnn.layers[k]["out"]))) > 1,  # not 1x1x1 out
}
_NET_BASES: dict[str, tuple[CnnOp, str]] = {}


def net_base(op: CnnOp, need: str = "") -> str:
    """The name of the base "the first converted random network with a layer of ``op``
    (that has ``need``)" (NET_SEEDS, then seeds 0..299)."""
    name = "net_" + op.name.lower() + ("_" + need if need else "")
    _NET_BASES[name] = (op, need)
    return name


def net_layer(blob: bytes, op: CnnOp, need: str = "") -> int:
    """The first layer of ``op`` (that has ``need``) in a CNN blob."""
    cnn = read_blob(blob).cnn
    for k in range(cnn.n_layers):
        if int(cnn.layers[k]["op"]) == op and NEEDS[need](cnn, k):
            return k
    raise LookupError(f"no fitting {op.name} layer")


def _find_net(op: CnnOp, need: str) -> bytes:
    for seed in NET_SEEDS + tuple(range(300)):
        blob = network(seed)[2]
        if blob is not None:
            try:
                net_layer(blob, op, need)
            except LookupError:
                continue
            return blob
    raise AssertionError(f"no random network has a fitting {op.name}")


def _pad_mean_blob() -> bytes:
    """PAD 2x2 -> 4x4, then MEAN over h and w."""
    from emlml_tools.convert.tflite_cnn import convert_tflite

    from emlml_dev.tflite_build import ModelBuilder
    b = ModelBuilder()
    x = b.tensor((1, 2, 2, 1), scale=0.1, zero_point=0)
    pads = b.tensor((4, 2), "int32", data=[0, 0, 1, 1, 1, 1, 0, 0])
    p = b.tensor((1, 4, 4, 1), scale=0.1, zero_point=0)
    axes = b.tensor((2,), "int32", data=[1, 2])
    y = b.tensor((1, 1, 1, 1), scale=0.1, zero_point=0)
    b.op("PAD", [x, pads], [p])
    b.op("MEAN", [p, axes], [y], "ReducerOptions", keep_dims=True)
    return convert_tflite(b.build([x], [y]))


def _table_ops_blob() -> bytes:
    """The five table ops in a chain on a 2x2x3 input: QUANTIZE (int8 to int8),
    LEAKY_RELU, HARD_SWISH, TANH, LOGISTIC (layers 0..4); tensors t0 .. t5 of 12 values;
    each layer's 256 table bytes at 256 * k in CNN_WEIGHTS (1280 bytes)."""
    from emlml_tools.convert.tflite_cnn import convert_tflite

    from emlml_dev.tflite_build import ModelBuilder
    b = ModelBuilder()
    quant = [(0.05, 3), (0.1, -2), (0.1, -2), (0.05, 10), (1 / 128, 0), (1 / 256, -128)]
    t = [b.tensor((1, 2, 2, 3), scale=s, zero_point=z) for s, z in quant]
    b.op("QUANTIZE", [t[0]], [t[1]])
    b.op("LEAKY_RELU", [t[1]], [t[2]], "LeakyReluOptions", alpha=0.2)
    b.op("HARD_SWISH", [t[2]], [t[3]])
    b.op("TANH", [t[3]], [t[4]])
    b.op("LOGISTIC", [t[4]], [t[5]])
    return convert_tflite(b.build([t[0]], [t[5]]))


def _concat_blob() -> bytes:
    """CONCATENATION of x (1x2x3, zero point 3), its requantized copy and x again along
    channels: layer 0 QUANTIZE (t0 -> t1), layer 1 CONCATENATION (t0, t1 -> t3, 1x2x6),
    layer 2 CONCATENATION (t3, t0 -> t2, 1x2x9, the output)."""
    from emlml_tools.convert.tflite_cnn import convert_tflite

    from emlml_dev.tflite_build import ModelBuilder
    b = ModelBuilder()
    x = b.tensor((1, 2, 3), scale=0.05, zero_point=3)
    q = b.tensor((1, 2, 3), scale=0.05, zero_point=3)
    y = b.tensor((1, 2, 9), scale=0.05, zero_point=3)
    b.op("QUANTIZE", [x], [q])
    b.op("CONCATENATION", [x, q, x], [y], "ConcatenationOptions", axis=-1)
    return convert_tflite(b.build([x], [y]))


def _broadcast_blob() -> bytes:
    """Squeeze-and-excite style on a 2x2x3 input x: layer 0 MEAN (x -> m, 1x1x3),
    layer 1 MUL (x, m), layer 2 SUB (that, m), layer 3 MAXIMUM (that, m), layer 4
    MINIMUM (that, x): the output."""
    from emlml_tools.convert.tflite_cnn import convert_tflite

    from emlml_dev.tflite_build import ModelBuilder
    b = ModelBuilder()
    x = b.tensor((1, 2, 2, 3), scale=0.05, zero_point=3)
    m = b.tensor((1, 1, 1, 3), scale=0.04, zero_point=-1)
    b.op("MEAN", [x, b.tensor((2,), "int32", data=[1, 2])], [m], "ReducerOptions",
         keep_dims=True)
    t = [b.tensor((1, 2, 2, 3), scale=s, zero_point=z)
         for s, z in ((0.01, 2), (0.08, -3), (0.08, 5), (0.06, 0))]
    b.op("MUL", [x, m], [t[0]], "MulOptions", fused_activation_function=0)
    b.op("SUB", [t[0], m], [t[1]], "SubOptions", fused_activation_function=0)
    b.op("MAXIMUM", [t[1], m], [t[2]])
    b.op("MINIMUM", [t[2], x], [t[3]])
    return convert_tflite(b.build([x], [t[3]]))


def _constant_blob() -> bytes:
    """Constant tensors and a broadcasting ADD on a 2x2x3 input x: layer 0 SUB (x, a
    constant of 3 values: tensor 1), layer 1 MUL (a constant of x's shape: tensor 3, the
    first operand; that), layer 2 MEAN (that -> m, 1x1x3), layer 3 ADD (that, m), layer 4
    MAXIMUM (that, a 1x2x1 constant: tensor 7): the output. CNN_WEIGHTS: the constants at
    0, 4 and 16, 18 bytes."""
    from emlml_tools.convert.tflite_cnn import convert_tflite

    from emlml_dev.tflite_build import ModelBuilder
    b = ModelBuilder()
    x = b.tensor((1, 2, 2, 3), scale=0.05, zero_point=3)
    c0 = b.tensor((3,), scale=0.02, zero_point=-128, data=[-128, 0, 127])
    c1 = b.tensor((1, 2, 2, 3), scale=0.01, zero_point=127, data=np.arange(-60, 60, 10))
    c2 = b.tensor((1, 1, 2, 1), scale=0.03, zero_point=0, data=[-5, 9])
    t = [b.tensor(shape, scale=s, zero_point=z) for shape, s, z in (
        ((1, 2, 2, 3), 0.06, -2), ((1, 2, 2, 3), 0.05, 4), ((1, 1, 1, 3), 0.05, 4),
        ((1, 2, 2, 3), 0.09, 1), ((1, 2, 2, 3), 0.09, 1))]
    b.op("SUB", [x, c0], [t[0]], "SubOptions", fused_activation_function=0)
    b.op("MUL", [c1, t[0]], [t[1]], "MulOptions", fused_activation_function=0)
    b.op("MEAN", [t[1], b.tensor((2,), "int32", data=[1, 2])], [t[2]], "ReducerOptions",
         keep_dims=True)
    b.op("ADD", [t[1], t[2]], [t[3]], "AddOptions", fused_activation_function=0)
    b.op("MAXIMUM", [t[3], c2], [t[4]])
    return convert_tflite(b.build([x], [t[4]]))


def _prelu_blob() -> bytes:
    """PRELU of a 1x2x3 input with one alpha per channel (weights: the alpha of each of
    the 6 output values), then a second PRELU (weights at 8): 14 weight bytes."""
    from emlml_tools.convert.tflite_cnn import convert_tflite

    from emlml_dev.tflite_build import ModelBuilder
    b = ModelBuilder()
    x = b.tensor((1, 2, 3), scale=0.05, zero_point=3)
    alpha = b.tensor((3,), scale=0.01, zero_point=-4, data=[20, -30, 100])
    y = b.tensor((1, 2, 3), scale=0.04, zero_point=-2)
    z = b.tensor((1, 2, 3), scale=0.04, zero_point=1)
    b.op("PRELU", [x, alpha], [y])
    b.op("PRELU", [y, alpha], [z])
    return convert_tflite(b.build([x], [z]))


def _transpose_conv_blob() -> bytes:
    """One TRANSPOSE_CONV: 3x3x3 -> 6x6x2, filter 4x4, stride 2, SAME, with a bias
    (tflite_build's edge model transpose_conv_2); weights 2 * 4 * 4 * 3 = 96 bytes."""
    from emlml_tools.convert.tflite_cnn import convert_tflite

    from emlml_dev.tflite_build import ACT_RELU6, SAME, _transpose_conv_model
    return convert_tflite(_transpose_conv_model(np.random.default_rng(1), (3, 3, 3), 2, (4, 4),
                                                (2, 2), SAME, True, ACT_RELU6, 0.05))


def _ten_op_blob() -> bytes:
    from emlml_tools.convert.tflite_cnn import convert_tflite

    from emlml_dev.tflite_build import ten_op_network
    return convert_tflite(ten_op_network())


BASES: dict[str, Callable[[], bytes]] = {
    # the device tests' blobs (base_blobs)
    "trees": lambda: base_blobs()["trees"],
    "forest": lambda: base_blobs()["forest"],
    "knn": lambda: base_blobs()["knn"],
    "cnn": lambda: base_blobs()["cnn"],
    # small hand-made fixtures: every number of their messages can be worked out by hand
    "trees4": make_trees,  # 3 trees of 5 nodes and one of 21; 64 inputs, 2 classes; 416 bytes
    "trees4_regressor": lambda: make_trees(n_outputs=1, task=Task.REGRESSOR),
    "tiny_tree": tiny_tree,
    "boost2": make_boost,  # binary: 2 stumps (6 nodes), 3 inputs, 4 float64 leaves
    "boost3": lambda: make_boost(n_groups=3),  # 3 classes: 6 stumps, 12 leaves
    "boost_regressor": lambda: make_boost(task=Task.REGRESSOR),
    "boost_f32": lambda: make_boost(sum_type=SumType.F32),  # XGBoost's float32 sums
    "boost_uint8": lambda: make_boost(input_type=InputType.UINT8),
    "knn5": make_knn,  # 5 float32 samples of 3 features, 3 classes, k 3
    "knn5_int8": lambda: make_knn(sample_type=SampleType.INT8),
    "knn5_int16": lambda: make_knn(sample_type=SampleType.INT16),
    "knn5_int16_integer": lambda: make_knn(sample_type=SampleType.INT16,
                                           distances=Distances.INTEGER),
    "knn1100": lambda: make_knn(n_samples=1100, n_inputs=1),
    "pipe_knn": make_pipe_knn,  # feature steps SCALE, PROJECT run before kNN
    "pipe_trees": make_pipe_trees,  # SCALE, AFFINE folded into trees4
    "pipe_stats": make_pipe_stats,  # PROJECT, STATS run before kNN
    "pipe_spectrum": make_pipe_spectrum,  # SPECTRUM run before kNN
    "pipe_spectrum_shape": make_pipe_spectrum_shape,  # SPECTRUM with skew, kurtosis before kNN
    "pipe_sos": make_pipe_sos,  # SOS (two sections) run before kNN
    "pipe_cnn": make_pipe_cnn,  # SCALE, PROJECT run before an int8 CNN (one FULLY_CONNECTED)
    "pipe_mfe": make_pipe_sound,  # MFE (3 frames x 3 mels) run before kNN
    "pipe_mfcc": lambda: make_pipe_sound(2),  # MFCC (3 frames x 2 coefficients) before kNN
    "cnn10": _ten_op_blob,  # tflite_build.ten_op_network: one layer of each op
    "pad_mean": _pad_mean_blob,
    "table5": _table_ops_blob,  # the five table ops in a chain, 2x2x3
    "concat3": _concat_blob,  # a CONCATENATION of three inputs: two layers
    "broadcast5": _broadcast_blob,  # MEAN, then MUL, SUB, MAXIMUM, MINIMUM broadcasting it
    "prelu2": _prelu_blob,  # two PRELU layers, alpha per channel
    "tconv": _transpose_conv_blob,  # one TRANSPOSE_CONV, 3x3x3 -> 6x6x2, stride 2, SAME
    "const5": _constant_blob,  # constant tensors 1, 3, 7 read by SUB, MUL, MAXIMUM; an ADD broadcasting
}


@functools.lru_cache(maxsize=None)
def base_blob(name: str) -> bytes:
    if name in _NET_BASES:
        return _find_net(*_NET_BASES[name])
    return BASES[name]()


# ---------------------------------------------------------------------------- the table

# The statuses of the header checks (core/emlml_blob.c: check_envelope,
# check_header_fields): a build without the blob's family (EMLML_E_NO_FAMILY) gives
# them as a build with it does, since it looks at the family only after them.
HEADER_STATUSES = frozenset({
    "EMLML_E_SHORT", "EMLML_E_MAGIC", "EMLML_E_VERSION", "EMLML_E_TRUNCATED",
    "EMLML_E_TRAILING", "EMLML_E_CRC", "EMLML_E_BUFFER_ALIGN", "EMLML_E_HEADER_SIZE",
    "EMLML_E_RESERVED", "EMLML_E_N_SECTIONS", "EMLML_E_KIND", "EMLML_E_TASK",
    "EMLML_E_INPUT_TYPE", "EMLML_E_N_INPUTS", "EMLML_E_N_OUTPUTS",
    "EMLML_E_REGRESSOR_OUTPUTS"})
# The statuses of the common checks (core/emlml_blob.c); the others are a family's.
COMMON_STATUSES = HEADER_STATUSES | frozenset({
    "EMLML_E_ARENA", "EMLML_E_SECTION_BOUNDS",
    "EMLML_E_SECTION_ALIGN", "EMLML_E_SECTION_ORDER", "EMLML_E_SECTION_EMPTY",
    "EMLML_E_SECTION_DUP", "EMLML_E_SECTION_UNKNOWN", "EMLML_E_META_OVERRUN",
    "EMLML_E_LABELS"})
FAMILY_OF_KIND = {Kind.TREES: "trees", Kind.KNN: "kNN", Kind.CNN: "CNN", Kind.BOOST: "trees"}


@dataclass(frozen=True)
class BadBlob:
    name: str
    base: str  # a name in BASES (or a net_base)
    edit: Callable[[bytes], bytes]  # the base -> the bad blob
    status: str  # the C status it is refused with (EMLML_STATUS_LIST)
    message: str | Callable[[bytes], str]  # the whole message; a function of the base
    device: bool = False  # also in tests_device/data/bad (small blobs only)

    def blob(self) -> bytes:
        return self.edit(base_blob(self.base))

    def expected(self) -> str:
        return self.message if isinstance(self.message, str) else self.message(base_blob(self.base))

    @property
    def family(self) -> str:
        """"header" (the checks of the header, the section table and META, and the arena
        size: core/emlml_blob.c), else the family of the base (trees, kNN, CNN), whose
        loader refuses it."""
        if self.status in COMMON_STATUSES:
            return "header"
        return FAMILY_OF_KIND[Kind(int(header(base_blob(self.base))["kind"]))]


BAD_BLOBS: list[BadBlob] = []


def bad(name: str, base: str, edit: Callable[[bytes], bytes], status: str,
        message: str | Callable[[bytes], str], device: bool = False) -> None:
    assert all(case.name != name for case in BAD_BLOBS), name
    BAD_BLOBS.append(BadBlob(name, base, edit, status, message, device))


def _entry(b: bytes, sid: int) -> int:
    return entry_index(b, sid)


def _first_node(b: bytes, leaf: bool) -> int:
    """Index of the first leaf (or split) node of TREE_NODES."""
    n = section(b, SectionId.TREE_NODES)[1] // NODE_DTYPE.itemsize
    return next(i for i in range(n) if (int(node(b, i)["feature"]) == LEAF) == leaf)


def _meta_labels(b: bytes) -> int:
    return len(read_blob(b).labels)


# ------------------------------------------------------------ header, section table, META
# The device's set first (on the wine tree unless said): they were the device list.

bad("empty", "trees", lambda b: b"", "EMLML_E_SHORT",
    "truncated: 0 bytes, the header alone needs 48", device=True)
bad("header_cut", "trees", lambda b: b[:47], "EMLML_E_SHORT",
    "truncated: 47 bytes, the header alone needs 48", device=True)
bad("magic", "trees", lambda b: b"XXXX" + b[4:], "EMLML_E_MAGIC",
    "bad magic (not an emlml blob)", device=True)
bad("version", "trees", lambda b: set_header(b, "version", 2, crc=False), "EMLML_E_VERSION",
    "unsupported version 2 (this build reads 1..1)", device=True)
bad("truncated", "trees", lambda b: b[:-1], "EMLML_E_TRUNCATED",
    lambda b: f"truncated: header says {len(b)} bytes, buffer has {len(b) - 1}", device=True)
bad("trailing", "trees", lambda b: b + b"\0", "EMLML_E_TRAILING",
    lambda b: f"trailing bytes: header says {len(b)} bytes, buffer has {len(b) + 1}",
    device=True)
bad("crc", "trees", lambda b: b[:-1] + bytes([b[-1] ^ 0x40]), "EMLML_E_CRC", "CRC mismatch",
    device=True)
bad("header_size", "trees", lambda b: set_header(b, "header_size", 40), "EMLML_E_HEADER_SIZE",
    "header_size 40, expected 48", device=True)
bad("reserved", "trees", lambda b: set_header(b, "reserved", bytes(4) + b"\x01" + bytes(7)),
    "EMLML_E_RESERVED", "reserved header bytes or flags are not zero", device=True)
bad("flags", "trees", lambda b: set_header(b, "flags", 1), "EMLML_E_RESERVED",
    "reserved header bytes or flags are not zero", device=True)
bad("no_sections", "trees", lambda b: set_header(b, "n_sections", 0), "EMLML_E_N_SECTIONS",
    "bad section count 0 (1..16)", device=True)
bad("kind", "trees", lambda b: set_header(b, "kind", 9), "EMLML_E_KIND",
    "unknown model kind 9", device=True)
bad("task", "trees", lambda b: set_header(b, "task", 5), "EMLML_E_TASK", "unknown task 5",
    device=True)
bad("input_type", "trees", lambda b: set_header(b, "input_type", 9), "EMLML_E_INPUT_TYPE",
    "unknown input type 9", device=True)
bad("no_inputs", "trees", lambda b: set_header(b, "n_inputs", 0), "EMLML_E_N_INPUTS",
    "n_inputs 0 out of range (1..65534)", device=True)
bad("no_outputs", "trees", lambda b: set_header(b, "n_outputs", 0), "EMLML_E_N_OUTPUTS",
    "n_outputs 0 out of range (1..65535)", device=True)
bad("misaligned", "trees",
    lambda b: set_entry(b, _entry(b, SectionId.TREE_NODES), "offset",
                        section(b, SectionId.TREE_NODES)[0] + 2),
    "EMLML_E_SECTION_ALIGN",
    lambda b: (f"section {_entry(b, SectionId.TREE_NODES)} offset "
               f"{section(b, SectionId.TREE_NODES)[0] + 2} not 4-byte aligned"), device=True)
bad("outside", "trees", lambda b: set_entry(b, _entry(b, SectionId.TREE_LEAVES), "size", len(b)),
    "EMLML_E_SECTION_BOUNDS",
    lambda b: f"section {_entry(b, SectionId.TREE_LEAVES)} outside the blob", device=True)
bad("empty_section", "trees", lambda b: set_entry(b, _entry(b, SectionId.TREE_ROOTS), "size", 0),
    "EMLML_E_SECTION_EMPTY",
    lambda b: f"section {_entry(b, SectionId.TREE_ROOTS)} is empty", device=True)
bad("overlap", "trees",
    lambda b: set_entry(b, _entry(b, SectionId.TREE_NODES), "offset",
                        section(b, SectionId.TREE_ROOTS)[0]),
    "EMLML_E_SECTION_ORDER",
    lambda b: f"section {_entry(b, SectionId.TREE_NODES)} overlaps or precedes the one before",
    device=True)
bad("duplicate", "trees",
    lambda b: set_entry(b, _entry(b, SectionId.TREE_NODES), "id", SectionId.TREE_ROOTS),
    "EMLML_E_SECTION_DUP", "section id 16 appears twice", device=True)
bad("unknown_section", "trees", lambda b: set_entry(b, _entry(b, SectionId.TREE_NODES), "id", 99),
    "EMLML_E_SECTION_UNKNOWN", "unknown section id 99 for this model kind", device=True)
bad("labels", "trees", lambda b: set_header(b, "n_outputs", 2), "EMLML_E_LABELS",
    lambda b: f"{_meta_labels(b)} labels for 2 classes", device=True)
bad("meta_overrun", "trees",
    lambda b: set_item(b, SectionId.META, 0, META_RECORD_DTYPE, 0xFFF0, field="length"),
    "EMLML_E_META_OVERRUN", "metadata record at offset 0 overruns its section", device=True)
bad("arena", "trees", lambda b: set_header(b, "arena_bytes", 16), "EMLML_E_ARENA",
    lambda b: f"arena_bytes 16, this model needs {int(header(b)['arena_bytes'])}", device=True)

# The same checks on the hand-made fixtures (trees4: 416 bytes; TREE_ROOTS, TREE_NODES,
# TREE_LEAVES at table places 0, 1, 2; knn5; tiny_tree: 112 bytes), every boundary.
_T_NODES_END = lambda b: sum(section(b, SectionId.TREE_NODES))  # noqa: E731

bad("short_40", "trees4", lambda b: b[:40], "EMLML_E_SHORT",
    "truncated: 40 bytes, the header alone needs 48")
bad("short_0", "trees4", lambda b: b"", "EMLML_E_SHORT",
    "truncated: 0 bytes, the header alone needs 48")
bad("magic_emlx", "trees4", lambda b: b"EMLX" + b[4:], "EMLML_E_MAGIC",
    "bad magic (not an emlml blob)")
bad("magic_zeros", "trees4", lambda b: bytes(64), "EMLML_E_MAGIC", "bad magic (not an emlml blob)")
bad("version_7", "trees4", lambda b: set_header(b, "version", 7, crc=False), "EMLML_E_VERSION",
    "unsupported version 7 (this build reads 1..1)")
bad("version_0", "trees4", lambda b: set_header(b, "version", 0, crc=False), "EMLML_E_VERSION",
    "unsupported version 0 (this build reads 1..1)")
bad("truncated_4096", "trees4",
    lambda b: set_header(b + bytes(4000 - len(b)), "total_size", 4096), "EMLML_E_TRUNCATED",
    "truncated: header says 4096 bytes, buffer has 4000")
bad("truncated_8", "trees4", lambda b: b[:-8], "EMLML_E_TRUNCATED",
    "truncated: header says 416 bytes, buffer has 408")
bad("trailing_8", "trees4", lambda b: b + bytes(8), "EMLML_E_TRAILING",
    "trailing bytes: header says 416 bytes, buffer has 424")
bad("crc_last_byte", "trees4", lambda b: b[:-1] + b"\x01", "EMLML_E_CRC", "CRC mismatch")
bad("crc_field", "trees4", lambda b: set_header(b, "crc32", 0, crc=False), "EMLML_E_CRC",
    "CRC mismatch")
bad("crc_n_inputs", "trees4", lambda b: set_header(b, "n_inputs", 65, crc=False), "EMLML_E_CRC",
    "CRC mismatch")
bad("header_size_40", "trees4", lambda b: set_header(b, "header_size", 40),
    "EMLML_E_HEADER_SIZE", "header_size 40, expected 48")
bad("flags_1", "trees4", lambda b: set_header(b, "flags", 1), "EMLML_E_RESERVED",
    "reserved header bytes or flags are not zero")
bad("reserved_last", "trees4", lambda b: set_header(b, "reserved", bytes(11) + b"\x01"),
    "EMLML_E_RESERVED", "reserved header bytes or flags are not zero")
bad("n_sections_0", "trees4", lambda b: set_header(b, "n_sections", 0), "EMLML_E_N_SECTIONS",
    "bad section count 0 (1..16)")
bad("n_sections_17", "trees4", lambda b: set_header(b, "n_sections", 17), "EMLML_E_N_SECTIONS",
    "bad section count 17 (1..16)")
bad("kind_5", "trees4", lambda b: set_header(b, "kind", 5), "EMLML_E_KIND", "unknown model kind 5")
bad("kind_0", "trees4", lambda b: set_header(b, "kind", 0), "EMLML_E_KIND", "unknown model kind 0")
bad("task_2", "trees4", lambda b: set_header(b, "task", 2), "EMLML_E_TASK", "unknown task 2")
bad("input_type_4", "trees4", lambda b: set_header(b, "input_type", 4), "EMLML_E_INPUT_TYPE",
    "unknown input type 4")
bad("n_inputs_0", "trees4", lambda b: set_header(b, "n_inputs", 0), "EMLML_E_N_INPUTS",
    "n_inputs 0 out of range (1..65534)")
bad("n_inputs_65535", "trees4", lambda b: set_header(b, "n_inputs", 65535), "EMLML_E_N_INPUTS",
    "n_inputs 65535 out of range (1..65534)")
bad("n_outputs_0", "trees4", lambda b: set_header(b, "n_outputs", 0), "EMLML_E_N_OUTPUTS",
    "n_outputs 0 out of range (1..65535)")
bad("n_outputs_65536", "trees4", lambda b: set_header(b, "n_outputs", 65536),
    "EMLML_E_N_OUTPUTS", "n_outputs 65536 out of range (1..65535)")
bad("regressor_2_outputs", "trees4", lambda b: set_header(b, "task", Task.REGRESSOR),
    "EMLML_E_REGRESSOR_OUTPUTS", "a regressor has 1 output, the blob says 2")
bad("section_empty", "trees4", lambda b: set_entry(b, 1, "size", 0), "EMLML_E_SECTION_EMPTY",
    "section 1 is empty")
bad("section_align_50", "trees4", lambda b: set_entry(b, 1, "offset", 50),
    "EMLML_E_SECTION_ALIGN", "section 1 offset 50 not 4-byte aligned")
bad("section_align_90", "tiny_tree", lambda b: set_entry(b, 1, "offset", 90),
    "EMLML_E_SECTION_ALIGN", "section 1 offset 90 not 4-byte aligned")
bad("section_table_outside", "tiny_tree", lambda b: set_header(b, "n_sections", 16),
    "EMLML_E_SECTION_BOUNDS", "section 0 outside the blob")  # the table itself does not fit
bad("section_outside", "trees4", lambda b: set_entry(b, 2, "size", len(b)),
    "EMLML_E_SECTION_BOUNDS", "section 2 outside the blob")
bad("section_in_table", "trees4", lambda b: set_entry(b, 0, "offset", 48),
    "EMLML_E_SECTION_BOUNDS", "section 0 outside the blob")  # inside the section table
bad("section_offset_wraps", "trees4", lambda b: set_entry(b, 1, "offset", 0xFFFFFFF8),
    "EMLML_E_SECTION_BOUNDS", "section 1 outside the blob")
bad("section_order", "trees4", lambda b: set_entry(b, 1, "offset", section(b, SectionId.TREE_ROOTS)[0]),
    "EMLML_E_SECTION_ORDER", "section 1 overlaps or precedes the one before")
bad("section_order_by_4", "trees4", lambda b: set_entry(b, 2, "offset", _T_NODES_END(b) - 4),
    "EMLML_E_SECTION_ORDER", "section 2 overlaps or precedes the one before")
bad("section_unknown_99", "trees4", lambda b: set_entry(b, 2, "id", 99),
    "EMLML_E_SECTION_UNKNOWN", "unknown section id 99 for this model kind")
bad("section_unknown_0", "trees4", lambda b: set_entry(b, 0, "id", 0),
    "EMLML_E_SECTION_UNKNOWN", "unknown section id 0 for this model kind")
bad("section_of_knn_in_trees", "trees4", lambda b: set_entry(b, 0, "id", SectionId.KNN_PARAMS),
    "EMLML_E_SECTION_UNKNOWN", "unknown section id 32 for this model kind")
bad("section_of_trees_in_knn", "knn5", lambda b: set_entry(b, 1, "id", SectionId.TREE_NODES),
    "EMLML_E_SECTION_UNKNOWN", "unknown section id 17 for this model kind")
bad("kind_flipped", "trees4", lambda b: set_header(b, "kind", Kind.KNN),
    "EMLML_E_SECTION_UNKNOWN", "unknown section id 16 for this model kind")
bad("section_duplicate", "trees4", lambda b: set_entry(b, 1, "id", SectionId.TREE_ROOTS),
    "EMLML_E_SECTION_DUP", "section id 16 appears twice")
bad("meta_overrun_second", "trees4",
    lambda b: with_meta(b, encode_meta(producer="abcd") + struct.pack("<HH", 4, 3) + b"\0\0"),
    "EMLML_E_META_OVERRUN", "metadata record at offset 8 overruns its section")
bad("meta_overrun_first", "trees4",
    lambda b: with_meta(b, struct.pack("<HH", 1, 100) + b"x" * 8),
    "EMLML_E_META_OVERRUN", "metadata record at offset 0 overruns its section")
bad("meta_stray_bytes", "trees4", lambda b: with_meta(b, encode_meta(name="abcd") + b"\0\0"),
    "EMLML_E_META_OVERRUN", "metadata record at offset 8 overruns its section")
bad("labels_1_of_2", "trees4", lambda b: with_meta(b, encode_meta(labels=["a"])),
    "EMLML_E_LABELS", "1 labels for 2 classes")
bad("labels_2_of_3", "knn5", lambda b: with_meta(b, encode_meta(labels=["a", "b"])),
    "EMLML_E_LABELS", "2 labels for 3 classes")
bad("labels_on_regressor", "trees4_regressor", lambda b: with_meta(b, encode_meta(labels=["a"])),
    "EMLML_E_LABELS", "1 labels for 1 classes")  # a regressor has none
bad("arena_100", "trees4", lambda b: set_header(b, "arena_bytes", 100), "EMLML_E_ARENA",
    "arena_bytes 100, this model needs 272")
bad("arena_knn", "knn5", lambda b: set_header(b, "arena_bytes", 35), "EMLML_E_ARENA",
    "arena_bytes 35, this model needs 48")

# ---------------------------------------------------------------------------- trees

bad("missing_section", "trees", lambda b: without_section(b, SectionId.TREE_LEAVES),
    "EMLML_E_SECTION_MISSING", "missing section id 18", device=True)
# TREE_NAN (the wine tree has it: 15 nodes, 13 inputs) and TREE_WEIGHTS (it has them too);
# trees4 has 36 nodes (two u32 words of NaN bits), tree 3 from node 15
bad("nan_int_input", "trees", lambda b: set_header(b, "input_type", InputType.INT8),
    "EMLML_E_TREE_NAN_INPUT", "TREE_NAN (section 19) needs float32 input, not input type 1",
    device=True)
bad("nan_size", "trees4", lambda b: replace_section(b, SectionId.TREE_NAN, bytes(4)),
    "EMLML_E_SECTION_LENGTH", "section id 19 has 4 bytes, expected 8")
bad("nan_leaf", "trees4", lambda b: replace_section(
    b, SectionId.TREE_NAN, struct.pack("<II", 1 << 2, 0)),  # node 2 of tree 0 is a leaf
    "EMLML_E_TREE_NAN_LEAF", "tree 0 node 2: NaN direction on a leaf")
bad("nan_leaf_last_tree", "trees4", lambda b: replace_section(
    b, SectionId.TREE_NAN, struct.pack("<II", 1 | 1 << 15, 1 << 2)),  # node 34: last leaf
    "EMLML_E_TREE_NAN_LEAF", "tree 3 node 19: NaN direction on a leaf")
bad("nan_padding", "trees4", lambda b: replace_section(
    b, SectionId.TREE_NAN, struct.pack("<II", 0, 1 << 4)), "EMLML_E_TREE_NAN_PADDING",
    "TREE_NAN: bit 36 set beyond the 36 nodes")
bad("nan_padding_wine", "trees", lambda b: replace_section(
    b, SectionId.TREE_NAN, struct.pack("<I", 1 << 31)), "EMLML_E_TREE_NAN_PADDING",
    lambda b: f"TREE_NAN: bit 31 set beyond the {read_blob(b).trees.n_nodes} nodes")
# ---------------------------------------------------------------------------- boosting

_P = SectionId.BOOST_PARAMS
bad("boost_params_missing", "boost2", lambda b: without_section(b, _P),
    "EMLML_E_SECTION_MISSING", "missing section id 21", device=True)
bad("boost_params_short", "boost2", lambda b: replace_section(b, _P, bytes(4)),
    "EMLML_E_SECTION_LENGTH", "section id 21 has 4 bytes, expected 8")
bad("boost_link_softmax_binary", "boost2", lambda b: set_item(b, _P, 0, "u1", 2),
    "EMLML_E_BOOST_LINK", "boosting: link 2 for task 0 with 2 outputs and 1 score groups")
bad("boost_link_unknown", "boost2", lambda b: set_item(b, _P, 0, "u1", 3),
    "EMLML_E_BOOST_LINK", "boosting: link 3 for task 0 with 2 outputs and 1 score groups")
bad("boost_link_regressor", "boost_regressor", lambda b: set_item(b, _P, 0, "u1", 1),
    "EMLML_E_BOOST_LINK", "boosting: link 1 for task 1 with 1 outputs and 1 score groups")
bad("boost_groups_binary", "boost2", lambda b: set_item(b, _P, 1, "<u4", 2),
    "EMLML_E_BOOST_LINK", "boosting: link 1 for task 0 with 2 outputs and 2 score groups")
bad("boost_groups_huge", "boost3", lambda b: set_item(b, _P, 1, "<u4", 0xFFFFFFFF),
    "EMLML_E_BOOST_LINK", "boosting: link 2 for task 0 with 3 outputs and 4294967295 score groups")
bad("boost_decision", "boost2", lambda b: set_item(b, _P, 1, "u1", 2), "EMLML_E_BOOST_PARAMS",
    "BOOST_PARAMS (section 21): decision 2, sum 0, reserved 0 (need 0..1, 0..1, 0)")
bad("boost_sum", "boost2", lambda b: set_item(b, _P, 2, "u1", 2), "EMLML_E_BOOST_PARAMS",
    "BOOST_PARAMS (section 21): decision 0, sum 2, reserved 0 (need 0..1, 0..1, 0)")
bad("boost_reserved", "boost3", lambda b: set_item(b, _P, 3, "u1", 7), "EMLML_E_BOOST_PARAMS",
    "BOOST_PARAMS (section 21): decision 0, sum 0, reserved 7 (need 0..1, 0..1, 0)")
bad("boost_params_long", "boost2", lambda b: replace_section(b, _P, section_bytes(b, _P) + bytes(8)),
    "EMLML_E_SECTION_LENGTH", "section id 21 has 32 bytes, expected 24")
bad("boost_threshold_nan", "boost2", lambda b: set_item(b, _P, 1, "<f8", np.nan),
    "EMLML_E_BOOST_SCORE", "boosting: threshold or init score 0 is not finite")
bad("boost_init_inf", "boost3", lambda b: set_item(b, _P, 4, "<f8", -np.inf),
    "EMLML_E_BOOST_SCORE", "boosting: threshold or init score 3 is not finite")
bad("boost_leaves_missing", "boost2", lambda b: without_section(b, SectionId.BOOST_LEAVES),
    "EMLML_E_SECTION_MISSING", "missing section id 22")
bad("boost_leaves_size", "boost2", lambda b: replace_section(b, SectionId.BOOST_LEAVES, bytes(12)),
    "EMLML_E_SECTION_SIZE", "section id 22 size 12 is not a multiple of 8")
bad("boost_leaf_index", "boost2", lambda b: set_node(b, 5, key=4), "EMLML_E_TREE_LEAF",
    "tree 1 node 2: leaf index 4 out of range")
bad("boost_groups", "boost3", lambda b: replace_section(
    b, SectionId.TREE_ROOTS, (np.arange(5, dtype="<u4") * 3).tobytes()), "EMLML_E_BOOST_GROUPS",
    "boosting: 5 trees are not a multiple of 3 score groups")
bad("boost_nan_int_input", "boost2", lambda b: set_header(b, "input_type", InputType.UINT8),
    "EMLML_E_TREE_NAN_INPUT", "TREE_NAN (section 19) needs float32 input, not input type 2")
bad("boost_nan_leaf", "boost3", lambda b: replace_section(b, SectionId.TREE_NAN, struct.pack("<I", 1 << 4)),
    "EMLML_E_TREE_NAN_LEAF", "tree 1 node 1: NaN direction on a leaf")
bad("boost_leaf_nan", "boost2", lambda b: set_item(b, SectionId.BOOST_LEAVES, 3, "<f8", np.nan),
    "EMLML_E_BOOST_LEAF", "boosting: leaf value 3 is not finite")
bad("boost_f32_leaf_inf", "boost_f32", lambda b: set_item(b, SectionId.BOOST_LEAVES, 1, "<f4", np.inf),
    "EMLML_E_BOOST_LEAF", "boosting: leaf value 1 is not finite")
bad("boost_f32_leaves_size", "boost_f32", lambda b: replace_section(b, SectionId.BOOST_LEAVES, bytes(6)),
    "EMLML_E_SECTION_SIZE", "section id 22 size 6 is not a multiple of 4")
bad("boost_tree_weights", "boost2", lambda b: replace_section(b, SectionId.TREE_WEIGHTS, bytes(16)),
    "EMLML_E_SECTION_UNKNOWN", "unknown section id 20 for this model kind")
bad("boost_tree_leaves", "boost_uint8", lambda b: replace_section(b, SectionId.TREE_LEAVES, bytes(16)),
    "EMLML_E_SECTION_UNKNOWN", "unknown section id 18 for this model kind")
bad("boost_arena", "boost3", lambda b: set_header(b, "arena_bytes", 12), "EMLML_E_ARENA",
    "arena_bytes 12, this model needs 48")
_Z = SectionId.BOOST_ZERO
bad("boost_zero_int_input", "boost_uint8", lambda b: replace_section(b, _Z, bytes(4)),
    "EMLML_E_BOOST_ZERO_NAN", "BOOST_ZERO (section 23) needs float32 input and TREE_NAN (section 19)")
bad("boost_zero_no_nan", "boost2", lambda b: replace_section(
    without_section(b, SectionId.TREE_NAN), _Z, bytes(4)), "EMLML_E_BOOST_ZERO_NAN",
    "BOOST_ZERO (section 23) needs float32 input and TREE_NAN (section 19)")
bad("boost_zero_size", "boost2", lambda b: replace_section(b, _Z, bytes(8)),
    "EMLML_E_SECTION_LENGTH", "section id 23 has 8 bytes, expected 4")
bad("boost_zero_padding", "boost3", lambda b: replace_section(b, _Z, struct.pack("<I", 0b1001)),
    "EMLML_E_BOOST_ZERO_PADDING", "BOOST_ZERO: bit 3 set beyond the 3 inputs")
bad("trees_boost_section", "trees4", lambda b: replace_section(b, _P, bytes(24)),
    "EMLML_E_SECTION_UNKNOWN", "unknown section id 21 for this model kind")
bad("weights_regressor", "trees4_regressor",
    lambda b: replace_section(b, SectionId.TREE_WEIGHTS, bytes(12)), "EMLML_E_TREE_WEIGHTS_TASK",
    "TREE_WEIGHTS (section 20) is for classifiers only")
bad("weights_short", "trees", lambda b: replace_section(
    b, SectionId.TREE_WEIGHTS, section_bytes(b, SectionId.TREE_WEIGHTS)[:-4]),
    "EMLML_E_SECTION_LENGTH", lambda b: "section id 20 has %d bytes, expected %d" % (
        len(section_bytes(b, SectionId.TREE_WEIGHTS)) - 4,
        len(section_bytes(b, SectionId.TREE_WEIGHTS))))
bad("weights_long", "trees4", lambda b: replace_section(b, SectionId.TREE_WEIGHTS, bytes(16)),
    "EMLML_E_SECTION_LENGTH", "section id 20 has 16 bytes, expected 12")
bad("weight_zero", "trees", lambda b: set_item(b, SectionId.TREE_WEIGHTS, 1, "<u4", 0),
    "EMLML_E_TREE_WEIGHT", "leaf vector 1: weight 0", device=True)
bad("weight_zero_last", "trees4", lambda b: replace_section(
    b, SectionId.TREE_WEIGHTS, np.array([3, 1, 0], "<u4").tobytes()),
    "EMLML_E_TREE_WEIGHT", "leaf vector 2: weight 0")
bad("child", "trees", lambda b: set_node(b, _first_node(b, False), right=0xFFFE),
    "EMLML_E_TREE_CHILD", lambda b: f"tree 0 node {_first_node(b, False)}: child index out of range",
    device=True)
bad("child_zero", "trees", lambda b: set_node(b, _first_node(b, False), right=0),
    "EMLML_E_TREE_CHILD", lambda b: f"tree 0 node {_first_node(b, False)}: child index out of range",
    device=True)
bad("feature", "trees", lambda b: set_node(b, _first_node(b, False), feature=9999),
    "EMLML_E_TREE_FEATURE",
    lambda b: f"tree 0 node {_first_node(b, False)}: feature 9999 out of range (13 inputs)",
    device=True)
bad("leaf", "trees", lambda b: set_node(b, _first_node(b, True), key=1 << 20), "EMLML_E_TREE_LEAF",
    lambda b: f"tree 0 node {_first_node(b, True)}: leaf index 1048576 out of range", device=True)
bad("leaf_negative", "trees", lambda b: set_node(b, _first_node(b, True), key=-1),
    "EMLML_E_TREE_LEAF",  # the key as u32, as C prints it
    lambda b: f"tree 0 node {_first_node(b, True)}: leaf index 4294967295 out of range",
    device=True)
bad("leaf_child", "trees", lambda b: set_node(b, _first_node(b, True), right=1),
    "EMLML_E_TREE_LEAF_CHILD",
    lambda b: f"tree 0 node {_first_node(b, True)}: leaf with a child offset", device=True)
bad("roots", "forest", lambda b: set_item(b, SectionId.TREE_ROOTS, 1, "<u4", 0),
    "EMLML_E_TREE_ROOT", "tree 1: root 0 out of order or range", device=True)

bad("missing_leaves", "trees4", lambda b: without_section(b, SectionId.TREE_LEAVES),
    "EMLML_E_SECTION_MISSING", "missing section id 18")
bad("missing_roots", "trees4", lambda b: without_section(b, SectionId.TREE_ROOTS),
    "EMLML_E_SECTION_MISSING", "missing section id 16")
bad("roots_size_6", "trees4", lambda b: set_entry(b, 0, "size", 6), "EMLML_E_SECTION_SIZE",
    "section id 16 size 6 is not a multiple of 4")
bad("nodes_size_284", "trees4", lambda b: set_entry(b, 1, "size", 284), "EMLML_E_SECTION_SIZE",
    "section id 17 size 284 is not a multiple of 8")
bad("leaves_size_20", "trees4", lambda b: set_entry(b, 2, "size", 20), "EMLML_E_SECTION_SIZE",
    "section id 18 size 20 is not a multiple of 8")
bad("tree_count_65536", "tiny_tree",  # 256 KB: not for the boards
    lambda b: replace_section(b, SectionId.TREE_ROOTS, bytes(4 * 65536)), "EMLML_E_TREE_COUNT",
    "bad tree count 65536 (1..65535)")
bad("root_0_not_0", "trees4", lambda b: set_item(b, SectionId.TREE_ROOTS, 0, "<u4", 5),
    "EMLML_E_TREE_ROOT", "tree 0: root 5 out of order or range")
bad("root_back", "trees4", lambda b: set_item(b, SectionId.TREE_ROOTS, 2, "<u4", 5),
    "EMLML_E_TREE_ROOT", "tree 2: root 5 out of order or range")
bad("root_inside_previous", "trees4", lambda b: set_item(b, SectionId.TREE_ROOTS, 3, "<u4", 4),
    "EMLML_E_TREE_ROOT", "tree 3: root 4 out of order or range")
bad("root_past_nodes", "trees4", lambda b: set_item(b, SectionId.TREE_ROOTS, 3, "<u4", 36),
    "EMLML_E_TREE_ROOT", "tree 3: root 36 out of order or range")
bad("leaf_with_child", "trees4", lambda b: set_node(b, 9, right=1), "EMLML_E_TREE_LEAF_CHILD",
    "tree 1 node 4: leaf with a child offset")
bad("leaf_index_3", "trees4", lambda b: set_node(b, 4, key=3), "EMLML_E_TREE_LEAF",
    "tree 0 node 4: leaf index 3 out of range")
bad("vote_above_scale", "trees4",  # 2^32-1 // 4 trees
    lambda b: set_item(b, SectionId.TREE_LEAVES, 5, "<u4", 1 << 30), "EMLML_E_TREE_VOTE",
    "leaf vector 2: vote 1073741824 above the scale 1073741823")
bad("leaf_index_minus_1", "trees4", lambda b: set_node(b, 35, key=-1), "EMLML_E_TREE_LEAF",
    "tree 3 node 20: leaf index 4294967295 out of range")
bad("feature_70", "trees4", lambda b: set_node(b, 2, key=0, feature=70, right=1),
    "EMLML_E_TREE_FEATURE", "tree 0 node 2: feature 70 out of range (64 inputs)")
bad("feature_64", "trees4", lambda b: set_node(b, 11, feature=64), "EMLML_E_TREE_FEATURE",
    "tree 2 node 1: feature 64 out of range (64 inputs)")
bad("child_past_tree", "trees4", lambda b: set_node(b, 15 + 17, key=0, feature=0, right=4),
    "EMLML_E_TREE_CHILD", "tree 3 node 17: child index out of range")
bad("child_right_0", "trees4", lambda b: set_node(b, 0, right=0), "EMLML_E_TREE_CHILD",
    "tree 0 node 0: child index out of range")  # right == 0 on a split
bad("child_into_next_tree", "trees4", lambda b: set_node(b, 5, right=5), "EMLML_E_TREE_CHILD",
    "tree 1 node 0: child index out of range")

# ---------------------------------------------------------------------------- kNN

bad("knn_k_zero", "knn", lambda b: set_knn_param(b, "k", 0), "EMLML_E_KNN_K_RANGE",
    "k 0 out of range (1..1024)", device=True)
bad("knn_k_large", "knn", lambda b: set_knn_param(b, "k", knn_param(b, "n_samples") + 1),
    "EMLML_E_KNN_K_SAMPLES",
    lambda b: f"k {knn_param(b, 'n_samples') + 1} larger than the {knn_param(b, 'n_samples')} samples",
    device=True)
bad("knn_metric", "knn", lambda b: set_knn_param(b, "metric", 7), "EMLML_E_KNN_METRIC",
    "unknown kNN metric 7", device=True)
bad("knn_weights", "knn", lambda b: set_knn_param(b, "weights", 7), "EMLML_E_KNN_WEIGHTS",
    "unknown kNN weights 7", device=True)
bad("knn_sample_type", "knn", lambda b: set_knn_param(b, "sample_type", 7),
    "EMLML_E_KNN_SAMPLE_TYPE", "unknown kNN sample type 7", device=True)
bad("knn_class", "knn", lambda b: set_item(b, SectionId.KNN_TARGETS, 1, "<u2", 500),
    "EMLML_E_KNN_CLASS", "sample 1: class index 500 out of range", device=True)
bad("knn_nan", "knn", lambda b: set_item(b, SectionId.KNN_SAMPLES, 1, "<f4", np.nan),
    "EMLML_E_KNN_NONFINITE", "sample 0 feature 1 is not finite", device=True)
bad("knn_samples_size", "knn",
    lambda b: set_entry(b, _entry(b, SectionId.KNN_SAMPLES), "size", section(b, SectionId.KNN_SAMPLES)[1] - 4),
    "EMLML_E_SECTION_LENGTH",
    lambda b: (f"section id 33 has {section(b, SectionId.KNN_SAMPLES)[1] - 4} bytes, expected "
               f"{section(b, SectionId.KNN_SAMPLES)[1]}"), device=True)

bad("knn_quant_with_float32", "knn5",
    lambda b: replace_section(b, SectionId.KNN_QUANT, bytes(24)), "EMLML_E_SECTION_UNKNOWN",
    "unknown section id 34 for this model kind")  # an unused id: float32 samples
bad("knn_missing_params", "knn5", lambda b: without_section(b, SectionId.KNN_PARAMS),
    "EMLML_E_SECTION_MISSING", "missing section id 32")
bad("knn_missing_samples", "knn5", lambda b: without_section(b, SectionId.KNN_SAMPLES),
    "EMLML_E_SECTION_MISSING", "missing section id 33")
bad("knn_missing_targets", "knn5", lambda b: without_section(b, SectionId.KNN_TARGETS),
    "EMLML_E_SECTION_MISSING", "missing section id 35")
bad("knn_missing_quant", "knn5_int8", lambda b: without_section(b, SectionId.KNN_QUANT),
    "EMLML_E_SECTION_MISSING", "missing section id 34")
bad("knn_params_8_bytes", "knn5", lambda b: set_entry(b, _entry(b, SectionId.KNN_PARAMS), "size", 8),
    "EMLML_E_SECTION_LENGTH", "section id 32 has 8 bytes, expected 12")
bad("knn_samples_56_bytes", "knn5", lambda b: set_entry(b, _entry(b, SectionId.KNN_SAMPLES), "size", 56),
    "EMLML_E_SECTION_LENGTH", "section id 33 has 56 bytes, expected 60")
bad("knn_targets_12_bytes", "knn5", lambda b: set_entry(b, _entry(b, SectionId.KNN_TARGETS), "size", 12),
    "EMLML_E_SECTION_LENGTH", "section id 35 has 12 bytes, expected 10")
bad("knn_quant_20_bytes", "knn5_int16",
    lambda b: set_entry(b, _entry(b, SectionId.KNN_QUANT), "size", 20),
    "EMLML_E_SECTION_LENGTH", "section id 34 has 20 bytes, expected 24")
bad("knn_k_0", "knn5", lambda b: set_knn_param(b, "k", 0), "EMLML_E_KNN_K_RANGE",
    "k 0 out of range (1..1024)")
bad("knn_k_2000", "knn5", lambda b: set_knn_param(b, "k", 2000), "EMLML_E_KNN_K_RANGE",
    "k 2000 out of range (1..1024)")
bad("knn_k_1025", "knn1100", lambda b: set_knn_param(b, "k", 1025), "EMLML_E_KNN_K_RANGE",
    "k 1025 out of range (1..1024)")
bad("knn_k_9", "knn5", lambda b: set_knn_param(b, "k", 9), "EMLML_E_KNN_K_SAMPLES",
    "k 9 larger than the 5 samples")
bad("knn_no_samples", "knn5", lambda b: set_knn_param(b, "n_samples", 0), "EMLML_E_KNN_K_SAMPLES",
    "k 3 larger than the 0 samples")
bad("knn_metric_2", "knn5", lambda b: set_knn_param(b, "metric", 2), "EMLML_E_KNN_METRIC",
    "unknown kNN metric 2")
bad("knn_weights_7", "knn5", lambda b: set_knn_param(b, "weights", 7), "EMLML_E_KNN_WEIGHTS",
    "unknown kNN weights 7")
bad("knn_sample_type_3", "knn5", lambda b: set_knn_param(b, "sample_type", 3),
    "EMLML_E_KNN_SAMPLE_TYPE", "unknown kNN sample type 3")
KNN_SCALE_LOG2_MAX = c_tables.KNN_SCALE_LOG2_MAX
bad("knn_distances_2", "knn5", lambda b: set_knn_param(b, "distances", 2), "EMLML_E_KNN_DISTANCES",
    "unknown kNN distances 2 (0 = float32, 1 = integer)")
bad("knn_distances_255", "knn5_int16_integer", lambda b: set_knn_param(b, "distances", 255),
    "EMLML_E_KNN_DISTANCES", "unknown kNN distances 255 (0 = float32, 1 = integer)")
bad("knn_integer_float32_samples", "knn5", lambda b: set_knn_param(b, "distances", 1),
    "EMLML_E_KNN_INT_FLOAT_SAMPLES", "integer kNN distances need int8 or int16 samples")
_INT_SCALE = ("integer distances need one scale for all, in "
              f"[2^-{KNN_SCALE_LOG2_MAX}, 2^{KNN_SCALE_LOG2_MAX}]")
# KNN_QUANT of knn5_int16_integer: scale 0.5 for its 3 features, then the offsets.
bad("knn_integer_scale_differs", "knn5_int16_integer",
    lambda b: set_item(b, SectionId.KNN_QUANT, 2, "<f4", 0.25), "EMLML_E_KNN_INT_SCALE",
    "feature 2: " + _INT_SCALE)
bad("knn_integer_scale_zero", "knn5_int16_integer",
    lambda b: set_item(b, SectionId.KNN_QUANT, 0, "<f4", 0.0), "EMLML_E_KNN_INT_SCALE",
    "feature 0: " + _INT_SCALE)
bad("knn_integer_scale_negative", "knn5_int16_integer",
    lambda b: set_item(b, SectionId.KNN_QUANT, 0, "<f4", -0.5), "EMLML_E_KNN_INT_SCALE",
    "feature 0: " + _INT_SCALE)
bad("knn_integer_scale_below", "knn5_int16_integer",
    lambda b: set_item(b, SectionId.KNN_QUANT, 0, "<f4",
                       np.nextafter(np.float32(2.0 ** -KNN_SCALE_LOG2_MAX), np.float32(0))),
    "EMLML_E_KNN_INT_SCALE", "feature 0: " + _INT_SCALE)
bad("knn_integer_scale_above", "knn5_int16_integer",
    lambda b: set_item(b, SectionId.KNN_QUANT, 0, "<f4",
                       np.nextafter(np.float32(2.0 ** KNN_SCALE_LOG2_MAX), np.float32(np.inf))),
    "EMLML_E_KNN_INT_SCALE", "feature 0: " + _INT_SCALE)
bad("knn_integer_offset_nan", "knn5_int16_integer",
    lambda b: set_item(b, SectionId.KNN_QUANT, 3 + 2, "<f4", np.nan),
    "EMLML_E_KNN_QUANT_NONFINITE", "feature 2: scale or offset is not finite")
bad("knn_sample_nan", "knn5", lambda b: set_item(b, SectionId.KNN_SAMPLES, 2 * 3 + 1, "<f4", np.nan),
    "EMLML_E_KNN_NONFINITE", "sample 2 feature 1 is not finite")
bad("knn_sample_minus_inf", "knn5", lambda b: set_item(b, SectionId.KNN_SAMPLES, 0, "<f4", -np.inf),
    "EMLML_E_KNN_NONFINITE", "sample 0 feature 0 is not finite")
bad("knn_offset_inf", "knn5_int8", lambda b: set_item(b, SectionId.KNN_QUANT, 3 + 1, "<f4", np.inf),
    "EMLML_E_KNN_QUANT_NONFINITE", "feature 1: scale or offset is not finite")
bad("knn_scale_nan", "knn5_int8", lambda b: set_item(b, SectionId.KNN_QUANT, 2, "<f4", np.nan),
    "EMLML_E_KNN_QUANT_NONFINITE", "feature 2: scale or offset is not finite")
bad("knn_class_3", "knn5", lambda b: set_item(b, SectionId.KNN_TARGETS, 4, "<u2", 3),
    "EMLML_E_KNN_CLASS", "sample 4: class index 3 out of range")

# ---------------------------------------------------------------------------- int8 CNN


def _op(b: bytes, k: int) -> CnnOp:
    return CnnOp(int(layer(b, k)["op"]))


def _where(b: bytes, k: int) -> str:
    """How a message names layer k (%L)."""
    return f"layer {k} ({_op(b, k).name}): "


def _shape(b: bytes, t: int) -> tuple[int, int, int]:
    r = tensor(b, t)
    return int(r["h"]), int(r["w"]), int(r["c"])


def _out(b: bytes, k: int) -> int:
    return int(layer(b, k)["out"])


def _in0(b: bytes, k: int) -> int:
    return int(layer(b, k)["in0"])


def _weights(b: bytes, k: int) -> int:
    """How many weights layer k has."""
    return cnn_weight_count(_op(b, k), _shape(b, _in0(b, k)), _shape(b, _out(b, k)),
                            int(layer(b, k)["filter_h"]), int(layer(b, k)["filter_w"]))


def _n_layers(b: bytes) -> int:
    return int(cnn_param(b, "n_layers"))


def _n_tensors(b: bytes) -> int:
    return int(cnn_param(b, "n_tensors"))


def _first_outside_arena(b: bytes, arena: int) -> str:
    """The message for the first tensor that does not fit a tensor arena of ``arena`` bytes."""
    for t in range(_n_tensors(b)):
        start = int(tensor(b, t)["offset"])
        end = start + math.prod(_shape(b, t))
        if end > arena:
            return f"tensor {t}: bytes [{start}, {end}) outside the {arena}-byte arena"
    raise AssertionError("every tensor fits")


def _cut_weights(b: bytes) -> bytes:
    j = _entry(b, SectionId.CNN_WEIGHTS)
    return set_entry(b, j, "size", section(b, SectionId.CNN_WEIGHTS)[1] - 16)


def _cut_weights_message(b: bytes) -> str:
    size = section(b, SectionId.CNN_WEIGHTS)[1] - 16
    for k in range(_n_layers(b)):
        start, n = int(layer(b, k)["weights_offset"]), _weights(b, k)
        if n and start + n > size:
            return _where(b, k) + f"weights [{start}, {start + n}) outside CNN_WEIGHTS ({size})"
    raise AssertionError("every layer's weights fit")


def _live_pair(b: bytes, k: int, t: int) -> str:
    return _where(b, k) + f"live tensors {min(t, _out(b, k))} and {max(t, _out(b, k))} share arena bytes"


# The device's set, on the digits CNN (CONV_2D, then MAX_POOL_2D, ...).
bad("cnn_no_layers", "cnn", lambda b: set_cnn_param(b, "n_layers", 0), "EMLML_E_CNN_COUNTS",
    lambda b: f"CNN: {_n_tensors(b)} tensors, 0 layers (2..512, 1..512)", device=True)
bad("cnn_chain", "cnn",
    lambda b: set_tensor(b, _out(b, 0), h=_shape(b, _out(b, 0))[0] + 1), "EMLML_E_CNN_CHAIN",
    lambda b: "layer 0 (CONV_2D): output shape {}x{}x{} does not chain".format(
        _shape(b, _out(b, 0))[0] + 1, *_shape(b, _out(b, 0))[1:]), device=True)
bad("cnn_shift", "cnn", lambda b: set_qparam(b, 0, 2 * _shape(b, _out(b, 0))[2], 40),
    "EMLML_E_CNN_CHANNEL_QPARAM", "layer 0 (CONV_2D): shift[0] 40 out of range", device=True)
bad("cnn_arena_small", "cnn", lambda b: set_cnn_param(b, "tensor_arena_bytes", 64),
    "EMLML_E_CNN_TENSOR_ARENA", lambda b: _first_outside_arena(b, 64), device=True)
bad("cnn_overlap", "cnn",  # the input moved onto layer 0's output (the smaller: still inside)
    lambda b: set_tensor(b, _in0(b, 0), offset=int(tensor(b, _out(b, 0))["offset"])),
    "EMLML_E_CNN_OVERLAP", lambda b: _live_pair(b, 0, _in0(b, 0)), device=True)
bad("cnn_weights_cut", "cnn", _cut_weights, "EMLML_E_CNN_WEIGHTS_BOUNDS", _cut_weights_message,
    device=True)
bad("cnn_op", "cnn", lambda b: set_layer(b, 1, op=99), "EMLML_E_CNN_OP", "layer 1: unknown op 99",
    device=True)
bad("cnn_stride", "cnn", lambda b: set_layer(b, 0, stride_h=0), "EMLML_E_CNN_FIELD_MIN1",
    "layer 0 (CONV_2D): stride_h is 0, must be >= 1", device=True)

# cnn10 (tflite_build.ten_op_network): layer k has the k-th op of this list; tensors t0
# (input, 6x6x2) .. t10 (output, 1x1x5); a 216-byte tensor arena; 128 weight bytes; 51
# qparams.
L10 = {name: k for k, name in enumerate([
    "CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "ADD", "PAD", "AVERAGE_POOL_2D", "MEAN",
    "FULLY_CONNECTED", "RESHAPE", "SOFTMAX"])}


_OP_UNKNOWN = len(CnnOp) + 1  # one past the op list


def _cnn10(name: str, edit: Callable[[bytes], bytes], status: str, message: str) -> None:
    bad("cnn10_" + name, "cnn10", edit, status, message)


def _unwritten_output(b: bytes) -> bytes:
    """The model with one more tensor (a copy of the output's), made the output: no layer
    writes it."""
    cnn = read_blob(b).cnn
    return cnn_blob(input_tensor=cnn.input_tensor, output_tensor=cnn.n_tensors,
                    input_scale=cnn.input_scale, output_scale=cnn.output_scale,
                    tensor_arena_bytes=cnn.tensor_arena_bytes, flags=cnn.flags,
                    tensors=np.concatenate([cnn.tensors, cnn.tensors[cnn.output_tensor:][:1]]),
                    layers=cnn.layers, weights=cnn.weights.tobytes(), qparams=cnn.qparams)


_cnn10("header_input_type", lambda b: set_header(b, "input_type", InputType.FLOAT32),
       "EMLML_E_CNN_HEADER", "CNN: task 0, input type 0 (needs 0 and 1: int8)")
_cnn10("no_layers", lambda b: set_cnn_param(b, "n_layers", 0), "EMLML_E_CNN_COUNTS",
       "CNN: 11 tensors, 0 layers (2..512, 1..512)")
_cnn10("one_tensor", lambda b: set_cnn_param(b, "n_tensors", 1), "EMLML_E_CNN_COUNTS",
       "CNN: 1 tensors, 10 layers (2..512, 1..512)")
_cnn10("513_layers", lambda b: set_cnn_param(b, "n_layers", 513), "EMLML_E_CNN_COUNTS",
       "CNN: 11 tensors, 513 layers (2..512, 1..512)")
_cnn10("input_tensor_11", lambda b: set_cnn_param(b, "input_tensor", 11),
       "EMLML_E_CNN_IO_TENSORS", "CNN: bad input/output tensors 11, 10")
_cnn10("output_is_input", lambda b: set_cnn_param(b, "output_tensor", 0),
       "EMLML_E_CNN_IO_TENSORS", "CNN: bad input/output tensors 0, 0")
_cnn10("input_scale_0", lambda b: set_cnn_param(b, "input_scale", 0.0), "EMLML_E_CNN_SCALE",
       "CNN: input scale not finite and positive")
_cnn10("output_scale_nan", lambda b: set_cnn_param(b, "output_scale", np.nan),
       "EMLML_E_CNN_SCALE", "CNN: output scale not finite and positive")
_cnn10("flags_8", lambda b: set_cnn_param(b, "flags", 8), "EMLML_E_CNN_FLAGS",
       "CNN: flags 8 or reserved bytes not zero")
# FORMAT.md: the float outputs after the output tensor (flag 4, 216 bytes in all) or
# after every tensor (align4(216) + 4 * 5): the header must say which
_cnn10("outputs_flag_cleared", lambda b: set_cnn_param(b, "flags", 0), "EMLML_E_ARENA",
       "arena_bytes 216, this model needs 236")
_cnn10("outputs_old_arena", lambda b: set_header(b, "arena_bytes", 236), "EMLML_E_ARENA",
       "arena_bytes 236, this model needs 216")
_cnn10("params_reserved", lambda b: set_cnn_param(b, "reserved", 1), "EMLML_E_CNN_FLAGS",
       "CNN: flags 4 or reserved bytes not zero")
_cnn10("tensors_size", lambda b: set_cnn_param(b, "n_tensors", 12), "EMLML_E_SECTION_LENGTH",
       "section id 49 has 176 bytes, expected 192")
_cnn10("layers_size", lambda b: set_cnn_param(b, "n_layers", 9), "EMLML_E_SECTION_LENGTH",
       "section id 50 has 320 bytes, expected 288")
_cnn10("no_qparams", lambda b: set_header(b, "n_sections", int(header(b)["n_sections"]) - 1),
       "EMLML_E_SECTION_MISSING", "missing section id 52")  # the table stops before it
_cnn10("arena_past_4_gb",  # the tensors fit, the float outputs after them would not
       lambda b: set_cnn_param(set_cnn_param(b, "flags", 0), "tensor_arena_bytes", 0xFFFFFFFD),
       "EMLML_E_CNN_ARENA_SIZE", "CNN: tensor arena of 4294967293 bytes too large")
_cnn10("outputs_past_4_gb",  # the output tensor at the arena's end: its floats past 4 GB
       lambda b: set_tensor(set_cnn_param(b, "tensor_arena_bytes", 0xFFFFFFFD), 10,
                            offset=0xFFFFFFF0),
       "EMLML_E_CNN_ARENA_SIZE", "CNN: tensor arena of 4294967293 bytes too large")
_cnn10("tensor_zero_h", lambda b: set_tensor(b, 3, h=0), "EMLML_E_CNN_TENSOR_SHAPE",
       "tensor 3: shape 0x3x4 has a zero dimension")
_cnn10("tensor_flags_2", lambda b: set_tensor(b, 2, flags=2), "EMLML_E_CNN_TENSOR_FLAGS",
       "tensor 2: flags 2, must be 0 or 1 (constant)")
_cnn10("tensor_zp_128", lambda b: set_tensor(b, 4, zero_point=128), "EMLML_E_CNN_TENSOR_ZP",
       "tensor 4: zero point 128 out of range")
_cnn10("tensor_outside_arena", lambda b: set_tensor(b, 5, offset=200), "EMLML_E_CNN_TENSOR_ARENA",
       "tensor 5: bytes [200, 300) outside the 216-byte arena")
_cnn10("arena_100", lambda b: set_cnn_param(b, "tensor_arena_bytes", 100),
       "EMLML_E_CNN_TENSOR_ARENA", "tensor 0: bytes [144, 216) outside the 100-byte arena")
_cnn10("n_inputs_71", lambda b: set_header(b, "n_inputs", 71), "EMLML_E_CNN_N_INPUTS",
       "n_inputs 71, the input tensor holds 72")
_cnn10("n_outputs_6", lambda b: set_header(b, "n_outputs", 6), "EMLML_E_CNN_N_OUTPUTS",
       "n_outputs 6, the output tensor holds 5")
_cnn10("op_past_the_list", lambda b: set_layer(b, L10["PAD"], op=_OP_UNKNOWN), "EMLML_E_CNN_OP",
       f"layer 4: unknown op {_OP_UNKNOWN}")
_cnn10("op_0", lambda b: set_layer(b, 0, op=0), "EMLML_E_CNN_OP", "layer 0: unknown op 0")
_cnn10("tensor_index", lambda b: set_layer(b, L10["MAX_POOL_2D"], in0=11),
       "EMLML_E_CNN_TENSOR_INDEX", "layer 2 (MAX_POOL_2D): tensor 11 out of range")
_cnn10("stride_on_reshape", lambda b: set_layer(b, L10["RESHAPE"], stride_h=1),
       "EMLML_E_CNN_FIELD_ZERO", "layer 8 (RESHAPE): stride_h is 1, must be 0")
_cnn10("dilation_on_pool", lambda b: set_layer(b, L10["MAX_POOL_2D"], dilation_h=1),
       "EMLML_E_CNN_FIELD_ZERO", "layer 2 (MAX_POOL_2D): dilation_h is 1, must be 0")
_cnn10("reserved_on_add", lambda b: set_layer(b, L10["ADD"], reserved=1),
       "EMLML_E_CNN_FIELD_ZERO", "layer 3 (ADD): reserved is 1, must be 0")
_cnn10("stride_w_0", lambda b: set_layer(b, L10["CONV_2D"], stride_w=0),
       "EMLML_E_CNN_FIELD_MIN1", "layer 0 (CONV_2D): stride_w is 0, must be >= 1")
_cnn10("padding_2", lambda b: set_layer(b, L10["CONV_2D"], padding=2), "EMLML_E_CNN_PADDING",
       "layer 0 (CONV_2D): padding is 2, must be 0 or 1")
_cnn10("act_on_mean", lambda b: set_layer(b, L10["MEAN"], act_min=-100),
       "EMLML_E_CNN_NO_ACTIVATION", "layer 6 (MEAN): act_min is -100, must be -128/127")
_cnn10("act_empty", lambda b: set_layer(b, L10["ADD"], act_min=10, act_max=5),
       "EMLML_E_CNN_ACTIVATION", "layer 3 (ADD): act_min 10 above act_max 5")
_cnn10("read_before_write", lambda b: set_layer(b, L10["ADD"], in1=5),
       "EMLML_E_CNN_UNWRITTEN_READ", "layer 3 (ADD): reads tensor 5 before it is written")
_cnn10("writes_input", lambda b: set_layer(b, L10["MAX_POOL_2D"], out=0),
       "EMLML_E_CNN_WRITES_INPUT", "layer 2 (MAX_POOL_2D): writes the input tensor 0")
_cnn10("written_twice", lambda b: set_layer(b, L10["MAX_POOL_2D"], out=2),
       "EMLML_E_CNN_WRITTEN_TWICE", "layer 2 (MAX_POOL_2D): tensor 2 already written by layer 1")
_cnn10("chain_conv", lambda b: set_tensor(b, 1, h=5), "EMLML_E_CNN_CHAIN",
       "layer 0 (CONV_2D): output shape 5x6x4 does not chain")
_cnn10("chain_depthwise_stride", lambda b: set_layer(b, L10["DEPTHWISE_CONV_2D"], stride_h=1, stride_w=1),
       "EMLML_E_CNN_CHAIN", "layer 1 (DEPTHWISE_CONV_2D): output shape 3x3x4 does not chain")
_cnn10("chain_mean", lambda b: set_tensor(b, 7, c=5), "EMLML_E_CNN_CHAIN",
       "layer 6 (MEAN): output shape 1x1x5 does not chain")
_cnn10("pool_zero_point", lambda b: set_tensor(b, 3, zero_point=5), "EMLML_E_CNN_ZP_DIFFERS",
       "layer 2 (MAX_POOL_2D): output zero point 5, input 2")
_cnn10("add_shapes", lambda b: set_layer(b, L10["ADD"], in1=1), "EMLML_E_CNN_CHAIN",
       "layer 3 (ADD): output shape 3x3x4 does not chain")
_cnn10("softmax_zero_point", lambda b: set_tensor(b, 10, zero_point=0), "EMLML_E_CNN_SOFTMAX_ZP",
       "layer 9 (SOFTMAX): output zero point 0, must be -128")
_cnn10("valid_window", lambda b: set_layer(b, L10["AVERAGE_POOL_2D"], filter_h=9),
       "EMLML_E_CNN_VALID_WINDOW", "layer 5 (AVERAGE_POOL_2D): VALID window 9 larger than input h 5")
_cnn10("pad_size", lambda b: set_layer(b, L10["PAD"], pad_h=3), "EMLML_E_CNN_PAD_SIZE",
       "layer 4 (PAD): output h 5 below input + padding 6")
_cnn10("reshape_size", lambda b: set_tensor(b, 9, c=6), "EMLML_E_CNN_RESHAPE_SIZE",
       "layer 8 (RESHAPE): 6 values out, 5 in")
_cnn10("weights_bounds", lambda b: set_layer(b, L10["FULLY_CONNECTED"], weights_offset=120),
       "EMLML_E_CNN_WEIGHTS_BOUNDS",
       "layer 7 (FULLY_CONNECTED): weights [120, 140) outside CNN_WEIGHTS (128)")
_cnn10("qparams_bounds", lambda b: set_layer(b, L10["SOFTMAX"], qparams_offset=50),
       "EMLML_E_CNN_QPARAMS_BOUNDS", "layer 9 (SOFTMAX): qparams [50, 53) outside CNN_QPARAMS (51)")
_cnn10("conv_shift_31", lambda b: set_qparam(b, L10["CONV_2D"], 8, 31),  # shift[0] of 4 channels
       "EMLML_E_CNN_CHANNEL_QPARAM", "layer 0 (CONV_2D): shift[0] 31 out of range")
_cnn10("depthwise_multiplier_5", lambda b: set_qparam(b, L10["DEPTHWISE_CONV_2D"], 6, 5),
       "EMLML_E_CNN_CHANNEL_QPARAM", "layer 1 (DEPTHWISE_CONV_2D): multiplier[2] 5 out of range")
_cnn10("add_left_shift_21", lambda b: set_qparam(b, L10["ADD"], 0, 21), "EMLML_E_CNN_QPARAM",
       "layer 3 (ADD): left_shift 21 out of range")
_cnn10("add_output_shift_1", lambda b: set_qparam(b, L10["ADD"], 6, 1), "EMLML_E_CNN_QPARAM",
       "layer 3 (ADD): output_shift 1 out of range")
_cnn10("mean_multiplier_minus_1", lambda b: set_qparam(b, L10["MEAN"], 0, -1),
       "EMLML_E_CNN_QPARAM", "layer 6 (MEAN): multiplier -1 out of range")
_cnn10("fc_scale_nan", lambda b: set_qparam(b, L10["FULLY_CONNECTED"], 8, -1),
       "EMLML_E_CNN_FC_SCALE",  # the high word of scale[1] all ones: a NaN
       "layer 7 (FULLY_CONNECTED): scale[1] not finite and >= 0")
_cnn10("softmax_diff_min_1", lambda b: set_qparam(b, L10["SOFTMAX"], 2, 1), "EMLML_E_CNN_QPARAM",
       "layer 9 (SOFTMAX): diff_min 1 out of range")
_cnn10("output_unwritten", _unwritten_output, "EMLML_E_CNN_OUTPUT_UNWRITTEN",
       "no layer writes the output tensor 11")
_cnn10("overlap_pool_dw", lambda b: set_tensor(b, 2, offset=int(tensor(b, 3)["offset"])),
       "EMLML_E_CNN_OVERLAP",  # both read by ADD: found at the later writer, the pool
       "layer 2 (MAX_POOL_2D): live tensors 2 and 3 share arena bytes")
_cnn10("overlap_input", lambda b: set_tensor(b, 0, offset=0), "EMLML_E_CNN_OVERLAP",
       "layer 0 (CONV_2D): live tensors 0 and 1 share arena bytes")
_cnn10("arena_100_header", lambda b: set_header(b, "arena_bytes", 100), "EMLML_E_ARENA",
       "arena_bytes 100, this model needs 216")

# table5 (_table_ops_blob): the table ops' rules (FORMAT.md: a 256-byte table in
# CNN_WEIGHTS, the input's shape, no other field).
bad("table5_weights_bounds", "table5", lambda b: set_layer(b, 4, weights_offset=1025),
    "EMLML_E_CNN_WEIGHTS_BOUNDS", "layer 4 (LOGISTIC): weights [1025, 1281) outside CNN_WEIGHTS (1280)")
bad("table5_no_weights", "table5", lambda b: without_section(b, SectionId.CNN_WEIGHTS),
    "EMLML_E_CNN_WEIGHTS_BOUNDS", "layer 0 (QUANTIZE): weights [0, 256) outside CNN_WEIGHTS (0)")
bad("table5_chain", "table5", lambda b: set_tensor(b, 3, c=2), "EMLML_E_CNN_CHAIN",
    "layer 2 (HARD_SWISH): output shape 2x2x2 does not chain")
bad("table5_padding", "table5", lambda b: set_layer(b, 1, padding=1), "EMLML_E_CNN_FIELD_ZERO",
    "layer 1 (LEAKY_RELU): padding is 1, must be 0")
bad("table5_in1", "table5", lambda b: set_layer(b, 0, in1=1), "EMLML_E_CNN_FIELD_ZERO",
    "layer 0 (QUANTIZE): in1 is 1, must be 0")
bad("table5_qparams_offset", "table5", lambda b: set_layer(b, 3, qparams_offset=1),
    "EMLML_E_CNN_FIELD_ZERO", "layer 3 (TANH): qparams_offset is 1, must be 0")
bad("table5_act_min", "table5", lambda b: set_layer(b, 2, act_min=-100),
    "EMLML_E_CNN_NO_ACTIVATION", "layer 2 (HARD_SWISH): act_min is -100, must be -128/127")
bad("table5_filter", "table5", lambda b: set_layer(b, 4, filter_w=3), "EMLML_E_CNN_FIELD_ZERO",
    "layer 4 (LOGISTIC): filter_w is 3, must be 0")

# concat3 (_concat_blob): CONCATENATION's rules (one zero point; one axis joins).
bad("concat3_zp_out", "concat3", lambda b: set_tensor(b, 2, zero_point=4), "EMLML_E_CNN_ZP_DIFFERS",
    "layer 1 (CONCATENATION): output zero point 4, input 3")
bad("concat3_zp_in1", "concat3", lambda b: set_tensor(b, 1, zero_point=-7), "EMLML_E_CNN_ZP_DIFFERS",
    "layer 1 (CONCATENATION): output zero point 3, input -7")
bad("concat3_chain_sum", "concat3", lambda b: set_tensor(b, 2, c=5), "EMLML_E_CNN_CHAIN",
    "layer 1 (CONCATENATION): output shape 1x2x5 does not chain")
bad("concat3_chain_two_axes", "concat3", lambda b: set_tensor(b, 2, h=2, w=1), "EMLML_E_CNN_CHAIN",
    "layer 1 (CONCATENATION): output shape 2x1x6 does not chain")
bad("concat3_in1_unwritten", "concat3", lambda b: set_layer(b, 1, in1=2), "EMLML_E_CNN_UNWRITTEN_READ",
    "layer 1 (CONCATENATION): reads tensor 2 before it is written")
bad("concat3_in1_overlap", "concat3", lambda b: set_tensor(b, 3, offset=16), "EMLML_E_CNN_OVERLAP",
    "layer 2 (CONCATENATION): live tensors 0 and 3 share arena bytes")
bad("concat3_in1_index", "concat3", lambda b: set_layer(b, 2, in1=4), "EMLML_E_CNN_TENSOR_INDEX",
    "layer 2 (CONCATENATION): tensor 4 out of range")

# broadcast5 (_broadcast_blob): the broadcasting ops' rules (each input the output's size
# or 1 along each axis; MUL's and SUB's qparams; MAXIMUM and MINIMUM have none).
bad("broadcast5_chain", "broadcast5", lambda b: set_tensor(b, 2, h=1, w=4), "EMLML_E_CNN_CHAIN",
    "layer 1 (MUL): output shape 1x4x3 does not chain")
bad("broadcast5_input_neither", "broadcast5", lambda b: set_tensor(b, 0, h=1, w=4),
    "EMLML_E_CNN_CHAIN", "layer 1 (MUL): output shape 2x2x3 does not chain")
bad("broadcast5_mul_multiplier", "broadcast5", lambda b: set_qparam(b, 1, 0, 5), "EMLML_E_CNN_QPARAM",
    "layer 1 (MUL): multiplier 5 out of range")
bad("broadcast5_mul_shift", "broadcast5", lambda b: set_qparam(b, 1, 1, 31), "EMLML_E_CNN_QPARAM",
    "layer 1 (MUL): shift 31 out of range")
bad("broadcast5_sub_left_shift", "broadcast5", lambda b: set_qparam(b, 2, 0, 21), "EMLML_E_CNN_QPARAM",
    "layer 2 (SUB): left_shift 21 out of range")
bad("broadcast5_sub_qparams_bounds", "broadcast5", lambda b: set_layer(b, 2, qparams_offset=5),
    "EMLML_E_CNN_QPARAMS_BOUNDS", "layer 2 (SUB): qparams [5, 12) outside CNN_QPARAMS (11)")
bad("broadcast5_max_activation", "broadcast5", lambda b: set_layer(b, 3, act_max=100),
    "EMLML_E_CNN_NO_ACTIVATION", "layer 3 (MAXIMUM): act_max is 100, must be -128/127")
bad("broadcast5_min_qparams_offset", "broadcast5", lambda b: set_layer(b, 4, qparams_offset=2),
    "EMLML_E_CNN_FIELD_ZERO", "layer 4 (MINIMUM): qparams_offset is 2, must be 0")
bad("broadcast5_mul_activation", "broadcast5", lambda b: set_layer(b, 1, act_min=10, act_max=5),
    "EMLML_E_CNN_ACTIVATION", "layer 1 (MUL): act_min 10 above act_max 5")

# prelu2 (_prelu_blob): PRELU's rules (its input's shape, an alpha per output value in
# CNN_WEIGHTS, two multipliers and shifts, the alpha zero point).
bad("prelu2_chain", "prelu2", lambda b: set_tensor(b, 1, w=3, c=2), "EMLML_E_CNN_CHAIN",
    "layer 0 (PRELU): output shape 1x3x2 does not chain")
bad("prelu2_weights_bounds", "prelu2", lambda b: set_layer(b, 1, weights_offset=9),
    "EMLML_E_CNN_WEIGHTS_BOUNDS", "layer 1 (PRELU): weights [9, 15) outside CNN_WEIGHTS (14)")
bad("prelu2_alpha_multiplier", "prelu2", lambda b: set_qparam(b, 0, 2, -1), "EMLML_E_CNN_QPARAM",
    "layer 0 (PRELU): multiplier -1 out of range")
bad("prelu2_alpha_shift", "prelu2", lambda b: set_qparam(b, 1, 3, -32), "EMLML_E_CNN_QPARAM",
    "layer 1 (PRELU): shift -32 out of range")
bad("prelu2_alpha_zero_point", "prelu2", lambda b: set_qparam(b, 1, 4, 128), "EMLML_E_CNN_QPARAM",
    "layer 1 (PRELU): alpha_zero_point 128 out of range")
bad("prelu2_activation", "prelu2", lambda b: set_layer(b, 0, act_min=0), "EMLML_E_CNN_NO_ACTIVATION",
    "layer 0 (PRELU): act_min is 0, must be -128/127")

# tconv (_transpose_conv_blob): TRANSPOSE_CONV's rules (a convolution of the output with
# its window gives the input; at most 65536 products per output; no dilation; the
# weights and per-channel qparams of a conv).
bad("tconv_chain", "tconv", lambda b: set_tensor(b, 1, h=2, c=6), "EMLML_E_CNN_CHAIN",
    "layer 0 (TRANSPOSE_CONV): output shape 2x6x6 does not chain")
bad("tconv_chain_valid", "tconv", lambda b: set_layer(b, 0, padding=0), "EMLML_E_CNN_CHAIN",
    "layer 0 (TRANSPOSE_CONV): output shape 6x6x2 does not chain")
bad("tconv_products", "tconv", lambda b: set_layer(b, 0, filter_h=255, filter_w=255),
    "EMLML_E_CNN_PRODUCTS", "layer 0 (TRANSPOSE_CONV): 195075 products per output, above 65536")
bad("tconv_dilation", "tconv", lambda b: set_layer(b, 0, dilation_w=1), "EMLML_E_CNN_FIELD_ZERO",
    "layer 0 (TRANSPOSE_CONV): dilation_w is 1, must be 0")
bad("tconv_stride_0", "tconv", lambda b: set_layer(b, 0, stride_w=0), "EMLML_E_CNN_FIELD_MIN1",
    "layer 0 (TRANSPOSE_CONV): stride_w is 0, must be >= 1")
bad("tconv_weights_bounds", "tconv", lambda b: set_layer(b, 0, weights_offset=4),
    "EMLML_E_CNN_WEIGHTS_BOUNDS", "layer 0 (TRANSPOSE_CONV): weights [4, 100) outside CNN_WEIGHTS (96)")
bad("tconv_multiplier", "tconv", lambda b: set_qparam(b, 0, 3, 5), "EMLML_E_CNN_CHANNEL_QPARAM",
    "layer 0 (TRANSPOSE_CONV): multiplier[1] 5 out of range")
bad("tconv_shift", "tconv", lambda b: set_qparam(b, 0, 4, 31), "EMLML_E_CNN_CHANNEL_QPARAM",
    "layer 0 (TRANSPOSE_CONV): shift[0] 31 out of range")


# ------------------------------------------------------------ feature steps (PIPE_*)
PH, PS, PP = SectionId.PIPE_HEAD, SectionId.PIPE_STEPS, SectionId.PIPE_PARAMS


def _head(b: bytes, **fields: object) -> bytes:
    for name, value in fields.items():
        b = set_item(b, PH, 0, HEAD_DTYPE, value, field=name)
    return b


def _step(b: bytes, k: int, **fields: object) -> bytes:
    for name, value in fields.items():
        b = set_item(b, PS, k, STEP_DTYPE, value, field=name)
    return b


def _grow(b: bytes, sid: int, extra: bytes) -> bytes:
    return replace_section(b, sid, section_bytes(b, sid) + extra)


def _seventeen_steps(b: bytes) -> bytes:
    ones = np.ones(64, np.float32)
    return add_pipeline(make_trees(), [Step(StepOp.SCALE, 64, 64, np.r_[ones * 0, ones])] * 17, 0)


bad("pipe_no_head", "pipe_knn", lambda b: without_section(b, PH), "EMLML_E_SECTION_MISSING",
    "missing section id 56", device=True)
bad("pipe_head_length", "pipe_knn", lambda b: _grow(b, PH, bytes(4)), "EMLML_E_SECTION_LENGTH",
    "section id 56 has 12 bytes, expected 8")
bad("pipe_no_steps", "pipe_knn", lambda b: without_section(b, PS), "EMLML_E_SECTION_MISSING",
    "missing section id 57")
bad("pipe_steps_size", "pipe_knn", lambda b: _grow(b, PS, bytes(4)), "EMLML_E_SECTION_SIZE",
    "section id 57 size 36 is not a multiple of 16")
bad("pipe_no_params", "pipe_trees", lambda b: without_section(b, PP), "EMLML_E_SECTION_MISSING",
    "missing section id 58")
bad("pipe_params_size", "pipe_knn", lambda b: _grow(b, PP, bytes(2)), "EMLML_E_SECTION_SIZE",
    "section id 58 size 146 is not a multiple of 4")
bad("pipe_input_type", "pipe_trees", lambda b: set_header(b, "input_type", InputType.INT8),
    "EMLML_E_PIPE_INPUT", "steps need input type 0, not 1")
bad("pipe_too_many_steps", "trees4", _seventeen_steps, "EMLML_E_PIPE_STEPS",
    "17 feature steps (at most 16)")
bad("pipe_run", "pipe_knn", lambda b: _head(b, n_run=3), "EMLML_E_PIPE_RUN",
    "n_run 3 > 2 steps", device=True)
bad("pipe_channels_zero", "pipe_knn", lambda b: _head(b, channels=0), "EMLML_E_PIPE_CHANNELS",
    "0 channels do not divide 6 inputs")
bad("pipe_channels", "pipe_knn", lambda b: _head(b, channels=4), "EMLML_E_PIPE_CHANNELS",
    "4 channels do not divide 6 inputs", device=True)
bad("pipe_rate_nan", "pipe_knn", lambda b: _head(b, sample_rate=np.nan), "EMLML_E_PIPE_RATE",
    "bad sample rate")
bad("pipe_rate_negative", "pipe_knn", lambda b: _head(b, sample_rate=-1.0), "EMLML_E_PIPE_RATE",
    "bad sample rate")
bad("pipe_param_inf", "pipe_knn", lambda b: set_item(b, PP, 13, "<f4", np.inf),
    "EMLML_E_PIPE_PARAM", "step parameter 13 not finite", device=True)
bad("step_op", "pipe_knn", lambda b: _step(b, 1, op=9), "EMLML_E_STEP_OP", "step 1: unknown op 9",
    device=True)
bad("step_op_zero", "pipe_trees", lambda b: _step(b, 0, op=0), "EMLML_E_STEP_OP",
    "step 0: unknown op 0")
bad("step_reserved", "pipe_knn", lambda b: _step(b, 0, reserved=b"\0\x01\0"),
    "EMLML_E_STEP_RESERVED", "step 0 (SCALE): reserved bytes not zero")
bad("step_inputs", "pipe_knn", lambda b: _step(b, 0, n_in=5), "EMLML_E_STEP_INPUTS",
    "step 0 (SCALE): 5 inputs, expected 6", device=True)
bad("step_inputs_chain", "pipe_knn", lambda b: _step(b, 1, n_in=7), "EMLML_E_STEP_INPUTS",
    "step 1 (PROJECT): 7 inputs, expected 6")
bad("step_outputs_per_value", "pipe_trees", lambda b: _step(b, 1, n_out=63),
    "EMLML_E_STEP_OUTPUTS", "step 1 (AFFINE): 63 outputs from 64 inputs")
bad("step_outputs_zero", "pipe_knn", lambda b: _step(b, 1, n_out=0), "EMLML_E_STEP_OUTPUTS",
    "step 1 (PROJECT): 0 outputs from 6 inputs")
bad("step_outputs_max", "pipe_knn", lambda b: _step(b, 1, n_out=65535), "EMLML_E_STEP_OUTPUTS",
    "step 1 (PROJECT): 65535 outputs from 6 inputs")
bad("step_params", "pipe_knn", lambda b: _step(b, 1, params=13), "EMLML_E_STEP_PARAMS",
    "step 1 (PROJECT): parameters end at 37 of 36", device=True)
bad("step_params_wrap", "pipe_knn", lambda b: _step(b, 1, params=0xFFFFFFF0),
    "EMLML_E_STEP_PARAMS", "step 1 (PROJECT): parameters end at 4294967295 of 36")
bad("step_params_more_outputs", "pipe_knn", lambda b: _step(b, 1, n_out=6), "EMLML_E_STEP_PARAMS",
    "step 1 (PROJECT): parameters end at 54 of 36")
bad("step_divisor_zero", "pipe_knn", lambda b: set_item(b, PP, 8, "<f4", 0.0), "EMLML_E_STEP_ZERO",
    "step 0 (SCALE): divisor 2 is zero", device=True)
bad("step_fold_knn", "pipe_knn", lambda b: _head(b, n_run=1), "EMLML_E_STEP_FOLD",
    "step 1 (PROJECT) cannot be folded into a kNN model", device=True)
bad("step_stats_mask_zero", "pipe_stats", lambda b: set_item(b, PP, 56, "<f4", 0.0),
    "EMLML_E_STEP_PARAM", "step 1 (STATS): parameter 0 out of range", device=True)
bad("step_stats_mask_fraction", "pipe_stats", lambda b: set_item(b, PP, 56, "<f4", 2.5),
    "EMLML_E_STEP_PARAM", "step 1 (STATS): parameter 0 out of range")
bad("step_stats_mask_unknown_bit", "pipe_stats", lambda b: set_item(b, PP, 56, "<f4", 512.0),
    "EMLML_E_STEP_PARAM", "step 1 (STATS): parameter 0 out of range")
bad("step_stats_channels", "pipe_stats", lambda b: _step(_step(b, 0, n_out=5), 1, n_in=5),
    "EMLML_E_STEP_CHANNELS", "step 1 (STATS): 5 inputs, not a multiple of 2 channels",
    device=True)
bad("step_stats_outputs", "pipe_stats", lambda b: _step(b, 1, n_out=6), "EMLML_E_STEP_OUTPUTS",
    "step 1 (STATS): 6 outputs from 6 inputs")
bad("step_spectrum_channels", "pipe_spectrum", lambda b: _head(b, channels=4), "EMLML_E_STEP_CHANNELS",
    "step 0 (SPECTRUM): 6 inputs, not a multiple of 4 channels")
bad("step_spectrum_fft", "pipe_spectrum",
    lambda b: add_pipeline(make_knn(n_inputs=6), [Step(StepOp.SPECTRUM, 12, 6, np.r_[
        np.ones(12), np.zeros(6), np.ones(6), [1, 2, 3, 4], [1e-10]].astype(np.float32))], 1, 2),
    "EMLML_E_STEP_FFT", "step 0 (SPECTRUM): 6 samples, not a power of two", device=True)
bad("step_spectrum_edge_order", "pipe_spectrum", lambda b: set_item(b, PP, 18, "<f4", 2.0),
    "EMLML_E_STEP_PARAM", "step 0 (SPECTRUM): parameter 18 out of range", device=True)
bad("step_spectrum_edge_range", "pipe_spectrum", lambda b: set_item(b, PP, 19, "<f4", 6.0),
    "EMLML_E_STEP_PARAM", "step 0 (SPECTRUM): parameter 19 out of range")
bad("step_spectrum_edge_fraction", "pipe_spectrum", lambda b: set_item(b, PP, 16, "<f4", 0.5),
    "EMLML_E_STEP_PARAM", "step 0 (SPECTRUM): parameter 16 out of range")
bad("step_spectrum_eps", "pipe_spectrum", lambda b: set_item(b, PP, 20, "<f4", 0.0),
    "EMLML_E_STEP_PARAM", "step 0 (SPECTRUM): parameter 20 out of range")
bad("step_spectrum_shape_unknown", "pipe_spectrum_shape", lambda b: _step(b, 0, reserved=b"\xc1\0\0"),
    "EMLML_E_STEP_RESERVED", "step 0 (SPECTRUM): reserved bytes not zero")
bad("step_spectrum_shape_byte2", "pipe_spectrum_shape", lambda b: _step(b, 0, reserved=b"\xc0\x01\0"),
    "EMLML_E_STEP_RESERVED", "step 0 (SPECTRUM): reserved bytes not zero")
bad("step_spectrum_shape_no_bands", "pipe_spectrum_shape",
    lambda b: add_pipeline(make_knn(n_inputs=4), [Step(StepOp.SPECTRUM, 16, 4, np.r_[
        np.ones(8), np.zeros(8), [1], [1e-10]].astype(np.float32), shape=0xC0)], 1, 2),
    "EMLML_E_STEP_OUTPUTS", "step 0 (SPECTRUM): 4 outputs from 16 inputs")
bad("step_spectrum_shape_params", "pipe_spectrum_shape", lambda b: _step(b, 0, reserved=b"\0\0\0"),
    "EMLML_E_STEP_PARAMS", "step 0 (SPECTRUM): parameters end at 23 of 21")
bad("step_sos_shape_byte", "pipe_sos", lambda b: _step(b, 0, reserved=b"\x40\0\0"),
    "EMLML_E_STEP_RESERVED", "step 0 (SOS): reserved bytes not zero")
bad("step_sos_outputs", "pipe_sos", lambda b: _step(b, 0, n_out=7), "EMLML_E_STEP_OUTPUTS",
    "step 0 (SOS): 7 outputs from 8 inputs")
bad("step_sos_sections_zero", "pipe_sos", lambda b: set_item(b, PP, 0, "<f4", 0.0),
    "EMLML_E_STEP_PARAM", "step 0 (SOS): parameter 0 out of range")
bad("step_sos_sections_fraction", "pipe_sos", lambda b: set_item(b, PP, 0, "<f4", 1.5),
    "EMLML_E_STEP_PARAM", "step 0 (SOS): parameter 0 out of range")
bad("step_sos_sections_max", "pipe_sos", lambda b: set_item(b, PP, 0, "<f4", C.PIPE_MAX_SECTIONS + 1),
    "EMLML_E_STEP_PARAM", "step 0 (SOS): parameter 0 out of range")
bad("step_sos_params", "pipe_sos", lambda b: set_item(b, PP, 0, "<f4", 3.0), "EMLML_E_STEP_PARAMS",
    "step 0 (SOS): parameters end at 16 of 11")
bad("step_sos_params_outside", "pipe_sos", lambda b: _step(b, 0, params=11), "EMLML_E_STEP_PARAMS",
    "step 0 (SOS): parameters end at 12 of 11")
bad("step_sos_channels", "pipe_sos",
    lambda b: add_pipeline(make_knn(n_inputs=3), [
        Step(StepOp.PROJECT, 8, 3, np.linspace(-1, 1, 32).astype(np.float32)),
        Step(StepOp.SOS, 3, 3, _sos_two_sections())], 2, 2),
    "EMLML_E_STEP_CHANNELS", "step 1 (SOS): 3 inputs, not a multiple of 2 channels")
bad("step_sos_unstable_a2", "pipe_sos", lambda b: set_item(b, PP, 10, "<f4", 1.0),
    "EMLML_E_STEP_PARAM", "step 0 (SOS): parameter 10 out of range")
bad("step_sos_unstable_a2_negative", "pipe_sos", lambda b: set_item(b, PP, 5, "<f4", -1.0),
    "EMLML_E_STEP_PARAM", "step 0 (SOS): parameter 5 out of range")
bad("step_sos_unstable_a1", "pipe_sos", lambda b: set_item(b, PP, 9, "<f4", -1.9),
    "EMLML_E_STEP_PARAM", "step 0 (SOS): parameter 9 out of range")
bad("step_sos_coefficient_nan", "pipe_sos", lambda b: set_item(b, PP, 3, "<f4", np.nan),
    "EMLML_E_PIPE_PARAM", "step parameter 3 not finite")
bad("pipe_spectrum_arena", "pipe_spectrum",
    lambda b: set_header(b, "arena_bytes", int(header(b)["arena_bytes"]) - 64),
    "EMLML_E_ARENA", lambda b: "arena_bytes {}, this model needs {}".format(
        int(header(b)["arena_bytes"]) - 64, int(header(b)["arena_bytes"])))


# The sound steps' cases stay off the boards' device data (device=False): the ESP32's and
# RP2040's file systems are full; the host's C builds check them all.
def _sound_param(name: str, base: str, index: int, value: float, device: bool = False) -> None:
    """A sound step's parameter ``index`` set to ``value``: refused as out of range."""
    step = "MFCC" if base == "pipe_mfcc" else "MFE"
    bad(name, base, lambda b: set_item(b, PP, index, "<f4", value), "EMLML_E_STEP_PARAM",
        f"step 0 ({step}): parameter {index} out of range", device=device)


bad("step_sound_channels", "pipe_mfe", lambda b: _head(b, channels=2), "EMLML_E_STEP_MONO",
    "step 0 (MFE) takes one channel, not 2")
bad("step_sound_head_params", "pipe_mfe", lambda b: _step(b, 0, params=30), "EMLML_E_STEP_PARAMS",
    "step 0 (MFE): parameters end at 38 of 36")
for _name, _base, _i, _v, _device in (
        ("frame_zero", "pipe_mfe", 0, 0.0, False), ("frame_long", "pipe_mfe", 0, 17.0, False),
        ("frame_fraction", "pipe_mfcc", 0, 7.5, False), ("hop_zero", "pipe_mfe", 1, 0.0, False),
        ("hop_max", "pipe_mfe", 1, 65535.0, False), ("fft_not_power", "pipe_mfe", 2, 12.0, False),
        ("fft_short", "pipe_mfe", 2, 4.0, False), ("fft_max", "pipe_mfcc", 2, 8192.0, False),
        ("mels_zero", "pipe_mfe", 3, 0.0, False), ("mels_many", "pipe_mfe", 3, 6.0, False),
        ("mfe_coefficients", "pipe_mfe", 4, 1.0, False),
        ("mfcc_coefficients_zero", "pipe_mfcc", 4, 0.0, False),
        ("mfcc_coefficients_many", "pipe_mfcc", 4, 4.0, False),
        ("preemphasis_negative", "pipe_mfe", 5, -0.5, False),
        ("preemphasis_high", "pipe_mfcc", 5, 1.5, False), ("floor_zero", "pipe_mfe", 6, 0.0, False),
        ("floor_subnormal", "pipe_mfcc", 6, 1e-40, False),
        ("weights_many", "pipe_mfe", 7, 16.0, False), ("filter_first", "pipe_mfe", 24, 6.0, False),
        ("filter_first_fraction", "pipe_mfcc", 26, 1.5, False),
        ("filter_count", "pipe_mfe", 25, 5.0, False)):
    _sound_param("step_sound_" + _name, _base, _i, _v, _device)
bad("step_sound_weights_sum", "pipe_mfcc", lambda b: set_item(b, PP, 27, "<f4", 1.0),
    "EMLML_E_STEP_PARAM", "step 0 (MFCC): parameter 7 out of range")
bad("step_sound_params", "pipe_mfe", lambda b: set_item(b, PP, 7, "<f4", 7.0), "EMLML_E_STEP_PARAMS",
    "step 0 (MFE): parameters end at 37 of 36")
bad("step_sound_params_dct", "pipe_mfcc", lambda b: _grow_params(b, -1), "EMLML_E_STEP_PARAMS",
    "step 0 (MFCC): parameters end at 42 of 41")
bad("step_sound_outputs", "pipe_mfcc", lambda b: _step(b, 0, n_out=9), "EMLML_E_STEP_OUTPUTS",
    "step 0 (MFCC): 9 outputs from 16 inputs")
bad("step_sound_outputs_hop", "pipe_mfe", lambda b: set_item(b, PP, 1, "<f4", 2.0),
    "EMLML_E_STEP_OUTPUTS", "step 0 (MFE): 9 outputs from 16 inputs")
bad("pipe_sound_arena", "pipe_mfcc",
    lambda b: set_header(b, "arena_bytes", int(header(b)["arena_bytes"]) - 4),
    "EMLML_E_ARENA", lambda b: "arena_bytes {}, this model needs {}".format(
        int(header(b)["arena_bytes"]) - 4, int(header(b)["arena_bytes"])))


def _grow_params(b: bytes, floats: int) -> bytes:
    """PIPE_PARAMS ``floats`` longer (negative: shorter, cut at its end)."""
    data = section_bytes(b, PP)
    return replace_section(b, PP, data + bytes(4 * floats) if floats >= 0 else data[:4 * floats])


bad("pipe_features_for_knn", "pipe_knn",
    lambda b: _step(b, 1, n_out=2), "EMLML_E_SECTION_LENGTH",
    "section id 33 has 60 bytes, expected 40")
bad("pipe_arena", "pipe_knn", lambda b: set_header(b, "arena_bytes", int(header(b)["arena_bytes"]) - 8),
    "EMLML_E_ARENA", lambda b: "arena_bytes {}, this model needs {}".format(
        int(header(b)["arena_bytes"]) - 8, int(header(b)["arena_bytes"])))

# A CNN behind feature steps: the steps' outputs are its input tensor's values, every
# step runs, the window is float32. A build without feature steps (the CNN-only module)
# refuses all of them, and the valid base, with EMLML_E_NO_FEATURES (``refusal``).
bad("pipe_cnn_features", "pipe_cnn", lambda b: _step(b, 1, n_out=3), "EMLML_E_CNN_N_INPUTS",
    "n_inputs 3, the input tensor holds 4", device=True)
bad("pipe_cnn_input_type", "pipe_cnn", lambda b: set_header(b, "input_type", InputType.INT8),
    "EMLML_E_PIPE_INPUT", "steps need input type 0, not 1", device=True)
bad("pipe_cnn_fold", "pipe_cnn", lambda b: _head(b, n_run=1), "EMLML_E_STEP_FOLD",
    "step 1 (PROJECT) cannot be folded into a CNN model", device=True)
bad("pipe_cnn_arena", "pipe_cnn",
    lambda b: set_header(b, "arena_bytes", int(header(b)["arena_bytes"]) - 4),
    "EMLML_E_ARENA", lambda b: "arena_bytes {}, this model needs {}".format(
        int(header(b)["arena_bytes"]) - 4, int(header(b)["arena_bytes"])))

# Random networks (tflite_build.random_network): each case breaks one rule at the first
# layer of an op in the first network that has one (``net_base``), so every op meets
# every rule that concerns it on layers the converter laid out.
CONV = CnnOp.CONV_2D


def _net(name: str, op: CnnOp, status: str, edit: Callable[[bytes, int], bytes],
         message: Callable[[bytes, int], str], need: str = "") -> None:
    bad("net_" + name, net_base(op, need), lambda b: edit(b, net_layer(b, op, need)), status,
        lambda b: message(b, net_layer(b, op, need)))


def _model(name: str, status: str, edit: Callable[[bytes], bytes],
           message: str | Callable[[bytes], str]) -> None:
    """A rule of the whole model, on the first network with a CONV_2D."""
    bad("net_" + name, net_base(CONV), edit, status, message)


_model("header_input_type", "EMLML_E_CNN_HEADER", lambda b: set_header(b, "input_type", 0),
       "CNN: task 0, input type 0 (needs 0 and 1: int8)")
_model("n_tensors", "EMLML_E_CNN_COUNTS", lambda b: set_cnn_param(b, "n_tensors", 1),
       lambda b: f"CNN: 1 tensors, {_n_layers(b)} layers (2..512, 1..512)")
_model("n_layers", "EMLML_E_CNN_COUNTS", lambda b: set_cnn_param(b, "n_layers", 0),
       lambda b: f"CNN: {_n_tensors(b)} tensors, 0 layers (2..512, 1..512)")
_model("io_same", "EMLML_E_CNN_IO_TENSORS",
       lambda b: set_cnn_param(b, "output_tensor", cnn_param(b, "input_tensor")),
       lambda b: "CNN: bad input/output tensors {0}, {0}".format(int(cnn_param(b, "input_tensor"))))
_model("io_range", "EMLML_E_CNN_IO_TENSORS", lambda b: set_cnn_param(b, "input_tensor", 999),
       lambda b: f"CNN: bad input/output tensors 999, {int(cnn_param(b, 'output_tensor'))}")
_model("input_scale_nan", "EMLML_E_CNN_SCALE", lambda b: set_cnn_param(b, "input_scale", np.nan),
       "CNN: input scale not finite and positive")
_model("output_scale_zero", "EMLML_E_CNN_SCALE", lambda b: set_cnn_param(b, "output_scale", 0.0),
       "CNN: output scale not finite and positive")
_model("output_scale_negative", "EMLML_E_CNN_SCALE",
       lambda b: set_cnn_param(b, "output_scale", -1.0), "CNN: output scale not finite and positive")
_model("output_scale_inf", "EMLML_E_CNN_SCALE", lambda b: set_cnn_param(b, "output_scale", np.inf),
       "CNN: output scale not finite and positive")
_model("flags", "EMLML_E_CNN_FLAGS", lambda b: set_cnn_param(b, "flags", 8),
       "CNN: flags 8 or reserved bytes not zero")
_model("params_reserved", "EMLML_E_CNN_FLAGS", lambda b: set_cnn_param(b, "reserved", 1),
       lambda b: f"CNN: flags {int(cnn_param(b, 'flags'))} or reserved bytes not zero")
_model("layers_size", "EMLML_E_SECTION_LENGTH",
       lambda b: set_cnn_param(b, "n_layers", _n_layers(b) + 1),
       lambda b: f"section id 50 has {32 * _n_layers(b)} bytes, expected {32 * _n_layers(b) + 32}")
_model("no_qparams", "EMLML_E_SECTION_MISSING", lambda b: without_section(b, SectionId.CNN_QPARAMS),
       "missing section id 52")
_model("tensor_zero_dim", "EMLML_E_CNN_TENSOR_SHAPE", lambda b: set_tensor(b, 1, c=0),
       lambda b: "tensor 1: shape {}x{}x0 has a zero dimension".format(*_shape(b, 1)[:2]))
_model("tensor_flags", "EMLML_E_CNN_TENSOR_FLAGS", lambda b: set_tensor(b, 1, flags=3),
       "tensor 1: flags 3, must be 0 or 1 (constant)")
_model("tensor_zp", "EMLML_E_CNN_TENSOR_ZP", lambda b: set_tensor(b, 1, zero_point=128),
       "tensor 1: zero point 128 out of range")
_model("tensor_zp_negative", "EMLML_E_CNN_TENSOR_ZP", lambda b: set_tensor(b, 1, zero_point=-129),
       "tensor 1: zero point -129 out of range")
_model("tensor_arena", "EMLML_E_CNN_TENSOR_ARENA", lambda b: set_tensor(b, 1, offset=0xFFFFFF00),
       lambda b: (f"tensor 1: bytes [4294967040, {0xFFFFFF00 + math.prod(_shape(b, 1))}) outside the "
                  f"{int(cnn_param(b, 'tensor_arena_bytes'))}-byte arena"))
_model("n_inputs", "EMLML_E_CNN_N_INPUTS",
       lambda b: set_header(b, "n_inputs", int(header(b)["n_inputs"]) + 1),
       lambda b: "n_inputs {}, the input tensor holds {}".format(
           int(header(b)["n_inputs"]) + 1, int(header(b)["n_inputs"])))
_model("n_outputs", "EMLML_E_CNN_N_OUTPUTS",
       lambda b: set_header(b, "n_outputs", int(header(b)["n_outputs"]) + 1),
       lambda b: "n_outputs {}, the output tensor holds {}".format(
           int(header(b)["n_outputs"]) + 1, int(header(b)["n_outputs"])))
_model("arena_bytes", "EMLML_E_ARENA",
       lambda b: set_header(b, "arena_bytes", int(header(b)["arena_bytes"]) + 4),
       lambda b: "arena_bytes {}, this model needs {}".format(
           int(header(b)["arena_bytes"]) + 4, int(header(b)["arena_bytes"])))


def _first_weighted(b: bytes) -> int:
    return next(k for k in range(_n_layers(b)) if _weights(b, k))


_model("no_weights", "EMLML_E_CNN_WEIGHTS_BOUNDS", lambda b: without_section(b, SectionId.CNN_WEIGHTS),
       lambda b: _where(b, _first_weighted(b)) + "weights [{0}, {1}) outside CNN_WEIGHTS (0)".format(
           int(layer(b, _first_weighted(b))["weights_offset"]),
           int(layer(b, _first_weighted(b))["weights_offset"]) + _weights(b, _first_weighted(b))))
_model("output_unwritten", "EMLML_E_CNN_OUTPUT_UNWRITTEN", _unwritten_output,
       lambda b: f"no layer writes the output tensor {_n_tensors(b)}")

# one layer: its fields
_net("op_unknown", CONV, "EMLML_E_CNN_OP", lambda b, k: set_layer(b, k, op=_OP_UNKNOWN),
     lambda b, k: f"layer {k}: unknown op {_OP_UNKNOWN}")
_net("op_zero", CONV, "EMLML_E_CNN_OP", lambda b, k: set_layer(b, k, op=0),
     lambda b, k: f"layer {k}: unknown op 0")
_net("tensor_index", CnnOp.FULLY_CONNECTED, "EMLML_E_CNN_TENSOR_INDEX",
     lambda b, k: set_layer(b, k, in0=600), lambda b, k: _where(b, k) + "tensor 600 out of range")
for _name, _op_, _field, _value in (
        ("padding_on_fc", CnnOp.FULLY_CONNECTED, "padding", 1),
        ("in1_on_conv", CONV, "in1", 1),
        ("stride_on_mean", CnnOp.MEAN, "stride_w", 2),
        ("dilation_on_pool", CnnOp.MAX_POOL_2D, "dilation_h", 1),
        ("filter_on_add", CnnOp.ADD, "filter_h", 3),
        ("pad_on_conv", CONV, "pad_c", 1),
        ("reserved", CnnOp.PAD, "reserved", 7),
        ("weights_offset_on_pool", CnnOp.AVERAGE_POOL_2D, "weights_offset", 4),
        ("qparams_offset_on_reshape", CnnOp.RESHAPE, "qparams_offset", 1)):
    _net(_name, _op_, "EMLML_E_CNN_FIELD_ZERO",
         lambda b, k, f=_field, v=_value: set_layer(b, k, **{f: v}),
         lambda b, k, f=_field, v=_value: _where(b, k) + f"{f} is {v}, must be 0")
_net("act_empty", CONV, "EMLML_E_CNN_ACTIVATION", lambda b, k: set_layer(b, k, act_min=5, act_max=4),
     lambda b, k: _where(b, k) + "act_min 5 above act_max 4")
_net("act_on_softmax", CnnOp.SOFTMAX, "EMLML_E_CNN_NO_ACTIVATION",
     lambda b, k: set_layer(b, k, act_min=0), lambda b, k: _where(b, k) + "act_min is 0, must be -128/127")
_net("act_on_mean", CnnOp.MEAN, "EMLML_E_CNN_NO_ACTIVATION",
     lambda b, k: set_layer(b, k, act_max=100),
     lambda b, k: _where(b, k) + "act_max is 100, must be -128/127")
_net("padding_2", CONV, "EMLML_E_CNN_PADDING", lambda b, k: set_layer(b, k, padding=2),
     lambda b, k: _where(b, k) + "padding is 2, must be 0 or 1")
_net("stride_0", CONV, "EMLML_E_CNN_FIELD_MIN1", lambda b, k: set_layer(b, k, stride_h=0),
     lambda b, k: _where(b, k) + "stride_h is 0, must be >= 1")
_net("filter_0", CnnOp.AVERAGE_POOL_2D, "EMLML_E_CNN_FIELD_MIN1",
     lambda b, k: set_layer(b, k, filter_w=0), lambda b, k: _where(b, k) + "filter_w is 0, must be >= 1")
_net("dilation_0", CnnOp.DEPTHWISE_CONV_2D, "EMLML_E_CNN_FIELD_MIN1",
     lambda b, k: set_layer(b, k, dilation_w=0),
     lambda b, k: _where(b, k) + "dilation_w is 0, must be >= 1")

# one layer: reads and writes
_net("read_before_write", CONV, "EMLML_E_CNN_UNWRITTEN_READ",
     lambda b, k: set_layer(b, k, in0=_out(b, k + 1)),
     lambda b, k: _where(b, k) + f"reads tensor {_out(b, k + 1)} before it is written", need="next")
_net("reads_own_output", CnnOp.FULLY_CONNECTED, "EMLML_E_CNN_UNWRITTEN_READ",
     lambda b, k: set_layer(b, k, in0=_out(b, k)),
     lambda b, k: _where(b, k) + f"reads tensor {_out(b, k)} before it is written")
_net("writes_input", CONV, "EMLML_E_CNN_WRITES_INPUT",
     lambda b, k: set_layer(b, k, out=cnn_param(b, "input_tensor")),
     lambda b, k: _where(b, k) + f"writes the input tensor {int(cnn_param(b, 'input_tensor'))}")
_net("written_twice", CnnOp.FULLY_CONNECTED, "EMLML_E_CNN_WRITTEN_TWICE",
     lambda b, k: set_layer(b, k + 1, out=_out(b, k)),
     lambda b, k: _where(b, k + 1) + f"tensor {_out(b, k)} already written by layer {k}", need="next")


# one layer: shapes
def _unchained(b: bytes, k: int) -> tuple[int, int, int]:
    """Layer k's output dimensions rotated (same size, so the arena, n_outputs and the next
    layer's first checks still pass), or one row shorter."""
    h, w, c = _shape(b, _out(b, k))
    return (c, h, w) if len({h, w, c}) > 1 else (h - 1, w, c)


for _op_ in (CONV, CnnOp.DEPTHWISE_CONV_2D, CnnOp.FULLY_CONNECTED, CnnOp.MAX_POOL_2D,
             CnnOp.AVERAGE_POOL_2D, CnnOp.MEAN, CnnOp.ADD, CnnOp.SOFTMAX):
    _net(f"chain_{_op_.name.lower()}", _op_, "EMLML_E_CNN_CHAIN",
         lambda b, k: set_tensor(b, _out(b, k), **dict(zip("hwc", _unchained(b, k)))),
         lambda b, k: _where(b, k) + "output shape {}x{}x{} does not chain".format(*_unchained(b, k)),
         need="big_out")


def _valid_window(b: bytes, k: int) -> str:
    h = _shape(b, _in0(b, k))[0]
    eff = h * int(layer(b, k)["dilation_h"]) + 1  # a filter of h + 1 taps
    return _where(b, k) + f"VALID window {eff} larger than input h {h}"


_net("valid_window", CONV, "EMLML_E_CNN_VALID_WINDOW",
     lambda b, k: set_layer(b, k, padding=0, filter_h=_shape(b, _in0(b, k))[0] + 1), _valid_window)
_net("conv_products", CONV, "EMLML_E_CNN_PRODUCTS",
     lambda b, k: set_layer(b, k, padding=1, filter_h=255, filter_w=255),
     lambda b, k: _where(b, k) + f"{255 * 255 * _shape(b, _in0(b, k))[2]} products per output, above 65536",
     need="in_c2")
_net("dw_channels", CnnOp.DEPTHWISE_CONV_2D, "EMLML_E_CNN_DW_CHANNELS",
     lambda b, k: set_tensor(b, _out(b, k), c=_shape(b, _out(b, k))[2] - 1),
     lambda b, k: _where(b, k) + "{} output channels for {} input".format(
         _shape(b, _out(b, k))[2] - 1, _shape(b, _in0(b, k))[2]), need="in_c2")


def _other_zp(b: bytes, k: int) -> int:
    zp = int(tensor(b, _in0(b, k))["zero_point"])
    return zp + 1 if zp < 127 else zp - 1


for _op_ in (CnnOp.MAX_POOL_2D, CnnOp.PAD):
    _net(f"{_op_.name.lower().replace('_2d', '')}_zero_point", _op_, "EMLML_E_CNN_ZP_DIFFERS",
         lambda b, k: set_tensor(b, _out(b, k), zero_point=_other_zp(b, k)),
         lambda b, k: _where(b, k) + "output zero point {}, input {}".format(
             _other_zp(b, k), int(tensor(b, _in0(b, k))["zero_point"])))
_net("pad_size", CnnOp.PAD, "EMLML_E_CNN_PAD_SIZE",
     lambda b, k: set_layer(b, k, pad_h=_shape(b, _out(b, k))[0]),
     lambda b, k: _where(b, k) + "output h {0} below input + padding {1}".format(
         _shape(b, _out(b, k))[0], _shape(b, _out(b, k))[0] + _shape(b, _in0(b, k))[0]))


def _other_shape(b: bytes, k: int) -> int:
    """The input or an earlier layer's output, of another shape than layer k's input."""
    mine = _shape(b, _in0(b, k))
    earlier = [int(cnn_param(b, "input_tensor"))] + [_out(b, j) for j in range(k)]
    return next(t for t in earlier if _shape(b, t) != mine)


_net("add_shapes", CnnOp.ADD, "EMLML_E_CNN_CHAIN",
     lambda b, k: set_tensor(b, _out(b, k), **_one_less(b, k)),
     lambda b, k: _where(b, k) + "output shape {}x{}x{} does not chain".format(
         *dict(zip("hwc", _shape(b, _out(b, k))), **_one_less(b, k)).values()), need="big_out")
_net("softmax_zero_point", CnnOp.SOFTMAX, "EMLML_E_CNN_SOFTMAX_ZP",
     lambda b, k: set_tensor(b, _out(b, k), zero_point=-127),
     lambda b, k: _where(b, k) + "output zero point -127, must be -128")


def _one_less(b: bytes, k: int) -> dict[str, int]:
    """Layer k's output with its first dimension above 1 one smaller."""
    dims = _shape(b, _out(b, k))
    i = next(i for i, d in enumerate(dims) if d > 1)
    return {"hwc"[i]: dims[i] - 1}


def _one_less_size(b: bytes, k: int) -> int:
    dims = dict(zip("hwc", _shape(b, _out(b, k))), **_one_less(b, k))
    return math.prod(dims.values())


_net("reshape_size", CnnOp.RESHAPE, "EMLML_E_CNN_RESHAPE_SIZE",
     lambda b, k: set_tensor(b, _out(b, k), **_one_less(b, k)),
     lambda b, k: _where(b, k) + "{} values out, {} in".format(
         _one_less_size(b, k), math.prod(_shape(b, _in0(b, k)))), need="big_out")


# one layer: weights and qparams
_net("weights_bounds", CONV, "EMLML_E_CNN_WEIGHTS_BOUNDS",
     lambda b, k: set_layer(b, k, weights_offset=1 << 20),
     lambda b, k: _where(b, k) + "weights [1048576, {}) outside CNN_WEIGHTS ({})".format(
         (1 << 20) + _weights(b, k), section(b, SectionId.CNN_WEIGHTS)[1]))
_net("qparams_bounds", CnnOp.FULLY_CONNECTED, "EMLML_E_CNN_QPARAMS_BOUNDS",
     lambda b, k: set_layer(b, k, qparams_offset=1 << 20),
     lambda b, k: _where(b, k) + "qparams [1048576, {}) outside CNN_QPARAMS ({})".format(
         (1 << 20) + 3 * _shape(b, _out(b, k))[2], section(b, SectionId.CNN_QPARAMS)[1] // 4))


def _c(b: bytes, k: int) -> int:
    """Output channels of layer k."""
    return _shape(b, _out(b, k))[2]


def _f64_words(value: float) -> tuple[int, int]:
    """A binary64 as two int32 words, low first (FORMAT.md: FULLY_CONNECTED's scale)."""
    return struct.unpack("<ii", struct.pack("<d", value))


_net("channel_multiplier", CONV, "EMLML_E_CNN_CHANNEL_QPARAM",
     lambda b, k: set_qparam(b, k, _c(b, k), 5), lambda b, k: _where(b, k) + "multiplier[0] 5 out of range")
_net("channel_multiplier_negative", CnnOp.DEPTHWISE_CONV_2D, "EMLML_E_CNN_CHANNEL_QPARAM",
     lambda b, k: set_qparam(b, k, 2 * _c(b, k) - 1, -(1 << 30)),
     lambda b, k: _where(b, k) + f"multiplier[{_c(b, k) - 1}] -1073741824 out of range")
_net("channel_shift", CnnOp.DEPTHWISE_CONV_2D, "EMLML_E_CNN_CHANNEL_QPARAM",
     lambda b, k: set_qparam(b, k, 2 * _c(b, k), 31), lambda b, k: _where(b, k) + "shift[0] 31 out of range")
_net("fc_scale_negative", CnnOp.FULLY_CONNECTED, "EMLML_E_CNN_FC_SCALE",
     lambda b, k: set_qparam(set_qparam(b, k, 3 * _c(b, k) - 2, _f64_words(-0.5)[0]), k,
                             3 * _c(b, k) - 1, _f64_words(-0.5)[1]),
     lambda b, k: _where(b, k) + f"scale[{_c(b, k) - 1}] not finite and >= 0")
_net("fc_scale_nan", CnnOp.FULLY_CONNECTED, "EMLML_E_CNN_FC_SCALE",
     lambda b, k: set_qparam(b, k, _c(b, k) + 1, 0x7FF80000),
     lambda b, k: _where(b, k) + "scale[0] not finite and >= 0")
_net("fc_scale_inf", CnnOp.FULLY_CONNECTED, "EMLML_E_CNN_FC_SCALE",
     lambda b, k: set_qparam(set_qparam(b, k, _c(b, k), 0), k, _c(b, k) + 1, 0x7FF00000),
     lambda b, k: _where(b, k) + "scale[0] not finite and >= 0")
_net("channel_shift_low", CONV, "EMLML_E_CNN_CHANNEL_QPARAM",
     lambda b, k: set_qparam(b, k, 2 * _c(b, k), -32), lambda b, k: _where(b, k) + "shift[0] -32 out of range")
for _name, _op_, _i, _value, _what in (
        ("mean_multiplier", CnnOp.MEAN, 0, -1, "multiplier"),
        ("mean_shift", CnnOp.MEAN, 1, 31, "shift"),
        ("add_left_shift", CnnOp.ADD, 0, 21, "left_shift"),
        ("add_input1_multiplier", CnnOp.ADD, 1, 12345, "input1_multiplier"),
        ("add_input2_shift", CnnOp.ADD, 4, 1, "input2_shift"),
        ("add_output_shift", CnnOp.ADD, 6, -32, "output_shift"),
        ("softmax_multiplier", CnnOp.SOFTMAX, 0, 1, "input_multiplier"),
        ("softmax_left_shift", CnnOp.SOFTMAX, 1, 32, "input_left_shift"),
        ("softmax_diff_min_positive", CnnOp.SOFTMAX, 2, 1, "diff_min")):
    _net(_name, _op_, "EMLML_E_CNN_QPARAM",
         lambda b, k, i=_i, v=_value: set_qparam(b, k, i, v),
         lambda b, k, v=_value, w=_what: _where(b, k) + f"{w} {v} out of range")
_net("softmax_diff_min_radius", CnnOp.SOFTMAX, "EMLML_E_CNN_QPARAM",
     lambda b, k: set_qparam(set_qparam(b, k, 1, 31), k, 2, -1),
     lambda b, k: _where(b, k) + "diff_min -1 out of range")


# the arena plan
def _overlapping(b: bytes, k: int, other: int) -> bytes:
    """Layer k's output moved onto tensor ``other`` (inside the arena)."""
    t = _out(b, k)
    arena = int(cnn_param(b, "tensor_arena_bytes"))
    return set_tensor(b, t, offset=min(int(tensor(b, other)["offset"]), arena - math.prod(_shape(b, t))))


_net("overlap_with_input", CONV, "EMLML_E_CNN_OVERLAP",
     lambda b, k: _overlapping(b, k, _in0(b, k)), lambda b, k: _live_pair(b, k, _in0(b, k)))
_net("overlap_add_inputs", CnnOp.ADD, "EMLML_E_CNN_OVERLAP",
     lambda b, k: _overlapping(b, k, int(layer(b, k)["in1"])),
     lambda b, k: _live_pair(b, k, int(layer(b, k)["in1"])))


# The limit that keeps MEAN's int32 sum exact, on a blob the converter would not write.
def _huge_pad_output(b: bytes) -> bytes:
    """PAD -> MEAN with the padded tensor made 4096x2049 (more than 2^23 cells)."""
    cnn = read_blob(b).cnn
    tensors = cnn.tensors.copy()
    big = int(cnn.layers[0]["out"])
    tensors[big]["h"], tensors[big]["w"] = 4096, 2049
    tensors[big]["offset"] = 64
    for t in range(len(tensors)):
        if t != big:
            tensors[t]["offset"] = 8 * t
    return cnn_blob(input_tensor=cnn.input_tensor, output_tensor=cnn.output_tensor,
                    input_scale=cnn.input_scale, output_scale=cnn.output_scale,
                    tensor_arena_bytes=64 + 4096 * 2049, flags=cnn.flags, tensors=tensors,
                    layers=cnn.layers, weights=b"", qparams=cnn.qparams)


bad("mean_cells", "pad_mean", _huge_pad_output, "EMLML_E_CNN_MEAN_CELLS",
    "layer 1 (MEAN): mean over 8392704 cells, above 2^23")


# constant tensors (base "const5": constants 1, 3, 7 in CNN_WEIGHTS at 0, 4, 16; 18 bytes)
bad("const_flags_2", "const5", lambda b: set_tensor(b, 3, flags=2), "EMLML_E_CNN_TENSOR_FLAGS",
    "tensor 3: flags 2, must be 0 or 1 (constant)")
bad("const_past_weights", "const5", lambda b: set_tensor(b, 7, offset=17),
    "EMLML_E_CNN_CONSTANT_BOUNDS", "tensor 7: constant bytes [17, 19) outside CNN_WEIGHTS (18)")
bad("const_offset_wraps", "const5", lambda b: set_tensor(b, 3, offset=0xFFFFFFF8),
    "EMLML_E_CNN_CONSTANT_BOUNDS",
    "tensor 3: constant bytes [4294967288, 4294967295) outside CNN_WEIGHTS (18)")
bad("const_input", "const5", lambda b: set_tensor(b, 0, flags=1, offset=0),
    "EMLML_E_CNN_IO_TENSORS", "CNN: bad input/output tensors 0, 8")
bad("const_written", "const5", lambda b: set_tensor(b, 2, flags=1, offset=0),
    "EMLML_E_CNN_WRITES_CONSTANT", "layer 0 (SUB): writes the constant tensor 2")
bad("const_output_written", "const5", lambda b: set_tensor(b, 8, flags=1, offset=0),
    "EMLML_E_CNN_WRITES_CONSTANT", "layer 4 (MAXIMUM): writes the constant tensor 8")
bad("const_not_a_constant", "const5", lambda b: set_tensor(b, 1, flags=0),
    "EMLML_E_CNN_UNWRITTEN_READ", "layer 0 (SUB): reads tensor 1 before it is written")
bad("const_does_not_broadcast", "const5", lambda b: set_tensor(b, 7, c=2, offset=0),
    "EMLML_E_CNN_CHAIN", "layer 4 (MAXIMUM): output shape 2x2x3 does not chain")
bad("add_broadcast_chain", "const5", lambda b: set_tensor(b, 6, c=2),
    "EMLML_E_CNN_CHAIN", "layer 3 (ADD): output shape 2x2x2 does not chain")


# ---------------------------------------------------------------------------- the device


def write_bad_blobs(out_dir: str) -> list[tuple[str, str]]:
    """tests_device/data/bad: ``<name>.bin`` of every ``device`` case and ``index.txt``,
    one ``name<TAB>message`` line each (the whole message ``emlml.load`` must say), and
    the valid bases ``good_<name>.bin`` the device script truncates and flips."""
    os.makedirs(out_dir, exist_ok=True)
    cases = []
    for case in BAD_BLOBS:
        if case.device:
            with open(os.path.join(out_dir, case.name + ".bin"), "wb") as f:
                f.write(case.blob())
            cases.append((case.name, case.expected()))
    with open(os.path.join(out_dir, "index.txt"), "w") as f:
        for name, expect in cases:
            f.write("%s\t%s\n" % (name, expect))
    for name, blob in base_blobs().items():
        with open(os.path.join(out_dir, "good_" + name + ".bin"), "wb") as f:
            f.write(blob)
    return cases


# ---------------------------------------------------------------------------- builds of some families

# Each kind's family as the builds name it: its folder of C files and of single-family
# modules (micropython_module/<family>/, build/natmod/<arch>/<family>/emlml.mpy).
FAMILY_FOLDERS = {Kind.TREES: "trees", Kind.KNN: "knn", Kind.CNN: "cnn", Kind.BOOST: "trees"}
# ... and as the EMLML_E_NO_FAMILY message names it (%N, EMLML_NAME_LIST).
_MESSAGE_NAMES = {Kind.TREES: "trees", Kind.KNN: "kNN", Kind.CNN: "CNN", Kind.BOOST: "trees"}

Refusal = tuple[str, tuple[int, int, int, int], str]  # status, numbers a..d, message


def no_family(kind: int) -> Refusal:
    """What a build without the family of ``kind`` says of its blobs (EMLML_E_NO_FAMILY):
    the family's name (%N) and the kind."""
    numbers = (FIELD_NAMES.index(_MESSAGE_NAMES[Kind(kind)]), int(kind), 0, 0)
    return "EMLML_E_NO_FAMILY", numbers, error_format("EMLML_E_NO_FAMILY", *numbers)


def refusal(blob: bytes, families: Collection[str]) -> Refusal | None:
    """How a build of ``families`` (FAMILY_FOLDERS names) refuses ``blob``, or None when it
    loads it: the Python reader's refusal (a build of every family), except that a blob of
    a family the build lacks that passes the header checks is refused as such, and that
    only the build of every family has the sound steps (MFE, MFCC: EMLML_WITH_SOUND)."""
    try:
        read_blob(blob, sound=set(families) >= set(FAMILY_FOLDERS.values()))
        error = None
    except BlobError as e:
        error = e
    if error is None or error.status not in HEADER_STATUSES:
        kind = int(header(blob)["kind"])  # passed the header checks: a known kind
        if FAMILY_FOLDERS[Kind(kind)] not in families:
            return no_family(kind)
        # Feature steps come with the trees and kNN families only (the CNN-only build):
        # a build without them refuses sections 56-58 after the table and META checks.
        before_steps = COMMON_STATUSES - {"EMLML_E_ARENA"}
        if not set(families) - {"cnn"} and (error is None or error.status not in before_steps):
            pipe = [e.id for e in section_table(blob) if PH <= e.id <= PP]
            if pipe:
                numbers = (min(pipe), 0, 0, 0)
                return "EMLML_E_NO_FEATURES", numbers, error_format("EMLML_E_NO_FEATURES", *numbers)
    return None if error is None else (error.status, error.numbers, str(error))
