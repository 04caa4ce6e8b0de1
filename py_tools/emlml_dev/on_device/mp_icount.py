# Runs on the emulated board (MicroPython, not CPython): the on-board half of
# `emlml_dev.qemu_bench`. Reads bench.txt in the current folder; for each model loads
# its blob with emlml and times every predict() on its inputs, one call at a time, with
# the 25 MHz clock that QEMU's -icount shift=0 ties to the instruction count (one tick =
# 40 instructions); then the same loop calling a do-nothing builtin instead (the cost
# of the loop, the call and the clock reads). Prints per model:
#   RESULT name ticks_of_predict,... ticks_of_baseline,...
import array
import gc
import time

import emlml


def read(path):
    with open(path, "rb") as f:
        return f.read()


def times(fn, views):
    clock = time.ticks_cpu
    diff = time.ticks_diff
    out = []
    for v in views:
        t0 = clock()
        fn(v)
        t1 = clock()
        out.append(diff(t1, t0))
    return out


for line in read("bench.txt").decode().split("\n"):
    if not line:
        continue
    name, typecode, n_in, n = line.split()
    n_in, n = int(n_in), int(n)
    m = emlml.load(read(name + ".bin"))
    x = memoryview(array.array(typecode, read(name + ".x")))
    views = [x[i * n_in:(i + 1) * n_in] for i in range(n)]
    times(m.predict, views[:2])  # warm up
    gc.collect()
    pred = times(m.predict, views)
    gc.collect()
    base = times(id, views)
    print("RESULT", name, ",".join(str(t) for t in pred), ",".join(str(t) for t in base))
    m = x = views = None
    gc.collect()
