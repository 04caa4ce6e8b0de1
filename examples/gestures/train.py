"""Gestures from 3-axis accelerometer windows: spectral features + a RandomForest beside
the raw-window CNN, trained, converted, run on MicroPython and measured.

    python examples/gestures/train.py [--out build/examples/gestures] [--trees 10] [--qemu]

The data is emlml's synthetic gesture set (emlml_tools.demo.data.motion_split: idle,
walk, shake, tap, freefall; windows of 64 samples x 3 axes at 50 Hz, in g; 750 training
and 250 held-out windows). Three models take the same raw window:

- spectrum_forest: Pipeline(Spectrum(3 channels, 8 bands), RandomForestClassifier)
- stats_forest: Pipeline(ChannelStats(3 channels), RandomForestClassifier)
- motion_cnn: the CNN shipped with emlml (emlml_tools/models/motion_cnn.tflite, trained
  by Keras on the same training windows, int8)

Each is converted by ``emlml convert``; then main.py (the board's script, beside this
file) runs on the MicroPython unix runtime with the x64 module: it predicts every
held-out window and times predict and the feature steps. The table says, per model, the
accuracy on the host (scikit-learn's Pipeline; TFLite's reference interpreter for the
CNN) and on MicroPython, how many windows agree, the blob's size, the arena, and the time
per window. With ``--qemu`` (an emlml checkout after `make qemu-firmware natmod-all`,
run with PYTHONPATH=py_tools) it adds instructions per window on the emulated Cortex-M
boards: the armv6m module (Cortex-M0+ code, soft float) on the Cortex-M3 board and the
armv7emsp module (hard float) on the Cortex-M4F board.

Written to --out: the .joblib Pipelines, the blobs, windows.bin (the held-out windows,
float32, sample-major), labels.bin (their true classes, int32), host.json (the host's
predictions), main.py, results.md and results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from dataclasses import asdict, dataclass
from importlib import resources

import joblib
import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import Pipeline

from emlml_tools.board.modules import default_folder
from emlml_tools.board.transport import run_on_unix
from emlml_tools.cli import main as emlml_main
from emlml_tools.demo import cnn as demo_cnn
from emlml_tools.demo.data import MOTION_CLASSES, MOTION_RATE_HZ, motion_split
from emlml_tools.errors import CommandError
from emlml_tools.features import ChannelStats, Spectrum
from emlml_tools.format import read_blob

HERE = os.path.dirname(os.path.abspath(__file__))
CHANNELS = 3
FOREST_NAMES = ("spectrum_forest", "stats_forest")
CNN_NAME = "motion_cnn"
NAMES = FOREST_NAMES + (CNN_NAME,)  # main.py's MODELS, in its order
QEMU_WINDOWS = 20  # windows timed on each emulated board


@dataclass
class Row:
    model: str
    blob_bytes: int
    arena_features: int  # the feature steps' working memory (0: none)
    arena_model: int  # the model's (trees or CNN layers)
    ram_bytes: int  # heap held by the loaded model on MicroPython (object + arena)
    host_accuracy: float
    board_accuracy: float
    agree: int
    n: int
    us_predict: float  # unix runtime, per window: the whole predict (features included)
    us_features: float | None  # unix runtime, m.transform alone
    instr: dict[str, tuple[float, float | None]]  # board -> (predict, features)


def pipelines(trees: int, depth: int) -> dict[str, Pipeline]:
    def forest() -> RandomForestClassifier:
        return RandomForestClassifier(trees, max_depth=depth, random_state=0)

    return {"spectrum_forest": Pipeline([("spectrum", Spectrum(CHANNELS, bands=8)),
                                         ("forest", forest())]),
            "stats_forest": Pipeline([("stats", ChannelStats(CHANNELS)), ("forest", forest())])}


def emlml(*args: str) -> None:
    print("$ emlml " + " ".join(os.path.relpath(a) if os.sep in a else a for a in args),
          flush=True)
    if emlml_main(list(args)) != 0:
        raise CommandError(f"emlml {' '.join(args)} failed")


def cnn_tflite() -> str:
    return str(resources.files("emlml_tools") / "models" / (CNN_NAME + ".tflite"))


def train_and_convert(out: str, trees: int, depth: int) -> tuple[np.ndarray, np.ndarray,
                                                                   dict[str, np.ndarray]]:
    """Fit, save, convert; the held-out windows (flat float32), their classes and the
    host's predicted class per model."""
    x_train, x_test, y_train, y_test = motion_split()
    x_train = x_train.reshape(len(x_train), -1)
    x_test = np.ascontiguousarray(x_test.reshape(len(x_test), -1))
    labels = ",".join(MOTION_CLASSES)
    host: dict[str, np.ndarray] = {}
    for name, pipe in pipelines(trees, depth).items():
        pipe.fit(x_train, y_train)
        path = os.path.join(out, name + ".joblib")
        joblib.dump(pipe, path)
        emlml("convert", path, "-o", os.path.join(out, name + ".bin"), "--channels",
              str(CHANNELS), "--sample-rate", str(MOTION_RATE_HZ), "--labels", labels)
        host[name] = pipe.predict(x_test)
    blob_path = os.path.join(out, CNN_NAME + ".bin")
    emlml("convert", cnn_tflite(), "-o", blob_path, "--labels", labels)
    with open(blob_path, "rb") as f:
        inputs = demo_cnn.model_inputs(f.read(), x_test)  # int8, as the board quantizes
    host[CNN_NAME] = np.argmax(demo_cnn.tflite_int8_outputs(cnn_tflite(), inputs), axis=1)
    x_test.astype("<f4").tofile(os.path.join(out, "windows.bin"))
    y_test.astype("<i4").tofile(os.path.join(out, "labels.bin"))
    with open(os.path.join(out, "host.json"), "w") as f:
        json.dump({k: v.tolist() for k, v in host.items()}, f)
    shutil.copy(os.path.join(HERE, "main.py"), os.path.join(out, "main.py"))
    return x_test, y_test, host


def run_unix(out: str, module_dir: str) -> tuple[dict[str, list[int]], dict[str, list[str]]]:
    """main.py on the unix runtime: each model's predicted class per window, its COST line."""
    return parse_main(run_on_unix("main.py", out, module_dir))


def parse_main(stdout: str) -> tuple[dict[str, list[int]], dict[str, list[str]]]:
    predicted: dict[str, list[int]] = {n: [] for n in NAMES}
    cost: dict[str, list[str]] = {}
    for line in stdout.splitlines():
        parts = line.split()
        if parts[0] == "COST":
            cost[parts[1]] = parts[2:]
        elif parts[0] in predicted:
            assert int(parts[1]) == len(predicted[parts[0]]), line
            predicted[parts[0]].append(MOTION_CLASSES.index(parts[2]))
    return predicted, cost


def arenas(name: str, out: str) -> tuple[int, int]:
    """(features, model) bytes of the blob's arena: the forest converted without its
    steps gives the model's part."""
    from emlml_tools.convert.sklearn_models import convert

    with open(os.path.join(out, name + ".bin"), "rb") as f:
        total = read_blob(f.read()).arena_bytes
    if name not in FOREST_NAMES:
        return 0, total
    model = read_blob(convert(joblib.load(os.path.join(out, name + ".joblib"))[-1])).arena_bytes
    return total - model, model


def run_qemu(out: str, x_test: np.ndarray, windows: int) -> dict[str, dict[str, tuple[float, float | None]]]:
    """Instructions per window of predict and of transform on the emulated Cortex-M boards
    (emlml_dev's scripts for qemu_bench and qemu_bench_features)."""
    try:
        from emlml_dev import qemu_board as q
        from emlml_dev.paths import NATMOD_DIR, ON_DEVICE
    except ImportError:
        raise CommandError("--qemu needs an emlml checkout: run from it with PYTHONPATH=py_tools")
    work = os.path.join(out, "qemu")
    os.makedirs(work, exist_ok=True)
    files = []
    for name in NAMES:
        shutil.copy(os.path.join(out, name + ".bin"), os.path.join(work, name + ".bin"))
        x_test[:windows].astype("<f4").tofile(os.path.join(work, name + ".x"))
        files += [os.path.join(work, name + e) for e in (".bin", ".x")]
    n_in = x_test.shape[1]
    with open(os.path.join(work, "bench.txt"), "w") as f:
        f.write("".join(f"{n} f {n_in} {windows}\n" for n in NAMES))
    with open(os.path.join(work, "features.txt"), "w") as f:
        f.write("".join(f"{n} {n_in} {windows}\n" for n in FOREST_NAMES))
    results = {}
    for board_name, flavour, arch in (("armv6m", "an385", "armv6m"),
                                      ("armv7emsp", "an386", "armv7emsp")):
        print(f"== {board_name} emlml.mpy on the emulated {q.FLAVOURS[flavour].description}",
              flush=True)
        args = ["mkdir", ":lib", "+", "cp", os.path.join(NATMOD_DIR, arch, "emlml.mpy"),
                ":lib/emlml.mpy", "+", "cp", *files, os.path.join(work, "bench.txt"),
                os.path.join(work, "features.txt"), ":", "+",
                "run", os.path.join(ON_DEVICE, "mp_icount.py"), "+",
                "run", os.path.join(ON_DEVICE, "mp_features_icount.py")]
        try:
            with q.start(flavour, icount=True) as board:
                stdout = board.mpremote(*args, timeout=900).stdout
        except q.BoardError as e:
            raise CommandError(f"the emulated board ({flavour}): {e} (needs `make "
                               "qemu-firmware natmod-all` in the checkout)") from None
        results[board_name] = icount_results(stdout)
        # mp_icount.py prints predict first, mp_features_icount.py transform after it
        for name in NAMES:
            got = results[board_name].get(name, [])
            if len(got) != (2 if name in FOREST_NAMES else 1):
                raise CommandError(f"{board_name}: no instruction count for {name}:\n"
                                   + stdout[-2000:])
    return {name: {b: (res[name][0], res[name][1] if len(res[name]) > 1 else None)
                   for b, res in results.items()} for name in NAMES}


INSTR_PER_TICK = 40  # QEMU -icount shift=0: 1 ns per instruction, 25 MHz ticks_cpu


def icount_results(stdout: str) -> dict[str, list[float]]:
    """name -> mean instructions per window, for each RESULT line in order (the call's
    ticks less the median of a do-nothing call's)."""
    res: dict[str, list[float]] = {}
    for line in stdout.splitlines():
        if line.startswith("RESULT "):
            _, name, ticks, base = line.split()
            t = np.array([int(v) for v in ticks.split(",")], dtype=np.float64)
            b = np.median([int(v) for v in base.split(",")])
            res.setdefault(name, []).append(float((t - b).mean()) * INSTR_PER_TICK)
    return res


def rows(out: str, y_test: np.ndarray, host: dict[str, np.ndarray],
         predicted: dict[str, list[int]], cost: dict[str, list[str]],
         instr: dict[str, dict[str, tuple[float, float | None]]]) -> list[Row]:
    table = []
    for name in NAMES:
        board = np.array(predicted[name])
        n, ram, us_predict, us_transform = cost[name]
        features, model = arenas(name, out)
        table.append(Row(
            name, os.path.getsize(os.path.join(out, name + ".bin")), features, model, int(ram),
            float(np.mean(host[name] == y_test)), float(np.mean(board == y_test)),
            int(np.sum(board == host[name])), int(n), float(us_predict),
            None if float(us_transform) < 0 else float(us_transform), instr.get(name, {})))
    return table


def format_table(table: list[Row]) -> str:
    boards = sorted({b for r in table for b in r.instr})
    head = ["model", "blob B", "arena B (features + model)", "RAM B", "host acc", "board acc",
            "agree", "unix us/window (features; all)"]
    head += [f"{b} instr/window (features; all)" for b in boards]

    def pair(features: float | None, whole: float, fmt: str) -> str:
        return ("-" if features is None else fmt.format(features)) + "; " + fmt.format(whole)

    lines = [head]
    for r in table:
        lines.append([r.model, str(r.blob_bytes), f"{r.arena_features} + {r.arena_model}",
                      str(r.ram_bytes), "%.3f" % r.host_accuracy, "%.3f" % r.board_accuracy,
                      f"{r.agree}/{r.n}", pair(r.us_features, r.us_predict, "{:.1f}")]
                     + [pair(r.instr[b][1], r.instr[b][0], "{:,.0f}")
                        if b in r.instr else "-" for b in boards])
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    text = ["| " + " | ".join(c.ljust(w) for c, w in zip(line, widths)) + " |" for line in lines]
    text.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(text)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.path.join("build", "examples", "gestures"),
                   help="folder for the models, blobs, windows and results")
    p.add_argument("--trees", type=int, default=10, help="trees per forest (default 10)")
    p.add_argument("--depth", type=int, default=8, help="the trees' max_depth (default 8)")
    p.add_argument("--from", dest="folder", metavar="DIR", help="the board modules (default: "
                   "the installed package's, else ./build/natmod of a checkout)")
    p.add_argument("--qemu", action="store_true", help="also count instructions per window "
                   "on the emulated Cortex-M boards (an emlml checkout, PYTHONPATH=py_tools)")
    p.add_argument("--qemu-windows", type=int, default=QEMU_WINDOWS,
                   help=f"windows timed on each emulated board (default {QEMU_WINDOWS})")
    args = p.parse_args(argv)
    try:
        module_dir = os.path.abspath(os.path.join(args.folder or default_folder(), "x64"))
        if not os.path.isfile(os.path.join(module_dir, "emlml.mpy")):
            raise CommandError(f"{module_dir} has no emlml.mpy for the unix runtime")
        out = os.path.abspath(args.out)
        os.makedirs(out, exist_ok=True)
        print(f"== Training and converting in {os.path.relpath(out)}", flush=True)
        x_test, y_test, host = train_and_convert(out, args.trees, args.depth)
        print("== Running main.py on the MicroPython unix runtime", flush=True)
        predicted, cost = run_unix(out, module_dir)
        instr = run_qemu(out, x_test, args.qemu_windows) if args.qemu else {}
        table = rows(out, y_test, host, predicted, cost, instr)
    except CommandError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    text = format_table(table)
    print()
    print(text)
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump([asdict(r) for r in table], f, indent=1)
    disagree = [r.model for r in table if r.agree != r.n]
    if disagree:
        print("error: MicroPython disagrees with the host for " + ", ".join(disagree),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
