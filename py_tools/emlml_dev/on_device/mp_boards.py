# Runs on the emulated board (MicroPython, not CPython): the on-board half of
# `emlml_dev.bench_boards`. Reads boards.txt in the current folder; for each model
# times, one call at a time with the 25 MHz clock that QEMU's -icount shift=0 ties to
# the instruction count (one tick = 40 instructions):
#   predict   emlml m.predict(x) (x: a memoryview of array('f'))
#   proba     emlml m.predict_proba(x, out) (classifiers; into a caller's buffer)
#   m2cgen    score(list) of the model's m2cgen pure-Python export, when there is one
#   base      the same loop calling the do-nothing builtin id(x)
# and prints, per model and series:
#   T name series ticks,...
#   P name series class,...     (the class each call gave: agreement is checked on the host)
import array
import gc
import sys
import time

import emlml


def read(path):
    with open(path, "rb") as f:
        return f.read()


def times(fn, args, out=None):
    clock = time.ticks_cpu
    diff = time.ticks_diff
    res = []
    if out is None:
        for a in args:
            t0 = clock()
            fn(a)
            t1 = clock()
            res.append(diff(t1, t0))
    else:
        for a in args:
            t0 = clock()
            fn(a, out)
            t1 = clock()
            res.append(diff(t1, t0))
    return res


def argmax(values):
    best = 0
    for i in range(1, len(values)):
        if values[i] > values[best]:
            best = i
    return best


def show(tag, name, series, values):
    print(tag, name, series, ",".join(str(v) for v in values))


for line in read("boards.txt").decode().split("\n"):
    if not line:
        continue
    name, typecode, n_in, n, n_out, has_m2c = line.split()
    n_in, n, n_out = int(n_in), int(n), int(n_out)
    m = emlml.load(read(name + ".bin"))
    x = memoryview(array.array(typecode, read(name + ".x")))
    views = [x[i * n_in:(i + 1) * n_in] for i in range(n)]
    out = array.array("f", [0.0] * n_out)
    show("P", name, "emlml", [m.predict(v) for v in views])
    times(m.predict, views[:2])  # warm up
    gc.collect()
    show("T", name, "predict", times(m.predict, views))
    gc.collect()
    show("T", name, "proba", times(m.predict_proba, views, out))
    gc.collect()
    show("T", name, "base", times(id, views))
    if has_m2c == "1":
        module = name + "_m2c"
        score = __import__(module).score
        lists = [list(v) for v in views]
        show("P", name, "m2cgen", [argmax(score(v)) for v in lists])
        gc.collect()
        show("T", name, "m2cgen", times(score, lists))
        del sys.modules[module]
        score = lists = None
    m = x = views = out = None
    gc.collect()
print("DONE")
