"""The RP2040 benchmark harness (emlml_dev.bench_rp2040) on two models: the marks the
board writes around predict() come back as cycle and instruction counts that add up."""

from __future__ import annotations

import pytest
from emlml_dev import bench_rp2040, emulators

MISSING = emulators.missing_for_tests("rp2040", commands=("node",))


def test_bench_rp2040_smoke():
    if MISSING:
        pytest.fail(MISSING, pytrace=False)
    specs, results, stats = bench_rp2040.run(3, 2, names=["diabetes_tree", "dense_256"])
    assert [s["name"] for s in specs] == ["diabetes_tree", "dense_256"]
    assert stats["unaligned"] == 0 and stats["hard_faults"] == 0, stats
    tree, dense = results["diabetes_tree"], results["dense_256"]
    # a depth-4 tree costs far less than a 256x64 dense layer, and both cost something
    assert 0 < tree["cycles_per_pred"] < dense["cycles_per_pred"]
    # every M0+ instruction takes at least one cycle
    for r in (tree, dense):
        assert r["instr_per_pred"] <= r["cycles_per_pred"]
    # at least a load, a multiply and an add per multiply-accumulate
    assert dense["instr_per_mac"] >= 3
    assert "dense_256" in bench_rp2040.table(specs, results)
