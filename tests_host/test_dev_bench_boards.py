"""Smoke test of the bare-metal benchmark of `make bench-boards` (not a benchmark): the
program built for armv6m with one small model runs on QEMU's mps2-an385 under -icount
and reports emlml's agreement with scikit-learn on every held-out input, so the
benchmark cannot silently time a broken build."""

from __future__ import annotations

import shutil

import pytest
from emlml_dev import bench_boards as bb


def test_baremetal_program_agrees_with_sklearn(tmp_path):
    for tool in (bb.CC, bb.q.QEMU):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: make arm-toolchain qemu-tools")
    (model,) = bb.zoo_models(["wine_extratrees"])
    elf = bb.build_baremetal(model, "armv6m", str(tmp_path))
    report = bb.run_baremetal(elf, bb.ARCHS["armv6m"][1], timeout=60)
    n = len(model.X_test)
    assert report["n"] == n
    assert report["agree"]["emlml"] == n  # scikit-learn's class on every input
    assert 0 < report["agree"]["emlearn"] <= n
    for impl in ("empty", "emlml", "emlearn"):
        assert len(report["ticks"][impl]) == n
    assert report["total"]["emlml"] > report["total"]["empty"]
    row = bb.summarise_c(model, report)
    # one tree step is about a dozen instructions: a sane count, not a target
    assert 5 < row["emlml_left_step"] < 30 and 5 < row["emlml_right_step"] < 30
