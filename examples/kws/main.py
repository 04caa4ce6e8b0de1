# Keyword spotting on the board (MicroPython): kws.bin (examples/kws/run.py made it with
# `emlml convert`) takes one second of audio, 16000 samples at 16 kHz as array('f') in
# -1 .. 1, computes its MFCC image, scales it and runs the int8 CNN: predict gives the
# word. Copy with mpremote (README.md) the emlml module for the board, kws.bin,
# clips.bin and this file.
#
# read_clip() stands in for a microphone: it reads the held-out clips from clips.bin
# (float32, one second each). With a microphone (e.g. an I2S one), fill `window` with
# its last second of samples scaled to -1 .. 1 instead.
#
# Prints one line per clip ("kws index word") and then the cost:
#   COST kws clips ram_bytes us_per_predict us_per_transform n_features
# (us_per_transform: MFCC and the scaler alone, m.transform(window, out)).
import array
import time

import emlml

MODEL = "kws.bin"
CLIPS = "clips.bin"
ROUNDS = 5  # timed calls on the first clip; the fastest counts (the least disturbed)


def read_clip(f, window):
    """The next clip into `window` (array('f'), nothing allocated); False at the end."""
    return f.readinto(window) == 4 * len(window)


def us_per_call(fn, *args):
    best = None
    for _ in range(ROUNDS):
        t0 = time.ticks_us()
        fn(*args)
        dt = time.ticks_diff(time.ticks_us(), t0)
        best = dt if best is None else min(best, dt)
    return best


m = emlml.load(MODEL)
window = array.array("f", bytes(4 * m.n_inputs))  # 64 KB: one second of float32 samples
out = array.array("f", bytes(4 * m.n_features))  # the scaled MFCC image
us_predict = us_transform = -1
i = 0
with open(CLIPS, "rb") as f:
    while read_clip(f, window):
        print("kws", i, m.labels[m.predict(window)])
        if i == 0:
            us_transform = us_per_call(m.transform, window, out)
            us_predict = us_per_call(m.predict, window)
        i += 1
print("COST kws %d %d %d %d %d" % (i, m.ram, us_predict, us_transform, m.n_features))
