// Decision trees, random forests and extra trees (docs/FORMAT.md, Trees).
//
// Inputs become signed 32-bit keys that order like the values, so a split is one
// integer compare: no float compare (and no soft-float call on an FPU-less core) in
// the walk. Children point forward, checked at load, so every walk ends at a leaf.
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

emlml_status_t emlml_trees_load(emlml_model_t *m, const emlml_sections_t *s, uint32_t *arena_needed, emlml_error_t *err) {
    emlml_status_t st = check_section_sizes(m, s, err);
    if (st != EMLML_OK) {
        return st;
    }
    emlml_trees_t *t = &m->u.trees;
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

// Float inputs are walked on their raw bits (keys made on the fly for the few
// features a walk visits); a NaN or infinity anywhere refuses the whole input.
static emlml_status_t check_finite(const uint32_t *bits, uint32_t n, emlml_error_t *err) {
    // The 8 exponent bits plus one reach 0x100 only when they are all ones (NaN or
    // infinity). No early exit and only shifts: on a Cortex-M0 the loop is seven
    // instructions per feature with no constant to keep in a register.
    uint32_t carry = 0, f;
    for (f = 0; f < n; f++) {
        carry |= ((bits[f] << 1) >> 24) + 1u;
    }
    if ((carry & 0x100u) == 0) {
        return EMLML_OK;
    }
    f = 0;
    while ((((bits[f] << 1) >> 24) + 1u) != 0x100u) {
        f++;
    }
    return emlml_fail(err, EMLML_E_INPUT_NONFINITE, f, 0, 0);
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

// The leaf tree `tree` ends in, for the input (float bits or integer keys).
static inline const emlml_tree_node_t *tree_leaf(const emlml_trees_t *t, uint32_t tree, const void *src, int float_input) {
    const emlml_tree_node_t *root = &t->nodes[t->roots[tree]];
    return float_input ? walk_float(root, (const uint32_t *)src) : walk_keys(root, (const int32_t *)src);
}

// Classifier: integer vote sums, the class with the most (first on a tie), and the
// probabilities sum / (vote_scale * n_trees) in float32.
static const float *classify(const emlml_model_t *m, const void *src, int float_input, void *arena, uint32_t *predicted, int want_outputs) {
    const emlml_trees_t *t = &m->u.trees;
    const uint32_t *votes = (const uint32_t *)(const void *)t->leaves;
    uint32_t n_out = m->n_outputs;
    uint32_t *acc = (uint32_t *)arena + m->n_inputs;
    float *out = (float *)arena + m->n_inputs + n_out;
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
        walk4(leaf, src, float_input);
        for (int j = 0; j < 4; j++) {
            add_votes(acc, votes + (uint32_t)leaf[j]->key * n_out, n_out);
        }
    }
#endif
    for (; tree < t->n_trees; tree++) {
        add_votes(acc, votes + (uint32_t)tree_leaf(t, tree, src, float_input)->key * n_out, n_out);
    }
    uint32_t best = 0;
    for (uint32_t o = 1; o < n_out; o++) {
        if (acc[o] > acc[best]) {
            best = o;
        }
    }
    *predicted = best;
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
static const float *regress(const emlml_model_t *m, const void *src, int float_input, void *arena) {
    const emlml_trees_t *t = &m->u.trees;
    const float *values = (const float *)(const void *)t->leaves;
    float *out = (float *)arena + m->n_inputs + m->n_outputs;
    float sum = 0.0f;
    for (uint32_t tree = 0; tree < t->n_trees; tree++) {
        sum += values[(uint32_t)tree_leaf(t, tree, src, float_input)->key];
    }
    out[0] = sum / (float)t->n_trees;
    return out;
}

const float *emlml_trees_predict(const emlml_model_t *m, const void *input, void *arena, uint32_t *predicted, int want_outputs, emlml_error_t *err) {
    int float_input = m->input_type == EMLML_INPUT_F32;
    if (float_input) {
        if (check_finite((const uint32_t *)input, m->n_inputs, err) != EMLML_OK) {
            return NULL;
        }
    } else {
        integer_keys(m, input, (int32_t *)arena);
    }
    const void *src = float_input ? input : arena;
    *predicted = 0;
    return m->task == EMLML_TASK_CLASSIFIER
        ? classify(m, src, float_input, arena, predicted, want_outputs)
        : regress(m, src, float_input, arena);
}

#endif // EMLML_WITH_TREES
