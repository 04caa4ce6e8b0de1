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
from runtimes import BUILD, ROOT

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
