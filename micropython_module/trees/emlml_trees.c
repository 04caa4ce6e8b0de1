// Decision trees, random forests and extra trees (docs/FORMAT.md, Trees).
//
// Inputs become signed 32-bit keys that order like the values, so a split is one
// integer compare: no float compare (and no soft-float call on an FPU-less core) in
// the walk. A NaN becomes the largest key, and a split that sends NaN to its other
// side reads the input's reversed key (FORMAT.md, Missing values): the walk is the same
// compare for every node. Children point forward, checked at load, so every walk ends
// at a leaf.
#include "emlml_internal.h"

// Interleaved walks pay off on out-of-order cores; a microcontroller walks one tree
// at a time (fewest instructions). Both give the same leaves.
#ifndef EMLML_TREES_INTERLEAVE
#if defined(__x86_64__) || defined(__aarch64__)
#define EMLML_TREES_INTERLEAVE 1
#else
#define EMLML_TREES_INTERLEAVE 0
#endif
#endif

static emlml_status_t check_section_sizes(const emlml_model_t *m, const emlml_sections_t *s, emlml_error_t *err) {
    static const uint8_t ids[3] = {EMLML_SEC_TREE_ROOTS, EMLML_SEC_TREE_NODES, EMLML_SEC_TREE_LEAVES};
    for (int i = 0; i < 3; i++) {
        const emlml_section_t *sec = &s->by_id[ids[i]];
        uint32_t unit = ids[i] == EMLML_SEC_TREE_ROOTS ? 4u
            : ids[i] == EMLML_SEC_TREE_NODES ? (uint32_t)sizeof(emlml_tree_node_t)
            : 4u * m->n_outputs;
        if (sec->data == NULL) {
            return emlml_fail(err, EMLML_E_SECTION_MISSING, ids[i], 0, 0);
        }
        if (sec->size % unit != 0) {
            return emlml_fail(err, EMLML_E_SECTION_SIZE, ids[i], sec->size, unit);
        }
    }
    return EMLML_OK;
}

static emlml_status_t check_roots(const emlml_trees_t *t, emlml_error_t *err) {
    if (t->n_trees < 1 || t->n_trees > EMLML_MAX_TREES) {
        return emlml_fail(err, EMLML_E_TREE_COUNT, t->n_trees, 0, 0);
    }
    for (uint32_t i = 0; i < t->n_trees; i++) {
        uint32_t root = t->roots[i];
        uint32_t lowest = i == 0 ? 0 : t->roots[i - 1] + 1;
        if (root >= t->n_nodes || root < lowest || (i == 0 && root != 0)) {
            return emlml_fail(err, EMLML_E_TREE_ROOT, i, root, 0);
        }
    }
    return EMLML_OK;
}

static emlml_status_t check_tree_nodes(const emlml_model_t *m, uint32_t tree, emlml_error_t *err) {
    const emlml_trees_t *t = &m->u.trees;
    uint32_t start = t->roots[tree];
    uint32_t end = tree + 1 < t->n_trees ? t->roots[tree + 1] : t->n_nodes;
    for (uint32_t i = start; i < end; i++) {
        const emlml_tree_node_t *node = &t->nodes[i];
        if (node->feature == EMLML_TREE_LEAF) {
            if (node->right != 0) {
                return emlml_fail(err, EMLML_E_TREE_LEAF_CHILD, tree, i - start, 0);
            }
            if (node->key < 0 || (uint32_t)node->key >= t->n_leaves) {
                return emlml_fail(err, EMLML_E_TREE_LEAF, tree, i - start, (uint32_t)node->key);
            }
        } else {
            // With NaN routing, features n_inputs .. 2 * n_inputs - 1 read reversed keys.
            if (node->feature >= (t->nan_routing ? 2u * m->n_inputs : m->n_inputs)) {
                return emlml_fail4(err, EMLML_E_TREE_FEATURE, tree, i - start, node->feature, m->n_inputs);
            }
            if (node->right == 0 || node->right >= end - i) {
                return emlml_fail(err, EMLML_E_TREE_CHILD, tree, i - start, 0);
            }
        }
    }
    return EMLML_OK;
}

// A classifier's leaf holds each class's share of the tree's vote as an integer out
// of vote_scale = floor((2^32 - 1) / n_trees), so the sum over all trees of any class
// fits in 32 bits: integer adds (no soft-float on an FPU-less core), exact argmax.
static uint32_t vote_scale(uint32_t n_trees) {
    return 0xFFFFFFFFu / n_trees;
}

static emlml_status_t check_votes(const emlml_model_t *m, emlml_error_t *err) {
    const emlml_trees_t *t = &m->u.trees;
    const uint32_t *votes = (const uint32_t *)(const void *)t->leaves;
    uint32_t scale = vote_scale(t->n_trees);
    uint32_t n_values = t->n_leaves * m->n_outputs;
    for (uint32_t i = 0; i < n_values; i++) {
        if (votes[i] > scale) {
            return emlml_fail(err, EMLML_E_TREE_VOTE, i / m->n_outputs, votes[i], scale);
        }
    }
    return EMLML_OK;
}

// TREE_WEIGHTS (optional, classifiers): per leaf vector its training weight m >= 1
// (scikit-learn's weighted_n_node_samples), from which the tie replay recovers the
// class counts and scikit-learn's float64 fractions (leaf_fraction below).
static emlml_status_t check_weights(const emlml_model_t *m, const emlml_section_t *sec, emlml_error_t *err) {
    const emlml_trees_t *t = &m->u.trees;
    if (m->task != EMLML_TASK_CLASSIFIER) {
        return emlml_fail(err, EMLML_E_TREE_WEIGHTS_TASK, 0, 0, 0);
    }
    if (sec->size / 4u != t->n_leaves || sec->size % 4u != 0) {
        return emlml_fail(err, EMLML_E_SECTION_LENGTH, EMLML_SEC_TREE_WEIGHTS, sec->size, 4u * t->n_leaves);
    }
    const uint32_t *weights = (const uint32_t *)(const void *)sec->data;
    for (uint32_t i = 0; i < t->n_leaves; i++) {
        if (weights[i] == 0) {
            return emlml_fail(err, EMLML_E_TREE_WEIGHT, i, 0, 0);
        }
    }
    return EMLML_OK;
}

emlml_status_t emlml_trees_load(emlml_model_t *m, const emlml_sections_t *s, uint32_t *arena_needed, emlml_error_t *err) {
    emlml_trees_t *t = &m->u.trees;
    t->nan_routing = (emlml_rd_u16(m->blob + 22) & EMLML_FLAG_TREES_NAN) != 0;  // header flags
    if (t->nan_routing && m->input_type != EMLML_INPUT_F32) {
        return emlml_fail(err, EMLML_E_TREE_NAN_INPUT, m->input_type, 0, 0);
    }
    emlml_status_t st = check_section_sizes(m, s, err);
    if (st != EMLML_OK) {
        return st;
    }
    const emlml_section_t *roots = &s->by_id[EMLML_SEC_TREE_ROOTS];
    const emlml_section_t *nodes = &s->by_id[EMLML_SEC_TREE_NODES];
    const emlml_section_t *leaves = &s->by_id[EMLML_SEC_TREE_LEAVES];
    // Sections are 4-byte aligned (checked by the loader), so these casts are aligned.
    t->roots = (const uint32_t *)(const void *)roots->data;
    t->nodes = (const emlml_tree_node_t *)(const void *)nodes->data;
    t->leaves = leaves->data;
    t->n_trees = roots->size / 4u;
    t->n_nodes = nodes->size / (uint32_t)sizeof(emlml_tree_node_t);
    t->n_leaves = leaves->size / (4u * m->n_outputs);
    if ((st = check_roots(t, err)) != EMLML_OK) {
        return st;
    }
    for (uint32_t tree = 0; tree < t->n_trees; tree++) {
        if ((st = check_tree_nodes(m, tree, err)) != EMLML_OK) {
            return st;
        }
    }
    if (m->task == EMLML_TASK_CLASSIFIER && (st = check_votes(m, err)) != EMLML_OK) {
        return st;
    }
    const emlml_section_t *weights = &s->by_id[EMLML_SEC_TREE_WEIGHTS];
    t->weights = (const uint32_t *)(const void *)weights->data;
    if (weights->data != NULL && (st = check_weights(m, weights, err)) != EMLML_OK) {
        return st;
    }
    // Input keys (twice as many with NaN routing: the reversed ones), sums, outputs.
    *arena_needed = 4u * m->n_inputs * (t->nan_routing ? 2u : 1u) + 8u * m->n_outputs;
    return EMLML_OK;
}

// The key of a float32: its bit pattern as a signed integer, with the magnitude bits
// of negative numbers flipped so that keys order as the floats do. (Three instructions:
// the arithmetic right shift of a negative int32 is implementation-defined in C99, and
// arithmetic on every compiler this code targets.)
static inline int32_t float_key(uint32_t bits) {
    uint32_t flip = (uint32_t)((int32_t)bits >> 31) >> 1;
    return (int32_t)(bits ^ flip);
}

// The keys of float inputs x[f], x[f + 1], ... up to the first NaN or infinity (its
// index is returned; n when there is none): keys[f], and with NaN routing also the
// reversed key keys[n + f] = ~keys[f] (~a <= ~b exactly when a >= b). Nothing but the
// loop lives here, one byte offset indexing the three arrays, so that gcc keeps it in
// registers: on an armv6m core 13 instructions per input with NaN routing, 11 without.
#define EMLML_KEY_AT(base, offset) (*(int32_t *)(void *)((uint8_t *)(base) + (offset)))
#define EMLML_BITS_AT(base, offset) (*(const uint32_t *)(const void *)((const uint8_t *)(base) + (offset)))

static EMLML_NOINLINE uint32_t routed_keys(const uint32_t *x, uint32_t f, uint32_t n, int32_t *keys) {
    int32_t *reversed = keys + n;
    uint32_t at = 4u * f;
    uint32_t end = 4u * n;
    if (at == end) {
        return n;
    }
    do {  // (a do-while: one branch per input fewer than a for loop in gcc's code)
        uint32_t b = EMLML_BITS_AT(x, at);
        if ((b << 1) >= 0xFF000000u) {  // exponent all ones: NaN or infinity
            break;
        }
        int32_t key = float_key(b);
        EMLML_KEY_AT(keys, at) = key;
        EMLML_KEY_AT(reversed, at) = ~key;
        at += 4u;
    } while (at != end);
    return at / 4u;
}

static EMLML_NOINLINE uint32_t plain_keys(const uint32_t *x, uint32_t f, uint32_t n, int32_t *keys) {
    uint32_t at = 4u * f;
    uint32_t end = 4u * n;
    if (at == end) {
        return n;
    }
    do {
        uint32_t b = EMLML_BITS_AT(x, at);
        if ((b << 1) >= 0xFF000000u) {
            break;
        }
        EMLML_KEY_AT(keys, at) = float_key(b);
        at += 4u;
    } while (at != end);
    return at / 4u;
}

// Float inputs become keys in the arena once per prediction; the walk then reads one
// key per node. A NaN becomes INT32_MAX in both halves with NaN routing: above every
// threshold, so a split sends it to the child at `right`, the side the converter put
// NaN's child on. Infinity is refused (NaN too without NaN routing), the first one.
static emlml_status_t float_keys(const emlml_model_t *m, const uint32_t *x, int32_t *keys, emlml_error_t *err) {
    uint32_t n = m->n_inputs;
    if (!m->u.trees.nan_routing) {
        uint32_t f = plain_keys(x, 0, n, keys);
        return f == n ? EMLML_OK : emlml_fail(err, EMLML_E_INPUT_NONFINITE, f, 0, 0);
    }
    for (uint32_t f = routed_keys(x, 0, n, keys); f < n; f = routed_keys(x, f + 1, n, keys)) {
        if ((x[f] << 1) == 0xFF000000u) {
            return emlml_fail(err, EMLML_E_INPUT_INFINITE, f, 0, 0);
        }
        keys[f] = INT32_MAX;
        keys[n + f] = INT32_MAX;
    }
    return EMLML_OK;
}

// Integer inputs are widened to int32 keys once, then walked.
static void integer_keys(const emlml_model_t *m, const void *input, int32_t *keys) {
    for (uint32_t f = 0; f < m->n_inputs; f++) {
        keys[f] = m->input_type == EMLML_INPUT_I8 ? ((const int8_t *)input)[f]
            : m->input_type == EMLML_INPUT_U8 ? ((const uint8_t *)input)[f]
            : ((const int16_t *)input)[f];
    }
}

static const emlml_tree_node_t *walk_keys(const emlml_tree_node_t *node, const int32_t *keys) {
    while (node->feature != EMLML_TREE_LEAF) {
        if (keys[node->feature] <= node->key) {
            node++;
        } else {
            node += node->right;
        }
    }
    return node;
}

#if EMLML_TREES_INTERLEAVE
// Four walks at once without branches on the comparisons. On an out-of-order core
// the four chains of dependent loads overlap, where one branchy walk stalls on a
// mispredicted branch at every other level. A lane that reached its leaf stays there
// (step 0) and reads key 0, which always exists.
static void walk4(const emlml_tree_node_t *nodes[4], const int32_t *keys) {
    uint32_t active;
    do {
        active = 0;
        for (int j = 0; j < 4; j++) {
            const emlml_tree_node_t *node = nodes[j];
            uint32_t split_mask = 0u - (uint32_t)(node->feature != EMLML_TREE_LEAF);
            int32_t key = keys[node->feature & split_mask];
            uint32_t right_mask = 0u - (uint32_t)(key > node->key);
            uint32_t step = (1u + (right_mask & ((uint32_t)node->right - 1u))) & split_mask;
            nodes[j] = node + step;
            active |= split_mask;
        }
    } while (active != 0);
}
#endif

static inline void add_votes(uint32_t *restrict acc, const uint32_t *restrict votes, uint32_t n_out) {
    for (uint32_t o = 0; o < n_out; o++) {
        acc[o] += votes[o];
    }
}

// The leaf index tree `tree` ends in.
static inline uint32_t tree_leaf(const emlml_trees_t *t, uint32_t tree, const int32_t *keys) {
    return (uint32_t)walk_keys(&t->nodes[t->roots[tree]], keys)->key;
}

// floor(n / d) for a quotient below 2^32, by restoring long division (no 64-bit
// division helper: the ESP32 build links no libgcc).
static uint32_t div_u64_u32(uint64_t n, uint32_t d) {
    uint64_t rem = n >> 32;  // < d, as the quotient fits in 32 bits
    uint32_t q = 0;
    for (int bit = 31; bit >= 0; bit--) {
        rem = (rem << 1) | ((n >> bit) & 1u);
        q <<= 1;
        if (rem >= d) {
            rem -= d;
            q |= 1u;
        }
    }
    return q;
}

// scikit-learn's float64 fraction of leaf vector `leaf`, class c (FORMAT.md, Ties): the
// class weight k = floor((votes * m + floor(S / 2)) / S) recovered from the vote, then
// k / m correctly rounded (scikit-learn's sum_total[c] / weighted_n_node_samples).
static uint64_t leaf_fraction(const emlml_model_t *m, uint32_t leaf, uint32_t c) {
    const emlml_trees_t *t = &m->u.trees;
    uint32_t scale = vote_scale(t->n_trees);
    uint32_t vote = ((const uint32_t *)(const void *)t->leaves)[leaf * m->n_outputs + c];
    uint32_t weight = t->weights[leaf];
    // vote <= scale (checked at load), so the quotient is at most weight < 2^32
    uint32_t k = div_u64_u32((uint64_t)vote * weight + (scale >> 1), scale);
    return emlml_f64_div_u32(emlml_f64_from_u32(k), weight);
}

// scikit-learn's predict between the classes whose votes are within n_trees + 1 of the
// best (FORMAT.md, Ties): each class's leaf fractions added in binary64 in tree order
// from +0.0, divided by n_trees, the first largest. Outside that margin the integer
// votes already order the classes as those float64 sums do.
static EMLML_NOINLINE uint32_t replay_tie(const emlml_model_t *m, const int32_t *keys, const uint32_t *acc, uint32_t best) {
    const emlml_trees_t *t = &m->u.trees;
    uint32_t margin = t->n_trees + 1u;
    uint32_t winner = best;
    uint64_t winner_mean = 0;
    int have = 0;
    for (uint32_t c = 0; c < m->n_outputs; c++) {
        if (acc[best] - acc[c] > margin) {
            continue;
        }
        uint64_t sum = 0;
        for (uint32_t tree = 0; tree < t->n_trees; tree++) {
            sum = emlml_f64_add(sum, leaf_fraction(m, tree_leaf(t, tree, keys), c));
        }
        uint64_t mean = emlml_f64_div_u32(sum, t->n_trees);
        if (!have || mean > winner_mean) {  // bit patterns of doubles >= +0 order as the values
            winner = c;
            winner_mean = mean;
            have = 1;
        }
    }
    return winner;
}

// Classifier: integer vote sums, the class with the most (scikit-learn's float64 replay
// when another class is within the votes' rounding), and the probabilities
// sum / (vote_scale * n_trees) in float32.
static const float *classify(const emlml_model_t *m, const int32_t *keys, void *arena, uint32_t *predicted, int want_outputs) {
    const emlml_trees_t *t = &m->u.trees;
    const uint32_t *votes = (const uint32_t *)(const void *)t->leaves;
    uint32_t n_out = m->n_outputs;
    uint32_t n_keys = m->n_inputs * (t->nan_routing ? 2u : 1u);
    uint32_t *acc = (uint32_t *)arena + n_keys;
    float *out = (float *)arena + n_keys + n_out;
    for (uint32_t o = 0; o < n_out; o++) {
        acc[o] = 0;
    }
    uint32_t tree = 0;
#if EMLML_TREES_INTERLEAVE
    for (; tree + 4 <= t->n_trees; tree += 4) {
        const emlml_tree_node_t *leaf[4];
        for (int j = 0; j < 4; j++) {
            leaf[j] = &t->nodes[t->roots[tree + (uint32_t)j]];
        }
        walk4(leaf, keys);
        for (int j = 0; j < 4; j++) {
            add_votes(acc, votes + (uint32_t)leaf[j]->key * n_out, n_out);
        }
    }
#endif
    for (; tree < t->n_trees; tree++) {
        add_votes(acc, votes + tree_leaf(t, tree, keys) * n_out, n_out);
    }
    uint32_t best = 0, close = 0;
    for (uint32_t o = 1; o < n_out; o++) {
        if (acc[o] > acc[best]) {
            best = o;
        }
    }
    if (t->weights != NULL) {
        for (uint32_t o = 0; o < n_out; o++) {
            close += acc[best] - acc[o] <= t->n_trees + 1u;
        }
    }
    *predicted = close > 1u ? replay_tie(m, keys, acc, best) : best;
    if (!want_outputs) {
        return out;  // predict() needs only the class: no float conversions and divisions
    }
    float total = (float)(vote_scale(t->n_trees) * t->n_trees);
    for (uint32_t o = 0; o < n_out; o++) {
        out[o] = (float)acc[o] / total;
    }
    return out;
}

// Regressor: the leaf values added in float32 in tree order, divided by n_trees.
static const float *regress(const emlml_model_t *m, const int32_t *keys, void *arena) {
    const emlml_trees_t *t = &m->u.trees;
    const float *values = (const float *)(const void *)t->leaves;
    uint32_t n_keys = m->n_inputs * (t->nan_routing ? 2u : 1u);
    float *out = (float *)arena + n_keys + m->n_outputs;
    float sum = 0.0f;
    for (uint32_t tree = 0; tree < t->n_trees; tree++) {
        sum += values[tree_leaf(t, tree, keys)];
    }
    out[0] = sum / (float)t->n_trees;
    return out;
}

const float *emlml_trees_predict(const emlml_model_t *m, const void *input, void *arena, uint32_t *predicted, int want_outputs, emlml_error_t *err) {
    int32_t *keys = (int32_t *)arena;
    if (m->input_type == EMLML_INPUT_F32) {
        if (float_keys(m, (const uint32_t *)input, keys, err) != EMLML_OK) {
            return NULL;
        }
    } else {
        integer_keys(m, input, keys);
    }
    *predicted = 0;
    return m->task == EMLML_TASK_CLASSIFIER
        ? classify(m, keys, arena, predicted, want_outputs)
        : regress(m, keys, arena);
}
