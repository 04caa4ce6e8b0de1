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
    # the heap after the import, as the board reports it: a blob must fit one allocation
    heap = results["heap"]
    assert 100_000 < heap["largest_allocation"] <= heap["largest_free_block"] <= heap["free_after_import"]


def test_bench_rp2040_tinymaix_reports_what_does_not_load():
    """vww96's 242 KB blob cannot be read into the Pico's heap: reported as NOMEM with the
    free heap before the load, while mnist_arduino runs; the table shows both."""
    if MISSING:
        pytest.fail(MISSING, pytrace=False)
    from emlml_dev.emulators import require_tinymaix

    require_tinymaix()
    specs, results, stats = bench_rp2040.run(0, 1, names=["tm_mnist_arduino_q", "tm_vww96_q"],
                                             tinymaix=True, module="cnn")
    assert [s["name"] for s in specs] == ["tm_mnist_arduino_q", "tm_vww96_q"]
    vww = results["tm_vww96_q"]
    assert "nomem" in vww and vww["free_before_load"] < specs[1]["blob_bytes"]
    assert results["heap"]["largest_allocation"] < specs[1]["blob_bytes"]
    assert results["tm_mnist_arduino_q"]["cycles_per_pred"] > 3201  # more than one per MAC
    assert results["tm_mnist_arduino_q"]["tflite_exact"] == 1  # the board's int8 = TFLite's
    text = bench_rp2040.tinymaix_table(specs, results)
    assert "does not load" in text and "716" in text
