"""``emlml install``: the native module that matches the board, chosen by what the board
reports in ``sys.implementation._mpy`` (.mpy version and native arch), and refused where
MicroPython's own loader would accept it and then compute wrongly."""

from __future__ import annotations

import argparse
import os
from typing import Callable

from emlml_tools import __version__
from emlml_tools.board.modules import (
    BOARDS,
    FAMILIES,
    NativeModule,
    default_folder,
    families_of,
    scan,
    smallest_covering,
)
from emlml_tools.board.transport import (
    ARCHS,
    BoardError,
    BoardInfo,
    Transport,
    board_info,
    transport_for,
)
from emlml_tools.errors import CommandError
from emlml_tools.progress import Progress

ARCH_CODES = {name: code for code, name in ARCHS.items()}
THUMB = ("armv6m", "armv7m", "armv7em", "armv7emsp", "armv7emdp")
HARD_FLOAT = ("armv7emsp", "armv7emdp")
# The emlml.mpy build for a board's arch. MicroPython 1.23 reports armv7em for every
# Thumb-2 firmware without an FPU, Cortex-M3 included: the armv7m build (no DSP
# instructions, soft float) is the one that runs there.
BUILD_FOR_ARCH = {"x64": "x64", "armv6m": "armv6m", "armv7m": "armv7m", "armv7em": "armv7m",
                  "armv7emsp": "armv7emsp", "armv7emdp": "armv7emsp", "xtensawin": "xtensawin"}
MPY_VERSION = 6
MPY_SUB_VERSION = 3  # the modules' .mpy version: MicroPython 1.23's native format
TARGET = "lib/emlml.mpy"
UTIL = "emlml_util.py"  # the Python helpers (emlml_util.load_first)


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
    # A native .mpy needs the exact version and sub-version (MicroPython's loader).
    if (info.version, info.sub_version) < (MPY_VERSION, MPY_SUB_VERSION):
        raise BoardError(f"the board reads .mpy v{info.version}.{info.sub_version}; emlml.mpy "
                         f"is v{MPY_VERSION}.{MPY_SUB_VERSION}: update the firmware to "
                         "MicroPython 1.23 or newer")
    if (info.version, info.sub_version) != (MPY_VERSION, MPY_SUB_VERSION):
        raise BoardError(f"the board reads .mpy v{info.version}.{info.sub_version}, newer than "
                         f"this emlml's v{MPY_VERSION}.{MPY_SUB_VERSION} modules: install an "
                         "emlml release built for that MicroPython (pip install -U emlml)")
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


def choose(info: BoardInfo, folder: str | None = None, arch: str | None = None,
           families: tuple[str, ...] = FAMILIES) -> NativeModule:
    """The module for this board: its arch's build (or the one asked for), the smallest
    that has ``families``, checked against the board by check_mpy."""
    check_board(info)
    wanted = arch or BUILD_FOR_ARCH.get(info.arch or "")
    if wanted is None:
        raise BoardError(f"emlml has no module for a {info.arch} board "
                         f"(it has: {', '.join(sorted(set(BUILD_FOR_ARCH.values())))})")
    folder = folder or default_folder()
    candidates = [m for m in scan(folder) if m.arch == wanted]
    if not candidates:
        raise CommandError(f"{folder} has no {wanted} module: build it with `make natmod-all` "
                           "(checkout) or reinstall emlml")
    module = smallest_covering(candidates, families)
    check_mpy(info.mpy, module.path)
    return module


def choose_mpy(info: BoardInfo, arch: str | None = None, natmod_dir: str | None = None,
               families: tuple[str, ...] = FAMILIES) -> str:
    """The path of ``choose``'s module."""
    return choose(info, natmod_dir, arch, families).path


def _builtin_version(transport: Transport) -> str | None:
    """emlml's version when the firmware has it built in: importable with an empty
    sys.path, where no file (lib/emlml.mpy) can be found."""
    out = transport.exec("import sys\nsaved = sys.path[:]\nsys.path.clear()\n"
                         "try:\n import emlml\n print('BUILTIN', emlml.__version__)\n"
                         "except ImportError:\n print('BUILTIN none')\n"
                         "finally:\n sys.path.extend(saved)")
    words = out.split("BUILTIN", 1)[-1].split()
    return words[0] if words and words[0] != "none" else None


def reset(transport: Transport) -> None:
    """A soft reset where the transport keeps state between steps (a fresh heap, no
    modules imported)."""
    soft_reset = getattr(transport, "soft_reset", None)
    if soft_reset is not None:
        soft_reset()


def _free_space(transport: Transport) -> int:
    out = transport.exec("import os\ns = os.statvfs('/')\nprint('FREE', s[0] * s[4])")
    return int(out.split("FREE", 1)[1].split()[0])


def _import_check(transport: Transport, module: NativeModule) -> str:
    out = transport.exec("import gc\ngc.collect()\nfree = gc.mem_free()\n"
                         "try:\n import emlml\n print('EMLML', emlml.__version__)\n"
                         "except MemoryError:\n print('NOHEAP', free)")
    if "NOHEAP" in out:
        free = int(out.split("NOHEAP", 1)[1].split()[0])
        raise BoardError(f"emlml.mpy ({module.size} B) did not fit in the board's free heap "
                         f"({free} B): free memory (a main.py that holds data), or install a "
                         "one-family module with --for MODEL.bin")
    if "EMLML " not in out:
        raise BoardError(f"emlml did not import after the copy: {out!r}")
    return out.split("EMLML ", 1)[1].split()[0]


def install(transport: Transport, arch: str | None = None, natmod_dir: str | None = None,
            families: tuple[str, ...] = FAMILIES,
            progress: Callable[[int, int], None] | None = None,
            module: NativeModule | None = None) -> str:
    """Copy the board's module to :lib/emlml.mpy (through lib/emlml.mpy.tmp, so that a cut
    copy never leaves a broken module behind) and emlml_util.py beside it where the module
    folder has one, and import it there; returns its build."""
    module = module or choose(board_info(transport), natmod_dir, arch, families)
    free = _free_space(transport)
    if free < module.size + 4096:
        raise BoardError(f"the board has {free} B of flash free; emlml.mpy needs {module.size} B "
                         "(and a block to spare): remove files (mpremote fs rm :FILE)")
    transport.exec("import os\ntry:\n os.mkdir('lib')\nexcept OSError:\n pass")
    transport.put(module.path, ":" + TARGET + ".tmp", progress)
    transport.exec(_SWAP.format(target=TARGET, size=module.size))
    util = os.path.join(os.path.dirname(module.path), UTIL)
    if os.path.isfile(util):  # beside every module of a release and of `make mip-packages`
        transport.put(util, ":lib/" + UTIL)
    reset(transport)
    _import_check(transport, module)
    return module.build


# the copy is complete (its size) before it replaces the old module
_SWAP = """import os
if os.stat('{target}.tmp')[6] != {size}:
    raise OSError('the copy of emlml.mpy is incomplete')
try:
    os.remove('{target}')
except OSError:
    pass
os.rename('{target}.tmp', '{target}')
"""


def list_modules(folder: str) -> str:
    rows = [("arch", "for", "families", "bytes", "MicroPython", "file")]
    for m in scan(folder):
        rows.append((m.arch, BOARDS.get(m.arch, "-"), ", ".join(m.families), str(m.size),
                     m.micropython, os.path.relpath(m.path, folder)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [f"emlml {__version__}: board modules in {folder}"]
    for r in rows:
        lines.append("  ".join(c.rjust(w) if i == 3 else c.ljust(w)
                               for i, (c, w) in enumerate(zip(r, widths))).rstrip())
    lines.append("`emlml install --port PORT` picks the board's arch; --for MODEL.bin picks "
                 "the smallest module that runs it.")
    return "\n".join(lines)


def setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", help="serial port of the board, e.g. /dev/ttyUSB0, COM3, "
                   "socket://HOST:PORT (default: the first USB serial port)")
    p.add_argument("--for", dest="models", nargs="+", metavar="MODEL.bin",
                   help="install the smallest module that runs these models (default: the "
                   "module with every family)")
    p.add_argument("--arch", help="force an arch (refused if it does not match the board)")
    p.add_argument("--from", dest="folder", metavar="DIR",
                   help="take the modules from DIR/<arch>/ (default: the installed package's, "
                   "else ./build/natmod of a checkout)")
    p.add_argument("--list", action="store_true", help="list the modules this emlml carries "
                   "and exit")


def run(args: argparse.Namespace) -> int:
    folder = args.folder or default_folder()
    if args.list:
        print(list_modules(folder))
        return 0
    families = families_of(args.models) if args.models else FAMILIES
    transport = transport_for(args.port)
    builtin = _builtin_version(transport)
    if builtin is not None:
        print(f"this firmware has emlml {builtin} built in: nothing to install "
              "(a file in lib/ would not be imported)")
        return 0
    module = choose(board_info(transport), folder, args.arch, families)
    build = install(transport, progress=Progress(f"copying {module.build} emlml.mpy", module.size),
                    module=module)  # chosen above for the progress line: the board is asked once
    print(f"installed emlml {__version__} ({build}, {', '.join(families)}) as :{TARGET}")
    return 0
