"""Feature-step cost per window on the emulated RP2040 and ESP32: the Pipelines of
qemu_bench_features.cases() (among them the issue's: the motion features of a 128-sample
3-axis window, one MFCC frame at 16 kHz; and 1 s of audio, on the RP2040 only),
each row one Pipeline's ``m.transform(window, out)`` (every step, nothing allocated) with
the module of every family (MFE, MFCC and the IIR filter are only there):

- RP2040: the armv6m emlml.mpy on the official RPI_PICO firmware in rp2040js
  (rp2040_board.py): cycles (rp2040js's Cortex-M0+ timing of each instruction) and
  instructions per window, and the time at 125 MHz from the cycles. rp2040js models no
  XIP flash cache misses or bus contention; emlml's code, its soft-float routines
  included, runs from RAM (a native .mpy is loaded into the heap).
- ESP32: the xtensawin emlml.mpy on the official ESP32_GENERIC firmware in Espressif's
  QEMU (esp32_board.py): instructions per window from the icount_marks.so plugin. QEMU's
  clock follows the host's there (with -icount the firmware does not boot) and it models
  no Xtensa pipeline, cache or flash wait states: instructions, not cycles or time. (Its
  FPU has no divide instruction: a float division is a call to the integer __divsf3 of
  micropython_module/rt/emlml_rt.c, some 300 instructions.)

The board brackets each call with two stores to a marker word
(on_device/mp_features_marks.py); the same loop around id(window) is the baseline,
subtracted. Writes build/bench_boards_features.json.

    make rp2040-emulator natmod-all
    PYTHONPATH=py_tools python -m emlml_dev.bench_boards_features [--windows 5] [--boards rp2040,esp32]
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

from emlml_dev import bench_esp32, bench_rp2040, esp32_board as eb, markdown_table, rp2040_board as rb
from emlml_dev.paths import BUILD, NATMOD_DIR, ON_DEVICE
from emlml_dev.qemu_bench_features import workload

# One window only of the long ones (1 s of audio, 64 KB): the Pico's heap holds one.
LONG_WINDOW = 4096  # values
# The ESP32 firmware's heap has no free block of 64 KB for the 1 s window (MemoryError).
ESP32_SKIPS = ("mfcc13_1s_16000x1",)
SCRIPT = os.path.join(ON_DEVICE, "mp_features_marks.py")
RP2040_HZ = 125_000_000
WORKDIR = os.path.join(BUILD, "bench_boards_features")  # the boards' flash images


def board_files(arch: str, work: list[tuple[str, bytes, np.ndarray]]) -> dict[str, bytes | str]:
    """Only what the bench needs: the module, the blobs, the windows and their list."""
    files: dict[str, bytes | str] = {
        "/lib/emlml.mpy": os.path.join(NATMOD_DIR, arch, "emlml.mpy"),
        "/features.txt": "".join(f"{n} {x.shape[1]} {len(x)}\n" for n, _, x in work).encode()}
    for name, blob, x in work:
        files[f"/{name}.bin"] = blob
        files[f"/{name}.x"] = x.tobytes()
    return files


def run_rp2040(work: list[tuple[str, bytes, np.ndarray]]) -> tuple[dict, dict]:
    """({name: row}, the harness's counters)."""
    with open(SCRIPT) as f:
        script = f.read()
    with rb.Board(rb.fs_image(board_files("armv6m", work)), workdir=WORKDIR) as board:
        board.wait_repl()
        board.enter_raw()
        result = board.exec(script, timeout=3600)
        stats = board.stats()
    if result.stderr or any(f"DONE {n}" not in result.stdout for n, _, _ in work):
        raise rb.BoardError(f"the benchmark failed on the RP2040: {result.stdout[-1000:]}{result.stderr}")
    rows = {}
    for k, (name, _, x) in enumerate(work):
        call, base = bench_rp2040.pairs(result.marks, 4 * k), bench_rp2040.pairs(result.marks, 4 * k + 2)
        if len(call) != len(x) or len(base) != len(x):
            raise rb.BoardError(f"{name}: {len(call)}/{len(base)} marked calls, expected {len(x)}")
        net = call - np.median(base, axis=0)
        rows[name] = {"cycles": round(float(net[:, 0].mean()), 1),
                      "instructions": round(float(net[:, 1].mean()), 1),
                      "cycles_min": int(net[:, 0].min()), "cycles_max": int(net[:, 0].max()),
                      "ms_at_125mhz": round(float(net[:, 0].mean()) / RP2040_HZ * 1e3, 3)}
    return rows, stats


def run_esp32(work: list[tuple[str, bytes, np.ndarray]]) -> dict:
    """{name: row}, but for ESP32_SKIPS."""
    work = [w for w in work if w[0] not in ESP32_SKIPS]
    files = board_files("xtensawin", work)
    files["/boot.py"] = eb.BOOT_PY_FAST_FS
    with eb.Board(eb.fs_image(files), marks=True, workdir=WORKDIR) as board:
        before = len(board.marks())  # the boot code's own stores to the word
        result = board.mpremote("resume", "run", SCRIPT, timeout=3600, check=False)
        marks = board.marks()[before:]
    if result.returncode or any(f"DONE {n}" not in result.stdout for n, _, _ in work):
        raise eb.BoardError("the benchmark failed on the ESP32: "
                            f"{result.stdout[-1000:]}{result.stderr[-1000:]}")
    counts = bench_esp32.pairs(marks)
    expected = sum(2 * len(x) for _, _, x in work)
    if len(counts) != expected:
        raise eb.BoardError(f"{len(counts)} marked calls, expected {expected}")
    rows, i = {}, 0
    for name, _, x in work:
        n = len(x)
        net = counts[i:i + n] - np.median(counts[i + n:i + 2 * n])
        rows[name] = {"instructions": round(float(net.mean()), 1),
                      "instructions_min": int(net.min()), "instructions_max": int(net.max())}
        i += 2 * n
    return rows


def table(names: list[str], results: dict) -> str:
    head = ["steps (window)"]
    if "rp2040" in results:
        head += ["RP2040 cycles/window", "RP2040 instr/window", "ms at 125 MHz"]
    if "esp32" in results:
        head += ["ESP32 instr/window"]
    rows = []
    for n in names:
        row = [n]
        if "rp2040" in results:
            r = results["rp2040"][n]
            row += [f"{r['cycles']:,.0f}", f"{r['instructions']:,.0f}", f"{r['ms_at_125mhz']:.2f}"]
        if "esp32" in results:
            r = results["esp32"].get(n)
            row += [f"{r['instructions']:,.0f}" if r else "-"]
        rows.append(row)
    return markdown_table(head, rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench_boards_features", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.path.join(BUILD, "bench_boards_features.json"))
    p.add_argument("--windows", type=int, default=5, help="random windows per Pipeline")
    p.add_argument("--cases", help="comma-separated names of qemu_bench_features.cases() "
                   "(default: all)")
    p.add_argument("--boards", default="rp2040,esp32")
    args = p.parse_args(argv)
    names = args.cases.split(",") if args.cases else None
    work = [(n, blob, x[:1] if x.shape[1] > LONG_WINDOW else x)
            for n, blob, x in workload(args.windows, names)]
    unknown = set(names or ()) - {n for n, _, _ in work}
    if unknown:
        p.error(f"unknown cases {sorted(unknown)}: see qemu_bench_features.cases()")
    results: dict = {}
    status = 0
    boards = args.boards.split(",")
    if "rp2040" in boards:
        results["rp2040"], stats = run_rp2040(work)
        print(f"RP2040 unaligned accesses: {stats['unaligned']}, hard faults: {stats['hard_faults']}")
        status = 1 if stats["unaligned"] or stats["hard_faults"] else 0
    if "esp32" in boards:
        results["esp32"] = run_esp32(work)
    names = [n for n, _, _ in work]
    print(table(names, results))
    print("per m.transform(window, out), mean over the windows, loop and call overhead (id(window)) "
          "subtracted; RP2040: rp2040js's Cortex-M0+ cycle timings, armv6m module of every family; "
          "ESP32: instructions of CPU 1 (icount_marks.so), xtensawin module of every family")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"windows": {n: len(x) for n, _, x in work}, "cases": names,
                   "results": results}, f, indent=1)
    print(f"wrote {args.out}")
    return status


if __name__ == "__main__":
    sys.exit(main())
