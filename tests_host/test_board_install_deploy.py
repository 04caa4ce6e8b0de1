"""`emlml install` and `emlml deploy` against a board stand-in: a folder as its
filesystem and the real unix MicroPython runtime as its CPU (LocalTransport). The same
steps run through mpremote on a real or emulated board."""

from __future__ import annotations

import os
import random
import shutil

import pytest
from emlml_dev.zoo import demo_models
from emlml_tools import board
from emlml_tools.board import BoardError, BoardInfo, LocalTransport
from emlml_tools.board import deploy, install
from cut_link import CutTransport
from runtimes import BUILD, ROOT, require_built

UTIL = os.path.join(ROOT, "micropython_module", "python", "emlml_util.py")
NATMOD = os.path.join(BUILD, "natmod")


def mpy_word(arch_code: int, version: int = 6, sub: int = 3) -> int:
    return (arch_code << 10) | (sub << 8) | version


@pytest.fixture
def fresh_board(tmp_path) -> LocalTransport:
    t = LocalTransport(str(tmp_path / "board"))
    shutil.copy(UTIL, os.path.join(t.root, "lib", "emlml_util.py"))
    return t


@pytest.fixture
def installed(fresh_board) -> LocalTransport:
    install.install(fresh_board)
    return fresh_board


def test_install_picks_the_boards_arch(fresh_board):
    assert board.board_info(fresh_board).arch == "x64"
    assert install.install(fresh_board) == "x64"
    with open(os.path.join(NATMOD, "x64", "emlml.mpy"), "rb") as f:
        want = f.read()
    with open(os.path.join(fresh_board.root, "lib", "emlml.mpy"), "rb") as f:
        assert f.read() == want
    assert "EMLML 0.1.0" in fresh_board.exec("import emlml\nprint('EMLML', emlml.__version__)")


@pytest.mark.parametrize("board_arch,offered,words", [
    (7, "armv6m", "armv6m \\(soft-float\\) code for a armv7emsp \\(hard-float\\) board"),
    (7, "armv7m", "armv7m \\(soft-float\\) code for a armv7emsp \\(hard-float\\) board"),
    (8, "armv7m", "soft-float.*hard-float.*install the armv7emsp build"),
    (4, "armv7emsp", "armv7emsp code does not run on a armv6m board"),
    (6, "armv7emsp", "armv7emsp code does not run on a armv7em board: install the armv7m"),
    (2, "armv6m", "install the x64 build"),
])
def test_install_refuses_a_mismatched_build(board_arch, offered, words):
    with pytest.raises(BoardError, match=words):
        board.choose_mpy(BoardInfo(mpy_word(board_arch)), offered, NATMOD)


@pytest.mark.parametrize("arch_code,arch", [(4, "armv6m"), (5, "armv7m"), (6, "armv7m"),
                                           (7, "armv7emsp"), (8, "armv7emsp"), (2, "x64")])
def test_install_chooses_each_built_arch(arch_code, arch):
    path = board.choose_mpy(BoardInfo(mpy_word(arch_code)), None, NATMOD)
    assert path == os.path.join(NATMOD, arch, "emlml.mpy") and os.path.exists(path)


def test_install_allows_an_older_arch_with_the_same_float_abi():
    """An RP2040 (armv6m) build runs on a Cortex-M3 firmware (armv7em in 1.23)."""
    path = board.choose_mpy(BoardInfo(mpy_word(6)), "armv6m", NATMOD)
    assert path.endswith(os.path.join("armv6m", "emlml.mpy"))
    assert board.mpy_arch(path) == "armv6m"


def test_install_refuses_firmware_without_native_code_or_too_old():
    with pytest.raises(BoardError, match="loads no native code"):
        board.choose_mpy(BoardInfo(6 | (3 << 8)), None, NATMOD)
    with pytest.raises(BoardError, match="v6.2"):
        board.choose_mpy(BoardInfo(mpy_word(4, sub=2)), None, NATMOD)


def blobs() -> tuple[bytes, bytes]:
    models = demo_models()
    return models[2].blob(), models[1].blob()  # old: diabetes regressor, new: wine classifier


def read_board(t: LocalTransport, name: str) -> bytes | None:
    path = os.path.join(t.root, name)
    if not os.path.exists(path):
        return None
    with open(path, "rb") as f:
        return f.read()


def loaded_size(t: LocalTransport) -> int:
    out = t.exec("import emlml_util\np, m = emlml_util.load_first('model.bin', 'model.bin.prev')\n"
                 "print('SIZE', m.blob_size)")
    return int(out.split("SIZE")[1])


def test_deploy_replaces_and_keeps_the_previous(installed):
    old, new = blobs()
    deploy.deploy(installed, old)
    assert read_board(installed, "model.bin") == old
    deploy.deploy(installed, new)
    assert read_board(installed, "model.bin") == new
    assert read_board(installed, "model.bin.prev") == old
    assert read_board(installed, "model.bin.tmp") is None
    assert loaded_size(installed) == len(new)


def test_interrupted_deploys_never_lose_the_model(installed):
    old, new = blobs()
    deploy.deploy(installed, old)
    rng = random.Random(0)
    cuts = sorted(rng.sample(range(len(new)), 12)) + [0, len(new)]
    for cut in cuts:
        with pytest.raises(ConnectionError):
            deploy.deploy(CutTransport(installed, cut), new)
        assert read_board(installed, "model.bin") == old, cut
        assert loaded_size(installed) == len(old), cut
    deploy.deploy(installed, new)  # a later deploy goes through
    assert loaded_size(installed) == len(new)


def test_cut_between_the_renames_falls_back_to_previous(installed):
    old, new = blobs()
    deploy.deploy(installed, old)
    deploy.deploy(installed, new)
    os.replace(os.path.join(installed.root, "model.bin"), os.path.join(installed.root, "model.bin.tmp"))
    assert read_board(installed, "model.bin") is None
    assert loaded_size(installed) == len(old)  # model.bin.prev


def test_deploy_refuses_a_bad_blob_before_touching_the_board(installed):
    old, new = blobs()
    deploy.deploy(installed, old)
    with pytest.raises(ValueError, match="CRC mismatch"):
        deploy.deploy(installed, new[:-1] + bytes([new[-1] ^ 1]))
    assert read_board(installed, "model.bin.tmp") is None


def test_deploy_keeps_the_old_model_when_the_board_check_fails(installed, monkeypatch):
    old, new = blobs()
    deploy.deploy(installed, old)
    x, typecode, expected = deploy.check_input(new)
    monkeypatch.setattr(deploy, "check_input", lambda blob: (x, typecode, expected + 1))
    with pytest.raises(BoardError, match="test prediction differs"):
        deploy.deploy(installed, new)
    assert read_board(installed, "model.bin") == old


# ------------------------------------------------ the release's modules, and what goes wrong


def test_install_list_names_every_module(capsys):
    from emlml_tools.cli import main

    assert main(["install", "--list", "--from", NATMOD]) == 0
    out = capsys.readouterr().out
    for arch, board_name in (("armv6m", "RP2040"), ("xtensawin", "ESP32"), ("x64", "unix"),
                             ("armv7m", "Cortex-M3"), ("armv7emsp", "Cortex-M4F")):
        for family, path in (("trees, knn, cnn", "emlml.mpy"), ("trees", "trees/emlml.mpy"),
                             ("knn", "knn/emlml.mpy"), ("cnn", "cnn/emlml.mpy")):
            line = next(line for line in out.splitlines()
                        if line.startswith(arch + " ") and line.endswith(f" {arch}/{path}"))
            size = os.path.getsize(os.path.join(NATMOD, arch, path))
            assert board_name in line and f" {family} " in line, line
            assert f" {size} " in line and "MicroPython 1.23+" in line, line


def test_install_refuses_a_newer_mpy_format():
    """The sub-version has two bits (py/persistentcode.h): a newer format is version 7."""
    with pytest.raises(BoardError, match="v7.0, newer than this emlml's v6.3"):
        board.choose_mpy(BoardInfo(mpy_word(4, version=7, sub=0)), None, NATMOD)


def test_install_picks_the_smallest_module_for_the_families(tmp_path):
    """A folder with one-family modules: --for a trees model takes the trees module."""
    from emlml_tools.board.install import choose

    full = os.path.join(NATMOD, "x64", "emlml.mpy")
    os.makedirs(tmp_path / "x64" / "trees")
    shutil.copy(full, tmp_path / "x64" / "emlml.mpy")
    with open(full, "rb") as f:  # a smaller file with the same header stands in
        (tmp_path / "x64" / "trees" / "emlml.mpy").write_bytes(f.read()[:1000])
    info = BoardInfo(mpy_word(2))
    assert choose(info, str(tmp_path), families=("trees",)).build == "x64/trees"
    assert choose(info, str(tmp_path), families=("trees", "cnn")).build == "x64"
    assert choose(info, str(tmp_path)).build == "x64"


def test_install_for_a_trees_model_puts_the_trees_module(fresh_board, tmp_path, capsys):
    """`emlml install --for forest.bin`: the x64 trees module (smaller than the one with
    every family) goes to :lib/emlml.mpy; it runs the forest and names the module to
    install for a kNN model."""
    from emlml_tools.board.install import choose

    forest, knn = tmp_path / "forest.bin", tmp_path / "knn.bin"
    models = {m.name: m for m in demo_models()}
    forest.write_bytes(models["digits_forest"].blob())
    knn.write_bytes(models["breast_cancer_knn"].blob())
    from emlml_tools.board.modules import families_of
    assert families_of([str(forest)]) == ("trees",)
    assert families_of([str(forest), str(knn)]) == ("trees", "knn")
    assert install.install(fresh_board, natmod_dir=NATMOD, families=("trees",)) == "x64/trees"
    trees_module = os.path.join(NATMOD, "x64", "trees", "emlml.mpy")
    assert os.path.getsize(trees_module) < os.path.getsize(os.path.join(NATMOD, "x64", "emlml.mpy"))
    assert read_board(fresh_board, "lib/emlml.mpy") == open(trees_module, "rb").read()
    shutil.copy(forest, os.path.join(fresh_board.root, "forest.bin"))
    shutil.copy(knn, os.path.join(fresh_board.root, "knn.bin"))
    assert "ROWS 64" in fresh_board.exec("import emlml\nprint('ROWS', emlml.load('forest.bin').n_inputs)")
    with pytest.raises(BoardError, match=r"no kNN support: install one that has \(emlml install --for MODEL\)"):
        fresh_board.exec("import emlml\nemlml.load('knn.bin')")
    info = BoardInfo(mpy_word(2))
    assert choose(info, NATMOD, families=("trees", "knn")).build == "x64"  # no two-family module


class SmallBoard(LocalTransport):
    """The folder stand-in, reporting only `free` bytes of flash."""

    def __init__(self, root: str, free: int) -> None:
        super().__init__(root)
        self.free = free

    def exec(self, code: str) -> str:
        if "statvfs" in code:
            return f"FREE {self.free}\n"
        return super().exec(code)


def test_install_refuses_a_full_flash(tmp_path):
    t = SmallBoard(str(tmp_path / "board"), 20000)
    size = os.path.getsize(os.path.join(NATMOD, "x64", "emlml.mpy"))
    with pytest.raises(BoardError, match=f"20000 B of flash free; emlml.mpy needs {size} B"):
        install.install(t)
    assert not os.path.exists(os.path.join(t.root, "lib", "emlml.mpy.tmp"))


class HostFirmware:
    """MicroPython built here with emlml linked in (boards/host_port), as a board: it
    runs scripts only (no -c), so each step is written to a file first."""

    def __init__(self, root: str) -> None:
        from runtimes import HOST_PORTS, run_host_port

        self.root, self.run = root, run_host_port
        self.executable = require_built(HOST_PORTS["host_port"])
        os.makedirs(root, exist_ok=True)

    def exec(self, code: str) -> str:
        with open(os.path.join(self.root, "step.py"), "w") as f:
            f.write(code)
        result = self.run(self.executable, "step.py", self.root)
        if result.returncode != 0:
            raise BoardError(result.stdout + result.stderr)
        return result.stdout


def test_install_on_firmware_with_emlml_built_in(tmp_path):
    """The host firmware (emlml linked in as a user C module): install sees it built in;
    the unix runtime with emlml.mpy in lib/ does not."""
    from emlml_tools.board.install import _builtin_version

    assert _builtin_version(HostFirmware(str(tmp_path / "firmware"))) == "0.1.0"
    plain = LocalTransport(str(tmp_path / "board"))
    shutil.copy(os.path.join(NATMOD, "x64", "emlml.mpy"), os.path.join(plain.root, "lib"))
    assert "EMLML" in plain.exec("import emlml\nprint('EMLML')")
    assert _builtin_version(plain) is None  # a file in lib/ is not built in


@pytest.mark.parametrize("port,words", [
    ("/dev/ttyNOPE0", "cannot open /dev/ttyNOPE0"),
    ("socket://127.0.0.1:9", "nothing listens at socket://127.0.0.1:9"),
])
def test_unreachable_ports_say_what_to_check(port, words):
    from emlml_tools.board.transport import MpremoteTransport
    from emlml_tools.errors import CommandError

    with pytest.raises(CommandError, match=words):
        MpremoteTransport(port).exec("pass")


def test_a_busy_port_is_named():
    import serial
    from emlml_tools.board.transport import MpremoteTransport
    from emlml_tools.errors import CommandError

    controller, device = os.openpty()
    name = os.ttyname(device)
    holder = serial.Serial(name, exclusive=True)  # another program holds the port
    try:
        with pytest.raises(CommandError, match=f"{name} is in use by another program"):
            MpremoteTransport(name).exec("pass")
    finally:
        holder.close()
        os.close(controller)
        os.close(device)


def test_no_micropython_on_the_port():
    """A serial device that never answers (nothing behind a pty): no REPL."""
    from emlml_tools.board.transport import MpremoteTransport
    from emlml_tools.errors import CommandError

    controller, device = os.openpty()
    try:
        with pytest.raises(CommandError, match="no MicroPython REPL answered"):
            MpremoteTransport(os.ttyname(device)).exec("pass")
    finally:
        os.close(controller)
        os.close(device)


class FullFlash(LocalTransport):
    """The folder stand-in whose flash fills after `room` bytes of writes."""

    def __init__(self, root: str, room: int) -> None:
        super().__init__(root)
        self.room = room

    def exec(self, code: str) -> str:
        if "f.write(" in code:
            chunk = eval(code.split("f.write(", 1)[1].split(")\nf.close()", 1)[0])
            if len(chunk) > self.room:
                raise BoardError("the board raised: OSError: [Errno 28] ENOSPC")
            self.room -= len(chunk)
        return super().exec(code)


def test_deploy_onto_a_full_flash_keeps_the_old_model(installed, tmp_path):
    old, new = blobs()
    deploy.deploy(installed, old)
    full = FullFlash(installed.root, 1000)
    with pytest.raises(BoardError, match=r"flash is full after 768 of \d+ bytes.*old model was kept"):
        deploy.deploy(full, new)
    assert read_board(installed, "model.bin") == old
    assert read_board(installed, "model.bin.tmp") is None


def test_deploy_of_a_model_larger_than_the_heap_keeps_the_old_model(installed, tmp_path):
    """The unix runtime with a 40 KB heap: the 52 KB kNN blob is read into it by
    emlml.load and does not fit; the message names the sizes, the old model stays."""
    from emlml_tools.board.transport import micropython_command

    old = blobs()[0]
    knn = next(m for m in demo_models() if m.name == "breast_cancer_knn").blob()
    deploy.deploy(installed, old)
    wrapper = tmp_path / "micropython"
    wrapper.write_text(f"#!/bin/sh\nexec {micropython_command()} -X heapsize=40k \"$@\"\n")
    wrapper.chmod(0o755)
    small = LocalTransport(installed.root, str(wrapper))
    with pytest.raises(BoardError, match=rf"free heap \(\d+ B\): emlml.load reads its {len(knn)} B"):
        deploy.deploy(small, knn)
    assert read_board(installed, "model.bin") == old
    assert read_board(installed, "model.bin.tmp") is None
