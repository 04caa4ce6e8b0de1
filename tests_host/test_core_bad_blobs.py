"""The C loader on the one table of bad blobs (py_tools/emlml_dev/bad_blobs.py): the
sanitized host driver (tests_host/c/emlml_run.c, gcc and clang builds with ASan and UBSan)
refuses every case with the case's status and message, and with the very status and
numbers of the Python reader's ``BlobError``: both loaders stop at the same first
failure and say the same words (test_format_bad_blobs.py holds the Python side to the
table)."""

from __future__ import annotations

import os

import pytest
from emlml_dev.bad_blobs import BAD_BLOBS
from emlml_tools.format import BlobError, read_blob
from emlml_tools.format.c_format import status_number
from runtimes import BUILD, run_driver

DRIVERS = [os.path.join(BUILD, "host", name) for name in ("emlml_run", "emlml_run_clang")]


def c_refusal(driver: str, blob: bytes, tmp_path) -> tuple[int, str, tuple[int, ...], str]:
    """(status number, status name, numbers a..d, message) the driver prints."""
    result = run_driver(driver, blob, None, tmp_path)
    assert result.returncode == 3 and result.stderr == "", result.stdout + result.stderr
    line = result.stdout.rstrip("\n")
    assert "\n" not in line and line.startswith("load-error "), line
    _, number, name, a, b, c, d, message = line.split(" ", 7)
    return int(number), name, (int(a), int(b), int(c), int(d)), message


@pytest.mark.parametrize("driver", DRIVERS, ids=["gcc", "clang"])
@pytest.mark.parametrize("case", BAD_BLOBS, ids=[c.name for c in BAD_BLOBS])
def test_c_loader_refuses_as_the_python_reader(case, driver, tmp_path) -> None:
    blob = case.blob()
    number, name, numbers, message = c_refusal(driver, blob, tmp_path)
    assert (name, message) == (case.status, case.expected())
    assert number == status_number(name)
    with pytest.raises(BlobError) as info:
        read_blob(blob)
    assert (info.value.code, info.value.numbers) == (number, numbers)
