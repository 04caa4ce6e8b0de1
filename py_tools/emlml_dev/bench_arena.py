"""The arena of every TinyMaix network and shipped example CNN: the first plan (first
fit, largest tensor first) against today's (the best of PLAN_ORDERS), each with the
dequantized outputs (n_outputs floats) after every tensor as the first format had them;
today's blob, whose floats follow the int8 output tensor over tensors dead by then
(FORMAT.md, CNN flag 4); and the bound no plan can beat (the most bytes live at one
layer, a layer's output apart from its inputs; at the end the output and its floats).
Prints a Markdown table:

    PYTHONPATH=py_tools .venv/bin/python -m emlml_dev.bench_arena
"""

from __future__ import annotations

import math

from emlml_tools.convert.tflite_cnn import convert_tflite, plan_arena
from emlml_tools.format import CNN_TWO_INPUT_OPS, align4, read_blob

from emlml_dev.cnn_devicedata import shipped_models, tinymaix_models


def _lifetimes(blob: bytes) -> tuple[list[int], list[tuple[int, int]], int]:
    """(tensor sizes, live intervals as the converter computes them, n_outputs)."""
    model = read_blob(blob)
    cnn = model.cnn
    n = len(cnn.tensors)
    start: dict[int, int] = {cnn.input_tensor: -1}
    end: dict[int, int] = {}
    for k in range(cnn.n_layers):
        L = cnn.layers[k]
        out = int(L["out"])
        start.setdefault(out, k)
        end.setdefault(out, k)
        two = int(L["op"]) in CNN_TWO_INPUT_OPS
        for t in [int(L["in0"])] + ([int(L["in1"])] if two else []):
            end[t] = k
    end[cnn.output_tensor] = cnn.n_layers
    sizes = [math.prod(cnn.shape(t)) for t in range(n)]
    intervals = [(start.get(t, 0), max(end.get(t, start.get(t, 0)), start.get(t, 0)))
                 for t in range(n)]
    return sizes, intervals, model.n_outputs


def bound(sizes: list[int], intervals: list[tuple[int, int]]) -> int:
    """The most bytes live at one layer: tensors live together never share a byte (the
    loader's rule), so no plan needs fewer."""
    last = max(e for _, e in intervals)
    return max(sum(s for s, (a, b) in zip(sizes, intervals) if a <= k <= b)
               for k in range(-1, last + 1))


def rows() -> list[tuple[str, int, int, int, int]]:
    out = []
    for name, tfl in tinymaix_models() + shipped_models():
        blob = convert_tflite(tfl)
        sizes, intervals, n_out = _lifetimes(blob)
        floats = 4 * n_out
        model = read_blob(blob)
        first = align4(plan_arena(sizes, intervals, ("size",))[1]) + floats
        plan = plan_arena(sizes, intervals)[1]
        assert plan == model.cnn.tensor_arena_bytes, name  # the converter's own plan
        low = max(align4(bound(sizes, intervals)), align4(n_out) + floats)  # 4-aligned, as the arena
        out.append((name, first, align4(plan) + floats, model.arena_bytes, low))
    return out


def main() -> None:
    print("| network | arena B, first plan | arena B, floats after the tensors | arena B, today "
          "| bound B |")
    print("| --- | --- | --- | --- | --- |")
    for name, first, after, today, low in rows():
        print(f"| {name} | {first:,} | {after:,} | {today:,} | {low:,} |")


if __name__ == "__main__":
    main()
