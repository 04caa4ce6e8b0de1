"""RP2040 cycles per prediction: the armv6m emlml.mpy on the official RPI_PICO firmware in
rp2040js (rp2040_board.py), for the demo models (zoo.demo_models), the demo kNN stored four
ways (knn_storages: float32; int16 and int8 samples with integer distances; int16 with
float32 distances), the two demo CNNs (emlml_tools.demo.cnn.cnn_demos) and the one-layer
networks (bench_layers.layer_models).

    make rp2040-emulator natmod-all
    PYTHONPATH=py_tools python -m emlml_dev.bench_rp2040 [--samples N]
    PYTHONPATH=py_tools python -m emlml_dev.bench_rp2040 --tinymaix [--module cnn]

--tinymaix runs TinyMaix's benchmark networks (../shared/models/tinymaix) instead, beside
TinyMaix's published RP2040 times (ms at 280 MHz x 280,000: cycles of a real, overclocked
chip, set against rp2040js's cycles), and reports which load: the blob is read from the
filesystem into one heap object, so the heap after the import (gc.mem_free(), the largest
free block, the largest allocation it gives) decides. The 1000-class MobileNets (510 KB
blobs, the RP2040 has 264 KB of RAM in all) are left out; a network whose load runs out
of heap is reported (NOMEM, with the free heap before its load).

The board brackets each predict() with two writes to a marker word
(on_device/mp_rp2040_cycles.py); the harness records rp2040js's cycle counter and the
instructions executed at each. The same loop around id(x) is the baseline (loop, call,
marks), subtracted. Per model:

- cycles/pred, instr/pred: mean over the samples, baseline subtracted
- per unit: cycles per tree node visited (internal nodes, summed over the trees, counted
  on the host by walking the blob), per stored kNN sample, or per CNN multiply-accumulate
  (conv, depthwise and dense taps; the whole inference divided by them)

Cycles are rp2040js's Cortex-M0+ timings per instruction at 125 MHz; it models no XIP
flash cache misses or bus contention. emlml's code runs from RAM (a native .mpy is
loaded into the heap), the firmware's own code from flash. Writes build/bench_rp2040.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
from emlml_tools.convert.sklearn_models import convert
from emlml_tools.convert.tflite_cnn import convert_tflite
from emlml_tools.format import Kind, read_blob

from emlml_dev import markdown_table, rp2040_board as rb
from emlml_dev.bench_layers import layer_models
from emlml_tools.demo.cnn import cnn_demos, model_inputs
from emlml_dev.paths import BUILD, NATMOD_DIR, ON_DEVICE
from emlml_dev.qemu_bench import cnn_macs, nodes_visited
from emlml_dev.zoo import demo_models

TYPECODES = {np.dtype(np.float32): "f", np.dtype(np.int8): "b", np.dtype(np.uint8): "B",
             np.dtype(np.int16): "h"}


# The demo kNN (426 samples of 30 features) as each storage stores it: (suffix, options).
KNN_STORAGES = (("float32", {}),
                ("int16", {"knn_samples": "int16"}),
                ("int8", {"knn_samples": "int8"}),
                ("int16_float32_distances", {"knn_samples": "int16", "knn_distances": "float32"}))


def knn_storages(samples: int) -> list[tuple[dict, bytes, np.ndarray]]:
    """The same fitted kNN and inputs, converted with each of KNN_STORAGES; then the int16
    model on the same inputs moved by the widest feature's training range (every query
    beyond the training range: integer distances take their 64-bit far path)."""
    model = next(m for m in demo_models() if m.name == "breast_cancer_knn")
    x = np.ascontiguousarray(model.inputs()[:samples])
    out = [({"name": f"{model.name}_{suffix}", "group": "kNN storage"},
            convert(model.estimator, **options), x) for suffix, options in KNN_STORAGES]
    widest = float(np.ptp(model.X_train, axis=0).max())
    far = np.ascontiguousarray(x + np.float32(widest))
    out.append(({"name": f"{model.name}_int16_far_queries", "group": "kNN storage"},
                out[1][1], far))
    return out


def workload(samples: int, cnn_samples: int) -> list[tuple[dict, bytes, np.ndarray]]:
    """(spec, blob, inputs) of every benchmarked model."""
    out = []
    for model in demo_models():
        blob, x = model.blob(), np.ascontiguousarray(model.inputs()[:samples])
        out.append(({"name": model.name, "group": "demo"}, blob, x))
    out += knn_storages(samples)
    for demo in cnn_demos():
        with open(demo.tflite, "rb") as f:
            blob = convert_tflite(f.read(), name=demo.name)
        x = np.ascontiguousarray(model_inputs(blob, demo.split()[1])[:cnn_samples])
        out.append(({"name": demo.name, "group": "demo CNN"}, blob, x))
    rng = np.random.default_rng(3)
    for name, tflite in layer_models().items():
        blob = convert_tflite(tflite, name=name)
        x = rng.integers(-128, 128, (cnn_samples, read_blob(blob).n_inputs), dtype=np.int8)
        out.append(({"name": name, "group": "one layer"}, blob, x))
    for spec, blob, x in out:
        model = read_blob(blob)
        spec.update(input=TYPECODES[x.dtype], n=len(x), n_inputs=x.shape[1],
                    kind={Kind.TREES: "trees", Kind.KNN: "knn"}.get(model.kind, "cnn"))
        if spec["kind"] == "trees":
            spec["nodes_visited"] = nodes_visited(blob, x).tolist()
        elif spec["kind"] == "knn":
            spec["n_samples"] = model.knn.n_samples
        else:
            spec["macs"] = cnn_macs(blob)
    return out


def pairs(marks: list[tuple[int, int, int]], start: int) -> np.ndarray:
    """(cycles, instructions) between each mark `start` and the next `start + 1`."""
    out, opened = [], None
    for value, cycles, instructions in marks:
        if value == start:
            opened = (cycles, instructions)
        elif value == start + 1 and opened is not None:
            out.append((cycles - opened[0], instructions - opened[1]))
            opened = None
    return np.array(out, dtype=np.float64).reshape(-1, 2)


def summarise(spec: dict, pred: np.ndarray, base: np.ndarray) -> dict:
    net = pred - np.median(base, axis=0)
    cycles, instr = net[:, 0], net[:, 1]
    row = {"cycles_per_pred": round(float(cycles.mean()), 1),
           "instr_per_pred": round(float(instr.mean()), 1),
           "cycles_min": int(cycles.min()), "cycles_max": int(cycles.max()),
           "baseline_cycles": float(np.median(base[:, 0]))}
    if spec["kind"] == "trees":
        nodes = float(np.sum(spec["nodes_visited"]))
        row["cycles_per_node"] = round(float(cycles.sum()) / nodes, 1)
    elif spec["kind"] == "knn":
        row["cycles_per_sample"] = round(float(cycles.mean()) / spec["n_samples"], 1)
    else:
        row["cycles_per_mac"] = round(float(cycles.mean()) / spec["macs"], 2)
        row["instr_per_mac"] = round(float(instr.mean()) / spec["macs"], 2)
    return row


def table(specs: list[dict], results: dict) -> str:
    head = ["model", "input", "unit", "cycles/pred", "instr/pred", "cycles/unit", "instr/MAC",
            "µs at 125 MHz"]
    rows = []
    for s in specs:
        r = results[s["name"]]
        if "nomem" in r:
            rows.append([s["name"], s["input"], "", "does not load: " + r["nomem"], "", "", "", ""])
            continue
        if s["kind"] == "trees":
            unit, per = f"{np.mean(s['nodes_visited']):.1f} nodes", f"{r['cycles_per_node']:.1f}"
        elif s["kind"] == "knn":
            unit, per = f"{s['n_samples']} samples", f"{r['cycles_per_sample']:.1f}"
        else:
            unit, per = f"{s['macs']} MACs", f"{r['cycles_per_mac']:.2f}"
        rows.append([s["name"], s["input"], unit, f"{r['cycles_per_pred']:,.0f}",
                     f"{r['instr_per_pred']:,.0f}", per,
                     f"{r['instr_per_mac']:.2f}" if "instr_per_mac" in r else "-",
                     f"{r['cycles_per_pred'] / 125:,.0f}"])
    return markdown_table(head, rows)


# TinyMaix's published RP2040 times (its benchmark.md: RP2040 overclocked to 280 MHz), ms
TINYMAIX_RP2040_MS = {"tm_mnist_valid_q": 2.0, "tm_cifar10_q": 200.0, "tm_vww96_q": 716.0}
TINYMAIX_RP2040_HZ = 280_000_000
# larger than the RP2040's 264 KB of RAM: not copied to the board
TOO_LARGE = 264 * 1024


def tinymaix_workload(cnn_samples: int) -> list[tuple[dict, bytes, np.ndarray]]:
    """bench_esp32's TinyMaix networks and inputs that fit the RP2040's RAM, each spec
    with TFLite's int8 outputs (``expected``: BUILTIN_REF) for the board's to match."""
    from emlml_dev.bench_esp32 import tinymaix_workload as all_networks
    from emlml_dev.cnn_devicedata import tinymaix_models
    from emlml_tools.oracle import Oracle

    tflite = dict(tinymaix_models())
    out = []
    for spec, blob, x in all_networks(cnn_samples):
        if spec["blob_bytes"] < TOO_LARGE:
            oracle = Oracle(tflite[spec["name"]])
            spec["expected"] = [oracle(row.reshape(oracle.inp["shape"])).reshape(-1).tolist()
                                for row in x]
            out.append((spec, blob, x))
    return out


def board_outputs(stdout: str) -> dict[str, list[list[int]]]:
    """The int8 outputs the board printed ("OUT name hex" per input) by model name."""
    out: dict[str, list[list[int]]] = {}
    for line in stdout.splitlines():
        if line.startswith("OUT "):
            _, name, hexed = line.split()
            out.setdefault(name, []).append(np.frombuffer(bytes.fromhex(hexed), np.int8).tolist())
    return out


def run(samples: int, cnn_samples: int, names: list[str] | None = None, *,
        tinymaix: bool = False, module: str = "all") -> tuple[list[dict], dict, dict]:
    """(specs, results by model name, the harness's counters); a model whose load ran
    out of heap gets {"nomem": message, "free_before_load": bytes}, and the heap after
    the import is results["heap"]."""
    work = tinymaix_workload(cnn_samples) if tinymaix else workload(samples, cnn_samples)
    if names:
        work = [w for w in work if w[0]["name"] in names]
    mpy = os.path.join(NATMOD_DIR, "armv6m", *([] if module == "all" else [module]), "emlml.mpy")
    files = {"/lib/emlml.mpy": mpy,
             "/bench.txt": "".join(f"{s['name']} {s['input']} {s['n_inputs']} {s['n']}\n"
                                   for s, _, _ in work).encode()}
    for spec, blob, x in work:
        files[f"/{spec['name']}.bin"] = blob
        files[f"/{spec['name']}.x"] = x.tobytes()
    with open(os.path.join(ON_DEVICE, "mp_rp2040_cycles.py")) as f:
        script = f.read()
    with rb.Board(rb.fs_image(files)) as board:
        board.wait_repl()
        board.enter_raw()
        result = board.exec(script, timeout=1800)
        stats = board.stats()
    nomem = {line.split()[1]: line for line in result.stdout.splitlines() if line.startswith("NOMEM ")}
    if result.stderr or any(f"DONE {s['name']}" not in result.stdout and s["name"] not in nomem
                            for s, _, _ in work):
        raise rb.BoardError("the benchmark failed on the board: "
                            f"{result.stdout[-1000:]}{result.stderr}")
    from emlml_dev.bench_esp32 import heap_figures

    results = {"heap": heap_figures(result.stdout)}
    for k, (spec, _, _) in enumerate(work):
        if spec["name"] in nomem:
            _, _, free, message = nomem[spec["name"]].split(" ", 3)
            results[spec["name"]] = {"nomem": message, "free_before_load": int(free)}
            continue
        pred, base = pairs(result.marks, 4 * k), pairs(result.marks, 4 * k + 2)
        if len(pred) != spec["n"] or len(base) != spec["n"]:
            raise rb.BoardError(f"{spec['name']}: {len(pred)}/{len(base)} marked calls, "
                                f"expected {spec['n']}")
        results[spec["name"]] = summarise(spec, pred, base)
        if "expected" in spec:  # TinyMaix's networks: TFLite's outputs, input by input
            got = board_outputs(result.stdout).get(spec["name"], [])
            results[spec["name"]]["tflite_exact"] = sum(
                g == e for g, e in zip(got, spec["expected"]))
    return [s for s, _, _ in work], results, stats


def tinymaix_table(specs: list[dict], results: dict) -> str:
    head = ["network", "MACs", "blob B", "arena B", "free before load", "TFLite-exact",
            "cycles/inference", "cycles/MAC", "TinyMaix ms", "ms x 280,000", "ratio"]
    rows = []
    for s in specs:
        r = results[s["name"]]
        ms = TINYMAIX_RP2040_MS.get(s["name"])
        scaled = ms * TINYMAIX_RP2040_HZ / 1000 if ms else None
        sizes = [s["name"], f"{s['macs']:,}", f"{s['blob_bytes']:,}", f"{s['arena_bytes']:,}"]
        tm = [f"{ms:g}" if ms else "-", f"{scaled:,.0f}" if scaled else "-"]
        if "nomem" in r:
            rows.append(sizes + [f"{r['free_before_load']:,}", "-", "does not load: " + r["nomem"],
                                 "-"] + tm + ["-"])
            continue
        ratio = f"{r['cycles_per_pred'] / scaled:.2f}" if scaled else "-"
        rows.append(sizes + ["", f"{r['tflite_exact']}/{s['n']}", f"{r['cycles_per_pred']:,.0f}",
                             f"{r['cycles_per_mac']:.2f}"] + tm + [ratio])
    return markdown_table(head, rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench_rp2040", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.path.join(BUILD, "bench_rp2040.json"))
    p.add_argument("--samples", type=int, default=50, help="inputs per tree/kNN model")
    p.add_argument("--cnn-samples", type=int, default=5, help="inputs per CNN")
    p.add_argument("--models", help="comma-separated model names (default: all)")
    p.add_argument("--tinymaix", action="store_true",
                   help="TinyMaix's networks against its published RP2040 times")
    p.add_argument("--module", choices=("all", "cnn"), default="all",
                   help="the .mpy of every family (default) or of the CNN alone")
    args = p.parse_args(argv)
    specs, results, stats = run(args.samples, args.cnn_samples,
                                args.models.split(",") if args.models else None,
                                tinymaix=args.tinymaix, module=args.module)
    heap = results["heap"]
    print(f"heap after the import ({args.module} module): gc.mem_free() "
          f"{heap.get('free_after_import', 0):,} B, largest free block "
          f"{heap.get('largest_free_block', 0):,} B, largest allocation "
          f"{heap.get('largest_allocation', 0):,} B")
    print(tinymaix_table(specs, results) if args.tinymaix else table(specs, results))
    print("cycles/pred, instr/pred: mean per predict() on the emulated RP2040 (rp2040js "
          "Cortex-M0+ cycle timings, 125 MHz), loop and call overhead subtracted; "
          "cycles/unit: per tree node visited, per stored kNN sample, or per CNN "
          "multiply-accumulate")
    print(f"unaligned accesses: {stats['unaligned']}, hard faults: {stats['hard_faults']}")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"board": "RPI_PICO MicroPython 1.24.1 in rp2040js, armv6m emlml.mpy",
                   "module": args.module,
                   "clock_hz": 125_000_000, "models": specs, "results": results,
                   "harness": {k: stats[k] for k in ("unaligned", "hard_faults",
                                                     "unknown_instructions")}}, f, indent=1)
    print(f"wrote {args.out}")
    return 1 if stats["unaligned"] or stats["hard_faults"] else 0


if __name__ == "__main__":
    sys.exit(main())
