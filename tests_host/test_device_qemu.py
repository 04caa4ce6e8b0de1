"""tests_device/ on the emulated Cortex-M boards (boards/qemu_mps2 in QEMU), driven by the
real `mpremote` over the board's pty, as on a real board:

- an385-emlml: Cortex-M3 firmware with emlml built in (user C module)
- an385 + armv7m and armv6m emlml.mpy: Cortex-M3 firmware that loads native modules
- an386 + armv7emsp emlml.mpy: Cortex-M4F (hard float) firmware

Every board gets the device data with `mpremote cp -r` (about 800 KB: half a minute
through the emulated UART), the natmod boards their emlml.mpy in :lib/, and each
script runs with `mpremote run`: it must print its OK line and nothing may fail.
The three boards are prepared at once (the copies wait on the emulated UARTs)."""

from __future__ import annotations

import glob
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from emlml_dev import qemu_board as q
from emlml_dev.devicedata import write_device_data
from emlml_tools import board as board_mod
from emlml_tools.board import deploy, install
from runtimes import BUILD, DEVICE_TESTS, ROOT

SCRIPTS = sorted(os.path.basename(p) for p in glob.glob(os.path.join(DEVICE_TESTS, "test_*.py")))
DATA_PARENT = os.path.join(BUILD, "qemu_mps2", "device_data")
UTIL = os.path.join(ROOT, "micropython_module", "python", "emlml_util.py")
TESTLIB = os.path.join(DEVICE_TESTS, "emlml_testlib.py")
# (flavour, emlml.mpy arch or None when emlml is built in)
# Random CNNs on the boards: the unix runtime runs all 200; each board a sample of them,
# beside every shipped .tflite example, to keep the copy to the board short.
QEMU_CNN_RANDOM = 24
CASES = [("an385-emlml", None), ("an385", "armv7m"), ("an385", "armv6m"), ("an386", "armv7emsp")]


def natmod(arch: str) -> str:
    return os.path.join(q.NATMOD_DIR, arch, "emlml.mpy")


def prepare(flavour: str) -> q.Board:
    """Start the board and copy what every device script needs."""
    board = q.start(flavour)
    try:
        # 4.6 MB through the emulated UART, three boards at once: 675 s in CI (2 cores)
        board.mpremote("cp", "-r", "-f", os.path.join(DATA_PARENT, "data"), ":", timeout=1500)
        board.mpremote("cp", "-f", TESTLIB, UTIL, ":")
        if q.FLAVOURS[flavour].natmod_archs:
            board.mpremote("mkdir", ":lib")
    except BaseException:
        board.stop()
        raise
    return board


@pytest.fixture(scope="module")
def boards():
    for path in [q.firmware_path(f) for f in q.FLAVOURS] + [natmod(a) for _, a in CASES if a]:
        if not os.path.exists(path):
            pytest.fail(f"{path} is missing: make qemu-firmware natmod-all")
    write_device_data(os.path.join(DATA_PARENT, "data"), cnn_random=QEMU_CNN_RANDOM, cnn_kernels=True)
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {f: pool.submit(prepare, f) for f in q.FLAVOURS}
    errors = [fut.exception() for fut in futures.values() if fut.exception()]
    started = {f: fut.result() for f, fut in futures.items() if not fut.exception()}
    if errors:
        for board in started.values():
            board.stop()
        raise errors[0]
    yield started
    for board in started.values():
        board.stop()


INSTALLED: dict[str, str] = {}  # flavour -> arch of the emlml.mpy in its :lib/


def use_natmod(board: q.Board, arch: str | None) -> None:
    if arch and INSTALLED.get(board.flavour) != arch:
        board.mpremote("cp", "-f", natmod(arch), ":lib/emlml.mpy")
        INSTALLED[board.flavour] = arch


@pytest.mark.parametrize("script", SCRIPTS)
@pytest.mark.parametrize("flavour,arch", CASES, ids=[f"{f}-{a or 'builtin'}" for f, a in CASES])
def test_device_script(boards, flavour, arch, script):
    board = boards[flavour]
    use_natmod(board, arch)
    result = board.mpremote("run", os.path.join(DEVICE_TESTS, script), timeout=600, check=False)
    output = result.stdout + result.stderr
    assert board.running(), f"QEMU ended ({board.proc.returncode}): {output}{''.join(board.output)}"
    assert result.returncode == 0, output
    # sys.exit(1) in a script ends it silently in the raw REPL: the OK line decides.
    assert script[:-3] + ": OK" in result.stdout, output
    for bad in ("SKIP", "FAIL", "Traceback"):
        assert bad not in output, output
    if script == "test_memory.py":  # 8 MB of heap: the load after recovery runs too
        assert "skipped" not in output, output


def test_board_reports_its_arch(boards):
    """_mpy of MicroPython 1.23: no arch without a native emitter; armv7em (6) for any
    Thumb-2 firmware without an FPU (Cortex-M3 included); armv7emsp (7) with one."""
    assert q.board_mpy(boards["an385-emlml"]) >> 10 == 0
    assert q.board_mpy(boards["an385"]) >> 10 == 6
    assert q.board_mpy(boards["an386"]) >> 10 == 7


def test_pick_and_refuse_mpy(boards):
    m3, m4f = q.board_mpy(boards["an385"]), q.board_mpy(boards["an386"])
    assert q.pick_mpy(m3) == natmod("armv7m")
    assert q.pick_mpy(m4f) == natmod("armv7emsp")
    q.check_mpy(m3, natmod("armv6m"))  # an M0 build runs on the M3
    with pytest.raises(q.BoardError, match="soft-float.*hard-float"):
        q.check_mpy(m4f, natmod("armv6m"))  # loads there, then passes floats wrongly
    with pytest.raises(q.BoardError, match="soft-float.*hard-float"):
        q.check_mpy(m4f, natmod("armv7m"))
    with pytest.raises(q.BoardError, match="does not run"):
        q.check_mpy(m3, natmod("armv7emsp"))
    with pytest.raises(q.BoardError, match="loads no native code"):
        q.check_mpy(q.board_mpy(boards["an385-emlml"]), natmod("armv7m"))


def test_emlml_install_refuses_soft_float_on_m4f(boards):
    """`emlml install --arch armv6m` on the Cortex-M4F board is refused before a copy."""
    info = board_mod.BoardInfo(q.board_mpy(boards["an386"]))
    assert info.arch == "armv7emsp"
    with pytest.raises(board_mod.BoardError, match="armv6m"):
        board_mod.choose_mpy(info, "armv6m")


def test_emlml_install_on_m4f(boards):
    """`emlml install` (emlml_tools.board) on the Cortex-M4F board: it picks the
    armv7emsp build by the arch the board reports, copies it and imports it."""
    arch = install.install(board_mod.MpremoteTransport(boards["an386"].port))
    INSTALLED["an386"] = "armv7emsp"
    assert arch == "armv7emsp"


def test_emlml_install_on_m3(boards):
    INSTALLED.pop("an385", None)
    arch = install.install(board_mod.MpremoteTransport(boards["an385"].port))
    assert arch == "armv7m"  # the board says armv7em (MicroPython 1.23 on a Cortex-M3)


def test_emlml_deploy_on_the_board(boards):
    """emlml deploy through mpremote: checked on the board, then swapped in; the old
    model stays as .prev (interrupted deploys: tests_host/test_board_install_deploy.py)."""
    from emlml_dev.devicedata import base_blobs
    old, new = base_blobs()["trees"], base_blobs()["forest"]
    t = board_mod.MpremoteTransport(boards["an385-emlml"].port)
    deploy.deploy(t, old, "deploy.bin")
    deploy.deploy(t, new, "deploy.bin")
    out = t.exec("import emlml, emlml_util\n"
                 "p, m = emlml_util.load_first('deploy.bin', 'deploy.bin.prev')\n"
                 "print('NEW', p, m.blob_size, 'PREV', emlml.load('deploy.bin.prev').blob_size)")
    assert f"NEW deploy.bin {len(new)} PREV {len(old)}" in out, out


def test_qemu_exit_status():
    """qemu.exit(n) on the board ends QEMU with status n (semihosting)."""
    board = q.start("an385-emlml")
    try:
        board.mpremote("exec", "import qemu; qemu.exit(5)", check=False, timeout=60)
        assert board.proc.wait(timeout=30) == 5
    finally:
        board.stop()


def test_cli_main_prints_the_port():
    proc = subprocess.Popen([sys.executable, "-m", "emlml_dev.qemu_board", "an385-emlml"],
                            stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=os.path.join(ROOT, "py_tools")))
    try:
        lines = [proc.stdout.readline() for _ in range(2)]
        port = re.search(r"board on (\S+):", lines[1]).group(1)
        out = subprocess.run([sys.executable, "-m", "mpremote", "connect", port, "exec",
                              "import sys; print(sys.platform)"],
                             capture_output=True, text=True, timeout=60).stdout
        assert "qemu" in out
    finally:
        proc.send_signal(2)  # Ctrl-C: main() stops QEMU
        assert proc.wait(timeout=30) == 0
