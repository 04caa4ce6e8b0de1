"""Progress of long steps (copies to a board, conversions): one line redrawn on a terminal,
a few plain lines (every 25 %) in a log, so that neither floods."""

from __future__ import annotations

import sys
from typing import TextIO


class Progress:
    """``Progress("copying emlml.mpy", total)(done)``: call with the bytes (or items) done."""

    def __init__(self, label: str, total: int, unit: str = "B", stream: TextIO | None = None):
        self.label, self.total, self.unit = label, max(total, 1), unit
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty()
        self.shown = -1  # the last percentage (terminal) or quarter (log) written

    def __call__(self, done: int, _total: int | None = None) -> None:
        percent = min(100, 100 * done // self.total)
        step = percent if self.tty else percent // 25
        if step == self.shown:
            return
        self.shown = step
        text = f"{self.label}: {done}/{self.total} {self.unit} ({percent} %)"
        if self.tty:
            self.stream.write("\r" + text + ("\n" if percent == 100 else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
