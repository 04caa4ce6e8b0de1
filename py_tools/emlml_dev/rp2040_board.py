"""The emulated RP2040: the official RPI_PICO MicroPython firmware in npm's rp2040js
(boards/rp2040js/run.mjs, installed by `make rp2040-emulator`), its REPL driven over
the emulated USB CDC with MicroPython's raw-paste mode, as mpremote drives a real Pico.

rp2040js does not emulate flash writes, so the board's files are put in a littlefs v2
image before boot (``fs_image``: PyPI's littlefs-python, the firmware's block size, at the
firmware's filesystem offset). The harness counts what a real Cortex-M0+ faults on and
rp2040js does not (unaligned halfword/word accesses) and every HardFault entry;
``stats()`` returns the counts so far.

    PYTHONPATH=py_tools python -m emlml_dev.rp2040_board    # boots, prints the banner
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from emlml_dev import emulators
from emlml_dev.paths import BOARDS_DIR, BUILD

HARNESS = os.path.join(BOARDS_DIR, "rp2040js", "run.mjs")
NODE_MODULES = os.path.join(BUILD, "rp2040js", "node_modules")
# RPI_PICO's filesystem (the firmware's board config): 1408 KB at flash 0xa0000, littlefs v2
FS_BLOCK_SIZE = 4096
FS_BLOCK_COUNT = 1408 * 1024 // FS_BLOCK_SIZE
MARK_ADDRESS = 0x4005800C  # run.mjs records the cycle count when the guest writes here


class BoardError(Exception):
    pass


def node_modules() -> str:
    if not os.path.isdir(os.path.join(NODE_MODULES, "rp2040js")):
        raise BoardError(f"rp2040js is not installed in {NODE_MODULES}: make rp2040-emulator")
    return NODE_MODULES


def fs_image(files: dict[str, bytes | str], block_count: int = FS_BLOCK_COUNT) -> bytes:
    """A littlefs v2 image of the RPI_PICO filesystem holding ``files`` (board path ->
    contents or host path), directories created as needed. ``block_count``: another
    board's filesystem of 4 KB blocks (the ESP32's, esp32_board.py)."""
    from littlefs import LittleFS

    # read/prog/cache/lookahead as MicroPython's vfs.VfsLfs2 sets them (not stored in
    # the image, but littlefs-python's defaults of one block each spend a block per
    # small file)
    fs = LittleFS(block_size=FS_BLOCK_SIZE, block_count=block_count, read_size=32,
                  prog_size=32, cache_size=128, lookahead_size=32)
    for dest, content in sorted(files.items()):
        if isinstance(content, str):
            with open(content, "rb") as f:
                content = f.read()
        parent = os.path.dirname(dest.strip("/"))
        if parent:
            fs.makedirs(parent, exist_ok=True)
        with fs.open(dest.strip("/"), "wb") as f:
            f.write(content)
    return bytes(fs.context.buffer)


def tree(host_dir: str, board_dir: str) -> dict[str, str]:
    """{board path: host path} of every file under host_dir."""
    out = {}
    for dirpath, _, names in os.walk(host_dir):
        for name in names:
            rel = os.path.relpath(os.path.join(dirpath, name), host_dir)
            dest = board_dir.rstrip("/") + "/" + rel.replace(os.sep, "/")
            out[dest] = os.path.join(dirpath, name)
    return out


@dataclass
class Result:
    stdout: str
    stderr: str  # the exception MicroPython printed, empty when the code ended normally
    seconds: float
    # (value, cycles, instructions) of each word the code wrote to MARK_ADDRESS
    marks: list[tuple[int, int, int]] = field(default_factory=list)


class Board:
    """One emulated Pico: node run.mjs as a subprocess, JSON lines both ways."""

    def __init__(self, image: bytes | None = None, fault_on_unaligned: bool = False,
                 workdir: str | None = None):
        fx = emulators.find("rp2040")
        self._serial = bytearray()
        self._marks: list[tuple[int, int, int]] = []
        self._stats: list[dict] = []
        self._events: list[dict] = []
        self.hard_fault_pcs: list[int] = []
        self.halted: str | None = None
        self.connected = False
        self._cond = threading.Condition()
        self._image_path = None
        cmd = ["node", HARNESS, "--modules", node_modules(), "--bootrom", fx["bootrom"],
               "--uf2", fx["firmware"]]
        if image is not None:
            workdir = workdir or os.path.join(BUILD, "rp2040")
            os.makedirs(workdir, exist_ok=True)
            self._image_path = os.path.join(workdir, f"fs-{os.getpid()}-{id(self):x}.img")
            with open(self._image_path, "wb") as f:
                f.write(image)
            cmd += ["--fs", self._image_path]
        if fault_on_unaligned:
            cmd.append("--fault-on-unaligned")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1)
        self.stderr_lines: list[str] = []
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    # ---------------------------------------------------------------- the pipe

    def _read_stdout(self) -> None:
        for line in self.proc.stdout:
            msg = json.loads(line)
            with self._cond:
                ev = msg["ev"]
                if ev == "serial":
                    self._serial += base64.b64decode(msg["data"])
                elif ev == "mark":
                    self._marks.append((msg["value"], msg["cycles"], msg["instructions"]))
                elif ev == "stats":
                    self._stats.append(msg)
                elif ev == "connected":
                    self.connected = True
                elif ev == "hardfault":
                    self.hard_fault_pcs.append(msg["pc"])
                elif ev == "halted":
                    self.halted = msg["reason"]
                self._events.append(msg)
                self._cond.notify_all()
        with self._cond:
            self.halted = self.halted or f"the emulator ended ({self.proc.poll()})"
            self._cond.notify_all()

    def _read_stderr(self) -> None:
        for line in self.proc.stderr:
            self.stderr_lines.append(line)

    def _send(self, msg: dict) -> None:
        try:
            self.proc.stdin.write(json.dumps(msg) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError) as e:
            raise BoardError(f"the emulator is gone: {self.describe()}") from e

    def write(self, data: bytes) -> None:
        """Queued in the harness, which feeds the 512-byte CDC FIFO as it drains."""
        self._send({"op": "send", "data": base64.b64encode(data).decode()})

    def describe(self) -> str:
        tail = bytes(self._serial[-400:]).decode(errors="replace")
        err = "".join(self.stderr_lines[-10:])
        return f"halted: {self.halted}; last output: {tail!r}; emulator stderr: {err!r}"

    def read_until(self, ending: bytes, timeout: float) -> bytes:
        """Everything up to and including ``ending``, consumed from the serial buffer."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                i = self._serial.find(ending)
                if i >= 0:
                    out = bytes(self._serial[:i + len(ending)])
                    del self._serial[:i + len(ending)]
                    return out
                if self.halted:
                    raise BoardError(f"waiting for {ending!r}: {self.describe()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BoardError(f"timeout ({timeout:.0f} s) waiting for {ending!r}: "
                                     f"{self.describe()}")
                self._cond.wait(min(left, 1.0))

    def read_bytes(self, n: int, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._serial) < n:
                if self.halted:
                    raise BoardError(f"waiting for {n} bytes: {self.describe()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BoardError(f"timeout waiting for {n} bytes: {self.describe()}")
                self._cond.wait(min(left, 1.0))
            out = bytes(self._serial[:n])
            del self._serial[:n]
            return out

    def stats(self, timeout: float = 60) -> dict:
        """The harness's counters: unaligned, unaligned_samples, hard_faults,
        unknown_instructions, invalid_accesses, breakpoints, cycles, instructions,
        halted."""
        with self._cond:
            n = len(self._stats)
        self._send({"op": "stats"})
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._stats) <= n:
                if self.proc.poll() is not None:
                    raise BoardError(f"no stats: {self.describe()}")
                if not self._cond.wait(max(0.0, min(1.0, deadline - time.monotonic()))) \
                        and time.monotonic() > deadline:
                    raise BoardError("no stats from the emulator")
            return self._stats[n]

    # ---------------------------------------------------------------- the REPL

    def wait_repl(self, timeout: float = 120) -> str:
        """Boot to the friendly REPL; returns the banner."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self.connected:
                if self.halted or time.monotonic() > deadline:
                    raise BoardError(f"USB CDC never connected: {self.describe()}")
                self._cond.wait(1.0)
        self.write(b"\r")
        return self.read_until(b">>> ", deadline - time.monotonic()).decode(errors="replace")

    def enter_raw(self, timeout: float = 60) -> None:
        self.write(b"\r\x03\x03\x01")  # interrupt anything, then raw REPL
        self.read_until(b"raw REPL; CTRL-B to exit\r\n>", timeout)

    def exec(self, code: str | bytes, timeout: float = 600) -> Result:
        """Run code in raw-paste mode (the raw REPL must be entered): what it printed,
        the exception text (stderr), the wall time, the cycle marks written meanwhile."""
        data = code.encode() if isinstance(code, str) else code
        with self._cond:
            marks_before = len(self._marks)
        start = time.monotonic()
        self.write(b"\x05A\x01")
        if self.read_bytes(2, 60) != b"R\x01":
            raise BoardError("the board refused raw-paste mode")
        window = int.from_bytes(self.read_bytes(2, 60), "little")
        remaining = window
        i = 0
        while i < len(data):
            while remaining == 0 or self._serial_pending():
                c = self.read_bytes(1, timeout)
                if c == b"\x01":
                    remaining += window
                elif c == b"\x04":
                    self.write(b"\x04")
                    raise BoardError("the board ended raw-paste input early")
                else:
                    raise BoardError(f"unexpected {c!r} during raw-paste input")
            n = min(remaining, len(data) - i)
            self.write(data[i:i + n])
            i += n
            remaining -= n
        self.write(b"\x04")
        # flow-control bytes still on their way, then the board's end-of-input \x04
        while True:
            c = self.read_bytes(1, timeout)
            if c == b"\x04":
                break
            if c != b"\x01":
                raise BoardError(f"unexpected {c!r} after raw-paste input")
        out = self.read_until(b"\x04", timeout)[:-1]
        err = self.read_until(b"\x04", timeout)[:-1]
        self.read_until(b">", timeout)
        with self._cond:
            marks = self._marks[marks_before:]
        return Result(out.decode(errors="replace").replace("\r\n", "\n"),
                      err.decode(errors="replace").replace("\r\n", "\n"),
                      time.monotonic() - start, marks)

    def _serial_pending(self) -> bool:
        with self._cond:
            return bool(self._serial)

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self._send({"op": "quit"})
                self.proc.wait(timeout=10)
            except (BoardError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        if self._image_path and os.path.exists(self._image_path):
            os.remove(self._image_path)

    def __enter__(self) -> "Board":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class Transport:
    """emlml_tools.board's Transport over this board's raw REPL (entered): exec runs
    code; put is refused, as rp2040js emulates no flash writes."""

    def __init__(self, board: Board) -> None:
        self.board = board
        self.puts: list[tuple[str, str]] = []

    def exec(self, code: str) -> str:
        from emlml_tools.board import BoardError as ToolsBoardError

        result = self.board.exec(code, timeout=120)
        if result.stderr:
            raise ToolsBoardError(result.stderr.strip())
        return result.stdout

    def put(self, local: str, remote: str, progress=None) -> None:
        from emlml_tools.board import BoardError as ToolsBoardError

        self.puts.append((local, remote))
        raise ToolsBoardError(f"cannot copy {local} to {remote}: rp2040js emulates no flash writes")


def board_mpy(board: Board) -> int:
    """sys.implementation._mpy as the firmware reports it (raw REPL entered)."""
    r = board.exec("import sys\nprint('MPY', sys.implementation._mpy)", timeout=60)
    m = re.search(r"MPY (\d+)", r.stdout)
    if not m:
        raise BoardError(f"no _mpy: {r.stdout!r} {r.stderr!r}")
    return int(m.group(1))


def main() -> int:
    with Board() as b:
        t = time.monotonic()
        print(b.wait_repl().strip())
        print(f"REPL after {time.monotonic() - t:.1f} s")
        b.enter_raw()
        print("_mpy:", board_mpy(b))
        print(b.stats())
    return 0


if __name__ == "__main__":
    sys.exit(main())
