"""The ``emlml`` command: the table of subcommands, and ``main``.

A command is a handler ``run(args) -> int | None`` and a setup ``setup(parser)`` that adds
its arguments, both named as ``"module:function"`` strings and imported only when the
command runs (so ``emlml inspect`` never imports TensorFlow Lite). Adding a command is one
line in ``_COMMANDS``, e.g.::

    "demo": Command("emlml_tools.demo.command:run", "emlml_tools.demo.command:setup",
                    "train, convert and run the demo models on MicroPython (the unix runtime, "
                    "or a board with --port) and print agreement, size and speed"),
    "romfs": Command("emlml_tools.board.romfs:run", "emlml_tools.board.romfs:setup", "..."),

A handler reports a user error by raising ``CommandError`` (the message says what to do
next); ``main`` prints ``emlml: <message>`` to stderr and returns 1.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Any, Callable, NamedTuple, Sequence

from emlml_tools import __version__
from emlml_tools.errors import CommandError


class Command(NamedTuple):
    handler: str | Callable[[argparse.Namespace], int | None]
    setup: str | Callable[[argparse.ArgumentParser], None]
    help: str


_COMMANDS: dict[str, Command] = {
    "convert": Command("emlml_tools.convert.command:run", "emlml_tools.convert.command:setup",
                       "convert a fitted scikit-learn model (.joblib/.pkl) or a full-int8 "
                       "TensorFlow Lite model (.tflite) into a blob"),
    "inspect": Command("emlml_tools.describe:run", "emlml_tools.describe:setup",
                       "check a blob and describe it"),
    "verify": Command("emlml_tools.verify:run", "emlml_tools.verify:setup",
                      "compare a blob (NumPy reference runtime) with its scikit-learn model "
                      "or its .tflite (TFLite's reference kernels)"),
    "install": Command("emlml_tools.board.install:run", "emlml_tools.board.install:setup",
                       "copy the emlml.mpy that matches the board (by sys.implementation._mpy)"),
    "deploy": Command("emlml_tools.board.deploy:run", "emlml_tools.board.deploy:setup",
                      "copy a model to the board safely: checked there before it replaces "
                      "the old one"),
    "flash": Command("emlml_tools.board.flash:run", "emlml_tools.board.flash:setup",
                     "flash MicroPython firmware with emlml built in (ESP32 .bin over serial, "
                     "RP2040/RP2350 .uf2 to the BOOTSEL drive)"),
    "firmware": Command("emlml_tools.board.firmware:run", "emlml_tools.board.firmware:setup",
                        "build MicroPython firmware with emlml inside (ESP32_GENERIC, "
                        "ESP32_GENERIC_S3, RPI_PICO, RPI_PICO2) from your MicroPython checkout"),
    "demo": Command("emlml_tools.demo.command:run", "emlml_tools.demo.command:setup",
                    "train, convert and run the demo models on MicroPython (the unix runtime, "
                    "or a board with --port) and print agreement, size and speed"),
    "romfs": Command("emlml_tools.board.romfs:run", "emlml_tools.board.romfs:setup",
                     "pack a folder of models into a ROMFS image, every file 4-byte aligned "
                     "(for mpremote romfs deploy)"),
}


def _resolve(ref: str | Callable[..., Any]) -> Callable[..., Any]:
    if callable(ref):
        return ref
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``command``'s arguments are set up (so only its module is imported)."""
    parser = argparse.ArgumentParser(
        prog="emlml", description="emlml host tools: scikit-learn models as blobs for "
        "MicroPython boards")
    parser.add_argument("--version", action="version", version=f"emlml {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, cmd in _COMMANDS.items():
        sub_parser = sub.add_parser(name, help=cmd.help, description=cmd.help)
        if name == command:
            _resolve(cmd.setup)(sub_parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in args_list if not a.startswith("-")), None)
    args = build_parser(command).parse_args(args_list)
    try:
        status = _resolve(_COMMANDS[args.command].handler)(args)
    except CommandError as exc:
        print(f"emlml: {exc}", file=sys.stderr)
        return 1
    return int(status or 0)


if __name__ == "__main__":  # python -m emlml_tools.cli: run the imported module's main
    from emlml_tools.cli import main as _main

    sys.exit(_main())
