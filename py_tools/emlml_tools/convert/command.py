"""``emlml convert``: a fitted scikit-learn estimator (.joblib/.pkl) or a full-int8 .tflite
to a blob, by file type."""

from __future__ import annotations

import argparse
from pathlib import Path

from emlml_tools.describe import kind_line
from emlml_tools.errors import CommandError
from emlml_tools.files import int_list, is_tflite, load_model, read_bytes
from emlml_tools.format import Distances, SectionId


def setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", metavar="MODEL", help="fitted estimator saved with joblib/pickle, "
                   "a full-int8 .tflite, an XGBoost .json or a LightGBM .txt model")
    p.add_argument("-o", "--output", required=True, metavar="OUT.bin", help="blob to write")
    p.add_argument("--labels", help="class labels, comma separated (default: classes_)")
    p.add_argument("--input-type", default="float32",
                   choices=["float32", "int8", "uint8", "int16"],
                   help="type of the values predict takes on the board (default float32)")
    p.add_argument("--knn-samples", default="float32", choices=["float32", "int8", "int16"],
                   help="how a kNN stores its samples (default float32)")
    p.add_argument("--knn-distances", choices=["integer", "float32"],
                   help="with int8/int16 samples: integer distances on one grid (default) or "
                   "float32 distances to per-feature dequantized samples (docs/knn.md)")
    p.add_argument("--name", help="model name stored in the blob")
    p.add_argument("--input-shape", metavar="8,8", help="input shape stored in the blob")
    p.add_argument("--channels", type=int, default=1,
                   help="a Pipeline's window: channels per sample (samples x channels, "
                   "sample-major, as an accelerometer delivers them; default 1)")
    p.add_argument("--sample-rate", type=float, default=0.0, metavar="HZ",
                   help="a Pipeline's window: samples per second, stored as metadata")


def _run_convert_tflite(args: argparse.Namespace) -> int:
    from emlml_tools.convert.tflite_cnn import convert_tflite
    from emlml_tools.format import read_blob

    data = read_bytes(args.model, "model")
    ignored = [flag for flag, value, default in (
        ("--input-type", args.input_type, "float32"), ("--knn-samples", args.knn_samples,
                                                       "float32"),
        ("--knn-distances", args.knn_distances, None),
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
    weights = blob.section(SectionId.CNN_WEIGHTS)
    n_weights = 0 if weights is None else weights.size
    print(f"wrote {args.output}: {kind_line(blob)}, {len(blob_data)} bytes, "
          f"{cnn.n_layers} layers, {n_weights} weight bytes, arena {blob.arena_bytes} bytes")
    return 0


# Saved boosting models emlml parses itself (no library needed), by file name.
_MODEL_FILES = {".json": "xgboost-json", ".txt": "lightgbm-text"}


def run(args: argparse.Namespace) -> int:
    from emlml_tools.convert.sklearn_models import convert, convert_model_file
    from emlml_tools.format import read_blob

    if is_tflite(args.model):
        return _run_convert_tflite(args)
    labels = None if args.labels is None else [s.strip() for s in args.labels.split(",")]
    shape = None if args.input_shape is None else int_list(args.input_shape, "--input-shape")
    file_format = _MODEL_FILES.get(Path(args.model).suffix.lower())
    try:
        if file_format is not None:
            if args.knn_samples != "float32":
                raise ValueError("--knn-samples applies to kNN models only: drop it")
            data = convert_model_file(read_bytes(args.model, "model"), file_format,
                                      labels=labels, input_type=args.input_type,
                                      name=args.name, input_shape=shape)
        else:
            estimator = load_model(args.model)
            data = convert(estimator, labels=labels, input_type=args.input_type,
                           knn_samples=args.knn_samples, knn_distances=args.knn_distances,
                           name=args.name, input_shape=shape, **_window(estimator, args))
    except (ValueError, TypeError) as exc:
        raise CommandError(f"{args.model}: {exc}" if file_format else str(exc)) from None
    try:
        Path(args.output).write_bytes(data)
    except OSError as exc:
        raise CommandError(f"{args.output}: cannot write: {exc.strerror or exc}") from None
    blob = read_blob(data)
    if blob.boost is not None:
        t = blob.boost
        detail = (f"{t.n_trees} trees, {t.n_nodes} nodes, {t.n_leaves} leaf values; "
                  f"{len(data) / t.n_nodes:.1f} bytes per node")
    elif blob.trees is not None:
        t = blob.trees
        detail = (f"{t.n_trees} trees, {t.n_nodes} nodes, {t.n_leaves} leaf vectors; "
                  f"{len(data) / t.n_nodes:.1f} bytes per node (8 per node + leaf data)")
    elif blob.cnn is not None:  # a TFLiteClassifier after feature steps
        detail = f"a CNN of {blob.cnn.n_layers} layers, arena {blob.arena_bytes} bytes"
    else:
        k = blob.knn
        distances = "integer" if k.distances == Distances.INTEGER else "float32"
        detail = (f"k={k.k}, {k.n_samples} samples of {blob.n_inputs} {k.sample_type.name.lower()}"
                  f", {distances} distances; {len(data) / k.n_samples:.1f} bytes per sample")
    if blob.pipeline is not None:
        detail += (f"; {blob.pipeline.n_steps} feature steps on a window of "
                   f"{blob.n_inputs} values")
    print(f"wrote {args.output}: {kind_line(blob)}, {len(data)} bytes, {detail}")
    return 0


def _window(estimator: object, args: argparse.Namespace) -> dict[str, float]:
    """--channels and --sample-rate, for a Pipeline only."""
    from sklearn.pipeline import Pipeline

    given = [flag for flag, value, default in (("--channels", args.channels, 1),
                                               ("--sample-rate", args.sample_rate, 0.0))
             if value != default]
    if not isinstance(estimator, Pipeline):
        if given:
            raise CommandError(f"{', '.join(given)} apply to a scikit-learn Pipeline (feature "
                               "steps on a window): drop them")
        return {}
    return {"channels": args.channels, "sample_rate": args.sample_rate}
