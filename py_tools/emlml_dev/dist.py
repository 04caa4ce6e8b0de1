"""`make dist`: the release. A wheel and an sdist of the product that carry every board
module, and the same modules as a mip folder to host.

    PYTHONPATH=py_tools python -m emlml_dev.dist --out dist     (after make natmod-all)

The source tree never holds built files: the product is staged in build/dist-src, the
modules of build/natmod go into its ``emlml_tools/mpy`` in the mip layout (per build a
folder with emlml.mpy, emlml_util.py and package.json; see emlml_tools.board.mip), and
PyPI's ``build`` makes the sdist and, from it, the wheel (so the sdist is known to carry
what the wheel needs). Writes::

    dist/emlml-VERSION.tar.gz, dist/emlml-VERSION-py3-none-any.whl
    dist/mip/<arch>/package.json, dist/mip/<arch>/<family>/package.json, ...
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import zipfile

from emlml_tools import __version__
from emlml_tools.board import mip
from emlml_tools.board.modules import FAMILIES, scan
from emlml_tools.errors import CommandError

from emlml_dev import markdown_table, tool_main
from emlml_dev.paths import BUILD, NATMOD_DIR, ROOT, UTIL_SOURCE

ARCHS = ("x64", "armv6m", "armv7m", "armv7emsp", "xtensawin")  # every release carries these
STAGE = os.path.join(BUILD, "dist-src")
TOP_FILES = ("pyproject.toml", "README.md")


def check_modules(natmod: str) -> None:
    """Every arch's module of every family, and one per family, is built."""
    have = {(m.arch, m.families) for m in scan(natmod)}
    wanted = [(a, f) for a in ARCHS for f in (FAMILIES, *((one,) for one in FAMILIES))]
    missing = [f"{a}/{'+'.join(f)}" for a, f in wanted if (a, f) not in have]
    if missing:
        raise CommandError(f"{natmod} lacks the modules {', '.join(missing)}: "
                           "run make natmod-all first")


def stage(natmod: str, into: str = STAGE) -> str:
    """A copy of the product's sources with the modules in emlml_tools/mpy."""
    shutil.rmtree(into, ignore_errors=True)
    os.makedirs(into)
    for name in TOP_FILES:
        shutil.copy(os.path.join(ROOT, name), into)
    shutil.copytree(os.path.join(ROOT, "py_tools", "emlml_tools"),
                    os.path.join(into, "py_tools", "emlml_tools"),
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "mpy"))
    mip.generate(natmod, out=os.path.join(into, "py_tools", "emlml_tools", "mpy"),
                 util_source=UTIL_SOURCE)
    return into


def build(source: str, out: str) -> list[str]:
    """The sdist, then the wheel from it (PyPI's build, with the pinned setuptools)."""
    before = set(os.listdir(out)) if os.path.isdir(out) else set()
    print(f"== building the sdist and the wheel of emlml {__version__}", flush=True)
    result = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", out,
                             source], capture_output=True, text=True)
    if result.returncode != 0:
        raise CommandError("python -m build failed:\n" + (result.stdout + result.stderr)[-3000:])
    made = sorted(set(os.listdir(out)) - before) or sorted(
        f for f in os.listdir(out) if f.startswith(f"emlml-{__version__}"))
    return [os.path.join(out, f) for f in made if f.endswith((".whl", ".tar.gz"))]


def wheel_modules(wheel: str) -> list[str]:
    return sorted(n for n in zipfile.ZipFile(wheel).namelist() if n.endswith(".mpy"))


def setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("--natmod", default=NATMOD_DIR, help="the built modules (build/natmod)")
    p.add_argument("--out", default=os.path.join(ROOT, "dist"), help="output folder (dist)")


def run(args: argparse.Namespace) -> int:
    check_modules(args.natmod)
    os.makedirs(args.out, exist_ok=True)
    for old in os.listdir(args.out):  # one release in the folder
        if old.startswith("emlml-") and old.endswith((".whl", ".tar.gz")):
            os.remove(os.path.join(args.out, old))
    source = stage(args.natmod)
    made = build(source, args.out)
    mip_out = os.path.join(args.out, "mip")
    shutil.rmtree(mip_out, ignore_errors=True)
    shutil.copytree(os.path.join(source, "py_tools", "emlml_tools", "mpy"), mip_out)
    rows = [[m.arch, ", ".join(m.families), str(m.size), os.path.relpath(m.path, mip_out)]
            for m in scan(mip_out)]
    print(markdown_table(["arch", "families", "bytes", "module"], rows))
    for path in made:
        print(f"written: {os.path.relpath(path)} ({os.path.getsize(path)} B)")
    print(f"written: {os.path.relpath(mip_out)}/<build>/package.json "
          "(mpremote mip install dist/mip/<arch>/package.json)")
    wheel = next(p for p in made if p.endswith(".whl"))
    if len(wheel_modules(wheel)) != len(rows):
        raise CommandError(f"{wheel} holds {len(wheel_modules(wheel))} modules, not {len(rows)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return tool_main("make dist", __doc__.splitlines()[0], setup, run, argv)


if __name__ == "__main__":
    sys.exit(main())
