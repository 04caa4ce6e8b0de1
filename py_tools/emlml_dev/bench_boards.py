"""Instructions per prediction on the emulated Cortex-M boards (`make bench-boards`):
emlml against PyPI emlearn's C trees and against m2cgen's pure Python, same models.

QEMU runs with -icount shift=0: its clock advances 1 ns per instruction and the
boards' 25 MHz clock (SysTick) ticks once per 40 instructions, the same on every run.
Instruction counts, not cycles: QEMU models no pipeline, wait states or flash.

Two arches, each run on the emulated board that executes it:

- armv6m code (Cortex-M0/M0+, Thumb-1, soft float) on mps2-an385 (Cortex-M3)
- armv7emsp code (Cortex-M4F, hard float) on mps2-an386 (Cortex-M4F)

Per model and arch:

1. C, bare metal (tests_host/bench/bench_trees_baremetal.c): emlml's C core
   (`emlml_predict_class`) and emlearn's generated C for the same fitted model
   (`method='inline'`, float features: bench_emlearn.model_header) in one program,
   compiled with arm-none-eabi-gcc and the flags of emlml's .mpy build for that arch
   (without -fpic), linked with newlib-nano and libgcc, run under QEMU; the program
   times the loop over the held-out inputs and each prediction, subtracts the same
   loops around an empty function and reports through semihosting. Per tree node
   visited: the splits scikit-learn's own trees visit (bench_emlearn.splits_visited),
   as a mean (instr/pred / splits/pred), and the cost of a left and of a right step
   from a least-squares fit of the per-prediction counts to the left and right steps
   of each input's walks. kNN: per stored sample. emlearn has no C for kNN here: '-'.
2. MicroPython on the board (mp_boards.py through mpremote): emlml's .mpy for the
   arch (`predict(x)` and `predict_proba(x, out)`) and the m2cgen pure-Python export
   of the same model (`score(list)`, which returns the class probabilities), timed
   one call at a time with time.ticks_cpu() as mp_icount.py does, minus the same loop
   calling id(x). The interpreter is the Cortex-M3 firmware (Thumb-2, soft float) on
   the an385 and the Cortex-M4F one (hard float) on the an386. m2cgen has no kNN
   export: '-'.

There is no CNN in emlml yet: no multiply-accumulate column.

    python -m emlml_dev.bench_boards [--samples 100] [--out build/bench_boards.json]

Prints the table; writes build/bench_boards.json, build/bench_boards.md and the plot
docs/benchmarks_qemu.png.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from emlml_dev import qemu_board as q
from emlml_dev.bench_emlearn import (
    CORE,
    CORE_SRC,
    c_array,
    import_emlearn,
    model_header,
)
from emlml_dev.bench_emlearn import MODELS as TREE_MODELS
from emlml_dev.paths import BUILD, ON_DEVICE, ROOT
from emlml_dev.zoo import ZooModel, demo_models, test_models

HARNESS = os.path.join(ROOT, "tests_host", "bench", "bench_trees_baremetal.c")
LINKER_SCRIPT = os.path.join(ROOT, "boards", "qemu_mps2", "mps2.ld")
PLOT = os.path.join(ROOT, "docs", "benchmarks_qemu.png")
CC = "arm-none-eabi-gcc"
INSTR_PER_TICK = 1_000_000_000 // 25_000_000  # -icount shift=0: 1 ns per instruction
KNN_MODELS = ("breast_cancer_knn",)
MODELS = tuple(TREE_MODELS) + KNN_MODELS

# The flags of emlml's .mpy build (py/dynruntime.mk and micropython_module/Makefile)
# without -fpic: this program is linked statically.
COMMON_CFLAGS = ["-std=c99", "-Os", "-DNDEBUG", "-fno-common", "-ffp-contract=off",
                 "-fno-math-errno", "-fno-strict-aliasing",
                 "-fno-tree-loop-distribute-patterns", "-ffunction-sections",
                 "-fdata-sections"]
ARCHS = {
    # arch: (compiler flags, QEMU machine, MicroPython flavour on that machine)
    "armv6m": (["-mthumb", "-mcpu=cortex-m0", "-mfloat-abi=soft"], "mps2-an385", "an385"),
    "armv7emsp": (["-mthumb", "-mcpu=cortex-m4", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"],
                  "mps2-an386", "an386"),
}


def zoo_models(names=MODELS) -> list[ZooModel]:
    zoo = {m.name: m for m in demo_models() + test_models()}
    return [zoo[n] for n in names]


def is_trees(model: ZooModel) -> bool:
    return hasattr(model.estimator, "estimators_") or hasattr(model.estimator, "tree_")


def bench_header(model: ZooModel) -> str:
    """bench_model.h: bench_emlearn's for a tree model; the same without emlearn's code
    for a kNN (float inputs only)."""
    if is_trees(model):
        return model_header(model)
    x = np.ascontiguousarray(model.inputs(), dtype=np.float32)
    if model.inputs().dtype != np.float32:
        raise ValueError(f"{model.name}: the bare-metal benchmark takes float inputs")
    sk = np.searchsorted(model.estimator.classes_, model.estimator.predict(model.X_test))
    rows = ",\n  ".join("{" + ", ".join(repr(float(v)) + "f" for v in row) + "}" for row in x)
    return "\n".join([
        f"#define N_SAMPLES {x.shape[0]}",
        f"#define N_FEATURES {x.shape[1]}",
        c_array("BLOB", "uint8_t", model.blob(), attrs="__attribute__((aligned(4))) "),
        f"static const float INPUTS[N_SAMPLES][N_FEATURES] = {{\n  {rows}\n}};",
        c_array("SKLEARN", "int32_t", sk),
    ])


def steps_per_input(model: ZooModel) -> tuple[np.ndarray, np.ndarray]:
    """Left and right steps scikit-learn's trees take for each held-out input, summed
    over the trees (their sum is the split nodes visited; the total over the inputs is
    bench_emlearn.splits_visited). emlml's blob keeps the left child next to its
    parent, so its walk takes the same steps."""
    est = model.estimator
    left = np.zeros(len(model.X_test), dtype=np.int64)
    right = np.zeros(len(model.X_test), dtype=np.int64)
    for tree in getattr(est, "estimators_", [est]):
        path = tree.decision_path(model.X_test).tocsc()
        t = tree.tree_
        for children, count in ((t.children_left, left), (t.children_right, right)):
            mask = np.zeros(t.node_count, dtype=bool)
            mask[children[children >= 0]] = True
            count += np.asarray(path[:, np.nonzero(mask)[0]].sum(axis=1)).ravel()
    return left, right


# ------------------------------------------------------------------ C, bare metal


def build_baremetal(model: ZooModel, arch: str, work: str) -> str:
    """Compile and link the bare-metal program for one model and arch; returns the ELF."""
    emlearn = import_emlearn()
    folder = os.path.join(work, arch, model.name)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "bench_model.h"), "w") as f:
        f.write(bench_header(model))
    elf = os.path.join(folder, "bench.elf")
    cmd = [CC, *ARCHS[arch][0], *COMMON_CFLAGS, f"-I{folder}",
           f"-I{os.path.join(CORE, 'core')}", f"-I{os.path.dirname(emlearn.__file__)}",
           "-nostartfiles", "-T", LINKER_SCRIPT, "-Wl,--gc-sections", "--specs=nano.specs",
           "-o", elf, HARNESS, *[os.path.join(CORE, s) for s in CORE_SRC], "-lc", "-lgcc"]
    subprocess.run(cmd, check=True)
    return elf


def run_baremetal(elf: str, machine: str, timeout: float = 600) -> dict:
    """Run the program under QEMU -icount shift=0; its report, parsed."""
    cmd = [q.QEMU, "-M", machine, "-display", "none", "-monitor", "none", "-serial", "none",
           "-semihosting-config", "enable=on,target=native", "-icount", "shift=0",
           "-kernel", elf]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    out = proc.stdout + proc.stderr  # QEMU writes the semihosting console to stderr
    if proc.returncode != 0 or "DONE" not in out:
        raise RuntimeError(f"{elf} on {machine}: exit {proc.returncode}\n"
                           f"{out[-3000:]}")
    report: dict = {"total": {}, "ticks": {}, "agree": {}, "lines": out.splitlines()}
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0] == "AGREE":
            report["n"] = int(parts[-1])
            for name, value in zip(parts[1:-2:2], parts[2:-2:2]):
                report["agree"][name] = int(value)
        elif parts and parts[0] == "TOTAL":
            report["total"][parts[1]] = int(parts[2])
        elif parts and parts[0] == "TICKS":
            report["ticks"][parts[1]] = [int(t) for t in parts[2].split(",")]
    return report


def summarise_c(model: ZooModel, report: dict) -> dict:
    n = report["n"]
    empty = report["total"]["empty"]
    row: dict = {"n": n, "agree": report["agree"]}
    for impl in ("emlml", "emlearn"):
        if impl in report["total"]:
            row[f"{impl}_instr_per_pred"] = round(
                (report["total"][impl] - empty) * INSTR_PER_TICK / n, 1)
    if "emlearn_instr_per_pred" in row:
        row["emlml_over_emlearn"] = round(row["emlml_instr_per_pred"] /
                                          row["emlearn_instr_per_pred"], 3)
    if is_trees(model):
        left, right = steps_per_input(model)
        splits = (left + right).astype(np.float64)
        row["splits_per_pred"] = round(float(splits.mean()), 2)
        row["right_steps_per_pred"] = round(float(right.mean()), 2)
        row["emlml_instr_per_split"] = round(float(row["emlml_instr_per_pred"] / splits.mean()), 2)
        net = (np.array(report["ticks"]["emlml"], dtype=np.float64) -
               np.mean(report["ticks"]["empty"])) * INSTR_PER_TICK
        if np.ptp(splits) > 0 and np.ptp(net) > 0:
            slope, fixed = np.polyfit(splits, net, 1)
            row["emlml_split_slope"] = round(float(slope), 2)
            row["emlml_fixed_instr"] = round(float(fixed), 1)
            row["r"] = round(float(np.corrcoef(splits, net)[0, 1]), 3)
            # instructions = fixed + per_left * left + per_right * right
            design = np.column_stack([np.ones_like(splits), left, right])
            (fixed2, per_left, per_right), *_ = np.linalg.lstsq(design, net, rcond=None)
            row["emlml_left_step"] = round(float(per_left), 2)
            row["emlml_right_step"] = round(float(per_right), 2)
            row["emlml_fixed_instr_lr"] = round(float(fixed2), 1)
    else:
        row["n_samples"] = int(model.estimator.n_samples_fit_)
        row["emlml_instr_per_sample"] = round(row["emlml_instr_per_pred"] / row["n_samples"], 2)
    return row


def bench_c(model: ZooModel, arch: str, work: str) -> dict:
    elf = build_baremetal(model, arch, work)
    return summarise_c(model, run_baremetal(elf, ARCHS[arch][1]))


# ------------------------------------------------------------ MicroPython on the board


def m2cgen_export(model: ZooModel) -> str | None:
    import m2cgen
    if not is_trees(model):
        return None  # m2cgen has no kNN export
    return m2cgen.export_to_python(model.estimator)


def prepare_board_files(models: list[ZooModel], folder: str, n_max: int) -> dict[str, int]:
    """Blobs, the first n_max inputs, m2cgen exports and boards.txt in `folder`."""
    os.makedirs(folder, exist_ok=True)
    lines, counts = [], {}
    for model in models:
        x = np.ascontiguousarray(model.inputs()[:n_max], dtype=np.float32)
        with open(os.path.join(folder, model.name + ".bin"), "wb") as f:
            f.write(model.blob())
        with open(os.path.join(folder, model.name + ".x"), "wb") as f:
            f.write(x.tobytes())
        code = m2cgen_export(model)
        if code is not None:
            with open(os.path.join(folder, model.name + "_m2c.py"), "w") as f:
                f.write(code)
        n_out = len(model.estimator.classes_)
        lines.append(f"{model.name} f {x.shape[1]} {x.shape[0]} {n_out} {int(code is not None)}")
        counts[model.name] = x.shape[0]
    with open(os.path.join(folder, "boards.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return counts


def run_board(arch: str, models: list[ZooModel], folder: str) -> dict:
    """mp_boards.py on the arch's board with its emlml.mpy; per model and series the
    ticks and classes."""
    flavour = ARCHS[arch][2]
    files = []
    for model in models:
        files += [os.path.join(folder, model.name + ext) for ext in (".bin", ".x")]
        if os.path.exists(os.path.join(folder, model.name + "_m2c.py")):
            files.append(os.path.join(folder, model.name + "_m2c.py"))
    args = ["mkdir", ":lib", "+", "cp", os.path.join(q.NATMOD_DIR, arch, "emlml.mpy"),
            ":lib/emlml.mpy", "+", "cp", *files, os.path.join(folder, "boards.txt"), ":",
            "+", "run", os.path.join(ON_DEVICE, "mp_boards.py")]
    with q.start(flavour, icount=True) as board:
        out = board.mpremote(*args, timeout=1200).stdout
    if "DONE" not in out:
        raise q.BoardError(f"{flavour}/{arch}: mp_boards.py did not finish:\n{out[-3000:]}")
    raw: dict = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0] in ("T", "P"):
            raw.setdefault(parts[1], {}).setdefault(parts[0], {})[parts[2]] = \
                [int(v) for v in parts[3].split(",")]
    return raw


def summarise_mp(model: ZooModel, raw: dict) -> dict:
    ticks, classes = raw["T"], raw["P"]
    base = float(np.median(ticks["base"]))
    n = len(ticks["base"])
    sk = np.searchsorted(model.estimator.classes_, model.estimator.predict(model.X_test[:n]))
    row: dict = {"n": n, "baseline_instr": base * INSTR_PER_TICK}
    for series in ("predict", "proba", "m2cgen"):
        if series in ticks:
            net = (np.array(ticks[series], dtype=np.float64) - base) * INSTR_PER_TICK
            row[f"{series}_instr_per_pred"] = round(float(net.mean()), 1)
    for impl in ("emlml", "m2cgen"):
        if impl in classes:
            row[f"agree_{impl}"] = int(np.sum(np.array(classes[impl]) == sk))
    if "m2cgen_instr_per_pred" in row:
        row["proba_over_m2cgen"] = round(row["proba_instr_per_pred"] /
                                         row["m2cgen_instr_per_pred"], 4)
        row["predict_over_m2cgen"] = round(row["predict_instr_per_pred"] /
                                           row["m2cgen_instr_per_pred"], 4)
    return row


# ----------------------------------------------------------------- table, plot, files


def _f(value, fmt: str = "%.0f") -> str:
    return "-" if value is None else fmt % value


def table_rows(models: list[ZooModel], results: dict) -> list[list[str]]:
    rows = []
    for model in models:
        for arch in ARCHS:
            c = results["c"][arch][model.name]
            mp = results["micropython"].get(arch, {}).get(model.name, {})
            if is_trees(model):
                unit = f"{c['splits_per_pred']:.1f} splits"
                per_unit = _f(c["emlml_instr_per_split"], "%.1f")
                slope = "-"
                if "emlml_left_step" in c:
                    slope = f"{c['emlml_left_step']:.1f}/{c['emlml_right_step']:.1f}"
            else:
                unit = f"{c['n_samples']} samples"
                per_unit = _f(c["emlml_instr_per_sample"], "%.1f")
                slope = "-"
            agree = f"{c['agree']['emlml']}/{c['n']}"
            agree += f", {c['agree']['emlearn']}/{c['n']}" if "emlearn" in c["agree"] else ", -"
            mp_agree = "-"
            if mp:
                mp_agree = f"{mp['agree_emlml']}/{mp['n']}"
                mp_agree += f", {mp['agree_m2cgen']}/{mp['n']}" if "agree_m2cgen" in mp else ", -"
            rows.append([
                model.name, arch, unit,
                _f(c.get("emlml_instr_per_pred")), _f(c.get("emlearn_instr_per_pred")),
                _f(c.get("emlml_over_emlearn"), "%.2f"), per_unit, slope, agree,
                _f(mp.get("predict_instr_per_pred")), _f(mp.get("proba_instr_per_pred")),
                _f(mp.get("m2cgen_instr_per_pred")), _f(mp.get("proba_over_m2cgen"), "%.4f"),
                mp_agree,
            ])
    return rows


HEAD = ["model", "arch", "per pred", "emlml C", "emlearn C", "emlml/emlearn",
        "emlml C per unit", "emlml C left/right step", "agree C emlml, emlearn",
        "emlml MP predict", "emlml MP proba", "m2cgen MP", "emlml proba/m2cgen",
        "agree MP emlml, m2cgen"]

NOTES = """\
- Instructions (QEMU -icount shift=0: one SysTick tick of the 25 MHz clock = 40
  instructions), not cycles. armv6m code runs on mps2-an385 (Cortex-M3), armv7emsp
  code on mps2-an386 (Cortex-M4F).
- per pred: split nodes scikit-learn's trees visit per held-out input (summed over the
  trees), or the stored samples a kNN prediction scans.
- emlml C, emlearn C: mean instructions per prediction of the bare-metal program
  (tests_host/bench/bench_trees_baremetal.c), `emlml_predict_class` against emlearn
  0.23.2's `method='inline'` C for the same model, both built by arm-none-eabi-gcc with
  the flags of emlml's .mpy build; the loop around an empty function subtracted.
  emlearn has no C kNN here.
- emlml C per unit: instructions per split visited (emlml C / splits: the fixed costs
  included) or per stored kNN sample. left/right step: a least-squares fit of each
  prediction's count to fixed + a * left steps + b * right steps of its walks (the
  cost of one tree step; the fixed part is in the JSON).
- MP: MicroPython 1.23 on the same board (Cortex-M3 firmware on the an385, Cortex-M4F
  on the an386) with emlml's armv6m / armv7emsp .mpy: `predict(x)`,
  `predict_proba(x, out)`, and `score(list)` of the model's m2cgen 0.10.0 pure-Python
  export (class probabilities, as predict_proba); mean instructions per call minus
  the loop calling id(x). m2cgen has no kNN export.
- agree: predictions equal to scikit-learn's on the held-out inputs timed (MP: the
  first of them; m2cgen: argmax of score)."""


def format_table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows + [HEAD]) for i in range(len(HEAD))]
    fmt = "| " + " | ".join(f"{{:{w}}}" for w in widths) + " |"
    lines = [fmt.format(*HEAD), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += [fmt.format(*r) for r in rows]
    return "\n".join(lines)


def plot(models: list[ZooModel], results: dict, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    series = [("emlml C", "c", "emlml_instr_per_pred"),
              ("emlearn C (inline)", "c", "emlearn_instr_per_pred"),
              ("emlml on MicroPython, predict_proba", "micropython", "proba_instr_per_pred"),
              ("m2cgen pure Python on MicroPython", "micropython", "m2cgen_instr_per_pred")]
    colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"]
    fig, axes = plt.subplots(1, len(ARCHS), figsize=(13, 5), sharey=True)
    width = 0.8 / len(series)
    names = [m.name for m in models]
    for ax, arch in zip(axes, ARCHS):
        for j, (label, part, key) in enumerate(series):
            values = [results[part].get(arch, {}).get(n, {}).get(key) for n in names]
            xs = [i + (j - (len(series) - 1) / 2) * width for i in range(len(names))]
            kept = [(x, v) for x, v in zip(xs, values) if v is not None and v > 0]
            if kept:
                ax.bar([x for x, _ in kept], [v for _, v in kept], width, label=label,
                       color=colours[j])
        ax.set_yscale("log")
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels([n.replace("_", "\n", 1) for n in names], fontsize=8)
        board = "mps2-an385 (Cortex-M3)" if arch == "armv6m" else "mps2-an386 (Cortex-M4F)"
        ax.set_title(f"{arch} code on QEMU {board}", fontsize=10)
        ax.grid(axis="y", which="major", alpha=0.3)
    axes[0].set_ylabel("instructions per inference (log scale)")
    axes[0].legend(fontsize=8, loc="upper left")
    fig.suptitle("Instructions per inference, QEMU -icount shift=0 "
                 "(no emlearn C or m2cgen export for kNN)", fontsize=11)
    fig.text(0.01, 0.01, "C: bare-metal program, emlml_predict_class vs emlearn 0.23.2 inline "
             "trees, arm-none-eabi-gcc -Os. MicroPython: 1.23 firmware of that board "
             "(Cortex-M3 / Cortex-M4F) with emlml's armv6m / armv7emsp .mpy; "
             "m2cgen 0.10.0 score(list).", fontsize=7)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def qemu_version() -> str:
    out = subprocess.run([q.QEMU, "--version"], capture_output=True, text=True).stdout
    return out.splitlines()[0] if out else "?"


def gcc_version() -> str:
    out = subprocess.run([CC, "--version"], capture_output=True, text=True).stdout
    return out.splitlines()[0] if out else "?"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench_boards", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.path.join(BUILD, "bench_boards.json"))
    p.add_argument("--md", default=os.path.join(BUILD, "bench_boards.md"))
    p.add_argument("--plot", default=PLOT)
    p.add_argument("--samples", type=int, default=100,
                   help="inputs per model timed on MicroPython (the C program takes all)")
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--no-micropython", action="store_true", help="the C part only")
    args = p.parse_args(argv)
    started = time.monotonic()
    for tool in (CC, q.QEMU):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing: make arm-toolchain qemu-tools")
    models = zoo_models(args.models.split(","))
    work = os.path.join(BUILD, "bench_boards")
    results: dict = {"c": {a: {} for a in ARCHS}, "micropython": {}}

    def c_job(model: ZooModel, arch: str) -> None:
        results["c"][arch][model.name] = bench_c(model, arch, work)
        print(f"  C {arch} {model.name}: done", file=sys.stderr, flush=True)

    def mp_job(arch: str, folder: str) -> None:
        raw = run_board(arch, models, folder)
        results["micropython"][arch] = {m.name: summarise_mp(m, raw[m.name]) for m in models}
        print(f"  MicroPython {arch}: done", file=sys.stderr, flush=True)

    with ThreadPoolExecutor(max_workers=2) as pool:
        jobs = []
        if not args.no_micropython:
            folder = os.path.join(work, "board")
            prepare_board_files(models, folder, args.samples)
            jobs += [pool.submit(mp_job, arch, folder) for arch in ARCHS]
        jobs += [pool.submit(c_job, m, a) for m in models for a in ARCHS]
        for job in jobs:
            job.result()
    table = format_table(table_rows(models, results))
    print(table)
    print()
    print(NOTES)
    env = {"qemu": qemu_version(), "cc": gcc_version(),
           "cflags": {a: " ".join(ARCHS[a][0] + COMMON_CFLAGS) for a in ARCHS},
           "machines": {a: ARCHS[a][1] for a in ARCHS}, "instructions_per_tick": INSTR_PER_TICK,
           "mp_samples": args.samples, "seconds": round(time.monotonic() - started, 1)}
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"environment": env, "results": results}, f, indent=1)
    flags = "\n".join(f"- {a}: `{env['cflags'][a]}`" for a in ARCHS)
    with open(args.md, "w") as f:
        f.write(f"{table}\n\n{NOTES}\n\n{env['qemu']}; {env['cc']}; flags:\n\n{flags}\n")
    if not args.no_micropython:
        plot(models, results, args.plot)
        print(f"wrote {args.out}, {args.md}, {args.plot}")
    else:
        print(f"wrote {args.out}, {args.md}")
    print(f"{env['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
