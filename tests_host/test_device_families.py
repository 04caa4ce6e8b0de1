"""The x64 native modules of one family alone (build/natmod/x64/<family>/emlml.mpy) on the
real MicroPython unix runtime, against the module of every family
(build/natmod/x64/emlml.mpy): tests_device/family_report.py prints what a module says of
every blob of the device data (every zoo model on its test inputs, every CNN on int8 and
float inputs, the bad blobs and the good bases). A single-family module must say exactly
what the full one says of the blobs of its family, and of every blob that fails the
header checks; of any other blob it must raise ValueError with the EMLML_E_NO_FAMILY
message, the CNN module (built without feature steps) of a CNN behind steps with the
EMLML_E_NO_FEATURES one (bad_blobs.refusal says which and with what words), and of a
blob with the sound steps (MFE, MFCC: the module of every family only)
EMLML_E_STEP_NO_SOUND."""

from __future__ import annotations

import collections
import os

import pytest
from emlml_dev.bad_blobs import FAMILY_FOLDERS, refusal
from emlml_tools.format import read_blob
from runtimes import DEVICE_TESTS, NATMOD_X64, require_built, run_micropython

FAMILIES = sorted(FAMILY_FOLDERS.values())
SCRIPT = "family_report.py"


def report(natmod: str) -> dict[str, list[str]]:
    """The report's lines by blob path (relative to tests_device/), in order."""
    require_built(os.path.join(natmod, "emlml.mpy"))
    result = run_micropython(SCRIPT, DEVICE_TESTS, natmod=natmod)
    assert result.returncode == 0 and result.stdout.endswith("family_report: done\n"), \
        result.stdout[-2000:] + result.stderr
    lines = collections.defaultdict(list)
    for line in result.stdout.splitlines()[:-1]:
        path, answer = line.split(" ", 1)
        lines[path].append(answer)
    return dict(lines)


def blob_at(path: str) -> bytes:
    with open(os.path.join(DEVICE_TESTS, path), "rb") as f:
        return f.read()


@pytest.fixture(scope="module")
def full_report(device_data) -> dict[str, list[str]]:
    said = report(NATMOD_X64)
    for path, answers in said.items():  # the module of every family: as the Python reader
        refused = refusal(blob_at(path), FAMILIES)
        want = [f"refused ValueError: {refused[2]}"] if refused else None
        assert answers == want if want else all(a.startswith("out") for a in answers), path
    return said


@pytest.mark.parametrize("family", FAMILIES)
def test_one_family_module_answers_as_the_full_one(family, full_report):
    said = report(os.path.join(NATMOD_X64, family))
    assert said.keys() == full_report.keys()
    counts = collections.Counter()
    for path, answers in said.items():
        refused = refusal(blob_at(path), [family])
        if refused is not None and refused[0] in ("EMLML_E_NO_FAMILY", "EMLML_E_NO_FEATURES"):
            assert answers == [f"refused ValueError: {refused[2]}"], path
            counts["other family" if refused[0] == "EMLML_E_NO_FAMILY" else "no steps"] += 1
        elif refused is not None and refused[0] == "EMLML_E_STEP_NO_SOUND":  # MFE, MFCC
            assert answers == [f"refused ValueError: {refused[2]}"], path
            counts["no sound"] += 1
        else:
            assert answers == full_report[path], path
            counts["refused" if refused else "ran"] += 1
    # every rule met: models of its family run, other families refused, bad blobs too
    assert counts["ran"] >= 3 and counts["other family"] >= 10 and counts["refused"] >= 10, counts
    # the CNN module has no feature steps: a CNN Pipeline's blob (converted or from the
    # bad-blob table) is refused naming the module to install
    assert (counts["no steps"] >= 3) == (family == "cnn"), counts


def test_the_report_sees_every_family(full_report):
    """Models of every family run in the report, so each single-family module is compared
    on all three rules."""
    ran = collections.Counter(FAMILY_FOLDERS[read_blob(blob_at(path)).kind]
                              for path, answers in full_report.items()
                              if answers[0].startswith("out") and "/bad/" not in path)
    assert set(ran) == set(FAMILIES) and min(ran.values()) >= 2, ran
