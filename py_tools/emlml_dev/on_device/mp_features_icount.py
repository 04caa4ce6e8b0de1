# Runs on the emulated board (MicroPython): the on-board half of
# `emlml_dev.qemu_bench_features`. For each blob of features.txt, times
# m.transform(window, out) on every window with the 25 MHz clock that QEMU's -icount
# shift=0 ties to the instruction count, then the same loop calling a do-nothing builtin.
# Prints per blob: RESULT name ticks,... baseline_ticks,...
import array
import gc
import time

import emlml


def read(path):
    with open(path, "rb") as f:
        return f.read()


for line in read("features.txt").decode().split("\n"):
    if not line:
        continue
    name, n_in, n = line.split()
    n_in, n = int(n_in), int(n)
    m = emlml.load(read(name + ".bin"))
    out = array.array("f", bytes(4 * m.n_features))
    x = memoryview(array.array("f", read(name + ".x")))
    views = [x[i * n_in:(i + 1) * n_in] for i in range(n)]
    clock, diff = time.ticks_cpu, time.ticks_diff
    m.transform(views[0], out)  # warm up
    gc.collect()
    ticks = []
    for v in views:
        t0 = clock()
        m.transform(v, out)
        ticks.append(diff(clock(), t0))
    base = []
    for v in views:
        t0 = clock()
        id(v)
        base.append(diff(clock(), t0))
    print("RESULT", name, ",".join(str(t) for t in ticks), ",".join(str(t) for t in base))
    m = x = views = None
    gc.collect()
