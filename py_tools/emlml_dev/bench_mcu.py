"""The boards the product is for, side by side: the RP2040 (official RPI_PICO firmware in
rp2040js, bench_rp2040.py) and the ESP32 (official ESP32_GENERIC firmware in Espressif's
QEMU, bench_esp32.py), per prediction of every demo model and one-layer CNN.

    make bench-mcu        # runs both benches, then this:
    PYTHONPATH=py_tools python -m emlml_dev.bench_mcu

Reads build/bench_rp2040.json and build/bench_esp32.json, prints the table, writes it into
docs/benchmarks.md between the ``bench-mcu`` markers and draws docs/benchmarks_mcu.png.
The RP2040 figures are rp2040js's Cortex-M0+ cycles (and instructions); the ESP32 figure
is instructions counted by QEMU's TCG plugin, the one that holds from run to run there
(its clock follows the host's).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from emlml_dev import markdown_table
from emlml_dev.paths import BUILD, ROOT

DOC = os.path.join(ROOT, "docs", "benchmarks.md")
PLOT = os.path.join(ROOT, "docs", "benchmarks_mcu.png")
START, END = "<!-- bench-mcu:start -->", "<!-- bench-mcu:end -->"


def load(path: str) -> dict | None:
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def unit(spec: dict) -> tuple[str, float]:
    """The model's unit of work (what a per-unit figure divides by) and its count."""
    if spec["kind"] == "trees":
        nodes = spec["nodes_visited"]
        return "node", sum(nodes) / len(nodes)
    if spec["kind"] == "knn":
        return "sample", float(spec["n_samples"])
    return "MAC", float(spec["macs"])


def rows(rp: dict | None, esp: dict | None) -> list[list[str]]:
    specs = (rp or esp)["models"]  # the same workload on both boards
    out = []
    for spec in specs:
        name = spec["name"]
        what, count = unit(spec)
        row = [name, f"{count:,.1f} {what}s" if what == "node" else f"{count:,.0f} {what}s"]
        r = (rp or {}).get("results", {}).get(name)
        if r:
            row += [f"{r['cycles_per_pred']:,.0f}", f"{r['cycles_per_pred'] / count:,.2f}",
                    f"{r['cycles_per_pred'] / 125:,.1f}"]
        else:
            row += ["-", "-", "-"]
        e = (esp or {}).get("results", {}).get(name)
        row += ([f"{e['instr_per_pred']:,.0f}", f"{e['instr_per_pred'] / count:,.2f}"]
                if e else ["-", "-"])
        out.append(row)
    return out


HEAD = ["model", "work per prediction", "RP2040 cycles", "RP2040 cycles/unit",
        "RP2040 µs at 125 MHz", "ESP32 instructions", "ESP32 instr/unit"]


def table(body: list[list[str]]) -> str:
    return markdown_table(HEAD, body)


def section(rp: dict | None, esp: dict | None) -> str:
    boards = []
    if rp:
        boards.append(f"RP2040: {rp['board']}")
    if esp:
        boards.append(f"ESP32: {esp['board']}")
    return "\n".join([
        START,
        "",
        "Measured by `make bench-mcu` (`py_tools/emlml_dev/bench_mcu.py` and the two benches it",
        "runs); " + "; ".join(boards) + ". Per `predict()`, the loop and call overhead",
        "subtracted; a unit is a tree node visited (summed over the trees), a stored kNN",
        "sample, or a CNN multiply-accumulate. RP2040 cycles are rp2040js's Cortex-M0+",
        "timings (no flash cache misses: emlml's code runs from RAM); ESP32 instructions are",
        "counted by QEMU's TCG plugin (its clock follows the host's, so time there is noise).",
        "",
        table(rows(rp, esp)),
        "",
        "![per prediction on the boards](benchmarks_mcu.png)",
        "",
        END])


def write_doc(text: str, path: str = DOC) -> None:
    with open(path) as f:
        doc = f.read()
    if START in doc and END in doc:
        doc = doc[:doc.index(START)] + text + doc[doc.index(END) + len(END):]
    else:
        doc = doc.rstrip() + "\n\n## On the ESP32 and the RP2040 (`make bench-mcu`)\n\n" + text + "\n"
    with open(path, "w") as f:
        f.write(doc)


def plot(rp: dict | None, esp: dict | None, path: str = PLOT) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    specs = (rp or esp)["models"]
    names = [s["name"] for s in specs]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    width = 0.4
    for k, (data, key, label) in enumerate(((rp, "cycles_per_pred", "RP2040 cycles"),
                                            (esp, "instr_per_pred", "ESP32 instructions"))):
        if data:
            values = [data["results"][n][key] if n in data["results"] else 0 for n in names]
            ax.bar([i + (k - 0.5) * width for i in range(len(names))], values, width,
                   label=label)
    ax.set_yscale("log")
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=35, ha="right", fontsize=8)
    ax.set_ylabel("per prediction (log scale)")
    ax.set_title("emlml per prediction on the emulated boards (official firmware)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench_mcu", description=__doc__.split("\n\n")[0])
    p.add_argument("--rp2040", default=os.path.join(BUILD, "bench_rp2040.json"))
    p.add_argument("--esp32", default=os.path.join(BUILD, "bench_esp32.json"))
    p.add_argument("--doc", default=DOC)
    p.add_argument("--plot", default=PLOT)
    args = p.parse_args(argv)
    rp, esp = load(args.rp2040), load(args.esp32)
    if rp is None and esp is None:
        print(f"bench_mcu: neither {args.rp2040} nor {args.esp32}: run make bench-mcu",
              file=sys.stderr)
        return 1
    text = section(rp, esp)
    print(table(rows(rp, esp)))
    write_doc(text, args.doc)
    plot(rp, esp, args.plot)
    print(f"wrote {os.path.relpath(args.doc)} and {os.path.relpath(args.plot)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
