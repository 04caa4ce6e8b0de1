"""tests_device/ on an emulated RP2040: the official RPI_PICO MicroPython 1.24.1 firmware,
booted from the RP2040 boot ROM in npm's rp2040js (boards/rp2040js/run.mjs, `make
rp2040-emulator`), with the project's armv6m emlml.mpy in :lib/.

Each script runs on a freshly booted board whose filesystem (a littlefs image placed in
flash before boot: rp2040js does not emulate flash writes) holds emlml.mpy, the device
data, emlml_testlib.py and emlml_util.py; the script is sent in raw-paste mode, as
`mpremote run` sends it to a real Pico. It must print its OK line, raise nothing, and the
emulated Cortex-M0+ must have made no unaligned halfword/word access and taken no
HardFault (a real M0+ faults where rp2040js silently carries on: the harness counts).

The firmware and boot ROM are found by emlml_dev.emulators; where they are absent the
tier is skipped with one line saying what is missing (EMLML_REQUIRE_EMULATORS=1: failed).
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest
from emlml_dev import emulators
from emlml_dev import rp2040_board as rb
from emlml_dev.devicedata import board_models, write_device_data
from emlml_tools.board import BoardError, board_info, check_mpy, choose_mpy
from emlml_tools.board.install import install
from runtimes import BUILD, DEVICE_TESTS, ROOT

# "" when the firmware, boot ROM and node are here; else the module is skipped with one
# line, or (EMLML_REQUIRE_EMULATORS=1) every test fails with it
MISSING = emulators.missing_for_tests("rp2040", commands=("node",))
NATMOD_DIR = os.path.join(BUILD, "natmod")
NATMOD = os.path.join(NATMOD_DIR, "armv6m", "emlml.mpy")
WORK = os.path.join(BUILD, "rp2040")
UTIL = os.path.join(ROOT, "micropython_module", "python", "emlml_util.py")
# The workload, sized for rp2040js (about 25 M emulated cycles per second): every model
# and estimator kind with its first 60 test samples, the shipped CNNs and 18 random ones.
# The whole tier takes about 3 minutes on two busy cores.
MAX_SAMPLES = 60
CNN_RANDOM = 18
# The Pico's 1408 KB filesystem (352 blocks) was full before the models with missing values
# and ties: of those, a classifier fitted with NaN and a tie-prone forest, and 18 random
# CNNs instead of 24, leave 6 blocks free (the unix port runs all fourteen models and 200
# CNNs, the Cortex-M boards all fourteen and 24).
RP2040_NEW_MODELS = ("wine_forest_nan", "digits_forest_ties")
# Then the module of every family grew to 37 KB (gradient boosting, feature steps) and the
# integer kNN and a Pipeline came: three kNN models the other boards run leave the Pico,
# 8 blocks free (its kNN: float32 euclidean and manhattan, int16 integer distances both
# metrics, int8).
RP2040_DROPPED = ("breast_cancer_knn_int16_distance", "diabetes_knn_int16_input",
                  "diabetes_knn_distance")
WORKERS = 2
# Scripts that write files cannot run here: rp2040js does not emulate flash writes, so
# open(..., 'w') raises OSError (checked: errno 36 with the image mounted, ENODEV with no
# filesystem). None of tests_device/ writes today; a script that starts to must be
# listed here with the reason, or test_writing_scripts_are_listed fails.
EXCLUDED: dict[str, str] = {}
SCRIPTS = sorted(os.path.basename(p) for p in glob.glob(os.path.join(DEVICE_TESTS, "test_*.py")))
RUN = [s for s in SCRIPTS if s not in EXCLUDED]
# the long ones first, so that two workers end together
LONG_FIRST = ("test_bad_blobs.py", "test_parity.py", "test_gc.py", "test_cnn.py")
WRITES = re.compile(r"""open\([^)]*['"][rb]*[wax+]|\bos\.(remove|unlink|rename|mkdir|rmdir)\b"""
                    r"""|\bvfs\.|\.mkfs\b""")


@pytest.fixture(scope="module", autouse=True)
def emulator_present():
    if MISSING:
        pytest.fail(MISSING, pytrace=False)


def image() -> bytes:
    if not os.path.exists(NATMOD):
        pytest.fail(f"{NATMOD} is missing: make natmod-all")
    data = os.path.join(WORK, "device_data")
    shutil.rmtree(data, ignore_errors=True)
    models = [m for m in board_models(RP2040_NEW_MODELS) if m.name not in RP2040_DROPPED]
    write_device_data(data, models=models, cnn_random=CNN_RANDOM, max_samples=MAX_SAMPLES)
    files = rb.tree(data, "/data")
    files.update({"/lib/emlml.mpy": NATMOD,
                  "/emlml_testlib.py": os.path.join(DEVICE_TESTS, "emlml_testlib.py"),
                  "/emlml_util.py": UTIL})
    return rb.fs_image(files)


def run_script(img: bytes, script: str) -> tuple[rb.Result | None, dict, str]:
    """(result, the harness's counters, error) of one script on a fresh board."""
    with open(os.path.join(DEVICE_TESTS, script)) as f:
        code = f.read()
    with rb.Board(img, workdir=WORK) as board:
        try:
            board.wait_repl()
            board.enter_raw()
            result, error = board.exec(code, timeout=900), ""
        except rb.BoardError as e:
            result, error = None, str(e)
        return result, board.stats(), error


@pytest.fixture(scope="module")
def runs() -> dict[str, tuple[rb.Result | None, dict, str]]:
    rb.node_modules()  # says `make rp2040-emulator` when rp2040js is not installed
    img = image()
    order = [s for s in LONG_FIRST if s in RUN] + [s for s in RUN if s not in LONG_FIRST]
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = {s: pool.submit(run_script, img, s) for s in order}
        return {s: fut.result() for s, fut in futures.items()}


def assert_no_fault(stats: dict, what: str) -> None:
    assert stats["unaligned"] == 0, f"{what}: unaligned accesses {stats['unaligned_samples']}"
    assert stats["hard_faults"] == 0, f"{what}: HardFault ({stats})"
    assert stats["unknown_instructions"] == 0, f"{what}: unknown instructions ({stats})"
    assert stats["breakpoints"] == 0 and stats["halted"] is None, f"{what}: halted ({stats})"


@pytest.mark.parametrize("script", RUN)
def test_device_script(runs, script):
    result, stats, error = runs[script]
    assert result is not None, f"{script}: {error}"
    output = result.stdout + result.stderr
    print(f"{script}: {result.seconds:.0f} s, {stats['cycles']:,} cycles\n{result.stdout}")
    assert result.stderr == "", output  # an exception ends the script with its traceback
    # sys.exit(1) in a script ends it silently in the raw REPL: the OK line decides.
    assert script[:-3] + ": OK" in result.stdout, output
    for bad in ("SKIP", "FAIL", "Traceback"):
        assert bad not in output, output
    assert_no_fault(stats, script)


def test_writing_scripts_are_listed():
    """Every device script that writes a file is in EXCLUDED (it cannot run here), and
    every script in EXCLUDED still exists."""
    for script in SCRIPTS:
        with open(os.path.join(DEVICE_TESTS, script)) as f:
            writes = WRITES.search(f.read())
        assert not writes or script in EXCLUDED, \
            f"{script} writes files ({writes.group(0)!r}): list it in EXCLUDED"
    assert set(EXCLUDED) <= set(SCRIPTS)
    assert WRITES.search("open(p, 'wb')") and WRITES.search("os.remove(p)")
    assert not WRITES.search("open(p, 'rb')")


def test_board_reports_armv6m_and_install_chooses_it():
    """`emlml install`'s choice for the Pico, from what its firmware reports in
    sys.implementation._mpy: install() gets as far as the copy of the armv6m build (the
    copy itself writes a file, which this emulator cannot do), after checking the free
    flash of an empty filesystem."""
    with rb.Board(rb.fs_image({})) as board:
        board.wait_repl()
        board.enter_raw()
        transport = rb.Transport(board)
        info = board_info(transport)
        with pytest.raises(BoardError, match="no flash writes"):
            install(transport, natmod_dir=NATMOD_DIR)
        assert_no_fault(board.stats(), "_mpy query")
    assert transport.puts == [(NATMOD, ":lib/emlml.mpy.tmp")]  # renamed once complete
    mpy = info.mpy
    assert (info.arch, info.version, info.sub_version) == ("armv6m", 6, 3)
    assert choose_mpy(info, natmod_dir=NATMOD_DIR) == NATMOD
    check_mpy(mpy, NATMOD)
    for arch in ("armv7m", "armv7emsp"):  # Thumb-2 code faults on a Cortex-M0+
        with pytest.raises(BoardError, match="does not run on a armv6m board"):
            check_mpy(mpy, os.path.join(NATMOD_DIR, arch, "emlml.mpy"))
        with pytest.raises(BoardError, match="armv6m"):
            choose_mpy(info, arch, natmod_dir=NATMOD_DIR)


def test_install_says_when_the_module_does_not_fit_the_heap():
    """The RP2040 loads native code into the MicroPython heap: with the heap taken by the
    user's data, install's import check names the module's size, the free heap and the
    way out (a one-family module) instead of a bare MemoryError."""
    from emlml_tools.board.install import _import_check
    from emlml_tools.board.modules import scan

    module = next(m for m in scan(NATMOD_DIR) if m.path == NATMOD)
    with rb.Board(rb.fs_image({"/lib/emlml.mpy": NATMOD})) as board:
        board.wait_repl()
        board.enter_raw()
        transport = rb.Transport(board)
        transport.exec("import gc\ngc.collect()\nhog = bytearray(gc.mem_free() - 12000)")
        with pytest.raises(BoardError, match=rf"emlml.mpy \({module.size} B\) did not fit in "
                           r"the board's free heap \(\d+ B\).*--for MODEL.bin"):
            _import_check(transport, module)
        transport.exec("del hog\ngc.collect()")
        assert _import_check(transport, module) == "0.1.0"


# A 32-bit load at an odd address through the firmware itself: uctypes reads a NATIVE
# field with one LDR, which a real Cortex-M0+ turns into a HardFault.
UNALIGNED = """
import uctypes
buf = bytearray(b'\\x00\\x11\\x22\\x33\\x44\\x55\\x66\\x77')
s = uctypes.struct(uctypes.addressof(buf) + 1, {'w': uctypes.UINT32 | 0}, uctypes.NATIVE)
print('WORD %08x' % s.w)
"""


def test_harness_counts_an_unaligned_access():
    with rb.Board() as board:
        board.wait_repl()
        board.enter_raw()
        result = board.exec(UNALIGNED, timeout=120)
        stats = board.stats()
    assert "WORD 44332211" in result.stdout, result  # rp2040js read it anyway
    assert stats["unaligned"] == 1 and stats["hard_faults"] == 0, stats
    sample = stats["unaligned_samples"][0]
    assert sample["size"] == 4 and sample["address"] % 4 == 1 and not sample["write"], sample


def test_harness_counts_the_hard_fault_a_cortex_m0plus_takes():
    """With --fault-on-unaligned the harness raises the HardFault a real M0+ takes: the
    firmware's handler (a BKPT) halts the board, and the entry is counted."""
    with rb.Board(fault_on_unaligned=True) as board:
        board.wait_repl()
        board.enter_raw()
        with pytest.raises(rb.BoardError, match="BKPT"):
            board.exec(UNALIGNED, timeout=120)
        stats = board.stats()
    assert stats["hard_faults"] == 1 and stats["unaligned"] == 1, stats
    assert board.hard_fault_pcs == [stats["unaligned_samples"][0]["pc"]]


def test_harness_self_test():
    """The counters on synthetic Thumb code (ldr/ldrh/str/strh at aligned, odd and
    2-mod-4 addresses; the HardFault entry and its stacked return address)."""
    proc = subprocess.run(["node", rb.HARNESS, "--modules", rb.node_modules(), "--self-test"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "self-test: OK" in proc.stdout, proc.stdout + proc.stderr
