"""Where the test suite finds the MicroPython runtime, the native module and the host
C driver (all built by `make test`), and how it runs them."""

from __future__ import annotations

import os
import subprocess

from emlml_tools.board.transport import micropython_command  # the one the demo runs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")
DEVICE_TESTS = os.path.join(ROOT, "tests_device")
DEVICE_DATA = os.path.join(DEVICE_TESTS, "data")
NATMOD_X64 = os.path.join(BUILD, "natmod", "x64")
# gcc and clang builds with ASan/UBSan; the last one walks one tree at a time as
# microcontrollers do (the others interleave four walks on x86-64).
HOST_DRIVERS = [os.path.join(BUILD, "host", name)
                for name in ("emlml_run", "emlml_run_clang", "emlml_run_one_walk")]


def run_micropython(script: str, cwd: str, heapsize: str | None = None,
                    timeout: float = 600, natmod: str = NATMOD_X64) -> subprocess.CompletedProcess[str]:
    """``script`` on the unix runtime, importing emlml.mpy from ``natmod`` (the module of
    every family; a folder NATMOD_X64/<family> for one family alone)."""
    cmd = [micropython_command()]
    if heapsize:
        cmd += ["-X", "heapsize=" + heapsize]
    cmd.append(script)
    env = dict(os.environ, MICROPYPATH=natmod + os.pathsep + cwd)
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def require_built(path: str) -> str:
    if not os.path.exists(path):
        raise RuntimeError(f"{path} is missing: run `make test`, which builds it")
    return path


# MicroPython 1.23 built here with emlml linked in (boards/host_port, `make host-firmware`):
# plain, and with ASan + UBSan.
HOST_PORTS = {name: os.path.join(BUILD, name, "micropython") for name in ("host_port", "host_port_san")}
SANITIZER_ENV = {"ASAN_OPTIONS": "detect_stack_use_after_return=0:detect_leaks=1:abort_on_error=0",
                 "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1"}


def run_host_port(executable: str, script: str, cwd: str, heapsize: str | None = None,
                  timeout: float = 600) -> subprocess.CompletedProcess[str]:
    cmd = [executable]
    if heapsize:
        cmd += ["-X", "heapsize=" + heapsize]
    cmd.append(script)
    env = dict(os.environ, **SANITIZER_ENV)
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


SAN_ENV = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=1",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")


def run_driver(driver: str, blob: bytes, inputs: bytes | None, tmp_path,
               float_input: bool = False) -> subprocess.CompletedProcess[str]:
    """One sanitized C driver (tests_host/c/emlml_run.c) on a blob and, when given, its
    raw inputs (``float_input``: an int8 CNN's inputs are float32, quantized by the core)."""
    blob_path = tmp_path / "m.bin"
    blob_path.write_bytes(blob)
    args = [require_built(driver), str(blob_path)]
    if inputs is not None:
        in_path = tmp_path / "x.bin"
        in_path.write_bytes(inputs)
        args.append(str(in_path))
        if float_input:
            args.append("float")
    return subprocess.run(args, capture_output=True, text=True, env=SAN_ENV, timeout=300)


def assert_driver_equals_reference(driver: str, blob: bytes, x, tmp_path, name: str = "") -> None:
    """One sanitized C driver on float32 rows ``x`` of a trees or boosting blob: a line per
    row, "ok CLASS HEX...", with the NumPy reference's class and the bits of its outputs
    (a classifier's probabilities, a regressor's value)."""
    import numpy as np

    from emlml_tools import runtime
    from emlml_tools.format import read_blob

    result = run_driver(driver, blob, np.ascontiguousarray(x).tobytes(), tmp_path)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    model = read_blob(blob)
    want = (runtime.predict_proba(blob, x) if model.is_classifier
            else runtime.predict(blob, x)[:, None]).view(np.uint32)
    classes = runtime.predict(blob, x) if model.is_classifier else np.zeros(len(x), int)
    lines = result.stdout.splitlines()
    assert len(lines) == len(x), (name, len(lines), len(x))
    for i, line in enumerate(lines):
        parts = line.split()
        assert parts[0] == "ok" and int(parts[1]) == classes[i], (name, i, line)
        assert [int(h, 16) for h in parts[2:]] == want[i].tolist(), (name, i, line)
