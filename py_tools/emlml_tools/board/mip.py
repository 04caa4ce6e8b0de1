"""mip packages for the native module: ``build/natmod/<arch>/package.json`` next to each
``emlml.mpy`` that ``make natmod-all`` built, plus a copy of ``emlml_util.py`` (the Python
side, ``manifest.py``), so that each arch folder is a self-contained package::

    make mip-packages                     # or: python -m emlml_tools.board.mip
    mpremote mip install build/natmod/armv6m/package.json        # from the computer
    mip.install("https://example.org/emlml/armv6m/package.json")  # on a networked board

The ``urls`` are relative (``["emlml.mpy", "emlml.mpy"]``): mip resolves a URL without a
scheme (``http://``, ``https://``, ``github:``, ``gitlab:``, ``codeberg:``) against the folder
of the package.json it fetched: mpremote's ``mip`` since micropython#12477 (merged early
2025, so mpremote 1.25 on; micropython#12476 lets it install from a local package.json) and
the on-device ``mip`` since micropython-lib#975 (February 2025); older ones need absolute
URLs. tests_host/test_board_mip.py installs these packages with the mpremote and the
on-device mip this project pins (mpremote 1.29; the unix runtime's frozen mip). mip cannot
choose the arch by itself (an index package is chosen by the bytecode version
``sys.implementation._mpy & 0xff``, not the native arch), so install the folder whose arch
the board reports in ``sys.implementation._mpy >> 10`` (boards/README.md), or let
``emlml install`` choose.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from typing import Sequence

from emlml_tools import __version__
from emlml_tools.board.modules import MODULE, scan

# Defaults relative to the current folder: an emlml checkout after `make natmod-all`.
NATMOD_DIR = os.path.join("build", "natmod")
UTIL_SOURCE = os.path.join("micropython_module", "python", "emlml_util.py")
UTIL = "emlml_util.py"
PACKAGE_JSON = "package.json"


def package_json(version: str = __version__) -> dict:
    """The package.json of one arch folder: target path on the board -> relative URL."""
    return {
        "urls": [[MODULE, MODULE], [UTIL, UTIL]],
        "deps": [],
        "version": version,
    }


def write_package(arch_dir: str, version: str = __version__,
                  util_source: str = UTIL_SOURCE) -> str:
    """Write ``package.json`` and copy ``emlml_util.py`` into ``arch_dir``; the json's path."""
    if not os.path.isfile(os.path.join(arch_dir, MODULE)):
        raise FileNotFoundError(f"{os.path.join(arch_dir, MODULE)} does not exist")
    shutil.copyfile(util_source, os.path.join(arch_dir, UTIL))
    path = os.path.join(arch_dir, PACKAGE_JSON)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(package_json(version), f, indent=4)
        f.write("\n")
    return path


def generate(natmod_dir: str = NATMOD_DIR, version: str = __version__,
             out: str | None = None, util_source: str = UTIL_SOURCE) -> list[str]:
    """A package for every module of ``natmod_dir`` (``<arch>/emlml.mpy`` and
    ``<arch>/<family>/emlml.mpy``): written beside it, or, with ``out``, into the same
    layout under ``out`` with a copy of the module (a release's mip folder). The
    package.json paths."""
    written = []
    for module in scan(natmod_dir):
        rel = os.path.relpath(os.path.dirname(module.path), natmod_dir)
        dest = os.path.join(out, rel) if out else os.path.dirname(module.path)
        if out:
            os.makedirs(dest, exist_ok=True)
            shutil.copyfile(module.path, os.path.join(dest, MODULE))
        written.append(write_package(dest, version, util_source))
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m emlml_tools.board.mip",
        description="write build/natmod/<arch>/package.json for mip next to each emlml.mpy")
    parser.add_argument("--natmod", default=NATMOD_DIR, metavar="DIR",
                        help="folder with one <arch>/emlml.mpy per arch (default: build/natmod)")
    parser.add_argument("--out", metavar="DIR", help="write the packages (with a copy of each "
                        "module) under DIR instead of beside the modules")
    parser.add_argument("--util", default=UTIL_SOURCE, metavar="FILE",
                        help="emlml_util.py to ship (default: the checkout's)")
    args = parser.parse_args(argv)
    written = generate(args.natmod, out=args.out, util_source=args.util)
    if not written:
        print(f"emlml: no {args.natmod}/<arch>/{MODULE}: build them first (make natmod-all)",
              file=sys.stderr)
        return 1
    for path in written:
        build = os.path.relpath(os.path.dirname(path), args.out or args.natmod)
        print(f"{path}: emlml {__version__} for {build} ({MODULE}, {UTIL})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
