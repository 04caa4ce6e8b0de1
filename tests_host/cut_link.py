"""A link to a board that drops in the middle of `emlml deploy`, for the interrupted-deploy
tests of every board (the folder stand-in, the emulated ESP32)."""

from __future__ import annotations

from emlml_tools.board.transport import Transport


class CutTransport:
    """Forwards to a board until `cut_at` blob bytes were sent, then dies mid-write
    (the bytes before the cut reach the file, as on a real link that drops)."""

    def __init__(self, inner: Transport, cut_at: int) -> None:
        self.inner, self.cut_at, self.sent = inner, cut_at, 0

    def exec(self, code: str) -> str:
        if "f.write(" in code:
            literal = code.split("f.write(", 1)[1].split(")\nf.close()", 1)[0]
            chunk = eval(literal)  # the bytes literal deploy wrote
            if self.sent + len(chunk) > self.cut_at:
                keep = chunk[: self.cut_at - self.sent]
                self.inner.exec(code.replace(repr(chunk), repr(keep)))
                raise ConnectionError("link cut")
            self.sent += len(chunk)
        elif self.sent >= self.cut_at and "SWAPPED" in code:
            raise ConnectionError("link cut before the swap")
        return self.inner.exec(code)

    def put(self, local: str, remote: str, progress=None) -> None:
        self.inner.put(local, remote, progress)
