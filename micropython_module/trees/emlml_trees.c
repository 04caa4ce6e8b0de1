// Decision trees, random forests and extra trees (docs/FORMAT.md, Trees).
//
// Inputs become signed 32-bit keys that order like the values, so a split is one
// integer compare: no float compare (and no soft-float call on an FPU-less core) in
// the walk. A NaN becomes the largest key, and the split's bit in TREE_NAN says
// whether it goes left instead (FORMAT.md, Missing values). Children point forward,
// checked at load, so every walk ends at a leaf.
#include "emlml_internal.h"

// Nothing of this file in a build without the trees family (EMLML_WITH_TREES 0, emlml_config.h).
#if EMLML_WITH_TREES

// Interleaved walks pay off on out-of-order cores; a microcontroller walks one tree
// at a time (fewest instructions). Both give the same leaves.
#ifndef EMLML_TREES_INTERLEAVE
#if defined(__x86_64__) || defined(__aarch64__)
#define EMLML_TREES_INTERLEAVE 1
#else
#define EMLML_TREES_INTERLEAVE 0
#endif
#endif

static emlml_status_t check_section_sizes(const emlml_sections_t *s, uint32_t leaves_id, uint32_t leaf_unit, emlml_error_t *err) {
    const uint32_t ids[3] = {EMLML_SEC_TREE_ROOTS, EMLML_SEC_TREE_NODES, leaves_id};
    for (int i = 0; i < 3; i++) {
        const emlml_section_t *sec = &s->by_id[ids[i]];
        uint32_t unit = i == 0 ? 4u : i == 1 ? (uint32_t)sizeof(emlml_tree_node_t) : leaf_unit;
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
            if (node->feature >= m->n_inputs) {
                emlml_fail(err, EMLML_E_TREE_FEATURE, tree, i - start, node->feature);
                err->d = m->n_inputs;
                return EMLML_E_TREE_FEATURE;
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

// TREE_NAN (optional, float32 input): one bit per node, set for a split that sends NaN
// to its left child (i + 1). Its presence is what lets NaN in: without it a NaN input is
// refused. Bits of leaves and past the last node are 0.
static emlml_status_t check_nan_bits(const emlml_model_t *m, const emlml_section_t *sec, emlml_error_t *err) {
    const emlml_trees_t *t = &m->u.trees;
    if (m->input_type != EMLML_INPUT_F32) {
        return emlml_fail(err, EMLML_E_TREE_NAN_INPUT, m->input_type, 0, 0);
    }
    uint32_t words = t->n_nodes / 32u + (t->n_nodes % 32u != 0);
    if (sec->size / 4u != words || sec->size % 4u != 0) {
        return emlml_fail(err, EMLML_E_SECTION_LENGTH, EMLML_SEC_TREE_NAN, sec->size, 4u * words);
    }
    const uint32_t *bits = (const uint32_t *)(const void *)sec->data;
    uint32_t tree = 0;
    for (uint32_t i = 0; i < 32u * words; i++) {
        while (tree + 1u < t->n_trees && i >= t->roots[tree + 1u]) {
            tree++;
        }
        if ((bits[i / 32u] >> (i % 32u)) & 1u) {
            if (i >= t->n_nodes) {
                return emlml_fail(err, EMLML_E_TREE_NAN_PADDING, i, t->n_nodes, 0);
            }
            if (t->nodes[i].feature == EMLML_TREE_LEAF) {
                return emlml_fail(err, EMLML_E_TREE_NAN_LEAF, tree, i - t->roots[tree], 0);
            }
        }
    }
    return EMLML_OK;
}

// TREE_WEIGHTS (optional, classifiers): per leaf vector its training weight m >= 1
// (scikit-learn's weighted_n_node_samples), from which the tie replay recovers the
// class weights and scikit-learn's float64 fractions (leaf_fraction below).
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

emlml_status_t emlml_trees_check_nodes(emlml_model_t *m, const emlml_sections_t *s, uint32_t leaves_id, uint32_t leaf_unit, emlml_error_t *err) {
    emlml_status_t st = check_section_sizes(s, leaves_id, leaf_unit, err);
    if (st != EMLML_OK) {
        return st;
    }
    emlml_trees_t *t = &m->u.trees;
    const emlml_section_t *roots = &s->by_id[EMLML_SEC_TREE_ROOTS];
    const emlml_section_t *nodes = &s->by_id[EMLML_SEC_TREE_NODES];
    const emlml_section_t *leaves = &s->by_id[leaves_id];
    // Sections are 4-byte aligned (checked by the loader), so these casts are aligned.
    t->roots = (const uint32_t *)(const void *)roots->data;
    t->nodes = (const emlml_tree_node_t *)(const void *)nodes->data;
    t->leaves = leaves->data;
    t->nan_left = (const uint32_t *)(const void *)s->by_id[EMLML_SEC_TREE_NAN].data;
    t->weights = NULL;
    t->zero_missing = NULL;
    t->n_trees = roots->size / 4u;
    t->n_nodes = nodes->size / (uint32_t)sizeof(emlml_tree_node_t);
    t->n_leaves = leaves->size / leaf_unit;
    if ((st = check_roots(t, err)) != EMLML_OK) {
        return st;
    }
    for (uint32_t tree = 0; tree < t->n_trees; tree++) {
        if ((st = check_tree_nodes(m, tree, err)) != EMLML_OK) {
            return st;
        }
    }
    return EMLML_OK;
}

emlml_status_t emlml_trees_check_nan(const emlml_model_t *m, const emlml_sections_t *s, emlml_error_t *err) {
    const emlml_section_t *nan_bits = &s->by_id[EMLML_SEC_TREE_NAN];
    return nan_bits->data != NULL ? check_nan_bits(m, nan_bits, err) : EMLML_OK;
}

emlml_status_t emlml_trees_load(emlml_model_t *m, const emlml_sections_t *s, uint32_t *arena_needed, emlml_error_t *err) {
    emlml_status_t st = emlml_trees_check_nodes(m, s, EMLML_SEC_TREE_LEAVES, 4u * m->n_outputs, err);
    if (st != EMLML_OK) {
        return st;
    }
    const emlml_section_t *weights = &s->by_id[EMLML_SEC_TREE_WEIGHTS];
    m->u.trees.weights = (const uint32_t *)(const void *)weights->data;
    if (m->task == EMLML_TASK_CLASSIFIER && (st = check_votes(m, err)) != EMLML_OK) {
        return st;
    }
    if ((st = emlml_trees_check_nan(m, s, err)) != EMLML_OK) {
        return st;
    }
    if (weights->data != NULL && (st = check_weights(m, weights, err)) != EMLML_OK) {
        return st;
    }
    *arena_needed = 4u * m->n_inputs + 8u * m->n_outputs;
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

// How a prediction walks: float inputs on their raw bits (keys made on the fly for the
// few features a walk visits), integer inputs on keys widened beforehand, and a float
// input holding a NaN on keys made beforehand with the NaN bits of TREE_NAN.
typedef enum {
    WALK_FLOAT,
    WALK_KEYS,
    WALK_NAN,
} walk_t;

// Float inputs are walked on their raw bits; a NaN or an infinity anywhere refuses the
// whole input, except that a NaN is a missing value for a model with TREE_NAN: then
// every input becomes a key in the arena, a NaN the largest key (INT32_MAX), and
// *walk says the walk to use.
static emlml_status_t check_floats(const emlml_model_t *m, const uint32_t *bits, int32_t *keys, walk_t *walk, emlml_error_t *err) {
    // The 8 exponent bits plus one reach 0x100 only when they are all ones (NaN or
    // infinity). No early exit and only shifts: on a Cortex-M0 the loop is seven
    // instructions per feature with no constant to keep in a register.
    uint32_t n = m->n_inputs;
    uint32_t carry = 0, f;
    for (f = 0; f < n; f++) {
        carry |= ((bits[f] << 1) >> 24) + 1u;
    }
    *walk = WALK_FLOAT;
    if ((carry & 0x100u) == 0) {
        return EMLML_OK;
    }
    int nan_ok = m->u.trees.nan_left != NULL;
    for (f = 0; f < n; f++) {
        uint32_t magnitude = bits[f] << 1;
        if (magnitude < 0xFF000000u) {
            keys[f] = float_key(bits[f]);
        } else if (magnitude == 0xFF000000u || !nan_ok) {
            return emlml_fail(err, nan_ok ? EMLML_E_INPUT_INFINITE : EMLML_E_INPUT_NONFINITE, f, 0, 0);
        } else {
            keys[f] = INT32_MAX;  // NaN: above every threshold key (at most key(+inf))
        }
    }
    *walk = WALK_NAN;
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

// One walk per input kind, so the loop holds no test of the kind.
static const emlml_tree_node_t *walk_float(const emlml_tree_node_t *node, const uint32_t *bits) {
    while (node->feature != EMLML_TREE_LEAF) {
        if (float_key(bits[node->feature]) <= node->key) {
            node++;
        } else {
            node += node->right;
        }
    }
    return node;
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

// As walk_keys, and a NaN (INT32_MAX, above the split's key) goes left where the
// split's TREE_NAN bit says so: one more compare on a step to the right. Out of line,
// so that the two walks above keep the code gcc gives them alone.
static EMLML_NOINLINE const emlml_tree_node_t *walk_nan(const emlml_trees_t *t, const emlml_tree_node_t *node, const int32_t *keys) {
    while (node->feature != EMLML_TREE_LEAF) {
        int32_t key = keys[node->feature];
        uint32_t i = (uint32_t)(node - t->nodes);
        if (key <= node->key || (key == INT32_MAX && ((t->nan_left[i / 32u] >> (i % 32u)) & 1u))) {
            node++;
        } else {
            node += node->right;
        }
    }
    return node;
}

#if EMLML_TREES_INTERLEAVE
// The key of input f: float inputs are read as raw bits and keyed on the fly (a
// walk visits few features); integer inputs were widened to keys beforehand.
static inline int32_t input_key(const void *src, uint32_t f, int float_input) {
    return float_input ? float_key(((const uint32_t *)src)[f]) : ((const int32_t *)src)[f];
}

// Four walks at once without branches on the comparisons. On an out-of-order core
// the four chains of dependent loads overlap, where one branchy walk stalls on a
// mispredicted branch at every other level. A lane that reached its leaf stays there
// (step 0) and reads input 0, which always exists.
static void walk4(const emlml_tree_node_t *nodes[4], const void *src, int float_input) {
    uint32_t active;
    do {
        active = 0;
        for (int j = 0; j < 4; j++) {
            const emlml_tree_node_t *node = nodes[j];
            uint32_t split_mask = 0u - (uint32_t)(node->feature != EMLML_TREE_LEAF);
            int32_t key = input_key(src, node->feature & split_mask, float_input);
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

// The leaf index tree `tree` ends in, for the input (float bits or keys).
static inline uint32_t tree_leaf(const emlml_trees_t *t, uint32_t tree, const void *src, walk_t walk) {
    const emlml_tree_node_t *root = &t->nodes[t->roots[tree]];
    if (walk == WALK_NAN) {
        return (uint32_t)walk_nan(t, root, (const int32_t *)src)->key;
    }
    return (uint32_t)(walk == WALK_FLOAT ? walk_float(root, (const uint32_t *)src)
                      : walk_keys(root, (const int32_t *)src))->key;
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
static EMLML_NOINLINE uint32_t replay_tie(const emlml_model_t *m, const void *src, walk_t walk, const uint32_t *acc, uint32_t best) {
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
            sum = emlml_f64_add(sum, leaf_fraction(m, tree_leaf(t, tree, src, walk), c));
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

// The integer vote sums of all trees into acc[n_outputs], and the first class with the
// most. Out of line with nothing else live, so that gcc keeps the vote loop in registers.
static EMLML_NOINLINE uint32_t vote(const emlml_model_t *m, const void *src, walk_t walk, uint32_t *acc) {
    const emlml_trees_t *t = &m->u.trees;
    const uint32_t *votes = (const uint32_t *)(const void *)t->leaves;
    uint32_t n_out = m->n_outputs;
    for (uint32_t o = 0; o < n_out; o++) {
        acc[o] = 0;
    }
    uint32_t tree = 0;
#if EMLML_TREES_INTERLEAVE
    if (walk != WALK_NAN) {
        for (; tree + 4 <= t->n_trees; tree += 4) {
            const emlml_tree_node_t *leaf[4];
            for (int j = 0; j < 4; j++) {
                leaf[j] = &t->nodes[t->roots[tree + (uint32_t)j]];
            }
            walk4(leaf, src, walk == WALK_FLOAT);
            for (int j = 0; j < 4; j++) {
                add_votes(acc, votes + (uint32_t)leaf[j]->key * n_out, n_out);
            }
        }
    }
#endif
    for (; tree < t->n_trees; tree++) {
        add_votes(acc, votes + tree_leaf(t, tree, src, walk) * n_out, n_out);
    }
    uint32_t best = 0;
    for (uint32_t o = 1; o < n_out; o++) {
        if (acc[o] > acc[best]) {
            best = o;
        }
    }
    return best;
}

// With TREE_WEIGHTS: the best class, or scikit-learn's among the close ones (replay_tie)
// when another class is within n_trees + 1 votes of it.
static EMLML_NOINLINE uint32_t settle_tie(const emlml_model_t *m, const void *src, walk_t walk, const uint32_t *acc, uint32_t best) {
    uint32_t top = acc[best];
    uint32_t margin = m->u.trees.n_trees + 1u;
    uint32_t n_out = m->n_outputs;
    uint32_t close = 0;
    for (uint32_t o = 0; o < n_out; o++) {
        close += top - acc[o] <= margin;
    }
    return close > 1u ? replay_tie(m, src, walk, acc, best) : best;
}

// Classifier: integer vote sums, the class with the most (scikit-learn's float64 replay
// when another class is within the votes' rounding), and the probabilities
// sum / (vote_scale * n_trees) in float32.
static const float *classify(const emlml_model_t *m, const void *src, walk_t walk, void *arena, uint32_t *predicted, int want_outputs) {
    const emlml_trees_t *t = &m->u.trees;
    uint32_t n_out = m->n_outputs;
    uint32_t *acc = (uint32_t *)arena + m->n_inputs;
    float *out = (float *)arena + m->n_inputs + n_out;
    uint32_t best = vote(m, src, walk, acc);
    *predicted = t->weights != NULL ? settle_tie(m, src, walk, acc, best) : best;
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
static const float *regress(const emlml_model_t *m, const void *src, walk_t walk, void *arena) {
    const emlml_trees_t *t = &m->u.trees;
    const float *values = (const float *)(const void *)t->leaves;
    float *out = (float *)arena + m->n_inputs + m->n_outputs;
    float sum = 0.0f;
    for (uint32_t tree = 0; tree < t->n_trees; tree++) {
        sum += values[tree_leaf(t, tree, src, walk)];
    }
    out[0] = sum / (float)t->n_trees;
    return out;
}

// Boosting's BOOST_ZERO (LightGBM's zero_as_missing): an input of magnitude <= 1e-35f on
// a marked feature is missing, so it becomes NaN's key and the walk the NaN walk.
static void zero_as_missing(const emlml_model_t *m, const uint32_t *bits, int32_t *keys, walk_t *walk) {
    const uint32_t *zero = m->u.trees.zero_missing;
    for (uint32_t f = 0; f < m->n_inputs; f++) {
        if (((zero[f / 32u] >> (f % 32u)) & 1u) && (bits[f] & 0x7FFFFFFFu) <= 0x0554AD2Eu) {
            if (*walk == WALK_FLOAT) {  // keys for every input, then NaN's for the missing
                for (uint32_t g = 0; g < m->n_inputs; g++) {
                    keys[g] = float_key(bits[g]);
                }
                *walk = WALK_NAN;
            }
            keys[f] = INT32_MAX;
        }
    }
}

const void *emlml_trees_prepare(const emlml_model_t *m, const void *input, void *arena, int *walk_out, emlml_error_t *err) {
    walk_t walk = WALK_KEYS;
    if (m->input_type == EMLML_INPUT_F32) {
        if (check_floats(m, (const uint32_t *)input, (int32_t *)arena, &walk, err) != EMLML_OK) {
            return NULL;
        }
        if (m->kind == EMLML_KIND_BOOST && m->u.trees.zero_missing != NULL) {
            zero_as_missing(m, (const uint32_t *)input, (int32_t *)arena, &walk);
        }
    } else {
        integer_keys(m, input, (int32_t *)arena);
    }
    *walk_out = (int)walk;
    return walk == WALK_FLOAT ? input : arena;
}

uint32_t emlml_trees_leaf(const emlml_trees_t *t, uint32_t tree, const void *src, int walk) {
    return tree_leaf(t, tree, src, (walk_t)walk);
}

const float *emlml_trees_predict(const emlml_model_t *m, const void *input, void *arena, uint32_t *predicted, int want_outputs, emlml_error_t *err) {
    int walk_number;
    const void *src = emlml_trees_prepare(m, input, arena, &walk_number, err);
    if (src == NULL) {
        return NULL;
    }
    walk_t walk = (walk_t)walk_number;
    *predicted = 0;
    if (m->kind == EMLML_KIND_BOOST) {
        return emlml_boost_predict(m, src, walk_number, arena, predicted, want_outputs);
    }
    return m->task == EMLML_TASK_CLASSIFIER
        ? classify(m, src, walk, arena, predicted, want_outputs)
        : regress(m, src, walk, arena);
}

#endif // EMLML_WITH_TREES
