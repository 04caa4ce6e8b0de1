"""The int8 CNN (kind 3) in the C core, built for the host with ASan and UBSan (gcc and
clang): bit-exact with TensorFlow Lite's reference interpreter (BUILTIN_REF) and with the
NumPy reference runtime on random networks; float input quantized as TFLite's QUANTIZE;
the fixed-point helpers against their definitions; random corruptions of the CNN
sections judged alike by the C loader and the Python reader. (Every load-time rule broken
one at a time: the one table of bad blobs, test_core_bad_blobs.py.)"""

from __future__ import annotations

import os
import subprocess

import numpy as np
import pytest
from emlml_dev import tflite_build
from emlml_dev.bad_blobs import NET_SEEDS, network
from emlml_dev.bench_layers import kernel_models
from emlml_dev.blob_edit import section
from emlml_dev.cnn_devicedata import tinymaix_models
from emlml_dev.emulators import require_tinymaix
from emlml_dev.tflite_build import ModelBuilder
from emlml_tools.convert.tflite_cnn import convert_tflite
from emlml_tools.format import SectionId, fix_crc, read_blob
from emlml_tools.oracle import Oracle
from emlml_tools.runtime import cnn as reference_cnn
from runtimes import BUILD, SAN_ENV, require_built, run_driver

DRIVERS = [os.path.join(BUILD, "host", name) for name in ("emlml_run", "emlml_run_clang")]
N_NETWORKS = 260  # seeds tried; at least MIN_CONVERTED of them convert
MIN_CONVERTED = 240


def parse_lines(result: subprocess.CompletedProcess[str], n_outputs: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(classes, float32 outputs, int8 outputs) from the driver's "ok" lines."""
    assert result.returncode == 0 and result.stderr == "", result.stdout[-2000:] + result.stderr
    classes, floats, ints = [], [], []
    for line in result.stdout.splitlines():
        parts = line.split()
        assert parts[0] == "ok" and parts[2 + n_outputs] == "q", line
        classes.append(int(parts[1]))
        floats.append([int(h, 16) for h in parts[2:2 + n_outputs]])
        ints.append([int(v) for v in parts[3 + n_outputs:]])
    return (np.array(classes), np.array(floats, dtype=np.uint32).view(np.float32),
            np.array(ints, dtype=np.int8))


def int8_samples(rng: np.random.Generator, n_inputs: int, n: int = 10) -> np.ndarray:
    """The extremes, then random values, then small values around 0."""
    rows = [np.zeros(n_inputs), np.full(n_inputs, -128), np.full(n_inputs, 127)]
    rows += [rng.integers(-128, 128, n_inputs) for _ in range(n - 4)]
    rows.append(rng.integers(-4, 5, n_inputs))
    return np.array(rows, dtype=np.int8)


def edge_params(blob: bytes) -> tuple[float, int, float, int]:
    cnn = read_blob(blob).cnn
    return (cnn.input_scale, int(cnn.tensors[cnn.input_tensor]["zero_point"]),
            cnn.output_scale, int(cnn.tensors[cnn.output_tensor]["zero_point"]))


def float_samples(rng: np.random.Generator, blob: bytes, n: int = 12) -> np.ndarray:
    """Float inputs over and past the int8 range, and values half a step from a code."""
    scale, zp, _, _ = edge_params(blob)
    n_inputs = read_blob(blob).n_inputs
    q = rng.integers(-140, 141, (n, n_inputs)) - zp
    half = rng.random((n, n_inputs)) < 0.3
    x = (q + np.where(half, 0.5, rng.uniform(-0.49, 0.49, (n, n_inputs)))) * np.float64(scale)
    return x.astype(np.float32)


# ---------------------------------------------------------------------------- helpers


@pytest.mark.parametrize("suffix", ["", "_clang"])
def test_fixedpoint_helpers(suffix):
    """SRDHM, RDBPOT, MBQM, the saturating shift against exact integer definitions; the
    exponential and reciprocal of the softmax against libm (ASan + UBSan)."""
    exe = require_built(os.path.join(BUILD, "host", "test_fixedpoint" + suffix))
    result = subprocess.run([exe], capture_output=True, text=True, env=SAN_ENV, timeout=300)
    assert result.returncode == 0 and result.stderr == "", result.stdout + result.stderr
    assert result.stdout.startswith("ok ")


def _reshape_net(n: int, scale: float, zp: int) -> bytes:
    """float32 input -> QUANTIZE -> int8 -> RESHAPE -> int8 output: the output is the
    quantized input itself."""
    b = ModelBuilder()
    x = b.tensor((1, n), "float32")
    q = b.tensor((1, n), scale=scale, zero_point=zp)
    y = b.tensor((1, 1, n), scale=scale, zero_point=zp)
    shape = b.tensor((3,), "int32", data=[1, 1, n])
    b.op("QUANTIZE", [x], [q])
    b.op("RESHAPE", [q, shape], [y], "ReshapeOptions", new_shape=[1, 1, n])
    return b.build([x], [y])


@pytest.mark.parametrize("seed", range(6))
def test_float_input_quantized_as_tflite(seed, tmp_path):
    """emlml_cnn_quantize_input against TFLite's QUANTIZE, value by value: halves (ties
    round away from zero), neighbours of halves, values far out of range, -0.0, tiny."""
    rng = np.random.default_rng(100 + seed)
    scale = float(np.float32(np.exp(rng.uniform(np.log(1e-3), np.log(2.0)))))
    zp = int(rng.integers(-128, 128))
    n = 64
    tfl = _reshape_net(n, scale, zp)
    blob = convert_tflite(tfl)
    k = rng.integers(-300, 300, (40, n)).astype(np.float64)
    ties = ((k + 0.5) * scale).astype(np.float32)
    x = np.concatenate([
        ties, np.nextafter(ties, np.float32(np.inf)), np.nextafter(ties, np.float32(-np.inf)),
        (rng.standard_normal((20, n)) * 100 * scale).astype(np.float32),
        np.array([[0.0, -0.0, 1e-38, -1e-38, 3e38, -3e38, 1e-45, -1e-45] * (n // 8)],
                 dtype=np.float32)])
    oracle = Oracle(tfl)
    want = np.array([oracle(row).reshape(-1) for row in x], dtype=np.int8)
    for driver in DRIVERS:
        _, floats, ints = parse_lines(
            run_driver(driver, blob, x.tobytes(), tmp_path, float_input=True), n)
        bad = np.argwhere(ints != want)
        assert len(bad) == 0, [(float(x[i, j]), int(ints[i, j]), int(want[i, j]))
                               for i, j in bad[:5]]


def test_nonfinite_float_input_refused(tmp_path):
    _, _, blob = network(0)
    n = read_blob(blob).n_inputs
    x = np.zeros((3, n), dtype=np.float32)
    x[1, n - 1] = np.nan
    x[2, 0] = -np.inf
    result = run_driver(DRIVERS[0], blob, x.tobytes(), tmp_path, float_input=True)
    lines = result.stdout.splitlines()
    assert result.returncode == 0 and result.stderr == "" and lines[0].startswith("ok ")
    assert lines[1] == f"error input {n - 1} is NaN or infinite"
    assert lines[2] == "error input 0 is NaN or infinite"


def test_edge_networks_match_tflite(tmp_path):
    """The corners found while checking FORMAT.md against the interpreter
    (tflite_build.edge_networks: FULLY_CONNECTED's double rescale, its ties and overflow,
    the zero point add wrapping in conv and depthwise, QUANTIZE at half-way points and far
    out of range), through both sanitized drivers: every element equal to TFLite's."""
    edges = tflite_build.edge_networks()
    assert edges
    for name, tfl, inputs in edges:
        blob = convert_tflite(tfl)
        model = read_blob(blob)
        oracle = Oracle(tfl)
        want = np.array([oracle(x).reshape(-1) for x in inputs])
        x = np.stack([np.asarray(v).reshape(-1) for v in inputs])
        float_input = x.dtype.kind == "f"
        for driver in DRIVERS:
            _, floats, ints = parse_lines(
                run_driver(driver, blob, np.ascontiguousarray(x).tobytes(), tmp_path, float_input),
                model.n_outputs)
            got = floats if want.dtype.kind == "f" else ints
            assert np.array_equal(got.view(np.uint32) if want.dtype.kind == "f" else got,
                                  want.view(np.uint32) if want.dtype.kind == "f" else want), (name, driver)


@pytest.mark.parametrize("name", sorted(kernel_models()))
def test_kernel_networks_match_tflite(name, tmp_path):
    """The one-layer networks of 32+ channels in the shapes the 1x1 and depthwise kernels
    treat apart (bench_layers.kernel_models: channel counts off their blocks, stride,
    padding, dilation, depth multiplier 2, zero point -128), through both sanitized
    drivers: every int8 output equal to TFLite's BUILTIN_REF."""
    tfl = kernel_models()[name]
    blob = convert_tflite(tfl)
    model = read_blob(blob)
    oracle = Oracle(tfl)
    x = int8_samples(np.random.default_rng(11), model.n_inputs)
    want = np.array([oracle(row).reshape(-1) for row in x])
    for driver in DRIVERS:
        _, _, ints = parse_lines(run_driver(driver, blob, x.tobytes(), tmp_path), model.n_outputs)
        assert np.array_equal(ints, want), driver


# ---------------------------------------------------------------------------- networks


@pytest.mark.parametrize("seed", range(N_NETWORKS))
def test_random_network_matches_tflite_and_reference(seed, tmp_path):
    """One random network: the C core's int8 outputs, dequantized floats and class equal
    the NumPy reference and TFLite's reference interpreter on the same inputs (int8
    inputs; float inputs too when the .tflite takes float)."""
    tfl, desc, blob = network(seed)
    if blob is None:
        pytest.skip("the converter refuses this network")
    model = read_blob(blob)
    rng = np.random.default_rng(seed)
    in_scale, in_zp, out_scale, out_zp = edge_params(blob)
    oracle = Oracle(tfl)
    q_in = int8_samples(rng, model.n_inputs)
    want_q = reference_cnn.predict_int8(blob, q_in)
    want_f = reference_cnn.dequantize_output(blob, want_q)
    # TFLite on the same int8 codes (fed as exactly dequantized floats to a float model)
    if desc["float_input"]:
        feed = ((q_in.astype(np.float64) - in_zp) * in_scale).astype(np.float32)
        assert np.array_equal(reference_cnn.quantize_input(blob, feed), q_in)
    else:
        feed = q_in
    tfl_out = np.array([oracle(row).reshape(-1) for row in feed])
    if desc["float_output"]:
        assert np.array_equal(tfl_out.view(np.uint32), want_f.view(np.uint32)), "reference vs TFLite"
    else:
        assert np.array_equal(tfl_out, want_q), "reference vs TFLite"
    for driver in DRIVERS:
        classes, floats, ints = parse_lines(run_driver(driver, blob, q_in.tobytes(), tmp_path),
                                            model.n_outputs)
        assert np.array_equal(ints, want_q), (driver, desc)
        assert np.array_equal(floats.view(np.uint32), want_f.view(np.uint32)), driver
        assert np.array_equal(classes, np.argmax(want_q, axis=1)), driver
    if desc["float_input"]:  # the float path against TFLite's QUANTIZE and the network
        xf = float_samples(rng, blob)
        tfl_out = np.array([oracle(row).reshape(-1) for row in xf])
        for driver in DRIVERS:
            _, floats, ints = parse_lines(
                run_driver(driver, blob, xf.tobytes(), tmp_path, float_input=True),
                model.n_outputs)
            if desc["float_output"]:
                assert np.array_equal(floats.view(np.uint32), tfl_out.view(np.uint32)), driver
            else:
                assert np.array_equal(ints, tfl_out), driver


@pytest.mark.parametrize("chunk", range(6))
def test_random_networks_elementwise_match_tflite(chunk, tmp_path):
    """60 random networks with the table ops (LOGISTIC, TANH, LEAKY_RELU, HARD_SWISH,
    QUANTIZE int8 to int8) and CONCATENATION blocks, 10 inputs each: the C core's int8
    outputs equal TFLite's and the reference's (a network whose scales the interpreter
    itself refuses is passed over: at most one per chunk)."""
    ran = 0
    for seed in range(3200 + 10 * chunk, 3210 + 10 * chunk):
        rng = np.random.default_rng(seed)
        tfl, desc = tflite_build.random_network(rng, float_input=False, float_output=False,
                                                elementwise=True, branches=True)
        try:
            oracle = Oracle(tfl)
        except RuntimeError:  # e.g. "no_integer_overflow_from_quantization" at Prepare
            continue
        blob = convert_tflite(tfl)
        model = read_blob(blob)
        q_in = int8_samples(rng, model.n_inputs)
        want_q = reference_cnn.predict_int8(blob, q_in)
        assert np.array_equal(np.array([oracle(row).reshape(-1) for row in q_in]), want_q)
        for driver in DRIVERS:
            _, _, ints = parse_lines(run_driver(driver, blob, q_in.tobytes(), tmp_path),
                                     model.n_outputs)
            assert np.array_equal(ints, want_q), (driver, desc)
        ran += 1
    assert ran >= 9


@pytest.mark.parametrize("chunk", range(3))
def test_random_networks_transpose_conv_match_tflite(chunk, tmp_path):
    """45 random networks, TRANSPOSE_CONV layers in some (tflite_build.random_network with
    transpose=True), 10 int8 inputs each: both sanitized drivers give TFLite's int8
    outputs, as the NumPy reference does."""
    layers = 0
    for seed in range(5100 + 15 * chunk, 5115 + 15 * chunk):
        rng = np.random.default_rng(seed)
        tfl, desc = tflite_build.random_network(rng, float_input=False, float_output=False,
                                                transpose=True)
        layers += sum(layer["op"] == "TRANSPOSE_CONV" for layer in desc["layers"])
        oracle = Oracle(tfl)
        blob = convert_tflite(tfl)
        model = read_blob(blob)
        q_in = int8_samples(rng, model.n_inputs)
        want_q = np.array([oracle(row).reshape(-1) for row in q_in])
        assert np.array_equal(reference_cnn.predict_int8(blob, q_in), want_q), desc
        for driver in DRIVERS:
            _, _, ints = parse_lines(run_driver(driver, blob, q_in.tobytes(), tmp_path),
                                     model.n_outputs)
            assert np.array_equal(ints, want_q), (driver, desc)
    assert layers >= 4, layers


def test_enough_random_networks():
    converted = sum(network(seed)[2] is not None for seed in range(N_NETWORKS))
    assert converted >= MIN_CONVERTED, converted


# ---------------------------------------------------------------------------- load checks
# Every load-time rule broken one at a time, in both loaders: the one table of bad blobs
# (py_tools/emlml_dev/bad_blobs.py, test_core_bad_blobs.py).
BASE_SEEDS = NET_SEEDS


def test_constant_operands_match_tflite(tmp_path):
    """ADD, SUB, MUL, MAXIMUM, MINIMUM with a constant of one value (table layers), every
    int8 input value, and a Keras-like network with them: both sanitized drivers give
    TFLite's outputs."""
    for name, tfl, inputs in tflite_build.constant_operand_networks():
        blob = convert_tflite(tfl)
        oracle = Oracle(tfl)
        want = np.array([oracle(x).reshape(-1) for x in inputs])
        x = np.stack([v.reshape(-1) for v in inputs])
        for driver in DRIVERS:
            _, _, ints = parse_lines(run_driver(driver, blob, x.tobytes(), tmp_path), want.shape[1])
            assert np.array_equal(ints, want), (name, driver)


def test_softmax_sum_at_2_to_the_9(tmp_path):
    """SOFTMAX over 512 to 8200 values, inputs whose sum of exponentials lies just under
    2^9 and at or above it (tflite_build.softmax_sum_networks), through both sanitized
    drivers: TFLite's outputs where its interpreter gives one, and where it aborts (the
    sum reached 2^9) the NumPy reference's, every output -128 in those rows."""
    aborted = 0
    for name, tfl, inputs in tflite_build.softmax_sum_networks():
        blob = convert_tflite(tfl)
        oracle = Oracle(tfl)
        want = []
        for x in inputs:
            expected = oracle.or_abort(x)
            reference = reference_cnn.predict_int8(blob, x.reshape(-1))
            if expected is None:
                aborted += 1
                expected = reference
            assert np.array_equal(reference, expected.reshape(-1)), name
            want.append(expected.reshape(-1))
        x = np.stack([v.reshape(-1) for v in inputs])
        for driver in DRIVERS:
            _, _, ints = parse_lines(run_driver(driver, blob, x.tobytes(), tmp_path), x.shape[1])
            assert np.array_equal(ints, np.array(want)), (name, driver)
    assert aborted >= 12, aborted


def test_random_corruptions_agree_with_the_python_reader(tmp_path):
    """Random byte changes inside the CNN sections, CRC fixed: the sanitized C loader and
    the Python reader accept and refuse the same blobs, and an accepted blob runs."""
    rng = np.random.default_rng(7)
    disagreements = []
    for seed in BASE_SEEDS:
        good = network(seed)[2]
        n_inputs = read_blob(good).n_inputs
        x = int8_samples(rng, n_inputs, 4).tobytes()
        spans = [section(good, sid) for sid in (SectionId.CNN_PARAMS, SectionId.CNN_TENSORS,
                                                SectionId.CNN_LAYERS, SectionId.CNN_QPARAMS)]
        for trial in range(25):
            data = bytearray(good)
            for _ in range(int(rng.integers(1, 3))):
                off, size = spans[int(rng.integers(len(spans)))]
                data[off + int(rng.integers(size))] = int(rng.integers(256))
            blob = fix_crc(bytes(data))
            result = run_driver(DRIVERS[1], blob, x, tmp_path)
            assert result.returncode in (0, 3) and result.stderr == "", (seed, trial, result.stderr)
            try:
                read_blob(blob)
                python_ok = True
            except ValueError:
                python_ok = False
            if python_ok != (result.returncode == 0):
                disagreements.append((seed, trial, result.stdout.splitlines()[:1]))
    assert not disagreements, disagreements


# ---------------------------------------------------------------------------- TinyMaix

TINYMAIX = [name for name, _ in tinymaix_models()]


def test_tinymaix_networks_present():
    """The issue's reference networks are beside the checkout (../shared/models/tinymaix),
    the two 1000-class MobileNets among them."""
    require_tinymaix()
    assert len(TINYMAIX) == 9 and {"tm_mbnet96_0_25_q", "tm_mbnet128_0_25_q"} <= set(TINYMAIX)


@pytest.mark.parametrize("name", TINYMAIX)
def test_tinymaix_network_matches_tflite(name, tmp_path):
    """Each TinyMaix network converts, and both sanitized C drivers and the NumPy reference
    give TFLite's int8 outputs on random int8 inputs (the extremes first)."""
    tfl = dict(tinymaix_models())[name]
    blob = convert_tflite(tfl)
    oracle = Oracle(tfl)
    n_inputs = read_blob(blob).n_inputs
    x = int8_samples(np.random.default_rng(len(tfl)), n_inputs, 6)
    want = []
    for row in x:
        expected = oracle.or_abort(row)
        assert expected is not None, name  # no softmax sum reaches 2^9 on these inputs
        want.append(expected.reshape(-1))
    want = np.array(want)
    assert np.array_equal(reference_cnn.predict_int8(blob, x), want), name
    for driver in DRIVERS:
        _, _, ints = parse_lines(run_driver(driver, blob, x.tobytes(), tmp_path), want.shape[1])
        assert np.array_equal(ints, want), (name, driver)
