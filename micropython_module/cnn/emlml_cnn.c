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

// Nothing of this file in a build without the CNN family (EMLML_WITH_CNN 0, emlml_config.h).
#if EMLML_WITH_CNN

// Cortex-M0/M0+ (Thumb-1) with GCC: the paths in inline assembly (see requantize_short,
// window3x3); every other target compiles the portable C alone there.
#if defined(__thumb__) && !defined(__thumb2__) && defined(__GNUC__) && !defined(__clang__)
#define EMLML_CNN_THUMB1 1
#endif

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
#if defined(__XTENSA__)
    // MAX then MIN, no branch (lo <= hi, checked at load: the same value)
    v = v < lo ? lo : v;
    return (int8_t)(v > hi ? hi : v);
#else
    return (int8_t)(v < lo ? lo : v > hi ? hi : v);
#endif
}

#ifdef EMLML_CNN_THUMB1
// Cortex-M0/M0+, GCC: requantize's outputs from y on while their shift is <= 0 and
// their accumulator plus bias is in [-2^16, 2^16) (most: see emlml_srdhm_by_multiplier;
// those outside [-2^15, 2^15) with 24 instructions more than the others, in place of
// the C loop: 13% of the sums of 16 random products) and at most to y + n (n >= 1). GCC's code for the C loop spilled its pointers around
// the products (about 60 instructions per output); here 46-48, with the end, out.zp
// and the bounds in high registers. The formulas of the C loop, step by step as their
// C model emlml_mbqm_short (checked by tests_host/c/test_fixedpoint.c): the wrapping
// bias add, the two-product SRDHM, RDBPOT with its branch-free round-up, then the
// out.zp add and clamp_to (lo <= hi, checked at load). The multiplier and shift of an
// output are c4 and 2 * c4 bytes past its bias. Returns how many outputs it wrote.
static inline __attribute__((always_inline)) uint32_t requantize_short(const int32_t *acc, const int32_t *bias, uint32_t c4,
                                                                      int8_t *y, uint32_t n, int32_t zp, int32_t lo,
                                                                      int32_t hi) {
    register int8_t *end __asm__("r8") = y + n;
    register int32_t rzp __asm__("r10") = zp;
    register int32_t rlo __asm__("r11") = lo;
    register int32_t rhi __asm__("r12") = hi;
    int8_t *p = y;
    int32_t a, m, t, u;
    __asm__ volatile(
        ".syntax unified\n"
        "1:\n\t"
        "ldr %[a], [%[acc]]\n\t"
        "ldr %[t], [%[b]]\n\t"
        "adds %[a], %[a], %[t]\n\t"     // acc + bias, wrapping
        "movs %[u], #128\n\t"
        "lsls %[u], %[u], #8\n\t"
        "adds %[u], %[u], %[a]\n\t"
        "lsrs %[u], %[u], #16\n\t"
        "bne 7f\n\t"                     // outside [-2^15, 2^15): the wider SRDHM
        "adds %[t], %[b], %[c4]\n\t"
        "ldr %[m], [%[t]]\n\t"           // multiplier
        "ldr %[t], [%[t], %[c4]]\n\t"    // shift
        "negs %[t], %[t]\n\t"            // right = -shift
        "bmi 9f\n\t"                     // shift > 0: the C loop
        "uxth %[u], %[m]\n\t"            // ml
        "muls %[u], %[a], %[u]\n\t"
        "asrs %[u], %[u], #16\n\t"
        "asrs %[m], %[m], #16\n\t"       // mh
        "muls %[m], %[a], %[m]\n\t"
        "adds %[m], %[m], %[u]\n\t"
        "movs %[u], #1\n\t"
        "lsls %[u], %[u], #14\n\t"
        "adds %[m], %[m], %[u]\n\t"
        "asrs %[m], %[m], #15\n"          // SRDHM
        "8:\n\t"
        "movs %[u], #1\n\t"
        "lsls %[u], %[u], %[t]\n\t"
        "subs %[u], %[u], #1\n\t"        // mask
        "movs %[a], %[m]\n\t"
        "ands %[a], %[a], %[u]\n\t"      // remainder
        "lsrs %[u], %[u], #1\n\t"
        "subs %[u], %[u], %[a]\n\t"
        "lsrs %[a], %[m], #31\n\t"
        "adds %[u], %[u], %[a]\n\t"      // threshold - remainder
        "lsrs %[u], %[u], #31\n\t"       // round up
        "asrs %[m], %[m], %[t]\n\t"
        "adds %[m], %[m], %[u]\n\t"      // RDBPOT
        "add %[m], %[zp]\n\t"
        "cmp %[m], %[lo]\n\t"
        "bge 2f\n\t"
        "mov %[m], %[lo]\n"
        "2:\n\t"
        "cmp %[m], %[hi]\n\t"
        "ble 3f\n\t"
        "mov %[m], %[hi]\n"
        "3:\n\t"
        "strb %[m], [%[y]]\n\t"
        "adds %[acc], %[acc], #4\n\t"
        "adds %[b], %[b], #4\n\t"
        "adds %[y], %[y], #1\n\t"
        "cmp %[y], %[end]\n\t"
        "bne 1b\n\t"
        "b 9f\n"
        "7:\n\t"                         // acc + bias in [-2^16, 2^16) (else the C loop)
        "movs %[u], #1\n\t"
        "lsls %[u], %[u], #16\n\t"
        "adds %[u], %[u], %[a]\n\t"
        "lsrs %[u], %[u], #17\n\t"
        "bne 9f\n\t"
        "adds %[t], %[b], %[c4]\n\t"
        "ldr %[m], [%[t]]\n\t"           // multiplier
        "uxth %[u], %[m]\n\t"
        "lsrs %[u], %[u], #1\n\t"        // ml >> 1
        "muls %[u], %[a], %[u]\n\t"
        "lsls %[t], %[m], #31\n\t"
        "asrs %[t], %[t], #31\n\t"       // -(ml & 1)
        "asrs %[m], %[m], #16\n\t"       // mh
        "muls %[m], %[a], %[m]\n\t"
        "asrs %[a], %[a], #1\n\t"
        "ands %[t], %[t], %[a]\n\t"
        "adds %[u], %[u], %[t]\n\t"
        "asrs %[u], %[u], #15\n\t"       // floor(x * ml / 2^16)
        "adds %[m], %[m], %[u]\n\t"
        "movs %[u], #1\n\t"
        "lsls %[u], %[u], #14\n\t"
        "adds %[m], %[m], %[u]\n\t"
        "asrs %[m], %[m], #15\n\t"       // SRDHM
        "adds %[t], %[b], %[c4]\n\t"
        "ldr %[t], [%[t], %[c4]]\n\t"    // shift
        "negs %[t], %[t]\n\t"            // right = -shift
        "bpl 8b\n"                        // shift > 0: the C loop
        "9:\n\t"
        ".syntax divided"
        : [acc] "+l"(acc), [b] "+l"(bias), [y] "+l"(p), [a] "=&l"(a), [m] "=&l"(m), [t] "=&l"(t), [u] "=&l"(u)
        : [c4] "l"(c4), [end] "r"(end), [zp] "r"(rzp), [lo] "r"(rlo), [hi] "r"(rhi)
        : "cc", "memory");
    return (uint32_t)(p - y);
}
#endif

// The requantized int8 outputs of n int32 accumulators of output channels o, o + 1, ...
// (the end of conv and depthwise): bias, MBQM, out.zp, the fused activation.
// A block at a time, the qparams and bounds looked up once per block, with the
// fixed-point helpers inlined (flatten): their calls were half its cost. The
// multipliers are in [0, 2^31) (checked at load): on a Cortex-M0 the SRDHM then
// needs no 64-bit library multiply (emlml_mbqm_by_multiplier, the same bits), and
// the outputs that requantize_short takes skip this loop.
#if defined(__XTENSA__)
// The first instruction of a LOOP body must not cross a 4-byte fetch boundary (an
// architectural rule: GNU as pads for it, LLVM 22's assembler does not): the LOOP is
// placed at 1 mod 4, so its 3-byte body starts at 0 mod 4; a jump steps over the pad.
#define EMLML_XTENSA_LOOP(count, end) \
    "j 3f\n\t"                        \
    ".balign 4\n\t"                   \
    ".byte 0\n"                        \
    "3:\n\t"                          \
    "loop %[" count "], " end "\n\t"

// ESP32: the same values as the portable loop below, in a LOOP with everything in
// registers (LLVM's loop spilled out.zp and hi, loaded 2^29 from the literal pool and
// closed with a branch: 43 instructions per output; here 36). The multiplier and shift
// of an output are c4 and 2 * c4 bytes past its bias. The SRDHM's rounding term
// ((lo >> 1) + 2^29) >> 30 is taken as lo's bit 31 plus its bit 30 (no constant
// register; its C model emlml_srdhm_from_halves_bits, checked in test_fixedpoint.c);
// then emlml_rdbpot's steps (mask, threshold - remainder's top bit), out.zp, MAX, MIN.
static EMLML_NOINLINE void requantize(const layer_run_t *r, const int32_t *acc, uint32_t o, uint32_t n, int8_t *y) {
    const uint32_t c4 = 4u * r->out->c;
    const int32_t *bias = r->q + o;
    const int32_t zp = r->out->zero_point, lo = r->l->act_min, hi = r->l->act_max, zero = 0, ones = -1;
    int32_t x, t, m;
    if (n == 0) {
        return;  // a LOOP of 0 runs 2^32 times
    }
    __asm__ volatile(
        EMLML_XTENSA_LOOP("n", "2f")
        "l32i %[x], %[acc], 0\n\t"
        "l32i %[t], %[b], 0\n\t"
        "add %[x], %[x], %[t]\n\t"      // acc + bias (wrapping)
        "add %[t], %[b], %[c4]\n\t"
        "l32i %[m], %[t], 0\n\t"        // multiplier
        "add %[t], %[t], %[c4]\n\t"
        "l32i %[n], %[t], 0\n\t"        // shift (n is free once the LOOP started)
        "max %[t], %[n], %[zero]\n\t"   // left = max(shift, 0)
        "ssl %[t]\n\t"
        "sll %[x], %[x]\n\t"
        "sub %[n], %[t], %[n]\n\t"      // right = left - shift
        "mull %[t], %[x], %[m]\n\t"
        "mulsh %[x], %[x], %[m]\n\t"
        "extui %[m], %[t], 31, 1\n\t"
        "extui %[t], %[t], 30, 1\n\t"
        "addx2 %[x], %[x], %[m]\n\t"
        "add %[x], %[x], %[t]\n\t"      // SRDHM
        "ssl %[n]\n\t"
        "sll %[t], %[ones]\n\t"
        "xor %[t], %[t], %[ones]\n\t"   // mask = 2^right - 1
        "and %[m], %[x], %[t]\n\t"      // remainder
        "srli %[t], %[t], 1\n\t"
        "sub %[t], %[t], %[m]\n\t"
        "extui %[m], %[x], 31, 1\n\t"
        "add %[t], %[t], %[m]\n\t"      // threshold - remainder
        "extui %[t], %[t], 31, 1\n\t"   // round up
        "ssr %[n]\n\t"
        "sra %[x], %[x]\n\t"
        "add %[x], %[x], %[t]\n\t"      // RDBPOT
        "add %[x], %[x], %[zp]\n\t"
        "max %[x], %[x], %[lo]\n\t"
        "min %[x], %[x], %[hi]\n\t"
        "s8i %[x], %[y], 0\n\t"
        "addi %[acc], %[acc], 4\n\t"
        "addi %[b], %[b], 4\n\t"
        "addi %[y], %[y], 1\n"
        "2:"
        : [acc] "+r"(acc), [b] "+r"(bias), [y] "+r"(y), [n] "+r"(n), [x] "=&r"(x), [t] "=&r"(t), [m] "=&r"(m)
        : [c4] "r"(c4), [zp] "r"(zp), [lo] "r"(lo), [hi] "r"(hi), [zero] "r"(zero), [ones] "r"(ones)
        : "memory");
}
#elif !(defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP)
__attribute__((flatten))
static EMLML_NOINLINE void requantize(const layer_run_t *r, const int32_t *acc, uint32_t o, uint32_t n, int8_t *y) {
    const uint32_t c = r->out->c;
    const int32_t *bias = r->q + o, *multiplier = r->q + c + o, *shift = r->q + 2u * c + o;
    const int32_t zp = r->out->zero_point, lo = r->l->act_min, hi = r->l->act_max;
    for (uint32_t j = 0; j < n; j++) {
#ifdef EMLML_CNN_THUMB1
        j += requantize_short(acc + j, bias + j, 4u * c, y + j, n - j, zp, lo, hi);
        if (j == n) {
            break;
        }
#endif
        int32_t scaled = emlml_mbqm_by_multiplier(emlml_wrap_add(acc[j], bias[j]), multiplier[j], shift[j]);
        y[j] = clamp_to(emlml_wrap_add(scaled, zp), lo, hi);
    }
}
#else
// Cortex-M4/M7/M33 (DSP): the same values, through emlml_mbqm_small (SMMULR and a
// mask-free RDBPOT) when x * 2^left is in [-2^30, 2^30), which is nearly always; the
// 64-bit product out of line otherwise, so that it takes no registers from the loop.
static EMLML_NOINLINE int32_t mbqm_wide(int32_t x, int32_t multiplier, int32_t shift) {
    return emlml_mbqm_by_multiplier(x, multiplier, shift);
}

static EMLML_NOINLINE void requantize(const layer_run_t *r, const int32_t *acc, uint32_t o, uint32_t n, int8_t *y) {
    const uint32_t c = r->out->c;
    const int32_t *bias = r->q + o, *multiplier = r->q + c + o, *shift = r->q + 2u * c + o;
    const int32_t zp = r->out->zero_point, lo = r->l->act_min, hi = r->l->act_max;
    for (uint32_t j = 0; j < n; j++) {
        const int32_t x = emlml_wrap_add(acc[j], bias[j]), s = shift[j];
        int32_t v = __builtin_expect(emlml_mbqm_fits_small(x, s), 1) ? emlml_mbqm_small(x, multiplier[j], s)
                                                                       : mbqm_wide(x, multiplier[j], s);
        v = emlml_wrap_add(v, zp);
        v = v < lo ? lo : v;
        y[j] = (int8_t)(v > hi ? hi : v);
    }
}

// requantize for one output channel o at n output positions: the sums acc[0], acc[4],
// acc[8], ... (a block of 4 channels' sums per position) to y[0], y[c], y[2c], ...
// (c = out.c), the channel's parameters in registers for the n positions
// (conv_1x1_dsp's loop order). requantize_run takes the positions whose x * 2^left is in
// [-2^30, 2^30) (ADDS of x to itself overflows exactly outside it) and stops at the
// first other one, which takes mbqm_wide. The steps of emlml_mbqm_small: SMMULR(2x, m),
// then u = 2h + (h >> 31), ((u >> right) + 1) >> 1, then out.zp and the clamp. 22 instructions
// per output (GCC's loop from the same C: 28, its parameters spilled
// around the out-of-line call).
typedef struct {
    int32_t bias, multiplier, left, right, zp, lo, hi;
    uint32_t y_step;
} channel_rq_t;

// Returns the end of the sums done: end, or the sum that does not fit.
static EMLML_NOINLINE const int32_t *requantize_run(const int32_t *acc, const int32_t *end, int8_t **y_at, const channel_rq_t *p) {
    int8_t *y = *y_at;
    int32_t x, v;
    __asm__ volatile(
        "1:\n\t"
        "ldr %[x], [%[acc]], #16\n\t"
        "add %[x], %[x], %[bias]\n\t"
        "lsl %[x], %[x], %[left]\n\t"
        "adds %[x], %[x], %[x]\n\t"
        "bvs 2f\n\t"
        "smmulr %[x], %[x], %[m]\n\t"
        "asr %[v], %[x], #31\n\t"
        "add %[v], %[v], %[x], lsl #1\n\t"
        "asr %[v], %[v], %[right]\n\t"
        "add %[v], %[v], #1\n\t"
        "add %[v], %[zp], %[v], asr #1\n\t"
        "cmp %[v], %[lo]\n\t"
        "it lt\n\t"
        "movlt %[v], %[lo]\n\t"
        "cmp %[v], %[hi]\n\t"
        "it gt\n\t"
        "movgt %[v], %[hi]\n\t"
        "strb %[v], [%[y]]\n\t"
        "add %[y], %[y], %[step]\n\t"
        "cmp %[acc], %[end]\n\t"
        "bne 1b\n\t"
        "b 3f\n"
        "2:\n\t"
        "sub %[acc], %[acc], #16\n"  // back at the sum that does not fit
        "3:"
        : [acc] "+r"(acc), [y] "+r"(y), [x] "=&r"(x), [v] "=&r"(v)
        : [end] "r"(end), [bias] "r"(p->bias), [m] "r"(p->multiplier), [left] "r"(p->left), [right] "r"(p->right),
          [zp] "r"(p->zp), [lo] "r"(p->lo), [hi] "r"(p->hi), [step] "r"(p->y_step)
        : "cc", "memory");
    *y_at = y;
    return acc;
}

static EMLML_NOINLINE void requantize_channel(const layer_run_t *r, const int32_t *acc, uint32_t o, uint32_t n, int8_t *y) {
    const uint32_t c = r->out->c;
    channel_rq_t p;
    p.bias = r->q[o];
    p.multiplier = r->q[c + o];
    const int32_t shift = r->q[2u * c + o];
    p.left = shift > 0 ? shift : 0;
    p.right = p.left - shift;
    p.zp = r->out->zero_point;
    p.lo = r->l->act_min;
    p.hi = r->l->act_max;
    p.y_step = c;
    for (const int32_t *end = acc + 4u * n; acc != end;) {
        acc = requantize_run(acc, end, &y, &p);
        if (acc != end) {  // outside [-2^30, 2^30) after the left shift: the 64-bit product
            int32_t v = emlml_wrap_add(mbqm_wide(emlml_wrap_add(*acc, p.bias), p.multiplier, shift), p.zp);
            v = v < p.lo ? p.lo : v;
            *y = (int8_t)(v > p.hi ? p.hi : v);
            y += c;
            acc += 4;
        }
    }
}
#endif

/******************************************************************************/
// Windows: the filter taps of one output position that fall inside the input

typedef struct {
    int32_t origin;     // input coordinate of tap 0 (may be negative)
    uint32_t first;     // first tap inside the input
    uint32_t end;       // one past the last tap inside the input
} taps_t;

// n / d, without the division when d is 1 (no dilation, the common case): a Cortex-M0
// has no divide instruction, and the library call costs tens of instructions per
// output position of every windowed layer.
static uint32_t divide_by(uint32_t n, uint32_t d) {
    return d == 1u ? n : n / d;
}

// Taps t with 0 <= origin + t * dilation < size, among 0 <= t < filter. Taps outside
// the input are skipped, never read and never counted (TFLite's padding).
static taps_t taps_inside(int32_t origin, uint32_t dilation, uint32_t filter, uint32_t size) {
    taps_t t;
    t.origin = origin;
    t.first = origin >= 0 ? 0u : divide_by((uint32_t)-origin + dilation - 1u, dilation);
    int32_t room = (int32_t)size - 1 - origin;  // largest t * dilation still inside
    uint32_t last_plus_one = room < 0 ? 0u : divide_by((uint32_t)room, dilation) + 1u;
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
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    // Cortex-M4: a word at a time (unaligned loads and stores are single instructions
    // there, as load4's): 5 instructions per word instead of about 5 per byte, for the
    // input copy of every predict call (mnist's 784 bytes: 3,300 instructions fewer).
    for (const int8_t *words_end = x + (n & ~3u); x != words_end; x += 4, y += 4) {
        uint32_t v;
        __builtin_memcpy(&v, x, 4);
        __builtin_memcpy(y, &v, 4);
    }
    n &= 3u;
#endif
    for (uint32_t i = 0; i < n; i++) {
        y[i] = x[i];
    }
}

// The hot loop of conv and fully connected: the sums of (x - zp) * w over n values for
// EMLML_CNN_BLOCK output channels at once, added to acc[]: the weights of channel j
// start at w + j * w_step. Each input value is loaded once for the whole block (the
// x of one output position is shared by every output channel). Out of line on
// purpose: inlined into the kernels it loses its registers to theirs (a Cortex-M
// then spills on every multiply-accumulate). n >= 1 (a tensor has at least one
// channel), n <= 65536; the loader bounds each channel's sum inside int32, so the
// order of the additions does not change it.
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>

// Cortex-M4/M7/M33: four output channels, four int8 per 32-bit load (unaligned
// loads are fine there), SMLAD for two products per instruction. x - zp is in
// [-255, 255]: exact in each 16-bit half, so SXTAB16 and SMLAD give the products
// of the portable loop (about 2 instructions per MAC instead of 5). Every partial
// sum is a sum of at most 65536 products of magnitude <= 255 * 128 < 2^31 / 65536,
// so no order of the additions overflows.
#define EMLML_CNN_BLOCK 4u

static inline uint32_t load4(const int8_t *p) {
    uint32_t v;
    __builtin_memcpy(&v, p, 4);  // one LDR, never a call
    return v;
}

// Values 1 and 3 of v sign-extended to 16 bits (SXTB16 with ROR #8: one instruction;
// GCC's __sxtb16 has no rotation and would spend a second one on it).
static inline int16x2_t sxtb16_odd(uint32_t v) {
    int16x2_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

// Values 0 and 2 of v.
static inline int16x2_t sxtb16_even(uint32_t v) {
    return __sxtb16((int8x4_t)v);
}

// -zp in both 16-bit halves, for minus_zp_plus_*.
static inline int16x2_t minus_zp2(int32_t zp) {
    return (int16x2_t)(((uint32_t)-zp & 0xFFFFu) * 0x10001u);
}

// Values 0 and 2 (1 and 3) of v sign-extended, minus the zero point, in one SXTAB16:
// each half is x - zp in [-255, 255], exact in 16 bits (SXTB16 then SSUB16 took two).
static inline int16x2_t minus_zp_plus_even(int16x2_t neg_zp2, uint32_t v) {
    return __sxtab16(neg_zp2, (int8x4_t)v);
}

static inline int16x2_t minus_zp_plus_odd(int16x2_t neg_zp2, uint32_t v) {
    int16x2_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(neg_zp2), "r"(v));
    return r;
}

// Register pressure decides the speed here (13 registers hold the loop): the four
// weight rows are reached from two pointers and one step, loaded with register offsets.
static inline __attribute__((always_inline)) void dot_block_body(int32_t *acc, const int8_t *x, const int8_t *w, uint32_t w_step, uint32_t n, int32_t zp) {
    const int8_t *w2 = w + 2u * w_step;  // channels 2 and 3
    const int8_t *x_end = x + (n & ~3u);
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    const int16x2_t neg_zp2 = minus_zp2(zp);
    while (x != x_end) {
        uint32_t xv = load4(x);
        int16x2_t xe = minus_zp_plus_even(neg_zp2, xv);
        int16x2_t xo = minus_zp_plus_odd(neg_zp2, xv);
        uint32_t v = load4(w);
        a0 = __smlad(xo, sxtb16_odd(v), __smlad(xe, sxtb16_even(v), a0));
        v = load4(w + w_step);
        a1 = __smlad(xo, sxtb16_odd(v), __smlad(xe, sxtb16_even(v), a1));
        v = load4(w2);
        a2 = __smlad(xo, sxtb16_odd(v), __smlad(xe, sxtb16_even(v), a2));
        v = load4(w2 + w_step);
        a3 = __smlad(xo, sxtb16_odd(v), __smlad(xe, sxtb16_even(v), a3));
        x += 4;
        w += 4;
        w2 += 4;
    }
    for (uint32_t rest = n % 4u; rest != 0; rest--) {
        int32_t v = *x++ - zp;
        a0 += v * w[0];
        a1 += v * w[w_step];
        a2 += v * w2[0];
        a3 += v * w2[w_step];
        w++;
        w2++;
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

// The window of one output position staged as SMLAD operands, shared by all output
// channels: per 4 input values v0..v3 the words (v0 - zp, v2 - zp) and (v1 - zp,
// v3 - zp) as int16 pairs. The dot product then needs no extension of x and no
// zero point (about 1.4 instructions per MAC instead of 1.7 plus the loop's spills).
// For windows of at most WINDOW_VALUES values with a multiple of 4 channels.
#define WINDOW_VALUES 512u

// Stages n > 0 values (a multiple of 4) of x at buf; returns the end of what it wrote.
static EMLML_NOINLINE uint32_t *stage_pairs(uint32_t *buf, const int8_t *x, uint32_t n, int32_t zp) {
    const int16x2_t neg_zp2 = minus_zp2(zp);
    uint32_t *const end = buf + n / 2u;
    do {
        uint32_t xv = load4(x);
        buf[0] = (uint32_t)minus_zp_plus_even(neg_zp2, xv);
        buf[1] = (uint32_t)minus_zp_plus_odd(neg_zp2, xv);
        buf += 2;
        x += 4;
    } while (buf != end);
    return buf;
}

// One weight word (4 int8 of a channel, loaded by `load`) times the staged pairs xe, xo
// into the sum `acc`: SXTB16 splits it into the odd and even halves SMLAD takes.
#define DOT_PAIRS_WORD(load, acc) \
    load "\n\t" \
    "sxtb16 %[t], %[v], ror #8\n\t" \
    "sxtb16 %[v], %[v]\n\t" \
    "smlad %[" acc "], %[xe], %[v], %[" acc "]\n\t" \
    "smlad %[" acc "], %[xo], %[t], %[" acc "]\n\t"

// As dot_block, over n > 0 staged values (a multiple of 4), for `blocks` blocks of 4
// channels one after the other (block b: acc[4b..4b+3], weights from w + 4b * w_step):
// one call for a chunk of channels, not one per block. The loop is written out: GCC's
// allocation of the same C (13 live registers) steps three pointers and compares apart
// from the loads (25 instructions per 16 MACs); here the weight loads post-increment (23
// per 16 MACs, about 1.44 per MAC). Same operations as dot_block.
static EMLML_NOINLINE void dot_pairs(int32_t *acc, const uint32_t *xb, const int8_t *w, uint32_t w_step, uint32_t n, uint32_t blocks) {
    const uint32_t *const xb_end = xb + n / 2u;
    for (uint32_t b = 0; b < blocks; b++, acc += 4) {
        const uint32_t *x = xb;
        const int8_t *w0 = w + 4u * b * w_step, *w2 = w0 + 2u * w_step;  // channels 0, 1 and 2, 3
        int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
        uint32_t xe, xo, v, t;
        __asm__ volatile(
            "1:\n\t"
            "ldrd %[xe], %[xo], [%[xb]], #8\n\t"
            DOT_PAIRS_WORD("ldr %[v], [%[w], %[s]]", "a1") DOT_PAIRS_WORD("ldr %[v], [%[w]], #4", "a0")
            DOT_PAIRS_WORD("ldr %[v], [%[w2], %[s]]", "a3") DOT_PAIRS_WORD("ldr %[v], [%[w2]], #4", "a2")
            "cmp %[xb], %[end]\n\t"
            "bne 1b"
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [xb] "+r"(x), [w] "+r"(w0),
              [w2] "+r"(w2), [xe] "=&r"(xe), [xo] "=&r"(xo), [v] "=&r"(v), [t] "=&r"(t)
            : [s] "r"(w_step), [end] "r"(xb_end)
            : "cc", "memory");
        acc[0] = a0;
        acc[1] = a1;
        acc[2] = a2;
        acc[3] = a3;
    }
}
#undef DOT_PAIRS_WORD
#define EMLML_CNN_STAGED 1
#elif defined(__XTENSA__)
// ESP32 (Xtensa LX6): no SIMD, no signed byte load (L8UI then SEXT), no register-offset
// addressing; 16 registers in the call window. Four output channels per pass share
// each x - zp (three instructions) and spend four on each product (load, SEXT, MULL,
// ADD); two input values per pass so that the five pointers step once per two (the
// loads use offsets 0 and 1). LLVM does not emit the zero-overhead LOOP, so the loop
// is written out with it: about 5.4 instructions per MAC (the portable two-channel
// C loop: 8). The same int32 products and sums as that loop (the loader bounds them).
// Out of line (one copy for dot_block and dot_blocks: the module's size budget).
#define EMLML_CNN_BLOCK 4u

static EMLML_NOINLINE void dot_block_body(int32_t *acc, const int8_t *x, const int8_t *w, uint32_t w_step, uint32_t n, int32_t zp) {
    const int8_t *w1 = w + w_step, *w2 = w1 + w_step, *w3 = w2 + w_step;
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    uint32_t pairs = n / 2u;
    int32_t v, t;
    if (pairs != 0) {
// One input value (offset 0 or 1 from x) times the four channels' weights.
#define EMLML_DOT_VALUE(offset)                                   \
    "l8ui %[v], %[x], " #offset "\n\t"                           \
    "sext %[v], %[v], 7\n\t"                                     \
    "sub %[v], %[v], %[zp]\n\t"                                  \
    EMLML_DOT_PRODUCT(a0, w0, offset) EMLML_DOT_PRODUCT(a1, w1, offset) \
    EMLML_DOT_PRODUCT(a2, w2, offset) EMLML_DOT_PRODUCT(a3, w3, offset)
#define EMLML_DOT_PRODUCT(acc_reg, w_reg, offset)                 \
    "l8ui %[t], %[" #w_reg "], " #offset "\n\t"                  \
    "sext %[t], %[t], 7\n\t"                                     \
    "mull %[t], %[t], %[v]\n\t"                                  \
    "add %[" #acc_reg "], %[" #acc_reg "], %[t]\n\t"
        __asm__ volatile(
            EMLML_XTENSA_LOOP("n", "2f")
            EMLML_DOT_VALUE(0) EMLML_DOT_VALUE(1)
            "addi %[x], %[x], 2\n\t"
            "addi %[w0], %[w0], 2\n\t"
            "addi %[w1], %[w1], 2\n\t"
            "addi %[w2], %[w2], 2\n\t"
            "addi %[w3], %[w3], 2\n"
            "2:"
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x), [w0] "+r"(w),
              [w1] "+r"(w1), [w2] "+r"(w2), [w3] "+r"(w3), [v] "=&r"(v), [t] "=&r"(t)
            : [n] "r"(pairs), [zp] "r"(zp)
            : "memory");
#undef EMLML_DOT_VALUE
#undef EMLML_DOT_PRODUCT
    }
    if (n % 2u != 0) {
        v = x[0] - zp;
        a0 += v * w[0];
        a1 += v * w1[0];
        a2 += v * w2[0];
        a3 += v * w3[0];
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}
#else
// Portable: two output channels, so that a Cortex-M0 keeps everything in its eight
// low registers. One index runs from -n up to 0 over all arrays.
#define EMLML_CNN_BLOCK 2u

static inline __attribute__((always_inline)) void dot_block_body(int32_t *acc, const int8_t *x, const int8_t *w, uint32_t w_step, uint32_t n, int32_t zp) {
    const int8_t *x_end = x + n, *w0_end = w + n, *w1_end = w + w_step + n;
    int32_t a0 = acc[0], a1 = acc[1];
    int32_t i = -(int32_t)n;
#if defined(__thumb__) && !defined(__thumb2__) && defined(__GNUC__) && !defined(__clang__)
    // Cortex-M0/M0+ (Thumb-1), GCC: the loop below in C needs nine registers, GCC spills
    // one and reloads it on every pass (13 instructions per two MACs). Here the eight
    // low registers hold the pointers, the index, the sums and two values, and -zp sits
    // in a high register (ADD reads any register): 10 instructions per two MACs. The
    // same arithmetic as the C loop (int32 products and sums; LDRSB sign-extends).
    int32_t neg_zp = -zp;
    int32_t v, p;
    __asm__ volatile(
        ".syntax unified\n"  // GCC hands Thumb-1 inline asm the divided syntax
        "1:\n\t"
        "ldrsb %[v], [%[x], %[i]]\n\t"
        "add %[v], %[nz]\n\t"
        "ldrsb %[p], [%[w0], %[i]]\n\t"
        "muls %[p], %[v], %[p]\n\t"
        "adds %[a0], %[a0], %[p]\n\t"
        "ldrsb %[p], [%[w1], %[i]]\n\t"
        "muls %[p], %[v], %[p]\n\t"
        "adds %[a1], %[a1], %[p]\n\t"
        "adds %[i], %[i], #1\n\t"
        "bne 1b\n\t"
        ".syntax divided"
        : [a0] "+l"(a0), [a1] "+l"(a1), [i] "+l"(i), [v] "=&l"(v), [p] "=&l"(p)
        : [x] "l"(x_end), [w0] "l"(w0_end), [w1] "l"(w1_end), [nz] "h"(neg_zp)
        : "cc", "memory");
#else
    do {
        int32_t v = x_end[i] - zp;
        a0 += v * w0_end[i];
        a1 += v * w1_end[i];
    } while (++i != 0);
#endif
    acc[0] = a0;
    acc[1] = a1;
}
#endif

static EMLML_NOINLINE void dot_block(int32_t *acc, const int8_t *x, const int8_t *w, uint32_t w_step, uint32_t n, int32_t zp) {
    dot_block_body(acc, x, w, w_step, n, zp);
}

// dot_block for `blocks` blocks of channels one after the other (block b: its sums at
// acc + b * EMLML_CNN_BLOCK, its weights from w + b * EMLML_CNN_BLOCK * w_step): one
// call, and none of the caller's loop, per chunk of a conv's channels.
#ifdef EMLML_CNN_THUMB1
// Cortex-M0/M0+ (Thumb-1), GCC: dot_block_body for `pairs` (>= 1) pairs of blocks, 4
// output channels a pass: acc[k] += sum((x[i] - zp) * w[k * w_step + i]) over i < n
// (n >= 1), k < 4 * pairs. Each input value is loaded once for four products: 16
// instructions per four MACs (LDRSB, ADD -zp, then LDRSB, MULS, ADD per channel, ADDS,
// BNE) against 10 per two in dot_block_body, and one call per chunk of channels (a call
// per pair cost 60 instructions, here 32 per pair). The eight low registers hold x, the
// four weight rows, the index, the value and the product; the four sums sit in r8-r11,
// -zp in r12 and acc in lr, w_step in zp's stack slot; so the function is naked: it
// saves r8-r11 itself. The same int32 products and sums as the C loop (LDRSB
// sign-extends; the loader bounds the sums). AAPCS: acc r0, x r1, w r2, w_step r3, n,
// zp and pairs on the stack (36, 40 and 44 bytes up after the nine pushed words).
__attribute__((naked, noinline)) static void dot_block4(int32_t *acc, const int8_t *x, const int8_t *w, uint32_t w_step,
                                                        uint32_t n, int32_t zp, uint32_t pairs) {
#define D4_SUM(reg, off) "ldrsb r7, [" reg ", r0]\n\t" \
    "muls r7, r6, r7\n\t" \
    "add " off ", r7\n\t"
#define D4_MOVE(op, hi, off) "mov r7, " hi "\n\t" \
    op " r7, [r6, #" off "]\n\t"
#define D4_LOAD(hi, off) "ldr r7, [r6, #" off "]\n\t" \
    "mov " hi ", r7\n\t"
    __asm__ volatile(
        ".syntax unified\n\t"
        "push {r4-r7, lr}\n\t"
        "mov r4, r8\n\t"
        "mov r5, r9\n\t"
        "mov r6, r10\n\t"
        "mov r7, r11\n\t"
        "push {r4-r7}\n\t"
        "mov lr, r0\n\t"          // acc
        "ldr r0, [sp, #36]\n\t"   // n
        "ldr r4, [sp, #40]\n\t"   // zp
        "negs r4, r4\n\t"
        "mov r12, r4\n\t"         // -zp
        "str r3, [sp, #40]\n\t"   // w_step, in zp's slot
        "adds r1, r1, r0\n\t"     // the ends of x and of the first weight row
        "adds r2, r2, r0\n"
        "2:\n\t"                   // a pair of blocks: the ends of its other three rows
        "ldr r0, [sp, #40]\n\t"
        "adds r4, r2, r0\n\t"
        "adds r5, r4, r0\n\t"
        "adds r3, r5, r0\n\t"
        "ldr r0, [sp, #36]\n\t"
        "negs r0, r0\n\t"         // i = -n, up to 0
        "mov r6, lr\n\t"
        D4_LOAD("r8", "0") D4_LOAD("r9", "4") D4_LOAD("r10", "8") D4_LOAD("r11", "12")
        "1:\n\t"
        "ldrsb r6, [r1, r0]\n\t"
        "add r6, r12\n\t"
        D4_SUM("r2", "r8") D4_SUM("r4", "r9") D4_SUM("r5", "r10") D4_SUM("r3", "r11")
        "adds r0, r0, #1\n\t"
        "bne 1b\n\t"
        "mov r6, lr\n\t"
        D4_MOVE("str", "r8", "0") D4_MOVE("str", "r9", "4") D4_MOVE("str", "r10", "8") D4_MOVE("str", "r11", "12")
        "adds r6, r6, #16\n\t"
        "mov lr, r6\n\t"
        "ldr r0, [sp, #40]\n\t"
        "adds r2, r3, r0\n\t"     // the next pair's first row
        "ldr r0, [sp, #44]\n\t"
        "subs r0, r0, #1\n\t"
        "str r0, [sp, #44]\n\t"
        "bne 2b\n\t"
        "pop {r4-r7}\n\t"
        "mov r8, r4\n\t"
        "mov r9, r5\n\t"
        "mov r10, r6\n\t"
        "mov r11, r7\n\t"
        "pop {r4-r7, pc}\n\t"
        ".syntax divided");
#undef D4_SUM
#undef D4_MOVE
#undef D4_LOAD
}
#endif

static EMLML_NOINLINE void dot_blocks(int32_t *acc, const int8_t *x, const int8_t *w, uint32_t w_step, uint32_t n, int32_t zp, uint32_t blocks) {
    uint32_t b = 0;
#ifdef EMLML_CNN_THUMB1
    if (blocks >= 2u) {  // the pairs of blocks in one call (see dot_block4)
        dot_block4(acc, x, w, w_step, n, zp, blocks / 2u);
        b = blocks & ~1u;
    }
#endif
    for (; b < blocks; b++) {
        dot_block_body(acc + b * EMLML_CNN_BLOCK, x, w + b * EMLML_CNN_BLOCK * w_step, w_step, n, zp);
    }
}

// Conv's sums are requantized CONV_CHUNK output channels at a time (one call per chunk:
// per block of channels its fixed cost was a tenth of a 1x1 conv's time on a Cortex-M0).
// acc[] has a block more: a last single channel's block writes EMLML_CNN_BLOCK sums.
#define CONV_CHUNK 32u

#ifdef EMLML_CNN_THUMB1
// Cortex-M0/M0+ (Thumb-1), GCC: a 3x3 window with all its taps in the image (no
// dilation along w) summed in a register, its taps written out. Depthwise (multiplier
// 1): the tap loop of depthwise_tap loads and stores a sum per product (9 instructions
// per MAC: the eight low registers hold no more); here channel-outer and tap-inner.
// Conv of at most 8 input times output channels (mnist_arduino's first two layers):
// a dot product call per filter row, and its window arithmetic, cost more than the
// 9-72 MACs of a position; with more channels dot_blocks' 2 channels per input load
// win (5 instructions per MAC, against 5.8 here plus a call per output channel).
// The windows that lose taps to the padding take the portable path.

// sum((x - zp) * w) over one 3x3 window of one channel: x and w at tap (0, 0), a column
// further `step` further in both (depthwise: in.c = out.c; conv, OHWI: in.c), a row
// x_row and w_row further. Five instructions per tap (LDRSB, ADD -zp, LDRSB, MULS,
// ADDS), two per row for the pointers and one for column 0's offset: 52. The same int32
// products and sums as the C loops (LDRSB sign-extends; the loader bounds the sums).
static inline __attribute__((always_inline)) int32_t window3x3(const int8_t *x, const int8_t *w, uint32_t step,
                                                              uint32_t x_row, uint32_t w_row, int32_t zp) {
    const uint32_t k1 = step, k2 = 2u * step;
    // -zp and the row steps in high registers (ADD reads any register); named ones,
    // because GCC 12 rejects two "h" operands in one asm ("inconsistent operand constraints")
    register uint32_t xr __asm__("r8") = x_row;
    register uint32_t wr __asm__("r10") = w_row;
    register int32_t nz __asm__("r11") = -zp;
    int32_t a, v, p;
    // column 0's offset is a zero put in the register its weight then overwrites: seven
    // low registers, where an eighth for the zero leaves GCC none
#define W3_COL0 "movs %[p], #0\n\t" \
    "ldrsb %[v], [%[x], %[p]]\n\t" \
    "add %[v], %[nz]\n\t" \
    "ldrsb %[p], [%[w], %[p]]\n\t" \
    "muls %[p], %[v], %[p]\n\t" \
    "adds %[a], %[a], %[p]\n\t"
#define W3_TAP(k) "ldrsb %[v], [%[x], %[" k "]]\n\t" \
    "add %[v], %[nz]\n\t" \
    "ldrsb %[p], [%[w], %[" k "]]\n\t" \
    "muls %[p], %[v], %[p]\n\t" \
    "adds %[a], %[a], %[p]\n\t"
#define W3_NEXT_ROW "add %[x], %[xr]\n\t" \
    "add %[w], %[wr]\n\t"
    __asm__ volatile(
        ".syntax unified\n\t"
        "movs %[a], #0\n\t"
        W3_COL0 W3_TAP("k1") W3_TAP("k2") W3_NEXT_ROW
        W3_COL0 W3_TAP("k1") W3_TAP("k2") W3_NEXT_ROW
        W3_COL0 W3_TAP("k1") W3_TAP("k2")
        ".syntax divided"
        : [a] "=&l"(a), [v] "=&l"(v), [p] "=&l"(p), [x] "+l"(x), [w] "+l"(w)
        : [k1] "l"(k1), [k2] "l"(k2), [xr] "r"(xr), [wr] "r"(wr), [nz] "r"(nz)
        : "cc", "memory");
#undef W3_COL0
#undef W3_TAP
#undef W3_NEXT_ROW
    return a;
}

// The sums of n windows one channel apart (see window3x3): a depthwise position's
// channels, or a conv output channel's input channels. The one copy of the assembly.
static EMLML_NOINLINE void windows3x3(int32_t *acc, const int8_t *x, const int8_t *w, uint32_t n, uint32_t step,
                                      uint32_t x_row, int32_t zp) {
    const uint32_t w_row = 3u * step;
    for (uint32_t j = 0; j < n; j++) {
        acc[j] = window3x3(x + j, w + j, step, x_row, w_row, zp);
    }
}

// Whether a window has all the taps of a 3x3 filter (see taps_inside).
static int full3x3(const taps_t *rows, const taps_t *cols) {
    return rows->first == 0 && rows->end == 3u && cols->first == 0 && cols->end == 3u;
}

#define CONV3X3_CHANNELS 8u

// One output position of a conv_2d with a 3x3 filter, at most 8 input times output
// channels (see window3x3) and no dilation along w, whose window has all its taps.
static EMLML_NOINLINE void conv3x3_full(const layer_run_t *r, const taps_t *rows, const taps_t *cols, uint32_t dilation_h,
                                        int8_t *y) {
    const uint32_t in_w = r->in->w, in_c = r->in->c, out_c = r->out->c;
    const uint32_t x_row = dilation_h * in_w * in_c;
    const int8_t *x = r->x + ((uint32_t)rows->origin * in_w + (uint32_t)cols->origin) * in_c, *w = r->w;
    int32_t acc[CONV3X3_CHANNELS], part[CONV3X3_CHANNELS];
    for (uint32_t o = 0; o < out_c; o++) {
        windows3x3(part, x, w, in_c, in_c, x_row, r->in->zero_point);
        int32_t a = 0;
        for (uint32_t ci = 0; ci < in_c; ci++) {
            a += part[ci];
        }
        acc[o] = a;
        w += 9u * in_c;
    }
    requantize(r, acc, 0, out_c, y);
}
#endif

#ifdef EMLML_CNN_STAGED
// One output position of CONV_2D from the staged window (see stage_pairs): the
// in-image part of each filter row once, then every output channel from it. When
// the window has all its columns, its rows' weights are contiguous too (OHWI) and
// the window is a single dot product per block of channels.
static EMLML_NOINLINE void conv_staged(const layer_run_t *r, const taps_t *rows, const taps_t *cols, uint32_t dilation_h, uint32_t row_values, int8_t *y) {
    const uint32_t in_w = r->in->w, in_c = r->in->c, out_c = r->out->c;
    const uint32_t fh = r->l->filter_h, fw = r->l->filter_w;
    const uint32_t filter_values = fh * fw * in_c;
    const uint32_t n_rows = rows->end - rows->first;
    uint32_t buf[WINDOW_VALUES / 2u];
    uint32_t *b = buf;
    for (uint32_t ky = rows->first; ky < rows->end; ky++) {
        const int8_t *x = r->x + (tap_at(rows, ky, dilation_h) * in_w + tap_at(cols, cols->first, 1)) * in_c;
        b = stage_pairs(b, x, row_values, r->in->zero_point);
    }
    // all columns: the rows' weights follow one another, a single dot product per channel
    const int whole_rows = row_values == fw * in_c && n_rows > 0;
    const uint32_t n_values = whole_rows ? n_rows * row_values : row_values, n_dots = whole_rows ? 1u : n_rows;
    const uint32_t w_row = fw * in_c;
    // a chunk of channels at a time: its blocks of 4 in one call per dot product, then
    // the last 1-3 channels of the layer one at a time (a block whose weights all point
    // at that channel, w_step 0: it writes 4 sums, the next channel's overwrite 3)
    int32_t acc[CONV_CHUNK + EMLML_CNN_BLOCK];
    for (uint32_t o = 0; o < out_c;) {
        const uint32_t n = out_c - o < CONV_CHUNK ? out_c - o : CONV_CHUNK;
        const uint32_t blocks = n / EMLML_CNN_BLOCK;
        const int8_t *w = r->w + (o * fh + rows->first) * w_row + cols->first * in_c;
        for (uint32_t k = 0; k < n; k++) {
            acc[k] = 0;
        }
        for (uint32_t i = 0; i < n_dots && blocks > 0; i++) {
            dot_pairs(acc, buf + i * row_values / 2u, w + i * w_row, filter_values, n_values, blocks);
        }
        for (uint32_t c = blocks * EMLML_CNN_BLOCK; c < n; c++) {
            for (uint32_t k = 0; k < EMLML_CNN_BLOCK; k++) {
                acc[c + k] = 0;  // over the previous channel's copies
            }
            for (uint32_t i = 0; i < n_dots; i++) {
                dot_pairs(acc + c, buf + i * row_values / 2u, w + c * filter_values + i * w_row, 0u, n_values, 1u);
            }
        }
        requantize(r, acc, o, n, y);
        y += n;
        o += n;
    }
}
#endif

// One channel's sum of (x - zp) * w over n values, added to *acc: the layer's last
// channels past the blocks (on a Cortex-M4 a block of 4 spent four times the products
// on them; 1-3 channels are the whole of small networks' layers).
static EMLML_NOINLINE void dot_one(int32_t *acc, const int8_t *x, const int8_t *w, uint32_t n, int32_t zp) {
    int32_t a = *acc;
    for (uint32_t i = 0; i < n; i++) {
        a += (x[i] - zp) * w[i];
    }
    *acc = a;
}

// The sums of one output position of CONV_2D for `blocks` blocks of channels from
// channel o (w_step: the filter's values), or for channel o alone (w_step 0, see
// dot_one), added to acc[]. Without dilation along w, the in-image taps of one filter row
// and their weights are both contiguous (at least one tap: see taps_inside), so a row
// is a single dot product.
static inline __attribute__((always_inline)) void window_dots(const layer_run_t *r, const window_t *win, const taps_t *rows,
                                                              const taps_t *cols, uint32_t o, uint32_t w_step, uint32_t blocks,
                                                              int32_t *acc) {
    const uint32_t in_w = r->in->w, in_c = r->in->c;
    const uint32_t fh = r->l->filter_h, fw = r->l->filter_w;
    const int32_t zp = r->in->zero_point;
    for (uint32_t ky = rows->first; ky < rows->end; ky++) {
        const int8_t *x_row = r->x + tap_at(rows, ky, win->dilation_h) * in_w * in_c;
        const int8_t *w_row = r->w + (o * fh + ky) * fw * in_c;
        if (win->dilation_w == 1) {
            const uint32_t row_values = (cols->end - cols->first) * in_c;
            const int8_t *x = x_row + tap_at(cols, cols->first, 1) * in_c, *w = w_row + cols->first * in_c;
            if (w_step == 0u) {
                dot_one(acc, x, w, row_values, zp);
            } else if (blocks == 1u) {
                dot_block(acc, x, w, w_step, row_values, zp);
            } else {
                dot_blocks(acc, x, w, w_step, row_values, zp, blocks);
            }
            continue;
        }
        for (uint32_t kx = cols->first; kx < cols->end; kx++) {
            const int8_t *x = x_row + tap_at(cols, kx, win->dilation_w) * in_c, *w = w_row + kx * in_c;
            if (w_step == 0u) {
                dot_one(acc, x, w, in_c, zp);
            } else {
                dot_blocks(acc, x, w, w_step, in_c, zp, blocks);
            }
        }
    }
}

#ifdef EMLML_CNN_STAGED
// A 1x1 conv (MobileNet's pointwise layers, most of their MACs) on a Cortex-M4, with the
// loops turned round: 4 output channels at a time, their weights staged once for every
// output position as the SMLAD operands (per 4 input values, for each channel the
// words (w0, w2) and (w1, w3) as int16 pairs), then every output position: each word of
// input SXTAB16'd once (x - zp, exact in 16 bits) feeds the four channels. 17
// instructions per 16 MACs (the staged-input loop of dot_pairs takes 23, plus the
// staging of each position's input). The same int32 products and sums as dot_block.
#define CONV1X1_MAX_IN (WINDOW_VALUES / 4u)

// The 4 channels' weights (w, w + in_c, ...: OHWI rows of in_c values) staged at wb.
static EMLML_NOINLINE void stage_weights4(uint32_t *wb, const int8_t *w, uint32_t in_c) {
    for (uint32_t i = 0; i < in_c; i += 4u) {
        for (uint32_t k = 0; k < 4u; k++) {
            const uint32_t v = load4(w + k * in_c + i);
            *wb++ = (uint32_t)sxtb16_even(v);
            *wb++ = (uint32_t)sxtb16_odd(v);
        }
    }
}

// The sums of 4 channels at one output position: in_c (a multiple of 4, > 0) values of
// x against the weights staged by stage_weights4.
static EMLML_NOINLINE void dot4_staged_weights(int32_t *acc, const int8_t *x, const uint32_t *wb, uint32_t in_c, int32_t zp) {
    const int16x2_t neg_zp2 = minus_zp2(zp);
    const int8_t *x_end = x + in_c;  // one past the position's last value: never read
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    uint32_t xe, xo, we, wo;
    __asm__ volatile(
        "1:\n\t"
        "ldr %[xe], [%[x]], #4\n\t"
        "sxtab16 %[xo], %[nz], %[xe], ror #8\n\t"
        "sxtab16 %[xe], %[nz], %[xe]\n\t"
        "ldrd %[we], %[wo], [%[wb]], #8\n\t"
        "smlad %[a0], %[xe], %[we], %[a0]\n\t"
        "smlad %[a0], %[xo], %[wo], %[a0]\n\t"
        "ldrd %[we], %[wo], [%[wb]], #8\n\t"
        "smlad %[a1], %[xe], %[we], %[a1]\n\t"
        "smlad %[a1], %[xo], %[wo], %[a1]\n\t"
        "ldrd %[we], %[wo], [%[wb]], #8\n\t"
        "smlad %[a2], %[xe], %[we], %[a2]\n\t"
        "smlad %[a2], %[xo], %[wo], %[a2]\n\t"
        "ldrd %[we], %[wo], [%[wb]], #8\n\t"
        "smlad %[a3], %[xe], %[we], %[a3]\n\t"
        "smlad %[a3], %[xo], %[wo], %[a3]\n\t"
        "cmp %[x], %[end]\n\t"
        "bne 1b"
        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x), [wb] "+r"(wb),
          [xe] "=&r"(xe), [xo] "=&r"(xo), [we] "=&r"(we), [wo] "=&r"(wo)
        : [end] "r"(x_end), [nz] "r"(neg_zp2)
        : "cc", "memory");
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

// CONV_2D 1x1 without padding, in.c a multiple of 4 up to CONV1X1_MAX_IN, out.c >= 4:
// blocks of 4 channels as above, their sums gathered for CONV1X1_RUN output positions
// then requantized a channel at a time (requantize_channel); then the last 1-3 channels
// one at a time (dot_one).
#define CONV1X1_RUN 16u

static EMLML_NOINLINE void conv_1x1_dsp(const layer_run_t *r) {
    const uint32_t in_w = r->in->w, in_c = r->in->c, out_c = r->out->c;
    const uint32_t out_h = r->out->h, out_w = r->out->w;
    const uint32_t row_step = r->l->stride_h * in_w * in_c, col_step = r->l->stride_w * in_c;
    const int32_t zp = r->in->zero_point;
    uint32_t wb[2u * CONV1X1_MAX_IN];
    int32_t acc[4u * CONV1X1_RUN];
    uint32_t o = 0;
    for (; out_c - o >= 4u; o += 4u) {
        stage_weights4(wb, r->w + o * in_c, in_c);
        int8_t *y = r->y + o;  // the run's first output position
        uint32_t k = 0;        // positions in the run
        for (uint32_t oy = 0; oy < out_h; oy++) {
            const int8_t *x = r->x + oy * row_step;
            for (uint32_t ox = 0; ox < out_w; ox++, x += col_step) {
                dot4_staged_weights(acc + 4u * k, x, wb, in_c, zp);
                if (++k == CONV1X1_RUN || (ox + 1u == out_w && oy + 1u == out_h)) {
                    for (uint32_t j = 0; j < 4u; j++) {
                        requantize_channel(r, acc + j, o + j, k, y + j);
                    }
                    y += k * out_c;
                    k = 0;
                }
            }
        }
    }
    for (; o < out_c; o++) {
        int8_t *y = r->y + o;
        for (uint32_t oy = 0; oy < out_h; oy++) {
            const int8_t *x = r->x + oy * row_step;
            for (uint32_t ox = 0; ox < out_w; ox++, x += col_step, y += out_c) {
                acc[0] = 0;
                dot_one(acc, x, r->w + o * in_c, in_c, zp);
                requantize(r, acc, o, 1u, y);
            }
        }
    }
}
#endif

#ifdef EMLML_CNN_STAGED
// CONV_2D 3x3 of 1-7 input channels (mnist-sized layers) on a Cortex-M4, where the
// portable window loop spends one dot product call of 3-21 values per filter row and
// channel (about 600 instructions per output position of mnist_valid's 1 -> 4 layer), and
// conv_staged (4 input channels) stages each position's window. Here the whole windows of the layer
// (all 9 taps in the image, no dilation along w) go 4 output channels at a time,
// channel-major as conv_1x1_dsp: a block's weights staged once per layer call as SMLAD
// operands (a filter row's 3 * in_c values as 1-6 words, zeros past them and past
// out.c), then per position each input word SXTB16'd once feeds the 4 channels (a block
// of one channel, window3x3_staged1, feeds 1). The zero point is taken out once:
// sum((x - zp) * w) = sum(x * w) - zp * sum(w), the sums starting at -zp * sum(w)
// (every product and partial sum is far inside int32: at most 63 products of magnitude
// <= 2^14, so the same int32 sums as the portable loop). A row's last word may read up
// to 3 bytes past the row's values (their weights are 0); the positions whose last row
// would read past the input tensor take the portable loop.
#define CONV3X3_NARROW_IN 7u  // 8 takes conv_staged: the staging of 6-word rows outweighed mnist_valid's 4 positions
#define CONV3X3_STAGED_WORDS (24u * 6u)  // a block of 4 channels: 2 words x 4 channels x 3 rows x (1-6 words a row)
#define CONV3X3_RUN 16u

static void whole_columns(const layer_run_t *r, const window_t *win, uint32_t *lo, uint32_t *hi);

static uint32_t narrow_row_words(uint32_t in_c) {
    return (3u * in_c + 3u) / 4u;
}

// The 3x3 weights of output channels o..o+3 as SMLAD operands: per filter row, per word of
// the row's values, for each channel (w0, w2) and (w1, w3) as int16 pairs (zeros past the
// row's values and past out.c); neg_zp_sums[k]: -zp * (sum of channel o + k's weights).
// A filter row is copied into a buffer whose last word was zeroed first (the bytes past
// the row stay zero), so the words are packed without a test per byte (and without a
// memset call): this staging is paid per layer call.
static EMLML_NOINLINE void stage_weights3x3(uint32_t *wb, int32_t *neg_zp_sums, const layer_run_t *r, uint32_t o) {
    const uint32_t in_c = r->in->c, out_c = r->out->c;
    const uint32_t row_values = 3u * in_c, words = narrow_row_words(in_c), filter_values = 3u * row_values;
    const int32_t zp = r->in->zero_point;
    for (uint32_t k = 0; k < 4u; k++) {
        uint32_t row_words[CONV3X3_NARROW_IN * 3u / 4u + 1u];
        int8_t *row = (int8_t *)row_words;  // char type: may alias the words
        const int present = o + k < out_c;  // past out.c: zero weights
        int32_t sum = 0;
        row_words[words - 1u] = 0;  // the bytes past row_values: never written below
        for (uint32_t ky = 0; ky < 3u; ky++) {
            if (present) {
                const int8_t *w = r->w + (o + k) * filter_values + ky * row_values;
                for (uint32_t at = 0; at < row_values; at++) {
                    row[at] = w[at];
                    sum += w[at];
                }
            }
            uint32_t *out = wb + 8u * ky * words + 2u * k;
            for (uint32_t i = 0; i < words; i++, out += 8u) {
                const uint32_t packed = present ? load4(row + 4u * i) : 0u;
                out[0] = (uint32_t)sxtb16_even(packed);
                out[1] = (uint32_t)sxtb16_odd(packed);
            }
        }
        neg_zp_sums[k] = -zp * sum;
    }
}

// One filter row of window3x3_staged4: `words` input words from xr, each against the 4
// channels' staged weights; then xr to the next row (skip) and xend one row on.
#define CONV3X3_ROW(label)                                   \
    label ":\n\t"                                            \
    "ldr %[xe], [%[xr]], #4\n\t"                             \
    "sxtb16 %[xo], %[xe], ror #8\n\t"                        \
    "sxtb16 %[xe], %[xe]\n\t"                                \
    "ldrd %[we], %[wo], [%[wb]], #8\n\t"                     \
    "smlad %[a0], %[xe], %[we], %[a0]\n\t"                   \
    "smlad %[a0], %[xo], %[wo], %[a0]\n\t"                   \
    "ldrd %[we], %[wo], [%[wb]], #8\n\t"                     \
    "smlad %[a1], %[xe], %[we], %[a1]\n\t"                   \
    "smlad %[a1], %[xo], %[wo], %[a1]\n\t"                   \
    "ldrd %[we], %[wo], [%[wb]], #8\n\t"                     \
    "smlad %[a2], %[xe], %[we], %[a2]\n\t"                   \
    "smlad %[a2], %[xo], %[wo], %[a2]\n\t"                   \
    "ldrd %[we], %[wo], [%[wb]], #8\n\t"                     \
    "smlad %[a3], %[xe], %[we], %[a3]\n\t"                   \
    "smlad %[a3], %[xo], %[wo], %[a3]\n\t"                   \
    "cmp %[xr], %[xend]\n\t"                                 \
    "bne " label "b\n\t"                                     \
    "add %[xr], %[xr], %[skip]\n\t"                          \
    "add %[xend], %[xend], %[x_row]\n\t"

// The sums of 4 channels at one whole 3x3 window (x: its first value, x_row: from one
// filter row's values to the next), from the block's staged weights wb (words per row).
static EMLML_NOINLINE void window3x3_staged4(int32_t *acc, const int8_t *x, uint32_t x_row, const uint32_t *wb, uint32_t words,
                                             const int32_t *neg_zp_sums) {
    int32_t a0 = neg_zp_sums[0], a1 = neg_zp_sums[1], a2 = neg_zp_sums[2], a3 = neg_zp_sums[3];
    const int8_t *xend = x + 4u * words;
    const uint32_t skip = x_row - 4u * words;
    uint32_t xe, xo, we, wo;
    __asm__ volatile(
        CONV3X3_ROW("1")
        CONV3X3_ROW("2")
        CONV3X3_ROW("3")
        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [xr] "+r"(x), [xend] "+r"(xend), [wb] "+r"(wb),
          [xe] "=&r"(xe), [xo] "=&r"(xo), [we] "=&r"(we), [wo] "=&r"(wo)
        : [skip] "r"(skip), [x_row] "r"(x_row)
        : "cc", "memory");
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

// One filter row of window3x3_staged1: as CONV3X3_ROW for the block's first channel alone
// (its staged words are the first 2 of every 8).
#define CONV3X3_ROW1(label)                                  \
    label ":\n\t"                                            \
    "ldr %[xe], [%[xr]], #4\n\t"                             \
    "sxtb16 %[xo], %[xe], ror #8\n\t"                        \
    "sxtb16 %[xe], %[xe]\n\t"                                \
    "ldrd %[we], %[wo], [%[wb]], #32\n\t"                    \
    "smlad %[a0], %[xe], %[we], %[a0]\n\t"                   \
    "smlad %[a0], %[xo], %[wo], %[a0]\n\t"                   \
    "cmp %[xr], %[xend]\n\t"                                 \
    "bne " label "b\n\t"                                     \
    "add %[xr], %[xr], %[skip]\n\t"                          \
    "add %[xend], %[xend], %[x_row]\n\t"

// The sum of a block's only channel (out.c = 4b + 1: mnist_arduino's 1-channel layer
// spent 4 channels' products on it) at one whole 3x3 window, as window3x3_staged4.
static EMLML_NOINLINE int32_t window3x3_staged1(const int8_t *x, uint32_t x_row, const uint32_t *wb, uint32_t words,
                                                int32_t neg_zp_sum) {
    int32_t a0 = neg_zp_sum;
    const int8_t *xend = x + 4u * words;
    const uint32_t skip = x_row - 4u * words;
    uint32_t xe, xo, we, wo;
    __asm__ volatile(
        CONV3X3_ROW1("1")
        CONV3X3_ROW1("2")
        CONV3X3_ROW1("3")
        : [a0] "+r"(a0), [xr] "+r"(x), [xend] "+r"(xend), [wb] "+r"(wb),
          [xe] "=&r"(xe), [xo] "=&r"(xo), [we] "=&r"(we), [wo] "=&r"(wo)
        : [skip] "r"(skip), [x_row] "r"(x_row)
        : "cc", "memory");
    return a0;
}

// The output positions [lo, hi) of one output row (whole windows from x_lo, the window
// of position lo), output channels o..o+3 (those below out.c) from their staged weights
// wb; y: the output at position lo.
static EMLML_NOINLINE void conv3x3_narrow_run(const layer_run_t *r, const uint32_t *wb, const int32_t *neg_zp_sums, uint32_t o,
                                              const int8_t *x, uint32_t x_row, uint32_t n_pos, int8_t *y) {
    const uint32_t in_c = r->in->c, out_c = r->out->c, words = narrow_row_words(in_c);
    const uint32_t col_step = r->l->stride_w * in_c, n_ch = out_c - o < 4u ? out_c - o : 4u;
    int32_t acc[4u * CONV3X3_RUN];
    uint32_t k = 0;
    y += o;
    for (uint32_t p = 0; p < n_pos; p++, x += col_step) {
        if (n_ch == 1u) {
            acc[4u * k] = window3x3_staged1(x, x_row, wb, words, neg_zp_sums[0]);
        } else {
            window3x3_staged4(acc + 4u * k, x, x_row, wb, words, neg_zp_sums);
        }
        if (++k == CONV3X3_RUN || p + 1u == n_pos) {
            for (uint32_t j = 0; j < n_ch; j++) {
                requantize_channel(r, acc + j, o + j, k, y + j);
            }
            y += k * out_c;
            k = 0;
        }
    }
}

// Whether conv_2d takes conv3x3_narrow for the whole windows of layer r.
static int conv3x3_narrow_fits(const layer_run_t *r, const window_t *win) {
    const uint32_t in_c = r->in->c;
    return r->l->filter_h == 3u && r->l->filter_w == 3u && win->dilation_w == 1u && in_c <= CONV3X3_NARROW_IN;
}

// The end of the positions of output row `rows` (its 3 filter rows in the image) that
// conv3x3_narrow takes: hi, lowered while the window's last row would read past the input.
static uint32_t narrow_row_end(const layer_run_t *r, const window_t *win, const taps_t *rows, uint32_t lo, uint32_t hi) {
    const uint32_t in_w = r->in->w, in_c = r->in->c;
    const uint32_t last_row = tap_at(rows, 2u, win->dilation_h), read = 4u * narrow_row_words(in_c);
    const uint32_t size = emlml_cnn_size(r->in);
    while (hi > lo && (last_row * in_w + (hi - 1u) * win->stride_w - (uint32_t)win->pad_left) * in_c + read > size) {
        hi--;
    }
    return hi;
}

// Every whole window of the layer ([lo, hi) of each output row whose 3 filter rows are in
// the image, hi as narrow_row_end): the rest is left to the caller.
static EMLML_NOINLINE void conv3x3_narrow(const layer_run_t *r, const window_t *win, uint32_t lo, uint32_t hi) {
    const uint32_t in_w = r->in->w, in_c = r->in->c, out_c = r->out->c;
    const uint32_t x_row = win->dilation_h * in_w * in_c;
    uint32_t wb[CONV3X3_STAGED_WORDS];
    int32_t neg_zp_sums[4];
    for (uint32_t o = 0; o < out_c; o += 4u) {
        stage_weights3x3(wb, neg_zp_sums, r, o);
        for (uint32_t out_y = 0; out_y < r->out->h; out_y++) {
            const taps_t rows = rows_of(r, win, out_y);
            if (rows.end - rows.first != 3u) {
                continue;
            }
            const uint32_t h = narrow_row_end(r, win, &rows, lo, hi);
            if (h > lo) {
                const int8_t *x_lo = r->x + (tap_at(&rows, 0, win->dilation_h) * in_w + lo * win->stride_w -
                                             (uint32_t)win->pad_left) * in_c;
                conv3x3_narrow_run(r, wb, neg_zp_sums, o, x_lo, x_row, h - lo, r->y + (out_y * r->out->w + lo) * out_c);
            }
        }
    }
}
#endif

// CONV_2D: weights OHWI. Output channels go EMLML_CNN_BLOCK at a time, the last few
// one at a time (see window_dots).
static EMLML_NOINLINE void conv_2d(const layer_run_t *r) {
    const uint32_t in_c = r->in->c, out_c = r->out->c;
    const uint32_t filter_values = (uint32_t)r->l->filter_h * r->l->filter_w * in_c;
    const window_t win = window_of(r);
    int8_t *y = r->y;
#ifdef EMLML_CNN_STAGED
    const int staged = in_c % 4u == 0 && win.dilation_w == 1 && filter_values <= WINDOW_VALUES;
    if (filter_values == in_c && staged && in_c <= CONV1X1_MAX_IN && out_c >= 4u && win.pad_top == 0 && win.pad_left == 0) {
        conv_1x1_dsp(r);  // a 1x1 filter (filter_values == in_c): every tap in the image
        return;
    }
    const int narrow3 = conv3x3_narrow_fits(r, &win);
    uint32_t whole_lo = 0, whole_hi = 0;
    if (narrow3) {
        whole_columns(r, &win, &whole_lo, &whole_hi);
        conv3x3_narrow(r, &win, whole_lo, whole_hi);
    }
#endif
#ifdef EMLML_CNN_THUMB1
    const int narrow = r->l->filter_h == 3u && r->l->filter_w == 3u && in_c * out_c <= CONV3X3_CHANNELS &&
                       win.dilation_w == 1u;
#endif
    for (uint32_t out_y = 0; out_y < r->out->h; out_y++) {
        const taps_t rows = rows_of(r, &win, out_y);
#ifdef EMLML_CNN_STAGED
        // the whole windows conv3x3_narrow did
        const uint32_t narrow_hi = narrow3 && rows.end - rows.first == 3u ? narrow_row_end(r, &win, &rows, whole_lo, whole_hi) : 0u;
#endif
        for (uint32_t out_x = 0; out_x < r->out->w; out_x++) {
#ifdef EMLML_CNN_STAGED
            if (out_x == whole_lo && narrow_hi > whole_lo) {
                y += (narrow_hi - whole_lo) * out_c;
                out_x = narrow_hi - 1u;
                continue;
            }
#endif
            const taps_t cols = cols_of(r, &win, out_x);
#ifdef EMLML_CNN_STAGED
            if (staged) {
                conv_staged(r, &rows, &cols, win.dilation_h, (cols.end - cols.first) * in_c, y);
                y += out_c;
                continue;
            }
#endif
#ifdef EMLML_CNN_THUMB1
            if (narrow && full3x3(&rows, &cols)) {
                conv3x3_full(r, &rows, &cols, win.dilation_h, y);
                y += out_c;
                continue;
            }
#endif
            // a chunk of channels at a time: its blocks in one dot_blocks call per filter
            // row, the layer's last channels one at a time (see window_dots)
            int32_t acc[CONV_CHUNK];
            for (uint32_t o = 0; o < out_c;) {
                const uint32_t n = out_c - o < CONV_CHUNK ? out_c - o : CONV_CHUNK;
                const uint32_t blocks = n / EMLML_CNN_BLOCK;
                for (uint32_t k = 0; k < n; k++) {  // a loop: `= {0}` becomes a memset call
                    acc[k] = 0;
                }
                if (blocks > 0) {
                    window_dots(r, &win, &rows, &cols, o, filter_values, blocks, acc);
                }
                for (uint32_t c = blocks * EMLML_CNN_BLOCK; c < n; c++) {
                    window_dots(r, &win, &rows, &cols, o + c, 0u, 1u, acc + c);
                }
                requantize(r, acc, o, n, y);
                y += n;
                o += n;
            }
        }
    }
}

// Depthwise's output channels are summed DW_BLOCK at a time, channels innermost.
#define DW_BLOCK 32u

// One tap of a depthwise window for n consecutive output channels: acc[j] += (x - zp) * w[j],
// where output channel j reads input channel (m + j) / multiplier of x (m: the first
// channel's place among its input channel's outputs). Input values and weights of one
// tap are both contiguous along the channels.
static EMLML_NOINLINE void depthwise_tap(int32_t *acc, const int8_t *x, const int8_t *w, uint32_t n, uint32_t multiplier, uint32_t m, int32_t zp) {
    if (multiplier == 1u) {  // the common case: one index over x and w (n >= 1)
        const int8_t *x_end = x + n, *w_end = w + n;
        int32_t i = -(int32_t)n;
#if defined(__thumb__) && !defined(__thumb2__) && defined(__GNUC__) && !defined(__clang__)
        // Cortex-M0/M0+, GCC: the C loop reloads zp from the stack on every pass and
        // compares the index apart from its increment (11 instructions per MAC). Here
        // -zp sits in a high register (as in dot_block) and the increment's flags end
        // the loop: 9. The same int32 products and sums as the C loop (LDRSB
        // sign-extends; the loader bounds the sums).
        int32_t neg_zp = -zp;
        int32_t v, p;
        __asm__ volatile(
            ".syntax unified\n"
            "1:\n\t"
            "ldrsb %[v], [%[x], %[i]]\n\t"
            "add %[v], %[nz]\n\t"
            "ldrsb %[p], [%[w], %[i]]\n\t"
            "muls %[p], %[v], %[p]\n\t"
            "ldr %[v], [%[acc]]\n\t"
            "adds %[v], %[v], %[p]\n\t"
            "stmia %[acc]!, {%[v]}\n\t"
            "adds %[i], %[i], #1\n\t"
            "bne 1b\n\t"
            ".syntax divided"
            : [acc] "+l"(acc), [i] "+l"(i), [v] "=&l"(v), [p] "=&l"(p)
            : [x] "l"(x_end), [w] "l"(w_end), [nz] "h"(neg_zp)
            : "cc", "memory");
#else
        do {
            *acc++ += (x_end[i] - zp) * w_end[i];
        } while (++i != 0);
#endif
        return;
    }
    for (uint32_t j = 0; j < n; j++) {
        acc[j] += (*x - zp) * w[j];
        if (++m == multiplier) {  // the next input channel (x ends at most one past the pixel)
            m = 0;
            x++;
        }
    }
}

#if defined(EMLML_CNN_STAGED) || defined(__XTENSA__)
// A depthwise window for depthwise_window4: x and w point at the first in-image tap of
// the first of 4 channels; a column further is `step` further in both (in.c = out.c),
// a row x_row and w_row further.
typedef struct {
    const int8_t *x, *w;
    uint32_t n_rows, n_cols, step, x_row, w_row;
} dw_window_t;
#endif

#ifdef EMLML_CNN_STAGED
// The window of one output position for 4 channels of a depthwise layer with
// multiplier 1 and no dilation along w, the sums kept in registers across the taps
// (the portable path reads and writes acc[] on every tap): per tap one word of x and
// one of w, SXTB16 into 16-bit pairs (x - zp in [-255, 255], exact), then SMLABB /
// SMLATT, one instruction per product. The same int32 products and sums as
// depthwise_tap. x and w point at the first in-image tap; a column further is `step`
// further in both (in.c = out.c), a row x_row and w_row further.
static EMLML_NOINLINE void depthwise_window4(int32_t *acc, const dw_window_t *win, int32_t zp) {
    const int16x2_t neg_zp2 = minus_zp2(zp);
    const uint32_t step = win->step, row_len = win->n_cols * step;
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    // The taps of a row written out: GCC's allocation of the same C kept the row's
    // pointers on the stack (17 instructions per tap); here 12. The index k runs from
    // -row_len up to 0 against the row's end, formed in registers only (no C pointer
    // past the last tap). The same products and sums as the C loop it replaces.
    for (uint32_t ky = 0; ky < win->n_rows && row_len != 0; ky++) {
        const int8_t *x = win->x + ky * win->x_row, *w = win->w + ky * win->w_row;
        uint32_t xv, wv, t, u;
        int32_t k;
        __asm__ volatile(
            "rsb %[k], %[len], #0\n\t"
            "add %[x], %[x], %[len]\n\t"
            "add %[w], %[w], %[len]\n"
            "1:\n\t"
            "ldr %[xv], [%[x], %[k]]\n\t"
            "ldr %[wv], [%[w], %[k]]\n\t"
            "sxtab16 %[t], %[nz], %[xv], ror #8\n\t"
            "sxtab16 %[xv], %[nz], %[xv]\n\t"
            "sxtb16 %[u], %[wv], ror #8\n\t"
            "sxtb16 %[wv], %[wv]\n\t"
            "smlabb %[a0], %[xv], %[wv], %[a0]\n\t"
            "smlatt %[a2], %[xv], %[wv], %[a2]\n\t"
            "smlabb %[a1], %[t], %[u], %[a1]\n\t"
            "smlatt %[a3], %[t], %[u], %[a3]\n\t"
            "adds %[k], %[k], %[step]\n\t"
            "bne 1b"
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x), [w] "+r"(w),
              [k] "=&r"(k), [xv] "=&r"(xv), [wv] "=&r"(wv), [t] "=&r"(t), [u] "=&r"(u)
            : [len] "r"(row_len), [step] "r"(step), [nz] "r"(neg_zp2)
            : "cc", "memory");
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}
#endif

#ifdef EMLML_CNN_STAGED
// depthwise_window4 for a whole 3x3 window (every tap in the image, the common case
// away from the edges), the nine taps written out: no row loop, tap columns reached by
// register offsets (x and w step `step` per column; w's rows are 3 * step apart, x's
// x_row). 10 instructions per tap of 4 channels, plus 3 per row, instead of 12 per tap
// plus each row's loop. The same products and sums as depthwise_window4.
#define DW3_TAP(xo, wo) \
    "ldr %[xv], [%[x]" xo "]\n\t" \
    "ldr %[wv], [%[w]" wo "]\n\t" \
    "sxtab16 %[t], %[nz], %[xv], ror #8\n\t" \
    "sxtab16 %[xv], %[nz], %[xv]\n\t" \
    "sxtb16 %[u], %[wv], ror #8\n\t" \
    "sxtb16 %[wv], %[wv]\n\t" \
    "smlabb %[a0], %[xv], %[wv], %[a0]\n\t" \
    "smlatt %[a2], %[xv], %[wv], %[a2]\n\t" \
    "smlabb %[a1], %[t], %[u], %[a1]\n\t" \
    "smlatt %[a3], %[t], %[u], %[a3]\n\t"
#define DW3_ROW \
    DW3_TAP("", "") DW3_TAP(", %[step]", ", %[step]") DW3_TAP(", %[step], lsl #1", ", %[step], lsl #1")
#define DW3_NEXT_ROW \
    "add %[x], %[x], %[x_row]\n\t" \
    "add %[w], %[w], %[step], lsl #1\n\t" \
    "add %[w], %[w], %[step]\n\t"

static EMLML_NOINLINE void depthwise_3x3_window4(int32_t *acc, const int8_t *x, const int8_t *w, uint32_t step, uint32_t x_row, int32_t zp) {
    const int16x2_t neg_zp2 = minus_zp2(zp);
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    uint32_t xv, wv, t, u;
    __asm__ volatile(
        DW3_ROW DW3_NEXT_ROW DW3_ROW DW3_NEXT_ROW DW3_ROW
        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x), [w] "+r"(w),
          [xv] "=&r"(xv), [wv] "=&r"(wv), [t] "=&r"(t), [u] "=&r"(u)
        : [step] "r"(step), [x_row] "r"(x_row), [nz] "r"(neg_zp2)
        : "memory");
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}
#undef DW3_TAP
#undef DW3_ROW
#undef DW3_NEXT_ROW
#endif

#ifdef EMLML_CNN_STAGED
// The output positions [lo, hi) of one output row whose 3x3 windows are whole (3 rows
// from x_row0, every column in the image), blocks of 4 channels (multiplier 1, no
// dilation along w), channel-major as conv_1x1_dsp: a block's sums for DW_RUN positions,
// then requantize_channel for each of its channels. y: the output at position lo.
// The channels past the blocks are left to the caller.
#define DW_RUN 16u
// Narrower layers take the pixel-major loop alone: each channel's requantize_channel
// call (about 20 instructions) is paid per row (an 8x8 layer's rows of 6 whole windows
// were slower this way, vww96's 48- to 12-wide ones faster).
#define DW_RUN_MIN 8u

static EMLML_NOINLINE void depthwise_3x3_run(const layer_run_t *r, const window_t *win, const int8_t *x_row0, uint32_t lo, uint32_t hi, int8_t *y) {
    const uint32_t in_c = r->in->c, out_c = r->out->c;
    const uint32_t x_row = win->dilation_h * r->in->w * in_c, col_step = win->stride_w * in_c;
    const int8_t *x_lo = x_row0 + (lo * win->stride_w - (uint32_t)win->pad_left) * in_c;
    int32_t acc[4u * DW_RUN];
    for (uint32_t c = 0; out_c - c >= 4u; c += 4u) {
        const int8_t *x = x_lo + c;
        int8_t *y_run = y + c;
        uint32_t k = 0;
        for (uint32_t ox = lo; ox < hi; ox++, x += col_step) {
            depthwise_3x3_window4(acc + 4u * k, x, r->w + c, in_c, x_row, r->in->zero_point);
            if (++k == DW_RUN || ox + 1u == hi) {
                for (uint32_t j = 0; j < 4u; j++) {
                    requantize_channel(r, acc + j, c + j, k, y_run + j);
                }
                y_run += k * out_c;
                k = 0;
            }
        }
    }
}

// The output columns of a 3x3 layer whose windows have all 3 columns in the image: [lo, hi).
static void whole_columns(const layer_run_t *r, const window_t *win, uint32_t *lo, uint32_t *hi) {
    const uint32_t out_w = r->out->w;
    uint32_t ox = 0;
    while (ox < out_w && cols_of(r, win, ox).end - cols_of(r, win, ox).first != 3u) {
        ox++;
    }
    *lo = ox;
    while (ox < out_w && cols_of(r, win, ox).end - cols_of(r, win, ox).first == 3u) {
        ox++;
    }
    *hi = ox;
}
#endif

#if defined(__XTENSA__)
// ESP32: the window of one output position for 4 channels of a depthwise layer with
// multiplier 1, the sums kept in registers across the taps (the portable path reads and
// writes acc[] on every tap and calls depthwise_tap per tap: 21 instructions per MAC).
// Per tap and channel: L8UI and SEXT of x, minus zp, L8UI and SEXT of w, MULL, ADD
// (offsets 0-3 from the tap's x and w), then both pointers a column further, in a
// zero-overhead LOOP over the row's columns: 7.5 instructions per MAC. The same int32
// products and sums as depthwise_tap.
static EMLML_NOINLINE void depthwise_window4(int32_t *acc, const dw_window_t *win, int32_t zp) {
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    const uint32_t step = win->step, n_cols = win->n_cols;
    // the LOOP leaves x and w a row's taps further; these steps reach the next row (in
    // the assembly: no C pointer past the window's last row)
    const uint32_t x_skip = win->x_row - n_cols * step, w_skip = win->w_row - n_cols * step;
    const int8_t *x = win->x, *w = win->w;
    for (uint32_t ky = n_cols != 0 ? win->n_rows : 0u; ky != 0; ky--) {
        int32_t v, t;
#define EMLML_DW_TAP(acc_reg, offset)                 \
        "l8ui %[v], %[x], " #offset "\n\t"         \
        "sext %[v], %[v], 7\n\t"                   \
        "sub %[v], %[v], %[zp]\n\t"                \
        "l8ui %[t], %[w], " #offset "\n\t"         \
        "sext %[t], %[t], 7\n\t"                   \
        "mull %[t], %[t], %[v]\n\t"                \
        "add %[" #acc_reg "], %[" #acc_reg "], %[t]\n\t"
        __asm__ volatile(
            EMLML_XTENSA_LOOP("n", "2f")
            EMLML_DW_TAP(a0, 0) EMLML_DW_TAP(a1, 1) EMLML_DW_TAP(a2, 2) EMLML_DW_TAP(a3, 3)
            "add %[x], %[x], %[step]\n\t"
            "add %[w], %[w], %[step]\n"
            "2:\n\t"
            "add %[x], %[x], %[xs]\n\t"
            "add %[w], %[w], %[ws]"
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x), [w] "+r"(w),
              [v] "=&r"(v), [t] "=&r"(t)
            : [n] "r"(n_cols), [step] "r"(step), [zp] "r"(zp), [xs] "r"(x_skip), [ws] "r"(w_skip)
            : "memory");
#undef EMLML_DW_TAP
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}
#endif

// DEPTHWISE_CONV_2D: weights 1HWO; output channel o reads input channel o / multiplier.
// Per output position and block of channels, every in-image tap adds to the running
// sums of the whole block: no call and no window arithmetic per channel. With dilation
// a window may hold no in-image tap at all: its sums stay 0 (the bias alone, as TFLite).
static EMLML_NOINLINE void depthwise_conv_2d(const layer_run_t *r) {
    const uint32_t in_w = r->in->w, in_c = r->in->c, out_c = r->out->c;
    const uint32_t fw = r->l->filter_w;
    const uint32_t multiplier = out_c / in_c;
    const int32_t in_zp = r->in->zero_point;
    const window_t win = window_of(r);
#ifdef EMLML_CNN_THUMB1
    const int narrow = multiplier == 1u && win.dilation_w == 1u && r->l->filter_h == 3u && fw == 3u;
#endif
    int8_t *y = r->y;
    int32_t acc[DW_BLOCK];
#ifdef EMLML_CNN_STAGED
    // 3x3, multiplier 1, no dilation along w: the whole windows of a row channel-major
    const int dw3 = multiplier == 1u && win.dilation_w == 1u && out_c >= 4u && fw == 3u && r->l->filter_h == 3u &&
                    r->out->w >= DW_RUN_MIN;
    uint32_t whole_lo = 0, whole_hi = 0;
    if (dw3) {
        whole_columns(r, &win, &whole_lo, &whole_hi);
    }
#endif
    for (uint32_t out_y = 0; out_y < r->out->h; out_y++) {
        const taps_t rows = rows_of(r, &win, out_y);
#ifdef EMLML_CNN_STAGED
        const int row_run = dw3 && rows.end - rows.first == 3u && whole_hi - whole_lo >= DW_RUN_MIN;
        if (row_run) {
            const int8_t *x_row0 = r->x + tap_at(&rows, 0, win.dilation_h) * in_w * in_c;
            depthwise_3x3_run(r, &win, x_row0, whole_lo, whole_hi, y + whole_lo * out_c);
        }
#endif
        for (uint32_t out_x = 0; out_x < r->out->w; out_x++) {
            const taps_t cols = cols_of(r, &win, out_x);
            uint32_t o = 0;
#if defined(EMLML_CNN_STAGED) || defined(__XTENSA__)
#ifdef EMLML_CNN_STAGED
            if (row_run && out_x >= whole_lo && out_x < whole_hi) {
                o = out_c & ~3u;  // the blocks of 4 done by depthwise_3x3_run
                y += o;
            } else
#endif
            if (multiplier == 1u && win.dilation_w == 1u && out_c >= 4u) {
                dw_window_t dw;
                dw.n_rows = rows.end - rows.first;
                dw.n_cols = cols.end - cols.first;
                dw.x = r->x;  // a window without in-image taps (dilation) reads nothing
                dw.w = r->w;
                if (dw.n_rows > 0 && dw.n_cols > 0) {
                    const uint32_t first_x = tap_at(&cols, cols.first, win.dilation_w);
                    dw.x += (tap_at(&rows, rows.first, win.dilation_h) * in_w + first_x) * in_c;
                    dw.w += (rows.first * fw + cols.first) * out_c;
                }
                dw.step = in_c;
                dw.x_row = win.dilation_h * in_w * in_c;
                dw.w_row = fw * out_c;
#ifdef EMLML_CNN_STAGED
                const int whole_3x3 = dw.n_rows == 3u && dw.n_cols == 3u && fw == 3u && r->l->filter_h == 3u;
#endif
                // DW_BLOCK channels' sums, then one requantize call for them
                while (out_c - o >= 4u) {
                    uint32_t n = 0;
                    for (; n < DW_BLOCK && out_c - o - n >= 4u; n += 4u) {
#ifdef EMLML_CNN_STAGED
                        if (whole_3x3) {
                            depthwise_3x3_window4(acc + n, dw.x, dw.w, dw.step, dw.x_row, in_zp);
                        } else {
                            depthwise_window4(acc + n, &dw, in_zp);
                        }
#else
                        depthwise_window4(acc + n, &dw, in_zp);
#endif
                        dw.x += 4;
                        dw.w += 4;
                    }
                    requantize(r, acc, o, n, y);
                    y += n;
                    o += n;
                }
            }
#endif
#ifdef EMLML_CNN_THUMB1
            if (narrow && full3x3(&rows, &cols)) {  // the whole window channel by channel
                const int8_t *x = r->x + ((uint32_t)rows.origin * in_w + (uint32_t)cols.origin) * in_c;
                for (uint32_t n; o < out_c; o += n) {
                    n = out_c - o < DW_BLOCK ? out_c - o : DW_BLOCK;
                    windows3x3(acc, x + o, r->w + o, n, in_c, win.dilation_h * in_w * in_c, in_zp);
                    requantize(r, acc, o, n, y);
                    y += n;
                }
            }
#endif
            for (; o < out_c; o += DW_BLOCK) {
                const uint32_t n = out_c - o < DW_BLOCK ? out_c - o : DW_BLOCK;
                for (uint32_t j = 0; j < n; j++) {
                    acc[j] = 0;
                }
                for (uint32_t ky = rows.first; ky < rows.end; ky++) {
                    const uint32_t in_y = tap_at(&rows, ky, win.dilation_h);
                    for (uint32_t kx = cols.first; kx < cols.end; kx++) {
                        const int8_t *x = r->x + (in_y * in_w + tap_at(&cols, kx, win.dilation_w)) * in_c + o / multiplier;
                        depthwise_tap(acc, x, r->w + (ky * fw + kx) * out_c + o, n, multiplier, o % multiplier, in_zp);
                    }
                }
                requantize(r, acc, o, n, y);
                y += n;
            }
        }
    }
}

// FULLY_CONNECTED: the input flattened in memory order; row o of the weights is output o.
// Unlike conv, TFLite rescales the accumulator in double (per-channel binary64 scales).
static EMLML_NOINLINE void fully_connected(const layer_run_t *r) {
    const uint32_t n_in = emlml_cnn_size(r->in), n_out = r->out->c;
#ifdef EMLML_CNN_STAGED
    // the input staged once for every output (see stage_pairs), when it fits
    uint32_t buf[WINDOW_VALUES / 2u];
    const int staged = n_in % 4u == 0 && n_in <= WINDOW_VALUES;
    if (staged) {
        stage_pairs(buf, r->x, n_in, r->in->zero_point);
    }
#endif
#ifdef EMLML_CNN_THUMB1
#define FC_ACC 4u  // Cortex-M0: 4 outputs per input load where 4 are left (dot_block4)
#else
#define FC_ACC EMLML_CNN_BLOCK
#endif
    for (uint32_t o = 0, block; o < n_out; o += block) {
        block = n_out - o >= EMLML_CNN_BLOCK ? EMLML_CNN_BLOCK : 1u;
        const uint32_t w_step = block == EMLML_CNN_BLOCK ? n_in : 0u;
        int32_t acc[FC_ACC];
        for (uint32_t j = 0; j < FC_ACC; j++) {
            acc[j] = 0;
        }
#ifdef EMLML_CNN_STAGED
        if (staged) {
            dot_pairs(acc, buf, r->w + o * n_in, w_step, n_in, 1u);
        } else
#endif
#ifdef EMLML_CNN_THUMB1
        if (n_out - o >= 4u) {
            block = 4u;
            dot_block4(acc, r->x, r->w + o * n_in, n_in, n_in, r->in->zero_point, 1u);
        } else
#endif
        {
            dot_block(acc, r->x, r->w + o * n_in, w_step, n_in, r->in->zero_point);
        }
        for (uint32_t j = 0; j < block; j++) {
            int32_t q = emlml_rescale_f64(emlml_wrap_add(acc[j], r->q[o + j]), emlml_cnn_f64_bits(r->q + n_out + 2u * (o + j)));
            r->y[o + j] = clamp_to(emlml_wrap_add(q, r->out->zero_point), r->l->act_min, r->l->act_max);
        }
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

// The elementwise ops of two inputs (ADD, SUB, MUL, MAXIMUM, MINIMUM), one output value
// from one value of each input. ADD and SUB bring both inputs to a common scale with
// 2^left_shift of headroom, add or subtract, then requantize (TFLite's order of
// roundings: SUB is not ADD of a negated input); MUL requantizes the product; MAXIMUM
// and MINIMUM compare the raw values, as TFLite's int8 kernels do.
static int32_t binary_value(const layer_run_t *r, int32_t a, int32_t b, int32_t b_zp) {
    const int32_t *q = r->q;
    const uint8_t op = r->l->op;
    int32_t v;
    if (op == EMLML_CNN_MAXIMUM || op == EMLML_CNN_MINIMUM) {
        return (a > b) == (op == EMLML_CNN_MAXIMUM) ? a : b;
    }
    a -= r->in->zero_point;
    b -= b_zp;
    if (op == EMLML_CNN_MUL) {
        v = emlml_mbqm(a * b, q[0], q[1]);  // |a * b| <= 255 * 255
    } else {
        int32_t sa = emlml_mbqm(emlml_wrap_shl(a, (int)q[0]), q[1], q[2]);
        int32_t sb = emlml_mbqm(emlml_wrap_shl(b, (int)q[0]), q[3], q[4]);
        int32_t raw = op == EMLML_CNN_SUB ? emlml_wrap_sub(sa, sb) : emlml_wrap_add(sa, sb);
        v = emlml_mbqm(raw, q[5], q[6]);
    }
    return emlml_wrap_add(v, r->out->zero_point);
}

// Steps through a tensor per output row, column and channel: 0 along an axis of size 1,
// which broadcasts (the loader checked every other size equals the output's).
typedef struct {
    uint32_t row, col, chan;
} steps_t;

static steps_t steps_of(const emlml_cnn_tensor_t *t) {
    steps_t s;
    s.chan = t->c == 1 ? 0u : 1u;
    s.col = t->w == 1 ? 0u : t->c;
    s.row = t->h == 1 ? 0u : (uint32_t)t->w * t->c;
    return s;
}

// Two inputs, broadcast against each other into the output (Keras' squeeze-and-excite
// multiply of HxWxC by 1x1xC, a residual ADD of one shape, ...).
static void binary(const layer_run_t *r, const emlml_cnn_tensor_t *in1, const int8_t *x1) {
    const steps_t s0 = steps_of(r->in), s1 = steps_of(in1);
    int8_t *y = r->y;
    for (uint32_t row = 0; row < r->out->h; row++) {
        for (uint32_t col = 0; col < r->out->w; col++) {
            const int8_t *a = r->x + row * s0.row + col * s0.col;
            const int8_t *b = x1 + row * s1.row + col * s1.col;
            for (uint32_t ch = 0; ch < r->out->c; ch++) {
                int32_t v = binary_value(r, a[ch * s0.chan], b[ch * s1.chan], in1->zero_point);
                *y++ = clamp_to(v, r->l->act_min, r->l->act_max);
            }
        }
    }
}

// (x - row max) * beta as Q5.26 for the exponential.
static int32_t softmax_scaled_diff(int32_t diff, int32_t multiplier, int32_t left_shift) {
    return emlml_srdhm(emlml_wrap_shl(diff, (int)left_shift), multiplier);
}

// exp(beta * (x - max)) in Q0.31, the sum's reciprocal applied, in Q0.8 shifted to int8.
static int8_t softmax_output(int32_t scaled_diff, int32_t reciprocal, int num_bits_over_unit) {
    int32_t e = emlml_exp_on_negative_values(scaled_diff);
    int32_t unsaturated = emlml_rdbpot(emlml_srdhm(reciprocal, e), num_bits_over_unit + 31 - 8);
    return (int8_t)clamp_to(emlml_wrap_sub(unsaturated, 128), -128, 127);
}

#ifdef EMLML_CNN_STAGED
// A SOFTMAX row of at most SOFTMAX_KEPT values (a classifier's last layer: mnist_arduino
// spent about 3,000 instructions on 10) with each exp computed once: softmax's two passes
// compute it twice. The same values, so the same outputs.
#define SOFTMAX_KEPT 16u
static void softmax_row_kept(const layer_run_t *r, const int8_t *x, int8_t *y, uint32_t depth, int32_t max) {
    const int32_t multiplier = r->q[0], left_shift = r->q[1], diff_min = r->q[2];
    int32_t exps[SOFTMAX_KEPT];
    uint32_t sum_of_exps = 0;  // as softmax's
    for (uint32_t i = 0; i < depth; i++) {
        int32_t diff = x[i] - max;
        exps[i] = 0;
        if (diff >= diff_min) {
            exps[i] = emlml_exp_on_negative_values(softmax_scaled_diff(diff, multiplier, left_shift));
            sum_of_exps += (uint32_t)emlml_rdbpot(exps[i], 12);
        }
    }
    int num_bits_over_unit;
    int32_t reciprocal = emlml_reciprocal(sum_of_exps, 12, &num_bits_over_unit);
    const int beyond_tflite = sum_of_exps >= (1u << 28);
    for (uint32_t i = 0; i < depth; i++) {
        int32_t diff = x[i] - max;
        y[i] = -128;
        if (diff >= diff_min && !beyond_tflite) {
            int32_t unsaturated = emlml_rdbpot(emlml_srdhm(reciprocal, exps[i]), num_bits_over_unit + 31 - 8);
            y[i] = (int8_t)clamp_to(emlml_wrap_sub(unsaturated, 128), -128, 127);
        }
    }
}
#endif

// SOFTMAX over c: TFLite's reference int8 softmax. exp(beta * (x - max)) in Q0.31 for
// each value at or above diff_min, their sum in Q12.19, its reciprocal, and each
// output exp / sum in Q0.8, shifted to int8 (out.zp = -128, scale 1/256).
// A sum of 2^9 or more (raw 2^28, read as uint32 as TFLite's GetReciprocal does) makes
// the final rounding shift 32..35: TFLite aborts there (gemmlowp's exponent <= 31
// assert). Every output is then -128: that shift done exactly gives 0 for every value,
// as each exp / sum <= 2^-9 is below half of 1/256 (docs/cnn.md).
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
#ifdef EMLML_CNN_STAGED
        if (depth <= SOFTMAX_KEPT) {
            softmax_row_kept(r, x, y, depth, max);
            continue;
        }
#endif
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
        const int beyond_tflite = sum_of_exps >= (1u << 28);  // num_bits_over_unit > 8
        for (uint32_t i = 0; i < depth; i++) {
            int32_t diff = x[i] - max;
            y[i] = -128;
            if (diff >= diff_min && !beyond_tflite) {
                y[i] = softmax_output(softmax_scaled_diff(diff, multiplier, left_shift),
                                      reciprocal, num_bits_over_unit);
            }
        }
    }
}

// LOGISTIC, TANH, LEAKY_RELU, HARD_SWISH, QUANTIZE: an int8 output depends on one
// int8 input alone, so the host stores TFLite's result for each of the 256 values (its
// float LUT or its fixed-point path, whichever the reference kernel runs) and the board
// looks it up: bit-exact by construction, no float or 16-bit fixed point here.
static void lookup(const layer_run_t *r) {
    for (uint32_t i = 0, n = emlml_cnn_size(r->out); i < n; i++) {
        r->y[i] = r->w[(uint32_t)(r->x[i] + 128)];
    }
}

// CONCATENATION: in0 and in1 joined along the axis where out differs from in0 (the
// loader checked the shapes, and one quantization for all three: a copy). Each of the
// `outer` slices of out is a slice of in0 then one of in1.
static void concatenation(const layer_run_t *r, const emlml_cnn_tensor_t *in1, const int8_t *x1) {
    const emlml_cnn_tensor_t *in = r->in;
    uint32_t outer = 1, n0 = emlml_cnn_size(in), n1 = emlml_cnn_size(in1);
    if (r->out->h == in->h) {
        outer = in->h;
        n0 = (uint32_t)in->w * in->c;
        n1 = (uint32_t)in1->w * in1->c;
        if (r->out->w == in->w) {
            outer *= in->w;
            n0 = in->c;
            n1 = in1->c;
        }
    }
    int8_t *y = r->y;
    for (uint32_t k = 0; k < outer; k++) {
        copy_values(y, r->x + k * n0, n0);
        copy_values(y + n0, x1 + k * n1, n1);
        y += n0 + n1;
    }
}

// PRELU: x - in.zp rescaled as is when >= 0, times its alpha when negative (two
// requantizations, as TFLite's reference kernel). The weights hold the raw int8 alpha of
// every output value (broadcast by the converter); qparams: m1, s1, m2, s2, alpha.zp.
static void prelu(const layer_run_t *r) {
    const int32_t *q = r->q;
    for (uint32_t i = 0, n = emlml_cnn_size(r->out); i < n; i++) {
        int32_t v = r->x[i] - r->in->zero_point;
        v = v >= 0 ? emlml_mbqm(v, q[0], q[1]) : emlml_mbqm(v * (r->w[i] - q[4]), q[2], q[3]);  // |v * alpha| <= 255 * 255
        r->y[i] = clamp_to(emlml_wrap_add(v, r->out->zero_point), -128, 127);
    }
}

// The products of one output position and filter row/column: the input row (or
// column) that tap f of TRANSPOSE_CONV brings to output row o, or -1 when none does.
static int32_t transpose_source(uint32_t o, int32_t pad, uint32_t f, uint32_t stride, uint32_t in_size) {
    int32_t t = (int32_t)o + pad - (int32_t)f;
    if (t < 0 || (uint32_t)t % stride != 0u || (uint32_t)t / stride >= in_size) {
        return -1;
    }
    return (int32_t)((uint32_t)t / stride);
}

// TRANSPOSE_CONV: TFLite scatters each input value, times each filter tap, into the
// output its tap reaches (input row i, tap f: output row i * stride - pad + f, the pad
// of a convolution from out to in). Here each output gathers the same products: an
// int32 sum of at most fh * fw * in.c products (checked at load), so the order does
// not change it. Weights OHWI; then bias, MBQM, out.zp, the fused activation.
static EMLML_NOINLINE void transpose_conv(const layer_run_t *r) {
    const emlml_cnn_layer_t *l = r->l;
    const uint32_t in_h = r->in->h, in_w = r->in->w, in_c = r->in->c, out_c = r->out->c;
    const uint32_t fh = l->filter_h, fw = l->filter_w;
    const int32_t pad_top = emlml_cnn_pad_before(r->out->h, in_h, l->stride_h, fh);
    const int32_t pad_left = emlml_cnn_pad_before(r->out->w, in_w, l->stride_w, fw);
    const int32_t zp = r->in->zero_point;
    int8_t *y = r->y;
    for (uint32_t oy = 0; oy < r->out->h; oy++) {
        for (uint32_t ox = 0; ox < r->out->w; ox++) {
            for (uint32_t o = 0; o < out_c; o++) {
                int32_t acc = 0;
                for (uint32_t fy = 0; fy < fh; fy++) {
                    int32_t iy = transpose_source(oy, pad_top, fy, l->stride_h, in_h);
                    for (uint32_t fx = 0; fx < fw && iy >= 0; fx++) {
                        int32_t ix = transpose_source(ox, pad_left, fx, l->stride_w, in_w);
                        if (ix < 0) {
                            continue;
                        }
                        const int8_t *x = r->x + ((uint32_t)iy * in_w + (uint32_t)ix) * in_c;
                        const int8_t *w = r->w + ((o * fh + fy) * fw + fx) * in_c;
                        for (uint32_t i = 0; i < in_c; i++) {
                            acc += (x[i] - zp) * w[i];
                        }
                    }
                }
                requantize(r, &acc, o, 1u, y++);
            }
        }
    }
}

// A tensor's values: in the arena, or a constant's in the weights (the loader checked
// that a constant has weights to lie in, and that no layer writes one).
static const int8_t *values_of(const emlml_cnn_t *cnn, const emlml_cnn_tensor_t *t, const int8_t *arena) {
    return (t->flags != 0 ? cnn->weights : arena) + t->offset;
}

static void run_layer(const emlml_cnn_t *cnn, const emlml_cnn_layer_t *l, int8_t *arena) {
    layer_run_t r;
    const emlml_cnn_tensor_t *in1 = &cnn->tensors[l->in1];
    r.l = l;
    r.in = &cnn->tensors[l->in0];
    r.out = &cnn->tensors[l->out];
    r.x = values_of(cnn, r.in, arena);
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
        case EMLML_CNN_ADD:
        case EMLML_CNN_MUL:
        case EMLML_CNN_SUB:
        case EMLML_CNN_MAXIMUM:
        case EMLML_CNN_MINIMUM: binary(&r, in1, values_of(cnn, in1, arena)); break;
        case EMLML_CNN_SOFTMAX: softmax(&r); break;
        case EMLML_CNN_RESHAPE: copy_values(r.y, r.x, emlml_cnn_size(r.in)); break;
        case EMLML_CNN_PRELU: prelu(&r); break;
        case EMLML_CNN_TRANSPOSE_CONV: transpose_conv(&r); break;
        case EMLML_CNN_CONCATENATION: concatenation(&r, in1, values_of(cnn, in1, arena)); break;
        default: lookup(&r); break;  // the table ops (the loader knows no other)
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

#endif // EMLML_WITH_CNN
