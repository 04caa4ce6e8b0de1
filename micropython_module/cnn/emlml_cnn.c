// int8 CNN inference (docs/FORMAT.md, int8 CNN): TFLite's reference int8 kernels, one
// function per op, bit for bit. Everything was checked by emlml_cnn_load.c: the
// kernels do no bounds checks, and every sum of products stays inside int32 (at most
// 65536 products of |x - zp| <= 255 and |w| <= 128 per output).
//
// The pipeline of every weighted op, as TFLite's: accumulate (x - in.zp) * w in int32,
// add the bias (wrapping), requantize (MBQM; FULLY_CONNECTED: a binary64 scale), add
// out.zp (wrapping), clamp to the fused activation.
#include "emlml_cnn_internal.h"
#include "emlml_fixedpoint.h"

// One function per op. The windowed and weighted ones are kept out of line
// (EMLML_NOINLINE): merged into one function by the inliner they would share registers
// and spill in their inner loops.

// The layer being run: its tensors' data and shapes, its weights and qparams.
typedef struct {
    const emlml_cnn_layer_t *l;
    const emlml_cnn_tensor_t *in;
    const emlml_cnn_tensor_t *out;
    const int8_t *x;      // in0's values
    int8_t *y;            // out's values
    const int8_t *w;      // the layer's weights
    const int32_t *q;     // the layer's qparams
} layer_run_t;

static int8_t clamp_to(int32_t v, int32_t lo, int32_t hi) {
    return (int8_t)(v < lo ? lo : v > hi ? hi : v);
}

// The requantized int8 output of an int32 accumulator (the end of conv, depthwise and
// fully connected).
static int8_t requantize(const layer_run_t *r, int32_t acc, uint32_t o) {
    uint32_t n = r->out->c;
    int32_t scaled = emlml_mbqm(emlml_wrap_add(acc, r->q[o]), r->q[n + o], r->q[2u * n + o]);
    return clamp_to(emlml_wrap_add(scaled, r->out->zero_point), r->l->act_min, r->l->act_max);
}

/******************************************************************************/
// Windows: the filter taps of one output position that fall inside the input

typedef struct {
    int32_t origin;     // input coordinate of tap 0 (may be negative)
    uint32_t first;     // first tap inside the input
    uint32_t end;       // one past the last tap inside the input
} taps_t;

// Taps t with 0 <= origin + t * dilation < size, among 0 <= t < filter. Taps outside
// the input are skipped, never read and never counted (TFLite's padding).
static taps_t taps_inside(int32_t origin, uint32_t dilation, uint32_t filter, uint32_t size) {
    taps_t t;
    t.origin = origin;
    t.first = origin >= 0 ? 0u : ((uint32_t)-origin + dilation - 1u) / dilation;
    int32_t room = (int32_t)size - 1 - origin;  // largest t * dilation still inside
    uint32_t last_plus_one = room < 0 ? 0u : (uint32_t)room / dilation + 1u;
    t.end = last_plus_one < filter ? last_plus_one : filter;
    if (t.first > t.end) {
        t.first = t.end;
    }
    return t;
}

typedef struct {
    uint32_t stride_h, stride_w, dilation_h, dilation_w;
    int32_t pad_top, pad_left;
} window_t;

static window_t window_of(const layer_run_t *r) {
    const emlml_cnn_layer_t *l = r->l;
    window_t win;
    int dilated = l->op == EMLML_CNN_CONV_2D || l->op == EMLML_CNN_DEPTHWISE_CONV_2D;
    win.stride_h = l->stride_h;
    win.stride_w = l->stride_w;
    win.dilation_h = dilated ? l->dilation_h : 1u;
    win.dilation_w = dilated ? l->dilation_w : 1u;
    win.pad_top = emlml_cnn_pad_before(r->in->h, r->out->h, win.stride_h,
                                       emlml_cnn_effective_filter(l->filter_h, win.dilation_h));
    win.pad_left = emlml_cnn_pad_before(r->in->w, r->out->w, win.stride_w,
                                        emlml_cnn_effective_filter(l->filter_w, win.dilation_w));
    return win;
}

static taps_t rows_of(const layer_run_t *r, const window_t *win, uint32_t out_y) {
    int32_t origin = (int32_t)(out_y * win->stride_h) - win->pad_top;
    return taps_inside(origin, win->dilation_h, r->l->filter_h, r->in->h);
}

static taps_t cols_of(const layer_run_t *r, const window_t *win, uint32_t out_x) {
    int32_t origin = (int32_t)(out_x * win->stride_w) - win->pad_left;
    return taps_inside(origin, win->dilation_w, r->l->filter_w, r->in->w);
}

// Input coordinate of tap t.
static uint32_t tap_at(const taps_t *t, uint32_t tap, uint32_t dilation) {
    return (uint32_t)(t->origin + (int32_t)(tap * dilation));
}

/******************************************************************************/
// Kernels

// n values unchanged (RESHAPE, PAD, the input copy; never overlapping, no memcpy call).
static void copy_values(int8_t *y, const int8_t *x, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) {
        y[i] = x[i];
    }
}

// The hot loop of conv and fully connected: sum of (x - zp) * w over n values. Out of
// line on purpose: inlined into the kernels it loses its registers to theirs (a
// Cortex-M then spills x, w and zp to the stack on every multiply-accumulate).
// n >= 1 (a tensor has at least one channel), n <= 65536. One index runs from -n up
// to 0 over both arrays, so the loop is two loads, a subtract, a multiply-add and the
// count (six instructions on a Cortex-M3, seven on an M0).
static EMLML_NOINLINE int32_t dot_minus_zp(const int8_t *x, const int8_t *w, uint32_t n, int32_t zp) {
    const int8_t *x_end = x + n, *w_end = w + n;
    int32_t acc = 0;
    int32_t i = -(int32_t)n;
    do {
        acc += (x_end[i] - zp) * w_end[i];
    } while (++i != 0);
    return acc;
}

// Sum of (x - zp) * w over n >= 1 values read `x_step` and `w_step` apart:
// depthwise's taps along a row.
static EMLML_NOINLINE int32_t dot_strided(const int8_t *x, uint32_t x_step, const int8_t *w, uint32_t w_step, uint32_t n, int32_t zp) {
    int32_t acc = 0;
    do {
        acc += (*x - zp) * *w;
        x += x_step;
        w += w_step;
    } while (--n != 0);
    return acc;
}

// CONV_2D: weights OHWI. Without dilation along w, the in-image taps of one filter row
// and their weights are both contiguous (at least one tap: see taps_inside), so a row
// is a single dot product.
static EMLML_NOINLINE void conv_2d(const layer_run_t *r) {
    const uint32_t in_w = r->in->w, in_c = r->in->c, out_c = r->out->c;
    const uint32_t fh = r->l->filter_h, fw = r->l->filter_w;
    const int32_t in_zp = r->in->zero_point;
    const window_t win = window_of(r);
    int8_t *y = r->y;
    for (uint32_t out_y = 0; out_y < r->out->h; out_y++) {
        const taps_t rows = rows_of(r, &win, out_y);
        for (uint32_t out_x = 0; out_x < r->out->w; out_x++) {
            const taps_t cols = cols_of(r, &win, out_x);
            const uint32_t row_values = (cols.end - cols.first) * in_c;
            for (uint32_t o = 0; o < out_c; o++) {
                int32_t acc = 0;
                for (uint32_t ky = rows.first; ky < rows.end; ky++) {
                    const int8_t *x_row = r->x + tap_at(&rows, ky, win.dilation_h) * in_w * in_c;
                    const int8_t *w_row = r->w + (o * fh + ky) * fw * in_c;
                    if (win.dilation_w == 1) {
                        acc += dot_minus_zp(x_row + tap_at(&cols, cols.first, 1) * in_c, w_row + cols.first * in_c, row_values, in_zp);
                        continue;
                    }
                    for (uint32_t kx = cols.first; kx < cols.end; kx++) {
                        acc += dot_minus_zp(x_row + tap_at(&cols, kx, win.dilation_w) * in_c, w_row + kx * in_c, in_c, in_zp);
                    }
                }
                *y++ = requantize(r, acc, o);
            }
        }
    }
}

// DEPTHWISE_CONV_2D: weights 1HWO; output channel o reads input channel o / multiplier.
static EMLML_NOINLINE void depthwise_conv_2d(const layer_run_t *r) {
    const uint32_t in_w = r->in->w, in_c = r->in->c, out_c = r->out->c;
    const uint32_t fw = r->l->filter_w;
    const uint32_t multiplier = out_c / in_c;
    const int32_t in_zp = r->in->zero_point;
    const window_t win = window_of(r);
    int8_t *y = r->y;
    for (uint32_t out_y = 0; out_y < r->out->h; out_y++) {
        const taps_t rows = rows_of(r, &win, out_y);
        for (uint32_t out_x = 0; out_x < r->out->w; out_x++) {
            const taps_t cols = cols_of(r, &win, out_x);
            // with dilation a window may hold no in-image column, and then no tap at all
            const uint32_t n_cols = cols.end - cols.first;
            const uint32_t rows_end = n_cols > 0 ? rows.end : rows.first;
            const int8_t *x_first = n_cols > 0 ? r->x + tap_at(&cols, cols.first, win.dilation_w) * in_c : r->x;
            for (uint32_t o = 0, in_channel = 0, m = 0; o < out_c; o++) {
                int32_t acc = 0;
                for (uint32_t ky = rows.first; ky < rows_end; ky++) {
                    const int8_t *x = x_first + tap_at(&rows, ky, win.dilation_h) * in_w * in_c + in_channel;
                    const int8_t *w = r->w + (ky * fw + cols.first) * out_c + o;
                    acc += dot_strided(x, win.dilation_w * in_c, w, out_c, n_cols, in_zp);
                }
                *y++ = requantize(r, acc, o);
                if (++m == multiplier) {  // in_channel = o / multiplier, without a division
                    m = 0;
                    in_channel++;
                }
            }
        }
    }
}

// FULLY_CONNECTED: the input flattened in memory order; row o of the weights is output o.
// Unlike conv, TFLite rescales the accumulator in double (per-channel binary64 scales).
static EMLML_NOINLINE void fully_connected(const layer_run_t *r) {
    const uint32_t n_in = emlml_cnn_size(r->in), n_out = r->out->c;
    for (uint32_t o = 0; o < n_out; o++) {
        int32_t acc = dot_minus_zp(r->x, r->w + o * n_in, n_in, r->in->zero_point);
        int32_t q = emlml_rescale_f64(emlml_wrap_add(acc, r->q[o]), emlml_cnn_f64_bits(r->q + n_out + 2u * o));
        r->y[o] = clamp_to(emlml_wrap_add(q, r->out->zero_point), r->l->act_min, r->l->act_max);
    }
}

// MAX_POOL_2D and AVERAGE_POOL_2D over the in-image taps. The average rounds half
// away from zero (TFLite's integer rounding of sum / count).
static EMLML_NOINLINE void pool_2d(const layer_run_t *r, int average) {
    const uint32_t in_w = r->in->w, c = r->in->c;
    const window_t win = window_of(r);
    int8_t *y = r->y;
    for (uint32_t out_y = 0; out_y < r->out->h; out_y++) {
        const taps_t rows = rows_of(r, &win, out_y);
        for (uint32_t out_x = 0; out_x < r->out->w; out_x++) {
            const taps_t cols = cols_of(r, &win, out_x);
            // SAME and VALID windows always hold at least one in-image tap
            const int32_t count = (int32_t)((rows.end - rows.first) * (cols.end - cols.first));
            for (uint32_t ch = 0; ch < c; ch++) {
                int32_t sum = 0;
                int32_t max = -128;
                for (uint32_t ky = rows.first; ky < rows.end; ky++) {
                    const int8_t *row = r->x + (tap_at(&rows, ky, 1) * in_w) * c + ch;
                    for (uint32_t kx = cols.first; kx < cols.end; kx++) {
                        int32_t v = row[tap_at(&cols, kx, 1) * c];
                        sum += v;
                        max = v > max ? v : max;
                    }
                }
                int32_t v = max;
                if (average && count > 0) {
                    v = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
                }
                *y++ = clamp_to(v, r->l->act_min, r->l->act_max);
            }
        }
    }
}

// MEAN over height and width; the division by h * w is folded into the multiplier.
static void mean(const layer_run_t *r) {
    const uint32_t c = r->in->c;
    const uint32_t n = (uint32_t)r->in->h * r->in->w;
    // the raw sum and in.zp * n fit in int32: n <= 2^23 (checked at load)
    const int32_t zp_total = emlml_i32_from_bits((uint32_t)r->in->zero_point * n);
    for (uint32_t ch = 0; ch < c; ch++) {
        uint32_t sum = 0;
        for (uint32_t i = 0; i < n; i++) {
            int32_t v = r->x[i * c + ch];
            sum += (uint32_t)v;
        }
        int32_t v = emlml_mbqm(emlml_wrap_sub(emlml_i32_from_bits(sum), zp_total), r->q[0], r->q[1]);
        r->y[ch] = clamp_to(emlml_wrap_add(v, r->out->zero_point), -128, 127);
    }
}

// PAD: out.zp everywhere, then each input row of c values at (pad_before_h,
// pad_before_w, pad_before_c).
static void pad(const layer_run_t *r) {
    const emlml_cnn_layer_t *l = r->l;
    const uint32_t in_c = r->in->c, out_w = r->out->w, out_c = r->out->c;
    const uint32_t cells = (uint32_t)r->in->h * r->in->w;
    for (uint32_t i = 0, n = emlml_cnn_size(r->out); i < n; i++) {
        r->y[i] = (int8_t)r->out->zero_point;
    }
    for (uint32_t cell = 0; cell < cells; cell++) {
        uint32_t in_y = cell / r->in->w, in_x = cell % r->in->w;
        int8_t *y = r->y + ((in_y + l->pad_before_h) * out_w + in_x + l->pad_before_w) * out_c + l->pad_before_c;
        copy_values(y, r->x + cell * in_c, in_c);
    }
}

// ADD of two tensors of one shape: both inputs brought to a common scale with
// 2^left_shift of headroom, summed, then requantized.
static void add(const layer_run_t *r, const emlml_cnn_tensor_t *in1, const int8_t *x1) {
    const int32_t *q = r->q;
    const int32_t left_shift = q[0];
    const uint32_t n = emlml_cnn_size(r->out);
    for (uint32_t i = 0; i < n; i++) {
        int32_t a = emlml_wrap_shl((int32_t)r->x[i] - r->in->zero_point, (int)left_shift);
        int32_t b = emlml_wrap_shl((int32_t)x1[i] - in1->zero_point, (int)left_shift);
        int32_t sum = emlml_wrap_add(emlml_mbqm(a, q[1], q[2]), emlml_mbqm(b, q[3], q[4]));
        int32_t v = emlml_wrap_add(emlml_mbqm(sum, q[5], q[6]), r->out->zero_point);
        r->y[i] = clamp_to(v, r->l->act_min, r->l->act_max);
    }
}

// (x - row max) * beta as Q5.26 for the exponential.
static int32_t softmax_scaled_diff(int32_t diff, int32_t multiplier, int32_t left_shift) {
    return emlml_srdhm(emlml_wrap_shl(diff, (int)left_shift), multiplier);
}

// SOFTMAX over c: TFLite's reference int8 softmax. exp(beta * (x - max)) in Q0.31 for
// each value at or above diff_min, their sum in Q12.19, its reciprocal, and each
// output exp / sum in Q0.8, shifted to int8 (out.zp = -128, scale 1/256).
static void softmax(const layer_run_t *r) {
    const int32_t multiplier = r->q[0], left_shift = r->q[1], diff_min = r->q[2];
    const uint32_t depth = r->in->c;
    const uint32_t rows = (uint32_t)r->in->h * r->in->w;
    for (uint32_t row = 0; row < rows; row++) {
        const int8_t *x = r->x + row * depth;
        int8_t *y = r->y + row * depth;
        int32_t max = -128;
        for (uint32_t i = 0; i < depth; i++) {
            max = x[i] > max ? x[i] : max;
        }
        uint32_t sum_of_exps = 0;  // Q12.19, wrapping as TFLite's int32 (read back as uint32)
        for (uint32_t i = 0; i < depth; i++) {
            int32_t diff = x[i] - max;
            if (diff >= diff_min) {
                int32_t e = emlml_exp_on_negative_values(softmax_scaled_diff(diff, multiplier, left_shift));
                sum_of_exps += (uint32_t)emlml_rdbpot(e, 12);  // Q0.31 to Q12.19
            }
        }
        int num_bits_over_unit;
        int32_t reciprocal = emlml_reciprocal(sum_of_exps, 12, &num_bits_over_unit);
        for (uint32_t i = 0; i < depth; i++) {
            int32_t diff = x[i] - max;
            int32_t v = -128;
            if (diff >= diff_min) {
                int32_t e = emlml_exp_on_negative_values(softmax_scaled_diff(diff, multiplier, left_shift));
                // exponent <= 31: the loader keeps depth <= 511, so the sum is below
                // 2^28 and num_bits_over_unit <= 8
                int32_t unsaturated = emlml_rdbpot(emlml_srdhm(reciprocal, e), num_bits_over_unit + 31 - 8);
                v = clamp_to(emlml_wrap_sub(unsaturated, 128), -128, 127);
            }
            y[i] = (int8_t)v;
        }
    }
}

static void run_layer(const emlml_cnn_t *cnn, const emlml_cnn_layer_t *l, int8_t *arena) {
    layer_run_t r;
    r.l = l;
    r.in = &cnn->tensors[l->in0];
    r.out = &cnn->tensors[l->out];
    r.x = arena + r.in->offset;
    r.y = arena + r.out->offset;
    r.w = cnn->weights != NULL ? cnn->weights + l->weights_offset : NULL;
    r.q = cnn->qparams + l->qparams_offset;
    switch (l->op) {
        case EMLML_CNN_CONV_2D: conv_2d(&r); break;
        case EMLML_CNN_DEPTHWISE_CONV_2D: depthwise_conv_2d(&r); break;
        case EMLML_CNN_FULLY_CONNECTED: fully_connected(&r); break;
        case EMLML_CNN_MAX_POOL_2D: pool_2d(&r, 0); break;
        case EMLML_CNN_AVERAGE_POOL_2D: pool_2d(&r, 1); break;
        case EMLML_CNN_MEAN: mean(&r); break;
        case EMLML_CNN_PAD: pad(&r); break;
        case EMLML_CNN_ADD: add(&r, &cnn->tensors[l->in1], arena + cnn->tensors[l->in1].offset); break;
        case EMLML_CNN_SOFTMAX: softmax(&r); break;
        default: copy_values(r.y, r.x, emlml_cnn_size(r.in)); break;
    }
}

/******************************************************************************/
// The edges: float input, float outputs

int8_t *emlml_cnn_input(const emlml_model_t *m, void *arena) {
    return (int8_t *)arena + m->u.cnn.tensors[m->u.cnn.input_tensor].offset;
}

const int8_t *emlml_cnn_output(const emlml_model_t *m, const void *arena) {
    return (const int8_t *)arena + m->u.cnn.tensors[m->u.cnn.output_tensor].offset;
}

// (int32)roundf(v) as TFLite's QUANTIZE ends on x86-64: halves away from zero, and a
// value outside int32 (or infinite) becomes INT32_MIN, as the x86 conversion gives
// (the same rule as FULLY_CONNECTED's rescale). No libm.
static int32_t round_to_int32(float v) {
    if (!(v >= -2147483648.0f && v < 2147483648.0f)) {
        return INT32_MIN;
    }
    int32_t t = (int32_t)v;         // toward zero; v itself once |v| >= 2^23
    float fraction = v - (float)t;  // exact
    if (fraction >= 0.5f) {
        return t + 1;
    }
    if (fraction <= -0.5f) {
        return t - 1;
    }
    return t;
}

// TFLite's QUANTIZE as the reference interpreter computes it: x / scale in float32 (not
// double), rounded, plus the zero point (wrapping in int32: INT32_MIN plus a negative
// zero point ends at 127), clamped to int8.
static int8_t quantize(float x, float scale, int32_t zero_point) {
    return clamp_to(emlml_wrap_add(round_to_int32(x / scale), zero_point), -128, 127);
}

emlml_status_t emlml_cnn_quantize_input(const emlml_model_t *m, const float *x, void *arena, emlml_error_t *err) {
    const emlml_cnn_t *cnn = &m->u.cnn;
    const int32_t zero_point = cnn->tensors[cnn->input_tensor].zero_point;
    const float scale = cnn->input_scale;
    int8_t *q = emlml_cnn_input(m, arena);
    for (uint32_t i = 0; i < m->n_inputs; i++) {
        if (!emlml_f32_is_finite(x[i])) {
            return emlml_fail(err, EMLML_E_INPUT_NONFINITE, i, 0, 0);
        }
        q[i] = quantize(x[i], scale, zero_point);
    }
    return EMLML_OK;
}

// First index of the largest value.
static uint32_t argmax_i8(const int8_t *v, uint32_t n) {
    uint32_t best = 0;
    for (uint32_t i = 1; i < n; i++) {
        if (v[i] > v[best]) {
            best = i;
        }
    }
    return best;
}

const float *emlml_cnn_predict(const emlml_model_t *m, const void *input, void *arena, uint32_t *predicted, int want_outputs, emlml_error_t *err) {
    const emlml_cnn_t *cnn = &m->u.cnn;
    int8_t *tensors = (int8_t *)arena;
    int8_t *in = emlml_cnn_input(m, arena);
    (void)err;  // int8 input: nothing to refuse
    if ((const int8_t *)input != in) {
        copy_values(in, (const int8_t *)input, m->n_inputs);
    }
    for (uint32_t k = 0; k < cnn->n_layers; k++) {
        run_layer(cnn, &cnn->layers[k], tensors);
    }
    const int8_t *q = emlml_cnn_output(m, arena);
    float *out = (float *)(void *)(tensors + cnn->outputs_offset);
    *predicted = argmax_i8(q, m->n_outputs);
    if (want_outputs) {
        // TFLite's DEQUANTIZE: scale * (q - zp) is exact in double, so one float32
        // multiply rounds it the same way.
        const int32_t zero_point = cnn->tensors[cnn->output_tensor].zero_point;
        for (uint32_t i = 0; i < m->n_outputs; i++) {
            out[i] = cnn->output_scale * (float)(q[i] - zero_point);
        }
    }
    return out;
}
