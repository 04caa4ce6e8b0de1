"""examples/gestures: its command trains and converts (small forests here), and the
board's script, main.py, run on the real MicroPython unix runtime with the x64 module,
predicts every held-out window as the host does: scikit-learn's Pipeline.predict for the
Spectrum and ChannelStats forests, TensorFlow Lite's reference interpreter (BUILTIN_REF,
emlml_tools.oracle) for the shipped CNN. On the emulated Cortex-M boards the README's
commands (emlml install, mpremote cp, mpremote run main.py) give the same answers on the
first held-out windows."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import joblib
import numpy as np
import pytest
from emlml_dev import qemu_board as q
from runtimes import BUILD, NATMOD_X64, ROOT, require_built, run_micropython

from emlml_tools.demo.data import MOTION_CLASSES, motion_split
from emlml_tools.oracle import Oracle
from emlml_tools.runtime.cnn import quantize_input

EXAMPLE = os.path.join(ROOT, "examples", "gestures")
FORESTS = ("spectrum_forest", "stats_forest")
CNN = "motion_cnn"


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """The command's folder, after `train.py --trees 3 --depth 6`, and its stdout."""
    require_built(os.path.join(NATMOD_X64, "emlml.mpy"))
    out = tmp_path_factory.mktemp("gestures")
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "py_tools"))
    result = subprocess.run(
        [sys.executable, os.path.join(EXAMPLE, "train.py"), "--out", str(out), "--trees", "3",
         "--depth", "6", "--from", os.path.join(BUILD, "natmod")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return out, result.stdout


def _held_out() -> tuple[np.ndarray, np.ndarray]:
    _, x_test, _, y_test = motion_split()
    return x_test.reshape(len(x_test), -1), y_test


def _host_predictions(out) -> dict[str, np.ndarray]:
    """What the host answers, computed here: the saved Pipelines' predict, and the argmax
    of TFLite's int8 outputs for the windows quantized as the board quantizes them."""
    x, _ = _held_out()
    host = {name: joblib.load(out / (name + ".joblib")).predict(x) for name in FORESTS}
    blob = (out / (CNN + ".bin")).read_bytes()
    tflite = os.path.join(ROOT, "py_tools", "emlml_tools", "models", CNN + ".tflite")
    with open(tflite, "rb") as f:
        oracle = Oracle(f.read())
    q = quantize_input(blob, x)
    host[CNN] = np.array([int(np.argmax(oracle(row))) for row in q])
    return host


def _main_output(stdout: str) -> tuple[dict[str, list[int]], dict[str, list[str]]]:
    """main.py's lines: each model's class per window, in order, and its COST fields."""
    got: dict[str, list[int]] = {n: [] for n in (*FORESTS, CNN)}
    costs = {}
    for line in stdout.splitlines():
        name, *rest = line.split()
        if name == "COST":
            costs[rest[0]] = rest[1:]
        else:
            assert int(rest[0]) == len(got[name]), line
            got[name].append(MOTION_CLASSES.index(rest[1]))
    return got, costs


def test_unix_runtime_predicts_as_the_host_on_every_window(made):
    out, _ = made
    x, y = _held_out()
    assert (out / "windows.bin").read_bytes() == x.astype("<f4").tobytes()
    host = _host_predictions(out)
    result = run_micropython("main.py", str(out), natmod=NATMOD_X64, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    got, costs = _main_output(result.stdout)
    for name, predicted in got.items():
        assert len(predicted) == len(x), name
        assert np.array_equal(predicted, host[name]), (
            name, np.flatnonzero(np.asarray(predicted) != host[name]))
        assert costs[name][0] == str(len(x))
        # the examples are worth showing: every model gets most held-out gestures right
        assert np.mean(host[name] == y) >= 0.9, (name, np.mean(host[name] == y))
    # the feature steps are timed only where there are some
    assert [float(costs[n][3]) >= 0 for n in (*FORESTS, CNN)] == [True, True, False]


def test_command_reports_what_it_measured(made):
    out, stdout = made
    host = _host_predictions(out)
    with open(out / "host.json") as f:
        assert {k: list(v) for k, v in json.load(f).items()} == {k: v.tolist() for k, v in host.items()}
    with open(out / "results.json") as f:
        rows = {r["model"]: r for r in json.load(f)}
    _, y = _held_out()
    for name in (*FORESTS, CNN):
        r = rows[name]
        assert (r["agree"], r["n"]) == (len(y), len(y))
        assert r["host_accuracy"] == r["board_accuracy"] == float(np.mean(host[name] == y))
        assert r["blob_bytes"] == (out / (name + ".bin")).stat().st_size
        assert f"| {name} " in stdout
    # the Spectrum step's working memory: two buffers of its 24 outputs and one channel's
    # 64 complex values (docs/features.md)
    assert rows["spectrum_forest"]["arena_features"] == 8 * 24 + 2 * 64 * 4
    assert rows[CNN]["arena_features"] == 0


QEMU_WINDOWS = 40  # the first held-out windows (the emulated UART copies ~7 KB/s)


@pytest.mark.parametrize("flavour,arch", [("an385", "armv6m"), ("an386", "armv7emsp")])
def test_emulated_board_runs_the_readme_commands(made, tmp_path, flavour, arch):
    out, _ = made
    for path in (q.firmware_path(flavour), os.path.join(q.NATMOD_DIR, arch, "emlml.mpy")):
        if not os.path.exists(path):
            pytest.fail(f"{path} is missing: make qemu-firmware natmod-all")
    names = [n + ".bin" for n in (*FORESTS, CNN)] + ["main.py"]
    for name in names:
        shutil.copy(out / name, tmp_path / name)
    x, _ = _held_out()
    (tmp_path / "windows.bin").write_bytes(x[:QEMU_WINDOWS].astype("<f4").tobytes())
    host = _host_predictions(out)
    # `emlml install` in its own process, as a user runs it (it holds the port until it exits)
    emlml = [sys.executable, "-c", "import sys; from emlml_tools.cli import main; sys.exit(main())"]
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "py_tools"))
    with q.start(flavour) as board:
        installed = subprocess.run(
            emlml + ["install", "--port", board.port, "--arch", arch, "--from", q.NATMOD_DIR],
            env=env, capture_output=True, text=True, timeout=300)
        assert installed.returncode == 0, installed.stdout + installed.stderr
        board.mpremote("cp", *[str(tmp_path / n) for n in names + ["windows.bin"]], ":",
                       timeout=600)
        result = board.mpremote("run", str(tmp_path / "main.py"), timeout=600)
    got, costs = _main_output(result.stdout)
    for name, predicted in got.items():
        assert predicted == host[name][:QEMU_WINDOWS].tolist(), (name, arch)
        assert costs[name][0] == str(QEMU_WINDOWS)
