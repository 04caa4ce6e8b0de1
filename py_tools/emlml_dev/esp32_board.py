#!/usr/bin/env python3
"""The official ESP32 MicroPython firmware in Espressif's QEMU, with files put in its
filesystem before boot (../shared/emulators/README.md: ESP32).

    from esp32_qemu import Esp32Qemu, find_emulators

    emu = find_emulators()                    # None when ../shared/emulators is absent
    with Esp32Qemu(emu, {"emlml.mpy": path, "m.bin": blob_bytes}) as board:
        print(board.port)                     # mpremote connect socket://127.0.0.1:PORT
        subprocess.run(["mpremote", "connect", board.device, "run", "script.py"])

or from the shell (stops on Ctrl-C or when the given command ends):

    python boards/esp32_qemu/esp32_qemu.py --file build/natmod/xtensawin/emlml.mpy \\
        --file m.bin --dir tests_device/data:/data -- mpremote connect {device} run script.py

Why files go in before boot: the serial port loses characters in bursts, and mpremote's
flow-controlled raw paste copies about 1 KB/s; a littlefs v2 image written into the
flash image at the firmware's `vfs` partition (0x200000, 2 MB) is mounted as / at boot.

Needs littlefs-python (PyPI) for the image; the firmware, QEMU and its ROMs come from
the shared emulators folder, found through $EMLML_EMULATORS or ../shared/emulators
beside the project.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
FIRMWARE = "ESP32_GENERIC-20240602-v1.23.0.bin"
FLASH_SIZE = 4 << 20
FIRMWARE_OFFSET = 0x1000  # bootloader, partition table and app, as one image
VFS_OFFSET = 0x200000  # the firmware's partition table: vfs at 2 MB, 2 MB long
LFS_BLOCK_SIZE = 4096
LFS_BLOCK_COUNT = 512
BANNER = b"MicroPython v1.23.0"
PROMPT = b"\r\n>>> "


def find_emulators() -> Path | None:
    """The shared emulators folder, or None when this machine has none (a user's)."""
    env = os.environ.get("EMLML_EMULATORS")
    for cand in ([Path(env)] if env else []) + [PROJECT.parent / "shared" / "emulators"]:
        if (cand / "esp32" / "qemu-system-xtensa").is_file() and (cand / "esp32" / FIRMWARE).is_file():
            return cand
    return None


def littlefs_image(files: dict[str, bytes | str | os.PathLike]) -> bytes:
    """A littlefs v2 image of `files` (board path -> bytes, or a host file to copy) with
    the firmware's geometry; sub-folders are created as needed."""
    from littlefs import LittleFS  # littlefs-python

    fs = LittleFS(block_size=LFS_BLOCK_SIZE, block_count=LFS_BLOCK_COUNT)
    for name, content in files.items():
        if not isinstance(content, bytes):
            content = Path(content).read_bytes()
        name = name.lstrip("/")
        parent = os.path.dirname(name)
        if parent:
            fs.makedirs(parent, exist_ok=True)
        with fs.open(name, "wb") as f:
            f.write(content)
    return bytes(fs.context.buffer)


def flash_image(emulators: Path, files: dict, out: Path) -> Path:
    """Write a 4 MB flash image: 0xFF, the firmware at 0x1000, the files' littlefs at
    0x200000. A fresh copy per run: the firmware writes to its filesystem."""
    flash = bytearray(b"\xff" * FLASH_SIZE)
    fw = (emulators / "esp32" / FIRMWARE).read_bytes()
    flash[FIRMWARE_OFFSET:FIRMWARE_OFFSET + len(fw)] = fw
    if files:
        lfs = littlefs_image(files)
        flash[VFS_OFFSET:VFS_OFFSET + len(lfs)] = lfs
    out.write_bytes(flash)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Esp32Qemu:
    """QEMU's esp32 machine booted to the REPL, serial on a local TCP port. While no
    client is connected the firmware runs on; one client at a time (mpremote)."""

    def __init__(self, emulators: Path, files: dict | None = None, *, boot_timeout: float = 90.0,
                 boots: int = 3, watchdogs: bool = False, extra_args: list[str] | None = None):
        self.emulators = emulators
        self.files = files or {}
        self.boot_timeout = boot_timeout
        self.boots = boots
        self.extra_args = list(extra_args or [])
        if not watchdogs:
            # The emulated timer-group watchdogs count host time: on a busy host the
            # emulated CPUs fall behind them and the board resets (TG0WDT_SYS_RESET,
            # TG1WDT_SYS_RESET) during boot or in the middle of a test. They say
            # nothing about the code under test, so they are off unless asked for.
            self.extra_args += ["-global", "driver=timer.esp32.timg,property=wdt_disable,value=true"]
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None
        self.boot_log = b""
        self._tmp: tempfile.TemporaryDirectory | None = None

    @property
    def device(self) -> str:
        """What `mpremote connect` takes."""
        return f"socket://127.0.0.1:{self.port}"

    def start(self) -> "Esp32Qemu":
        """Boot, up to `boots` times: QEMU's clock is the host's, and on a busy host the
        boot can stall or (with the watchdogs on) reset over and over."""
        for attempt in range(1, self.boots + 1):
            try:
                return self._start()
            except RuntimeError:
                if attempt == self.boots:
                    raise
        raise AssertionError("unreachable")

    def _start(self) -> "Esp32Qemu":
        self._tmp = tempfile.TemporaryDirectory(prefix="esp32-qemu-")
        tmp = Path(self._tmp.name)
        flash = flash_image(self.emulators, self.files, tmp / "flash.bin")
        esp = self.emulators / "esp32"
        self.port = free_port()
        # wait=on: the guest starts when we connect, so the boot messages are all seen.
        cmd = [str(esp / "qemu-system-xtensa"), "-nographic", "-machine", "esp32",
               "-L", str(esp / "rom"), "-drive", f"file={flash},if=mtd,format=raw",
               "-serial", f"tcp:127.0.0.1:{self.port},server=on,wait=on", "-monitor", "none",
               *self.extra_args]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=open(tmp / "qemu.log", "wb"),
                                     stderr=subprocess.STDOUT)
        try:
            self._wait_for_repl()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_for_repl(self) -> None:
        deadline = time.monotonic() + self.boot_timeout
        sock = None
        while sock is None:
            try:
                sock = socket.create_connection(("127.0.0.1", self.port), timeout=1)
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"QEMU did not open its serial port: {self._qemu_log()}")
                time.sleep(0.1)
        with sock:
            sock.settimeout(0.5)
            log = bytearray()
            while not (BANNER in log and log.endswith(PROMPT)):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("no REPL prompt from the ESP32 firmware; it printed:\n"
                                       + log.decode(errors="replace")[-2000:])
                try:
                    chunk = sock.recv(4096)
                except socket.timeout:
                    continue
                if not chunk:
                    raise RuntimeError("QEMU closed the serial connection during boot")
                log += chunk
            self.boot_log = bytes(log)

    def _qemu_log(self) -> str:
        try:
            return (Path(self._tmp.name) / "qemu.log").read_text(errors="replace")[-2000:]
        except (OSError, AttributeError):
            return ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> "Esp32Qemu":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Boot the official ESP32 MicroPython firmware in QEMU "
                                "with files in its filesystem, then run a command ({device}, {port} "
                                "are filled in) or wait for Ctrl-C.")
    p.add_argument("--file", action="append", default=[], metavar="HOST[:BOARD]",
                   help="a host file to put on the board (at / under its own name, or at BOARD)")
    p.add_argument("--dir", action="append", default=[], metavar="HOST[:BOARD]",
                   help="a host folder to put on the board with everything in it (at BOARD, or at /)")
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- then a command to run while it is up")
    args = p.parse_args(argv)
    emu = find_emulators()
    if emu is None:
        print("no ESP32 emulator: set EMLML_EMULATORS or put shared/emulators beside the project",
              file=sys.stderr)
        return 2
    files = {}
    for spec in args.file:
        host, _, board = spec.partition(":")
        files[board or os.path.basename(host)] = host
    for spec in args.dir:
        host, _, board = spec.partition(":")
        for path in sorted(Path(host).rglob("*")):
            if path.is_file():
                files[str(Path(board or "/") / path.relative_to(host))] = path
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    with Esp32Qemu(emu, files) as board:
        print(f"ESP32 REPL on {board.device}", flush=True)
        if command:
            fill = {"device": board.device, "port": str(board.port)}
            return subprocess.run([c.format(**fill) for c in command]).returncode
        try:
            while board.proc.poll() is None:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
