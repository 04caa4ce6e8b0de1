"""The C loader on the one table of bad blobs (py_tools/emlml_dev/bad_blobs.py): the
sanitized host driver (tests_host/c/emlml_run.c, gcc and clang builds with ASan and UBSan)
refuses every case with the case's status and message, and with the very status and
numbers of the Python reader's ``BlobError``: both loaders stop at the same first
failure and say the same words (test_format_bad_blobs.py holds the Python side to the
table).

The gcc builds of one family alone (emlml_run_<family>) say the same, but of a blob of a
family they lack that passes the header checks: EMLML_E_NO_FAMILY (``refusal`` in
bad_blobs.py), the one status no case of the table gets from a build of every family."""

from __future__ import annotations

import collections
import os

import numpy as np
import pytest
from emlml_dev.bad_blobs import BAD_BLOBS, FAMILY_FOLDERS, HEADER_STATUSES, base_blob, refusal
from emlml_tools.format import BlobError, read_blob
from emlml_tools.format.c_format import status_number
from runtimes import BUILD, run_driver

DRIVERS = [os.path.join(BUILD, "host", name) for name in ("emlml_run", "emlml_run_clang")]
FAMILIES = sorted(FAMILY_FOLDERS.values())


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


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("case", BAD_BLOBS, ids=[c.name for c in BAD_BLOBS])
def test_one_family_loader_refuses_in_the_same_order(case, family, tmp_path) -> None:
    blob = case.blob()
    number, name, numbers, message = c_refusal(os.path.join(BUILD, "host", "emlml_run_" + family),
                                               blob, tmp_path)
    assert (name, numbers, message) == refusal(blob, [family])
    assert number == status_number(name)


@pytest.mark.parametrize("family", FAMILIES)
def test_one_family_cases_meet_both_rules(family) -> None:
    """The table gives each single-family build both kinds of case: header errors it must
    report before it looks at the family, and blobs of the families it lacks."""
    said = collections.Counter(refusal(case.blob(), [family])[0] for case in BAD_BLOBS)
    assert said["EMLML_E_NO_FAMILY"] >= 50, said
    assert sum(said[s] for s in HEADER_STATUSES) >= 30, said
    assert sum(n for s, n in said.items() if s not in HEADER_STATUSES | {"EMLML_E_NO_FAMILY"}) >= 20, said


def test_one_family_builds_refuse_the_sound_steps() -> None:
    """The kNN build (no MFE/MFCC: EMLML_WITH_SOUND 0) meets EMLML_E_STEP_NO_SOUND on the
    sound cases that pass the checks before the op (test_one_family_loader_refuses_in_the_same_order
    compares its words with the C build's)."""
    said = collections.Counter(refusal(case.blob(), ["knn"])[0] for case in BAD_BLOBS
                               if case.base in ("pipe_mfe", "pipe_mfcc"))
    assert said["EMLML_E_STEP_NO_SOUND"] >= 25, said
    assert refusal(base_blob("pipe_mfcc"), ["knn"])[2] == \
        "step 0 (MFCC) is not in this build: load the module of every family"
    assert refusal(base_blob("pipe_mfcc"), ["trees", "knn", "cnn"]) is None


def header_errors_of_every_family() -> list[tuple[str, bytes]]:
    """The table's header cases, whose bases are tree blobs, with the same edit made to the
    kNN and CNN bases too (where it still gives a header error): so that every
    single-family build meets header errors in blobs of a family it lacks."""
    out = []
    for case in BAD_BLOBS:
        if case.status not in HEADER_STATUSES:
            continue
        out.append((case.name, case.blob()))
        for base in ("knn", "cnn"):
            try:
                blob = case.edit(base_blob(base))
            except ValueError:  # an edit the base cannot take (cut beyond its end)
                continue
            said = refusal(blob, FAMILIES)
            if said is not None and said[0] in HEADER_STATUSES:
                out.append((f"{case.name}@{base}", blob))
    return out


HEADER_ERRORS = header_errors_of_every_family()


@pytest.mark.parametrize("family", FAMILIES)
def test_one_family_loader_reports_header_errors_first(family, tmp_path) -> None:
    """A corrupt blob of a family the build lacks gets its own error, not the family's."""
    assert len(HEADER_ERRORS) >= 120 and len({refusal(b, FAMILIES)[0] for _, b in HEADER_ERRORS}) == 15
    for name, blob in HEADER_ERRORS:
        _, status, numbers, message = c_refusal(os.path.join(BUILD, "host", "emlml_run_" + family),
                                                 blob, tmp_path)
        assert (status, numbers, message) == refusal(blob, FAMILIES), name


@pytest.mark.parametrize("driver", ["emlml_run_cnn", "emlml_run_cnn_clang"])
def test_cnn_only_build_refuses_feature_steps(driver, tmp_path) -> None:
    """The CNN-only build has no feature steps (as the armv6m CNN module): a CNN
    Pipeline's blob, valid or any of the table's pipe_cnn cases, is refused by what the
    build lacks, naming what to install; the build of every family runs the valid one."""
    blobs = [base_blob("pipe_cnn")] + [c.blob() for c in BAD_BLOBS if c.base == "pipe_cnn"]
    assert len(blobs) >= 5
    for blob in blobs:
        _, name, numbers, message = c_refusal(os.path.join(BUILD, "host", driver), blob, tmp_path)
        assert (name, numbers) == ("EMLML_E_NO_FEATURES", (56, 0, 0, 0))
        assert message == ("this module was built without feature steps: install the module "
                           "of every family (emlml install --for MODEL)")
    window = np.arange(6, dtype=np.float32)
    result = run_driver(DRIVERS[0], blobs[0], window.tobytes(), tmp_path)
    assert result.stdout.startswith("ok ") and result.stderr == "", result.stdout + result.stderr
