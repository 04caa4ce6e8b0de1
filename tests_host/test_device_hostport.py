"""tests_device/ on MicroPython 1.23 built here with emlml linked in as a user C module
(boards/host_port, `make host-firmware`): the firmware path of a make port, proved on
x86-64, once plain and once under AddressSanitizer and UndefinedBehaviorSanitizer.

Every script must exit 0, print its OK line, skip nothing, and leave no sanitizer
report; three of them run again in a 256 KB heap."""

from __future__ import annotations

import glob
import os

import pytest
from emlml_dev.devicedata import write_device_data
from runtimes import DEVICE_DATA, DEVICE_TESTS, HOST_PORTS, require_built, run_host_port

SCRIPTS = sorted(os.path.basename(p) for p in glob.glob(os.path.join(DEVICE_TESTS, "test_*.py")))
BUILDS = sorted(HOST_PORTS)
SANITIZER_MARKS = ("Sanitizer", "runtime error:", "==ERROR")


@pytest.fixture(scope="session")
def device_data() -> str:
    for path in HOST_PORTS.values():
        require_built(path)
    write_device_data(DEVICE_DATA)
    return DEVICE_DATA


def check_clean(result, script: str) -> None:
    output = result.stdout + result.stderr
    for mark in SANITIZER_MARKS:
        assert mark not in result.stderr, output
    assert "SKIP" not in output, output
    assert result.returncode == 0, output
    assert script[:-3] + ": OK" in result.stdout, output


def test_scripts_found():
    assert {"test_parity.py", "test_bad_blobs.py", "test_inputs.py", "test_gc.py",
            "test_util.py", "test_memory.py"} <= set(SCRIPTS)


@pytest.mark.parametrize("build", BUILDS)
@pytest.mark.parametrize("script", SCRIPTS)
def test_device_script(device_data, build, script):
    check_clean(run_host_port(HOST_PORTS[build], script, DEVICE_TESTS), script)


@pytest.mark.parametrize("build", BUILDS)
@pytest.mark.parametrize("script", ["test_gc.py", "test_inputs.py", "test_memory.py"])
def test_device_script_small_heap(device_data, build, script):
    """A 256 KB heap: loads and predictions under GC pressure, MemoryError paths."""
    check_clean(run_host_port(HOST_PORTS[build], script, DEVICE_TESTS, heapsize="256k"), script)


@pytest.mark.parametrize("build", BUILDS)
def test_memory_recovers_on_the_default_heap(device_data, build):
    """The default 2 MB heap holds the 256 KB arena once memory is back: nothing skipped."""
    result = run_host_port(HOST_PORTS[build], "test_memory.py", DEVICE_TESTS)
    assert result.returncode == 0 and "skipped" not in result.stdout, result.stdout + result.stderr


@pytest.mark.parametrize("build", BUILDS)
def test_exit_status(tmp_path, build):
    """sys.exit(n) is the process status; an uncaught exception is 1, with a traceback."""
    (tmp_path / "exit3.py").write_text("import sys\nsys.exit(3)\n")
    (tmp_path / "boom.py").write_text("raise ValueError('boom')\n")
    exe = require_built(HOST_PORTS[build])
    assert run_host_port(exe, "exit3.py", str(tmp_path)).returncode == 3
    boom = run_host_port(exe, "boom.py", str(tmp_path))
    assert boom.returncode == 1 and "ValueError: boom" in boom.stderr, boom.stderr
