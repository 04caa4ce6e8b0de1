# Gestures on the board (MicroPython): the models that examples/gestures/train.py made
# take one accelerometer window each, 64 samples x 3 axes (x, y, z in g at 50 Hz),
# sample-major as the sensor delivers them: x0 y0 z0 x1 y1 z1 ... Copy with mpremote
# (README.md) the emlml module for the board, the blobs, windows.bin and this file.
#
# read_window() stands in for the accelerometer: it reads the held-out windows from
# windows.bin. For a sensor, fill `window` with its readings instead (in g, 64 x 3).
#
# Prints, per model, one line per window ("name index label") and then its cost:
#   COST name windows ram_bytes us_per_predict us_per_transform
# (us_per_transform: the feature steps alone, m.transform(window, out); -1 without steps).
import array
import time

import emlml

MODELS = ("spectrum_forest.bin", "stats_forest.bin", "motion_cnn.bin")
WINDOWS = "windows.bin"
TIMED = 20  # windows kept in RAM for timing (a Pico has room for about 200 of them)
ROUNDS = 10  # timing passes over them; the fastest pass counts (the least disturbed)


def read_window(f, window):
    """The next window into `window` (array('f'), nothing allocated); False at the end."""
    return f.readinto(window) == 4 * len(window)


def us_per_call(fn, windows, *args):
    """Microseconds per call (the loop included): the mean over the windows of the
    fastest of ROUNDS passes."""
    best = None
    for _ in range(ROUNDS):
        t0 = time.ticks_us()
        for w in windows:
            fn(w, *args)
        dt = time.ticks_diff(time.ticks_us(), t0)
        best = dt if best is None else min(best, dt)
    return best / len(windows)


def run(path):
    m = emlml.load(path)
    name = path.rsplit(".", 1)[0]
    window = array.array("f", bytes(4 * m.n_inputs))
    timed = []
    i = 0
    with open(WINDOWS, "rb") as f:
        while read_window(f, window):
            print(name, i, m.labels[m.predict(window)])
            if len(timed) < TIMED:
                timed.append(array.array("f", window))
            i += 1
    us_transform = -1.0
    n_features = getattr(m, "n_features", 0)  # 0: no feature steps (the CNN)
    if n_features:
        out = array.array("f", bytes(4 * n_features))
        us_transform = us_per_call(m.transform, timed, out)
    us_predict = us_per_call(m.predict, timed)
    print("COST %s %d %d %.2f %.2f" % (name, i, m.ram, us_predict, us_transform))


for path in MODELS:
    run(path)
