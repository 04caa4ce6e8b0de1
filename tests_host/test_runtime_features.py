"""emlml's own transformers (emlml_tools.features): the NumPy reference against NumPy and
SciPy's float64 statistics within documented float32 tolerances, scikit-learn
compatibility (clone, get/set_params, a Pipeline in a grid search), and refusals. The C
kernel's bits: test_core_pipeline.py and test_device_pipeline.py."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
import scipy.stats
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from emlml_tools.features import STATS, ChannelStats, channel_stats, stats_mask

# Relative to max(|value|, 1): float32 sums of 64..256 values, and skewness/kurtosis,
# which divide float32 central moments (docs/features.md).
TOLERANCE = {"mean": 1e-6, "std": 1e-6, "rms": 1e-6, "min": 0, "max": 0, "ptp": 1e-6,
             "skew": 2e-4, "kurtosis": 2e-4, "crossings": 0}


def _windows(n=200, samples=128, channels=3, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(samples)[None, :, None]
    freq = rng.uniform(0.01, 0.2, size=(n, 1, channels))
    x = rng.normal(0, 1, (n, 1, channels)) + rng.uniform(0.1, 3, (n, 1, channels)) * np.sin(
        2 * np.pi * freq * t) + rng.normal(0, 0.3, (n, samples, channels)) ** 3
    return x.reshape(n, -1).astype(np.float32)


def _float64_reference(x, channels):
    v = x.astype(np.float64).reshape(len(x), -1, channels)
    d = v - v.mean(axis=1, keepdims=True)
    crossings = (np.diff(d < 0, axis=1) != 0).sum(axis=1)
    return {"mean": v.mean(1), "std": v.std(1), "rms": np.sqrt((v * v).mean(1)),
            "min": v.min(1), "max": v.max(1), "ptp": np.ptp(v, axis=1),
            "skew": scipy.stats.skew(v, axis=1), "kurtosis": scipy.stats.kurtosis(v, axis=1),
            "crossings": crossings}


@pytest.mark.parametrize("channels,samples", [(1, 64), (3, 128), (6, 256)])
def test_statistics_match_numpy_and_scipy(channels, samples):
    x = _windows(samples=samples, channels=channels)
    got = ChannelStats(channels).fit(x).transform(x).reshape(len(x), channels, len(STATS))
    want = _float64_reference(x, channels)
    for j, name in enumerate(STATS):
        err = np.abs(got[:, :, j] - want[name]) / np.maximum(np.abs(want[name]), 1)
        assert err.max() <= TOLERANCE[name], (name, err.max())


def test_subset_order_and_names():
    x = _windows(n=5)
    full = ChannelStats(3).fit(x).transform(x).reshape(5, 3, len(STATS))
    some = ChannelStats(3, ("kurtosis", "mean")).fit(x)
    out = some.transform(x).reshape(5, 3, 2)
    np.testing.assert_array_equal(out[:, :, 0], full[:, :, STATS.index("mean")])  # STATS order
    np.testing.assert_array_equal(out[:, :, 1], full[:, :, STATS.index("kurtosis")])
    assert list(some.get_feature_names_out()) == ["ch0_mean", "ch0_kurtosis", "ch1_mean",
                                                  "ch1_kurtosis", "ch2_mean", "ch2_kurtosis"]
    assert stats_mask(["mean", "kurtosis"]) == 1 | 1 << 7


def test_constant_channel_has_zero_shape_statistics():
    x = np.ones((2, 30), np.float32) * 2.5
    out = dict(zip(STATS, channel_stats(x, 1, stats_mask(STATS))[0]))
    assert out["std"] == out["skew"] == out["kurtosis"] == out["crossings"] == 0
    assert out["mean"] == out["rms"] == 2.5


def test_scikit_learn_compatible_in_a_grid_search():
    x = _windows(n=120, samples=32)
    y = (x.reshape(120, 32, 3)[:, :, 0].std(axis=1) > np.median(
        x.reshape(120, 32, 3)[:, :, 0].std(axis=1))).astype(int)
    pipe = make_pipeline(ChannelStats(3), StandardScaler(),
                         RandomForestClassifier(5, random_state=0))
    assert clone(pipe)[0].get_params() == {"channels": 3, "stats": STATS}
    grid = GridSearchCV(pipe, {"channelstats__stats": [("mean",), ("std", "ptp")]}, cv=3)
    grid.fit(x, y)
    assert grid.best_params_["channelstats__stats"] == ("std", "ptp")
    assert grid.best_estimator_[0].set_params(stats=("rms",)).stats == ("rms",)


def test_refusals():
    x = _windows(n=4, samples=10)
    with pytest.raises(ValueError, match="not samples of 4 channels"):
        ChannelStats(4).fit(x)
    with pytest.raises(ValueError, match="unknown statistics .'median'.: choose from mean, std"):
        ChannelStats(3, ("median",)).fit(x)
    bad = x.copy()
    bad[1, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ChannelStats(3).fit(x).transform(bad)


# ---------------------------------------------------------------------------- Spectrum

def test_log_f32_within_one_ulp_of_numpy():
    from emlml_tools.features import log_f32
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.uniform(0, 4, 50000), 10.0 ** rng.uniform(-37, 38, 50000),
                        [np.finfo(np.float32).tiny, 1.0, 2.0, np.finfo(np.float32).max]]).astype(np.float32)
    x = x[x > 0]
    got = log_f32(x).view(np.int32).astype(np.int64)
    want = np.log(x.astype(np.float64)).astype(np.float32).view(np.int32).astype(np.int64)
    assert np.abs(got - want).max() <= 1
    assert log_f32(np.float32([1.0]))[0] == 0 and np.isinf(log_f32(np.float32([np.inf]))[0])


@pytest.mark.parametrize("channels,samples,window", [(1, 64, "hann"), (3, 128, "none"), (2, 1024, "hann")])
def test_spectrum_matches_numpy_fft(channels, samples, window):
    """Band log-power against NumPy's float64 rfft: the float32 FFT's rounding (relative to
    the power) shows in the log as an absolute error."""
    from emlml_tools.features import Spectrum
    x = _windows(n=40, samples=samples, channels=channels)
    sp = Spectrum(channels, bands=6, window=window).fit(x)
    got = sp.transform(x).reshape(40, channels, 6)
    v = x.astype(np.float64).reshape(40, samples, channels).transpose(0, 2, 1)
    w = np.ones(samples) if window == "none" else 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(samples) / samples)
    power = np.abs(np.fft.rfft((v - v.mean(axis=2, keepdims=True)) * w, axis=2)) ** 2
    edges = sp.params_[2 * samples:-1].astype(int)
    assert edges[0] == 1 and edges[-1] == samples // 2 + 1
    want = np.stack([np.log(power[:, :, a:b].sum(axis=2) + 1e-10) for a, b in zip(edges, edges[1:])],
                    axis=2)
    assert np.abs(got - want).max() <= 1e-4


def test_spectrum_refusals_and_params():
    from emlml_tools.features import Spectrum
    x = _windows(n=4, samples=48)
    with pytest.raises(ValueError, match="48 samples per channel: the FFT takes a power of two"):
        Spectrum(3).fit(x)
    x = _windows(n=4, samples=32)
    with pytest.raises(ValueError, match="band edges"):
        Spectrum(3, bands=(3, 2)).fit(x)
    assert clone(Spectrum(3, bands=(1, 4, 17))).get_params()["bands"] == (1, 4, 17)
    assert Spectrum(3, bands=4).fit(x).transform(x).shape == (4, 12)


def test_spectrum_shape_matches_scipy_stats():
    """Spectral skewness and kurtosis (Edge Impulse's: scipy.stats of the power of bins
    0 .. n/2) against SciPy on NumPy's float64 rfft, relative to max(|value|, 1)."""
    from emlml_tools.features import Spectrum
    tolerance = {8: 3e-5, 64: 3e-5, 256: 3e-5, 1024: 3e-5, 4096: 3e-4}
    for samples, window in [(8, "hann"), (64, "none"), (256, "hann"), (1024, "none"), (4096, "hann")]:
        x = _windows(n=20, samples=samples, channels=2)
        sp = Spectrum(2, bands=4, window=window, shape=("skew", "kurtosis")).fit(x)
        got = sp.transform(x).reshape(20, 2, 6)
        np.testing.assert_array_equal(got[:, :, :4], Spectrum(2, bands=4, window=window).fit(x)
                                      .transform(x).reshape(20, 2, 4))  # the bands unchanged
        v = x.astype(np.float64).reshape(20, samples, 2).transpose(0, 2, 1)
        t = np.arange(samples)
        w = np.ones(samples) if window == "none" else 0.5 - 0.5 * np.cos(2 * np.pi * t / samples)
        power = np.abs(np.fft.rfft((v - v.mean(axis=2, keepdims=True)) * w, axis=2)) ** 2
        for j, want in ((4, scipy.stats.skew(power, axis=2)), (5, scipy.stats.kurtosis(power, axis=2))):
            err = np.abs(got[:, :, j] - want) / np.maximum(np.abs(want), 1)
            assert err.max() <= tolerance[samples], (samples, j, err.max())


def test_spectrum_shape_options():
    from emlml_tools.features import Spectrum
    x = _windows(n=3, samples=32)
    both = Spectrum(3, bands=2, shape=("kurtosis", "skew")).fit(x)
    assert both.transform(x).shape == (3, 12) and both.n_outputs_ == 4
    kurt = Spectrum(3, bands=2, shape=("kurtosis",)).fit(x).transform(x).reshape(3, 3, 3)
    np.testing.assert_array_equal(kurt[:, :, 2], both.transform(x).reshape(3, 3, 4)[:, :, 3])
    flat = Spectrum(1, bands=2, shape=("skew", "kurtosis")).fit(np.ones((2, 16), np.float32))
    np.testing.assert_array_equal(flat.transform(np.ones((2, 16), np.float32))[:, 2:], 0)
    with pytest.raises(ValueError, match=r"shape \['mean'\]: choose from skew, kurtosis"):
        Spectrum(3, shape=("mean",)).fit(x)


# ---------------------------------------------------------------------------- filters

def _scipy_sosfilt(sos, x, channels):
    v = x.astype(np.float64).reshape(len(x), -1, channels)
    return scipy.signal.sosfilt(sos, v, axis=1).reshape(len(x), -1)


# The float32 filter against scipy's float64 sosfilt with the float64 design: the largest
# error relative to the window's largest |x| (docs/features.md), by cutoff / sample rate.
FILTER_TOLERANCE = {0.01: 5e-5, 0.04: 5e-6, 0.1: 2e-6, 0.2: 1e-6, 0.4: 1e-6}


@pytest.mark.parametrize("kind", ["lowpass", "highpass"])
@pytest.mark.parametrize("order", [1, 2, 4, 8])
@pytest.mark.parametrize("samples", [64, 1024])
def test_butterworth_matches_scipy_sosfilt(kind, order, samples):
    from emlml_tools.features import Butterworth
    x = _windows(n=20, samples=samples, channels=2)
    for ratio, tolerance in FILTER_TOLERANCE.items():
        b = Butterworth(kind, ratio * 50.0, order, 50.0, 2).fit(x)
        want = _scipy_sosfilt(scipy.signal.butter(order, ratio * 50.0, kind, output="sos", fs=50.0), x, 2)
        err = np.abs(b.transform(x) - want).max() / np.abs(x).max()
        assert err <= tolerance, (ratio, err)


def test_sos_filter_takes_any_scipy_sos():
    """A Chebyshev band-pass (its low edge at 0.02 of the sample rate), an elliptic
    low-pass, and sections with a0 != 1 (divided out on the host)."""
    from emlml_tools.features import SOSFilter
    x = _windows(n=20, samples=256, channels=3)
    for sos in (scipy.signal.cheby1(4, 1, (1, 10), "bandpass", output="sos", fs=50),
                scipy.signal.ellip(5, 0.5, 40, 0.3, output="sos"),
                np.array([[1.0, 0.5, 0.25, 2.0, -0.5, 0.25]])):
        got = SOSFilter(sos, 3).fit(x).transform(x)
        want = _scipy_sosfilt(sos / sos[:, 3:4], x, 3)  # scipy takes a0 = 1 only
        err = np.abs(got - want).max() / np.abs(x).max()
        assert err <= 2e-5, err


def test_filters_scikit_learn_compatible():
    from emlml_tools.features import Butterworth, SOSFilter
    assert clone(Butterworth("highpass", 2.0, 3, 100.0, 3)).get_params() == {
        "kind": "highpass", "cutoff": 2.0, "order": 3, "sample_rate": 100.0, "channels": 3}
    x = _windows(n=60, samples=32)
    y = (x.reshape(60, 32, 3)[:, :, 0].std(axis=1) > 1.5).astype(int)
    grid = GridSearchCV(make_pipeline(Butterworth(channels=3), ChannelStats(3),
                                      RandomForestClassifier(5, random_state=0)),
                        {"butterworth__cutoff": [3.0, 10.0]}, cv=3).fit(x, y)
    assert grid.best_params_["butterworth__cutoff"] in (3.0, 10.0)
    sos = SOSFilter(scipy.signal.butter(2, 0.1, output="sos")).fit(x[:, :32])
    assert sos.params_[0] == 1 and sos.params_.dtype == np.float32 and len(sos.params_) == 6


@pytest.mark.filterwarnings("ignore::scipy.signal.BadCoefficients")
def test_filter_refusals():
    from emlml_tools.features import Butterworth, SOSFilter
    x = _windows(n=4, samples=16)
    with pytest.raises(ValueError, match="unstable in float32"):
        SOSFilter([[1, 0, 0, 1, -2.1, 1.1]], 3).fit(x)  # poles 1.1 and 1.0
    with pytest.raises(ValueError, match="unstable in float32"):
        Butterworth("lowpass", 1e-4, 8, 50.0, 3).fit(x)  # stable in float64, not in float32
    with pytest.raises(ValueError, match="between 0 and the Nyquist frequency 25.0 Hz"):
        Butterworth("lowpass", 25.0, 2, 50.0, 3).fit(x)
    with pytest.raises(ValueError, match="kind 'bandpass': use 'lowpass' or 'highpass'"):
        Butterworth("bandpass", 5.0, 2, 50.0, 3).fit(x)
    with pytest.raises(ValueError, match="order 33: an integer 1 .. 32"):
        Butterworth("lowpass", 5.0, 33, 50.0, 3).fit(x)
    with pytest.raises(ValueError, match=r"sos of shape \(1, 5\)"):
        SOSFilter([[1, 0, 0, 1, 0]], 3).fit(x)
    with pytest.raises(ValueError, match="a0 != 0"):
        SOSFilter([[1, 0, 0, 0, 0, 0]], 3).fit(x)
    with pytest.raises(ValueError, match="not samples of 5 channels"):
        SOSFilter(channels=5).fit(x)
    bad = x.copy()
    bad[2, 4] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        Butterworth(channels=3).fit(x).transform(bad)
    gain = SOSFilter([[4.0, 0, 0, 1, 0, 0]], 3).fit(x)
    big = x.copy()
    big[1, 5] = 1e38
    with pytest.raises(ValueError, match="SOSFilter: output 5 of window 1 overflows float32"):
        gain.transform(big)


# ---------------------------------------------------------------------------- MFE, MFCC

# Keyword spotting's parameters (16 kHz: 25 or 30 ms frames, 10 or 20 ms hop), and 8 kHz.
SOUND_CONFIGS = [
    dict(sample_rate=16000, frame_length=400, hop=160, n_fft=512, n_mels=40),
    dict(sample_rate=16000, frame_length=480, hop=320, n_fft=512, n_mels=32, window="hamming",
         preemphasis=0.97, mel_scale="slaney", norm="slaney"),
    dict(sample_rate=8000, frame_length=200, hop=80, n_fft=256, n_mels=26, fmin=20.0, fmax=3800.0),
]
# Absolute, in natural-log units (docs/features.md: measured at most 1.9e-4 and 6.9e-5).
SOUND_TOLERANCE = {"MFE": 2.5e-4, "MFCC": 1e-4}


def _sounds(rate, n, seed=0):
    """Noise, tones, full scale, quiet noise, 16-bit PCM values: 8 windows of each."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / rate
    tones = sum(rng.uniform(0.1, 0.5, (8, 1)) * np.sin(2 * np.pi * rng.uniform(100, rate / 2.2, (8, 1)) * t)
                for _ in range(3)) + rng.normal(0, 1e-2, (8, n))
    return np.concatenate([rng.normal(0, 0.3, (8, n)), tones,
                           rng.choice([-1.0, 1.0], (8, n)) * rng.uniform(0.9, 1, (8, n)),
                           rng.normal(0, 1e-3, (8, n)), np.round(rng.normal(0, 3000, (8, n)))]
                          ).astype(np.float32)


def _sound_float64(t, x):
    """The same definition in float64 from the same float64 filters: NumPy's rfft and
    SciPy's orthonormal DCT-II."""
    import scipy.fft

    from emlml_tools.features.mfcc import MFCC, frame_window
    x = x.astype(np.float64)
    e = x - t.preemphasis * np.concatenate([np.zeros((len(x), 1)), x[:, :-1]], axis=1)
    index = np.arange(t.n_frames_)[:, None] * t.hop + np.arange(t.frame_length)
    power = np.abs(np.fft.rfft(e[:, index] * frame_window(t.window, t.frame_length), t.n_fft)) ** 2
    log_mel = np.log(np.maximum(power @ t.filters_.T, t.floor))
    if not isinstance(t, MFCC):
        return log_mel.reshape(len(x), -1)
    c = scipy.fft.dct(log_mel, norm="ortho", axis=-1)[..., :t.n_coefficients]
    if t.lifter > 0:
        c = c * (1 + t.lifter / 2 * np.sin(np.pi * np.arange(t.n_coefficients) / t.lifter))
    return c.reshape(len(x), -1)


@pytest.mark.parametrize("config", SOUND_CONFIGS, ids=["kws16k", "hamming_slaney", "8k"])
@pytest.mark.parametrize("kind", ["MFE", "MFCC"])
def test_sound_matches_numpy_and_scipy(config, kind):
    from emlml_tools import features
    x = _sounds(config["sample_rate"], config["sample_rate"] // 2)
    t = getattr(features, kind)(**config).fit(x)
    got = t.transform(x)
    assert got.dtype == np.float32 and got.shape == (len(x), t.n_frames_ * (
        t.n_mels if kind == "MFE" else t.n_coefficients))
    assert np.abs(got - _sound_float64(t, x)).max() <= SOUND_TOLERANCE[kind]


def test_mfcc_lifter_and_filters():
    """Liftering folded into the DCT matrix; the HTK filters peak at 1 on the bins where
    they are exact, Slaney's normalised filters have unit area in Hz."""
    from emlml_tools.features import MFCC
    from emlml_tools.features.mfcc import mel_filters
    x = _sounds(8000, 2000)
    t = MFCC(8000, 200, 80, 256, 26, n_coefficients=12, lifter=22.0).fit(x)
    assert np.abs(t.transform(x) - _sound_float64(t, x)).max() <= SOUND_TOLERANCE["MFCC"]
    htk = mel_filters(8000, 256, 26, 0, 4000)
    assert htk.max() <= 1 and (htk.max(axis=1) > 0.5).all() and (htk.sum(axis=0)[4:-4] > 0).all()
    slaney = mel_filters(16000, 4096, 20, 0, 8000, "slaney", "slaney")
    assert np.allclose(slaney.sum(axis=1) * 16000 / 4096, 1.0, rtol=2e-2)


def test_silence_gives_the_floor():
    from emlml_tools.features import MFCC, MFE
    x = np.zeros((2, 1600), np.float32)
    mfe = MFE(floor=1e-6).fit(x).transform(x)
    assert (mfe == np.float32(np.log(np.float32(1e-6)))).all()
    mfcc = MFCC(floor=1e-6).fit(x).transform(x).reshape(2, -1, 13)
    assert np.allclose(mfcc[:, :, 0], np.sqrt(40) * np.log(1e-6), rtol=1e-6)
    assert np.abs(mfcc[:, :, 1:]).max() < 1e-4


def test_sound_frames_and_feature_names():
    """The frames that fit: frame f starts at f * hop; the tail is unused."""
    from emlml_tools.features import MFCC, MFE
    x = _sounds(16000, 1000)
    t = MFCC(16000, 400, 160, 512, 40, n_coefficients=13).fit(x)
    assert t.n_frames_ == 4 and t.transform(x).shape == (len(x), 52)
    changed = x.copy()
    changed[:, 880:] = 0  # after the last frame (480 .. 879)
    np.testing.assert_array_equal(t.transform(changed), t.transform(x))
    names = MFE(16000, 400, 300, 512, 2).fit(x).get_feature_names_out()
    assert list(names) == ["f0_mel0", "f0_mel1", "f1_mel0", "f1_mel1", "f2_mel0", "f2_mel1"]


def test_sound_scikit_learn_compatible_and_refusals():
    from emlml_tools.features import MFCC, MFE
    x = _sounds(8000, 800)
    assert clone(MFCC(8000, n_coefficients=10)).get_params()["n_coefficients"] == 10
    for bad, match in [(dict(frame_length=900), "frame_length 900: 1 .. 800"),
                       (dict(n_fft=300), "n_fft 300: a power of two"),
                       (dict(frame_length=200, n_fft=128), "n_fft 128: .*>= frame_length"),
                       (dict(n_mels=300), "n_mels 300: 1 .. 257"),
                       (dict(fmax=5000.0), "fmin 0.0, fmax 5000.0: 0 <= fmin < fmax <= sample_rate / 2"),
                       (dict(window="blackman"), "window 'blackman'"),
                       (dict(preemphasis=1.5), "preemphasis 1.5"),
                       (dict(floor=0.0), "floor 0.0 must be a positive normal float32"),
                       (dict(frame_length=1, hop=1, n_mels=100), "800 frames x 100 values is over 65534")]:
        with pytest.raises(ValueError, match="MFE: " + match):
            MFE(8000, **{"frame_length": 200, "hop": 80, **bad}).fit(x)
    with pytest.raises(ValueError, match="MFCC: n_coefficients 41: 1 .. n_mels .40."):
        MFCC(8000, 200, 80, n_coefficients=41).fit(x)
    noisy = x.copy()
    noisy[0, 3] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        MFE(8000, 200, 80).fit(x).transform(noisy)
