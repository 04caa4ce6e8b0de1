"""The ``emlml`` command: one entry point, subcommands registered in ``_COMMANDS``.

A command is a handler ``run(args) -> int | None`` and a setup ``setup(parser)`` that adds
its arguments, both named as ``"module:function"`` strings and imported only when the
command runs. Adding a command is one line in ``_COMMANDS``, e.g.::

    "demo": Command("emlml_tools.demo:run", "emlml_tools.demo:setup", "run the demo"),

A handler reports a user error by raising ``CommandError`` (the message says what to do
next); ``main`` prints ``emlml: <message>`` to stderr and returns 1.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Any, Callable, NamedTuple, Sequence

from . import __version__


class CommandError(Exception):
    """A user-facing failure of a command: printed as ``emlml: <message>``, exit status 1."""


class Command(NamedTuple):
    handler: str | Callable[[argparse.Namespace], int | None]
    setup: str | Callable[[argparse.ArgumentParser], None]
    help: str


_COMMANDS: dict[str, Command] = {
    "convert": Command("emlml_tools.cli:run_convert", "emlml_tools.cli:setup_convert",
                       "convert a fitted scikit-learn model (.joblib/.pkl) or a full-int8 "
                       "TensorFlow Lite model (.tflite) into a blob"),
    "inspect": Command("emlml_tools.cli:run_inspect", "emlml_tools.cli:setup_inspect",
                       "check a blob and describe it"),
    "verify": Command("emlml_tools.cli:run_verify", "emlml_tools.cli:setup_verify",
                      "compare a blob (NumPy reference runtime) with its scikit-learn model "
                      "or its .tflite (TFLite's reference kernels)"),
    "sizes": Command("emlml_tools.sizes:run", "emlml_tools.sizes:setup",
                     "size table of the cross-built .mpy files (after make natmod-all)"),
    "install": Command("emlml_tools.board:run_install", "emlml_tools.board:setup_install",
                       "copy the emlml.mpy that matches the board (by sys.implementation._mpy)"),
    "deploy": Command("emlml_tools.board:run_deploy", "emlml_tools.board:setup_deploy",
                      "copy a model to the board safely: checked there before it replaces the old one"),
    "flash": Command("emlml_tools.flash:run", "emlml_tools.flash:setup",
                     "flash MicroPython firmware with emlml built in (ESP32 .bin over serial, "
                     "RP2040/RP2350 .uf2 to the BOOTSEL drive)"),
    "firmware": Command("emlml_tools.firmware:run", "emlml_tools.firmware:setup",
                        "build MicroPython firmware with emlml inside (ESP32_GENERIC, "
                        "ESP32_GENERIC_S3, RPI_PICO, RPI_PICO2) from your MicroPython checkout"),
    "romfs": Command("emlml_tools.romfs:run", "emlml_tools.romfs:setup",
                     "pack a folder of models into a ROMFS image, every file 4-byte aligned "
                     "(for mpremote romfs deploy)"),
    "qemu": Command("emlml_tools.qemu_board:run", "emlml_tools.qemu_board:setup",
                    "start an emulated Cortex-M board (QEMU) and print how to connect mpremote"),
    "demo": Command("emlml_tools.demo:run", "emlml_tools.demo:setup",
                    "train, convert and run the demo models on MicroPython; print a table"),
}


def _resolve(ref: str | Callable[..., Any]) -> Callable[..., Any]:
    if callable(ref):
        return ref
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``command``'s arguments are set up (so only its module is imported)."""
    parser = argparse.ArgumentParser(
        prog="emlml", description="emlml host tools: scikit-learn models as blobs for "
        "MicroPython boards")
    parser.add_argument("--version", action="version", version=f"emlml {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, cmd in _COMMANDS.items():
        sub_parser = sub.add_parser(name, help=cmd.help, description=cmd.help)
        if name == command:
            _resolve(cmd.setup)(sub_parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in args_list if not a.startswith("-")), None)
    args = build_parser(command).parse_args(args_list)
    try:
        status = _resolve(_COMMANDS[args.command].handler)(args)
    except CommandError as exc:
        print(f"emlml: {exc}", file=sys.stderr)
        return 1
    return int(status or 0)


# ---------------------------------------------------------------------------- helpers


def _read_bytes(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise CommandError(f"{path}: no such file (check the {what} path)") from None
    except OSError as exc:
        raise CommandError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None


def _load_blob(path: str) -> Any:
    from .blob import read_blob

    data = _read_bytes(path, "blob")
    try:
        return read_blob(data)
    except ValueError as exc:
        raise CommandError(f"{path}: {exc}") from None


def _load_model(path: str) -> Any:
    from .convert_sklearn import load_estimator

    if not Path(path).is_file():
        raise CommandError(f"{path}: no such file; save your fitted model with "
                           f"joblib.dump(model, {path!r}) first")
    try:
        return load_estimator(path)
    except Exception as exc:  # unpickling can fail in many ways
        raise CommandError(f"{path}: cannot load a model from it ({type(exc).__name__}: "
                           f"{exc}); save the fitted estimator with joblib.dump or pickle"
                           ) from None


def _int_list(text: str, what: str) -> list[int]:
    try:
        return [int(part) for part in text.replace("x", ",").split(",") if part.strip()]
    except ValueError:
        raise CommandError(f"{what} {text!r} is not a list of integers such as 8,8") from None


def _kind_line(blob: Any) -> str:
    from .blob import KIND_NAMES

    return f"{KIND_NAMES[blob.kind]} {'classifier' if blob.is_classifier else 'regressor'}"


# ---------------------------------------------------------------------------- convert


def setup_convert(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", metavar="MODEL", help="fitted estimator saved with joblib/pickle, "
                   "or a full-int8 .tflite")
    p.add_argument("-o", "--output", required=True, metavar="OUT.bin", help="blob to write")
    p.add_argument("--labels", help="class labels, comma separated (default: classes_)")
    p.add_argument("--input-type", default="float32",
                   choices=["float32", "int8", "uint8", "int16"],
                   help="type of the values predict takes on the board (default float32)")
    p.add_argument("--knn-samples", default="float32", choices=["float32", "int8", "int16"],
                   help="how a kNN stores its samples (default float32)")
    p.add_argument("--name", help="model name stored in the blob")
    p.add_argument("--input-shape", metavar="8,8", help="input shape stored in the blob")


def is_tflite(path: str) -> bool:
    """A .tflite by suffix, or by the flatbuffer identifier TFL3 at offset 4."""
    if Path(path).suffix.lower() == ".tflite":
        return True
    try:
        with open(path, "rb") as f:
            return f.read(8)[4:8] == b"TFL3"
    except OSError:
        return False


def _run_convert_tflite(args: argparse.Namespace) -> int:
    from .blob import read_blob
    from .convert_tflite import convert_tflite

    data = _read_bytes(args.model, "model")
    ignored = [flag for flag, value, default in (
        ("--input-type", args.input_type, "float32"), ("--knn-samples", args.knn_samples,
                                                       "float32"),
        ("--input-shape", args.input_shape, None)) if value != default]
    if ignored:
        raise CommandError(f"{', '.join(ignored)} do not apply to a .tflite model (its input "
                           "type and shape come from the model): drop them")
    labels = () if args.labels is None else [s.strip() for s in args.labels.split(",")]
    try:
        blob_data = convert_tflite(data, name=args.name, labels=labels)
    except ValueError as exc:
        raise CommandError(f"{args.model}: {exc}") from None
    try:
        Path(args.output).write_bytes(blob_data)
    except OSError as exc:
        raise CommandError(f"{args.output}: cannot write: {exc.strerror or exc}") from None
    blob = read_blob(blob_data)
    cnn = blob.cnn
    n_weights = 0 if blob.section(51) is None else blob.section(51).size
    print(f"wrote {args.output}: {_kind_line(blob)}, {len(blob_data)} bytes, "
          f"{cnn.n_layers} layers, {n_weights} weight bytes, arena {blob.arena_bytes} bytes")
    return 0


def run_convert(args: argparse.Namespace) -> int:
    from .blob import read_blob
    from .convert_sklearn import convert

    if is_tflite(args.model):
        return _run_convert_tflite(args)
    estimator = _load_model(args.model)
    labels = None if args.labels is None else [s.strip() for s in args.labels.split(",")]
    shape = None if args.input_shape is None else _int_list(args.input_shape, "--input-shape")
    try:
        data = convert(estimator, labels=labels, input_type=args.input_type,
                       knn_samples=args.knn_samples, name=args.name, input_shape=shape)
    except (ValueError, TypeError) as exc:
        raise CommandError(str(exc)) from None
    try:
        Path(args.output).write_bytes(data)
    except OSError as exc:
        raise CommandError(f"{args.output}: cannot write: {exc.strerror or exc}") from None
    blob = read_blob(data)
    if blob.trees is not None:
        t = blob.trees
        detail = (f"{t.n_trees} trees, {t.n_nodes} nodes, {t.n_leaves} leaf vectors; "
                  f"{len(data) / t.n_nodes:.1f} bytes per node (8 per node + leaf data)")
    else:
        k = blob.knn
        detail = (f"k={k.k}, {k.n_samples} samples of {blob.n_inputs} {k.sample_type.name.lower()}"
                  f"; {len(data) / k.n_samples:.1f} bytes per sample")
    print(f"wrote {args.output}: {_kind_line(blob)}, {len(data)} bytes, {detail}")
    return 0


# ---------------------------------------------------------------------------- inspect


def setup_inspect(p: argparse.ArgumentParser) -> None:
    p.add_argument("blob", metavar="BLOB", help="blob file to check and describe")


def describe(blob: Any) -> list[tuple[str, str]]:
    """(field, text) rows describing a checked blob."""
    from .blob import INPUT_TYPECODES, SectionId

    def size(section_id: SectionId) -> int:
        entry = blob.section(section_id)
        return 0 if entry is None else entry.size

    shape = "" if blob.input_shape is None else ", shape " + "x".join(map(str, blob.input_shape))
    rows = [
        ("format", f"emlml blob version {blob.version}, {blob.total_size} bytes, "
                   f"CRC 0x{blob.crc32:08x} ok"),
        ("kind", _kind_line(blob)),
        ("inputs", f"{blob.n_inputs} x {blob.input_type.name.lower()} "
                   f"('{INPUT_TYPECODES[blob.input_type]}'){shape}"),
        ("outputs", f"{blob.n_outputs} classes" if blob.is_classifier else "1 value"),
    ]
    if blob.cnn is not None:
        rows += _describe_cnn(blob)
    elif blob.trees is not None:
        t = blob.trees
        rows += [
            ("trees", f"{t.n_trees} trees, {t.n_nodes} nodes, {t.n_leaves} distinct leaf "
                      "vectors"),
            ("sizes", f"nodes {size(SectionId.TREE_NODES)} B (8 per node), leaves "
                      f"{size(SectionId.TREE_LEAVES)} B, roots {size(SectionId.TREE_ROOTS)} B, "
                      f"meta {size(SectionId.META)} B"),
            ("per node", f"{blob.total_size / t.n_nodes:.2f} bytes per node (whole blob)"),
        ]
    else:
        k = blob.knn
        rows += [
            ("kNN", f"k={k.k}, {k.n_samples} samples, {k.metric.name.lower()}, "
                    f"{k.weights.name.lower()} weights, {k.sample_type.name.lower()} samples"),
            ("sizes", f"samples {size(SectionId.KNN_SAMPLES)} B, targets "
                      f"{size(SectionId.KNN_TARGETS)} B, quant {size(SectionId.KNN_QUANT)} B, "
                      f"meta {size(SectionId.META)} B"),
            ("per sample", f"{blob.total_size / k.n_samples:.2f} bytes per sample (whole blob)"),
        ]
    rows.append(("arena", f"{blob.arena_bytes} bytes of RAM while predicting"))
    if blob.labels:
        rows.append(("labels", ", ".join(blob.labels)))
    rows.append(("producer", blob.producer or "(none)"))
    if blob.name:
        rows.append(("name", blob.name))
    return rows


def _describe_cnn(blob: Any) -> list[tuple[str, str]]:
    """Rows for a kind-3 blob: edges, sizes, then one row per layer."""
    from .blob import CNN_SPATIAL_OPS, CnnOp, SectionId

    cnn = blob.cnn

    def shape(t: int) -> str:
        return "x".join(str(d) for d in cnn.shape(t))

    def size(section_id: SectionId) -> int:
        entry = blob.section(section_id)
        return 0 if entry is None else entry.size

    edges = []
    if cnn.float_input:
        edges.append("float input (quantized on the board)")
    if cnn.float_output:
        edges.append("float output (dequantized)")
    rows = [
        ("CNN", f"{cnn.n_layers} layers, {cnn.n_tensors} tensors; input scale "
                f"{cnn.input_scale:.6g}, output scale {cnn.output_scale:.6g}"
                + (f"; {', '.join(edges)}" if edges else "")),
        ("sizes", f"weights {size(SectionId.CNN_WEIGHTS)} B, qparams "
                  f"{size(SectionId.CNN_QPARAMS)} B, layers {size(SectionId.CNN_LAYERS)} B, "
                  f"tensor arena {cnn.tensor_arena_bytes} B"),
    ]
    for i, layer in enumerate(cnn.layers):
        op = CnnOp(int(layer["op"]))
        ins = [int(layer["in0"])] + ([int(layer["in1"])] if op == CnnOp.ADD else [])
        out = int(layer["out"])
        text = (f"{op.name:<18} {' + '.join(f't{t} {shape(t)}' for t in ins)} -> "
                f"t{out} {shape(out)}")
        if op in CNN_SPATIAL_OPS:
            text += (f", {int(layer['filter_h'])}x{int(layer['filter_w'])} stride "
                     f"{int(layer['stride_h'])}x{int(layer['stride_w'])} "
                     f"{'SAME' if int(layer['padding']) else 'VALID'}")
            if op in (CnnOp.CONV_2D, CnnOp.DEPTHWISE_CONV_2D) and (
                    int(layer["dilation_h"]), int(layer["dilation_w"])) != (1, 1):
                text += f" dilation {int(layer['dilation_h'])}x{int(layer['dilation_w'])}"
        if (int(layer["act_min"]), int(layer["act_max"])) != (-128, 127):
            text += f", clamp {int(layer['act_min'])}..{int(layer['act_max'])}"
        rows.append((f"layer {i}", text))
    return rows


def run_inspect(args: argparse.Namespace) -> int:
    blob = _load_blob(args.blob)
    print(f"{args.blob}")
    for key, text in describe(blob):
        print(f"  {key + ':':<12}{text}")
    return 0


# ---------------------------------------------------------------------------- verify

PROBA_LIMIT = 1e-6
REGRESSION_LIMIT = 1e-5  # relative


def setup_verify(p: argparse.ArgumentParser) -> None:
    p.add_argument("blob", metavar="BLOB", help="blob file")
    p.add_argument("model", metavar="MODEL",
                   help="the fitted estimator or the .tflite it came from")
    p.add_argument("data", metavar="DATA",
                   help=".npy (X), .npz (X and optional y) or .csv (numeric, header optional)")


def load_data(path: str) -> tuple[Any, Any]:
    """(X, y or None) from .npy, .npz or .csv."""
    import numpy as np

    suffix = Path(path).suffix.lower()
    if not Path(path).is_file():
        raise CommandError(f"{path}: no such file (DATA is a .npy, .npz or .csv of inputs)")
    try:
        if suffix == ".npy":
            return np.load(path, allow_pickle=False), None
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                if "X" in z.files:
                    return z["X"], (z["y"] if "y" in z.files else None)
                if len(z.files) == 1:
                    return z[z.files[0]], None
                raise CommandError(f"{path}: no array named 'X' (found {', '.join(z.files)}); "
                                   "save it with np.savez(path, X=X, y=y)")
        if suffix == ".csv":
            try:
                return np.loadtxt(path, delimiter=",", ndmin=2), None
            except ValueError:  # a header line
                return np.loadtxt(path, delimiter=",", ndmin=2, skiprows=1), None
    except CommandError:
        raise
    except (ValueError, OSError) as exc:
        raise CommandError(f"{path}: cannot read numbers from it ({exc}); DATA must be "
                           "numeric") from None
    raise CommandError(f"{path}: unknown data format {suffix or '(no suffix)'}: use .npy, "
                       ".npz (X, optional y) or .csv")


def _run_verify_tflite(args: argparse.Namespace, blob: Any) -> int:
    """Every output of the blob (reference_cnn) against the interpreter with TFLite's
    reference kernels, one row of DATA per sample."""
    import numpy as np

    from . import reference_cnn
    from .tflite_build import Oracle

    if blob.cnn is None:
        raise CommandError(f"{args.blob} is not an int8 CNN blob; a .tflite verifies only "
                           "the blob converted from it")
    X, _ = load_data(args.data)
    X = np.asarray(X)
    if X.ndim >= 1 and X.size == blob.n_inputs:
        X = X.reshape(1, -1)
    X = X.reshape(len(X), -1) if X.ndim > 2 else X
    if X.ndim != 2 or X.shape[1] != blob.n_inputs:
        raise CommandError(f"{args.data}: X has shape {X.shape}; the blob takes "
                           f"{blob.n_inputs} inputs per row")
    try:
        oracle = Oracle(_read_bytes(args.model, "model"))
    except (ValueError, RuntimeError) as exc:
        raise CommandError(f"{args.model}: the TFLite interpreter cannot load it: {exc}"
                           ) from None
    float_in = blob.cnn.float_input
    if not float_in and X.dtype != np.int8:
        # float data for an int8 model: quantized as the board quantizes an array('f')
        if not np.all(np.isfinite(X)):
            raise CommandError(f"{args.data}: NaN or infinity in the inputs")
        X = np.stack([reference_cnn.quantize_input(blob, row.astype(np.float32)) for row in X])
        print(f"{args.data}: float values, quantized with the model's input scale (save "
              "int8 to give the codes directly)")
    same = 0
    worst = 0.0
    for row in X:
        x = row.astype(np.float32) if float_in else row.astype(np.int8)
        if float_in and not np.all(np.isfinite(x)):
            raise CommandError(f"{args.data}: NaN or infinity in the inputs")
        q = reference_cnn.quantize_input(blob, x) if float_in else x
        ours = reference_cnn.predict_int8(blob, q)
        try:
            theirs = oracle(x).reshape(-1)
        except ValueError:
            raise CommandError(f"{args.model} does not take {blob.n_inputs} inputs: "
                               f"{args.blob} was not converted from it") from None
        if blob.cnn.float_output:
            ours = reference_cnn.dequantize_output(blob, ours)
        if ours.shape != theirs.shape:
            raise CommandError(f"{args.blob} has {ours.size} outputs, {args.model} "
                               f"{theirs.size}: they are not the same model")
        same += int(np.array_equal(ours, theirs))
        worst = max(worst, float(np.abs(ours.astype(np.float64) - theirs).max()))
    n = len(X)
    print(f"{args.blob} vs {args.model} (TFLite reference kernels) on {n} samples of "
          f"{args.data}")
    print(f"  outputs:    {same}/{n} samples identical, max |diff| {worst:g}")
    if same != n:
        raise CommandError(f"{args.blob} does not match {args.model} on {n - same} of {n} "
                           "samples; reconvert it with `emlml convert`; if it persists, "
                           "report it as a bug")
    print("  result:     OK (bit-exact)")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    import numpy as np

    from . import reference

    blob = _load_blob(args.blob)
    if is_tflite(args.model):
        return _run_verify_tflite(args, blob)
    estimator = _load_model(args.model)
    X, y = load_data(args.data)
    X = np.asarray(X)
    if X.ndim == 1 and X.shape[0] == blob.n_inputs:
        X = X[None, :]
    if X.ndim != 2 or X.shape[1] != blob.n_inputs:
        raise CommandError(f"{args.data}: X has shape {X.shape}; the blob takes "
                           f"{blob.n_inputs} inputs per row")
    if getattr(estimator, "n_features_in_", blob.n_inputs) != blob.n_inputs:
        raise CommandError(f"{args.model} takes {estimator.n_features_in_} features but "
                           f"{args.blob} takes {blob.n_inputs}: are they the same model?")
    is_clf = hasattr(estimator, "classes_")
    if is_clf != blob.is_classifier or (is_clf and len(estimator.classes_) != blob.n_outputs):
        raise CommandError(f"{args.model} and {args.blob} are not the same kind of model "
                           "(classifier/regressor or class count differ): reconvert it")
    try:
        inputs = reference.check_inputs(blob, X)
    except ValueError as exc:
        raise CommandError(f"{args.data}: {exc}") from None
    Xf = X.astype(np.float32)
    ours = reference.predict(blob, inputs)
    theirs = estimator.predict(Xf)
    n = len(X)
    print(f"{args.blob} vs {args.model} on {n} samples of {args.data}")
    if is_clf:
        theirs_idx = np.searchsorted(estimator.classes_, theirs)
        agree = int((ours == theirs_idx).sum())
        diff = float(np.abs(reference.predict_proba(blob, inputs)
                            - estimator.predict_proba(Xf)).max()) if n else 0.0
        print(f"  predict:    {100.0 * agree / max(n, 1):.2f} % agreement ({agree}/{n})")
        print(f"  proba:      max |diff| {diff:.3g} (limit {PROBA_LIMIT:g})")
        if y is not None:
            y_idx = np.searchsorted(estimator.classes_, np.asarray(y))
            print(f"  accuracy:   blob {100.0 * float((ours == y_idx).mean()):.2f} %, "
                  f"scikit-learn {100.0 * float((theirs == np.asarray(y)).mean()):.2f} %")
        ok = agree == n and diff <= PROBA_LIMIT
        problem = f"{n - agree} of {n} predictions differ, max |proba diff| {diff:.3g}"
    else:
        theirs = np.asarray(theirs, dtype=np.float64).reshape(-1)
        floor = max(float(np.abs(theirs).max()) * 1e-3, 1e-30) if n else 1.0
        rel = np.abs(ours - theirs) / np.maximum(np.abs(theirs), floor)
        diff = float(rel.max()) if n else 0.0
        print(f"  predict:    max relative diff {diff:.3g} (limit {REGRESSION_LIMIT:g})")
        if y is not None:
            yv = np.asarray(y, dtype=np.float64).reshape(-1)
            print(f"  MAE:        blob {float(np.abs(ours - yv).mean()):.6g}, "
                  f"scikit-learn {float(np.abs(theirs - yv).mean()):.6g}")
        ok = diff <= REGRESSION_LIMIT
        problem = f"max relative diff {diff:.3g}"
    if not ok:
        if blob.knn is not None and blob.knn.scale is not None:
            hint = ("its kNN samples are quantized (int8/int16), which moves distances: "
                    "expected unless the model was fitted on quantized samples; convert with "
                    "--knn-samples float32 for exact answers")
        else:
            hint = "reconvert with `emlml convert`; if it persists, report it as a bug"
        raise CommandError(f"{args.blob} does not match {args.model}: {problem}; {hint}")
    print("  result:     OK")
    return 0


if __name__ == "__main__":  # python -m emlml_tools.cli: run the imported module's main
    from emlml_tools.cli import main as _main

    sys.exit(_main())
