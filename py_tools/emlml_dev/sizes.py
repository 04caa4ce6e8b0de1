"""Size table of the cross-built native module: one row per arch.

Reads what ``make natmod-all`` (and, when present, ``make esp32-check``) left in the
build folder and prints a Markdown table; ``--out`` also writes it to a file::

    python -m emlml_dev.sizes --build build --out build/sizes.md   (PYTHONPATH=py_tools)

Text bytes are the ``text`` column of binutils' ``size`` (code plus read-only data such
as the error messages) of each object as compiled, before the link drops unused
functions. ``linked`` is the same for the partially linked object that mpy_ld turns
into the .mpy: what is kept, plus the libgcc helpers (soft float, division).

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
ARMV6M_LIMIT = 24 * 1024
XTENSAWIN_LIMIT = 32 * 1024


def text_bytes(tool: str, objs: list[Path]) -> int | None:
    """Sum of the berkeley ``text`` column of ``tool`` over ``objs``; None if it cannot run."""
    if not objs or shutil.which(tool) is None:
        return None
    out = subprocess.run([tool, *map(str, objs)], check=True, capture_output=True, text=True).stdout
    return sum(int(line.split()[0]) for line in out.splitlines()[1:] if line.strip())


def core_objects(obj_dir: Path) -> list[Path]:
    return sorted(p for p in obj_dir.rglob("*.o") if p.name not in (BINDING_OBJ, PARTIAL_OBJ))


def arch_row(build: Path, arch: str) -> list[str] | None:
    tool, what = ARCHS[arch]
    mpy = build / "natmod" / arch / "emlml.mpy"
    obj_dir = build / "natmod" / arch / "obj"
    if not mpy.exists():
        if arch != "xtensawin":
            return None
        row = [arch, what, "not built (no xtensa-esp32-elf-gcc)"]
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
    show = lambda n: "-" if n is None else str(n)  # noqa: E731
    return [arch, what, str(mpy.stat().st_size), show(core), show(binding), show(linked)]


def table(build: Path) -> str:
    head = ["arch", "for", ".mpy B", "core text B", "binding text B", "linked text B"]
    rows = [r for r in (arch_row(build, a) for a in ARCHS) if r is not None]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    v6 = build / "natmod" / "armv6m" / "emlml.mpy"
    if v6.exists():
        size = v6.stat().st_size
        verdict = "under" if size < ARMV6M_LIMIT else "OVER"
        lines.append("")
        lines.append(f"armv6m .mpy: {size} B, {verdict} the {ARMV6M_LIMIT} B (24 KB) budget.")
    xt = build / "natmod" / "xtensawin" / "emlml.mpy"
    if xt.exists():
        size = xt.stat().st_size
        verdict = "under" if size < XTENSAWIN_LIMIT else "OVER"
        lines.append(f"xtensawin .mpy: {size} B, {verdict} the {XTENSAWIN_LIMIT} B (32 KB) limit.")
    lines.append("")
    lines.append("core: core/, trees/, knn/, cnn/ objects; binding: emlml_natmod.o (modemlml.c and the "
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
