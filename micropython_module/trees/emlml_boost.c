// Gradient boosting (kind 4, docs/FORMAT.md "Boosting"): the trees' walks (emlml_trees.c)
// with additive leaves. Each score group (one raw score per class of a multiclass model,
// else one) starts at its init score and adds, in tree order, the leaf values of its
// trees (tree i belongs to group i % n_groups), in the arithmetic of the library:
// binary64 (scikit-learn, LightGBM) done in integers so that every board gets the
// library's bits, or float32 (XGBoost). The class is decided on those raw scores, as the
// library decides it; the probabilities come from their float32 roundings.
#include "emlml_internal.h"

#if EMLML_WITH_TREES

// BOOST_PARAMS: u8 link, u8 decision, u8 sum, u8 reserved, u32 n_groups, f64 threshold,
// f64 init[n_groups] (little-endian words).
enum {
    PARAMS_HEADER = 8,
    PARAMS_THRESHOLD_WORD = 2,
    PARAMS_INIT_WORD = 4,
};

#define F64_SIGN ((uint64_t)1 << 63)

// A binary64 from two little-endian words at w[2i] (sections are only 4-byte aligned).
static uint64_t read_f64(const uint32_t *w, uint32_t i) {
    return (uint64_t)w[2u * i] | ((uint64_t)w[2u * i + 1u] << 32);
}

static int f64_is_finite(uint64_t bits) {
    return (bits & ((uint64_t)0x7FF << 52)) != ((uint64_t)0x7FF << 52);
}

// An unsigned key that orders as the double does (-0 and +0 equal).
static uint64_t f64_order(uint64_t bits) {
    if (bits == F64_SIGN) {
        bits = 0;
    }
    return (bits & F64_SIGN) != 0 ? ~bits : bits | F64_SIGN;
}

// Which link fits the task and outputs: a regressor has one identity score, a binary
// classifier one sigmoid score, a multiclass one a softmax score per class.
static int link_fits(const emlml_model_t *m, uint32_t link, uint32_t n_groups) {
    if (m->task == EMLML_TASK_REGRESSOR) {
        return link == EMLML_BOOST_IDENTITY && n_groups == 1u;
    }
    if (link == EMLML_BOOST_SIGMOID) {
        return m->n_outputs == 2u && n_groups == 1u;
    }
    return link == EMLML_BOOST_SOFTMAX && m->n_outputs >= 2u && n_groups == m->n_outputs;
}

static emlml_status_t check_params(emlml_model_t *m, const emlml_section_t *sec, emlml_error_t *err) {
    emlml_trees_t *t = &m->u.trees;
    if (sec->data == NULL) {
        return emlml_fail(err, EMLML_E_SECTION_MISSING, EMLML_SEC_BOOST_PARAMS, 0, 0);
    }
    if (sec->size < PARAMS_HEADER) {
        return emlml_fail(err, EMLML_E_SECTION_LENGTH, EMLML_SEC_BOOST_PARAMS, sec->size, PARAMS_HEADER);
    }
    const uint8_t *p = sec->data;
    uint32_t n_groups = emlml_rd_u32(p + 4);
    if (!link_fits(m, p[0], n_groups)) {
        return emlml_fail4(err, EMLML_E_BOOST_LINK, p[0], m->task, m->n_outputs, n_groups);
    }
    if (p[1] > 1u || p[2] > EMLML_BOOST_SUM_F32 || p[3] != 0) {
        return emlml_fail(err, EMLML_E_BOOST_PARAMS, p[1], p[2], p[3]);
    }
    uint32_t expected = 16u + 8u * n_groups;  // n_groups <= n_outputs < 2^16: no overflow
    if (sec->size != expected) {
        return emlml_fail(err, EMLML_E_SECTION_LENGTH, EMLML_SEC_BOOST_PARAMS, sec->size, expected);
    }
    t->boost_params = (const uint32_t *)(const void *)p;
    t->n_groups = n_groups;
    t->link = p[0];
    t->decision = p[1];
    t->sum = p[2];
    for (uint32_t i = 0; i <= n_groups; i++) {  // the threshold, then the init scores
        if (!f64_is_finite(read_f64(t->boost_params + PARAMS_THRESHOLD_WORD, i))) {
            return emlml_fail(err, EMLML_E_BOOST_SCORE, i, 0, 0);
        }
    }
    return EMLML_OK;
}

static emlml_status_t check_leaf_values(const emlml_trees_t *t, emlml_error_t *err) {
    const uint32_t *words = (const uint32_t *)(const void *)t->leaves;
    for (uint32_t i = 0; i < t->n_leaves; i++) {
        int finite = t->sum == EMLML_BOOST_SUM_F64 ? f64_is_finite(read_f64(words, i))
            : (words[i] & 0x7F800000u) != 0x7F800000u;
        if (!finite) {
            return emlml_fail(err, EMLML_E_BOOST_LEAF, i, 0, 0);
        }
    }
    return EMLML_OK;
}

// BOOST_ZERO (optional): a bit per input, set where an input of magnitude <= 1e-35f is a
// missing value (LightGBM's zero_as_missing) and walks as NaN does, by TREE_NAN's bits.
static emlml_status_t check_zero_bits(emlml_model_t *m, const emlml_sections_t *s, emlml_error_t *err) {
    const emlml_section_t *sec = &s->by_id[EMLML_SEC_BOOST_ZERO];
    m->u.trees.zero_missing = (const uint32_t *)(const void *)sec->data;
    if (sec->data == NULL) {
        return EMLML_OK;
    }
    if (m->input_type != EMLML_INPUT_F32 || m->u.trees.nan_left == NULL) {
        return emlml_fail(err, EMLML_E_BOOST_ZERO_NAN, 0, 0, 0);
    }
    uint32_t words = m->n_inputs / 32u + (m->n_inputs % 32u != 0);
    if (sec->size != 4u * words) {
        return emlml_fail(err, EMLML_E_SECTION_LENGTH, EMLML_SEC_BOOST_ZERO, sec->size, 4u * words);
    }
    for (uint32_t i = m->n_inputs; i < 32u * words; i++) {
        if ((m->u.trees.zero_missing[i / 32u] >> (i % 32u)) & 1u) {
            return emlml_fail(err, EMLML_E_BOOST_ZERO_PADDING, i, m->n_inputs, 0);
        }
    }
    return EMLML_OK;
}

emlml_status_t emlml_boost_load(emlml_model_t *m, const emlml_sections_t *s, uint32_t *arena_needed, emlml_error_t *err) {
    emlml_status_t st = check_params(m, &s->by_id[EMLML_SEC_BOOST_PARAMS], err);
    if (st != EMLML_OK) {
        return st;
    }
    emlml_trees_t *t = &m->u.trees;
    uint32_t leaf_unit = t->sum == EMLML_BOOST_SUM_F64 ? 8u : 4u;
    if ((st = emlml_trees_check_nodes(m, s, EMLML_SEC_BOOST_LEAVES, leaf_unit, err)) != EMLML_OK) {
        return st;
    }
    if (t->n_trees % t->n_groups != 0) {
        return emlml_fail(err, EMLML_E_BOOST_GROUPS, t->n_trees, t->n_groups, 0);
    }
    if ((st = emlml_trees_check_nan(m, s, err)) != EMLML_OK) {
        return st;
    }
    if ((st = check_leaf_values(t, err)) != EMLML_OK) {
        return st;
    }
    if ((st = check_zero_bits(m, s, err)) != EMLML_OK) {
        return st;
    }
    *arena_needed = 4u * m->n_inputs + 12u * m->n_outputs;  // keys, outputs, binary64 scores
    return EMLML_OK;
}

// The raw score of group g as a binary64 bit pattern: its init score plus the leaf values
// of trees g, g + n_groups, ... in that order, in the library's arithmetic.
static uint64_t group_score(const emlml_trees_t *t, uint32_t g, const void *src, int walk) {
    const uint32_t *leaves = (const uint32_t *)(const void *)t->leaves;
    uint64_t init = read_f64(t->boost_params + PARAMS_INIT_WORD, g);
    if (t->sum == EMLML_BOOST_SUM_F32) {
        float sum = emlml_f32_from_bits(emlml_f64_to_f32(init));
        for (uint32_t tree = g; tree < t->n_trees; tree += t->n_groups) {
            sum += emlml_f32_from_bits(leaves[emlml_trees_leaf(t, tree, src, walk)]);
        }
        return emlml_f64_from_f32(emlml_f32_bits(sum));
    }
    uint64_t sum = init;
    for (uint32_t tree = g; tree < t->n_trees; tree += t->n_groups) {
        sum = emlml_f64_add_signed(sum, read_f64(leaves, emlml_trees_leaf(t, tree, src, walk)));
    }
    return sum;
}

// Sigmoid and softmax in float32 on the float32 roundings of the raw scores, in place.
static void apply_link(const emlml_model_t *m, float *out) {
    uint32_t link = m->u.trees.link;
    if (link == EMLML_BOOST_SIGMOID) {
        float p = 1.0f / (1.0f + emlml_expf(-out[1]));
        out[0] = 1.0f - p;
        out[1] = p;
    } else if (link == EMLML_BOOST_SOFTMAX) {
        uint32_t n = m->n_outputs;
        float top = out[emlml_argmax(out, n)];
        float total = 0.0f;
        for (uint32_t c = 0; c < n; c++) {
            out[c] = emlml_expf(out[c] - top);
            total += out[c];
        }
        for (uint32_t c = 0; c < n; c++) {
            out[c] = out[c] / total;
        }
    }
}

// The raw score of group g kept in the arena as two words (the arena is 4-byte aligned).
static uint64_t kept_score(const uint32_t *scores, uint32_t g) {
    return (uint64_t)scores[2u * g] | ((uint64_t)scores[2u * g + 1u] << 32);
}

// The libraries' multiclass predict is the first largest of their softmax, in which a
// score within `threshold` of the largest ties with it (exp rounds to 1.0 there): in
// float32 for XGBoost (float32 sums), in binary64 for LightGBM.
static uint32_t first_near_max(const emlml_trees_t *t, const uint32_t *scores, uint32_t best, uint64_t threshold) {
    uint64_t top = kept_score(scores, best);
    float top32 = emlml_f32_from_bits(emlml_f64_to_f32(top));
    float below32 = -emlml_f32_from_bits(emlml_f64_to_f32(threshold));
    uint64_t below = f64_order(threshold ^ F64_SIGN);
    for (uint32_t c = 0; c < best; c++) {
        uint64_t score = kept_score(scores, c);
        int near = t->sum == EMLML_BOOST_SUM_F32
            ? emlml_f32_from_bits(emlml_f64_to_f32(score)) - top32 >= below32
            : f64_order(emlml_f64_add_signed(score, top ^ F64_SIGN)) >= below;
        if (near) {
            return c;
        }
    }
    return best;
}

const float *emlml_boost_predict(const emlml_model_t *m, const void *src, int walk, void *arena, uint32_t *predicted, int want_outputs) {
    const emlml_trees_t *t = &m->u.trees;
    float *out = (float *)arena + m->n_inputs;
    uint32_t *scores = (uint32_t *)(void *)(out + m->n_outputs);  // binary64 raw scores
    uint64_t threshold = read_f64(t->boost_params + PARAMS_THRESHOLD_WORD, 0);
    uint64_t best = 0;
    for (uint32_t g = 0; g < t->n_groups; g++) {
        uint64_t score = group_score(t, g, src, walk);
        uint64_t order = f64_order(score);
        if (g == 0 || order > best) {  // the first largest (numpy's argmax)
            best = order;
            *predicted = g;
        }
        scores[2u * g] = (uint32_t)score;
        scores[2u * g + 1u] = (uint32_t)(score >> 32);
    }
    if (t->link == EMLML_BOOST_SIGMOID) {
        uint64_t limit = f64_order(threshold);
        *predicted = t->decision == 0 ? best > limit : best >= limit;
    } else if (t->link == EMLML_BOOST_IDENTITY) {
        *predicted = 0;
    } else if (t->decision == 1) {
        *predicted = first_near_max(t, scores, *predicted, threshold);
    }
    if (want_outputs) {  // predict() alone leaves the outputs of the last predict_proba
        uint32_t first = t->link == EMLML_BOOST_SIGMOID ? 1u : 0u;  // a binary score is class 1's
        for (uint32_t g = 0; g < t->n_groups; g++) {
            out[first + g] = emlml_f32_from_bits(emlml_f64_to_f32(kept_score(scores, g)));
        }
        apply_link(m, out);
    }
    return out;
}

#endif  // EMLML_WITH_TREES
