"""The emulated ESP32: the official ESP32_GENERIC MicroPython 1.23.0 firmware in
Espressif's QEMU (its ``esp32`` machine), the serial port (the REPL) on a local TCP port
that the real ``mpremote`` reaches as ``socket://127.0.0.1:PORT``.

    with Board(fs_image({"/lib/emlml.mpy": path, "/m.bin": blob})) as board:
        board.mpremote("resume", "run", "script.py")

The firmware, QEMU, its ROMs and the instruction-count plugin are found by
emulators.py (``$EMLML_EMULATORS`` or ../shared/emulators, checked by SHA-256).

Facts of this emulator that shape the tools (../shared/emulators/README.md):

- Files go into the flash image before boot, as a littlefs v2 image at the firmware's
  ``vfs`` partition (0x200000, 2 MB, mounted as /): mpremote's flow-controlled copy
  runs at about 1 KB/s. The flash is writable at run time (install and deploy work).
- Every flash operation costs milliseconds (the SPI flash driver stops the other CPU
  and polls): a littlefs read of 128 bytes takes about 8 ms, mounting a filesystem of
  a few hundred files about 10 s. MicroPython mounts it at boot and again at every
  soft reset, which mpremote does before its first command and waits 10 s for: on a
  board with a large filesystem, connect with ``resume`` (no soft reset).
- The emulated timer-group watchdogs count host time: on a busy host the emulated CPUs
  fall behind them and the board resets. They say nothing about the code under test, so
  they are off unless asked for.
- ``marks=True`` loads the TCG plugin icount_marks.so: each store the guest makes to
  MARK_ADDRESS (a word of RTC slow memory) appends the executing CPU's instruction
  count to a file (``marks()``). MicroPython runs on CPU 1.

    PYTHONPATH=py_tools python -m emlml_dev.esp32_board --file m.bin -- \\
        mpremote connect {device} resume exec "import os; print(os.listdir())"
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

from emlml_tools.board import BoardError

from emlml_dev import emulators
from emlml_dev import rp2040_board as rb
from emlml_dev.paths import BUILD

FLASH_SIZE = 4 << 20
FIRMWARE_OFFSET = 0x1000  # bootloader, partition table and app, as one image
VFS_OFFSET = 0x200000  # the firmware's partition table: vfs at 2 MB, 2 MB long
FS_BLOCK_COUNT = (2 << 20) // rb.FS_BLOCK_SIZE
BANNER = b"MicroPython v1.23.0"
PROMPT = b"\r\n>>> "
MARK_ADDRESS = 0x50001FF0  # icount_marks.so's default address
MICROPYTHON_CPU = 1
# the whole tree of host files under a board folder: {board path: host path}
tree = rb.tree
# A boot.py for boards with many files: remounts / with a 2 KB littlefs cache (readsize
# 512) instead of MicroPython's 128 bytes, each cache fill being one flash operation of
# 10-30 ms here: opening a file in a folder of 70 files took 1.2-2 s, 0.2 s so.
BOOT_PY_FAST_FS = b"""# emlml_dev/esp32_board.py: a 2 KB littlefs cache (readsize 512)
import esp32, gc, vfs
vfs.umount('/')
gc.collect()  # the new caches where the old ones were, not above them: no hole
vfs.mount(vfs.VfsLfs2(esp32.Partition.find(esp32.Partition.TYPE_DATA, label='vfs')[0],
                      readsize=512, progsize=32, lookahead=32), '/')
"""


def fs_image(files: dict[str, bytes | str]) -> bytes:
    """A littlefs v2 image of the firmware's vfs partition holding ``files`` (board path
    -> contents or host path); the same geometry and sizes MicroPython mounts it with
    as the RP2040's (block 4096, read/prog 32)."""
    return rb.fs_image(files, block_count=FS_BLOCK_COUNT)


def flash_image(firmware: str, image: bytes | None, out: str) -> None:
    """A 4 MB flash image: 0xFF, the firmware at 0x1000, the filesystem at 0x200000.
    Without an image the firmware formats its filesystem at first boot."""
    flash = bytearray(b"\xff" * FLASH_SIZE)
    with open(firmware, "rb") as f:
        fw = f.read()
    flash[FIRMWARE_OFFSET:FIRMWARE_OFFSET + len(fw)] = fw
    if image is not None:
        if len(image) > FLASH_SIZE - VFS_OFFSET:
            raise BoardError(f"filesystem image of {len(image)} bytes: the vfs partition "
                             f"holds {FLASH_SIZE - VFS_OFFSET}")
        flash[VFS_OFFSET:VFS_OFFSET + len(image)] = image
    with open(out, "wb") as f:
        f.write(flash)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Board:
    """QEMU's esp32 machine booted to the REPL (``start`` or ``with``). One serial
    client at a time; while none is connected the firmware runs on."""

    def __init__(self, image: bytes | None = None, *, marks: bool = False,
                 boot_timeout: float = 180.0, boots: int = 3, watchdogs: bool = False,
                 workdir: str | None = None) -> None:
        self.fixtures = emulators.find("esp32")
        if marks:
            self.fixtures.update(emulators.find("esp32-icount"))
        self.image = image
        self.marks_wanted = marks
        self.boot_timeout = boot_timeout
        self.boots = boots
        self.watchdogs = watchdogs
        self.workdir = workdir or os.path.join(BUILD, "esp32")
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None
        self.boot_log = b""
        self.boot_seconds = 0.0
        self._tmp: tempfile.TemporaryDirectory | None = None

    @property
    def device(self) -> str:
        """What ``mpremote connect`` takes."""
        return f"socket://127.0.0.1:{self.port}"

    def command(self, flash: str, marks_file: str) -> list[str]:
        fx = self.fixtures
        cmd = [fx["qemu"], "-nographic", "-machine", "esp32",
               "-L", os.path.dirname(fx["rom"]), "-drive", f"file={flash},if=mtd,format=raw",
               # wait=on: the guest starts when we connect, so every boot message is seen
               "-serial", f"tcp:127.0.0.1:{self.port},server=on,wait=on", "-monitor", "none"]
        if not self.watchdogs:
            cmd += ["-global", "driver=timer.esp32.timg,property=wdt_disable,value=true"]
        if self.marks_wanted:
            cmd += ["-plugin", f"{fx['plugin']},out={marks_file},addr={MARK_ADDRESS:#x}"]
        return cmd

    def start(self) -> "Board":
        """Boot, up to ``boots`` times: QEMU's clock is the host's, and on a busy host
        a boot can stall."""
        for attempt in range(1, self.boots + 1):
            try:
                return self._start()
            except BoardError:
                if attempt == self.boots:
                    raise
        raise AssertionError("unreachable")

    def _start(self) -> "Board":
        os.makedirs(self.workdir, exist_ok=True)
        self._tmp = tempfile.TemporaryDirectory(prefix="esp32-", dir=self.workdir)
        tmp = self._tmp.name
        flash_image(self.fixtures["firmware"], self.image, os.path.join(tmp, "flash.bin"))
        self.port = free_port()
        started = time.monotonic()
        with open(os.path.join(tmp, "qemu.log"), "wb") as log:
            self.proc = subprocess.Popen(
                self.command(os.path.join(tmp, "flash.bin"), self.marks_file),
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        try:
            self._wait_for_repl()
        except BaseException:
            self.stop()
            raise
        self.boot_seconds = time.monotonic() - started
        return self

    @property
    def marks_file(self) -> str:
        return os.path.join(self._tmp.name, "marks.txt")

    def _wait_for_repl(self) -> None:
        deadline = time.monotonic() + self.boot_timeout
        sock = None
        while sock is None:
            try:
                sock = socket.create_connection(("127.0.0.1", self.port), timeout=1)
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise BoardError(f"QEMU did not open its serial port: {self.qemu_log()}")
                time.sleep(0.1)
        with sock:
            sock.settimeout(0.5)
            log = bytearray()
            while not (BANNER in log and log.endswith(PROMPT)):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise BoardError("no REPL prompt from the ESP32 firmware; it printed:\n"
                                     + log.decode(errors="replace")[-2000:] + self.qemu_log())
                try:
                    chunk = sock.recv(4096)
                except socket.timeout:
                    continue
                if not chunk:
                    raise BoardError("QEMU closed the serial connection during boot")
                log += chunk
            self.boot_log = bytes(log)

    def qemu_log(self) -> str:
        try:
            with open(os.path.join(self._tmp.name, "qemu.log"), errors="replace") as f:
                return f.read()[-2000:]
        except (OSError, AttributeError):
            return ""

    def marks(self) -> list[tuple[int, int]]:
        """(cpu, instructions executed by that CPU so far) of every mark written."""
        if not self.marks_wanted:
            raise BoardError("the board was started without marks=True")
        out = []
        with open(self.marks_file) as f:
            for line in f:
                m = re.fullmatch(r"mark (\d+) (\d+)\n", line)
                if m:
                    out.append((int(m.group(1)), int(m.group(2))))
        return out

    def mpremote(self, *args: str, timeout: float = 300,
                 check: bool = True) -> subprocess.CompletedProcess:
        """``mpremote connect socket://... args...``; BoardError when it fails
        (check=True)."""
        cmd = [sys.executable, "-m", "mpremote", "connect", self.device, *args]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise BoardError(f"{' '.join(args)[:200]}: exit {result.returncode}\n"
                             f"{result.stdout[-2000:]}{result.stderr[-2000:]}")
        return result

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> "Board":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def board_mpy(board: Board) -> int:
    """sys.implementation._mpy as the firmware reports it."""
    out = board.mpremote("resume", "exec", "import sys; print('MPY', sys.implementation._mpy)").stdout
    m = re.search(r"MPY (\d+)", out)
    if not m:
        raise BoardError(f"the board did not report sys.implementation._mpy: {out!r}")
    return int(m.group(1))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m emlml_dev.esp32_board",
        description="Boot the official ESP32 MicroPython firmware in QEMU with files in its "
        "filesystem, then run a command ({device} and {port} are filled in) or wait for Ctrl-C.")
    p.add_argument("--file", action="append", default=[], metavar="HOST[:BOARD]",
                   help="a host file to put on the board (at / under its own name, or at BOARD)")
    p.add_argument("--dir", action="append", default=[], metavar="HOST[:BOARD]",
                   help="a host folder to put on the board with everything in it (at BOARD, or /)")
    p.add_argument("--marks", action="store_true",
                   help="load the instruction-count plugin; print the marks at the end")
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- then a command to run while it is up")
    args = p.parse_args(argv)
    files: dict[str, bytes | str] = {}
    for spec in args.file:
        host, _, dest = spec.partition(":")
        files[dest or "/" + os.path.basename(host)] = host
    for spec in args.dir:
        host, _, dest = spec.partition(":")
        files.update(tree(host, dest or "/"))
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    try:
        board = Board(fs_image(files) if files else None, marks=args.marks)
    except emulators.EmulatorsMissing as e:
        print(e, file=sys.stderr)
        return 2
    status = 0
    with board:
        print(f"ESP32 REPL on {board.device} (booted in {board.boot_seconds:.1f} s)", flush=True)
        if command:
            fill = {"device": board.device, "port": str(board.port)}
            status = subprocess.run([c.format(**fill) for c in command]).returncode
        else:
            try:
                while board.running():
                    time.sleep(1)
            except KeyboardInterrupt:
                pass
        if args.marks:
            print("marks (cpu, instructions):", board.marks())
    return status


if __name__ == "__main__":
    sys.exit(main())
