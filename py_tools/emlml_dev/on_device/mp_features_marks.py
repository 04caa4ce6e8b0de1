# Runs on the emulated RP2040 or ESP32 (MicroPython, not CPython): the on-board half of
# `emlml_dev.bench_boards_features`. Reads features.txt in the current folder ("name
# n_inputs n" per line); for each Pipeline blob (its line number k) brackets every
# m.transform(window, out), one window at a time, with two stores to the board's marker
# word (harmless on a real board; in the emulator each store records the counters):
# 4k+0 before and 4k+1 after transform, then 4k+2 and 4k+3 around id(window), the same
# statement with a do-nothing builtin (the cost of the loop, the call and the marks).
# Prints "DONE name" per blob.
import array
import gc
import sys

import emlml
from machine import mem32

# rp2040_board.MARK_ADDRESS (watchdog SCRATCH0), esp32_board.MARK_ADDRESS (RTC slow memory)
MARK = 0x4005800C if sys.platform == "rp2" else 0x50001FF0


def read(path):
    with open(path, "rb") as f:
        size = f.seek(0, 2)
        f.seek(0)
        return f.read(size)


def marked(transform, views, out, start):
    end = start + 1
    for v in views:
        mem32[MARK] = start
        transform(v, out)
        mem32[MARK] = end


def baseline(views, start):  # as qemu_bench_features and bench_rp2040: id(x)
    end = start + 1
    for v in views:
        mem32[MARK] = start
        id(v)
        mem32[MARK] = end


k = 0
for line in read("features.txt").decode().split("\n"):
    if not line:
        continue
    name, n_in, n = line.split()
    n_in, n = int(n_in), int(n)
    gc.collect()
    m = emlml.load(read(name + ".bin"))
    out = array.array("f", bytes(4 * m.n_features))
    # the windows read into an array of their size: no second copy of them in the heap
    x = array.array("f", range(n_in * n))
    with open(name + ".x", "rb") as f:
        f.readinto(x)
    x = memoryview(x)
    views = [x[i * n_in:(i + 1) * n_in] for i in range(n)]
    m.transform(views[0], out)  # warm up
    gc.collect()
    marked(m.transform, views, out, 4 * k)
    gc.collect()
    baseline(views, 4 * k + 2)
    print("DONE", name)
    m = x = views = out = None
    k += 1
