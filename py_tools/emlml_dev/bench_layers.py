"""One-layer int8 networks for the per-MAC benchmark (`make qemu-bench`).

A whole model's instructions per multiply-accumulate include its pools, softmax and
edges; these networks hold one weighted layer each, so their instructions per MAC are
the layer's own cost (plus a copy of the input and the argmax, a few percent):

- conv3x3_16: CONV_2D 3x3 SAME, 16 -> 16 channels on 8x8 (the issue's "conv layer of
  16+ channels"; a third of the outputs lose taps to the padding)
- conv1x1_32: CONV_2D 1x1, 16 -> 32 channels on 8x8 (MobileNet's pointwise)
- dwconv3x3_32: DEPTHWISE_CONV_2D 3x3 SAME, 32 channels on 8x8
- dense_256: FULLY_CONNECTED 256 -> 64

Weights, biases and scales are random but fixed (seeded); the scales keep outputs in range.
"""

from __future__ import annotations

import numpy as np

from emlml_dev.tflite_build import SAME, VALID, ModelBuilder


def _conv(rng: np.random.Generator, op: str, hw: int | tuple[int, int], in_c: int, out_c: int, k: int,
          stride: int = 1, dilation: tuple[int, int] = (1, 1), padding: int | None = None,
          x_zero_point: int = -3, bias: np.ndarray | None = None, y_scale: float = 0.05) -> bytes:
    h, w_in = (hw, hw) if isinstance(hw, int) else hw
    b = ModelBuilder()
    x = b.tensor((1, h, w_in, in_c), scale=0.02, zero_point=x_zero_point)
    depthwise = op == "DEPTHWISE_CONV_2D"
    shape = (1, k, k, out_c) if depthwise else (out_c, k, k, in_c)
    w_scales = rng.uniform(0.002, 0.006, out_c)
    w = b.tensor(shape, scale=w_scales, zero_point=[0] * out_c, axis=3 if depthwise else 0,
                 data=rng.integers(-127, 128, shape))
    bias = b.tensor((out_c,), "int32", scale=[float(np.float32(0.02) * np.float32(s)) for s in w_scales],
                    zero_point=[0] * out_c, data=rng.integers(-2000, 2000, out_c) if bias is None else bias)
    padding = (SAME if k > 1 else VALID) if padding is None else padding

    def out_size(n: int, d: int) -> int:
        return -(-n // stride) if padding == SAME else (n - (k - 1) * d - 1) // stride + 1

    y = b.tensor((1, out_size(h, dilation[0]), out_size(w_in, dilation[1]), out_c), scale=y_scale,
                 zero_point=5)
    window = dict(padding=padding, stride_w=stride, stride_h=stride)
    if dilation != (1, 1):
        window.update(dilation_h_factor=dilation[0], dilation_w_factor=dilation[1])
    if depthwise:
        b.op(op, [x, w, bias], [y], "DepthwiseConv2DOptions", **window, depth_multiplier=out_c // in_c)
    else:
        b.op(op, [x, w, bias], [y], "Conv2DOptions", **window)
    return b.build([x], [y])


def _dense(rng: np.random.Generator, n_in: int, n_out: int, softmax: bool = False) -> bytes:
    b = ModelBuilder()
    x = b.tensor((1, n_in), scale=0.02, zero_point=-3)
    w_scale = 0.004
    w = b.tensor((n_out, n_in), scale=w_scale, zero_point=0, data=rng.integers(-127, 128, (n_out, n_in)))
    bias = b.tensor((n_out,), "int32", scale=float(np.float32(0.02) * np.float32(w_scale)),
                    zero_point=0, data=rng.integers(-2000, 2000, n_out))
    y = b.tensor((1, n_out), scale=0.1, zero_point=0)
    b.op("FULLY_CONNECTED", [x, w, bias], [y], "FullyConnectedOptions")
    if softmax:  # a classifier's head: SOFTMAX over the n_out values
        p = b.tensor((1, n_out), scale=1 / 256, zero_point=-128)
        b.op("SOFTMAX", [y], [p], "SoftmaxOptions", beta=1.0)
        y = p
    return b.build([x], [y])


def layer_models() -> dict[str, bytes]:
    """name -> .tflite bytes of the one-layer benchmark networks."""
    rng = np.random.default_rng(5)
    return {
        "conv3x3_16": _conv(rng, "CONV_2D", 8, 16, 16, 3),
        "conv1x1_32": _conv(rng, "CONV_2D", 8, 16, 32, 1),
        "dwconv3x3_32": _conv(rng, "DEPTHWISE_CONV_2D", 8, 32, 32, 3),
        "dense_256": _dense(rng, 256, 64),
    }


def kernel_models() -> dict[str, bytes]:
    """name -> .tflite bytes of one-layer networks of 32+ channels in the shapes the 1x1
    and depthwise kernels treat apart (channel counts that are no multiple of their
    blocks, input channels no multiple of 4, stride, padding, dilation, depth multiplier
    2, zero points of -128 and 127), and the 3x3 ones of the Cortex-M0: the tests run
    them against TFLite on every runtime."""
    rng = np.random.default_rng(6)
    return {
        "k_conv1x1_16_35": _conv(rng, "CONV_2D", (5, 3), 16, 35, 1),
        "k_conv1x1_33_34": _conv(rng, "CONV_2D", (3, 4), 33, 34, 1, x_zero_point=-128),
        "k_conv1x1_s2_32_33": _conv(rng, "CONV_2D", (5, 7), 32, 33, 1, stride=2),
        "k_dw3x3_33": _conv(rng, "DEPTHWISE_CONV_2D", (7, 5), 33, 33, 3),
        "k_dw3x3_s2_34": _conv(rng, "DEPTHWISE_CONV_2D", (6, 7), 34, 34, 3, stride=2),
        "k_dw3x3_dil_35": _conv(rng, "DEPTHWISE_CONV_2D", (6, 5), 35, 35, 3, dilation=(2, 1),
                                padding=VALID, x_zero_point=-128),
        "k_dw3x3_dilw_32": _conv(rng, "DEPTHWISE_CONV_2D", (5, 6), 32, 32, 3, dilation=(1, 2)),
        "k_dw3x3_m2_34": _conv(rng, "DEPTHWISE_CONV_2D", (4, 5), 17, 34, 3),
        # the padded-window conv (an image's channels, dilation along w) and outputs of
        # 1-3 channels past the blocks of 4
        "k_conv3x3_s2_1_7": _conv(rng, "CONV_2D", (9, 8), 1, 7, 3, stride=2, x_zero_point=127),
        "k_conv3x3_1_1": _conv(rng, "CONV_2D", (6, 5), 1, 1, 3, padding=VALID, x_zero_point=-128),
        "k_conv3x3_3_6": _conv(rng, "CONV_2D", (7, 6), 3, 6, 3, x_zero_point=-128),
        "k_conv3x3_dilw_5_9": _conv(rng, "CONV_2D", (8, 9), 5, 9, 3, dilation=(1, 2)),
        "k_conv3x3_dilw_4_5": _conv(rng, "CONV_2D", (6, 7), 4, 5, 3, dilation=(2, 2), x_zero_point=127),
        # the Cortex-M0 3x3 paths (zero point folded out of the windows with all their
        # taps): depthwise channels past two chunks of 32, stride 2 with odd sizes, a
        # zero point of 127 and of -128; conv of at most 8 input times output channels
        # (9 take the portable path), dilation along h
        "k_dw3x3_67": _conv(rng, "DEPTHWISE_CONV_2D", (6, 7), 67, 67, 3, x_zero_point=127),
        "k_dw3x3_s2_33": _conv(rng, "DEPTHWISE_CONV_2D", (9, 7), 33, 33, 3, stride=2, padding=VALID,
                               x_zero_point=-128),
        "k_conv3x3_s2_2_4": _conv(rng, "CONV_2D", (9, 7), 2, 4, 3, stride=2, x_zero_point=127),
        "k_conv3x3_3_3": _conv(rng, "CONV_2D", (5, 6), 3, 3, 3, x_zero_point=-128),
        "k_conv3x3_dil_1_3": _conv(rng, "CONV_2D", (8, 7), 1, 3, 3, dilation=(2, 1), padding=VALID,
                                   x_zero_point=-128),
        # accumulators on both sides of the Cortex-M4 requantization's bound (x * 2^left
        # in [-2^30, 2^30)): biases near +-2^30 (multiplier scale 2^-24 or about 0.6) or
        # +-2^28 with a left shift of 2 (scale about 4)
        "k_conv1x1_bound_32_36": _conv(rng, "CONV_2D", (3, 3), 32, 36, 1, x_zero_point=-128,
                                       bias=_near(rng, 1 << 30, 36), y_scale=0.02 * 0.004 * 2.0 ** 24),
        "k_conv1x1_bound_16_20": _conv(rng, "CONV_2D", (2, 3), 16, 20, 1, x_zero_point=127,
                                       bias=_near(rng, 1 << 30, 20), y_scale=0.02 * 0.006 / 0.9),
        "k_dw3x3_bound_36": _conv(rng, "DEPTHWISE_CONV_2D", (5, 4), 36, 36, 3, bias=_near(rng, 1 << 28, 36),
                                  y_scale=0.02 * 0.004 / 4),
        # the Cortex-M4's 1x1 loop at its input limit (128 channels) and past it, over more
        # output positions than one run of requantization (16), 4 to 7 output channels
        "k_conv1x1_128_7": _conv(rng, "CONV_2D", (5, 7), 128, 7, 1, x_zero_point=127),
        "k_conv1x1_132_4": _conv(rng, "CONV_2D", (3, 6), 132, 4, 1),
        # rows wide enough for the Cortex-M4's channel-major 3x3 depthwise runs (8 or more
        # whole windows: runs of 16 and a shorter one), channels past the blocks of 4
        "k_dw3x3_wide_38": _conv(rng, "DEPTHWISE_CONV_2D", (4, 21), 38, 38, 3, x_zero_point=-128),
        "k_dw3x3_wide_s2_36": _conv(rng, "DEPTHWISE_CONV_2D", (5, 40), 36, 36, 3, stride=2, padding=VALID),
        # the Cortex-M4's 3x3 conv of 1-3 input channels (whole windows, 4 output channels
        # at a time from staged weights): rows of more than one run of 16, blocks past
        # out.c, SAME edges, stride 2, dilation along h, the windows whose last word would
        # read past the input (VALID, the last window at the input's end),
        # 4-7 input channels (words of a row: 3-6), zero points -128 and 127
        "k_conv3x3_n_1_1": _conv(rng, "CONV_2D", (5, 40), 1, 1, 3, padding=VALID, x_zero_point=-128),
        "k_conv3x3_n_s2_1_4": _conv(rng, "CONV_2D", (9, 11), 1, 4, 3, stride=2, x_zero_point=127),
        "k_conv3x3_n_s2_1_3": _conv(rng, "CONV_2D", (7, 9), 1, 3, 3, stride=2, padding=VALID,
                                    x_zero_point=127),
        "k_conv3x3_n_2_5": _conv(rng, "CONV_2D", (6, 21), 2, 5, 3),
        "k_conv3x3_n_2_12": _conv(rng, "CONV_2D", (5, 7), 2, 12, 3, padding=VALID, x_zero_point=-128),
        "k_conv3x3_n_3_8": _conv(rng, "CONV_2D", (8, 18), 3, 8, 3, x_zero_point=127),
        "k_conv3x3_n_s2_3_6": _conv(rng, "CONV_2D", (9, 9), 3, 6, 3, stride=2, padding=VALID),
        "k_conv3x3_n_3_9": _conv(rng, "CONV_2D", (5, 6), 3, 9, 3, x_zero_point=-128),
        "k_conv3x3_n_dil_1_24": _conv(rng, "CONV_2D", (9, 8), 1, 24, 3, dilation=(2, 1), stride=2,
                                      x_zero_point=-128),
        "k_conv3x3_n_7_6": _conv(rng, "CONV_2D", (6, 19), 7, 6, 3, x_zero_point=127),
        "k_conv3x3_n_s2_5_9": _conv(rng, "CONV_2D", (7, 8), 5, 9, 3, stride=2, padding=VALID),
        "k_conv3x3_n_4_6": _conv(rng, "CONV_2D", (6, 20), 4, 6, 3, x_zero_point=-128),
        # the Cortex-M0's 4-channel dot products (dot_block4): a chunk of 32 channels and
        # one of 6 (a pair of blocks and a single block), input zero point 127; stride 2
        # on odd sizes with 7 channels (a pair, then the last channel alone) and -128; a
        # padded 3x3 conv of 8 channels (windows cut by the padding: rows of 1-3 taps)
        "k_conv1x1_m0_40_38": _conv(rng, "CONV_2D", (3, 5), 40, 38, 1, x_zero_point=127),
        "k_conv1x1_m0_s2_17_7": _conv(rng, "CONV_2D", (7, 5), 17, 7, 1, stride=2, x_zero_point=-128),
        "k_conv3x3_m0_s2_5_8": _conv(rng, "CONV_2D", (7, 6), 5, 8, 3, stride=2, x_zero_point=127),
        # fully connected on the Cortex-M0: 4 outputs a pass, then a block of 2 and one
        "k_dense_m0_37_7": _dense(rng, 37, 7),
        # SOFTMAX on the Cortex-M4F: rows of up to 16 values keep their exps (16), longer
        # ones compute them twice (17)
        "k_softmax_16": _dense(rng, 24, 16, softmax=True),
        "k_softmax_17": _dense(rng, 24, 17, softmax=True),
    }


def _near(rng: np.random.Generator, bound: int, n: int) -> np.ndarray:
    """n int32 biases within 2^20 of +-bound, alternating in sign (a layer's accumulators
    then fall on both sides of +-bound)."""
    sign = np.where(np.arange(n) % 2 == 0, 1, -1)
    return (sign * (bound + rng.integers(-(1 << 20), 1 << 20, n))).astype(np.int64)
