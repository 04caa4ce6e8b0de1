"""Size table of the cross-built native modules: one row per arch with the .mpy of every
family and of each family alone, then the budgets.

Reads what ``make natmod-all`` (and, when present, ``make esp32-check``) left in the
build folder and prints a Markdown table; ``--out`` also writes it to a file::

    python -m emlml_dev.sizes --build build --out build/sizes.md   (PYTHONPATH=py_tools)

The budgets are for one family: a board whose models are of one family loads that
family's module (build/natmod/<arch>/<family>/emlml.mpy), at most 24 KB on armv6m and
32 KB on xtensawin. The module of every family (build/natmod/<arch>/emlml.mpy) has no
budget: it is for boards that need several families and have the room.

Text bytes (of the module of every family) are the ``text`` column of binutils' ``size``
(code plus read-only data such as the error messages) of each object as compiled, before
the link drops unused functions. ``linked`` is the same for the partially linked object
that mpy_ld turns into the .mpy: what is kept, plus the libgcc helpers (soft float,
division).

Standard library only, so that it runs before the virtual environment exists. For the
``emlml`` command: ``setup(parser)`` and ``run(args)``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from emlml_dev import tool_main

# arch -> (size tool, what the arch is for)
ARCHS = {
    "x64": ("size", "unix port, x86-64"),
    "armv6m": ("arm-none-eabi-size", "Cortex-M0+: RP2040"),
    "armv7m": ("arm-none-eabi-size", "Cortex-M3"),
    "armv7emsp": ("arm-none-eabi-size", "Cortex-M4F/M33: RP2350, STM32F4"),
    "xtensawin": ("xtensa-esp32-elf-size", "ESP32"),
}
BINDING_OBJ = "emlml_natmod.o"      # the binding (modemlml.c) and the native-module glue
PARTIAL_OBJ = "emlml.partial.o"     # objects + libgcc, before mpy_ld
ESP32_LLVM_SIZE = "llvm-size-22"
FAMILIES = ("trees", "knn", "cnn")  # build/natmod/<arch>/<family>/emlml.mpy
# The most one family's module may take, by arch.
BUDGETS = {"armv6m": 24 * 1024, "xtensawin": 32 * 1024}


def text_bytes(tool: str, objs: list[Path]) -> int | None:
    """Sum of the berkeley ``text`` column of ``tool`` over ``objs``; None if it cannot run."""
    if not objs or shutil.which(tool) is None:
        return None
    out = subprocess.run([tool, *map(str, objs)], check=True, capture_output=True, text=True).stdout
    return sum(int(line.split()[0]) for line in out.splitlines()[1:] if line.strip())


def core_objects(obj_dir: Path) -> list[Path]:
    return sorted(p for p in obj_dir.rglob("*.o") if p.name not in (BINDING_OBJ, PARTIAL_OBJ))


def mpy_bytes(build: Path, arch: str, family: str | None = None) -> int | None:
    """Bytes of the module of every family (family None) or of one family; None if not built."""
    mpy = build / "natmod" / arch / (family or "") / "emlml.mpy"
    return mpy.stat().st_size if mpy.exists() else None


def show(n: int | None) -> str:
    return "-" if n is None else str(n)


def arch_row(build: Path, arch: str) -> list[str] | None:
    tool, what = ARCHS[arch]
    mpy = build / "natmod" / arch / "emlml.mpy"
    obj_dir = build / "natmod" / arch / "obj"
    families = [show(mpy_bytes(build, arch, f)) for f in FAMILIES]
    if not mpy.exists():
        if arch != "xtensawin":
            return None
        row = [arch, what, "not built (no xtensa-esp32-elf-gcc)", *families]
        esp = sorted((build / "esp32-check").glob("*.o"))
        core = text_bytes(ESP32_LLVM_SIZE, esp)
        soft = sorted(p.stem for p in (build / "esp32-check").glob("*.softfp"))
        note = "LLVM 22 compile check" + (f"; soft float: {', '.join(soft)}" if soft else "")
        row += [f"{core} ({note})" if core is not None else "- (run make esp32-check)", "-", "-"]
        return row
    if arch == "xtensawin" and shutil.which(tool) is None:
        tool = ESP32_LLVM_SIZE  # built with LLVM 22 (no Espressif gcc): LLVM's size reads it
    core = text_bytes(tool, core_objects(obj_dir))
    binding = text_bytes(tool, [obj_dir / BINDING_OBJ])
    partial = obj_dir / PARTIAL_OBJ
    linked = text_bytes(tool, [partial]) if partial.exists() else None
    return [arch, what, str(mpy.stat().st_size), *families, show(core), show(binding), show(linked)]


def over_budget(build: Path) -> list[str]:
    """The single-family modules above their arch's budget, as 'arch/family'."""
    return [f"{arch}/{f}" for arch, limit in BUDGETS.items() for f in FAMILIES
            if (mpy_bytes(build, arch, f) or 0) > limit]


def budget_lines(build: Path) -> list[str]:
    """Each single-family module against its arch's budget; then, for the record, the
    module of every family, which has none."""
    lines = []
    for arch, limit in BUDGETS.items():
        sizes = {f: mpy_bytes(build, arch, f) for f in FAMILIES if mpy_bytes(build, arch, f) is not None}
        if sizes:
            each = ", ".join(f"{f} {n} B ({'under' if n <= limit else 'OVER'})" for f, n in sizes.items())
            lines.append(f"{arch}, one family per module: {each} the {limit} B ({limit // 1024} KB) budget.")
    full = [f"{arch} {n} B" for arch in BUDGETS if (n := mpy_bytes(build, arch)) is not None]
    if full:
        lines.append(f"Every family in one module (no budget: for boards that need several): {', '.join(full)}.")
    return lines


def table(build: Path) -> str:
    head = ["arch", "for", "every family .mpy B", *(f"{f} .mpy B" for f in FAMILIES),
            "core text B", "binding text B", "linked text B"]
    rows = [r for r in (arch_row(build, a) for a in ARCHS) if r is not None]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    lines.append("")
    lines += budget_lines(build)
    lines.append("")
    lines.append("<family> .mpy: the module of that family alone (build/natmod/<arch>/<family>/); "
                 "the text columns are of the module of every family. core: core/, trees/, knn/, "
                 "cnn/ objects; binding: emlml_natmod.o (modemlml.c and the "
                 "native-module glue); linked: after the partial link with libgcc (unused "
                 "functions dropped, soft-float and division helpers added). Text is code plus "
                 "read-only data, as `size` reports it.")
    return "\n".join(lines) + "\n"


def setup(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--build", type=Path, default=Path("build"), help="the build folder (default: build)")
    parser.add_argument("--out", type=Path, help="also write the table to this file (Markdown)")


def run(args: argparse.Namespace) -> int:
    text = table(args.build)
    print(text, end="")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
        print(f"written to {args.out}")
    if not (args.build / "natmod").is_dir():
        print("nothing built yet: run 'make natmod-all'", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    return tool_main("python -m emlml_dev.sizes", __doc__.splitlines()[0], setup, run, argv)


if __name__ == "__main__":
    sys.exit(main())
