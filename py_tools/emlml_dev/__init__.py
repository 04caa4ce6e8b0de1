"""The tools that build, test, measure and demonstrate emlml from its checkout: the demo,
the benchmarks, CNN training, the emulated boards, and the generators of test data and
random networks. Not installed, and never imported by the product (``emlml_tools``)."""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

from emlml_tools.errors import CommandError


def tool_main(prog: str, description: str, setup: Callable[[argparse.ArgumentParser], None],
              run: Callable[[argparse.Namespace], int | None],
              argv: Sequence[str] | None = None) -> int:
    """``python -m emlml_dev.X``: parse, run, and print a ``CommandError`` as one line."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    setup(parser)
    try:
        return int(run(parser.parse_args(argv)) or 0)
    except CommandError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 1


def markdown_table(head: list[str], rows: list[list[str]]) -> str:
    """A Markdown table with its columns padded to their widest cell (the benchmarks'
    printed and documented tables)."""
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    fmt = "| " + " | ".join(f"{{:{w}}}" for w in widths) + " |"
    lines = [fmt.format(*head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    return "\n".join(lines + [fmt.format(*r) for r in rows])
