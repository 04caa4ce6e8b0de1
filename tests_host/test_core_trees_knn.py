"""The C core built for the host with ASan and UBSan (gcc and clang): bit-exact with the
NumPy reference runtime on every zoo model, random corruptions refused or harmless, and
the software sqrt exact. (The bad blobs of the one table: test_core_bad_blobs.py.)"""

from __future__ import annotations

import os
import subprocess

import numpy as np
import pytest
from emlml_dev.bad_blobs import base_blobs
from emlml_dev.devicedata import reference_outputs, sklearn_outputs
from emlml_dev.zoo import demo_models, test_models
from hypothesis import given, settings
from hypothesis import strategies as st
from runtimes import BUILD, HOST_DRIVERS, require_built, run_driver

MODELS = demo_models() + test_models()


@pytest.mark.parametrize("driver", HOST_DRIVERS, ids=["gcc", "clang", "gcc-one-walk"])
@pytest.mark.parametrize("model", MODELS, ids=[m.name for m in MODELS])
def test_core_matches_reference_bits(driver, model, tmp_path):
    blob = model.blob()
    x = np.ascontiguousarray(model.inputs())
    result = run_driver(driver, blob, x.tobytes(), tmp_path)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(x)
    want = reference_outputs(blob, model).view(np.uint32)
    sk = sklearn_outputs(model)  # the class: scikit-learn's own predict, ties included
    for i, line in enumerate(lines):
        parts = line.split()
        assert parts[0] == "ok", line
        got = np.array([int(h, 16) for h in parts[2:]], dtype=np.uint32)
        assert np.array_equal(got, want[i]), (i, line)
        if model.is_classifier:
            assert int(parts[1]) == sk[i], (i, line)


def test_nonfinite_input_refused(tmp_path):
    """Without NaN routing (a model whose scikit-learn predict refuses NaN: criterion
    absolute_error) NaN and infinity are refused; with it, infinity alone."""
    from sklearn.tree import DecisionTreeRegressor

    from emlml_tools.convert.sklearn_models import convert
    model = demo_models()[0]
    x = np.ascontiguousarray(model.inputs()[:4]).copy()
    x[1, 7] = np.nan
    x[2, 0] = -np.inf
    x[3, 5] = np.nan
    x[3, 9] = np.inf
    result = run_driver(HOST_DRIVERS[0], model.blob(), x.tobytes(), tmp_path)
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ok ") and lines[1].startswith("ok ")
    assert lines[2] == "error input 0 is infinite (NaN is accepted, infinity is not)"
    assert lines[3] == "error input 9 is infinite (NaN is accepted, infinity is not)"
    refusing = DecisionTreeRegressor(criterion="absolute_error", max_depth=3, random_state=0)
    refusing.fit(model.X_train, np.arange(len(model.X_train)) % 7)
    result = run_driver(HOST_DRIVERS[0], convert(refusing), x.tobytes(), tmp_path)
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ok ")
    assert lines[1] == "error input 7 is NaN or infinite"
    assert lines[2] == "error input 0 is NaN or infinite"
    assert lines[3] == "error input 5 is NaN or infinite"


def test_random_corruptions_never_crash(tmp_path):
    """Random byte changes with the CRC fixed, so the checks past it are exercised:
    the sanitized core either refuses the blob or runs it, never faults."""
    from emlml_tools.format import CRC_START, fix_crc
    rng = np.random.default_rng(1)
    for name, good in base_blobs().items():
        x = np.zeros((2, 13), dtype=np.float32).tobytes()
        for trial in range(40):
            data = bytearray(good)
            for _ in range(rng.integers(1, 4)):
                pos = int(rng.integers(CRC_START, len(data)))
                data[pos] = int(rng.integers(0, 256))
            result = run_driver(HOST_DRIVERS[0], fix_crc(bytes(data)), x, tmp_path)
            assert result.returncode in (0, 3) and result.stderr == "", (name, trial, result.stderr)


def test_binary64_add_and_divide_are_correctly_rounded():
    """The tie replay's binary64 (integers only: the ESP32 build links no libgcc) gives
    the host's double bits, with gcc and clang, under ASan and UBSan."""
    for name in ("test_f64", "test_f64_clang"):
        result = subprocess.run([require_built(os.path.join(BUILD, "host", name))],
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        assert " 0 mismatches" in result.stdout


def test_software_sqrt_is_correctly_rounded():
    result = subprocess.run([require_built(os.path.join(BUILD, "host", "test_sqrt"))],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout
    assert "0 mismatches" in result.stdout


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_random_corruptions_are_refused_by_the_c_loader(data, tmp_path_factory):
    """Any change of 1..8 bytes anywhere in a valid blob (CRC left as it was): the
    sanitized C loader refuses it, never takes it for a different valid model."""
    name = data.draw(st.sampled_from(sorted(base_blobs())))
    good = bytearray(base_blobs()[name])
    positions = data.draw(st.lists(st.integers(0, len(good) - 1), min_size=1, max_size=8))
    for pos in positions:
        good[pos] ^= data.draw(st.integers(1, 255))
    blob = bytes(good)
    if blob == base_blobs()[name]:  # flips that cancelled out
        return
    result = run_driver(HOST_DRIVERS[1], blob, None, tmp_path_factory.mktemp("c"))
    assert result.returncode == 3 and result.stderr == "", (positions, result.stdout + result.stderr)
    assert result.stdout.startswith("load-error ")
