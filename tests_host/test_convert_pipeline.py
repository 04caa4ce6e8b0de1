"""scikit-learn Pipelines converted (convert/sklearn_pipeline.py): the blob's predict on
the NumPy reference runtime equals the host Pipeline's predict on every held-out float32
window; transform within float32 rounding of scikit-learn's; what cannot be converted is
refused with the step named."""

from __future__ import annotations

import numpy as np
import pytest
from emlml_dev.pipelines import pipeline_models
from sklearn.decomposition import PCA
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, Normalizer, StandardScaler
from sklearn.tree import DecisionTreeClassifier

from emlml_tools import runtime
from emlml_tools.convert.sklearn_models import convert
from emlml_tools.format import StepOp, read_blob

MODELS = pipeline_models()


@pytest.mark.parametrize("model", MODELS, ids=[m.name for m in MODELS])
def test_predict_equals_host_pipeline(model):
    blob = model.blob()
    got = runtime.predict(blob, model.X_test)
    want = model.pipeline.predict(model.X_test)
    if model.is_classifier:
        assert (got == want).all(), f"{(got != want).sum()} of {len(got)} differ"
    else:  # float32 leaf values / float32 kNN sums: scikit-learn's value in float32
        np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("model", MODELS, ids=[m.name for m in MODELS])
def test_transform_within_float32_rounding(model):
    """The steps in float32 against scikit-learn's float64-then-float32 arithmetic: a few
    float32 ulps of the features' scale (docs/features.md gives the bound)."""
    features = runtime.transform(model.blob(), model.X_test)
    want = model.pipeline[:-1].transform(model.X_test)
    scale = np.maximum(np.abs(want).max(axis=0), 1.0)
    assert features.dtype == np.float32 and features.shape == want.shape
    assert (np.abs(features - want) <= 64 * np.finfo(np.float32).eps * scale).all()


def test_blob_holds_the_steps_and_window():
    model = next(m for m in MODELS if m.name == "motion_std_pca_knn")
    blob = read_blob(model.blob())
    pipe = blob.pipeline
    assert blob.n_inputs == 64 * 3 and pipe.channels == 3 and pipe.sample_rate == 50.0
    assert [StepOp(int(op)) for op in pipe.steps["op"]] == [StepOp.SCALE, StepOp.PROJECT]
    assert pipe.n_run == 2 and pipe.n_features == 8 == blob.knn.samples.shape[1]
    scaler = model.pipeline[0]
    np.testing.assert_array_equal(pipe.step_params(0)[:192], scaler.mean_.astype(np.float32))


def test_trees_fold_the_scalers():
    """Per-value steps before trees are folded (predict runs none of them); a PCA runs,
    and the scaler after it is folded."""
    by_name = {m.name: read_blob(m.blob()) for m in MODELS}
    assert by_name["std_forest"].pipeline.n_run == 0
    assert by_name["minmax_std_maxabs_extra"].pipeline.n_run == 0
    assert by_name["std_pca_std_forest"].pipeline.n_run == 2
    assert by_name["std_knn"].pipeline.n_run == 1
    assert by_name["motion_stats_std_forest"].pipeline.n_run == 1  # the statistics run


def test_fold_is_exact_at_the_threshold():
    """At each split, the folded raw threshold x* goes left through scikit-learn's own
    scaler and the next float32 above it goes right: the fold is the exact boundary."""
    model = next(m for m in MODELS if m.name == "std_forest")
    blob = read_blob(model.blob())
    scaler, forest = model.pipeline[0], model.pipeline[-1]
    t = forest.estimators_[0].tree_
    split = np.flatnonzero(t.children_left >= 0)[:50]
    from emlml_tools.convert.sklearn_pipeline import _folder
    raw = _folder([scaler])(t.feature[split], t.threshold[split]).astype(np.float32)
    above = np.nextafter(raw, np.float32(np.inf))
    for x, f, thr, up in zip(raw, t.feature[split], t.threshold[split], above):
        m = np.zeros((2, 64), np.float32)
        m[0, f], m[1, f] = x, up
        y = scaler.transform(m)[:, f]
        assert y[0] <= thr < y[1]
    assert blob.trees is not None


def test_nan_routed_through_folded_scalers():
    """A NaN in the window: the scaler passes it and the tree routes it as scikit-learn's."""
    model = next(m for m in MODELS if m.name == "std_forest")
    x = model.X_test[:40].copy()
    x[np.arange(40), np.arange(40) % 64] = np.nan
    assert (runtime.predict(model.blob(), x) == model.pipeline.predict(x)).all()


def test_unsupported_step_named():
    x = np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(int)
    with pytest.raises(TypeError, match=r"step 1 \(Normalizer\) cannot be converted: emlml's "
                       "feature steps are Butterworth, ChannelStats, MFCC, MFE, MaxAbsScaler, "
                       "MinMaxScaler, PCA, SOSFilter, Spectrum, StandardScaler"):
        convert(make_pipeline(StandardScaler(), Normalizer(), DecisionTreeClassifier()).fit(x, y))
    with pytest.raises(ValueError, match=r"step 0 \(MinMaxScaler\): clip=True"):
        convert(make_pipeline(MinMaxScaler(clip=True), DecisionTreeClassifier()).fit(x, y))
    with pytest.raises(ValueError, match="3 channels do not divide the window of 4 values"):
        convert(make_pipeline(PCA(2), DecisionTreeClassifier()).fit(x, y), channels=3)


def test_transform_refuses_nan_into_pca():
    model = next(m for m in MODELS if m.name == "std_pca_std_forest")
    x = model.X_test[:3].copy()
    x[1, 5] = np.nan
    with pytest.raises(ValueError, match=r"step 1 \(PROJECT\): input 5 is NaN"):
        runtime.transform(model.blob(), x)
    with pytest.raises(ValueError, match=r"step 1 \(PROJECT\): input 5 is NaN"):
        runtime.predict(model.blob(), x)


def test_cli_convert_and_inspect_a_pipeline(tmp_path, capsys):
    import joblib

    from emlml_tools import cli
    model = next(m for m in MODELS if m.name == "motion_std_pca_knn")
    joblib.dump(model.pipeline, tmp_path / "p.joblib")
    out = tmp_path / "p.bin"
    assert cli.main(["convert", str(tmp_path / "p.joblib"), "-o", str(out), "--channels", "3",
                     "--sample-rate", "50"]) == 0
    assert "2 feature steps on a window of 192 values" in capsys.readouterr().out
    assert (runtime.predict(out.read_bytes(), model.X_test) == model.pipeline.predict(model.X_test)).all()
    assert cli.main(["inspect", str(out)]) == 0
    text = capsys.readouterr().out
    assert "64 samples x 3 channels at 50 Hz (sample-major), 2 feature steps" in text
    assert "step 1:     PROJECT  192 -> 8" in text
    assert cli.main(["convert", str(tmp_path / "p.joblib"), "-o", str(out), "--channels", "5"]) == 1
    assert "5 channels do not divide the window of 192 values" in capsys.readouterr().err


def test_nested_pipeline_flattened():
    model = next(m for m in MODELS if m.name == "std_pca_std_forest")
    scaler, pca, scaler2, forest = (s for _, s in model.pipeline.steps)
    from sklearn.pipeline import Pipeline
    nested = Pipeline([("features", make_pipeline(scaler, pca)), ("s", scaler2), ("f", forest)])
    assert convert(nested) == model.blob()


def test_filters_store_their_sections_and_sample_rate():
    """Butterworth -> SOS with its float32 sections; its sample rate is the window's, and
    a different --sample-rate, or filters designed for two rates, are refused."""
    from sklearn.ensemble import RandomForestClassifier

    from emlml_tools.features import Butterworth, SOSFilter, Spectrum
    model = next(m for m in MODELS if m.name == "motion_butter_spectrum_forest")
    blob = read_blob(convert(model.pipeline, channels=3))  # no --sample-rate: the filter's
    pipe = blob.pipeline
    assert pipe.sample_rate == 50.0 and pipe.channels == 3 and pipe.n_run == 2
    assert [StepOp(int(op)) for op in pipe.steps["op"]] == [StepOp.SOS, StepOp.SPECTRUM]
    np.testing.assert_array_equal(pipe.step_params(0), model.pipeline[0].params_)
    assert pipe.step_params(0)[0] == 2 and pipe.n_features == 3 * (8 + 2)
    assert convert(model.pipeline, channels=3, sample_rate=50.0) == model.blob()
    with pytest.raises(ValueError, match=r"--sample-rate 100.0 Hz, but the Butterworth filter is "
                       r"designed for 50.0 Hz"):
        convert(model.pipeline, channels=3, sample_rate=100.0)
    x, y = model.X_test, model.y_test
    two = make_pipeline(Butterworth("highpass", 1.0, 2, 50.0, 3), Butterworth("lowpass", 10.0, 2, 100.0, 3),
                        Spectrum(3, bands=4), RandomForestClassifier(3, random_state=0)).fit(x, y)
    with pytest.raises(ValueError, match=r"Butterworth filters designed for sample rates \[50.0, 100.0\] Hz"):
        convert(two)
    plain = make_pipeline(SOSFilter([[1, 0, 0, 1, -0.5, 0]], 3), Spectrum(3, bands=4),
                          RandomForestClassifier(3, random_state=0)).fit(x, y)
    assert read_blob(convert(plain, sample_rate=25.0)).pipeline.sample_rate == 25.0
    with pytest.raises(ValueError, match=r"feature steps with channels \[1, 3\]"):
        convert(make_pipeline(SOSFilter(channels=1), Spectrum(3, bands=4),
                              RandomForestClassifier(3, random_state=0)).fit(x, y))


def test_filter_overflow_refused_by_transform():
    model = next(m for m in MODELS if m.name == "motion_sos_stats_knn")
    x = model.X_test[:2].copy()
    x[1] = np.float32(3e38)
    with pytest.raises(ValueError, match=r"^step 0 \(SOS\): output \d+ overflows float32$"):
        runtime.transform(model.blob(), x)


def test_sound_steps_store_their_sample_rate_and_take_one_channel():
    from emlml_tools.features import MFCC, MFE
    x = np.random.default_rng(2).normal(0, 0.3, (8, 800)).astype(np.float32)
    y = np.arange(8) % 2
    pipe = make_pipeline(MFCC(8000, 200, 80, 256, 26), DecisionTreeClassifier(random_state=0)).fit(x, y)
    blob = read_blob(convert(pipe))
    assert blob.pipeline.sample_rate == 8000.0 and blob.pipeline.channels == 1
    assert blob.pipeline.n_features == 8 * 13 and read_blob(convert(pipe, sample_rate=8000)).pipeline
    from emlml_tools.describe import describe
    assert ("step 0", "MFCC     800 -> 104 (8 frames of 200 samples, hop 80, n_fft 256, 26 mel "
            "filters: 8 x 13 coefficients, frame-major)") in describe(blob)
    with pytest.raises(ValueError, match=r"MFE/MFCC steps at \[8000.0\] Hz and a window at 16000 Hz: "
                                         "drop --sample-rate"):
        convert(pipe, sample_rate=16000)
    with pytest.raises(ValueError, match=r"feature steps with channels \[1\] and a window of 2 channels"):
        convert(pipe, channels=2)
    two = make_pipeline(MFE(8000, 200, 80), MFE(16000, 10, 10, 16, 4), DecisionTreeClassifier())
    with pytest.raises(ValueError, match=r"MFE/MFCC steps at \[8000.0, 16000.0\] Hz"):
        convert(two.fit(x, y))
