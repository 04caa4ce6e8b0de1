"""The C headers are the one source of the core's facts: py_tools' generated
format/c_tables.py must be up to date with them, and the Python port of the message
formatter (format/c_format.py) must print what the C formatter prints, byte for byte."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from emlml_tools.format import c_tables
from emlml_tools.format.c_format import emlml_format, error_format, where_layer
from runtimes import BUILD, ROOT, SAN_ENV, require_built

GENERATOR = os.path.join(ROOT, "py_tools", "emlml_dev", "gen_c_tables.py")
DUMP = os.path.join(BUILD, "host", "emlml_format_dump")  # tests_host/c/emlml_format_dump.c

# Argument sets (a, b, c, d): zeros, small numbers, the uint32 edges, %L arguments for
# known and unknown ops, %N beyond the names, %c of letters, control chars and 0.
ARG_SETS = [
    (0, 0, 0, 0),
    (1, 2, 3, 4),
    (48, 0xFFFFFFFF, 0x80000000, 7),
    (0xFFFFFFFF, 0x7FFFFFFF, 0x80000001, 0xFFFFFF80),
    (where_layer(5, 1), 104, 512, 72),
    (where_layer(65535, 10), 29, 30, 0x68),
    (where_layer(3, 11), 0x0A, 0x5C, 0xFF),
    (where_layer(0, 0xFFFF), 65536, 8392704, 0x77),
]
SIZES = [None, 0, 1, 2, 9, 33]


def c_messages(*args: str) -> list[str]:
    """The C formatter's lines, the driver's \\xHH escapes undone."""
    result = subprocess.run([require_built(DUMP), *args], capture_output=True, text=True,
                            env=SAN_ENV, timeout=60, check=True)
    unescape = lambda line: re.sub(r"\\x([0-9a-f]{2})", lambda m: chr(int(m.group(1), 16)), line)
    return [unescape(line) for line in result.stdout.split("\n")[:-1]]


def size_args(size: int | None) -> list[str]:
    return [] if size is None else ["-n", str(size)]


def test_generated_tables_are_up_to_date():
    result = subprocess.run([sys.executable, GENERATOR, "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_tables_read_the_headers():
    assert c_tables.STATUS[0] == ("EMLML_OK", "ok")
    assert [n for _, n in c_tables.CNN_OPS] == list(range(1, len(c_tables.CNN_OPS) + 1))
    assert c_tables.MAGIC == b"EMLB" and c_tables.HEADER_SIZE == 48
    assert c_tables.CNN_MAX_MEAN_CELLS == 1 << c_tables.CNN_MEAN_CELLS_LOG2
    assert dict(c_tables.LIMITS)["CNN_MAX_PRODUCTS"] == c_tables.CNN_MAX_PRODUCTS


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("args", ARG_SETS)
def test_every_status_message_matches_c(args, size):
    c = c_messages(*size_args(size), *map(str, args))
    assert len(c) == len(c_tables.STATUS) + 1  # the last: a status beyond the list
    python = [error_format(number, *args, size=size) for number in range(len(c_tables.STATUS) + 1)]
    for number, (c_text, py_text) in enumerate(zip(c, python)):
        assert py_text == c_text, f"status {number}"


# Templates beyond the statuses: '%' at the end, unknown conversions, %% next to
# conversions, a fifth conversion, every limit place and those past the list.
TEMPLATES = ["", "%", "a%", "%%", "%%%u", "%z%u%", "%u%u%u%u%u", "%d%c%L%N", "%0%1%2%3%4%5%6%7%8%9",
             "%A%B%C%D%E%F%G", "%a%l%n", "emlml: no memory for %u bytes",
             "this model takes array('%c') or a list, not typecode '%c'"]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("template", TEMPLATES)
def test_templates_match_c(template, size):
    for args in ARG_SETS:
        [c_text] = c_messages(*size_args(size), "-f", template, *map(str, args))
        assert emlml_format(template, *args, size=size) == c_text, (template, args)


def test_messages_state_the_configured_limits():
    assert error_format("EMLML_E_SHORT", 3) == "truncated: 3 bytes, the header alone needs 48"
    assert error_format("EMLML_E_CNN_MEAN_CELLS", where_layer(1, 6), 8392704) == \
        "layer 1 (MEAN): mean over 8392704 cells, above 2^23"
    assert error_format("EMLML_E_CNN_COUNTS", 1, 0) == "CNN: 1 tensors, 0 layers (2..512, 1..512)"


def test_the_missing_family_is_named():
    """EMLML_E_NO_FAMILY names a family by %N: the names follow the kinds' order."""
    first = c_tables.FIELD_NAMES.index("trees")
    assert c_tables.FIELD_NAMES[first:first + 3] == ("trees", "kNN", "CNN")
    assert error_format("EMLML_E_NO_FAMILY", first + 2, 3) == \
        "this emlml build has no CNN support: install one that has (emlml install --for MODEL)"
