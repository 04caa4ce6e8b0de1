"""Converted Pipelines on the real MicroPython unix runtime with the x64 native module:
``m.predict(window)`` on every held-out raw window equals the host scikit-learn
Pipeline's predict; ``m.transform(window, out)`` gives the reference's features to the
bit, into ``out`` without allocating; a wrong window names the step."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from emlml_dev.pipelines import pipeline_models
from runtimes import NATMOD_X64, require_built, run_micropython

from emlml_tools import runtime
from emlml_tools.format import read_blob

MODELS = pipeline_models()

SCRIPT = """
import array, gc, emlml
m = emlml.load('m.bin')
n = m.n_inputs
data = open('x.bin', 'rb').read()
out = array.array('f', bytes(4 * m.n_features))
print('window', m.window, m.n_features)
for i in range(len(data) // (4 * n)):
    x = array.array('f', data[4 * n * i:4 * n * (i + 1)])
    y = m.predict(x)
    before = gc.mem_alloc()
    m.transform(x, out)
    grew = gc.mem_alloc() - before
    print('p', y if isinstance(y, int) else struct_hex(y), 'f', ' '.join(struct_hex(v) for v in out), grew)
"""

PRELUDE = """
import struct
def struct_hex(v):
    return '%08x' % struct.unpack('<I', struct.pack('<f', v))[0]
"""


def _f32_hex(v: float) -> str:
    return f"{struct.unpack('<I', struct.pack('<f', v))[0]:08x}"


@pytest.mark.parametrize("model", MODELS, ids=[m.name for m in MODELS])
def test_unix_predict_equals_host_pipeline(model, tmp_path):
    require_built(NATMOD_X64 + "/emlml.mpy")
    blob = model.blob()
    x = np.ascontiguousarray(model.X_test, dtype=np.float32)
    (tmp_path / "m.bin").write_bytes(blob)
    (tmp_path / "x.bin").write_bytes(x.tobytes())
    (tmp_path / "run.py").write_text(PRELUDE + SCRIPT)
    result = run_micropython("run.py", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    samples = x.shape[1] // model.channels
    assert lines[0].startswith(f"window ({samples}, {model.channels}, {model.sample_rate}")
    host = model.pipeline.predict(x)
    features = runtime.transform(blob, x)
    assert len(lines) == 1 + len(x)
    for i, line in enumerate(lines[1:]):
        p, got, f, *feature_hex, grew = line.split()
        if model.is_classifier:
            assert int(got) == host[i], (i, line)
        else:  # the reference's float32 value, to the bit; scikit-learn's within float32
            assert got == _f32_hex(runtime.predict(blob, x[i:i + 1])[0]), (i, line)
            value = struct.unpack(">f", bytes.fromhex(got))[0]
            assert abs(value - host[i]) <= 1e-5 * max(1, abs(host[i]))
        assert feature_hex == [_f32_hex(v) for v in features[i]], (i, line)
        assert grew == "0", line  # transform into out allocates nothing


BAD_INPUTS = """
import array, emlml
m = emlml.load('m.bin')
def show(f):
    try:
        f()
        print('no error')
    except Exception as e:
        print(type(e).__name__, e)
show(lambda: m.predict(array.array('f', [0] * (m.n_inputs - 1))))
show(lambda: m.predict(array.array('b', [0] * m.n_inputs)))
show(lambda: m.transform([0.0] * (m.n_inputs + 1)))
x = array.array('f', [0] * m.n_inputs)
x[5] = float('nan')
show(lambda: m.predict(x))
show(lambda: m.transform(x, array.array('f', [0] * 3)))
print(len(m.transform(array.array('f', [1] * m.n_inputs))))
"""


def test_unix_bad_windows_name_the_step(tmp_path):
    model = next(m for m in MODELS if m.name == "std_pca_std_forest")
    (tmp_path / "m.bin").write_bytes(model.blob())
    (tmp_path / "run.py").write_text(BAD_INPUTS)
    result = run_micropython("run.py", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "ValueError step 0 (SCALE) takes a window of 64 values, got 63",
        "TypeError step 0 (SCALE) takes array('f') or a list, not typecode 'b'",
        "ValueError step 0 (SCALE) takes a window of 64 values, got 65",
        "ValueError step 1 (PROJECT): input 5 is NaN",
        "TypeError out must be a writable array('f') of 12 floats",
        "12",
    ]


def test_unix_transform_needs_steps(tmp_path):
    """A model without feature steps has no features: transform says so; window is None."""
    from sklearn.tree import DecisionTreeClassifier

    from emlml_tools.convert.sklearn_models import convert
    x = np.arange(40, dtype=np.float32).reshape(10, 4)
    (tmp_path / "m.bin").write_bytes(convert(DecisionTreeClassifier().fit(x, np.arange(10) % 2)))
    (tmp_path / "run.py").write_text(
        "import emlml\nm = emlml.load('m.bin')\nprint(m.window)\n"
        "try:\n    m.transform([0.0] * 4)\nexcept TypeError as e:\n    print(e)\n")
    result = run_micropython("run.py", str(tmp_path))
    assert result.stdout.splitlines() == [
        "None", "this model has no feature steps: transform() needs a converted Pipeline"]


CNN_CALLS = """
import array, emlml
m = emlml.load('m.bin')
def show(f):
    try:
        print(f())
    except Exception as e:
        print(type(e).__name__, e)
print(m.kind, m.n_inputs, m.n_features, m.window)
x = array.array('f', open('x.bin', 'rb').read())
q = array.array('b', bytes(m.n_outputs))
m.predict_proba(x, q)
print(' '.join(str(v) for v in q))
show(lambda: m.predict(bytes(m.n_inputs)))
show(lambda: m.predict(array.array('b', bytes(m.n_inputs))))
x[5] = float('nan')
show(lambda: m.predict(x))
"""


@pytest.mark.parametrize("name", ["motion_stats_std_conv_cnn", "std_cnn"])
def test_unix_cnn_pipeline_takes_the_float_window_only(name, tmp_path):
    """A CNN behind steps takes the float32 window (not int8 bytes, which a plain CNN
    takes); its raw int8 outputs into array('b'); a NaN is refused as the reference
    refuses it: by ChannelStats, or, passed by a scaler, by the CNN's quantization."""
    model = next(m for m in MODELS if m.name == name)
    blob = model.blob()
    family = read_blob(blob)
    x = np.ascontiguousarray(model.X_test[0], dtype=np.float32)
    (tmp_path / "m.bin").write_bytes(blob)
    (tmp_path / "x.bin").write_bytes(x.tobytes())
    (tmp_path / "run.py").write_text(CNN_CALLS)
    result = run_micropython("run.py", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    proba = runtime.predict_proba(blob, x[None, :])[0]
    bad = x.copy()
    bad[5] = np.nan
    with pytest.raises(ValueError) as info:
        runtime.predict(blob, bad[None, :])
    lines = result.stdout.splitlines()
    samples = family.n_inputs // family.pipeline.channels
    assert lines[0] == (f"cnn {family.n_inputs} {family.pipeline.n_features} "
                        f"({samples}, {family.pipeline.channels}, {model.sample_rate})")
    out_zp = int(family.cnn.tensors[family.cnn.output_tensor]["zero_point"])
    q = np.array([int(v) for v in lines[1].split()], dtype=np.float64)
    np.testing.assert_array_equal(
        (np.float64(np.float32(family.cnn.output_scale)) * (q - out_zp)).astype(np.float32), proba)
    step = "STATS" if name.startswith("motion_stats") else "SCALE"
    assert lines[2:] == [
        f"TypeError step 0 ({step}) takes array('f') or a list, not typecode 'B'",
        f"TypeError step 0 ({step}) takes array('f') or a list, not typecode 'b'",
        "ValueError " + str(info.value),
    ]
    assert str(info.value) == ("step 0 (STATS): input 5 is NaN" if step == "STATS"
                               else "input 5 is NaN or infinite")
