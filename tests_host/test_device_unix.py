"""tests_device/ on the real MicroPython unix runtime with the x64 native module.

The data the device scripts read (blobs, inputs, reference and scikit-learn outputs,
corrupted blobs) is generated here from the host side, then every script runs in
`micropython` and must exit 0 and print its OK line."""

from __future__ import annotations

import glob
import os

import pytest
from runtimes import (
    DEVICE_TESTS,
    run_micropython,
)

SCRIPTS = sorted(os.path.basename(p) for p in glob.glob(os.path.join(DEVICE_TESTS, "test_*.py")))


def test_scripts_found():
    assert {"test_parity.py", "test_bad_blobs.py", "test_inputs.py", "test_gc.py",
            "test_util.py", "test_memory.py", "test_reentrant.py"} <= set(SCRIPTS)


def test_memory_recovers_on_the_default_heap(device_data):
    """On the unix runtime's default heap the arena fits once memory is back, so the
    whole of test_memory runs (on a small board that part is skipped)."""
    result = run_micropython("test_memory.py", DEVICE_TESTS)
    assert result.returncode == 0 and "skipped" not in result.stdout, result.stdout


@pytest.mark.parametrize("script", SCRIPTS)
def test_device_script(device_data, script):
    result = run_micropython(script, DEVICE_TESTS)
    output = result.stdout + result.stderr
    assert "SKIP" not in output, output
    assert result.returncode == 0, output
    assert script[:-3] + ": OK" in result.stdout, output


@pytest.mark.parametrize("script", ["test_gc.py", "test_inputs.py", "test_memory.py"])
def test_device_script_small_heap(device_data, script):
    """The same scripts under a 256 KB heap: loads and predictions under GC pressure."""
    result = run_micropython(script, DEVICE_TESTS, heapsize="256k")
    assert result.returncode == 0, result.stdout + result.stderr


def test_parity_reports_every_model(device_data):
    result = run_micropython("test_parity.py", DEVICE_TESTS)
    index = open(os.path.join(device_data, "index.txt")).read().split("\n")
    names = [line.split()[0] for line in index if line]
    for name in names:
        line = next(out for out in result.stdout.splitlines() if out.startswith(name + " "))
        n = int(line.split()[1])
        assert f"reference-exact {n:4d}" in line and f"scikit-learn agree {n:4d}" in line, line


def test_cnn_data_holds_the_tinymaix_networks(device_data):
    """test_cnn.py runs TinyMaix's networks (the 1000-class MobileNets among them) on
    this runtime: their blobs and TFLite's outputs are in the data it reads."""
    from emlml_dev.cnn_devicedata import tinymaix_models
    from emlml_dev.emulators import require_tinymaix

    require_tinymaix()
    index = open(os.path.join(device_data, "cnn", "index.txt")).read().split("\n")
    names = {line.split()[0] for line in index if line}
    assert {name for name, _ in tinymaix_models()} <= names
    assert {"tm_mbnet96_0_25_q", "tm_mbnet128_0_25_q"} <= names


def test_cnn_data_holds_the_keras_exports(device_data):
    """test_cnn.py runs the real Keras exports of issue 15's operators on this runtime."""
    from emlml_dev.cnn_devicedata import keras_export_models

    index = open(os.path.join(device_data, "cnn", "index.txt")).read().split("\n")
    names = {line.split()[0] for line in index if line}
    exports = {name for name, _ in keras_export_models()}
    assert len(exports) >= 12 and exports <= names
