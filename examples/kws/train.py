"""Train the keyword spotter's int8 CNN on synthetic spoken words and export it.

    make train-kws
    # which is, in the training environment (TensorFlow, requirements-train.txt):
    PYTHONPATH=py_tools .venv-train/bin/python examples/kws/train.py --out examples/kws

Synthesises the clips (kws_words.py: espeak-ng's voices, speeds and pitches, noise), computes
their MFCC images with emlml's own MFCC step (the bits the board computes), fits the
per-coefficient scaler, trains a small Keras CNN on the scaled 49 x 10 images and
exports it with full-integer post-training quantization (int8 weights per channel, int8
activations, int8 input and output, calibrated on the training images). Writes into
--out: kws.tflite and kws.json (the record: classes, MFCC parameters, the scaler, the
data, versions, layers, TFLite operators, accuracy on validation clips). kws_model.py builds
the Pipeline from them. Deterministic: seeded data, seeded TensorFlow, one thread.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time

import numpy as np

import kws_model
import kws_words as words

from emlml_dev import cnn_data
from emlml_dev.train_cnn import (SUPPORTED_OPS, _quiet_convert, _tf, _versions, describe_layers,
                                 export, inspect_tflite)

SEED = 1234
TRAIN = (250, 1)  # clips per class, data seed
VALIDATION = (50, 2)
EPOCHS = 30
LEARNING_RATE = 3e-3


def build_cnn(tf, frames: int, coefficients: int, classes: int):
    L = tf.keras.layers
    return tf.keras.Sequential([
        tf.keras.Input((frames, coefficients, 1)),
        L.Conv2D(16, 3, padding="same", activation="relu"),
        L.MaxPooling2D(2),
        L.Conv2D(32, 3, padding="same", activation="relu"),
        L.MaxPooling2D(2),
        L.Conv2D(32, 3, padding="same", activation="relu"),
        L.GlobalAveragePooling2D(),
        L.Dropout(0.2),
        L.Dense(classes, activation="softmax"),
    ], name="kws_cnn")


def features(step, scaler, clips: np.ndarray) -> np.ndarray:
    """The scaled MFCC images, float32 ``(n, frames, coefficients, 1)``."""
    x = scaler.transform(kws_model.transform(step, clips)).astype(np.float32)
    return x.reshape(len(clips), step.n_frames_, -1, 1)


def run(out: str, epochs: int) -> dict:
    t0 = time.time()
    x_train, y_train = words.make_clips(*TRAIN)
    x_val, y_val = words.make_clips(*VALIDATION)
    print(f"clips: {len(x_train)} training, {len(x_val)} validation ({time.time() - t0:.0f} s)",
          flush=True)
    step = kws_model.mfcc()
    raw = kws_model.transform(step, x_train)
    scaler = kws_model.fit_coefficient_scaler(raw, step.n_frames_)
    f_train, f_val = features(step, scaler, x_train), features(step, scaler, x_val)
    print(f"MFCC images {f_train.shape[1:3]} ({time.time() - t0:.0f} s)", flush=True)

    tf = _tf()
    tf.keras.utils.set_random_seed(SEED)
    net = build_cnn(tf, f_train.shape[1], f_train.shape[2], len(words.CLASSES))
    net.compile(optimizer=tf.keras.optimizers.Adam(LEARNING_RATE),
                loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    net.fit(f_train, y_train, epochs=epochs, batch_size=32, shuffle=True, verbose=0)
    float_acc = float(np.mean(np.argmax(net.predict(f_val, verbose=0), 1) == y_val))
    blob = _quiet_convert(export, tf, net, f_train, True)
    int8_acc = float(np.mean(np.argmax(cnn_data.tflite_predict(blob, f_val), 1) == y_val))
    info = inspect_tflite(blob)
    rec = {
        "generated_by": "make train-kws (examples/kws/train.py --out examples/kws)",
        "versions": _versions(tf),
        "classes": list(words.CLASSES),
        "mfcc": kws_model.MFCC_PARAMS,
        "scaler": {"mean": scaler.mean_[:step.n_coefficients].tolist(),
                   "std": scaler.scale_[:step.n_coefficients].tolist()},
        "data": {"synthesis": "espeak-ng " + words.espeak_version(),
                 "train": {"per_class": TRAIN[0], "seed": TRAIN[1]},
                 "validation": {"per_class": VALIDATION[0], "seed": VALIDATION[1]},
                 "keywords": list(words.KEYWORDS), "unknown_words": list(words.UNKNOWN_WORDS),
                 "voices": list(words.VOICES), "variants": list(words.VARIANTS),
                 "speeds": list(words.SPEEDS), "pitches": list(words.PITCHES),
                 "snr_db": list(words.SNR_DB)},
        "epochs": epochs, "learning_rate": LEARNING_RATE, "batch_size": 32, "seed": SEED,
        "size_bytes": len(blob), "sha256": hashlib.sha256(blob).hexdigest(),
        "keras_float_accuracy": float_acc, "tflite_int8_accuracy": int8_acc,
        "keras_params": int(net.count_params()),
        "layers": describe_layers(net), **info,
        "unsupported_ops": sorted(set(info["operators"]) - SUPPORTED_OPS),
    }
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "kws.tflite"), "wb") as f:
        f.write(blob)
    with open(os.path.join(out, "kws.json"), "w") as f:
        json.dump(rec, f, indent=1)
        f.write("\n")
    print(f"kws.tflite {len(blob)} B, {rec['keras_params']} parameters; validation accuracy: "
          f"Keras float {float_acc:.4f}, int8 TFLite {int8_acc:.4f} ({time.time() - t0:.0f} s)")
    print("operators: " + " ".join(info["operators"]))
    return rec


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=kws_model.HERE, help="output folder (default: examples/kws)")
    ap.add_argument("--epochs", type=int, default=EPOCHS)
    args = ap.parse_args(argv)
    try:
        run(args.out, args.epochs)
    except words.MissingEspeak as e:
        print(e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
