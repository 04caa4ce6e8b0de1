"""The C core built with one model family alone (EMLML_WITH_*, core/emlml_config.h), as
the single-family native modules are: tests_host/c's emlml_run_<family> (gcc) and
emlml_run_<family>_clang, with ASan and UBSan. Each runs the blobs of its family as the
build of every family does, byte for byte of output, and refuses a valid blob of any
other family with EMLML_E_NO_FAMILY: the family's name and its kind, in c_format's words.
(The whole bad-blob table on them: test_core_bad_blobs.py.)"""

from __future__ import annotations

import os

import numpy as np
import pytest
from emlml_dev.bad_blobs import FAMILY_FOLDERS, base_blob, no_family
from emlml_dev.zoo import demo_models, test_models
from emlml_tools.format import Kind, read_blob
from emlml_tools.format.c_format import status_number
from runtimes import BUILD, run_driver

FAMILIES = sorted(FAMILY_FOLDERS.values())
COMPILERS = {"gcc": "", "clang": "_clang"}
FULL = {"gcc": "emlml_run", "clang": "emlml_run_clang"}  # every family


def driver(name: str) -> str:
    return os.path.join(BUILD, "host", name)


def cnn_int8_inputs(blob: bytes, n: int = 6) -> bytes:
    rng = np.random.default_rng(7)
    return rng.integers(-128, 128, size=(n, read_blob(blob).n_inputs), dtype=np.int8).tobytes()


def cnn_float_inputs(blob: bytes, n: int = 6) -> bytes:
    rng = np.random.default_rng(8)
    return rng.normal(0, 2, size=(n, read_blob(blob).n_inputs)).astype(np.float32).tobytes()


def runs() -> list[tuple[str, bytes, bytes, bool]]:
    """(name, blob, raw inputs, float CNN input): every zoo model (trees and kNN, each
    estimator kind and input type) and two CNNs (the shipped digits CNN, and one layer of
    every op), on int8 and on float inputs."""
    out = [(m.name, m.blob(), np.ascontiguousarray(m.inputs()).tobytes(), False)
           for m in demo_models() + test_models()]
    for name in ("cnn", "cnn10"):
        blob = base_blob(name)
        out.append((name + "_int8", blob, cnn_int8_inputs(blob), False))
        out.append((name + "_float", blob, cnn_float_inputs(blob), True))
    return out


RUNS = runs()


def test_runs_cover_every_family():
    kinds = {read_blob(blob).kind for _, blob, _, _ in RUNS}
    assert kinds == set(FAMILY_FOLDERS) == {Kind.TREES, Kind.KNN, Kind.CNN, Kind.BOOST}


@pytest.mark.parametrize("compiler", COMPILERS)
@pytest.mark.parametrize("family", FAMILIES)
def test_one_family_runs_its_blobs_and_refuses_the_others(family, compiler, tmp_path):
    alone = driver("emlml_run_" + family + COMPILERS[compiler])
    for name, blob, inputs, float_input in RUNS:
        got = run_driver(alone, blob, inputs, tmp_path, float_input)
        kind = read_blob(blob).kind
        if FAMILY_FOLDERS[kind] == family:
            full = run_driver(driver(FULL[compiler]), blob, inputs, tmp_path, float_input)
            assert full.returncode == 0 and full.stdout.startswith("ok "), (name, full.stdout)
            assert (got.returncode, got.stdout, got.stderr) == (0, full.stdout, ""), name
            continue
        status, numbers, message = no_family(kind)
        assert got.returncode == 3 and got.stderr == "", (name, got.stdout + got.stderr)
        want = f"load-error {status_number(status)} {status} {' '.join(map(str, numbers))} {message}\n"
        assert got.stdout == want, name


def test_the_refusal_names_the_family_and_its_module():
    """The words a user sees on a board with the wrong module."""
    assert no_family(Kind.CNN)[2] == ("this emlml build has no CNN support: install one that "
                                      "has (emlml install --for MODEL)")
    assert "no kNN support" in no_family(Kind.KNN)[2] and "no trees support" in no_family(Kind.TREES)[2]
