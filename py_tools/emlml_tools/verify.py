"""``emlml verify``: a blob run by the NumPy reference runtime against where it came from:
its scikit-learn estimator (``predict``/``predict_proba``), or its .tflite run by the
oracle, TensorFlow Lite's reference kernels (bit for bit)."""

from __future__ import annotations

import argparse
from typing import Any

from emlml_tools.errors import CommandError
from emlml_tools.files import is_tflite, load_blob, load_data, load_model, read_bytes

PROBA_LIMIT = 1e-6
REGRESSION_LIMIT = 1e-5  # relative


def setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("blob", metavar="BLOB", help="blob file")
    p.add_argument("model", metavar="MODEL",
                   help="the fitted estimator or the .tflite it came from")
    p.add_argument("data", metavar="DATA",
                   help=".npy (X), .npz (X and optional y) or .csv (numeric, header optional)")


def _run_verify_tflite(args: argparse.Namespace, blob: Any) -> int:
    """Every output of the blob (reference_cnn) against the interpreter with TFLite's
    reference kernels, one row of DATA per sample."""
    import numpy as np

    from emlml_tools.oracle import Oracle
    from emlml_tools.runtime import cnn as reference_cnn

    if blob.cnn is None:
        raise CommandError(f"{args.blob} is not an int8 CNN blob; a .tflite verifies only "
                           "the blob converted from it")
    if blob.pipeline is not None:
        raise CommandError(f"{args.blob} has feature steps before its CNN: verify it against the "
                           "Pipeline it was converted from (its .joblib), on raw windows")
    X, _ = load_data(args.data)
    X = np.asarray(X)
    if X.ndim >= 1 and X.size == blob.n_inputs:
        X = X.reshape(1, -1)
    X = X.reshape(len(X), -1) if X.ndim > 2 else X
    if X.ndim != 2 or X.shape[1] != blob.n_inputs:
        raise CommandError(f"{args.data}: X has shape {X.shape}; the blob takes "
                           f"{blob.n_inputs} inputs per row")
    try:
        oracle = Oracle(read_bytes(args.model, "model"))
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
    same = aborted = 0
    worst = 0.0
    for row in X:
        x = row.astype(np.float32) if float_in else row.astype(np.int8)
        if float_in and not np.all(np.isfinite(x)):
            raise CommandError(f"{args.data}: NaN or infinity in the inputs")
        q = reference_cnn.quantize_input(blob, x) if float_in else x
        ours = reference_cnn.predict_int8(blob, q)
        try:
            theirs = oracle.or_abort(x)
        except ValueError:
            raise CommandError(f"{args.model} does not take {blob.n_inputs} inputs: "
                               f"{args.blob} was not converted from it") from None
        if theirs is None:  # TFLite's softmax aborts on a sum of exps of 2^9 or more
            aborted += 1
            continue
        theirs = theirs.reshape(-1)
        if blob.cnn.float_output:
            ours = reference_cnn.dequantize_output(blob, ours)
        if ours.shape != theirs.shape:
            raise CommandError(f"{args.blob} has {ours.size} outputs, {args.model} "
                               f"{theirs.size}: they are not the same model")
        same += int(np.array_equal(ours, theirs))
        worst = max(worst, float(np.abs(ours.astype(np.float64) - theirs).max()))
    n = len(X) - aborted
    print(f"{args.blob} vs {args.model} (TFLite reference kernels) on {len(X)} samples of "
          f"{args.data}")
    if aborted:
        print(f"  {aborted} samples not compared: TFLite's interpreter aborts on them (a "
              "softmax row whose sum of exponentials reaches 2^9; emlml gives -128 there, "
              "see docs/cnn.md)")
    print(f"  outputs:    {same}/{n} samples identical, max |diff| {worst:g}")
    if same != n:
        raise CommandError(f"{args.blob} does not match {args.model} on {n - same} of {n} "
                           "samples; reconvert it with `emlml convert`; if it persists, "
                           "report it as a bug")
    print("  result:     OK (bit-exact)")
    return 0


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from emlml_tools import runtime as reference

    blob = load_blob(args.blob)
    if is_tflite(args.model):
        return _run_verify_tflite(args, blob)
    estimator = load_model(args.model)
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
            hint = ("its kNN samples are quantized (int8/int16; with integer distances the "
                    "query too), which moves distances: expected unless the model was fitted "
                    "on quantized samples; convert with --knn-samples float32 for exact "
                    "answers (docs/knn.md gives the agreement measured)")
        else:
            hint = "reconvert with `emlml convert`; if it persists, report it as a bug"
        raise CommandError(f"{args.blob} does not match {args.model}: {problem}; {hint}")
    print("  result:     OK")
    return 0
