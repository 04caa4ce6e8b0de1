"""ESP32 instructions per prediction: the xtensawin emlml.mpy on the official ESP32_GENERIC
MicroPython 1.23.0 firmware in Espressif's QEMU (esp32_board.py), for the demo models
(zoo.demo_models), the two demo CNNs (emlml_tools.demo.cnn.cnn_demos) and the one-layer networks
(bench_layers.layer_models): the rows of bench_rp2040.py.

    make natmod-all
    PYTHONPATH=py_tools python -m emlml_dev.bench_esp32 [--samples N]
    PYTHONPATH=py_tools python -m emlml_dev.bench_esp32 --tinymaix [--module cnn]

--tinymaix runs TinyMaix's benchmark networks (../shared/models/tinymaix) instead, beside
TinyMaix's published ESP32 times (ms at 240 MHz x 240,000: cycles of a real chip, set
against QEMU's instructions; with a CPI of at least 1 they bound TinyMaix's
instructions from above). A network whose load runs out of the firmware's heap is
reported (NOMEM, with the free heap before its load) and left out; the heap after the
import (gc.mem_free(), the largest free block, the largest new area ESP-IDF can still
give the heap, the largest allocation it gives: the largest blob that can be read) is
printed. --module cnn puts the CNN-only module on the board.

QEMU's clock follows the host's here (with -icount the firmware does not boot), so the
figure that holds from run to run is the instruction count: the TCG plugin
icount_marks.so (../shared/emulators/esp32) records the executing CPU's count each time
the guest stores to a marker word (on_device/mp_esp32_icount.py brackets each predict()
with two stores). MicroPython runs on CPU 1. The same loop around id(x) is the baseline
(loop, call, marks), subtracted. Per model:

- instr/pred: mean over the samples, baseline subtracted (min and max beside it: an
  interrupt taken during a call adds its handler)
- per unit: instructions per tree node visited (internal nodes, summed over the trees,
  counted on the host by walking the blob), per stored kNN sample, or per CNN
  multiply-accumulate (conv, depthwise and dense taps; the whole inference divided by
  them)

Instructions, not cycles: QEMU models no Xtensa pipeline, cache or flash wait states.
Writes build/bench_esp32.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

from emlml_tools.convert.tflite_cnn import convert_tflite
from emlml_tools.format import read_blob

from emlml_dev import markdown_table, esp32_board as eb
from emlml_dev.bench_rp2040 import workload
from emlml_dev.cnn_devicedata import tinymaix_models
from emlml_dev.paths import BUILD, NATMOD_DIR, ON_DEVICE
from emlml_dev.qemu_bench import cnn_macs

# TinyMaix's published ESP32 times (its benchmark.md: ESP32 at 240 MHz), ms per inference
TINYMAIX_ESP32_MS = {"tm_mnist_valid_q": 2.0, "tm_cifar10_q": 132.0, "tm_vww96_q": 476.0}
ESP32_HZ = 240_000_000


def pairs(marks: list[tuple[int, int]]) -> np.ndarray:
    """Instructions between consecutive marks (1st-2nd, 3rd-4th, ...) of MicroPython's
    CPU."""
    counts = [count for cpu, count in marks if cpu == eb.MICROPYTHON_CPU]
    if len(counts) % 2:
        raise eb.BoardError(f"{len(counts)} marks: an odd number")
    return np.array(counts[1::2], dtype=np.float64) - np.array(counts[0::2], dtype=np.float64)


def summarise(spec: dict, pred: np.ndarray, base: np.ndarray) -> dict:
    net = pred - np.median(base)
    row = {"instr_per_pred": round(float(net.mean()), 1),
           "instr_min": int(net.min()), "instr_max": int(net.max()),
           "baseline_instr": float(np.median(base))}
    if spec["kind"] == "trees":
        row["instr_per_node"] = round(float(net.sum()) / float(np.sum(spec["nodes_visited"])), 1)
    elif spec["kind"] == "knn":
        row["instr_per_sample"] = round(float(net.mean()) / spec["n_samples"], 1)
    else:
        row["instr_per_mac"] = round(float(net.mean()) / spec["macs"], 2)
    return row


def table(specs: list[dict], results: dict) -> str:
    head = ["model", "input", "unit", "instr/pred", "min", "max", "instr/unit"]
    rows = []
    for s in specs:
        r = results[s["name"]]
        if "nomem" in r:
            rows.append([s["name"], s["input"], "", "does not load: " + r["nomem"], "", "", ""])
            continue
        if s["kind"] == "trees":
            unit, per = f"{np.mean(s['nodes_visited']):.1f} nodes", f"{r['instr_per_node']:.1f}"
        elif s["kind"] == "knn":
            unit, per = f"{s['n_samples']} samples", f"{r['instr_per_sample']:.1f}"
        else:
            unit, per = f"{s['macs']} MACs", f"{r['instr_per_mac']:.2f}"
        rows.append([s["name"], s["input"], unit, f"{r['instr_per_pred']:,.0f}",
                     f"{r['instr_min']:,}", f"{r['instr_max']:,}", per])
    return markdown_table(head, rows)


def tinymaix_workload(cnn_samples: int) -> list[tuple[dict, bytes, np.ndarray]]:
    """(spec, blob, inputs) of TinyMaix's networks, random int8 inputs."""
    rng = np.random.default_rng(3)
    out = []
    for name, tflite in tinymaix_models():
        blob = convert_tflite(tflite, name=name)
        model = read_blob(blob)
        x = rng.integers(-128, 128, (cnn_samples, model.n_inputs), dtype=np.int8)
        out.append(({"name": name, "group": "TinyMaix", "input": "b", "n": cnn_samples,
                     "n_inputs": model.n_inputs, "kind": "cnn", "macs": cnn_macs(blob),
                     "blob_bytes": len(blob), "arena_bytes": model.cnn.tensor_arena_bytes},
                    blob, x))
    return out


def heap_figures(stdout: str) -> dict:
    """The heap after the import, from the board's HEAP and LARGEST lines and
    mem_info() (its sizes in 16-byte blocks; bench_rp2040 reads the Pico's with it)."""
    out = {}
    for line in stdout.splitlines():
        if line.startswith("HEAP "):
            out["free_after_import"] = int(line.split()[1])
        elif line.startswith("GC: total"):  # a split heap's (the ESP32's) only
            fields = dict(f.strip().rsplit(":", 1) for f in line[len("GC:"):].split(","))
            if "max new split" in fields:
                out["max_new_area"] = int(fields["max new split"])
        elif line.startswith("LARGEST "):
            out["largest_allocation"] = int(line.split()[1])
        elif "max free sz:" in line:
            out["largest_free_block"] = 16 * int(line.rsplit(":", 1)[1])
    return out


def run(samples: int, cnn_samples: int, names: list[str] | None = None, *,
        tinymaix: bool = False, module: str = "all") -> tuple[list[dict], dict]:
    """(specs, results by model name); a model whose load ran out of heap gets
    {"nomem": message} and the heap after the import is results["heap"]."""
    work = tinymaix_workload(cnn_samples) if tinymaix else workload(samples, cnn_samples)
    if names:
        work = [w for w in work if w[0]["name"] in names]
    mpy = os.path.join(NATMOD_DIR, "xtensawin", *([] if module == "all" else [module]), "emlml.mpy")
    files = {"/lib/emlml.mpy": mpy,
             "/boot.py": eb.BOOT_PY_FAST_FS,
             "/bench.txt": "".join(f"{s['name']} {s['input']} {s['n_inputs']} {s['n']}\n"
                                   for s, _, _ in work).encode()}
    for spec, blob, x in work:
        files[f"/{spec['name']}.bin"] = blob
        files[f"/{spec['name']}.x"] = x.tobytes()
    script = os.path.join(ON_DEVICE, "mp_esp32_icount.py")
    with eb.Board(eb.fs_image(files), marks=True) as board:
        before = len(board.marks())  # the boot code's own stores to the word
        result = board.mpremote("resume", "run", script, timeout=3600, check=False)
        marks = board.marks()[before:]
    nomem = {line.split()[1]: line for line in result.stdout.splitlines() if line.startswith("NOMEM ")}
    if result.returncode or any(f"DONE {s['name']}" not in result.stdout and s["name"] not in nomem
                                for s, _, _ in work):
        raise eb.BoardError("the benchmark failed on the board: "
                            f"{result.stdout[-1000:]}{result.stderr[-1000:]}")
    counts = pairs(marks)
    results, i = {"heap": heap_figures(result.stdout)}, 0
    for spec, _, _ in work:
        if spec["name"] in nomem:
            _, _, free, message = nomem[spec["name"]].split(" ", 3)
            results[spec["name"]] = {"nomem": message, "free_before_load": int(free)}
            continue
        n = spec["n"]
        if len(counts) < i + 2 * n:
            raise eb.BoardError(f"{spec['name']}: {len(counts) - i} marked calls left, "
                                f"expected {2 * n}")
        results[spec["name"]] = summarise(spec, counts[i:i + n], counts[i + n:i + 2 * n])
        i += 2 * n
    if i != len(counts):
        raise eb.BoardError(f"{len(counts) - i} marked calls more than the models made")
    return [s for s, _, _ in work], results


def tinymaix_table(specs: list[dict], results: dict) -> str:
    head = ["network", "MACs", "blob B", "arena B", "free before load", "instr/inference",
            "instr/MAC", "TinyMaix ms", "ms x 240,000", "ratio"]
    rows = []
    for s in specs:
        r = results[s["name"]]
        ms = TINYMAIX_ESP32_MS.get(s["name"])
        tm = f"{ms:g}" if ms else "-"
        scaled = ms * ESP32_HZ / 1000 if ms else None
        if "nomem" in r:
            rows.append([s["name"], f"{s['macs']:,}", f"{s['blob_bytes']:,}", f"{s['arena_bytes']:,}",
                         f"{r['free_before_load']:,}", "does not load: " + r["nomem"], "-", tm,
                         f"{scaled:,.0f}" if scaled else "-", "-"])
            continue
        ratio = f"{r['instr_per_pred'] / scaled:.2f}" if scaled else "-"
        rows.append([s["name"], f"{s['macs']:,}", f"{s['blob_bytes']:,}", f"{s['arena_bytes']:,}", "",
                     f"{r['instr_per_pred']:,.0f}", f"{r['instr_per_mac']:.2f}", tm,
                     f"{scaled:,.0f}" if scaled else "-", ratio])
    return markdown_table(head, rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench_esp32", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.path.join(BUILD, "bench_esp32.json"))
    p.add_argument("--samples", type=int, default=50, help="inputs per tree/kNN model")
    p.add_argument("--cnn-samples", type=int, default=5, help="inputs per CNN")
    p.add_argument("--models", help="comma-separated model names (default: all)")
    p.add_argument("--tinymaix", action="store_true",
                   help="TinyMaix's benchmark networks instead, beside its published times")
    p.add_argument("--module", choices=("all", "cnn"), default="all",
                   help="the module of every family (default) or the CNN-only one")
    args = p.parse_args(argv)
    specs, results = run(args.samples, args.cnn_samples,
                         args.models.split(",") if args.models else None,
                         tinymaix=args.tinymaix, module=args.module)
    print(f"heap after `import emlml` ({args.module} module): {results['heap']}")
    if args.tinymaix:
        print(tinymaix_table(specs, results))
        print("instr/inference: emlml on the emulated ESP32 (QEMU instructions); TinyMaix ms: "
              "its published time on a real ESP32 at 240 MHz; ms x 240,000: those cycles "
              "(an upper bound of its instructions if CPI >= 1); ratio: emlml's instructions "
              "over TinyMaix's cycles")
    else:
        print(table(specs, results))
        print("instr/pred: mean instructions per predict() on the emulated ESP32 (CPU 1, "
              "icount_marks.so), loop and call overhead subtracted; instr/unit: per tree node "
              "visited, per stored kNN sample, or per CNN multiply-accumulate")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"board": "ESP32_GENERIC MicroPython 1.23.0 in Espressif's QEMU, "
                   "xtensawin emlml.mpy", "measure": "instructions (icount_marks.so)",
                   "models": specs, "results": results}, f, indent=1)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
