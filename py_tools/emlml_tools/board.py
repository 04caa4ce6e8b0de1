"""Talking to a board: `emlml install` (the native module that matches the board) and
`emlml deploy` (a model, replaced safely).

A board is reached through a Transport that runs MicroPython code on it and returns
what it printed. `MpremoteTransport` drives a real board (or the emulated one) with
the `mpremote` command; `LocalTransport` treats a folder as the board's filesystem and
runs the code in the unix `micropython`, so the same steps are tested on the real
runtime without hardware.

Safe deploy: the blob goes to `<path>.tmp` in chunks; the board then loads it (which
checks its CRC and every structure), runs a test prediction and compares it with the
host's; only then is the old model renamed to `<path>.prev` and the new one to
`<path>`. A transfer cut at any point leaves the old model in place: load with
`emlml_util.load_first(path, path + '.prev')`, which also covers a cut between the
two renames.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .cli import CommandError

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
NATMOD_DIR = os.path.join(ROOT, "build", "natmod")
CHUNK = 256  # blob bytes per write on the board (fits any raw-REPL line budget)

# sys.implementation._mpy >> 10 and byte 2 of a .mpy >> 2: the native code architecture
# (py/persistentcode.h).
ARCHS = {1: "x86", 2: "x64", 3: "armv6", 4: "armv6m", 5: "armv7m", 6: "armv7em",
         7: "armv7emsp", 8: "armv7emdp", 9: "xtensa", 10: "xtensawin", 11: "rv32imc"}
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


class BoardError(CommandError):
    """The board refused a step, or printed an error."""


class Transport(Protocol):
    def exec(self, code: str) -> str:
        """Run code on the board; return what it printed; BoardError on an exception."""

    def put(self, local: str, remote: str) -> None:
        """Copy a host file to the board."""


class LocalTransport:
    """A folder as the board's filesystem, the unix `micropython` as its CPU."""

    def __init__(self, root: str, micropython: str | None = None) -> None:
        from .demo import micropython_command
        self.root = root
        self.micropython = micropython or micropython_command()
        os.makedirs(os.path.join(root, "lib"), exist_ok=True)

    def exec(self, code: str) -> str:
        env = dict(os.environ, MICROPYPATH=os.pathsep.join([".frozen", "lib", "."]))
        result = subprocess.run([self.micropython, "-c", code], cwd=self.root, env=env,
                                capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            raise BoardError("the board raised: " + (result.stdout + result.stderr).strip()[-800:])
        return result.stdout

    def put(self, local: str, remote: str) -> None:
        dest = os.path.join(self.root, remote.lstrip(":/"))
        os.makedirs(os.path.dirname(dest) or self.root, exist_ok=True)
        with open(local, "rb") as src, open(dest, "wb") as dst:
            dst.write(src.read())


class MpremoteTransport:
    """A board on a serial port (or an emulated board's pty), through `mpremote`."""

    def __init__(self, port: str | None) -> None:
        self.connect = ["connect", port] if port else []

    def _run(self, args: list[str]) -> str:
        cmd = [sys.executable, "-m", "mpremote"] + self.connect + args
        try:
            result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        except FileNotFoundError:
            raise CommandError("mpremote is not installed: pip install mpremote") from None
        if result.returncode != 0 or "Traceback" in result.stdout:
            raise BoardError("the board said: " + (result.stdout + result.stderr).strip()[-800:])
        return result.stdout

    def exec(self, code: str) -> str:
        return self._run(["exec", code])

    def put(self, local: str, remote: str) -> None:
        self._run(["cp", local, remote])


# ----------------------------------------------------------------------------- install


@dataclass(frozen=True)
class BoardInfo:
    mpy: int

    @property
    def version(self) -> int:
        return self.mpy & 0xFF

    @property
    def sub_version(self) -> int:
        return (self.mpy >> 8) & 3

    @property
    def arch(self) -> str | None:
        return ARCHS.get(self.mpy >> 10)


def board_info(transport: Transport) -> BoardInfo:
    out = transport.exec("import sys\nprint('MPY', getattr(sys.implementation, '_mpy', 0))")
    for line in out.splitlines():
        if line.startswith("MPY "):
            return BoardInfo(int(line.split()[1]))
    raise BoardError(f"the board did not report sys.implementation._mpy: {out!r}")


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


# ------------------------------------------------------------------------------ deploy


def _check_code(tmp: str, x: list[float], typecode: str, expected: int | float) -> str:
    return (
        "import array, emlml\n"
        f"m = emlml.load({tmp!r})\n"
        f"y = m.predict(array.array({typecode!r}, {x!r}))\n"
        f"e = {expected!r}\n"
        "ok = (y == e) if isinstance(e, int) else abs(y - e) <= 1e-6 * max(1.0, abs(e))\n"
        "print('CHECK', 'ok' if ok else 'bad', y)\n")


def _swap_code(path: str, tmp: str) -> str:
    prev = path + ".prev"
    return (
        "import os\n"
        "def exists(p):\n"
        " try:\n  os.stat(p)\n  return True\n except OSError:\n  return False\n"
        f"if exists({prev!r}) and exists({path!r}):\n os.remove({prev!r})\n"
        f"if exists({path!r}):\n os.rename({path!r}, {prev!r})\n"
        f"os.rename({tmp!r}, {path!r})\n"
        "print('SWAPPED')\n")


def check_input(blob: bytes) -> tuple[list[float], str, int | float]:
    """An input for the on-board check and the answer the reference runtime gives."""
    from . import reference
    from .blob import INPUT_DTYPES, read_blob
    from .devicedata import TYPECODES
    model = read_blob(blob)
    dtype = np.dtype(INPUT_DTYPES[model.input_type])
    x = np.ones((1, model.n_inputs), dtype=dtype)
    y = reference.predict(model, x)[0]
    value: int | float = int(y) if model.is_classifier else float(y)
    return [float(v) if dtype.kind == "f" else int(v) for v in x[0]], TYPECODES[dtype], value


def deploy(transport: Transport, blob: bytes, path: str = "model.bin",
           progress=None) -> None:
    """Copy blob to the board as `path`, safely (module docstring)."""
    from .blob import read_blob
    read_blob(blob)  # refuse a bad blob before touching the board
    tmp = path + ".tmp"
    transport.exec(f"f = open({tmp!r}, 'wb')\nf.close()")
    for start in range(0, len(blob), CHUNK):
        chunk = blob[start:start + CHUNK]
        transport.exec(f"f = open({tmp!r}, 'ab')\nf.write({chunk!r})\nf.close()")
        if progress:
            progress(min(start + CHUNK, len(blob)), len(blob))
    x, typecode, expected = check_input(blob)
    out = transport.exec(_check_code(tmp, x, typecode, expected))
    if "CHECK ok" not in out:
        raise BoardError(f"the new model loaded but its test prediction differs: {out.strip()}"
                         "; the old model was kept")
    transport.exec(_swap_code(path, tmp))


# --------------------------------------------------------------------------------- CLI


def _transport(args: argparse.Namespace) -> Transport:
    return MpremoteTransport(args.port)


def setup_install(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", help="serial port of the board (default: mpremote's auto)")
    p.add_argument("--arch", help="force an arch (refused if it does not match the board)")


def run_install(args: argparse.Namespace) -> int:
    arch = install(_transport(args), args.arch)
    print(f"installed build/natmod/{arch}/emlml.mpy as :lib/emlml.mpy")
    return 0


def setup_deploy(p: argparse.ArgumentParser) -> None:
    p.add_argument("blob", metavar="BLOB", help="model blob to copy")
    p.add_argument("--port", help="serial port of the board (default: mpremote's auto)")
    p.add_argument("--path", default="model.bin", help="file name on the board")


def run_deploy(args: argparse.Namespace) -> int:
    with open(args.blob, "rb") as f:
        blob = f.read()

    def progress(done: int, total: int) -> None:
        print(f"\r{done}/{total} bytes", end="", flush=True)
    deploy(_transport(args), blob, args.path, progress)
    print(f"\ndeployed {args.blob} as :{args.path} (previous model kept as :{args.path}.prev)")
    return 0
