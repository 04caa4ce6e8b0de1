"""The emulated Cortex-M boards: MicroPython 1.23 on QEMU's mps2-an385 (Cortex-M3) and
mps2-an386 (Cortex-M4F), built from boards/qemu_mps2/.

    board = start("an385")          # QEMU with its UART0 on a pty
    subprocess.run(["mpremote", "connect", board.port, "exec", "print(1)"])
    board.stop()

Flavours (firmware in build/qemu_mps2/<flavour>/firmware.elf, `make qemu-firmware`):

- ``an385-emlml``: Cortex-M3, emlml built in as a user C module, no native code loading
- ``an385``: Cortex-M3 without emlml; loads native .mpy files (armv6m, armv7m)
- ``an386``: Cortex-M4F (hard float) without emlml; loads native .mpy files (armv7emsp)

The board's files live in a RAM store that survives soft resets (mpremote's cp, ls,
mkdir, rm and run work), not QEMU restarts. ``qemu.exit(n)`` on the board ends QEMU
with status n. With ``icount=True`` QEMU's clock counts instructions (1 ns each, so
one tick of the 25 MHz ``time.ticks_cpu()`` is 40 instructions).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

from emlml_tools.board import (  # noqa: F401
    ARCHS,
    BUILD_FOR_ARCH,
    BoardError,
    BoardInfo,
    check_mpy,
    choose_mpy,
    mpy_arch,
)

from emlml_dev import tool_main
from emlml_dev.paths import BUILD, ROOT

PORT_DIR = os.path.join(ROOT, "boards", "qemu_mps2")
NATMOD_DIR = os.path.join(BUILD, "natmod")
QEMU = "qemu-system-arm"



@dataclass(frozen=True)
class Flavour:
    name: str
    machine: str
    natmod_archs: tuple[str, ...]  # .mpy builds the tests load on it (first: the right one)
    description: str


FLAVOURS = {
    "an385-emlml": Flavour("an385-emlml", "mps2-an385", (),
                           "Cortex-M3, emlml built in (user C module)"),
    "an385": Flavour("an385", "mps2-an385", ("armv7m", "armv6m"),
                     "Cortex-M3, native .mpy loading (armv6m, armv7m)"),
    "an386": Flavour("an386", "mps2-an386", ("armv7emsp",),
                     "Cortex-M4F hard float, native .mpy loading (armv7emsp)"),
}


def firmware_path(flavour: str) -> str:
    return os.path.join(BUILD, "qemu_mps2", flavour, "firmware.elf")


def build(flavour: str, jobs: int = 2) -> str:
    """make the flavour's firmware (needs `make setup arm-toolchain` first)."""
    subprocess.run(["make", "-C", PORT_DIR, f"-j{jobs}", f"FLAVOUR={flavour}",
                    f"MPY_DIR={os.path.join(BUILD, 'micropython')}"], check=True,
                   stdout=subprocess.DEVNULL)
    return firmware_path(flavour)


def qemu_command(flavour: str, icount: bool = False, serial: str = "pty") -> list[str]:
    spec = FLAVOURS[flavour]
    cmd = [QEMU, "-M", spec.machine, "-display", "none", "-monitor", "none",
           "-serial", serial, "-semihosting-config", "enable=on,target=native",
           "-kernel", firmware_path(flavour)]
    if icount:
        cmd += ["-icount", "shift=0"]
    return cmd


class Board:
    """A running QEMU; `port` is the pty of the board's UART0 (its REPL)."""

    def __init__(self, flavour: str, proc: subprocess.Popen, port: str) -> None:
        self.flavour = flavour
        self.proc = proc
        self.port = port
        self.output: list[str] = []  # what QEMU prints after the pty line
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        for line in self.proc.stdout:
            self.output.append(line)

    def mpremote(self, *args: str, timeout: float = 300,
                 check: bool = True) -> subprocess.CompletedProcess:
        """`mpremote connect <pty> args...`; BoardError when it fails (check=True)."""
        cmd = [sys.executable, "-m", "mpremote", "connect", self.port, *args]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise BoardError(f"{' '.join(args)[:200]}: exit {result.returncode}\n"
                             f"{result.stdout[-2000:]}{result.stderr[-2000:]}")
        return result

    def running(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> int | None:
        """End QEMU (if the board has not ended it); returns its exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def __enter__(self) -> Board:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start(flavour: str, icount: bool = False, timeout: float = 20) -> Board:
    """Start QEMU with the flavour's firmware and its UART0 on a new pty."""
    if flavour not in FLAVOURS:
        raise BoardError(f"unknown flavour {flavour!r}: one of {', '.join(FLAVOURS)}")
    if not os.path.exists(firmware_path(flavour)):
        raise BoardError(f"{firmware_path(flavour)} is missing: make qemu-firmware")
    proc = subprocess.Popen(qemu_command(flavour, icount), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        match = re.search(r"char device redirected to (\S+) \(label serial0\)", line)
        if match:
            return Board(flavour, proc, match.group(1))
    proc.kill()
    proc.wait()
    raise BoardError("QEMU did not open a pty: " + "".join(seen)[-1000:])


# ------------------------------------------------------------------- which emlml.mpy


def pick_mpy(board_mpy: int, natmod_dir: str = NATMOD_DIR) -> str:
    """build/natmod/<arch>/emlml.mpy for a board's sys.implementation._mpy, checked."""
    return choose_mpy(BoardInfo(board_mpy), None, natmod_dir)


def board_mpy(board: Board) -> int:
    """sys.implementation._mpy of the running board."""
    out = board.mpremote("exec", "import sys; print('MPY', sys.implementation._mpy)").stdout
    match = re.search(r"MPY (\d+)", out)
    if not match:
        raise BoardError(f"the board did not report sys.implementation._mpy: {out!r}")
    return int(match.group(1))


# ------------------------------------------------------------------------------- CLI


def setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("flavour", choices=sorted(FLAVOURS), help="which firmware to run")
    p.add_argument("--build", action="store_true", help="build the firmware first")
    p.add_argument("--icount", action="store_true",
                   help="QEMU's clock counts instructions (-icount shift=0)")


def run(args: argparse.Namespace) -> int:
    """Start the board, print how to connect, wait; Ctrl-C stops it."""
    if args.build:
        build(args.flavour)
    board = start(args.flavour, icount=args.icount)
    print(f"{FLAVOURS[args.flavour].description}: QEMU {FLAVOURS[args.flavour].machine}")
    print(f"board on {board.port}: mpremote connect {board.port} repl")
    print("Ctrl-C stops it (or run qemu.exit() on the board)", flush=True)
    try:
        status = board.proc.wait()
        print(f"QEMU ended with status {status}")
        return status
    except KeyboardInterrupt:
        board.stop()
        print("stopped")
        return 0


def main(argv: list[str] | None = None) -> int:
    return tool_main("python -m emlml_dev.qemu_board", __doc__.split("\n\n")[0], setup, run,
                     argv)


if __name__ == "__main__":
    sys.exit(main())
