"""`emlml firmware BOARD`: build MicroPython firmware with emlml built in, from your own
MicroPython checkout, for the board definitions in ``boards/``::

    MICROPY_DIR=~/micropython emlml firmware RPI_PICO            # or --micropython DIR
    emlml firmware ESP32_GENERIC --dry-run                       # check, print the commands
    emlml flash build/firmware/RPI_PICO/firmware.uf2             # then put it on the board

Boards: ESP32_GENERIC, ESP32_GENERIC_S3 (esp32 port, ESP-IDF), RPI_PICO, RPI_PICO2 (rp2 port,
pico-sdk). Each is MicroPython's stock board of that name plus emlml as a user C module,
``manifest.py`` frozen in and a ROMFS at ``/rom`` (boards/README.md), given to the port as
an out-of-tree board (``BOARD_DIR`` / ``MICROPY_BOARD_DIR``). The ROMFS needs MicroPython
1.25 or newer.

Before anything runs, the prerequisites are checked and each missing one is named with what
to do: MICROPY_DIR (a full MicroPython checkout, not the PyPI source ``make`` unpacks into
build/micropython, which has no ``ports/``), its version, ESP-IDF (``idf.py`` on PATH and
IDF_PATH, as ``export.sh`` sets them) or the pico-sdk (MicroPython's own ``lib/pico-sdk``
submodule, else PICO_SDK_PATH) with ``arm-none-eabi-gcc`` and ``cmake``. Then every command
is printed before it runs:

1. ``make -C $MICROPY_DIR/mpy-cross`` (the frozen manifest is compiled with it);
2. ``make -C $MICROPY_DIR/ports/<port> BOARD=<BOARD> submodules`` (a git checkout only;
   ``--no-submodules`` skips it);
3. esp32: ``make -C $MICROPY_DIR/ports/esp32 BOARD_DIR=boards/<BOARD> BUILD=<build>``, which
   runs ``idf.py build`` and MicroPython's ``makeimg.py`` -> ``<build>/firmware.bin``;
   rp2: ``cmake -S $MICROPY_DIR/ports/rp2 -B <build> -DMICROPY_BOARD=<BOARD>
   -DMICROPY_BOARD_DIR=boards/<BOARD>`` and ``cmake --build <build>`` -> ``<build>/firmware.uf2``
   (what the port's Makefile runs, with the pico-sdk override when PICO_SDK_PATH is used).

``<build>`` is ``build/firmware/<BOARD>`` in this checkout unless ``--build-dir`` says
otherwise. ``main(argv)`` runs the command without the ``emlml`` entry point
(``python -m emlml_tools.board.firmware``); for the ``emlml`` command: ``setup(parser)``, ``run(args)``.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from emlml_tools.errors import CommandError

# ROMFS (MICROPY_VFS_ROM, vfs.rom_ioctl, esp32 "romfs" partitions, rp2 MICROPY_HW_ROMFS_BYTES)
# arrived in MicroPython 1.25.0; boards/emlml_board.cmake refuses older ones the same way.
MIN_MICROPYTHON = (1, 25)


@dataclass(frozen=True)
class Board:
    port: str       # MicroPython port: esp32 or rp2
    chip: str       # for messages
    firmware: str   # what the build leaves in the build directory, for `emlml flash`
    flash: str      # how to flash it


BOARDS: dict[str, Board] = {
    "ESP32_GENERIC": Board("esp32", "ESP32", "firmware.bin", "--port /dev/ttyUSB0"),
    "ESP32_GENERIC_S3": Board("esp32", "ESP32-S3", "firmware.bin", "--port /dev/ttyACM0"),
    "RPI_PICO": Board("rp2", "RP2040", "firmware.uf2",
                      "(hold BOOTSEL while plugging the board in first)"),
    "RPI_PICO2": Board("rp2", "RP2350", "firmware.uf2",
                       "(hold BOOTSEL while plugging the board in first)"),
}


@dataclass
class Step:
    cmd: list[str]
    cwd: str | None = None
    env: dict[str, str] = field(default_factory=dict)  # added to the environment

    def __str__(self) -> str:
        prefix = "".join(f"{k}={shlex.quote(v)} " for k, v in self.env.items())
        line = prefix + shlex.join(self.cmd)
        return f"(cd {shlex.quote(self.cwd)} && {line})" if self.cwd else line


@dataclass
class Plan:
    board: str
    micropython: str
    version: tuple[int, int, int]
    build_dir: str
    firmware: str
    steps: list[Step]
    notes: list[str]


# ------------------------------------------------------------------------- checks


def micropython_version(micropy_dir: str) -> tuple[int, int, int]:
    """(major, minor, micro) from ``py/mpconfig.h``; CommandError when it is not there."""
    header = os.path.join(micropy_dir, "py", "mpconfig.h")
    try:
        with open(header, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        raise CommandError(f"MICROPY_DIR={micropy_dir} is not a MicroPython checkout (no "
                           "py/mpconfig.h); clone one: git clone "
                           "https://github.com/micropython/micropython") from None
    parts = []
    for name in ("MAJOR", "MINOR", "MICRO"):
        m = re.search(rf"^#define MICROPY_VERSION_{name}\s+(\d+)", text, re.M)
        if not m:
            raise CommandError(f"{header}: no MICROPY_VERSION_{name}; is MICROPY_DIR="
                               f"{micropy_dir} a MicroPython checkout?")
        parts.append(int(m.group(1)))
    return parts[0], parts[1], parts[2]


def check_micropython(micropy_dir: str | None, board: str) -> tuple[str, tuple[int, int, int]]:
    """The checkout's absolute path and version, or a CommandError that says what to do."""
    b = BOARDS[board]
    if not micropy_dir:
        raise CommandError("MICROPY_DIR is not set: point it (or --micropython) at your "
                           "MicroPython checkout, 1.25 or newer, e.g. `git clone "
                           "https://github.com/micropython/micropython ~/micropython` then "
                           f"`MICROPY_DIR=~/micropython emlml firmware {board}`")
    path = os.path.abspath(os.path.expanduser(micropy_dir))
    if not os.path.isdir(path):
        raise CommandError(f"MICROPY_DIR={micropy_dir}: no such directory (it should be your "
                           "MicroPython checkout)")
    version = micropython_version(path)
    port_dir = os.path.join(path, "ports", b.port)
    if not os.path.isfile(os.path.join(port_dir, "CMakeLists.txt")):
        raise CommandError(f"MICROPY_DIR={micropy_dir} is not a full MicroPython checkout: "
                           f"ports/{b.port} is missing (the PyPI source this project's `make` "
                           "unpacks into build/micropython has no ports/); use a git clone of "
                           "https://github.com/micropython/micropython or a release tarball")
    if version[:2] < MIN_MICROPYTHON:
        have = ".".join(map(str, version))
        need = ".".join(map(str, MIN_MICROPYTHON))
        raise CommandError(f"MicroPython {have} in {path} is too old for the emlml boards: "
                           f"their ROMFS (/rom) needs MicroPython {need} or newer; check out a "
                           f"newer release (git -C {shlex.quote(path)} checkout v{need}.0), or "
                           "build the stock board with USER_C_MODULES as boards/README.md "
                           "shows (no ROMFS)")
    stock = os.path.join(port_dir, "boards", board, "mpconfigboard.cmake")
    if not os.path.isfile(stock):
        raise CommandError(f"{board} extends MicroPython's stock {board}, but {stock} does not "
                           "exist in this checkout")
    return path, version


def _which(name: str, env: Mapping[str, str]) -> str | None:
    return shutil.which(name, path=env.get("PATH", os.defpath))


def _require_tools(names: Sequence[str], env: Mapping[str, str], why: str) -> None:
    missing = [n for n in names if not _which(n, env)]
    if missing:
        raise CommandError(f"{', '.join(missing)} not found on PATH: {why}")


def _is_git_checkout(path: str) -> bool:
    return os.path.exists(os.path.join(path, ".git"))


def _pico_sdk(micropy_dir: str, env: Mapping[str, str], submodules: bool) -> tuple[str | None, str]:
    """(PICO_SDK_PATH_OVERRIDE or None for MicroPython's own lib/pico-sdk, a note)."""
    own = os.path.join(micropy_dir, "lib", "pico-sdk")
    if os.path.isfile(os.path.join(own, "pico_sdk_init.cmake")):
        return None, f"pico-sdk: {own} (MicroPython's own submodule)"
    if submodules and _is_git_checkout(micropy_dir):
        return None, f"pico-sdk: {own}, fetched by the submodules step"
    sdk = env.get("PICO_SDK_PATH")
    if sdk:
        if not os.path.isfile(os.path.join(sdk, "pico_sdk_init.cmake")):
            raise CommandError(f"PICO_SDK_PATH={sdk} is not a pico-sdk (no pico_sdk_init.cmake)")
        return os.path.abspath(sdk), (f"pico-sdk: PICO_SDK_PATH={sdk} (MicroPython pins its own "
                                      "in lib/pico-sdk; another version may not build)")
    raise CommandError(f"pico-sdk not found: {own} is empty and PICO_SDK_PATH is not set. "
                       f"Fetch MicroPython's own: make -C {shlex.quote(micropy_dir)}/ports/rp2 "
                       "BOARD=RPI_PICO submodules (a git checkout), or set PICO_SDK_PATH")


def check_toolchain(board: str, micropy_dir: str, env: Mapping[str, str],
                    submodules: bool) -> tuple[str | None, list[str]]:
    """Check the port's SDK and compilers; (pico-sdk override or None, notes)."""
    b = BOARDS[board]
    _require_tools(["make"], env, "the MicroPython build runs make (apt-get install make)")
    if not (_which("cc", env) or _which("gcc", env)):
        raise CommandError("no host C compiler (cc/gcc) on PATH: mpy-cross is built with it "
                           "(apt-get install gcc)")
    if b.port == "esp32":
        if not _which("idf.py", env) or not env.get("IDF_PATH"):
            what = "idf.py is not on PATH" if not _which("idf.py", env) else "IDF_PATH is not set"
            raise CommandError(f"ESP-IDF is not set up in this shell ({what}): install the "
                               "ESP-IDF version your MicroPython's ports/esp32/README.md names "
                               "and run `. $IDF_PATH/export.sh` (or `get_idf`) first")
        return None, [f"ESP-IDF: IDF_PATH={env['IDF_PATH']}"]
    _require_tools(["cmake"], env, "the rp2 port is built with CMake (apt-get install cmake)")
    _require_tools(["arm-none-eabi-gcc"], env, f"the {b.chip} firmware is compiled with it "
                   "(apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)")
    override, note = _pico_sdk(micropy_dir, env, submodules)
    return override, [note]


# --------------------------------------------------------------------------- plan


def emlml_checkout(emlml_dir: str | None, board: str) -> str:
    """The emlml checkout whose ``boards/<board>`` and ``micropython_module/`` go into the
    firmware (default: the current folder)."""
    path = os.path.abspath(emlml_dir or os.curdir)
    if not os.path.isfile(os.path.join(path, "boards", board, "mpconfigboard.h")) or \
            not os.path.isdir(os.path.join(path, "micropython_module")):
        raise CommandError(f"{path} is not an emlml checkout (no boards/{board}/ and "
                           "micropython_module/): the firmware is built from the emlml source; "
                           "run this in its folder or give --emlml DIR")
    return path


def make_plan(board: str, micropy_dir: str | None, build_dir: str | None = None,
              jobs: int | None = None, submodules: bool = True,
              env: Mapping[str, str] | None = None, emlml_dir: str | None = None) -> Plan:
    """Check every prerequisite and return the commands that build ``board``."""
    if board not in BOARDS:
        raise CommandError(f"unknown board {board!r}: choose one of {', '.join(BOARDS)}")
    emlml = emlml_checkout(emlml_dir, board)
    env = os.environ if env is None else env
    b = BOARDS[board]
    path, version = check_micropython(micropy_dir, board)
    run_submodules = submodules and _is_git_checkout(path)
    override, notes = check_toolchain(board, path, env, run_submodules)
    if submodules and not run_submodules:
        notes.append(f"submodules: {path} is not a git checkout, skipped (a release tarball "
                     "ships them)")
    board_dir = os.path.join(emlml, "boards", board)
    build = os.path.abspath(build_dir or os.path.join(emlml, "build", "firmware", board))
    port_dir = os.path.join(path, "ports", b.port)
    jobs = jobs or os.cpu_count() or 1

    steps = [Step(["make", "-C", os.path.join(path, "mpy-cross")])]
    if run_submodules:
        steps.append(Step(["make", "-C", port_dir, f"BOARD={board}", "submodules"]))
    if b.port == "esp32":
        steps.append(Step(["make", "-C", port_dir, f"BOARD_DIR={board_dir}", f"BUILD={build}"]))
    else:
        configure = ["cmake", "-S", port_dir, "-B", build, f"-DMICROPY_BOARD={board}",
                     f"-DMICROPY_BOARD_DIR={board_dir}", "-DPICO_BUILD_DOCS=0"]
        if override:
            configure.append(f"-DPICO_SDK_PATH_OVERRIDE={override}")
        steps += [Step(configure), Step(["cmake", "--build", build, "-j", str(jobs)])]
    return Plan(board, path, version, build, os.path.join(build, b.firmware), steps, notes)


def execute(plan: Plan, dry_run: bool = False, out=None) -> None:
    """Print each command, then run it (unless ``dry_run``); CommandError on a failure."""
    out = out or sys.stdout
    b = BOARDS[plan.board]
    print(f"== emlml firmware {plan.board} ({b.chip}, MicroPython "
          f"{'.'.join(map(str, plan.version))} in {plan.micropython})", file=out)
    for note in plan.notes:
        print(f"   {note}", file=out)
    for step in plan.steps:
        print(f"$ {step}", file=out, flush=True)
        if dry_run:
            continue
        try:
            result = subprocess.run(step.cmd, cwd=step.cwd, env=dict(os.environ, **step.env))
        except OSError as exc:
            raise CommandError(f"cannot run {step.cmd[0]}: {exc.strerror or exc}") from None
        if result.returncode != 0:
            raise CommandError(f"`{step}` failed (exit status {result.returncode}); the output "
                               "above says why. MicroPython's build troubleshooting: "
                               "https://github.com/micropython/micropython/wiki/Build-Troubleshooting")
    if dry_run:
        print(f"(dry run: nothing was built; the firmware would be {plan.firmware})", file=out)
        return
    if not os.path.isfile(plan.firmware):
        raise CommandError(f"the build finished but {plan.firmware} is not there")
    print(f"firmware: {plan.firmware} ({os.path.getsize(plan.firmware)} bytes)", file=out)
    print(f"flash it: emlml flash {shlex.quote(plan.firmware)} {b.flash}", file=out)


# ---------------------------------------------------------------------------- CLI


def setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("board", metavar="BOARD", choices=sorted(BOARDS),
                   help="one of " + ", ".join(BOARDS))
    p.add_argument("--micropython", metavar="DIR", default=None,
                   help="your MicroPython checkout, 1.25 or newer (default: $MICROPY_DIR)")
    p.add_argument("--emlml", metavar="DIR", default=None,
                   help="the emlml checkout to build from (default: the current folder)")
    p.add_argument("--build-dir", metavar="DIR", default=None,
                   help="where the build goes (default: build/firmware/BOARD in this checkout)")
    p.add_argument("-j", "--jobs", type=int, default=None,
                   help="parallel compile jobs for the rp2 build (default: CPU count)")
    p.add_argument("--no-submodules", action="store_true",
                   help="do not run the port's `make submodules` first")
    p.add_argument("--dry-run", action="store_true",
                   help="check the prerequisites and print the commands without running them")


def run(args: argparse.Namespace) -> int:
    micropy_dir = args.micropython or os.environ.get("MICROPY_DIR")
    plan = make_plan(args.board, micropy_dir, build_dir=args.build_dir, jobs=args.jobs,
                     submodules=not args.no_submodules, emlml_dir=args.emlml)
    execute(plan, dry_run=args.dry_run)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m emlml_tools.board.firmware ...` is `emlml firmware ...`."""
    from emlml_tools.cli import main as emlml_main
    return emlml_main(["firmware", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
