"""tests_device/ on an emulated ESP32: the official ESP32_GENERIC MicroPython 1.23.0
firmware in Espressif's QEMU (emlml_dev.esp32_board) with the project's xtensawin
emlml.mpy in :lib/, driven by the real `mpremote` over socket://127.0.0.1:PORT.

Each script runs with `mpremote resume run` on a freshly booted board whose filesystem
(a littlefs image written into the flash image before boot: mpremote copies at about
1 KB/s here) holds emlml.mpy, the device data, emlml_testlib.py and emlml_util.py. It
must print its OK line and raise nothing.

The emulator's flash is slow: every flash operation costs 10-30 ms (the SPI flash
driver stops the other CPU and polls). Two consequences:
- `resume`: mpremote's soft reset remounts the filesystem, which takes longer (about
  11 s with the device data) than mpremote waits for the raw REPL (10 s).
- the board's boot.py (eb.BOOT_PY_FAST_FS) remounts / with a 2 KB littlefs cache instead of
  MicroPython's 128 bytes (each read of a cache line is a flash operation): opening a
  file in data/ (70 entries) took 1.2-2 s, about 0.2 s so.
The same commands (`mpremote run`, the default mount) work on a real ESP32.

The install and deploy tests run on a board with a small filesystem, through the
product's own MpremoteTransport (plain `mpremote connect`, soft reset included): the
flash of this emulator is writable. The firmware, ROMs and QEMU are found by
emlml_dev.emulators; where they are absent the tier is skipped with one line saying
what is missing (EMLML_REQUIRE_EMULATORS=1: failed).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from emlml_dev import emulators
from emlml_dev import esp32_board as eb
from emlml_dev.devicedata import base_blobs, board_models, write_device_data
from emlml_tools.board import BoardError, BoardInfo, MpremoteTransport, board_info, check_mpy, choose_mpy
from emlml_tools.board import deploy, install
from cut_link import CutTransport
from runtimes import BUILD, DEVICE_TESTS, ROOT

MISSING = emulators.missing_for_tests("esp32")
NATMOD_DIR = os.path.join(BUILD, "natmod")
NATMOD = os.path.join(NATMOD_DIR, "xtensawin", "emlml.mpy")
WORK = os.path.join(BUILD, "esp32")
UTIL = os.path.join(ROOT, "micropython_module", "python", "emlml_util.py")
# The workload, sized for this emulator (file opens dominate, above): every model and
# estimator kind with its first MAX_SAMPLES test samples, the shipped CNNs and
# CNN_RANDOM random ones, the real Keras exports of issue 15's operators whose blob fits
# the heap's largest allocation (all but the 1000-class one); test_bad_blobs.py does all
# its truncations and byte flips.
MAX_SAMPLES = 20
CNN_RANDOM = 6
KERAS_MAX_BLOB = 32 * 1024
WORKERS = 2
SCRIPTS = sorted(os.path.basename(p) for p in glob.glob(os.path.join(DEVICE_TESTS, "test_*.py")))
# the long ones first, so that the two workers end together
LONG_FIRST = ("test_bad_blobs.py", "test_cnn.py", "test_parity.py", "test_gc.py", "test_inputs.py")


@pytest.fixture(scope="module", autouse=True)
def emulator_present():
    if MISSING:
        pytest.fail(MISSING, pytrace=False)
    if not os.path.exists(NATMOD):
        pytest.fail(f"{NATMOD} is missing: make natmod-all")


def image() -> bytes:
    data = os.path.join(WORK, "device_data")
    shutil.rmtree(data, ignore_errors=True)
    write_device_data(data, models=board_models(), cnn_random=CNN_RANDOM,
                      max_samples=MAX_SAMPLES, cnn_keras_max_blob=KERAS_MAX_BLOB)
    files = eb.tree(data, "/data")
    files.update({"/lib/emlml.mpy": NATMOD, "/boot.py": eb.BOOT_PY_FAST_FS,
                  "/emlml_testlib.py": os.path.join(DEVICE_TESTS, "emlml_testlib.py"),
                  "/emlml_util.py": UTIL})
    return eb.fs_image(files)


def run_script(img: bytes, script: str) -> tuple[str, str, float]:
    """(output, error, seconds) of one script on a fresh board."""
    start = time.monotonic()
    try:
        with eb.Board(img, workdir=WORK) as board:
            result = board.mpremote("resume", "run", os.path.join(DEVICE_TESTS, script),
                                    timeout=900, check=False)
            error = "" if result.returncode == 0 else f"mpremote exit {result.returncode}"
            if not board.running():
                error += f"; QEMU ended: {board.qemu_log()}"
            return result.stdout + result.stderr, error, time.monotonic() - start
    except BoardError as e:
        return "", str(e), time.monotonic() - start


@pytest.fixture(scope="module")
def runs() -> dict[str, tuple[str, str, float]]:
    img = image()
    order = [s for s in LONG_FIRST if s in SCRIPTS] + [s for s in SCRIPTS if s not in LONG_FIRST]
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = {s: pool.submit(run_script, img, s) for s in order}
        return {s: fut.result() for s, fut in futures.items()}


@pytest.mark.parametrize("script", SCRIPTS)
def test_device_script(runs, script):
    output, error, seconds = runs[script]
    print(f"{script}: {seconds:.0f} s (boot included)\n{output}")
    assert not error, f"{script}: {error}\n{output}"
    # sys.exit(1) in a script ends it silently in the raw REPL: the OK line decides.
    assert script[:-3] + ": OK" in output, output
    for bad in ("SKIP", "FAIL", "Traceback"):
        assert bad not in output, output


# ------------------------------------------------------------ emlml install and deploy


@pytest.fixture
def board():
    """A fresh board with a small filesystem (emlml_util.py in lib/): mpremote's soft
    reset remounts it within the 10 s mpremote waits, so the product's MpremoteTransport
    is used unchanged. (Fresh per test: every file written makes the remount longer.)"""
    with eb.Board(eb.fs_image({"/lib/emlml_util.py": UTIL}), workdir=WORK) as b:
        yield b


@pytest.fixture
def board_with_emlml():
    """The same with emlml.mpy in lib/ already (a copy through mpremote takes 30 s here;
    test_emlml_install_on_the_esp32 makes it)."""
    with eb.Board(eb.fs_image({"/lib/emlml_util.py": UTIL, "/lib/emlml.mpy": NATMOD}),
                  workdir=WORK) as b:
        yield b


def test_emlml_install_on_the_esp32(board):
    """`emlml install`: the board reports xtensawin (11014); install() picks the
    xtensawin build, copies it to :lib/emlml.mpy and imports it there."""
    t = MpremoteTransport(board.device)
    info = board_info(t)
    assert info.mpy == 11014 and (info.arch, info.version, info.sub_version) == ("xtensawin", 6, 3)
    assert install.install(t, natmod_dir=NATMOD_DIR) == "xtensawin"
    out = t.exec("import os, emlml\nprint('SIZE', os.stat('lib/emlml.mpy')[6], emlml.__version__)")
    assert f"SIZE {os.path.getsize(NATMOD)} " in out, out


@pytest.mark.parametrize("arch", ["x64", "armv6m", "armv7m", "armv7emsp"])
def test_install_refuses_other_builds_for_the_esp32(arch):
    info = BoardInfo(11014)
    assert choose_mpy(info, natmod_dir=NATMOD_DIR) == NATMOD
    check_mpy(info.mpy, NATMOD)
    with pytest.raises(BoardError, match=f"{arch} code does not run on a xtensawin board: "
                       "install the xtensawin build"):
        check_mpy(info.mpy, os.path.join(NATMOD_DIR, arch, "emlml.mpy"))
    with pytest.raises(BoardError, match="xtensawin"):
        choose_mpy(info, arch, natmod_dir=NATMOD_DIR)


def loaded(t: MpremoteTransport, path: str = "deploy.bin") -> str:
    out = t.exec("import emlml_util\n"
                 f"p, m = emlml_util.load_first({path!r}, {path + '.prev'!r})\n"
                 "print('LOADED', p, m.blob_size)")
    return out.split("LOADED", 1)[1].strip()


def test_emlml_deploy_and_interrupted_deploys_on_the_esp32(board_with_emlml):
    """emlml deploy through mpremote: checked on the board, then swapped in, the old
    model kept as .prev. Cut transfers (in a chunk, at a chunk boundary, after the last
    byte before the swap) and a cut between the renames leave a model that
    emlml_util.load_first loads: the old one."""
    t = MpremoteTransport(board_with_emlml.device)
    old, new = base_blobs()["trees"], base_blobs()["forest"]
    deploy.deploy(t, old, "deploy.bin")
    assert loaded(t) == f"deploy.bin {len(old)}"
    for cut in (100, deploy.CHUNK, len(new)):
        with pytest.raises(ConnectionError):
            deploy.deploy(CutTransport(t, cut), new, "deploy.bin")
        assert loaded(t) == f"deploy.bin {len(old)}", cut
    deploy.deploy(t, new, "deploy.bin")
    out = t.exec("import emlml\nprint('PREV', emlml.load('deploy.bin.prev').blob_size)")
    assert loaded(t) == f"deploy.bin {len(new)}" and f"PREV {len(old)}" in out, out
    # cut between the two renames: deploy.bin is gone, .prev holds the old model
    t.exec("import os\nos.rename('deploy.bin', 'deploy.bin.tmp')")
    assert loaded(t) == f"deploy.bin.prev {len(old)}"


# ---------------------------------------------------------------- a model made elsewhere


def test_sklearn_model_converted_by_the_command(board_with_emlml, tmp_path):
    """A RandomForest trained here on a synthetic problem (not the zoo), saved with
    joblib and converted with the `emlml convert` command, predicts on the ESP32 what
    scikit-learn predicts, for every test sample."""
    import joblib
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import train_test_split

    X, y = make_classification(n_samples=400, n_features=8, n_informative=5, n_classes=3,
                               random_state=7)
    X = X.astype(np.float32)
    X_train, X_test, y_train, _ = train_test_split(X, y, test_size=60, random_state=7)
    forest = RandomForestClassifier(n_estimators=8, max_depth=6, random_state=7).fit(X_train, y_train)
    joblib.dump(forest, tmp_path / "forest.joblib")
    convert = subprocess.run([sys.executable, "-m", "emlml_tools.cli", "convert",
                              str(tmp_path / "forest.joblib"), "-o", str(tmp_path / "forest.bin")],
                             capture_output=True, text=True, timeout=300,
                             env=dict(os.environ, PYTHONPATH=os.path.join(ROOT, "py_tools")))
    assert convert.returncode == 0, convert.stdout + convert.stderr
    want = forest.predict(X_test)
    (tmp_path / "x.bin").write_bytes(X_test.tobytes())
    t = MpremoteTransport(board_with_emlml.device)
    t.put(str(tmp_path / "forest.bin"), ":forest.bin")
    t.put(str(tmp_path / "x.bin"), ":x.bin")
    out = t.exec("import array, emlml\n"
                 "m = emlml.load('forest.bin')\n"
                 "x = array.array('f', open('x.bin', 'rb').read())\n"
                 "n = m.n_inputs\n"
                 "print('PRED', ' '.join(str(m.predict(x[i * n:(i + 1) * n])) for i in range(len(x) // n)))")
    got = [int(v) for v in out.split("PRED", 1)[1].split()]
    assert len(got) == len(X_test)
    assert list(forest.classes_[got]) == list(want)


def test_cnn_ran_the_keras_exports(runs):
    """test_cnn.py's lines name every Keras export the image holds: the ESP32's Xtensa
    kernels on TensorFlow's own files, not only on generated ones."""
    from emlml_dev.cnn_devicedata import keras_export_models

    output = runs["test_cnn.py"][0]
    names = [name for name, _ in keras_export_models(KERAS_MAX_BLOB)]
    assert len(names) >= 11
    for name in names:
        assert f"{name} " in output and "TFLite-exact  6" in output.split(name, 1)[1].split("\n")[0], name
