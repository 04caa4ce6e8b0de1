"""The keyword spotter as one scikit-learn Pipeline, from the files train.py wrote beside
this file (kws.tflite, the int8 CNN, and kws.json, its record): no TensorFlow needed.

    MFCC (49 frames x 10 coefficients of a 1 s window at 16 kHz)
      -> StandardScaler (each coefficient's mean and standard deviation over the training
         clips' frames)
      -> TFLiteClassifier(kws.tflite) (an int8 CNN on the 49 x 10 image)

``emlml convert`` turns it into one blob; on the board ``m.predict(window)`` takes 16000
float32 samples and gives the class index (``m.labels`` names it).
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))
TFLITE = os.path.join(HERE, "kws.tflite")
RECORD = os.path.join(HERE, "kws.json")

# 30 ms frames every 20 ms (49 in a second), a 512-point FFT, 40 HTK mel filters from
# 20 Hz to 7.6 kHz, the first 10 cepstral coefficients: the usual KWS front end.
MFCC_PARAMS: dict[str, Any] = dict(sample_rate=16000, frame_length=480, hop=320, n_fft=512,
                                   n_mels=40, fmin=20.0, fmax=7600.0, n_coefficients=10)


def mfcc():
    """The MFCC step, fitted (its parameters depend only on the window's length)."""
    from emlml_tools.features import MFCC

    return MFCC(**MFCC_PARAMS).fit(np.zeros((1, MFCC_PARAMS["sample_rate"]), np.float32))


def transform(step, clips: np.ndarray, chunk: int = 25) -> np.ndarray:
    """``step.transform`` a few clips at a time: the same bits, three times faster on
    thousands of clips (the FFT's buffers stay in the cache)."""
    return np.concatenate([step.transform(clips[i:i + chunk]) for i in range(0, len(clips), chunk)])


def coefficient_scaler(mean: np.ndarray, std: np.ndarray, frames: int) -> StandardScaler:
    """A fitted StandardScaler over the frames x coefficients image that scales every
    frame alike: coefficient c's ``mean[c]`` and ``std[c]`` repeated for each frame."""
    s = StandardScaler()
    s.mean_ = np.tile(np.asarray(mean, np.float64), frames)
    s.scale_ = np.tile(np.asarray(std, np.float64), frames)
    s.var_ = s.scale_ ** 2
    s.n_features_in_ = len(s.mean_)
    s.n_samples_seen_ = 1
    return s


def fit_coefficient_scaler(features: np.ndarray, frames: int) -> StandardScaler:
    """The scaler from training features ``(n, frames * coefficients)``: each coefficient's
    mean and standard deviation over every frame of every clip (float64)."""
    per_frame = np.asarray(features, np.float64).reshape(len(features) * frames, -1)
    return coefficient_scaler(per_frame.mean(axis=0), per_frame.std(axis=0), frames)


def record(path: str = RECORD) -> dict[str, Any]:
    with open(path) as f:
        return json.load(f)


def pipeline(tflite: str = TFLITE, record_path: str = RECORD) -> Pipeline:
    """The fitted Pipeline MFCC -> scaler -> CNN; ``predict`` gives indices into
    ``record()["classes"]``, as the board's ``m.predict`` does."""
    from emlml_tools.features import TFLiteClassifier

    rec = record(record_path)
    if rec["mfcc"] != MFCC_PARAMS:
        raise ValueError(f"{record_path} was trained with MFCC {rec['mfcc']}, not {MFCC_PARAMS}")
    step = mfcc()
    scaler = coefficient_scaler(rec["scaler"]["mean"], rec["scaler"]["std"], step.n_frames_)
    n_classes = len(rec["classes"])
    with open(tflite, "rb") as f:
        cnn = TFLiteClassifier(f.read()).fit(np.zeros((n_classes, scaler.n_features_in_), np.float32),
                                             np.arange(n_classes))
    return Pipeline([("mfcc", step), ("scale", scaler), ("cnn", cnn)])
