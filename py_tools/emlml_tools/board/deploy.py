"""``emlml deploy``: a model copied to the board safely.

The blob goes to ``<path>.tmp`` in chunks; the board then loads it (which checks its CRC
and every structure), runs a test prediction and compares it with the host's; only then
is the old model renamed to ``<path>.prev`` and the new one to ``<path>``. A transfer cut
at any point leaves the old model in place: load with
``emlml_util.load_first(path, path + '.prev')``, which also covers a cut between the two
renames.
"""

from __future__ import annotations

import argparse

import numpy as np

from emlml_tools import runtime
from emlml_tools.board.transport import BoardError, Transport, transport_for
from emlml_tools.format import INPUT_DTYPES, INPUT_TYPECODES, read_blob
from emlml_tools.progress import Progress

CHUNK = 256  # blob bytes per write on the board (fits any raw-REPL line budget)


def _check_code(tmp: str, x: list[float], typecode: str, expected: int | float) -> str:
    return (
        "import array, emlml, gc\n"
        "gc.collect()\n"
        "free = gc.mem_free()\n"
        "try:\n"
        f" m = emlml.load({tmp!r})\n"
        "except MemoryError:\n"
        " m = None\n"
        " print('NOHEAP', free)\n"
        "if m is not None:\n"
        f" y = m.predict(array.array({typecode!r}, {x!r}))\n"
        f" e = {expected!r}\n"
        " ok = (y == e) if isinstance(e, int) else abs(y - e) <= 1e-6 * max(1.0, abs(e))\n"
        " print('CHECK', 'ok' if ok else 'bad', y)\n")


def _remove_code(path: str) -> str:
    return f"import os\ntry:\n os.remove({path!r})\nexcept OSError:\n pass\n"


def _write_chunks(transport: Transport, tmp: str, blob: bytes, progress) -> None:
    """The blob into tmp, chunk by chunk; a full flash is named and tmp removed."""
    transport.exec(f"f = open({tmp!r}, 'wb')\nf.close()")
    for start in range(0, len(blob), CHUNK):
        chunk = blob[start:start + CHUNK]
        try:
            transport.exec(f"f = open({tmp!r}, 'ab')\nf.write({chunk!r})\nf.close()")
        except BoardError as exc:
            if "ENOSPC" not in str(exc) and "Errno 28" not in str(exc):
                raise
            transport.exec(_remove_code(tmp))
            raise BoardError(f"the board's flash is full after {start} of {len(blob)} bytes of "
                             "the model: remove files (mpremote fs rm :FILE); the old model "
                             "was kept") from None
        if progress:
            progress(min(start + CHUNK, len(blob)), len(blob))


def _swap_code(path: str, tmp: str) -> str:
    prev = path + ".prev"
    return (
        "import os\n"
        "def exists(p):\n"
        " try:\n  os.stat(p)\n  return True\n except OSError:\n  return False\n"
        f"if exists({prev!r}) and exists({path!r}):\n os.remove({prev!r})\n"
        f"if exists({path!r}):\n os.rename({path!r}, {prev!r})\n"
        f"os.rename({tmp!r}, {path!r})\n"
        "print('SWAPPED')\n")


def check_input(blob: bytes) -> tuple[list[float], str, int | float]:
    """An input for the on-board check and the answer the reference runtime gives."""
    model = read_blob(blob)
    dtype = np.dtype(INPUT_DTYPES[model.input_type])
    x = np.ones((1, model.n_inputs), dtype=dtype)
    y = runtime.predict(model, x)[0]
    value: int | float = int(y) if model.is_classifier else float(y)
    typecode = INPUT_TYPECODES[model.input_type]
    return [float(v) if dtype.kind == "f" else int(v) for v in x[0]], typecode, value


def deploy(transport: Transport, blob: bytes, path: str = "model.bin",
           progress=None) -> None:
    """Copy blob to the board as `path`, safely (module docstring)."""
    read_blob(blob)  # refuse a bad blob before touching the board
    tmp = path + ".tmp"
    _write_chunks(transport, tmp, blob, progress)
    x, typecode, expected = check_input(blob)
    out = transport.exec(_check_code(tmp, x, typecode, expected))
    if "NOHEAP" in out:
        free = int(out.split("NOHEAP", 1)[1].split()[0])
        transport.exec(_remove_code(tmp))
        raise BoardError(f"the model does not fit in the board's free heap ({free} B): "
                         f"emlml.load reads its {len(blob)} B and allocates a "
                         f"{read_blob(blob).arena_bytes} B arena; free memory or make the "
                         "model smaller; the old model was kept")
    if "CHECK ok" not in out:
        raise BoardError(f"the new model loaded but its test prediction differs: {out.strip()}"
                         "; the old model was kept")
    transport.exec(_swap_code(path, tmp))


def setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("blob", metavar="BLOB", help="model blob to copy")
    p.add_argument("--port", help="serial port of the board (default: mpremote's auto)")
    p.add_argument("--path", default="model.bin", help="file name on the board")


def run(args: argparse.Namespace) -> int:
    with open(args.blob, "rb") as f:
        blob = f.read()

    deploy(transport_for(args.port), blob, args.path, Progress(f"copying {args.blob}", len(blob)))
    print(f"deployed {args.blob} as :{args.path} (previous model kept as :{args.path}.prev)")
    return 0
