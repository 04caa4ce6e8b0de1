"""The native modules `make natmod-all` builds, as emlml_dev.sizes reads them: for every
arch the module of every family and one module of each family alone (what a release
ships), each single-family module within its arch's budget (docs/sizes.md), and the
table that reports them all."""

from __future__ import annotations

from pathlib import Path

import pytest
from emlml_dev import sizes
from runtimes import BUILD

ARCHS = list(sizes.ARCHS)  # x64, armv6m, armv7m, armv7emsp, xtensawin
NATMOD = Path(BUILD) / "natmod"


def mpy(arch: str, family: str | None = None) -> Path:
    path = NATMOD / arch / (family or "") / "emlml.mpy"
    if not path.is_file():
        pytest.fail(f"{path} is missing: run `make natmod-all`, which builds it")
    return path


@pytest.mark.parametrize("arch", ARCHS)
def test_natmod_all_built_every_module(arch):
    """A .mpy per family for the same arch as the full one (the header's arch byte), each
    smaller than the module of every family."""
    full = mpy(arch).read_bytes()
    assert full[:2] == b"M\x06"  # a .mpy of MicroPython 1.23's format 6
    for family in sizes.FAMILIES:
        alone = mpy(arch, family).read_bytes()
        assert alone[:3] == full[:3], (arch, family)
        assert len(alone) < len(full), (arch, family)


def test_single_family_modules_are_within_budget():
    for arch in sizes.BUDGETS:
        for family in sizes.FAMILIES:
            mpy(arch, family)
    assert sizes.over_budget(NATMOD.parent) == []


def test_table_reports_every_module():
    text = sizes.table(NATMOD.parent)
    head = text.splitlines()[0]
    assert "every family .mpy B" in head and all(f"{f} .mpy B" in head for f in sizes.FAMILIES)
    for arch in ARCHS:
        row = next(line for line in text.splitlines() if line.startswith(f"| {arch} |"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        numbers = [cells[2]] + cells[3:3 + len(sizes.FAMILIES)]
        want = [str(mpy(arch).stat().st_size)] + [str(mpy(arch, f).stat().st_size) for f in sizes.FAMILIES]
        assert numbers == want, row
    assert "armv6m, one family per module: trees " in text and "(24 KB) budget." in text
    assert "xtensawin, one family per module: trees " in text and "(32 KB) budget." in text
    assert "Every family in one module (no budget" in text
