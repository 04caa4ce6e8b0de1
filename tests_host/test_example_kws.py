"""examples/kws: keyword spotting from audio samples to the word. Its command (run.py)
builds the Pipeline MFCC -> scaler -> int8 CNN from the committed kws.tflite and
kws.json, converts it with `emlml convert`, synthesises held-out clips with espeak-ng,
and the board's script, main.py, run on the real MicroPython unix runtime with the x64
module, says on every clip the word the host Pipeline says (its CNN: TensorFlow Lite's
reference interpreter, BUILTIN_REF). The clips come from a seed training never used."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from runtimes import BUILD, NATMOD_X64, ROOT, require_built, run_micropython

from emlml_tools import runtime
from emlml_tools.format import read_blob

EXAMPLE = os.path.join(ROOT, "examples", "kws")
PER_CLASS = 5  # held-out clips per class (8 classes)
# The host Pipeline's accuracy on them is printed; asserted only above this floor (chance
# is 1/8; on these 40 clips the committed CNN gets 0.95).
ACCURACY_FLOOR = 0.75


def _load_run():
    """examples/kws/run.py as a module (its modules import each other by plain name)."""
    if EXAMPLE not in sys.path:
        sys.path.insert(0, EXAMPLE)
    spec = importlib.util.spec_from_file_location("kws_run", os.path.join(EXAMPLE, "run.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


kws_run = _load_run()
kws_model = kws_run.kws_model
kws_words = kws_run.words


def _need_espeak() -> None:
    if shutil.which("espeak-ng") is None:
        message = "espeak-ng is missing: apt-get install espeak-ng"
        if os.environ.get("CI"):  # CI installs it (make test's espeak target)
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def held_out():
    """The held-out clips, their classes, and the host Pipeline's classes computed here."""
    _need_espeak()
    x, y = kws_words.make_clips(PER_CLASS, kws_run.HELD_OUT_SEED)
    host = kws_model.pipeline().predict(x)
    return x, y, host


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """The command's folder, after `run.py --clips 5`, and its stdout."""
    _need_espeak()
    require_built(os.path.join(NATMOD_X64, "emlml.mpy"))
    out = str(tmp_path_factory.mktemp("kws"))
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "py_tools"))
    result = subprocess.run(
        [sys.executable, os.path.join(EXAMPLE, "run.py"), "--out", out, "--clips",
         str(PER_CLASS), "--from", os.path.join(BUILD, "natmod")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    return out, result.stdout


def test_committed_cnn_is_the_one_its_record_describes():
    rec = kws_model.record()
    with open(kws_model.TFLITE, "rb") as f:
        data = f.read()
    assert (len(data), hashlib.sha256(data).hexdigest()) == (rec["size_bytes"], rec["sha256"])
    assert rec["classes"] == list(kws_words.CLASSES)
    assert rec["mfcc"] == kws_model.MFCC_PARAMS
    assert rec["unsupported_ops"] == []
    step = kws_model.mfcc()
    # the CNN takes the MFCC image: frames x coefficients, int8
    assert rec["input"]["shape"] == [1, step.n_frames_, step.n_coefficients, 1]
    assert rec["input"]["dtype"] == rec["output"]["dtype"] == "int8"
    assert rec["output"]["shape"] == [1, len(kws_words.CLASSES)]


def test_clips_are_seeded_one_second_windows():
    _need_espeak()
    x, y = kws_words.make_clips(2, 11)
    again, y_again = kws_words.make_clips(2, 11)
    assert x.dtype == np.float32 and x.shape == (2 * len(kws_words.CLASSES), kws_words.WINDOW)
    assert np.array_equal(x, again) and np.array_equal(y, y_again)
    assert np.bincount(y).tolist() == [2] * len(kws_words.CLASSES)
    assert np.all(np.abs(x) <= 1.0)
    other, _ = kws_words.make_clips(2, 12)
    assert not np.array_equal(x, other)
    # silence is noise of RMS 0.1 at most; a word is scaled to a peak of 0.1 .. 0.9, and
    # noise 5 dB or more below the word's RMS does not halve it
    silent = y == kws_words.CLASSES.index(kws_words.SILENCE)
    assert np.all(np.sqrt(np.mean(np.square(x[silent], dtype=np.float64), axis=1)) <= 0.1 + 1e-6)
    assert np.all(np.max(np.abs(x[~silent]), axis=1) >= 0.05)


def test_unix_runtime_says_the_hosts_word_on_every_clip(made, held_out):
    out, _ = made
    x, y, host = held_out
    assert open(os.path.join(out, "clips.bin"), "rb").read() == x.astype("<f4").tobytes()
    with open(os.path.join(out, "host.json")) as f:
        assert json.load(f) == host.tolist()
    result = run_micropython("main.py", out, natmod=NATMOD_X64, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    predicted, cost = kws_run.parse_main(result.stdout)
    assert predicted == host.tolist(), np.flatnonzero(np.asarray(predicted) != host)
    accuracy = float(np.mean(host == y))
    print(f"keyword spotting, {len(y)} held-out clips: accuracy {accuracy:.3f} on the host "
          "and on MicroPython")
    assert accuracy >= ACCURACY_FLOOR
    n, ram, us_predict, us_transform, n_features = (int(v) for v in cost)
    step = kws_model.mfcc()
    assert (n, n_features) == (len(y), step.n_frames_ * step.n_coefficients)
    assert ram >= read_blob(open(os.path.join(out, "kws.bin"), "rb").read()).arena_bytes
    assert 0 < us_transform < us_predict


def test_reference_runtime_gives_the_hosts_word(made, held_out):
    """The blob on emlml's NumPy reference runtime (the bits the C core must give)."""
    out, _ = made
    x, _, host = held_out
    with open(os.path.join(out, "kws.bin"), "rb") as f:
        blob = f.read()
    assert runtime.predict(blob, x).tolist() == host.tolist()


def test_command_reports_what_it_measured(made, held_out):
    out, stdout = made
    _, y, host = held_out
    with open(os.path.join(out, "results.json")) as f:
        r = json.load(f)
    accuracy = float(np.mean(host == y))
    assert (r["clips"], r["agree"]) == (len(y), len(y))
    assert r["host_accuracy"] == r["board_accuracy"] == accuracy
    with open(os.path.join(out, "kws.bin"), "rb") as f:
        blob = f.read()
    assert (r["blob_bytes"], r["arena_bytes"]) == (len(blob), read_blob(blob).arena_bytes)
    assert r["frames"] == kws_model.mfcc().n_frames_
    assert f"| {len(y)} " in stdout and f"{len(y)}/{len(y)}" in stdout


QEMU_CLIPS = 2  # the emulated UART copies about 7 KB/s: 64 KB a clip


@pytest.mark.parametrize("flavour,arch", [("an385", "armv6m"), ("an386", "armv7emsp")])
def test_emulated_board_runs_the_readme_commands(made, held_out, tmp_path, flavour, arch):
    """The README's commands on QEMU's Cortex-M3 (the armv6m module: the RP2040's code,
    soft float) and Cortex-M4F (armv7emsp): `emlml install --for kws.bin` picks the module
    of every family, and main.py says the host's word on the first clips."""
    from emlml_dev import qemu_board as q

    out, _ = made
    x, _, host = held_out
    for path in (q.firmware_path(flavour), os.path.join(q.NATMOD_DIR, arch, "emlml.mpy")):
        if not os.path.exists(path):
            pytest.fail(f"{path} is missing: make qemu-firmware natmod-all")
    for name in ("kws.bin", "main.py"):
        shutil.copy(os.path.join(out, name), tmp_path / name)
    (tmp_path / "clips.bin").write_bytes(x[:QEMU_CLIPS].astype("<f4").tobytes())
    emlml = [sys.executable, "-c", "import sys; from emlml_tools.cli import main; sys.exit(main())"]
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "py_tools"))
    with q.start(flavour) as board:
        installed = subprocess.run(
            emlml + ["install", "--port", board.port, "--arch", arch, "--from", q.NATMOD_DIR,
                     "--for", str(tmp_path / "kws.bin")],
            env=env, capture_output=True, text=True, timeout=300)
        assert installed.returncode == 0, installed.stdout + installed.stderr
        board.mpremote("cp", *[str(tmp_path / n) for n in ("kws.bin", "clips.bin", "main.py")],
                       ":", timeout=600)
        result = board.mpremote("run", str(tmp_path / "main.py"), timeout=1200)
    predicted, cost = kws_run.parse_main(result.stdout)
    assert predicted == host[:QEMU_CLIPS].tolist(), (arch, result.stdout)
    assert int(cost[0]) == QEMU_CLIPS
