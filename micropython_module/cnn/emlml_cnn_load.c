// The int8 CNN loader (docs/FORMAT.md, int8 CNN): every count, index, shape, offset,
// quantization parameter and arena placement is checked once here, so that the
// kernels in emlml_cnn.c run without a single bounds check and still stay inside the
// blob, the arena and int32 arithmetic for any input. Each refusal of a layer names
// the layer and its op.
#include "emlml_cnn_internal.h"

// Nothing of this file in a build without the CNN family (EMLML_WITH_CNN 0, emlml_config.h).
#if EMLML_WITH_CNN

enum {
    PARAMS_SIZE = 32,
    TENSOR_SIZE = 16,
    LAYER_SIZE = 32,
    FLAG_OUTPUTS_AFTER_OUTPUT = 0x04,  // the float outputs follow the int8 output tensor
    FLAGS_KNOWN = 0x07,
    BITMAP_WORDS = (EMLML_CNN_MAX_TENSORS + 31) / 32,
};

// Layer and tensor indices are u16 in the blob, and %L of messages keeps 16 bits of
// the layer index (EMLML_WHERE_LAYER): the configured limits must stay below 65536.
typedef char emlml_cnn_limits_fit_u16[EMLML_CNN_MAX_TENSORS <= 0xFFFFu && EMLML_CNN_MAX_LAYERS <= 0xFFFFu ? 1 : -1];

// A set of tensor indices (< EMLML_CNN_MAX_TENSORS): 64 bytes of stack, no allocation.
typedef struct {
    uint32_t bits[BITMAP_WORDS];
} tensor_set_t;

static void set_clear(tensor_set_t *s) {
    for (int i = 0; i < BITMAP_WORDS; i++) {
        s->bits[i] = 0;
    }
}

static void set_add(tensor_set_t *s, uint32_t t) {
    s->bits[t / 32u] |= 1u << (t % 32u);
}

static void set_remove(tensor_set_t *s, uint32_t t) {
    s->bits[t / 32u] &= ~(1u << (t % 32u));
}

static int set_has(const tensor_set_t *s, uint32_t t) {
    return (s->bits[t / 32u] >> (t % 32u)) & 1u;
}

static uint32_t clamp_u32(uint64_t v) {
    return v > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)v;
}

/******************************************************************************/
// The model: header, CNN_PARAMS, section sizes, tensors

static emlml_status_t need_section(const emlml_section_t *sec, uint32_t id, uint64_t expected, emlml_error_t *err) {
    if (sec->data == NULL) {
        return emlml_fail(err, EMLML_E_SECTION_MISSING, id, 0, 0);
    }
    if (sec->size != expected) {
        return emlml_fail(err, EMLML_E_SECTION_LENGTH, id, sec->size, clamp_u32(expected));
    }
    return EMLML_OK;
}

static int is_positive_finite(float f) {
    uint32_t bits = emlml_f32_bits(f);
    return bits != 0 && bits < 0x7F800000u;  // sign clear, not zero, not inf or NaN
}

static emlml_status_t read_params(emlml_model_t *m, const emlml_section_t *sec, emlml_error_t *err) {
    emlml_cnn_t *cnn = &m->u.cnn;
    emlml_status_t st = need_section(sec, EMLML_SEC_CNN_PARAMS, PARAMS_SIZE, err);
    if (st != EMLML_OK) {
        return st;
    }
    // The section is 4-byte aligned: its fields are read in place, as the layers are.
    const uint8_t *p = sec->data;
    const uint16_t *counts = (const uint16_t *)(const void *)p;
    const uint32_t *words = (const uint32_t *)(const void *)p;
    cnn->n_tensors = counts[0];
    cnn->n_layers = counts[1];
    cnn->input_tensor = counts[2];
    cnn->output_tensor = counts[3];
    cnn->input_scale = emlml_f32_from_bits(words[2]);
    cnn->output_scale = emlml_f32_from_bits(words[3]);
    cnn->tensor_arena_bytes = words[4];
    cnn->flags = p[20];
    if (cnn->n_tensors < 2 || cnn->n_tensors > EMLML_CNN_MAX_TENSORS || cnn->n_layers < 1 || cnn->n_layers > EMLML_CNN_MAX_LAYERS) {
        return emlml_fail(err, EMLML_E_CNN_COUNTS, cnn->n_tensors, cnn->n_layers, 0);
    }
    if (cnn->input_tensor >= cnn->n_tensors || cnn->output_tensor >= cnn->n_tensors ||
        cnn->input_tensor == cnn->output_tensor) {
        return emlml_fail(err, EMLML_E_CNN_IO_TENSORS, cnn->input_tensor, cnn->output_tensor, cnn->n_tensors);
    }
    if (!is_positive_finite(cnn->input_scale)) {
        return emlml_fail(err, EMLML_E_CNN_SCALE, EMLML_NAME_INPUT, 0, 0);
    }
    if (!is_positive_finite(cnn->output_scale)) {
        return emlml_fail(err, EMLML_E_CNN_SCALE, EMLML_NAME_OUTPUT, 0, 0);
    }
    uint32_t reserved = cnn->flags & ~(uint32_t)FLAGS_KNOWN;
    for (int i = 21; i < PARAMS_SIZE; i++) {
        reserved |= p[i];
    }
    if (reserved != 0) {
        return emlml_fail(err, EMLML_E_CNN_FLAGS, cnn->flags, 0, 0);
    }
    return EMLML_OK;
}

// Sections are 4-byte aligned (checked by the blob loader), so the casts are aligned.
static emlml_status_t read_sections(emlml_model_t *m, const emlml_sections_t *s, emlml_error_t *err) {
    emlml_cnn_t *cnn = &m->u.cnn;
    const emlml_section_t *tensors = &s->by_id[EMLML_SEC_CNN_TENSORS];
    const emlml_section_t *layers = &s->by_id[EMLML_SEC_CNN_LAYERS];
    const emlml_section_t *qparams = &s->by_id[EMLML_SEC_CNN_QPARAMS];
    emlml_status_t st = need_section(tensors, EMLML_SEC_CNN_TENSORS, (uint64_t)TENSOR_SIZE * cnn->n_tensors, err);
    if (st != EMLML_OK) {
        return st;
    }
    if ((st = need_section(layers, EMLML_SEC_CNN_LAYERS, (uint64_t)LAYER_SIZE * cnn->n_layers, err)) != EMLML_OK) {
        return st;
    }
    if (qparams->data == NULL) {
        return emlml_fail(err, EMLML_E_SECTION_MISSING, EMLML_SEC_CNN_QPARAMS, 0, 0);
    }
    if (qparams->size % 4u != 0) {
        return emlml_fail(err, EMLML_E_SECTION_SIZE, EMLML_SEC_CNN_QPARAMS, qparams->size, 4);
    }
    cnn->tensors = (const emlml_cnn_tensor_t *)(const void *)tensors->data;
    cnn->layers = (const emlml_cnn_layer_t *)(const void *)layers->data;
    cnn->qparams = (const int32_t *)(const void *)qparams->data;
    cnn->weights = (const int8_t *)(const void *)s->by_id[EMLML_SEC_CNN_WEIGHTS].data;
    return EMLML_OK;
}

// Every tensor lies in the arena or, a constant, in CNN_WEIGHTS (n_weights bytes).
static emlml_status_t check_tensors(const emlml_cnn_t *cnn, uint32_t n_weights, emlml_error_t *err) {
    for (uint32_t i = 0; i < cnn->n_tensors; i++) {
        const emlml_cnn_tensor_t *t = &cnn->tensors[i];
        if (t->h == 0 || t->w == 0 || t->c == 0) {
            return emlml_fail4(err, EMLML_E_CNN_TENSOR_SHAPE, i, t->h, t->w, t->c);
        }
        if (t->flags > EMLML_CNN_TENSOR_CONSTANT) {
            return emlml_fail(err, EMLML_E_CNN_TENSOR_FLAGS, i, t->flags, 0);
        }
        if (t->zero_point < -128 || t->zero_point > 127) {
            return emlml_fail(err, EMLML_E_CNN_TENSOR_ZP, i, (uint32_t)t->zero_point, 0);
        }
        uint32_t space = t->flags ? n_weights : cnn->tensor_arena_bytes;
        if (t->offset > space || (uint32_t)t->h * t->w > (space - t->offset) / t->c) {
            uint64_t end = t->offset + emlml_cnn_size64(t);
            emlml_status_t st = t->flags ? EMLML_E_CNN_CONSTANT_BOUNDS : EMLML_E_CNN_TENSOR_ARENA;
            return emlml_fail4(err, st, i, t->offset, clamp_u32(end), space);
        }
    }
    return EMLML_OK;
}

// n_inputs, n_outputs and the arena of the header against the tensors.
static emlml_status_t check_model_io(emlml_model_t *m, uint32_t *arena_needed, emlml_error_t *err) {
    emlml_cnn_t *cnn = &m->u.cnn;
    if (cnn->tensors[cnn->input_tensor].flags != 0) {  // the input is written into the arena
        return emlml_fail(err, EMLML_E_CNN_IO_TENSORS, cnn->input_tensor, cnn->output_tensor, 0);
    }
    uint32_t n_in = emlml_cnn_size(&cnn->tensors[cnn->input_tensor]);
    uint32_t n_out = emlml_cnn_size(&cnn->tensors[cnn->output_tensor]);
    if (n_in != m->n_inputs) {
        return emlml_fail(err, EMLML_E_CNN_N_INPUTS, m->n_inputs, n_in, 0);
    }
    if (n_out != m->n_outputs) {
        return emlml_fail(err, EMLML_E_CNN_N_OUTPUTS, m->n_outputs, n_out, 0);
    }
    // The n_outputs float32 outputs at a 4-aligned offset: after every int8 tensor, or
    // (flag) right after the output tensor. They are written once the last layer has
    // run, when no tensor but the output is live, so they may lie over the others.
    const emlml_cnn_tensor_t *out = &cnn->tensors[cnn->output_tensor];
    uint64_t after = (cnn->flags & FLAG_OUTPUTS_AFTER_OUTPUT) ? (uint64_t)out->offset + n_out
                                                              : cnn->tensor_arena_bytes;
    uint64_t outputs_offset = (after + 3u) & ~(uint64_t)3u;
    // 4-aligned in all: a pipeline's float buffers follow the CNN's arena
    uint64_t tensors_end = ((uint64_t)cnn->tensor_arena_bytes + 3u) & ~(uint64_t)3u;
    uint64_t needed = outputs_offset + 4u * (uint64_t)m->n_outputs;
    if (needed < tensors_end) {
        needed = tensors_end;
    }
    if (needed > 0xFFFFFFFFu) {
        return emlml_fail(err, EMLML_E_CNN_ARENA_SIZE, cnn->tensor_arena_bytes, 0, 0);
    }
    cnn->outputs_offset = (uint32_t)outputs_offset;
    *arena_needed = (uint32_t)needed;
    return EMLML_OK;
}

/******************************************************************************/
// One layer, checked in the order of the Python reader (emlml_tools/blob.py): op;
// tensor indices; fields the op does not use are 0; activation range; padding,
// strides, dilations, filter; reads and the write; the op's shape rules; weights and
// qparams inside their sections; the qparam values.

// What a layer is: its tensors and the checking context.
typedef struct {
    const emlml_model_t *m;
    emlml_error_t *err;
    uint32_t k;                      // the layer's index
    const emlml_cnn_layer_t *l;
    const emlml_cnn_tensor_t *in;
    const emlml_cnn_tensor_t *in1;   // OPS_TWO_INPUTS only, else NULL
    const emlml_cnn_tensor_t *out;
    uint32_t where;                  // EMLML_WHERE_LAYER(index, op)
    uint32_t n_weights;              // bytes of CNN_WEIGHTS (0 when absent)
    uint32_t n_qparams;              // int32 values of CNN_QPARAMS
} layer_ctx_t;

#define OPS(a, b, c, d) ((1u << (a)) | (1u << (b)) | (1u << (c)) | (1u << (d)))
enum {
    OPS_SPATIAL = OPS(EMLML_CNN_CONV_2D, EMLML_CNN_DEPTHWISE_CONV_2D, EMLML_CNN_MAX_POOL_2D, EMLML_CNN_AVERAGE_POOL_2D) |
                  (1u << EMLML_CNN_TRANSPOSE_CONV),
    OPS_DILATED = OPS(EMLML_CNN_CONV_2D, EMLML_CNN_DEPTHWISE_CONV_2D, EMLML_CNN_CONV_2D, EMLML_CNN_CONV_2D),
    OPS_WEIGHTS = OPS(EMLML_CNN_CONV_2D, EMLML_CNN_DEPTHWISE_CONV_2D, EMLML_CNN_FULLY_CONNECTED, EMLML_CNN_TRANSPOSE_CONV),
    OPS_QPARAMS = OPS_WEIGHTS | OPS(EMLML_CNN_MEAN, EMLML_CNN_ADD, EMLML_CNN_SOFTMAX, EMLML_CNN_MUL) |
                  OPS(EMLML_CNN_SUB, EMLML_CNN_PRELU, EMLML_CNN_SUB, EMLML_CNN_SUB),
    OPS_ACTIVATION = OPS_WEIGHTS | OPS(EMLML_CNN_MAX_POOL_2D, EMLML_CNN_AVERAGE_POOL_2D, EMLML_CNN_ADD, EMLML_CNN_MUL) | (1u << EMLML_CNN_SUB),
    // elementwise on two inputs that broadcast
    OPS_BROADCAST = OPS(EMLML_CNN_MUL, EMLML_CNN_SUB, EMLML_CNN_MAXIMUM, EMLML_CNN_MINIMUM) | (1u << EMLML_CNN_ADD),
    OPS_TWO_INPUTS = OPS_BROADCAST | (1u << EMLML_CNN_CONCATENATION),  // read in1 too
    OPS_PAD = 1u << EMLML_CNN_PAD,
    // elementwise ops that read a 256-entry table (their weights): output = table[x + 128]
    OPS_TABLE = OPS(EMLML_CNN_LOGISTIC, EMLML_CNN_TANH, EMLML_CNN_LEAKY_RELU, EMLML_CNN_HARD_SWISH) | (1u << EMLML_CNN_QUANTIZE),
    OPS_WITH_WEIGHTS_OFFSET = OPS_WEIGHTS | OPS_TABLE | (1u << EMLML_CNN_PRELU),
};
// The masks are bits of op numbers in 32 bits.
typedef char emlml_cnn_ops_fit_mask[EMLML_CNN_OP_MAX < 32 ? 1 : -1];

static int op_in(uint8_t op, uint32_t ops) {
    return (ops >> op) & 1u;
}

// Refuse the layer: err gets the status, the layer (%L) and the numbers. One call
// instead of five stores at each of the forty places (bytes count on a Cortex-M0).
static EMLML_NOINLINE emlml_status_t fail3(const layer_ctx_t *c, emlml_status_t status, uint32_t x, uint32_t y, uint32_t z) {
    return emlml_fail4(c->err, status, c->where, x, y, z);
}

static EMLML_NOINLINE emlml_status_t fail(const layer_ctx_t *c, emlml_status_t status, uint32_t x, uint32_t y) {
    return fail3(c, status, x, y, 0);
}

// A layer field that only some ops use: its byte offset, size and %N name, and the
// ops that use it. Every other op leaves it 0.
typedef struct {
    uint8_t offset;
    uint8_t size;
    uint8_t name;
    uint32_t users;  // an op mask
} field_rule_t;

static uint32_t field_value(const emlml_cnn_layer_t *l, uint32_t offset, uint32_t size) {
    const uint8_t *raw = (const uint8_t *)l;
    return size == 1 ? raw[offset] : size == 2 ? emlml_rd_u16(raw + offset) : emlml_rd_u32(raw + offset);
}

static emlml_status_t check_unused_fields(const layer_ctx_t *c) {
    const emlml_cnn_layer_t *l = c->l;
    static const field_rule_t rules[] = {
        {1, 1, EMLML_NAME_PADDING, OPS_SPATIAL}, {6, 2, EMLML_NAME_IN1, OPS_TWO_INPUTS},
        {10, 1, EMLML_NAME_STRIDE_H, OPS_SPATIAL}, {11, 1, EMLML_NAME_STRIDE_W, OPS_SPATIAL},
        {12, 1, EMLML_NAME_DILATION_H, OPS_DILATED}, {13, 1, EMLML_NAME_DILATION_W, OPS_DILATED},
        {14, 1, EMLML_NAME_FILTER_H, OPS_SPATIAL}, {15, 1, EMLML_NAME_FILTER_W, OPS_SPATIAL},
        {16, 2, EMLML_NAME_PAD_H, OPS_PAD}, {18, 2, EMLML_NAME_PAD_W, OPS_PAD},
        {20, 2, EMLML_NAME_PAD_C, OPS_PAD}, {22, 2, EMLML_NAME_RESERVED, 0},
        {24, 4, EMLML_NAME_WEIGHTS_OFFSET, OPS_WITH_WEIGHTS_OFFSET}, {28, 4, EMLML_NAME_QPARAMS_OFFSET, OPS_QPARAMS},
    };
    for (uint32_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
        uint32_t v = field_value(l, rules[i].offset, rules[i].size);
        if (!op_in(l->op, rules[i].users) && v != 0) {
            return fail(c, EMLML_E_CNN_FIELD_ZERO, rules[i].name, v);
        }
    }
    return EMLML_OK;
}

// Windowed ops: padding 0 or 1; strides, filter and (conv, depthwise) dilations >= 1.
static emlml_status_t check_window_fields(const layer_ctx_t *c) {
    const emlml_cnn_layer_t *l = c->l;
    const uint8_t values[6] = {l->stride_h, l->stride_w, l->filter_h, l->filter_w, l->dilation_h, l->dilation_w};
    static const uint8_t names[6] = {
        EMLML_NAME_STRIDE_H, EMLML_NAME_STRIDE_W, EMLML_NAME_FILTER_H, EMLML_NAME_FILTER_W,
        EMLML_NAME_DILATION_H, EMLML_NAME_DILATION_W,
    };
    if (l->padding > 1) {
        return fail(c, EMLML_E_CNN_PADDING, l->padding, 0);
    }
    uint32_t n = op_in(l->op, OPS_DILATED) ? 6u : 4u;
    for (uint32_t i = 0; i < n; i++) {
        if (values[i] < 1) {
            return fail(c, EMLML_E_CNN_FIELD_MIN1, names[i], 0);
        }
    }
    return EMLML_OK;
}

// Tensor indices, unused fields, activation range, window fields.
static emlml_status_t check_fields(const layer_ctx_t *c) {
    const emlml_cnn_layer_t *l = c->l;
    uint32_t n_tensors = c->m->u.cnn.n_tensors;
    const uint16_t indices[3] = {l->in0, l->in1, l->out};
    for (int i = 0; i < 3; i++) {
        if (indices[i] >= n_tensors) {
            return fail(c, EMLML_E_CNN_TENSOR_INDEX, indices[i], n_tensors);
        }
    }
    emlml_status_t st = check_unused_fields(c);
    if (st != EMLML_OK) {
        return st;
    }
    if (op_in(l->op, OPS_ACTIVATION)) {
        if (l->act_min > l->act_max) {
            return fail(c, EMLML_E_CNN_ACTIVATION, (uint32_t)(int32_t)l->act_min, (uint32_t)(int32_t)l->act_max);
        }
    } else if (l->act_min != -128 || l->act_max != 127) {
        int min_wrong = l->act_min != -128;
        return fail(c, EMLML_E_CNN_NO_ACTIVATION, min_wrong ? EMLML_NAME_ACT_MIN : EMLML_NAME_ACT_MAX,
                          (uint32_t)(int32_t)(min_wrong ? l->act_min : l->act_max));
    }
    return op_in(l->op, OPS_SPATIAL) ? check_window_fields(c) : EMLML_OK;
}

// The layer before k that writes tensor t (t is known to be written).
static uint32_t writer_of(const emlml_cnn_t *cnn, uint32_t k, uint32_t t) {
    uint32_t j = 0;
    while (j < k && cnn->layers[j].out != t) {
        j++;
    }
    return j;
}

// Topological order: every tensor a layer reads is the input, a constant or was written
// before; the output is not the input nor a constant and is written by this layer only.
static emlml_status_t check_dataflow(const layer_ctx_t *c, tensor_set_t *written) {
    const emlml_cnn_t *cnn = &c->m->u.cnn;
    const emlml_cnn_layer_t *l = c->l;
    const uint16_t reads[2] = {l->in0, l->in1};
    int n_reads = op_in(l->op, OPS_TWO_INPUTS) ? 2 : 1;
    for (int i = 0; i < n_reads; i++) {
        if (reads[i] != cnn->input_tensor && !set_has(written, reads[i]) && cnn->tensors[reads[i]].flags == 0) {
            return fail(c, EMLML_E_CNN_UNWRITTEN_READ, reads[i], 0);
        }
    }
    if (l->out == cnn->input_tensor) {
        return fail(c, EMLML_E_CNN_WRITES_INPUT, l->out, 0);
    }
    if (cnn->tensors[l->out].flags != 0) {
        return fail(c, EMLML_E_CNN_WRITES_CONSTANT, l->out, 0);
    }
    if (set_has(written, l->out)) {
        return fail(c, EMLML_E_CNN_WRITTEN_TWICE, l->out, writer_of(cnn, c->k, l->out));
    }
    set_add(written, l->out);
    return EMLML_OK;
}

static emlml_status_t fail_chain(const layer_ctx_t *c) {
    return fail3(c, EMLML_E_CNN_CHAIN, c->out->h, c->out->w, c->out->c);
}

static emlml_status_t fail_zero_points(const layer_ctx_t *c) {
    return fail(c, EMLML_E_CNN_ZP_DIFFERS, (uint32_t)c->out->zero_point, (uint32_t)c->in->zero_point);
}

// Output h and w of a windowed op (TFLite's ComputeOutSize); 0 with err set when a
// VALID window does not fit.
static emlml_status_t window_output(const layer_ctx_t *c, uint32_t *out_h, uint32_t *out_w) {
    const emlml_cnn_layer_t *l = c->l;
    int dilated = op_in(l->op, OPS_DILATED);
    const uint32_t in[2] = {c->in->h, c->in->w};
    const uint32_t filter[2] = {l->filter_h, l->filter_w};
    const uint32_t stride[2] = {l->stride_h, l->stride_w};
    const uint32_t dilation[2] = {dilated ? l->dilation_h : 1u, dilated ? l->dilation_w : 1u};
    uint32_t *out[2] = {out_h, out_w};
    for (int i = 0; i < 2; i++) {
        uint32_t eff = emlml_cnn_effective_filter(filter[i], dilation[i]);
        *out[i] = emlml_cnn_out_size(in[i], stride[i], eff, l->padding);
        if (*out[i] == 0) {
            return fail3(c, EMLML_E_CNN_VALID_WINDOW, eff, (uint32_t)"hw"[i], in[i]);
        }
    }
    return EMLML_OK;
}

// Windowed ops: the output shape the op gives, after its other rules.
static emlml_status_t check_window_shapes(const layer_ctx_t *c) {
    const emlml_cnn_layer_t *l = c->l;
    const emlml_cnn_tensor_t *in = c->in, *out = c->out;
    uint32_t out_h, out_w, out_c = out->c;
    emlml_status_t st = window_output(c, &out_h, &out_w);
    if (st != EMLML_OK) {
        return st;
    }
    if (l->op == EMLML_CNN_CONV_2D) {
        uint32_t products = (uint32_t)l->filter_h * l->filter_w * in->c;
        if (products > EMLML_CNN_MAX_PRODUCTS) {
            return fail(c, EMLML_E_CNN_PRODUCTS, products, 0);
        }
    } else if (l->op == EMLML_CNN_DEPTHWISE_CONV_2D) {
        if (out->c % in->c != 0) {  // fh * fw <= 255 * 255 needs no bound
            return fail(c, EMLML_E_CNN_DW_CHANNELS, out->c, in->c);
        }
    } else {  // pools
        if (out->zero_point != in->zero_point) {
            return fail_zero_points(c);
        }
        out_c = in->c;
    }
    return out->h != out_h || out->w != out_w || out->c != out_c ? fail_chain(c) : EMLML_OK;
}

static emlml_status_t check_pad_shape(const layer_ctx_t *c) {
    const emlml_cnn_layer_t *l = c->l;
    const emlml_cnn_tensor_t *in = c->in, *out = c->out;
    if (out->zero_point != in->zero_point) {
        return fail_zero_points(c);
    }
    const uint32_t sizes[3][3] = {
        {out->h, in->h, l->pad_before_h}, {out->w, in->w, l->pad_before_w}, {out->c, in->c, l->pad_before_c},
    };
    for (int i = 0; i < 3; i++) {
        if (sizes[i][0] < sizes[i][1] + sizes[i][2]) {
            return fail3(c, EMLML_E_CNN_PAD_SIZE, (uint32_t)"hwc"[i], sizes[i][0], sizes[i][1] + sizes[i][2]);
        }
    }
    return EMLML_OK;
}

// CONCATENATION: one quantization for the three tensors (TFLite's int8 kernel requires
// it, so the values are copied unchanged); the output is in0 and in1 joined along the
// one axis where its size differs from in0's, every other axis equal in all three.
static emlml_status_t check_concat_shapes(const layer_ctx_t *c) {
    const emlml_cnn_tensor_t *in = c->in, *in1 = c->in1, *out = c->out;
    if (out->zero_point != in->zero_point) {
        return fail_zero_points(c);
    }
    if (in1->zero_point != out->zero_point) {
        return fail(c, EMLML_E_CNN_ZP_DIFFERS, (uint32_t)out->zero_point, (uint32_t)in1->zero_point);
    }
    const uint32_t a[3] = {in->h, in->w, in->c}, b[3] = {in1->h, in1->w, in1->c}, o[3] = {out->h, out->w, out->c};
    uint32_t axis = 0;
    while (axis < 2u && o[axis] == a[axis]) {
        axis++;
    }
    for (uint32_t i = 0; i < 3u; i++) {
        int fits = i == axis ? o[i] == a[i] + b[i] : o[i] == a[i] && b[i] == a[i];
        if (!fits) {
            return fail_chain(c);
        }
    }
    return EMLML_OK;
}

// ADD, MUL, SUB, MAXIMUM, MINIMUM: along each axis the output has the larger size of the
// two inputs, and each input that size or 1 (broadcast).
static emlml_status_t check_broadcast_shapes(const layer_ctx_t *c) {
    const emlml_cnn_tensor_t *in = c->in, *in1 = c->in1, *out = c->out;
    const uint32_t a[3] = {in->h, in->w, in->c}, b[3] = {in1->h, in1->w, in1->c}, o[3] = {out->h, out->w, out->c};
    for (uint32_t i = 0; i < 3u; i++) {
        uint32_t larger = a[i] > b[i] ? a[i] : b[i];
        if (o[i] != larger || (a[i] != 1u && a[i] != o[i]) || (b[i] != 1u && b[i] != o[i])) {
            return fail_chain(c);
        }
    }
    return EMLML_OK;
}

// TRANSPOSE_CONV: a convolution of `out` with the same window gives `in`'s height and
// width (TFLite pads as for that convolution); every output sums at most
// fh * fw * in.c products.
static emlml_status_t check_transpose_conv_shapes(const layer_ctx_t *c) {
    const emlml_cnn_layer_t *l = c->l;
    const emlml_cnn_tensor_t *in = c->in, *out = c->out;
    uint32_t products = (uint32_t)l->filter_h * l->filter_w * in->c;
    if (products > EMLML_CNN_MAX_PRODUCTS) {
        return fail(c, EMLML_E_CNN_PRODUCTS, products, 0);
    }
    int fits = emlml_cnn_out_size(out->h, l->stride_h, l->filter_h, l->padding) == in->h &&
               emlml_cnn_out_size(out->w, l->stride_w, l->filter_w, l->padding) == in->w;
    return fits ? EMLML_OK : fail_chain(c);
}

// The shape rules of each op (FORMAT.md, Shapes).
static emlml_status_t check_shapes(const layer_ctx_t *c) {
    const emlml_cnn_tensor_t *in = c->in, *out = c->out;
    switch (c->l->op) {
        case EMLML_CNN_CONV_2D:
        case EMLML_CNN_DEPTHWISE_CONV_2D:
        case EMLML_CNN_MAX_POOL_2D:
        case EMLML_CNN_AVERAGE_POOL_2D:
            return check_window_shapes(c);
        case EMLML_CNN_TRANSPOSE_CONV:
            return check_transpose_conv_shapes(c);
        case EMLML_CNN_FULLY_CONNECTED:
            if (emlml_cnn_size(in) > EMLML_CNN_MAX_PRODUCTS) {  // tensors fit the u32 arena: no wrap
                return fail(c, EMLML_E_CNN_PRODUCTS, emlml_cnn_size(in), 0);
            }
            return out->h != 1 || out->w != 1 ? fail_chain(c) : EMLML_OK;
        case EMLML_CNN_MEAN:
            if ((uint32_t)in->h * in->w > EMLML_CNN_MAX_MEAN_CELLS) {  // keeps the int32 sum of raw values exact
                return fail(c, EMLML_E_CNN_MEAN_CELLS, (uint32_t)in->h * in->w, 0);
            }
            return out->h != 1 || out->w != 1 || out->c != in->c ? fail_chain(c) : EMLML_OK;
        case EMLML_CNN_PAD:
            return check_pad_shape(c);
        case EMLML_CNN_SOFTMAX:
            if (out->zero_point != -128) {
                return fail(c, EMLML_E_CNN_SOFTMAX_ZP, (uint32_t)out->zero_point, 0);
            }
            return !emlml_cnn_same_shape(out, in) ? fail_chain(c) : EMLML_OK;
        case EMLML_CNN_CONCATENATION:
            return check_concat_shapes(c);
        case EMLML_CNN_PRELU:
            return !emlml_cnn_same_shape(out, in) ? fail_chain(c) : EMLML_OK;
        case EMLML_CNN_ADD:
        case EMLML_CNN_MUL:
        case EMLML_CNN_SUB:
        case EMLML_CNN_MAXIMUM:
        case EMLML_CNN_MINIMUM:
            return check_broadcast_shapes(c);
        case EMLML_CNN_RESHAPE:
            if (emlml_cnn_size(out) != emlml_cnn_size(in)) {
                return fail(c, EMLML_E_CNN_RESHAPE_SIZE, emlml_cnn_size(out), emlml_cnn_size(in));
            }
            return EMLML_OK;
        default:  // OPS_TABLE: one output value per input value
            return !emlml_cnn_same_shape(out, in) ? fail_chain(c) : EMLML_OK;
    }
}

// Weights of the layer. Below 2^32 once the shapes are checked: conv and transpose
// conv have at most 65535 * 65536, depthwise 65025 * 65535, fully connected 65535 * 65536.
static uint32_t weight_count(const layer_ctx_t *c) {
    const emlml_cnn_layer_t *l = c->l;
    uint32_t taps = (uint32_t)l->filter_h * l->filter_w;
    switch (l->op) {
        case EMLML_CNN_CONV_2D:
        case EMLML_CNN_TRANSPOSE_CONV: return c->out->c * taps * c->in->c;
        case EMLML_CNN_DEPTHWISE_CONV_2D: return taps * c->out->c;
        case EMLML_CNN_FULLY_CONNECTED: return c->out->c * emlml_cnn_size(c->in);
        case EMLML_CNN_PRELU: return emlml_cnn_size(c->out);  // alpha of every output value
        default: return op_in(l->op, OPS_TABLE) ? EMLML_CNN_TABLE_SIZE : 0u;
    }
}

static uint32_t qparam_count(const layer_ctx_t *c) {
    switch (c->l->op) {
        case EMLML_CNN_CONV_2D:
        case EMLML_CNN_DEPTHWISE_CONV_2D:
        case EMLML_CNN_FULLY_CONNECTED:
        case EMLML_CNN_TRANSPOSE_CONV:
            return 3u * c->out->c;  // bias, then multiplier and shift (FC: a binary64 scale)
        case EMLML_CNN_MEAN: return 2;
        case EMLML_CNN_ADD:
        case EMLML_CNN_SUB: return 7;
        case EMLML_CNN_MUL: return 2;
        case EMLML_CNN_PRELU: return 5;
        case EMLML_CNN_SOFTMAX: return 3;
        default: return 0;
    }
}

// A multiplier from TFLite's QuantizeMultiplier is 0 or a Q0.31 value in [0.5, 1).
static int multiplier_ok(int32_t m) {
    return m == 0 || m >= (1 << 30);
}

static int shift_ok(int32_t s, int32_t hi) {
    return s >= -31 && s <= hi;
}

static emlml_status_t fail_qparam(const layer_ctx_t *c, uint32_t name, int32_t value) {
    return fail(c, EMLML_E_CNN_QPARAM, name, (uint32_t)value);
}

// FULLY_CONNECTED rescales each channel by a binary64 scale: finite and >= 0 (-0.0
// included), checked on the bits.
static emlml_status_t check_fc_scales(const layer_ctx_t *c, const int32_t *q) {
    uint32_t n = c->out->c;
    for (uint32_t o = 0; o < n; o++) {
        uint64_t bits = emlml_cnn_f64_bits(q + n + 2u * o);
        int finite = ((bits >> 52) & 0x7FFu) != 0x7FFu;
        int negative = (bits >> 63) != 0 && (bits & 0x7FFFFFFFFFFFFFFFu) != 0;
        if (!finite || negative) {
            return fail(c, EMLML_E_CNN_FC_SCALE, o, 0);
        }
    }
    return EMLML_OK;
}

// Per-channel requantization of conv and depthwise layers.
static emlml_status_t check_channel_qparams(const layer_ctx_t *c, const int32_t *q) {
    uint32_t n = c->out->c;
    for (uint32_t o = 0; o < n; o++) {
        int32_t m = q[n + o], s = q[2u * n + o];
        if (!multiplier_ok(m)) {
            return fail3(c, EMLML_E_CNN_CHANNEL_QPARAM, EMLML_NAME_MULTIPLIER, o, (uint32_t)m);
        }
        if (!shift_ok(s, 30)) {
            return fail3(c, EMLML_E_CNN_CHANNEL_QPARAM, EMLML_NAME_SHIFT, o, (uint32_t)s);
        }
    }
    return EMLML_OK;
}

// MEAN: the division by h * w is folded into the multiplier (TFLite's
// QuantizedMeanOrSum), which may then be below 2^30.
static emlml_status_t check_mean_qparams(const layer_ctx_t *c, const int32_t *q) {
    if (q[0] < 0) {
        return fail_qparam(c, EMLML_NAME_MULTIPLIER, q[0]);
    }
    return shift_ok(q[1], 30) ? EMLML_OK : fail_qparam(c, EMLML_NAME_SHIFT, q[1]);
}

// ADD: left_shift (0..20), then (multiplier, shift <= 0) for input 1, input 2 and the
// output.
static emlml_status_t check_add_qparams(const layer_ctx_t *c, const int32_t *q) {
    if (q[0] < 0 || q[0] > 20) {
        return fail_qparam(c, EMLML_NAME_LEFT_SHIFT, q[0]);
    }
    for (uint32_t i = 1; i < 7; i += 2) {
        uint32_t name = EMLML_NAME_INPUT1_MULTIPLIER + (i - 1u);
        if (!multiplier_ok(q[i])) {
            return fail_qparam(c, name, q[i]);
        }
        if (!shift_ok(q[i + 1], 0)) {
            return fail_qparam(c, name + 1u, q[i + 1]);
        }
    }
    return EMLML_OK;
}

// MUL: one (multiplier, shift) from in0.scale * in1.scale / out.scale.
static emlml_status_t check_mul_qparams(const layer_ctx_t *c, const int32_t *q) {
    if (!multiplier_ok(q[0])) {
        return fail_qparam(c, EMLML_NAME_MULTIPLIER, q[0]);
    }
    return shift_ok(q[1], 30) ? EMLML_OK : fail_qparam(c, EMLML_NAME_SHIFT, q[1]);
}

// PRELU: (multiplier, shift) for x >= 0, then for x * alpha, then alpha's zero point.
static emlml_status_t check_prelu_qparams(const layer_ctx_t *c, const int32_t *q) {
    for (uint32_t i = 0; i < 4u; i += 2u) {
        emlml_status_t st = check_mul_qparams(c, q + i);
        if (st != EMLML_OK) {
            return st;
        }
    }
    if (q[4] < -128 || q[4] > 127) {
        return fail_qparam(c, EMLML_NAME_ALPHA_ZERO_POINT, q[4]);
    }
    return EMLML_OK;
}

// SOFTMAX: the scaled difference (x - max) * 2^input_left_shift fits in int32 for
// every difference at or above diff_min.
static emlml_status_t check_softmax_qparams(const layer_ctx_t *c, const int32_t *q) {
    int32_t left_shift = q[1], diff_min = q[2];
    if (!multiplier_ok(q[0])) {
        return fail_qparam(c, EMLML_NAME_INPUT_MULTIPLIER, q[0]);
    }
    if (left_shift < 0 || left_shift > 31) {
        return fail_qparam(c, EMLML_NAME_INPUT_LEFT_SHIFT, left_shift);
    }
    if (diff_min > 0 || 0u - (uint32_t)diff_min >= 1u << (31 - left_shift)) {  // -diff_min * 2^shift >= 2^31
        return fail_qparam(c, EMLML_NAME_DIFF_MIN, diff_min);
    }
    return EMLML_OK;
}

static emlml_status_t check_qparam_values(const layer_ctx_t *c, const int32_t *q) {
    switch (c->l->op) {
        case EMLML_CNN_CONV_2D:
        case EMLML_CNN_DEPTHWISE_CONV_2D:
        case EMLML_CNN_TRANSPOSE_CONV:
            return check_channel_qparams(c, q);
        case EMLML_CNN_FULLY_CONNECTED: return check_fc_scales(c, q);
        case EMLML_CNN_MEAN: return check_mean_qparams(c, q);
        case EMLML_CNN_ADD:
        case EMLML_CNN_SUB: return check_add_qparams(c, q);
        case EMLML_CNN_MUL: return check_mul_qparams(c, q);
        case EMLML_CNN_PRELU: return check_prelu_qparams(c, q);
        case EMLML_CNN_SOFTMAX: return check_softmax_qparams(c, q);
        default: return EMLML_OK;
    }
}

// Weights and qparams lie inside their sections; the qparams are in range.
static emlml_status_t check_constants(const layer_ctx_t *c) {
    const emlml_cnn_layer_t *l = c->l;
    uint32_t n_weights = weight_count(c);
    if (n_weights > 0 && (n_weights > c->n_weights || l->weights_offset > c->n_weights - n_weights)) {
        uint64_t end = (uint64_t)l->weights_offset + n_weights;
        return fail3(c, EMLML_E_CNN_WEIGHTS_BOUNDS, l->weights_offset, clamp_u32(end), c->n_weights);
    }
    uint32_t n_q = qparam_count(c);
    if (n_q == 0) {
        return EMLML_OK;
    }
    if (n_q > c->n_qparams || l->qparams_offset > c->n_qparams - n_q) {
        uint64_t end = (uint64_t)l->qparams_offset + n_q;
        return fail3(c, EMLML_E_CNN_QPARAMS_BOUNDS, l->qparams_offset, clamp_u32(end), c->n_qparams);
    }
    return check_qparam_values(c, c->m->u.cnn.qparams + l->qparams_offset);
}

static emlml_status_t check_layer(const emlml_model_t *m, const emlml_sections_t *s, uint32_t k, tensor_set_t *written, emlml_error_t *err) {
    const emlml_cnn_t *cnn = &m->u.cnn;
    const emlml_cnn_layer_t *l = &cnn->layers[k];
    if (l->op < 1 || l->op > EMLML_CNN_OP_MAX) {
        return emlml_fail(err, EMLML_E_CNN_OP, k, l->op, 0);
    }
    layer_ctx_t c;
    c.m = m;
    c.err = err;
    c.k = k;
    c.l = l;
    c.where = EMLML_WHERE_LAYER(k, l->op);
    c.n_weights = s->by_id[EMLML_SEC_CNN_WEIGHTS].size;
    c.n_qparams = s->by_id[EMLML_SEC_CNN_QPARAMS].size / 4u;
    emlml_status_t st = check_fields(&c);
    if (st != EMLML_OK || (st = check_dataflow(&c, written)) != EMLML_OK) {
        return st;
    }
    // the indices are checked: the tensors can be looked at
    c.in = &cnn->tensors[l->in0];
    c.in1 = op_in(l->op, OPS_TWO_INPUTS) ? &cnn->tensors[l->in1] : NULL;
    c.out = &cnn->tensors[l->out];
    if ((st = check_shapes(&c)) != EMLML_OK) {
        return st;
    }
    return check_constants(&c);
}

/******************************************************************************/
// The arena plan

static int bytes_overlap(const emlml_cnn_tensor_t *a, const emlml_cnn_tensor_t *b) {
    return a->offset < b->offset + emlml_cnn_size(b) && b->offset < a->offset + emlml_cnn_size(a);
}

// Tensors live at the same time never share a byte. A tensor is live from the layer
// that writes it (the input: from the start) to the last layer that reads it (the
// output: to the end); two live ranges meet exactly when the later one starts inside
// the earlier, so each layer's output is checked against every tensor live at that
// layer. Walking the layers backwards keeps both sets in two bitmaps:
//   born:       the input and the tensors written by layers before k
//   read_later: the tensors read by layer k or after it, and the output
// This also keeps a layer's output off its own inputs.
static emlml_status_t check_lifetimes(const emlml_cnn_t *cnn, const tensor_set_t *written, emlml_error_t *err) {
    tensor_set_t born, read_later;
    set_clear(&read_later);
    for (int i = 0; i < BITMAP_WORDS; i++) {  // a loop, not a struct copy: no memcpy call
        born.bits[i] = written->bits[i];
    }
    set_add(&born, cnn->input_tensor);
    set_add(&read_later, cnn->output_tensor);
    for (uint32_t k = cnn->n_layers; k-- > 0;) {
        const emlml_cnn_layer_t *l = &cnn->layers[k];
        set_remove(&born, l->out);
        set_add(&read_later, l->in0);
        if (op_in(l->op, OPS_TWO_INPUTS)) {
            set_add(&read_later, l->in1);
        }
        const emlml_cnn_tensor_t *out = &cnn->tensors[l->out];
        for (uint32_t t = 0; t < cnn->n_tensors; t++) {
            if (t != l->out && set_has(&born, t) && set_has(&read_later, t) && bytes_overlap(out, &cnn->tensors[t])) {
                uint32_t low = t < l->out ? t : l->out, high = t < l->out ? l->out : t;
                return emlml_fail(err, EMLML_E_CNN_OVERLAP, EMLML_WHERE_LAYER(k, l->op), low, high);
            }
        }
    }
    return EMLML_OK;
}

emlml_status_t emlml_cnn_load(emlml_model_t *m, const emlml_sections_t *s, uint32_t *arena_needed, emlml_error_t *err) {
    const emlml_cnn_t *cnn = &m->u.cnn;
    // int8 input; behind feature steps the window is float32 (checked with the steps)
    // and the steps' features are quantized into the int8 input tensor.
    uint8_t input_type = m->pipe.n_steps != 0 ? (uint8_t)EMLML_INPUT_I8 : m->input_type;
    if (m->task != EMLML_TASK_CLASSIFIER || input_type != EMLML_INPUT_I8) {
        return emlml_fail(err, EMLML_E_CNN_HEADER, m->task, m->input_type, 0);
    }
    emlml_status_t st = read_params(m, &s->by_id[EMLML_SEC_CNN_PARAMS], err);
    if (st != EMLML_OK || (st = read_sections(m, s, err)) != EMLML_OK ||
        (st = check_tensors(cnn, s->by_id[EMLML_SEC_CNN_WEIGHTS].size, err)) != EMLML_OK || (st = check_model_io(m, arena_needed, err)) != EMLML_OK) {
        return st;
    }
    tensor_set_t written;
    set_clear(&written);
    for (uint32_t k = 0; k < cnn->n_layers; k++) {
        if ((st = check_layer(m, s, k, &written, err)) != EMLML_OK) {
            return st;
        }
    }
    if (!set_has(&written, cnn->output_tensor)) {
        return emlml_fail(err, EMLML_E_CNN_OUTPUT_UNWRITTEN, cnn->output_tensor, 0, 0);
    }
    return check_lifetimes(cnn, &written, err);
}

#endif // EMLML_WITH_CNN
