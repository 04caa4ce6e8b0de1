# Runs on the emulated Pico (MicroPython, not CPython): the on-board half of
# `emlml_dev.bench_rp2040`. Reads bench.txt in the current folder; for each model (its
# line number k) loads its blob with emlml, then brackets every predict() on its inputs,
# one call at a time, with two words written to the watchdog's SCRATCH0 (harmless on a
# real Pico; in the emulator each write records the cycle and instruction counters):
# 4k+0 before and 4k+1 after predict(x), then 4k+2 and 4k+3 around id(x), the same
# statement with a do-nothing builtin (the cost of the loop, the call and the marks).
# Prints a CNN's int8 outputs ("OUT name hex", an input a line), "DONE name" per model, or "NOMEM name free message" for one whose load ran out
# of heap (no marks then), and first the heap after the import: "HEAP free",
# micropython.mem_info()'s lines (its largest free block) and "LARGEST n", the largest
# allocation it gives (the largest blob emlml.load(path) can read).
import array
import gc
import micropython

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


def largest_allocation(lo=1024, hi=270000):
    """The largest bytes object the heap gives now (bisection, to 256 bytes)."""
    while hi - lo > 256:
        mid = (lo + hi) // 2
        try:
            bytes(mid)  # freed by the collection below
            lo = mid
        except MemoryError:
            hi = mid
        gc.collect()
    return lo


gc.collect()
print("HEAP", gc.mem_free())
micropython.mem_info()
print("LARGEST", largest_allocation())
k = -1
for line in read("bench.txt").decode().split("\n"):
    if not line:
        continue
    k += 1
    name, typecode, n_in, n = line.split()
    n_in, n = int(n_in), int(n)
    gc.collect()
    free = gc.mem_free()
    try:
        m = emlml.load(name + ".bin")
    except MemoryError as e:
        print("NOMEM", name, free, e)
        continue
    x = memoryview(array.array(typecode, read(name + ".x")))
    views = [x[i * n_in:(i + 1) * n_in] for i in range(n)]
    for v in views[:2]:  # warm up
        m.predict(v)
    gc.collect()
    marked(m.predict, views, 4 * k)
    gc.collect()
    marked(id, views, 4 * k + 2)
    if m.kind == "cnn":  # its int8 outputs, for the host to hold against TFLite's
        out = array.array("b", bytes(m.n_outputs))
        for v in views:
            m.predict_proba(v, out)
            print("OUT", name, bytes(out).hex())
    print("DONE", name)
    m = x = views = None
    gc.collect()
