"""Instructions per prediction on the emulated Cortex-M boards (`make qemu-bench`).

QEMU runs with -icount shift=0: its clock advances 1 ns per instruction, so the boards'
25 MHz clock (`time.ticks_cpu()`) ticks once per 40 instructions, the same on every
run. mp_icount.py times each predict() on the board, one call at a time, and the same
loop calling a do-nothing builtin; the difference is what predict costs (argument
checks, the C core, the result object). Per model and build:

- instr/pred: mean instructions per predict() call
- trees: a least-squares line over the samples, instructions = fixed + per_node *
  (internal nodes visited, summed over the trees; counted on the host by walking the
  blob): per_node is the cost of one tree step. Shown when the line explains the
  samples (correlation r >= 0.9): on the armv6m build the soft-float helpers of the
  fixed part vary from sample to sample more than the walk does, and a tree whose
  paths all have the same length has no slope
- kNN: instructions per stored sample (instr/pred / n_samples)

CNNs: the shipped digits and motion models, and one-layer networks (bench_layers.py)
whose instructions per multiply-accumulate are the cost of that layer alone.

Builds: the armv6m (Cortex-M0+, Thumb-1) and armv7m (Cortex-M3) emlml.mpy on the
Cortex-M3 board, emlml compiled into the Cortex-M3 firmware, and the armv7emsp
(Cortex-M4F, hard float) emlml.mpy on the Cortex-M4F board. Writes build/qemu_bench.json.
Instruction counts, not cycles: QEMU models no pipeline, wait states or flash.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys

import numpy as np
from emlml_tools.convert.tflite_cnn import convert_tflite
from emlml_tools.format import LEAF, CnnOp, Kind, read_blob
from emlml_tools.runtime.trees import input_keys

from emlml_dev import qemu_board as q
from emlml_dev.bench_layers import layer_models
from emlml_dev.cnn_devicedata import tinymaix_models
from emlml_dev.devicedata import write_device_data
from emlml_dev.paths import ON_DEVICE

INSTR_PER_TICK = 1_000_000_000 // 25_000_000  # -icount shift=0: 1 ns per instruction
MODELS = ["digits_forest", "digits_forest_int8", "digits_tree_uint8", "wine_extratrees",
          "diabetes_tree", "diabetes_extratrees_int16", "breast_cancer_knn",
          "breast_cancer_knn_int16_distance", "diabetes_knn_manhattan"]
CNN_MODELS = ["digits_cnn", "motion_cnn"]  # from data/cnn (the shipped .tflite examples)
# TinyMaix's networks with a TinyMaix count in its README (--tinymaix)
TINYMAIX_MODELS = ["tm_mnist_valid_q", "tm_mnist_arduino_q",
                   "tm_mnist_resnet_q", "tm_cifar10_q", "tm_vww96_q"]
# (column, flavour, emlml.mpy arch or None for the built-in module)
BUILDS = [("M3 armv6m", "an385", "armv6m"), ("M3 armv7m", "an385", "armv7m"),
          ("M3 built-in", "an385-emlml", None), ("M4F armv7emsp", "an386", "armv7emsp")]


def nodes_visited(blob: bytes, x: np.ndarray) -> np.ndarray:
    """Internal nodes each sample passes through, summed over the trees (as the
    reference runtime walks them)."""
    model = read_blob(blob)
    trees = model.trees
    keys = input_keys(model, x)
    node_key = trees.nodes["key"].astype(np.int64)
    feature = trees.nodes["feature"].astype(np.int64)
    right = trees.nodes["right"].astype(np.int64)
    idx = np.tile(trees.roots.astype(np.int64), (len(x), 1))
    steps = np.zeros(len(x), dtype=np.int64)
    while True:
        rows, cols = np.nonzero(feature[idx] != LEAF)
        if len(rows) == 0:
            return steps
        np.add.at(steps, rows, 1)
        i = idx[rows, cols]
        go_left = keys[rows, feature[i]] <= node_key[i]
        idx[rows, cols] = np.where(go_left, i + 1, i + right[i])


def cnn_macs(blob: bytes) -> int:
    """Multiply-accumulates of one inference: every tap of conv, depthwise and fully
    connected layers, padding taps included (FORMAT.md, kind 3)."""
    cnn = read_blob(blob).cnn
    macs = 0
    for layer in cnn.layers:
        ti, to = cnn.tensors[layer["in0"]], cnn.tensors[layer["out"]]
        outputs = int(to["h"]) * int(to["w"]) * int(to["c"])
        taps = int(layer["filter_h"]) * int(layer["filter_w"])
        if layer["op"] == CnnOp.CONV_2D:
            macs += outputs * taps * int(ti["c"])
        elif layer["op"] == CnnOp.DEPTHWISE_CONV_2D:
            macs += outputs * taps
        elif layer["op"] == CnnOp.FULLY_CONNECTED:
            macs += int(to["c"]) * int(ti["h"]) * int(ti["w"]) * int(ti["c"])
    return macs


def prepare(work: str, n_max: int, cnn_only: bool = False, tinymaix: int = 0) -> list[dict]:
    """The bench folder: blobs, the first n_max inputs of each model, bench.txt. With
    cnn_only, the CNNs alone; with tinymaix > 0, TinyMaix's networks too (that many
    random int8 inputs each: vww96 is 7.5 million MACs)."""
    data = os.path.join(work, "data")
    write_device_data(data, cnn_random=0)
    index = {line.split()[0]: line.split() for line in open(os.path.join(data, "index.txt"))
             if line.strip()}
    for line in open(os.path.join(data, "cnn", "index.txt")):
        name, n_in, _, n, typecode = line.split()[:5]
        if name in CNN_MODELS:
            index[name] = [name, "classifier", typecode, n_in, "", n]
            for ext in (".bin", ".x"):
                shutil.copy(os.path.join(data, "cnn", name + ext), os.path.join(data, name + ext))
    files = os.path.join(work, "board")
    os.makedirs(files, exist_ok=True)
    specs, lines = [], []
    for name in ([] if cnn_only else MODELS) + CNN_MODELS:
        _, task, typecode, n_in, _, n = index[name]
        n_in, n = int(n_in), min(int(n), n_max)
        blob = open(os.path.join(data, name + ".bin"), "rb").read()
        dtype = {"f": "<f4", "b": "i1", "B": "u1", "h": "<i2"}[typecode]
        x = np.fromfile(os.path.join(data, name + ".x"), dtype=dtype).reshape(-1, n_in)[:n]
        with open(os.path.join(files, name + ".bin"), "wb") as f:
            f.write(blob)
        with open(os.path.join(files, name + ".x"), "wb") as f:
            f.write(x.tobytes())
        model = read_blob(blob)
        spec = {"name": name, "task": task, "input": typecode, "n_inputs": n_in, "n": n,
                "kind": {Kind.TREES: "trees", Kind.KNN: "knn"}.get(model.kind, "cnn")}
        if spec["kind"] == "cnn":
            spec["macs"] = cnn_macs(blob)
        elif spec["kind"] == "trees":
            spec["n_trees"] = model.trees.n_trees
            spec["nodes_visited"] = nodes_visited(blob, x).tolist()
        else:
            spec["n_samples"] = model.knn.n_samples
        specs.append(spec)
        lines.append(f"{name} {typecode} {n_in} {n}")
    nets = [(name, model, n_max) for name, model in layer_models().items()]  # per-MAC cost
    if tinymaix:
        nets += [(name, model, tinymaix) for name, model in tinymaix_models()
                 if name in TINYMAIX_MODELS]
    for name, model, n_x in nets:
        blob = convert_tflite(model, name=name)
        x = np.random.default_rng(3).integers(-128, 128, (n_x, read_blob(blob).n_inputs), dtype=np.int8)
        for ext, data in ((".bin", blob), (".x", x.tobytes())):
            with open(os.path.join(files, name + ext), "wb") as f:
                f.write(data)
        specs.append({"name": name, "task": "classifier", "input": "b", "n_inputs": x.shape[1],
                      "n": n_x, "kind": "cnn", "macs": cnn_macs(blob)})
        lines.append(f"{name} b {x.shape[1]} {n_x}")
    with open(os.path.join(files, "bench.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return specs


def run_build(flavour: str, arch: str | None, files: str, specs: list[dict], family: str = "") -> dict:
    """Ticks per predict() and per baseline call, per sample, from one board run (the
    .mpy of every family, or of `family` alone)."""
    args = []
    if arch:
        args += ["mkdir", ":lib", "+", "cp", os.path.join(q.NATMOD_DIR, arch, family, "emlml.mpy"),
                 ":lib/emlml.mpy", "+"]
    names = [os.path.join(files, s["name"] + ext) for s in specs for ext in (".bin", ".x")]
    args += ["cp", *names, os.path.join(files, "bench.txt"), ":", "+",
             "run", os.path.join(ON_DEVICE, "mp_icount.py")]
    with q.start(flavour, icount=True) as board:
        out = board.mpremote(*args, timeout=900).stdout
    results = {}
    for line in out.splitlines():
        if line.startswith("RESULT "):
            _, name, pred, base = line.split()
            results[name] = ([int(t) for t in pred.split(",")], [int(t) for t in base.split(",")])
    missing = [s["name"] for s in specs if s["name"] not in results]
    if missing:
        raise q.BoardError(f"{flavour}/{arch}: no result for {missing}:\n{out[-2000:]}")
    return results


def summarise(spec: dict, pred: list[int], base: list[int]) -> dict:
    net = (np.array(pred, dtype=np.float64) - np.median(base)) * INSTR_PER_TICK
    row = {"instr_per_pred": round(float(net.mean()), 1),
           "baseline_instr": round(float(np.median(base)) * INSTR_PER_TICK, 1)}
    if spec["kind"] == "trees":
        nodes = np.array(spec["nodes_visited"], dtype=np.float64)
        if np.ptp(nodes) > 0 and np.ptp(net) > 0:
            per_node, fixed = np.polyfit(nodes, net, 1)
            row["instr_per_node"] = round(float(per_node), 2)
            row["fixed_instr"] = round(float(fixed), 1)
            row["r"] = round(float(np.corrcoef(nodes, net)[0, 1]), 3)
        row["instr_per_node_avg"] = round(float(net.sum() / nodes.sum()), 2)
    elif spec["kind"] == "cnn":
        row["instr_per_mac"] = round(float(net.mean()) / spec["macs"], 2)  # a MAC is ~1 unit
    else:
        row["instr_per_sample"] = round(float(net.mean()) / spec["n_samples"], 2)
    return row


MIN_R = 0.9  # below this the nodes visited do not explain the time (see the docstring)


def unit_cell(row: dict, key: str) -> str:
    if key not in row:
        return "-"
    if key == "instr_per_node" and row["r"] < MIN_R:
        return f"- (r {row['r']:.2f})"
    return f"{row[key]:.2f}" if key == "instr_per_mac" else f"{row[key]:.1f}"


def table(specs: list[dict], results: dict) -> str:
    cols = [c for c, _, _ in BUILDS if c in results]
    head = ["model", "input", "unit"] + [f"{c} instr/pred" for c in cols] + \
           [f"{c} per unit" for c in cols]
    rows = []
    for s in specs:
        if s["kind"] == "trees":
            unit = f"{np.mean(s['nodes_visited']):.1f} nodes"
            key = "instr_per_node"
        elif s["kind"] == "cnn":
            unit = f"{s['macs']} MACs"
            key = "instr_per_mac"
        else:
            unit = f"{s['n_samples']} samples"
            key = "instr_per_sample"
        per_pred = [f"{results[c][s['name']]['instr_per_pred']:.0f}" for c in cols]
        per_unit = [unit_cell(results[c][s["name"]], key) for c in cols]
        rows.append([s["name"], s["input"], unit] + per_pred + per_unit)
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    fmt = "| " + " | ".join(f"{{:{w}}}" for w in widths) + " |"
    lines = [fmt.format(*head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += [fmt.format(*r) for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="qemu_bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.path.join(q.BUILD, "qemu_bench.json"))
    p.add_argument("--samples", type=int, default=100, help="inputs per model (at most)")
    p.add_argument("--builds", default=",".join(c for c, _, _ in BUILDS),
                   help="comma-separated columns to run")
    p.add_argument("--cnn-only", action="store_true", help="the CNNs alone (no trees, no kNN)")
    p.add_argument("--family", default="", help="the one-family .mpy (natmod/<arch>/<family>), e.g. cnn")
    p.add_argument("--tinymaix", type=int, default=0, metavar="N",
                   help="also TinyMaix's networks (paths.TINYMAIX_DIR), N inputs each")
    args = p.parse_args(argv)
    work = os.path.join(q.BUILD, "qemu_bench")
    specs = prepare(work, args.samples, args.cnn_only, args.tinymaix)
    wanted = args.builds.split(",")
    results: dict[str, dict] = {}
    for column, flavour, arch in BUILDS:
        if column not in wanted:
            continue
        print(f"== {column}: {q.FLAVOURS[flavour].description}", flush=True)
        raw = run_build(flavour, arch, os.path.join(work, "board"), specs, args.family)
        results[column] = {s["name"]: summarise(s, *raw[s["name"]]) for s in specs}
    text = table(specs, results)
    print(text)
    print("instr/pred: mean instructions per predict() (QEMU -icount shift=0); per unit: "
          "instructions per tree node visited (slope over the samples, shown when r >= "
          f"{MIN_R}), per stored kNN sample, or per CNN multiply-accumulate (the whole "
          "inference divided by its conv, depthwise and dense MACs)")
    with open(args.out, "w") as f:
        json.dump({"instructions_per_tick": INSTR_PER_TICK, "models": specs,
                   "builds": {c: {"flavour": fl, "arch": a or "built-in"} for c, fl, a in BUILDS
                              if c in results},
                   "results": results}, f, indent=1)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
