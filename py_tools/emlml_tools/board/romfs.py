"""`emlml romfs DIR -o IMAGE`: a ROMFS image whose files start 4-byte aligned, so that
``emlml.load('/rom/m.bin')`` uses the model in place, straight from flash::

    emlml romfs models/ -o models.romfs           # models/ holds m.bin, ...
    mpremote romfs deploy models.romfs            # mpremote deploys a *.romfs file as is
    mpremote soft-reset                           # /rom is mounted again at start-up

Why: ``emlml.load`` refuses a blob whose first byte is not 4-byte aligned in memory
(docs/FORMAT.md: "blob buffer is not 4-byte aligned"), and a ROMFS file is used where it
lies in flash. ``mpremote romfs build``/``deploy DIR`` (mpremote's ``romfs.py``) writes each
file's data right after its name, so where it starts depends on the name's length: a
``m.bin`` lands 2 bytes past a multiple of 4. The ROMFS partitions themselves start on a
flash sector (rp2: a 4 KiB multiple; esp32: a partition, mapped page-aligned), so aligning
offsets inside the image aligns the addresses.

The format is MicroPython's (extmod/vfs_rom.c, 1.25 on): records of ``kind``, ``length``,
payload, both numbers unsigned base-128 varints, most significant group first. A decoder
reads ``value = value << 7 | (byte & 0x7f)`` while the top bit is set, so leading ``0x80``
bytes add nothing (mpremote's own image header uses one); that is how the data of each file
is moved to the alignment asked for: extra ``0x80`` bytes in front of its data length. The
lengths of the enclosing records are written 4 bytes wide, so the layout is computed in one
pass. Images are made an even number of bytes long, as mpremote's are, with a padding record.

``build_image(tree)`` / ``image_from_directory(path)`` build, ``read_image(data)`` lists the
files with their offsets. For the ``emlml`` command: ``setup(parser)``, ``run(args)``;
``main(argv)`` without it (``python -m emlml_tools.board.romfs``).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Dict, Sequence, Union

from emlml_tools.errors import CommandError

HEADER = b"\xd2\xcd\x31"  # the filesystem record's kind, 0x14a6b1, as a varint
KIND_PADDING = 1
KIND_DATA_VERBATIM = 2
KIND_DIRECTORY = 4
KIND_FILE = 5
LENGTH_WIDTH = 4           # bytes for the length of header, directory and file records
DEFAULT_ALIGN = 4          # emlml blobs: 4-byte aligned (docs/FORMAT.md)

Tree = Dict[str, Union[bytes, "Tree"]]


def encode_uint(value: int, width: int = 0) -> bytes:
    """Base-128 varint, most significant group first; ``width`` pads with leading 0x80."""
    if value < 0:
        raise ValueError("negative length")
    groups = [value & 0x7F]
    value >>= 7
    while value:
        groups.insert(0, 0x80 | (value & 0x7F))
        value >>= 7
    if width:
        if len(groups) > width:
            raise ValueError(f"{groups} does not fit in {width} bytes")
        groups = [0x80] * (width - len(groups)) + groups
    return bytes(groups)


def decode_uint(data: bytes, pos: int) -> tuple[int, int]:
    """(value, position after it), as extmod/vfs_rom.c reads it."""
    value = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, pos


def _name(name: str) -> bytes:
    try:
        raw = name.encode("ascii")
    except UnicodeEncodeError:
        raise ValueError(f"{name!r}: ROMFS names are ASCII here (as mpremote writes them)") from None
    if not raw or b"/" in raw:
        raise ValueError(f"{name!r} is not a file or directory name")
    return raw


def _record(kind: int, payload: bytes) -> bytes:
    return encode_uint(kind) + encode_uint(len(payload), LENGTH_WIDTH) + payload


def _file(name: bytes, data: bytes, pos: int, align: int) -> bytes:
    """The FILE record starting at absolute offset ``pos``, its data on an ``align`` boundary."""
    head = encode_uint(len(name)) + name + encode_uint(KIND_DATA_VERBATIM)
    size = encode_uint(len(data))
    data_at = pos + 1 + LENGTH_WIDTH + len(head) + len(size)
    pad = -data_at % align
    return _record(KIND_FILE, head + b"\x80" * pad + size + data)


def _entries(tree: Tree, pos: int, align: int) -> bytes:
    out = bytearray()
    for name in sorted(tree):
        raw = _name(name)
        at = pos + len(out)
        item = tree[name]
        if isinstance(item, dict):
            head = encode_uint(len(raw)) + raw
            children = _entries(item, at + 1 + LENGTH_WIDTH + len(head), align)
            out += _record(KIND_DIRECTORY, head + children)
        else:
            out += _file(raw, bytes(item), at, align)
    return bytes(out)


def build_image(tree: Tree, align: int = DEFAULT_ALIGN) -> bytes:
    """A ROMFS image of ``tree`` (name -> bytes, or name -> subtree) with aligned file data."""
    if align < 1 or align & (align - 1) or align > 4096:
        raise ValueError(f"alignment {align} is not a power of two up to 4096")
    body = _entries(tree, len(HEADER) + LENGTH_WIDTH, align)
    if (len(HEADER) + LENGTH_WIDTH + len(body)) % 2:
        body += encode_uint(KIND_PADDING) + encode_uint(1) + b"\x00"  # 3 bytes: even length
    return HEADER + encode_uint(len(body), LENGTH_WIDTH) + body


def tree_from_directory(path: str) -> Tree:
    tree: Tree = {}
    for name in sorted(os.listdir(path)):
        full = os.path.join(path, name)
        if os.path.isdir(full):
            tree[name] = tree_from_directory(full)
        elif os.path.isfile(full):
            with open(full, "rb") as f:
                tree[name] = f.read()
    return tree


def image_from_directory(path: str, align: int = DEFAULT_ALIGN) -> bytes:
    return build_image(tree_from_directory(path), align)


def read_image(data: bytes) -> dict[str, tuple[int, int]]:
    """Every file of an image: '/dir/name' -> (offset of its data, size)."""
    if not data.startswith(HEADER):
        raise ValueError("not a ROMFS image (it does not start with d2 cd 31)")
    length, pos = decode_uint(data, len(HEADER))
    if pos + length > len(data):
        raise ValueError("ROMFS image is truncated")
    files: dict[str, tuple[int, int]] = {}
    _read_entries(data, pos, pos + length, "", files)
    return files


def _read_entries(data: bytes, pos: int, end: int, prefix: str,
                  files: dict[str, tuple[int, int]]) -> None:
    while pos < end:
        kind, pos = decode_uint(data, pos)
        length, pos = decode_uint(data, pos)
        payload_end = pos + length
        if kind in (KIND_DIRECTORY, KIND_FILE):
            name_len, p = decode_uint(data, pos)
            name = prefix + "/" + data[p:p + name_len].decode("ascii")
            p += name_len
            if kind == KIND_DIRECTORY:
                _read_entries(data, p, payload_end, name, files)
            else:
                while p < payload_end:
                    sub_kind, p = decode_uint(data, p)
                    sub_len, p = decode_uint(data, p)
                    if sub_kind == KIND_DATA_VERBATIM:
                        files[name] = (p, sub_len)
                    p += sub_len
        pos = payload_end


# ---------------------------------------------------------------------------- CLI


def setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("directory", metavar="DIR", help="folder whose files go into the image "
                   "(they appear under /rom on the board)")
    p.add_argument("-o", "--output", required=True, metavar="IMAGE.romfs",
                   help="image to write (mpremote deploys *.romfs and *.img files as they are)")
    p.add_argument("--align", type=int, default=DEFAULT_ALIGN,
                   help=f"alignment of every file's data in bytes (default {DEFAULT_ALIGN})")


def run(args: argparse.Namespace) -> int:
    if not os.path.isdir(args.directory):
        raise CommandError(f"{args.directory}: no such directory")
    if not args.output.endswith((".romfs", ".img")):
        raise CommandError(f"{args.output}: name it *.romfs (or *.img): `mpremote romfs "
                           "deploy` only takes a file with one of those endings as an image")
    try:
        image = image_from_directory(args.directory, args.align)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    try:
        with open(args.output, "wb") as f:
            f.write(image)
    except OSError as exc:
        raise CommandError(f"{args.output}: cannot write: {exc.strerror or exc}") from None
    files = read_image(image)
    print(f"wrote {args.output}: {len(image)} bytes, {len(files)} files, data {args.align}-byte "
          "aligned")
    for name, (offset, size) in files.items():
        print(f"  /rom{name}: {size} bytes at offset {offset}")
    print(f"deploy: mpremote romfs deploy {args.output} (then reset the board, or "
          "`mpremote soft-reset`, to mount /rom again)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m emlml_tools.board.romfs ...` is `emlml romfs ...`."""
    from emlml_tools.cli import main as emlml_main
    return emlml_main(["romfs", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
