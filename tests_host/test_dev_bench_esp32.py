"""The ESP32 benchmark harness (emlml_dev.bench_esp32) on two models: the marks the
board writes around predict() come back as instruction counts that add up."""

from __future__ import annotations

import pytest
from emlml_dev import bench_esp32, emulators

MISSING = emulators.missing_for_tests("esp32") or emulators.missing_for_tests("esp32-icount")


def test_bench_esp32_smoke():
    if MISSING:
        pytest.fail(MISSING, pytrace=False)
    specs, results = bench_esp32.run(3, 2, names=["diabetes_tree", "dense_256"])
    assert [s["name"] for s in specs] == ["diabetes_tree", "dense_256"]
    tree, dense = results["diabetes_tree"], results["dense_256"]
    # a depth-4 tree costs far less than a 256x64 dense layer, and both cost something
    assert 0 < tree["instr_per_pred"] < dense["instr_per_pred"]
    for r in (tree, dense):  # with the loop's own cost subtracted, every call still costs
        assert r["instr_min"] > 0 and r["baseline_instr"] > 0
    # at least a load and a multiply-add per multiply-accumulate
    assert dense["instr_per_mac"] >= 2
    assert "dense_256" in bench_esp32.table(specs, results)


def test_pairs_takes_micropythons_cpu_only():
    marks = [(0, 5), (1, 100), (0, 7), (1, 150), (1, 160), (1, 400)]
    assert bench_esp32.pairs(marks).tolist() == [50.0, 240.0]
    with pytest.raises(bench_esp32.eb.BoardError, match="odd"):
        bench_esp32.pairs(marks[:2])


def test_heap_figures_from_mem_info():
    # the lines the firmware's micropython.mem_info() printed on the emulated ESP32
    out = ("HEAP 112304\nstack: 688 out of 15360\n"
           "GC: total: 112000, used: 14368, free: 97632, max new split: 14336\n"
           " No. of 1-blocks: 28, 2-blocks: 22, max blk sz: 464, max free sz: 3036\n"
           "LARGEST 48436\n")
    assert bench_esp32.heap_figures(out) == {"free_after_import": 112304, "max_new_area": 14336,
                                             "largest_free_block": 3036 * 16,
                                             "largest_allocation": 48436}
