# Runs on the emulated Pico (MicroPython, not CPython): the on-board half of
# `emlml_dev.bench_rp2040`. Reads bench.txt in the current folder; for each model (its
# line number k) loads its blob with emlml, then brackets every predict() on its inputs,
# one call at a time, with two words written to the watchdog's SCRATCH0 (harmless on a
# real Pico; in the emulator each write records the cycle and instruction counters):
# 4k+0 before and 4k+1 after predict(x), then 4k+2 and 4k+3 around id(x), the same
# statement with a do-nothing builtin (the cost of the loop, the call and the marks).
# Prints "DONE name" per model.
import array
import gc

import emlml
from machine import mem32

MARK = 0x4005800C


def read(path):
    with open(path, "rb") as f:
        return f.read()


def marked(fn, views, start):
    end = start + 1
    for v in views:
        mem32[MARK] = start
        fn(v)
        mem32[MARK] = end


k = 0
for line in read("bench.txt").decode().split("\n"):
    if not line:
        continue
    name, typecode, n_in, n = line.split()
    n_in, n = int(n_in), int(n)
    m = emlml.load(read(name + ".bin"))
    x = memoryview(array.array(typecode, read(name + ".x")))
    views = [x[i * n_in:(i + 1) * n_in] for i in range(n)]
    for v in views[:2]:  # warm up
        m.predict(v)
    gc.collect()
    marked(m.predict, views, 4 * k)
    gc.collect()
    marked(id, views, 4 * k + 2)
    print("DONE", name)
    m = x = views = None
    gc.collect()
    k += 1
