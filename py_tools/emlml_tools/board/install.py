"""``emlml install``: the native module that matches the board, chosen by what the board
reports in ``sys.implementation._mpy`` (.mpy version and native arch), and refused where
MicroPython's own loader would accept it and then compute wrongly."""

from __future__ import annotations

import argparse
import os

from emlml_tools.board.transport import (
    ARCHS,
    BoardError,
    BoardInfo,
    Transport,
    board_info,
    transport_for,
)
from emlml_tools.errors import CommandError

NATMOD_DIR = os.path.join("build", "natmod")  # what `make natmod-all` writes, from the checkout
ARCH_CODES = {name: code for code, name in ARCHS.items()}
THUMB = ("armv6m", "armv7m", "armv7em", "armv7emsp", "armv7emdp")
HARD_FLOAT = ("armv7emsp", "armv7emdp")
# The emlml.mpy build for a board's arch. MicroPython 1.23 reports armv7em for every
# Thumb-2 firmware without an FPU, Cortex-M3 included: the armv7m build (no DSP
# instructions, soft float) is the one that runs there.
BUILD_FOR_ARCH = {"x64": "x64", "armv6m": "armv6m", "armv7m": "armv7m", "armv7em": "armv7m",
                  "armv7emsp": "armv7emsp", "armv7emdp": "armv7emsp", "xtensawin": "xtensawin"}
MPY_VERSION = 6
MPY_SUB_VERSION = 3  # what build/natmod holds: native .mpy from MicroPython 1.23


def mpy_arch(path: str) -> str | None:
    """The native arch a .mpy file holds code for (None: bytecode only)."""
    with open(path, "rb") as f:
        header = f.read(4)
    if len(header) < 4 or header[0] != ord("M"):
        raise BoardError(f"{path} is not a .mpy file")
    code = header[2] >> 2
    return ARCHS.get(code, f"arch {code}") if code else None


def check_board(info: BoardInfo) -> None:
    """The board must load native code of the .mpy version emlml.mpy has."""
    if info.version != MPY_VERSION or info.sub_version < MPY_SUB_VERSION:
        raise BoardError(f"the board reads .mpy v{info.version}.{info.sub_version}; emlml.mpy "
                         f"is v{MPY_VERSION}.{MPY_SUB_VERSION}: update the firmware to "
                         "MicroPython 1.23 or newer")
    if info.arch is None:
        raise BoardError("this firmware loads no native code (sys.implementation._mpy has "
                         "no arch): use a firmware with emlml built in (boards/README.md)")


def check_mpy(board_mpy: int, path: str) -> None:
    """Refuse a native .mpy that this board must not be given: a board that loads no
    native code, another .mpy version, an arch its loader refuses, or - what the
    MicroPython loader itself accepts and then computes wrongly with - soft-float code
    on a hard-float firmware or the other way round."""
    info = BoardInfo(board_mpy)
    check_board(info)
    board_arch, arch = info.arch, mpy_arch(path)
    if arch == board_arch:
        return
    if board_arch in THUMB and arch in THUMB:
        if ARCH_CODES[arch] > ARCH_CODES[board_arch]:
            raise BoardError(f"{arch} code does not run on a {board_arch} board: install the "
                             f"{BUILD_FOR_ARCH.get(board_arch, board_arch)} build")
        if (arch in HARD_FLOAT) != (board_arch in HARD_FLOAT):
            kinds = ("hard" if arch in HARD_FLOAT else "soft",
                     "hard" if board_arch in HARD_FLOAT else "soft")
            raise BoardError(f"refusing {arch} ({kinds[0]}-float) code for a {board_arch} "
                             f"({kinds[1]}-float) board: it loads, then passes floats wrongly; "
                             f"install the {BUILD_FOR_ARCH[board_arch]} build")
        return
    raise BoardError(f"{arch} code does not run on a {board_arch} board: install the "
                     f"{BUILD_FOR_ARCH.get(board_arch, board_arch)} build")


def choose_mpy(info: BoardInfo, arch: str | None = None, natmod_dir: str = NATMOD_DIR) -> str:
    """The emlml.mpy for this board (the build for its arch, or the one asked for),
    checked against the board by check_mpy."""
    check_board(info)
    wanted = arch or BUILD_FOR_ARCH.get(info.arch or "")
    if wanted is None:
        raise BoardError(f"no emlml.mpy is built for a {info.arch} board")
    path = os.path.join(natmod_dir, wanted, "emlml.mpy")
    if not os.path.exists(path):
        raise CommandError(f"{path} is missing: build it with `make natmod-all`")
    check_mpy(info.mpy, path)
    return path


def install(transport: Transport, arch: str | None = None, natmod_dir: str = NATMOD_DIR) -> str:
    info = board_info(transport)
    path = choose_mpy(info, arch, natmod_dir)
    build = os.path.basename(os.path.dirname(path))
    transport.exec("import os\ntry:\n os.mkdir('lib')\nexcept OSError:\n pass")
    transport.put(path, ":lib/emlml.mpy")
    out = transport.exec("import emlml\nprint('EMLML', emlml.__version__)")
    if "EMLML " not in out:
        raise BoardError(f"emlml did not import after the copy: {out!r}")
    return build


def setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", help="serial port of the board (default: mpremote's auto)")
    p.add_argument("--arch", help="force an arch (refused if it does not match the board)")


def run(args: argparse.Namespace) -> int:
    arch = install(transport_for(args.port), args.arch)
    print(f"installed build/natmod/{arch}/emlml.mpy as :lib/emlml.mpy")
    return 0
