"""emlml's own feature transformers: scikit-learn compatible (fit/transform on arrays of
windows, usable in a Pipeline and a grid search), each with a C kernel on the board that
gives the same bits (docs/features.md).

A window is one row of ``samples * channels`` values, sample-major (interleaved channels:
``x0 y0 z0 x1 y1 z1 ...``), as an accelerometer delivers it.

    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.ensemble import RandomForestClassifier
    from emlml_tools.features import ChannelStats

    pipe = make_pipeline(ChannelStats(channels=3), StandardScaler(), RandomForestClassifier())
    pipe.fit(windows, labels)        # windows: (n, samples * 3) float32
    # emlml convert pipe.joblib -o m.bin; on the board m.predict(window)
"""

from emlml_tools.features.dsp import fft_real, log_f32
from emlml_tools.features.filters import Butterworth, SOSFilter, sos_params, sosfilt_f32
from emlml_tools.features.mfcc import MFCC, MFE, sound
from emlml_tools.features.spectrum import Spectrum, spectrum, spectrum_params
from emlml_tools.features.stats import STATS, ChannelStats, channel_stats, stats_mask
from emlml_tools.features.tflite import TFLiteClassifier

__all__ = ["MFCC", "MFE", "STATS", "Butterworth", "ChannelStats", "SOSFilter", "Spectrum", "TFLiteClassifier",
           "channel_stats", "fft_real", "log_f32", "sos_params", "sosfilt_f32", "sound", "spectrum",
           "spectrum_params", "stats_mask"]
