"""Where the emulated boards' fixtures are: the official firmware images and the ROMs
that no package registry carries (the RP2040 boot ROM, the ESP32 mask ROM, Espressif's
QEMU). They are looked up in ``$EMLML_EMULATORS``, else in ``../shared/emulators`` beside
the checkout. When they are absent (a user's machine) the tiers that need them are
skipped with one line that says what is missing and where it comes from; with
``EMLML_REQUIRE_EMULATORS=1`` (CI) that absence is a failure instead.

    PYTHONPATH=py_tools python -m emlml_dev.emulators rp2040   # prints the status
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from dataclasses import dataclass

from emlml_dev.paths import ROOT

ENV_DIR = "EMLML_EMULATORS"
ENV_REQUIRE = "EMLML_REQUIRE_EMULATORS"
DEFAULT_DIR = os.path.join(os.path.dirname(ROOT), "shared", "emulators")


@dataclass(frozen=True)
class Fixture:
    path: str  # relative to the emulators folder
    sha256: str
    source: str  # where a user gets it


FIXTURES: dict[str, dict[str, Fixture]] = {
    "rp2040": {
        "firmware": Fixture(
            "rp2040/RPI_PICO-20241129-v1.24.1.uf2",
            "a41b7dbadfe4f399a10bd344002b365427ad033de993cf372c29c884b33a4cdf",
            "MicroPython 1.24.1 for RPI_PICO, https://micropython.org/download/RPI_PICO/"),
        "bootrom": Fixture(
            "rp2040/bootrom-B1.bin",
            "90b31e108faedfa6bbcfcc33ba05dac61e645108cfbbdc385f8dafc71fde44ae",
            "the RP2040 boot ROM (B1), built from https://github.com/raspberrypi/pico-bootrom"),
    },
    "esp32": {
        "qemu": Fixture(
            "esp32/qemu-system-xtensa",
            "f860a5a03193a31e514f5b2b84298fe124da9280a169c0f50d32cba8c44ae13c",
            "Espressif's QEMU with the esp32 machine, https://github.com/espressif/qemu"),
        "rom": Fixture(
            "esp32/rom/esp32-v3-rom.bin",
            "9115bbcd03da9f54d3baca5ad94d588a43da54ed332347137ba3dc9010df258b",
            "the ESP32 rev 3 mask ROM that Espressif's QEMU loads (-L)"),
        "rom_app": Fixture(
            "esp32/rom/esp32-v3-rom-app.bin",
            "6d3240e7cdb1ec9c1d683515e0a8578e9fb8ece3e7736cb9a996512c656e8442",
            "the ESP32 rev 3 mask ROM (APP CPU) that Espressif's QEMU loads (-L)"),
        "firmware": Fixture(
            "esp32/ESP32_GENERIC-20240602-v1.23.0.bin",
            "5e442176c7e90347aa102915077dda59f795af190f907f3919ee1e4e57984716",
            "MicroPython 1.23.0 for ESP32_GENERIC, https://micropython.org/download/ESP32_GENERIC/"),
    },
    # the benchmark's instruction counts (bench_esp32.py); the tests need no plugin
    "esp32-icount": {
        "plugin": Fixture(
            "esp32/icount_marks.so",
            "ed10601f15131757e600fc2662a58dd4e40dd0619d1dcbecfb39c021f62e8819",
            "the TCG plugin built from icount_marks.c beside it, against that QEMU"),
    },
}


class EmulatorsMissing(Exception):
    """The fixtures of a board are absent or are not the expected files."""


def emulators_dir() -> str:
    return os.environ.get(ENV_DIR) or DEFAULT_DIR


def required() -> bool:
    return os.environ.get(ENV_REQUIRE, "") not in ("", "0")


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def find(board: str) -> dict[str, str]:
    """{name: absolute path} of the board's fixtures, each checked by its SHA-256;
    raises EmulatorsMissing with one line naming what is missing and how to get it."""
    base = emulators_dir()
    found, missing = {}, []
    for name, fx in FIXTURES[board].items():
        path = os.path.join(base, fx.path)
        if not os.path.isfile(path):
            missing.append(f"{fx.path} ({fx.source})")
        elif _sha256(path) != fx.sha256:
            missing.append(f"{fx.path} with SHA-256 {fx.sha256[:12]}... (that file differs; "
                           f"{fx.source})")
        else:
            found[name] = path
    if missing:
        raise EmulatorsMissing(
            f"{board} emulator: missing in {base}: {'; '.join(missing)}. "
            f"Put them there or point {ENV_DIR} at the folder that holds them")
    return found


def outcome(missing: EmulatorsMissing) -> str:
    """The one line a test tier prints for missing fixtures."""
    if required():
        return f"{missing}; {ENV_REQUIRE} is set: failing"
    return f"{missing}; its tests are skipped"


def missing_for_tests(board: str, commands: tuple[str, ...] = ()) -> str:
    """For a test module: "" when the board's fixtures (and the commands it runs, e.g.
    node) are present. When they are absent, skips the whole module with the one line,
    or, with EMLML_REQUIRE_EMULATORS=1, returns that line for the module to fail every
    test with (a failed collection would stop the whole run)."""
    import pytest

    try:
        find(board)
        for command in commands:
            if not shutil.which(command):
                raise EmulatorsMissing(f"{board} emulator: {command} is not installed "
                                       f"(make rp2040-emulator says how)")
    except EmulatorsMissing as missing:
        if not required():
            pytest.skip(outcome(missing), allow_module_level=True)
        return outcome(missing)
    return ""


def require_tinymaix() -> None:
    """For a test of TinyMaix's networks: nothing when they are there; else skips it
    with one line saying what is missing, or fails (EMLML_REQUIRE_EMULATORS=1: CI has
    ../shared, so their absence there is a defect)."""
    import pytest

    from emlml_dev.paths import TINYMAIX_DIR

    if os.path.isdir(TINYMAIX_DIR):
        return
    missing = (f"TinyMaix's reference networks are missing: {TINYMAIX_DIR} (set EMLML_TINYMAIX "
               f"to a copy of the project's shared/models/tinymaix)")
    if required():
        pytest.fail(f"{missing}; {ENV_REQUIRE} is set: failing")
    pytest.skip(f"{missing}; these tests are skipped")


def main(argv: list[str]) -> int:
    """Prints the status of each board named (all when none); exit status 1 when one
    is missing and EMLML_REQUIRE_EMULATORS is set."""
    status = 0
    for board in argv or sorted(FIXTURES):
        try:
            find(board)
            print(f"{board} emulator fixtures: {emulators_dir()}")
        except EmulatorsMissing as e:
            print(outcome(e))
            status = 1 if required() else status
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
