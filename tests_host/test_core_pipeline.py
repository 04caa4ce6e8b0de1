"""Feature steps in the C core (ASan + UBSan, gcc and clang, and the one-tree walk):
predict and transform on every held-out window bit for bit as the NumPy reference, and
predict equal to the host scikit-learn Pipeline's (steps before trees, kNN and int8 CNNs,
whose host predict is TFLite's reference kernels)."""

from __future__ import annotations

import numpy as np
import pytest
from emlml_dev.pipelines import pipeline_models
from runtimes import HOST_DRIVERS, run_driver

from emlml_tools import runtime
from emlml_tools.format import read_blob

MODELS = pipeline_models()


def _outputs(blob: bytes, x: np.ndarray) -> np.ndarray:
    """The reference runtime's output floats, as the driver prints them."""
    if read_blob(blob).is_classifier:
        return runtime.predict_proba(blob, x)
    return runtime.predict(blob, x).reshape(-1, 1).astype(np.float32)


@pytest.mark.parametrize("driver", HOST_DRIVERS, ids=["gcc", "clang", "gcc-one-walk"])
@pytest.mark.parametrize("model", MODELS, ids=[m.name for m in MODELS])
def test_core_predict_matches_reference_and_pipeline(driver, model, tmp_path):
    blob = model.blob()
    x = np.ascontiguousarray(model.X_test, dtype=np.float32)
    result = run_driver(driver, blob, x.tobytes(), tmp_path)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(x)
    want = _outputs(blob, x).view(np.uint32)
    host = model.pipeline.predict(x)
    for i, line in enumerate(lines):
        parts = line.split()
        assert parts[0] == "ok", line
        floats = parts[2:parts.index("q")] if "q" in parts else parts[2:]  # a CNN: then its int8 outputs
        assert [int(h, 16) for h in floats] == list(want[i]), (i, line)
        if model.is_classifier:
            assert int(parts[1]) == host[i], (i, line)


@pytest.mark.parametrize("driver", HOST_DRIVERS[:2], ids=["gcc", "clang"])
@pytest.mark.parametrize("model", MODELS, ids=[m.name for m in MODELS])
def test_core_transform_bits(driver, model, tmp_path):
    blob = model.blob()
    x = np.ascontiguousarray(model.X_test[:60], dtype=np.float32)
    result = _transform(driver, blob, x, tmp_path)
    want = runtime.transform(blob, x).view(np.uint32)
    lines = result.stdout.splitlines()
    assert len(lines) == len(x), result.stdout + result.stderr
    for i, line in enumerate(lines):
        assert line.split() == ["features"] + [f"{v:08x}" for v in want[i]], (i, line)


def _transform(driver, blob, x, tmp_path):
    import subprocess

    from runtimes import SAN_ENV, require_built
    (tmp_path / "m.bin").write_bytes(blob)
    (tmp_path / "x.bin").write_bytes(x.tobytes())
    return subprocess.run([require_built(driver), str(tmp_path / "m.bin"), str(tmp_path / "x.bin"),
                           "transform"], capture_output=True, text=True, env=SAN_ENV, timeout=300)


def test_core_refuses_what_a_step_cannot_take(tmp_path):
    """NaN into PCA, infinity into a scaler: the step named, as the reference says it."""
    model = next(m for m in MODELS if m.name == "std_pca_std_forest")
    x = np.ascontiguousarray(model.X_test[:3], dtype=np.float32).copy()
    x[0, 5] = np.nan  # the scaler passes it, the PCA refuses it
    x[1, 9] = -np.inf  # the scaler refuses it
    result = run_driver(HOST_DRIVERS[0], model.blob(), x.tobytes(), tmp_path)
    lines = result.stdout.splitlines()
    assert lines[0] == "error step 1 (PROJECT): input 5 is NaN"
    assert lines[1] == "error step 0 (SCALE): input 9 is infinite"
    assert lines[2].startswith("ok ")
    for row, line in zip(x[:2], lines):
        with pytest.raises(ValueError) as info:
            runtime.predict(model.blob(), row[None, :])
        assert line == "error " + str(info.value)


def test_core_statistics_refuse_nan(tmp_path):
    """ChannelStats' step takes no NaN: named as the reference names it."""
    model = next(m for m in MODELS if m.name == "motion_stats_std_forest")
    x = np.ascontiguousarray(model.X_test[:2], dtype=np.float32).copy()
    x[1, 7] = np.nan
    lines = run_driver(HOST_DRIVERS[1], model.blob(), x.tobytes(), tmp_path).stdout.splitlines()
    assert lines[0].startswith("ok ") and lines[1] == "error step 0 (STATS): input 7 is NaN"
    with pytest.raises(ValueError, match=r"^step 0 \(STATS\): input 7 is NaN$"):
        runtime.predict(model.blob(), x)


@pytest.mark.parametrize("driver", HOST_DRIVERS[:2], ids=["gcc", "clang"])
def test_core_filter_refuses_nan_infinity_and_overflow(driver, tmp_path):
    """The IIR filter (SOS) takes neither NaN nor infinity, and refuses a window whose
    output overflows float32 (a stable filter's overshoot near the float32 maximum): the
    step named, as the reference names it."""
    model = next(m for m in MODELS if m.name == "motion_butter_spectrum_forest")
    x = np.ascontiguousarray(model.X_test[:4], dtype=np.float32).copy()
    x[0, 7] = np.nan
    x[1, 2] = np.inf
    x[2, :] = np.float32(3e38)  # the low-pass overshoots its step response by some 10 %
    lines = run_driver(driver, model.blob(), x.tobytes(), tmp_path).stdout.splitlines()
    assert lines[0] == "error step 0 (SOS): input 7 is NaN"
    assert lines[1] == "error step 0 (SOS): input 2 is infinite"
    assert lines[2].startswith("error step 0 (SOS): output ") and lines[2].endswith(" overflows float32")
    assert lines[3].startswith("ok ")
    for row, line in zip(x[:3], lines):
        with pytest.raises(ValueError) as info:
            runtime.predict(model.blob(), row[None, :])
        assert line == "error " + str(info.value)


def _sound_blob(kind: str) -> bytes:
    """Keyword spotting's MFE or MFCC (16 kHz, 25 ms frames, 10 ms hop, n_fft 512, 40
    mels, 13 coefficients) of 0.5 s, before kNN (nothing folded: transform is the step)."""
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline

    from emlml_tools.convert.sklearn_models import convert
    from emlml_tools.features import MFCC, MFE
    x = np.random.default_rng(5).normal(0, 0.3, (6, 8000)).astype(np.float32)
    step = MFCC(preemphasis=0.97) if kind == "MFCC" else MFE(window="hamming", floor=1e-7)
    return convert(make_pipeline(step, KNeighborsClassifier(1)).fit(x, np.arange(6) % 2))


def _edge_windows() -> np.ndarray:
    """Silence (the log's floor), full scale, 16-bit PCM values, random, subnormal."""
    rng = np.random.default_rng(9)
    n = 8000
    return np.stack([np.zeros(n), np.ones(n), rng.choice([-1.0, 1.0], n), np.round(rng.normal(0, 8000, n)),
                     np.clip(np.round(rng.normal(0, 20000, n)), -32768, 32767),
                     rng.normal(0, 0.3, n), rng.uniform(-1, 1, n) * 1e-39,
                     np.sin(2 * np.pi * 1000 * np.arange(n) / 16000)]).astype(np.float32)


@pytest.mark.parametrize("driver", HOST_DRIVERS[:2], ids=["gcc", "clang"])
@pytest.mark.parametrize("kind", ["MFE", "MFCC"])
def test_core_sound_bits_on_silence_full_scale_and_noise(driver, kind, tmp_path):
    blob = _sound_blob(kind)
    x = _edge_windows()
    want = runtime.transform(blob, x)
    assert np.isfinite(want).all()
    if kind == "MFE":  # silence: every energy at the floor
        assert (want[0] == np.log(np.float32(1e-7))).all()
    result = _transform(driver, blob, x, tmp_path)
    lines = result.stdout.splitlines()
    assert len(lines) == len(x), result.stdout + result.stderr
    for i, line in enumerate(lines):
        assert line.split() == ["features"] + [f"{v:08x}" for v in want[i].view(np.uint32)], (i, line)


def test_core_sound_refuses_nan_and_infinity(tmp_path):
    blob = _sound_blob("MFCC")
    x = _edge_windows()[:3].copy()
    x[0, 17] = np.nan
    x[1, 7999] = np.inf
    lines = run_driver(HOST_DRIVERS[0], blob, x.tobytes(), tmp_path).stdout.splitlines()
    assert lines[0] == "error step 0 (MFCC): input 17 is NaN"
    assert lines[1] == "error step 0 (MFCC): input 7999 is infinite"
    assert lines[2].startswith("ok ")
    for row, line in zip(x[:2], lines):
        with pytest.raises(ValueError) as info:
            runtime.predict(blob, row[None, :])
        assert line == "error " + str(info.value)
