"""The native modules emlml carries for the boards, and which one a board gets.

A module folder holds, per native arch, the module with every model family and, where
built, one smaller module per family (the same ``emlml`` module with one family
compiled in: what a board that runs only trees, say, needs in RAM)::

    <folder>/<arch>/emlml.mpy             every family
    <folder>/<arch>/<family>/emlml.mpy    one family (trees, knn, cnn)

Where the folder is: inside the installed package (``emlml_tools/mpy``: a wheel or sdist
from ``make dist`` carries it), else a checkout's ``build/natmod`` (``make natmod-all``),
or the one given with ``--from``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources

from emlml_tools.board.transport import ARCHS, BoardError
from emlml_tools.errors import CommandError

MODULE = "emlml.mpy"
FAMILIES = ("trees", "knn", "cnn")
# What a converted Pipeline's blob needs besides its family: the feature steps, in every
# module but the CNN-only one (built without them for the armv6m budget).
STEPS = "steps"
CHECKOUT_DIR = os.path.join("build", "natmod")  # relative to where the command runs
PACKAGE_DIR = "mpy"  # inside emlml_tools
# .mpy version -> the MicroPython releases whose loader takes its native code (a native
# .mpy needs the exact sub-version: docs.micropython.org, reference/mpyfiles). 6.3 came
# with 1.23; checked here on 1.23.0 (ESP32), 1.24.1 (Pico) and 1.28 (unix).
MICROPYTHON_FOR = {(6, 3): "MicroPython 1.23+ (.mpy 6.3)"}
# what each arch's module is for
BOARDS = {"armv6m": "RP2040 (Pico)", "armv7m": "Cortex-M3, M4 without FPU",
          "armv7emsp": "Cortex-M4F/M33 (RP2350, STM32F4)", "xtensawin": "ESP32",
          "x64": "unix port (x86-64 Linux)"}


@dataclass(frozen=True)
class NativeModule:
    """One emlml.mpy: which arch, which families, where, how big."""

    arch: str
    families: tuple[str, ...]
    path: str
    size: int
    version: tuple[int, int]  # (.mpy version, sub-version)

    @property
    def build(self) -> str:
        """``armv6m`` (every family) or ``armv6m/trees``."""
        return self.arch if self.families == FAMILIES else f"{self.arch}/{'+'.join(self.families)}"

    @property
    def provides(self) -> set[str]:
        """Its families, and STEPS unless it is the CNN-only module."""
        return set(self.families) | ({STEPS} if set(self.families) - {"cnn"} else set())

    @property
    def micropython(self) -> str:
        return MICROPYTHON_FOR.get(self.version, f".mpy {self.version[0]}.{self.version[1]}")


def read_header(path: str) -> tuple[str, tuple[int, int]]:
    """(native arch, (version, sub-version)) from a .mpy's first bytes."""
    with open(path, "rb") as f:
        header = f.read(4)
    if len(header) < 4 or header[0] != ord("M"):
        raise BoardError(f"{path} is not a .mpy file")
    arch_code = header[2] >> 2
    if arch_code == 0:
        raise BoardError(f"{path} holds no native code")
    return ARCHS.get(arch_code, f"arch {arch_code}"), (header[1], header[2] & 3)


def _module(path: str, families: tuple[str, ...]) -> NativeModule:
    arch, version = read_header(path)
    return NativeModule(arch, families, path, os.path.getsize(path), version)


def scan(folder: str) -> list[NativeModule]:
    """Every module in a module folder (module docstring), sorted by arch then size."""
    found = []
    for arch in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        full = os.path.join(folder, arch, MODULE)
        if os.path.isfile(full):
            found.append(_module(full, FAMILIES))
        for family in FAMILIES:
            one = os.path.join(folder, arch, family, MODULE)
            if os.path.isfile(one):
                found.append(_module(one, (family,)))
    return sorted(found, key=lambda m: (m.arch, m.size))


def packaged_folder() -> str | None:
    """The module folder inside the installed package, if this install carries one."""
    folder = resources.files("emlml_tools") / PACKAGE_DIR
    return str(folder) if folder.is_dir() else None


def default_folder() -> str:
    """The package's modules, else a checkout's build/natmod; CommandError if neither."""
    for folder in (packaged_folder(), CHECKOUT_DIR):
        if folder and scan(folder):
            return folder
    raise CommandError("this emlml carries no board modules: install a release (a wheel or "
                       "sdist from `make dist`), run `make natmod-all` in an emlml checkout, "
                       "or give a folder with --from DIR")


def families_of(blob_paths: list[str]) -> tuple[str, ...]:
    """The model families a set of blobs needs, in FAMILIES order, then STEPS when one is
    a converted Pipeline (feature steps)."""
    from emlml_tools.files import load_blob

    blobs = [load_blob(p) for p in blob_paths]
    kinds = {b.kind.name.lower() for b in blobs}
    steps = (STEPS,) if any(b.pipeline is not None for b in blobs) else ()
    return tuple(f for f in FAMILIES if f in kinds) + steps


def smallest_covering(candidates: list[NativeModule], families: tuple[str, ...]) -> NativeModule:
    """The smallest module that has every family (and STEPS) asked for."""
    fits = [m for m in candidates if set(families) <= m.provides]
    if not fits:
        raise CommandError(f"no module with {', '.join(families)} for {candidates[0].arch}"
                           if candidates else "no module to choose from")
    return min(fits, key=lambda m: m.size)
