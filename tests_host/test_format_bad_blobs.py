"""The Python reader on the one table of bad blobs (py_tools/emlml_dev/bad_blobs.py):
every case is refused by ``read_blob`` with a ``BlobError`` (a ``ValueError``) that
carries the C loader's status and says the C loader's words. test_core_bad_blobs.py holds
the C loader to the same table."""

from __future__ import annotations

import collections

import pytest
from emlml_dev.bad_blobs import BAD_BLOBS, base_blob
from emlml_tools.format import BlobError, read_blob
from emlml_tools.format.c_format import error_format, status_number
from emlml_tools.format.c_tables import STATUS

# The messages emlml.load raises on a board are cut to 111 characters (modemlml.c).
DEVICE_MESSAGE_MAX = 111


@pytest.mark.parametrize("case", BAD_BLOBS, ids=[c.name for c in BAD_BLOBS])
def test_python_reader_refuses_with_the_c_status_and_words(case) -> None:
    with pytest.raises(BlobError) as info:
        read_blob(case.blob())
    error = info.value
    assert isinstance(error, ValueError)
    assert (error.status, str(error)) == (case.status, case.expected())
    assert error.code == status_number(case.status)
    assert str(error) == error_format(error.code, *error.numbers)


def test_the_bases_are_valid() -> None:
    for base in sorted({case.base for case in BAD_BLOBS}):
        read_blob(base_blob(base))


def test_cases_are_distinct() -> None:
    """No two cases make the same blob from the same base (exact duplicates)."""
    seen: dict[tuple[str, bytes], str] = {}
    for case in BAD_BLOBS:
        key = (case.base, case.blob())
        assert key not in seen, (case.name, seen.get(key))
        seen[key] = case.name


def test_every_load_status_has_a_case() -> None:
    """Every status the loader can give is met by some case, but the unaligned buffer (a
    bytes object is aligned: tests_device/test_bad_blobs.py has that one), the family a
    build lacks, the feature steps the CNN-only build lacks and the sound steps the
    one-family builds lack (the Python reader has
    every family and the steps: the single-family C builds give them on the table's
    cases, test_core_bad_blobs.py, and the .mpy, test_device_families.py)
    and, not load statuses, OK and predict's input checks (the feature steps' are met in
    test_convert_pipeline.py and test_core_pipeline.py)."""
    covered = {case.status for case in BAD_BLOBS}
    not_here = {"EMLML_OK", "EMLML_E_BUFFER_ALIGN", "EMLML_E_NO_FAMILY", "EMLML_E_NO_FEATURES",
                "EMLML_E_STEP_NO_SOUND",
                "EMLML_E_INPUT_NONFINITE",
                "EMLML_E_INPUT_INFINITE", "EMLML_E_STEP_NAN", "EMLML_E_STEP_INFINITE",
                "EMLML_E_STEP_OVERFLOW"}
    assert {name for name, _ in STATUS} - not_here == covered


def test_every_family_has_cases() -> None:
    counts = collections.Counter(case.family for case in BAD_BLOBS)
    assert set(counts) == {"header", "trees", "kNN", "CNN"} and min(counts.values()) >= 20, counts


def test_device_cases_fit_the_board_message() -> None:
    device = [case for case in BAD_BLOBS if case.device]
    assert len(device) >= 49
    for case in device:
        assert len(case.expected()) <= DEVICE_MESSAGE_MAX and "\t" not in case.expected(), case.name
        assert len(case.blob()) <= 8192, case.name  # small: the boards get a copy of each
