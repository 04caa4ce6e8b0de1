"""Feature steps before an int8 CNN (emlml_tools.features.TFLiteClassifier; docs/features.md,
"A CNN after the steps"): the estimator answers as the board does (TFLite's reference
kernels on the features quantized as the board quantizes array('f')); fit checks and does
not train; it pickles; ``emlml convert pipe.joblib`` needs no flags; a blob whose steps
do not give the CNN's input count is refused with both numbers. The Pipelines'
predict on every held-out window: test_convert_pipeline.py (reference runtime),
test_core_pipeline.py (C core), test_device_pipeline.py (MicroPython)."""

from __future__ import annotations

import subprocess
import sys

import joblib
import numpy as np
import pytest
from emlml_dev.pipelines import cnn_pipeline_models
from emlml_dev.tflite_build import feature_classifier
from sklearn.decomposition import PCA
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from emlml_tools import runtime
from emlml_tools.convert.sklearn_models import convert
from emlml_tools.errors import CommandError
from emlml_tools.features import TFLiteClassifier
from emlml_tools.format import InputType, Kind, read_blob
from emlml_tools.format.pipeline import pipeline_arena_bytes
from emlml_tools.oracle import Oracle
from emlml_tools.runtime.cnn import quantize_values

MODELS = {m.name: m for m in cnn_pipeline_models()}


def test_blob_runs_every_step_on_a_float32_window():
    model = MODELS["motion_stats_std_conv_cnn"]
    blob = read_blob(model.blob())
    pipe = blob.pipeline
    assert blob.kind == Kind.CNN and blob.input_type == InputType.FLOAT32
    assert blob.n_inputs == 64 * 3 and pipe.channels == 3 and pipe.sample_rate == 50.0
    assert pipe.n_run == pipe.n_steps == 2 and pipe.n_features == 27
    assert blob.arena_bytes == (blob.cnn.arena_bytes(blob.n_outputs)
                                + pipeline_arena_bytes(pipe.width, pipe.scratch))
    np.testing.assert_array_equal(runtime.transform(blob, model.X_test[:5]),
                                  runtime.transform(model.blob(), model.X_test[:5]))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_estimator_is_tflite_on_the_boards_quantized_features(name):
    """predict and predict_proba by hand: the interpreter (BUILTIN_REF) on the host
    steps' features, quantized with TFLite's QUANTIZE unless the .tflite takes floats,
    outputs dequantized; the reference runtime's predict_proba gives the same floats."""
    model = MODELS[name]
    est = model.pipeline[-1]
    x = model.X_test[:40]
    features = model.pipeline[:-1].transform(x).astype(np.float32)
    oracle = Oracle(est.model_)
    scale, zp = oracle.inp["quantization"]
    want_class, want_proba = [], []
    for row in features:
        fed = row if oracle.inp["dtype"] == np.float32 else quantize_values(row, scale, int(zp))
        y = oracle(fed).reshape(-1)
        if oracle.out["dtype"] == np.int8:
            o_scale, o_zp = oracle.out["quantization"]
            y = (np.float64(np.float32(o_scale)) * (y.astype(np.float64) - o_zp)).astype(np.float32)
        want_class.append(int(np.argmax(y)))
        want_proba.append(y)
    np.testing.assert_array_equal(est.predict(features), est.classes_[want_class])
    np.testing.assert_array_equal(est.predict_proba(features), np.array(want_proba))
    np.testing.assert_array_equal(model.pipeline.predict_proba(x), runtime.predict_proba(model.blob(), x))


def test_both_quantized_and_float_edges_are_tested():
    edges = {(MODELS[n].pipeline[-1]._interpreter().inp["dtype"],
              MODELS[n].pipeline[-1]._interpreter().out["dtype"]) for n in MODELS}
    assert edges == {(np.int8, np.int8), (np.float32, np.int8), (np.int8, np.float32),
                     (np.float32, np.float32)}


def test_fit_checks_the_input_count_and_does_not_train():
    model = MODELS["std_cnn"]
    tflite = model.pipeline[-1].model_
    x = np.random.default_rng(0).normal(size=(20, 64)).astype(np.float32)
    est = TFLiteClassifier(tflite).fit(x, np.arange(20) % 10)
    assert est.model_ == tflite and list(est.classes_) == list(range(10))
    assert est.n_features_in_ == 64
    assert list(TFLiteClassifier(tflite).fit(x).classes_) == list(range(10))
    with pytest.raises(ValueError, match=r"^X has 63 features per row, the CNN's input holds 64 values"):
        TFLiteClassifier(tflite).fit(x[:, :63])
    with pytest.raises(ValueError, match=r"^y has 2 classes, the CNN gives 10 outputs"):
        TFLiteClassifier(tflite).fit(x, np.arange(20) % 2)


def test_string_labels_are_classes_and_blob_labels():
    model = MODELS["motion_spectrum_std_cnn"]
    names = np.array(["idle", "walk", "shake", "tap", "fall"])
    x_train = model.X_test  # any windows: the CNN is not trained by fit
    y = names[np.arange(len(x_train)) % 5]
    pipe = make_pipeline(*[s for s in model.pipeline[:-1]], TFLiteClassifier(model.pipeline[-1].model_))
    pipe.fit(x_train, y)
    blob = convert(pipe, channels=3)
    assert list(read_blob(blob).labels) == sorted(names)
    got = pipe.classes_[runtime.predict(blob, model.X_test)]
    np.testing.assert_array_equal(got, pipe.predict(model.X_test))


def test_converter_refuses_steps_that_do_not_feed_the_cnn():
    model = MODELS["pca_conv_cnn_float_in"]
    pipe = joblib_copy(model.pipeline)
    pipe.steps[0] = ("pca", PCA(12, random_state=0).fit(model.X_test))
    with pytest.raises(ValueError, match=r"^the feature steps give 12 values, the CNN's input "
                                         r"holds 16: "):
        convert(pipe)


def joblib_copy(obj):
    import io
    buf = io.BytesIO()
    joblib.dump(obj, buf)
    buf.seek(0)
    return joblib.load(buf)


def test_pickles_without_an_interpreter_and_cli_converts_it(tmp_path):
    model = MODELS["motion_stats_std_conv_cnn"]
    model.pipeline.predict(model.X_test[:2])  # an interpreter made and kept
    path = tmp_path / "pipe.joblib"
    joblib.dump(model.pipeline, path)
    loaded = joblib.load(path)
    assert getattr(loaded[-1], "_oracle", None) is None
    np.testing.assert_array_equal(loaded.predict(model.X_test), model.pipeline.predict(model.X_test))
    out = tmp_path / "m.bin"
    result = subprocess.run([sys.executable, "-m", "emlml_tools.cli", "convert", str(path), "-o",
                             str(out)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 feature steps on a window of 192 values" in result.stdout
    np.testing.assert_array_equal(runtime.predict(out.read_bytes(), model.X_test),
                                  model.pipeline.predict(model.X_test))


def test_missing_interpreter_says_what_to_install(monkeypatch):
    model = MODELS["std_cnn"]
    est = TFLiteClassifier(model.pipeline[-1].model_).fit(model.X_test[:5, :64])
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    monkeypatch.setitem(sys.modules, "ai_edge_litert", None)
    with pytest.raises(CommandError, match=r"pip install ai-edge-litert"):
        est.predict(model.X_test[:1, :64])


def test_a_cnn_alone_in_a_pipeline_is_the_plain_cnn_blob():
    x = np.random.default_rng(1).normal(size=(60, 8)).astype(np.float32)
    y = (x[:, 0] > 0).astype(int)
    tflite = feature_classifier(x, y)
    blob = read_blob(convert(make_pipeline(TFLiteClassifier(tflite)).fit(x, y)))
    assert blob.pipeline is None and blob.input_type == InputType.INT8
    scaled = read_blob(convert(make_pipeline(StandardScaler(), TFLiteClassifier(tflite)).fit(x, y)))
    assert scaled.pipeline.n_run == 1 and scaled.input_type == InputType.FLOAT32


def test_install_for_a_cnn_pipeline_picks_a_module_with_steps(tmp_path):
    """`emlml install --for m.bin`: a CNN behind feature steps needs the module of every
    family (the CNN-only one has no steps); a plain CNN keeps the smaller CNN-only one."""
    import os

    from emlml_tools.board.modules import families_of, scan, smallest_covering
    from runtimes import BUILD, require_built

    require_built(os.path.join(BUILD, "natmod", "armv6m", "cnn", "emlml.mpy"))
    require_built(os.path.join(BUILD, "natmod", "armv6m", "emlml.mpy"))
    model = MODELS["std_cnn"]
    pipe, plain = tmp_path / "pipe.bin", tmp_path / "cnn.bin"
    pipe.write_bytes(model.blob())
    plain.write_bytes(convert(model.pipeline[-1]))
    armv6m = [m for m in scan(os.path.join(BUILD, "natmod")) if m.arch == "armv6m"]
    assert families_of([str(pipe)]) == ("cnn", "steps")
    assert families_of([str(plain)]) == ("cnn",)
    assert smallest_covering(armv6m, families_of([str(pipe)])).build == "armv6m"
    assert smallest_covering(armv6m, families_of([str(plain)])).build == "armv6m/cnn"


def test_verify_against_the_pipeline_not_the_tflite(tmp_path):
    """`emlml verify m.bin pipe.joblib windows.npy` checks a CNN Pipeline's blob; given the
    .tflite instead, it says what to verify against (one line, no traceback)."""
    model = MODELS["motion_spectrum_cnn_float_io"]
    (tmp_path / "m.bin").write_bytes(model.blob())
    (tmp_path / "m.tflite").write_bytes(model.pipeline[-1].model_)
    joblib.dump(model.pipeline, tmp_path / "pipe.joblib")
    np.save(tmp_path / "x.npy", model.X_test[:20])

    def verify(against: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "emlml_tools.cli", "verify", str(tmp_path / "m.bin"),
                               str(tmp_path / against), str(tmp_path / "x.npy")],
                              capture_output=True, text=True)
    good = verify("pipe.joblib")
    assert good.returncode == 0 and "100.00 % agreement (20/20)" in good.stdout, good.stdout + good.stderr
    bad = verify("m.tflite")
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert "has feature steps before its CNN: verify it against the Pipeline" in bad.stderr


def test_inspect_tells_the_window_from_the_cnn_input():
    from emlml_tools.describe import describe

    rows = dict(describe(read_blob(MODELS["motion_stats_std_conv_cnn"].blob())))
    assert rows["inputs"] == "192 x float32 ('f'), the model's input shape 1x27x1"
    assert rows["window"].startswith("64 samples x 3 channels at 50 Hz")
    assert "2 feature steps" in rows["window"]
    assert rows["layer 0"].startswith("CONV_2D")
