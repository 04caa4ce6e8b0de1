"""Instructions per prediction: emlml's C trees against emlearn's C trees.

For each tree classifier of the zoo, one C program holds the emlml blob, emlearn's
generated code for the same fitted model (PyPI `emlearn`, `method='inline'`, float
features) and the held-out inputs. It is compiled with the same compiler and flags for
both, and callgrind counts the instructions of the loop over the inputs for each
(deterministic: the same count on every run). The table gives instructions per
prediction and per split node visited, and how often each agrees with scikit-learn.

    python -m emlml_dev.bench_emlearn [--cflags "-O2"] [--out build/bench_emlearn.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

from emlml_dev.paths import ROOT, core_sources
from emlml_dev.zoo import ZooModel, demo_models, test_models

CORE = os.path.join(ROOT, "micropython_module")
CORE_SRC = core_sources()
HARNESS = os.path.join(ROOT, "tests_host", "bench", "bench_trees.c")
MODELS = ("digits_forest", "wine_extratrees", "digits_tree_full", "breast_cancer_extratrees")


def import_emlearn():
    """emlearn, imported without its side effect: emlearn.bayes calls
    numpy.seterr(all='raise') at import, which would turn every later float underflow in
    this process (scikit-learn, our converter) into an exception."""
    with np.errstate():  # restores numpy's error handling on exit
        import emlearn
    return emlearn


def c_array(name: str, ctype: str, values, per_line: int = 16, attrs: str = "") -> str:
    items = [str(v) for v in values]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return f"static const {ctype} {name}[] {attrs}= {{\n  " + ",\n  ".join(lines) + "\n};\n"


def _c_float(v: float) -> str:
    return '__builtin_nanf("")' if np.isnan(v) else repr(float(v)) + "f"


def model_header(model: ZooModel) -> str:
    emlearn = import_emlearn()
    blob = model.blob()
    x = np.ascontiguousarray(model.inputs(), dtype=np.float32)
    sk = np.searchsorted(model.estimator.classes_, model.estimator.predict(model.X_test))
    code = emlearn.convert(model.estimator, method="inline", dtype="float").save(name="eml_model")
    # NaN inputs (models with missing values) and emlearn's threshold of a split on
    # missing values (inf) as C spells them
    code = re.sub(r"\binff\b", "__builtin_inff()", code)
    rows = ",\n  ".join("{" + ", ".join(_c_float(v) for v in row) + "}" for row in x)
    return "\n".join([
        f"#define N_SAMPLES {x.shape[0]}",
        f"#define N_FEATURES {x.shape[1]}",
        "#define EMLEARN_PREDICT eml_model_predict",
        c_array("BLOB", "uint8_t", blob, attrs="__attribute__((aligned(4))) "),
        f"static const float INPUTS[N_SAMPLES][N_FEATURES] = {{\n  {rows}\n}};",
        c_array("SKLEARN", "int32_t", sk),
        code,
    ])


def splits_visited(model: ZooModel) -> int:
    """Split nodes scikit-learn's own trees visit over the held-out inputs."""
    est = model.estimator
    trees = getattr(est, "estimators_", [est])
    total = 0
    for tree in trees:
        path = tree.decision_path(model.X_test)
        total += int(path.sum()) - path.shape[0]  # every path ends at one leaf
    return total


def callgrind_inclusive(exe: str) -> dict[str, int]:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cg.out")
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", exe],
                       check=True, capture_output=True, text=True)
        text = subprocess.run(["callgrind_annotate", "--inclusive=yes", out], check=True,
                              capture_output=True, text=True).stdout
    costs = {}
    for line in text.splitlines():
        m = re.match(r"\s*([\d,]+) \([^)]*\)\s+\S*:(run_emlml|run_emlearn) ", line)
        if m:
            costs[m.group(2)] = int(m.group(1).replace(",", ""))
    return costs


def bench(model: ZooModel, cc: str, cflags: list[str], work: str) -> dict:
    emlearn = import_emlearn()
    header = os.path.join(work, "bench_model.h")
    with open(header, "w") as f:
        f.write(model_header(model))
    exe = os.path.join(work, model.name)
    cmd = [cc, "-std=gnu99", *cflags, "-ffp-contract=off", "-fno-math-errno", "-g",
           f"-I{work}", f"-I{os.path.join(CORE, 'core')}", f"-I{os.path.dirname(emlearn.__file__)}",
           "-o", exe, HARNESS] + [os.path.join(CORE, s) for s in CORE_SRC]
    subprocess.run(cmd, check=True)
    run = subprocess.run([exe], check=True, capture_output=True, text=True).stdout
    agree = [int(v) for v in re.findall(r"\d+", run)]
    costs = callgrind_inclusive(exe)
    n = len(model.X_test)
    splits = splits_visited(model)
    return {
        "model": model.name, "estimator": type(model.estimator).__name__, "n": n,
        "cflags": " ".join(cflags),
        "emlml_instr_per_pred": costs["run_emlml"] / n,
        "emlearn_instr_per_pred": costs["run_emlearn"] / n,
        "splits_per_pred": splits / n,
        "emlml_instr_per_split": costs["run_emlml"] / splits,
        "emlml_agree": agree[0], "emlearn_agree": agree[1],
    }


def format_table(rows: list[dict]) -> str:
    head = ("model", "flags", "emlml instr/pred", "emlearn instr/pred", "emlml/emlearn",
            "splits/pred", "emlml instr/split", "agree emlml", "agree emlearn")
    lines = [head]
    for r in rows:
        lines.append((r["model"], r["cflags"], "%.0f" % r["emlml_instr_per_pred"],
                      "%.0f" % r["emlearn_instr_per_pred"],
                      "%.2f" % (r["emlml_instr_per_pred"] / r["emlearn_instr_per_pred"]),
                      "%.1f" % r["splits_per_pred"], "%.1f" % r["emlml_instr_per_split"],
                      "%d/%d" % (r["emlml_agree"], r["n"]), "%d/%d" % (r["emlearn_agree"], r["n"])))
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = ["| " + " | ".join(c.ljust(w) for c, w in zip(line, widths)) + " |" for line in lines]
    out.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cc", default="gcc")
    p.add_argument("--cflags", action="append", help="one flag set per run (default: -O2 and -Os)")
    p.add_argument("--out", default=os.path.join(ROOT, "build", "bench_emlearn.json"))
    args = p.parse_args(argv)
    flag_sets = [f.split() for f in (args.cflags or ["-O2", "-Os"])]
    zoo = {m.name: m for m in demo_models() + test_models()}
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for flags in flag_sets:
            for name in MODELS:
                print(f"  {name} {' '.join(flags)} ...", file=sys.stderr)
                rows.append(bench(zoo[name], args.cc, flags, work))
    table = format_table(rows)
    print(table)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(rows, f, indent=1)
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
