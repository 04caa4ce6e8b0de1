# Runs on the emulated ESP32 (MicroPython, not CPython): the on-board half of
# `emlml_dev.bench_esp32`. Reads bench.txt in the current folder; for each model loads
# its blob with emlml, then brackets every predict() on its inputs, one call at a time,
# with two stores to a word of RTC slow memory (harmless on a real ESP32; in the
# emulator the icount_marks plugin records the CPU's instruction count at each): first
# around predict(x) for every input, then around id(x), the same statement with a
# do-nothing builtin (the cost of the loop, the call and the marks).
# Prints "DONE name" per model, or "NOMEM name free message" for one whose load ran
# out of heap (no marks then), and the heap after the import: "HEAP free",
# micropython.mem_info()'s lines (its largest free block and the largest new area the
# heap can still take from ESP-IDF) and "LARGEST n", the largest allocation it gives.
import array
import gc
import micropython

import emlml
from machine import mem32

MARK = 0x50001FF0


def marked(fn, views):
    for v in views:
        mem32[MARK] = 1
        fn(v)
        mem32[MARK] = 2


def read(path):
    with open(path, "rb") as f:
        size = f.seek(0, 2)
        f.seek(0)
        return f.read(size)




def largest_allocation(lo=1024, hi=600000):
    """The largest bytes object the heap gives now (bisection, to 256 bytes): the
    largest blob a load can read, the heap growing into ESP-IDF's memory included."""
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
for line in read("bench.txt").decode().split("\n"):
    if not line:
        continue
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
    marked(m.predict, views)
    gc.collect()
    marked(id, views)
    print("DONE", name)
    m = x = views = None
