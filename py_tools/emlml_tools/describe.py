"""``emlml inspect``: a checked blob described for a person, row by row."""

from __future__ import annotations

import argparse
from typing import Any

from emlml_tools.files import load_blob


def kind_line(blob: Any) -> str:
    from emlml_tools.format import KIND_NAMES

    return f"{KIND_NAMES[blob.kind]} {'classifier' if blob.is_classifier else 'regressor'}"


def setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("blob", metavar="BLOB", help="blob file to check and describe")


def describe(blob: Any) -> list[tuple[str, str]]:
    """(field, text) rows describing a checked blob."""
    from emlml_tools.format import INPUT_TYPECODES, SectionId

    def size(section_id: SectionId) -> int:
        entry = blob.section(section_id)
        return 0 if entry is None else entry.size

    shape = "" if blob.input_shape is None else ", shape " + "x".join(map(str, blob.input_shape))
    if shape and blob.pipeline is not None:  # a CNN's input after the steps: not the window's
        shape = ", the model's input shape " + shape[len(", shape "):]
    rows = [
        ("format", f"emlml blob version {blob.version}, {blob.total_size} bytes, "
                   f"CRC 0x{blob.crc32:08x} ok"),
        ("kind", kind_line(blob)),
        ("inputs", f"{blob.n_inputs} x {blob.input_type.name.lower()} "
                   f"('{INPUT_TYPECODES[blob.input_type]}'){shape}"),
        ("outputs", f"{blob.n_outputs} classes" if blob.is_classifier else "1 value"),
    ]
    if blob.pipeline is not None:
        rows += _describe_pipeline(blob)
    if blob.cnn is not None:
        rows += _describe_cnn(blob)
    elif blob.boost is not None:
        t = blob.boost
        rows += [
            ("trees", f"{t.n_trees} trees in {t.n_groups} score group(s), {t.n_nodes} nodes, "
                      f"{t.n_leaves} distinct leaf values ({t.sum.name.lower()} sums), "
                      f"link {t.link.name.lower()}"),
            ("sizes", f"nodes {size(SectionId.TREE_NODES)} B (8 per node), leaves "
                      f"{size(SectionId.BOOST_LEAVES)} B, roots {size(SectionId.TREE_ROOTS)} B, "
                      f"NaN bits {size(SectionId.TREE_NAN)} B, params "
                      f"{size(SectionId.BOOST_PARAMS)} B, meta {size(SectionId.META)} B"),
            ("per node", f"{blob.total_size / t.n_nodes:.2f} bytes per node (whole blob)"),
            ("NaN", "routed per split as the library does (missing values)" if t.nan_routing
             else "refused"),
        ]
    elif blob.trees is not None:
        t = blob.trees
        rows += [
            ("trees", f"{t.n_trees} trees, {t.n_nodes} nodes, {t.n_leaves} distinct leaf "
                      "vectors"),
            ("sizes", f"nodes {size(SectionId.TREE_NODES)} B (8 per node), leaves "
                      f"{size(SectionId.TREE_LEAVES)} B, roots {size(SectionId.TREE_ROOTS)} B, "
                      f"NaN bits {size(SectionId.TREE_NAN)} B, leaf weights {size(SectionId.TREE_WEIGHTS)} B, "
                      f"meta {size(SectionId.META)} B"),
            ("per node", f"{blob.total_size / t.n_nodes:.2f} bytes per node (whole blob)"),
            ("NaN", "routed as scikit-learn does (missing values)" if t.nan_routing
             else "refused"),
        ]
    else:
        k = blob.knn
        rows += [
            ("kNN", f"k={k.k}, {k.n_samples} samples, {k.metric.name.lower()}, "
                    f"{k.weights.name.lower()} weights, {k.sample_type.name.lower()} samples, "
                    f"{k.distances.name.lower()} distances"),
            ("sizes", f"samples {size(SectionId.KNN_SAMPLES)} B, targets "
                      f"{size(SectionId.KNN_TARGETS)} B, quant {size(SectionId.KNN_QUANT)} B, "
                      f"meta {size(SectionId.META)} B"),
            ("per sample", f"{blob.total_size / k.n_samples:.2f} bytes per sample (whole blob)"),
        ]
    rows.append(("arena", f"{blob.arena_bytes} bytes of RAM while predicting"))
    if blob.labels:
        rows.append(("labels", ", ".join(blob.labels)))
    rows.append(("producer", blob.producer or "(none)"))
    if blob.name:
        rows.append(("name", blob.name))
    return rows


def _describe_pipeline(blob: Any) -> list[tuple[str, str]]:
    """Rows for the feature steps: the window, then one row per step."""
    from emlml_tools.format import StepOp

    pipe = blob.pipeline
    rate = f" at {pipe.sample_rate:g} Hz" if pipe.sample_rate else ""
    rows = [("window", f"{pipe.n_window // pipe.channels} samples x {pipe.channels} channels"
                       f"{rate} (sample-major), {pipe.n_steps} feature steps, the model reads "
                       f"{pipe.n_features} values")]
    for k, s in enumerate(pipe.steps):
        text = f"{StepOp(int(s['op'])).name:<8} {int(s['n_in'])} -> {int(s['n_out'])}"
        text += _step_detail(pipe, k)
        if int(s["op"]) in (StepOp.MFE, StepOp.MFCC):
            frame, hop, n_fft, mels, coefs = (int(v) for v in pipe.step_params(k)[:5])
            frames = 1 + (int(s["n_in"]) - frame) // hop
            width = f"{coefs} coefficients" if coefs else f"{mels} mels"
            text += (f" ({frames} frames of {frame} samples, hop {hop}, n_fft {n_fft}, {mels} mel "
                     f"filters: {frames} x {width}, frame-major)")
        if k >= pipe.n_run:
            text += " (folded into the trees' thresholds; run by transform only)"
        rows.append((f"step {k}", text))
    return rows


def _step_detail(pipe: Any, k: int) -> str:
    """SOS: its sections; SPECTRUM: the statistics of the power spectrum it appends."""
    from emlml_tools.features.stats import STATS
    from emlml_tools.format import StepOp
    from emlml_tools.format.pipeline import step_shape

    s = pipe.steps[k]
    if int(s["op"]) == StepOp.SOS:
        return f", {int(pipe.step_params(k)[0])} second-order sections"
    shape = step_shape(s)
    if shape:
        return ", then " + ", ".join(n for i, n in enumerate(STATS) if shape >> i & 1) + \
            " of the power spectrum"
    return ""


def _describe_cnn(blob: Any) -> list[tuple[str, str]]:
    """Rows for a kind-3 blob: edges, sizes, then one row per layer."""
    from emlml_tools.format import CNN_SPATIAL_OPS, CNN_TWO_INPUT_OPS, CnnOp, SectionId

    cnn = blob.cnn

    def shape(t: int) -> str:
        return "x".join(str(d) for d in cnn.shape(t))

    def size(section_id: SectionId) -> int:
        entry = blob.section(section_id)
        return 0 if entry is None else entry.size

    edges = []
    if cnn.float_input:
        edges.append("float input (quantized on the board)")
    if cnn.float_output:
        edges.append("float output (dequantized)")
    rows = [
        ("CNN", f"{cnn.n_layers} layers, {cnn.n_tensors} tensors; input scale "
                f"{cnn.input_scale:.6g}, output scale {cnn.output_scale:.6g}"
                + (f"; {', '.join(edges)}" if edges else "")),
        ("sizes", f"weights {size(SectionId.CNN_WEIGHTS)} B, qparams "
                  f"{size(SectionId.CNN_QPARAMS)} B, layers {size(SectionId.CNN_LAYERS)} B, "
                  f"tensor arena {cnn.tensor_arena_bytes} B"),
    ]
    for i, layer in enumerate(cnn.layers):
        op = CnnOp(int(layer["op"]))
        ins = [int(layer["in0"])] + ([int(layer["in1"])] if op in CNN_TWO_INPUT_OPS else [])
        out = int(layer["out"])
        names = [("const " if int(cnn.tensors[t]["flags"]) else "") + f"t{t} {shape(t)}"
                 for t in ins]
        text = f"{op.name:<18} {', '.join(names)} -> t{out} {shape(out)}"
        if op in CNN_SPATIAL_OPS:
            text += (f", {int(layer['filter_h'])}x{int(layer['filter_w'])} stride "
                     f"{int(layer['stride_h'])}x{int(layer['stride_w'])} "
                     f"{'SAME' if int(layer['padding']) else 'VALID'}")
            if op in (CnnOp.CONV_2D, CnnOp.DEPTHWISE_CONV_2D) and (
                    int(layer["dilation_h"]), int(layer["dilation_w"])) != (1, 1):
                text += f" dilation {int(layer['dilation_h'])}x{int(layer['dilation_w'])}"
        if (int(layer["act_min"]), int(layer["act_max"])) != (-128, 127):
            text += f", clamp {int(layer['act_min'])}..{int(layer['act_max'])}"
        rows.append((f"layer {i}", text))
    return rows


def run(args: argparse.Namespace) -> int:
    blob = load_blob(args.blob)
    print(f"{args.blob}")
    for key, text in describe(blob):
        print(f"  {key + ':':<12}{text}")
    return 0
