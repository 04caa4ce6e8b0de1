"""Keyword spotting from audio samples to the word, on MicroPython: convert, synthesise
held-out clips, run the board's script, compare with the host.

    PYTHONPATH=py_tools .venv/bin/python examples/kws/run.py [--out build/examples/kws] [--clips 10]

Builds the Pipeline MFCC -> scaler -> int8 CNN from the trained files beside this script
(kws_model.py: kws.tflite and kws.json, made by train.py; no TensorFlow needed here), saves
it (kws.joblib) and converts it with ``emlml convert`` into kws.bin. Synthesises
``--clips`` held-out clips per class with espeak-ng (kws_words.py; a seed the training never
used), writes them (clips.bin, float32, one second each; labels.bin, int32) with the
host's answers (host.json: the Pipeline's predict), then runs main.py, the board's
script, on the MicroPython unix runtime with the x64 module. Prints a table: accuracy on
the host and on MicroPython, how many clips agree, the blob's size, its arena, the RAM
the loaded model holds, and the time of predict and of the MFCC step per clip.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from dataclasses import asdict, dataclass

import joblib
import numpy as np

import kws_model
import kws_words as words

from emlml_tools.board.modules import default_folder
from emlml_tools.board.transport import run_on_unix
from emlml_tools.cli import main as emlml_main
from emlml_tools.errors import CommandError
from emlml_tools.format import read_blob

HERE = os.path.dirname(os.path.abspath(__file__))
HELD_OUT_SEED = 3  # train.py's data seeds are 1 (training) and 2 (validation)
CLIPS = 10  # per class


@dataclass
class Result:
    clips: int
    host_accuracy: float
    board_accuracy: float
    agree: int
    blob_bytes: int
    arena_bytes: int
    ram_bytes: int
    n_features: int
    frames: int
    us_predict: float  # unix runtime, one clip: MFCC, scaler and CNN
    us_transform: float  # unix runtime, one clip: MFCC and scaler alone


def emlml(*args: str) -> None:
    print("$ emlml " + " ".join(os.path.relpath(a) if os.sep in a else a for a in args),
          flush=True)
    if emlml_main(list(args)) != 0:
        raise CommandError(f"emlml {' '.join(args)} failed")


def convert(out: str) -> None:
    """The Pipeline saved and converted: out/kws.joblib -> out/kws.bin."""
    pipe = kws_model.pipeline()
    path = os.path.join(out, "kws.joblib")
    joblib.dump(pipe, path)
    emlml("convert", path, "-o", os.path.join(out, "kws.bin"), "--sample-rate",
          str(kws_model.MFCC_PARAMS["sample_rate"]), "--labels", ",".join(words.CLASSES))


def held_out(out: str, per_class: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The held-out clips, their classes and the host Pipeline's, written for main.py."""
    x, y = words.make_clips(per_class, HELD_OUT_SEED)
    host = joblib.load(os.path.join(out, "kws.joblib")).predict(x)
    x.astype("<f4").tofile(os.path.join(out, "clips.bin"))
    y.astype("<i4").tofile(os.path.join(out, "labels.bin"))
    with open(os.path.join(out, "host.json"), "w") as f:
        json.dump(host.tolist(), f)
    shutil.copy(os.path.join(HERE, "main.py"), os.path.join(out, "main.py"))
    return x, y, host


def parse_main(stdout: str) -> tuple[list[int], list[str]]:
    """main.py's lines: the class index per clip in order, and its COST fields."""
    predicted, cost = [], []
    for line in stdout.splitlines():
        parts = line.split()
        if parts[0] == "COST":
            cost = parts[2:]
        elif parts[0] == "kws":
            assert int(parts[1]) == len(predicted), line
            predicted.append(words.CLASSES.index(parts[2]))
    return predicted, cost


def run_unix(out: str, module_dir: str) -> tuple[list[int], list[str]]:
    return parse_main(run_on_unix("main.py", out, module_dir))


def format_table(r: Result) -> str:
    head = ["clips", "host acc", "board acc", "agree", "blob B", "arena B", "RAM B",
            "unix us/clip (MFCC + scaler; all)", "unix us per MFCC frame"]
    row = [str(r.clips), "%.3f" % r.host_accuracy, "%.3f" % r.board_accuracy,
           f"{r.agree}/{r.clips}", str(r.blob_bytes), str(r.arena_bytes), str(r.ram_bytes),
           f"{r.us_transform:.0f}; {r.us_predict:.0f}", "%.1f" % (r.us_transform / r.frames)]
    widths = [max(len(a), len(b)) for a, b in zip(head, row)]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(line, widths)) + " |" for line in (head, row)]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def run(out: str, module_dir: str, per_class: int) -> Result:
    os.makedirs(out, exist_ok=True)
    print(f"== Converting in {os.path.relpath(out)}", flush=True)
    convert(out)
    print(f"== Synthesising {per_class} held-out clips per class (espeak-ng)", flush=True)
    _, y, host = held_out(out, per_class)
    print("== Running main.py on the MicroPython unix runtime", flush=True)
    predicted, cost = run_unix(out, module_dir)
    board = np.asarray(predicted)
    n, ram, us_predict, us_transform, n_features = cost
    with open(os.path.join(out, "kws.bin"), "rb") as f:
        blob = f.read()
    return Result(int(n), float(np.mean(host == y)), float(np.mean(board == y)),
                  int(np.sum(board == host)), len(blob), read_blob(blob).arena_bytes, int(ram),
                  int(n_features), int(n_features) // kws_model.MFCC_PARAMS["n_coefficients"],
                  float(us_predict), float(us_transform))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.path.join("build", "examples", "kws"),
                   help="folder for the Pipeline, the blob, the clips and the results")
    p.add_argument("--clips", type=int, default=CLIPS, help=f"held-out clips per class "
                   f"(default {CLIPS})")
    p.add_argument("--from", dest="folder", metavar="DIR", help="the board modules (default: "
                   "the installed package's, else ./build/natmod of a checkout)")
    args = p.parse_args(argv)
    try:
        module_dir = os.path.abspath(os.path.join(args.folder or default_folder(), "x64"))
        if not os.path.isfile(os.path.join(module_dir, "emlml.mpy")):
            raise CommandError(f"{module_dir} has no emlml.mpy for the unix runtime")
        out = os.path.abspath(args.out)
        result = run(out, module_dir, args.clips)
    except (CommandError, words.MissingEspeak) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    text = format_table(result)
    print()
    print(text)
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(asdict(result), f, indent=1)
    if result.agree != result.clips:
        print("error: MicroPython disagrees with the host", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
