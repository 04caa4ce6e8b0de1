// The blob loader: checks a whole blob once (docs/FORMAT.md) so that predict can
// trust it. Every count, offset and size is checked against the blob length with
// arithmetic that cannot overflow; anything unexpected is refused.
#include "emlml_internal.h"

// Header field offsets (FORMAT.md, Header).
enum {
    HDR_MAGIC = 0,
    HDR_VERSION = 4,
    HDR_KIND = 6,
    HDR_TOTAL_SIZE = 8,
    HDR_CRC = 12,
    HDR_N_SECTIONS = 16,
    HDR_HEADER_SIZE = 18,
    HDR_TASK = 20,
    HDR_INPUT_TYPE = 21,
    HDR_FLAGS = 22,
    HDR_N_INPUTS = 24,
    HDR_N_OUTPUTS = 28,
    HDR_ARENA = 32,
    HDR_RESERVED = 36,
    CRC_START = 16,
};

// CRC-32 (zlib), four bits at a time: a 64-byte table instead of 1 KB.
uint32_t emlml_crc32(const uint8_t *data, size_t len) {
    static const uint32_t nibble_table[16] = {
        0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu,
        0x76DC4190u, 0x6B6B51F4u, 0x4DB26158u, 0x5005713Cu,
        0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu,
        0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu,
    };
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < len; i++) {
        crc ^= data[i];
        crc = (crc >> 4) ^ nibble_table[crc & 0x0Fu];
        crc = (crc >> 4) ^ nibble_table[crc & 0x0Fu];
    }
    return crc ^ 0xFFFFFFFFu;
}

static emlml_status_t check_envelope(const uint8_t *blob, size_t len, emlml_error_t *err) {
    if (((uintptr_t)blob & 3u) != 0) {
        return emlml_fail(err, EMLML_E_BUFFER_ALIGN, 0, 0, 0);
    }
    if (len < EMLML_HEADER_SIZE) {
        return emlml_fail(err, EMLML_E_SHORT, (uint32_t)len, 0, 0);
    }
    const char *magic = EMLML_MAGIC;
    for (int i = 0; i < 4; i++) {
        if (blob[HDR_MAGIC + i] != (uint8_t)magic[i]) {
            return emlml_fail(err, EMLML_E_MAGIC, 0, 0, 0);
        }
    }
    uint16_t version = emlml_rd_u16(blob + HDR_VERSION);
    if (version < EMLML_VERSION_MIN || version > EMLML_VERSION_MAX) {
        return emlml_fail(err, EMLML_E_VERSION, version, 0, 0);
    }
    uint32_t total = emlml_rd_u32(blob + HDR_TOTAL_SIZE);
    uint32_t have = len > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)len;
    if (total > len) {
        return emlml_fail(err, EMLML_E_TRUNCATED, total, have, 0);
    }
    if (total < len) {
        return emlml_fail(err, EMLML_E_TRAILING, total, have, 0);
    }
    if (emlml_crc32(blob + CRC_START, len - CRC_START) != emlml_rd_u32(blob + HDR_CRC)) {
        return emlml_fail(err, EMLML_E_CRC, 0, 0, 0);
    }
    return EMLML_OK;
}

static emlml_status_t check_header_fields(emlml_model_t *m, const uint8_t *blob, emlml_error_t *err) {
    uint16_t header_size = emlml_rd_u16(blob + HDR_HEADER_SIZE);
    if (header_size != EMLML_HEADER_SIZE) {
        return emlml_fail(err, EMLML_E_HEADER_SIZE, header_size, 0, 0);
    }
    uint32_t reserved = emlml_rd_u16(blob + HDR_FLAGS);
    for (uint32_t i = HDR_RESERVED; i < EMLML_HEADER_SIZE; i++) {
        reserved |= blob[i];
    }
    if (reserved != 0) {
        return emlml_fail(err, EMLML_E_RESERVED, 0, 0, 0);
    }
    uint16_t n_sections = emlml_rd_u16(blob + HDR_N_SECTIONS);
    if (n_sections < 1 || n_sections > EMLML_MAX_SECTIONS) {
        return emlml_fail(err, EMLML_E_N_SECTIONS, n_sections, 0, 0);
    }
    m->kind = emlml_rd_u16(blob + HDR_KIND);
    m->task = blob[HDR_TASK];
    m->input_type = blob[HDR_INPUT_TYPE];
    m->n_inputs = emlml_rd_u32(blob + HDR_N_INPUTS);
    m->n_outputs = emlml_rd_u32(blob + HDR_N_OUTPUTS);
    m->arena_bytes = emlml_rd_u32(blob + HDR_ARENA);
    if (m->kind < EMLML_KIND_TREES || m->kind > EMLML_KIND_BOOST) {
        return emlml_fail(err, EMLML_E_KIND, m->kind, 0, 0);
    }
    if (m->task > EMLML_TASK_REGRESSOR) {
        return emlml_fail(err, EMLML_E_TASK, m->task, 0, 0);
    }
    if (m->input_type > EMLML_INPUT_I16) {
        return emlml_fail(err, EMLML_E_INPUT_TYPE, m->input_type, 0, 0);
    }
    if (m->n_inputs < 1 || m->n_inputs > EMLML_MAX_INPUTS) {
        return emlml_fail(err, EMLML_E_N_INPUTS, m->n_inputs, 0, 0);
    }
    if (m->n_outputs < 1 || m->n_outputs > EMLML_MAX_OUTPUTS) {
        return emlml_fail(err, EMLML_E_N_OUTPUTS, m->n_outputs, 0, 0);
    }
    if (m->task == EMLML_TASK_REGRESSOR && m->n_outputs != 1) {
        return emlml_fail(err, EMLML_E_REGRESSOR_OUTPUTS, m->n_outputs, 0, 0);
    }
    return EMLML_OK;
}

// The families' names for %N follow the kinds' order (check_family).
typedef char emlml_family_names_in_kind_order[EMLML_KIND_KNN == EMLML_KIND_TREES + 1 &&
    EMLML_KIND_CNN == EMLML_KIND_TREES + 2 && EMLML_NAME_KNN == EMLML_NAME_TREES + 1 &&
    EMLML_NAME_CNN == EMLML_NAME_TREES + 2 ? 1 : -1];

// A blob of a family this build was made without (EMLML_WITH_*, emlml_config.h) is
// refused by name, with the kind: after the header checks, so that a corrupt blob still
// gets its own error, and before the section table, whose ids only the family knows.
// Compiled out of a build with every family.
static emlml_status_t check_family(const emlml_model_t *m, emlml_error_t *err) {
#if !(EMLML_WITH_TREES && EMLML_WITH_KNN && EMLML_WITH_CNN)
    int boost = m->kind == EMLML_KIND_BOOST;  // boosting is of the trees family
    int built = ((m->kind == EMLML_KIND_TREES || boost) && EMLML_WITH_TREES) ||
                (m->kind == EMLML_KIND_KNN && EMLML_WITH_KNN) ||
                (m->kind == EMLML_KIND_CNN && EMLML_WITH_CNN);
    if (!built) {
        uint32_t family = boost ? (uint32_t)EMLML_KIND_TREES : (uint32_t)m->kind;
        uint32_t name = (uint32_t)EMLML_NAME_TREES + family - (uint32_t)EMLML_KIND_TREES;
        return emlml_fail(err, EMLML_E_NO_FAMILY, name, m->kind, 0);
    }
#else
    (void)m;
    (void)err;
#endif
    return EMLML_OK;
}

// The sections of each kind this build has (check_family refused the others).
static int section_allowed(uint16_t kind, uint32_t id) {
    if (id == EMLML_SEC_META || (id >= EMLML_SEC_PIPE_HEAD && id <= EMLML_SEC_PIPE_PARAMS)) {
        return 1;  // feature steps go in front of any model (a build without them refuses them at emlml_pipeline_load)
    }
    switch (kind) {
#if EMLML_WITH_TREES
        case EMLML_KIND_TREES: return id >= EMLML_SEC_TREE_ROOTS && id <= EMLML_SEC_TREE_WEIGHTS;
        case EMLML_KIND_BOOST:
            return id == EMLML_SEC_TREE_ROOTS || id == EMLML_SEC_TREE_NODES || id == EMLML_SEC_TREE_NAN ||
                id == EMLML_SEC_BOOST_PARAMS || id == EMLML_SEC_BOOST_LEAVES || id == EMLML_SEC_BOOST_ZERO;
#endif
#if EMLML_WITH_KNN
        case EMLML_KIND_KNN: return id >= EMLML_SEC_KNN_PARAMS && id <= EMLML_SEC_KNN_TARGETS;
#endif
#if EMLML_WITH_CNN
        case EMLML_KIND_CNN: return id >= EMLML_SEC_CNN_PARAMS && id <= EMLML_SEC_CNN_QPARAMS;
#endif
        default: return 0;
    }
}

static emlml_status_t read_section_table(const emlml_model_t *m, const uint8_t *blob, emlml_sections_t *out, emlml_error_t *err) {
    uint32_t n = emlml_rd_u16(blob + HDR_N_SECTIONS);
    uint32_t table_end = EMLML_HEADER_SIZE + n * EMLML_SECTION_ENTRY_SIZE;
    if (table_end > m->size) {
        return emlml_fail(err, EMLML_E_SECTION_BOUNDS, 0, 0, 0);
    }
    for (uint32_t id = 0; id <= EMLML_SEC_ID_MAX; id++) {
        out->by_id[id].data = NULL;
        out->by_id[id].size = 0;
    }
    uint32_t previous_end = table_end;
    for (uint32_t j = 0; j < n; j++) {
        const uint8_t *entry = blob + EMLML_HEADER_SIZE + j * EMLML_SECTION_ENTRY_SIZE;
        uint32_t id = emlml_rd_u32(entry);
        uint32_t offset = emlml_rd_u32(entry + 4);
        uint32_t size = emlml_rd_u32(entry + 8);
        if (size == 0) {
            return emlml_fail(err, EMLML_E_SECTION_EMPTY, j, 0, 0);
        }
        if ((offset & 3u) != 0) {
            return emlml_fail(err, EMLML_E_SECTION_ALIGN, j, offset, 0);
        }
        if (offset < table_end || offset > m->size || size > m->size - offset) {
            return emlml_fail(err, EMLML_E_SECTION_BOUNDS, j, 0, 0);
        }
        if (offset < previous_end) {
            return emlml_fail(err, EMLML_E_SECTION_ORDER, j, 0, 0);
        }
        if (id > EMLML_SEC_ID_MAX || !section_allowed(m->kind, id)) {
            return emlml_fail(err, EMLML_E_SECTION_UNKNOWN, id, 0, 0);
        }
        if (out->by_id[id].data != NULL) {
            return emlml_fail(err, EMLML_E_SECTION_DUP, id, 0, 0);
        }
        out->by_id[id].data = blob + offset;
        out->by_id[id].size = size;
        previous_end = offset + size;
    }
    return EMLML_OK;
}

// Walk the META records once: they must tile the section; count the labels.
static emlml_status_t check_meta(emlml_model_t *m, const emlml_section_t *meta, emlml_error_t *err) {
    m->meta = meta->data;
    m->meta_size = meta->size;
    m->n_labels = 0;
    uint32_t pos = 0;
    while (pos < meta->size) {
        uint32_t left = meta->size - pos;
        if (left < 4 || 4u + emlml_rd_u16(meta->data + pos + 2) > left) {
            return emlml_fail(err, EMLML_E_META_OVERRUN, pos, 0, 0);
        }
        uint32_t len = emlml_rd_u16(meta->data + pos + 2);
        if (emlml_rd_u16(meta->data + pos) == EMLML_META_LABEL) {
            m->n_labels++;
        }
        uint32_t step = 4u + ((len + 3u) & ~3u);
        pos = step < left ? pos + step : meta->size;
    }
    uint32_t expected = m->task == EMLML_TASK_CLASSIFIER ? m->n_outputs : 0;
    if (m->n_labels != 0 && m->n_labels != expected) {
        return emlml_fail(err, EMLML_E_LABELS, m->n_labels, m->n_outputs, 0);
    }
    return EMLML_OK;
}

// The family's loader, for the kinds this build has (check_family refused the others).
static emlml_status_t load_family(emlml_model_t *model, const emlml_sections_t *sections, uint32_t *arena_needed, emlml_error_t *err) {
    switch (model->kind) {
#if EMLML_WITH_TREES
        case EMLML_KIND_TREES: return emlml_trees_load(model, sections, arena_needed, err);
        case EMLML_KIND_BOOST: return emlml_boost_load(model, sections, arena_needed, err);
#endif
#if EMLML_WITH_KNN
        case EMLML_KIND_KNN: return emlml_knn_load(model, sections, arena_needed, err);
#endif
#if EMLML_WITH_CNN
        case EMLML_KIND_CNN: return emlml_cnn_load(model, sections, arena_needed, err);
#endif
        default: return emlml_fail(err, EMLML_E_KIND, model->kind, 0, 0);  // not reached
    }
}

emlml_status_t emlml_load(emlml_model_t *model, const uint8_t *blob, size_t len, emlml_error_t *err) {
    emlml_sections_t sections;
    emlml_status_t st = check_envelope(blob, len, err);
    if (st != EMLML_OK) {
        return st;
    }
    model->blob = blob;
    model->size = (uint32_t)len;
    if ((st = check_header_fields(model, blob, err)) != EMLML_OK) {
        return st;
    }
    if ((st = check_family(model, err)) != EMLML_OK) {
        return st;
    }
    if ((st = read_section_table(model, blob, &sections, err)) != EMLML_OK) {
        return st;
    }
    if ((st = check_meta(model, &sections.by_id[EMLML_SEC_META], err)) != EMLML_OK) {
        return st;
    }
    if ((st = emlml_pipeline_load(model, &sections, err)) != EMLML_OK) {
        return st;
    }
    uint32_t arena_needed = 0;
    if ((st = load_family(model, &sections, &arena_needed, err)) != EMLML_OK) {
        return st;
    }
    // The family's arena is below 2^32 and a multiple of 4; the steps' buffers follow it.
    uint64_t total = (uint64_t)arena_needed + emlml_pipeline_arena(model, arena_needed);
    arena_needed = total > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)total;
    if (model->arena_bytes != arena_needed) {
        return emlml_fail(err, EMLML_E_ARENA, model->arena_bytes, arena_needed, 0);
    }
    err->status = EMLML_OK;
    return EMLML_OK;
}

// want_outputs 0: the family may skip its output floats (predict_class).
// Only a model emlml_load filled may run, so its kind is one this build has; any other
// value is refused rather than run.
static const float *run(const emlml_model_t *model, const void *input, void *arena, uint32_t *predicted, int want_outputs, emlml_error_t *err) {
    (void)want_outputs;  // kNN computes its outputs always: unused in a kNN-only build
    if (model->pipe.n_run != 0 && (input = emlml_pipeline_run(model, input, arena, err)) == NULL) {
        return NULL;
    }
#if EMLML_WITH_CNN
    // A CNN behind steps takes their float32 features as it takes array('f'): quantized
    // into its input tensor (the steps' buffers lie after the CNN's arena).
    if (model->kind == EMLML_KIND_CNN && model->pipe.n_run != 0) {
        if (emlml_cnn_quantize_input(model, input, arena, err) != EMLML_OK) {
            return NULL;
        }
        input = emlml_cnn_input(model, arena);
    }
#endif
    switch (model->kind) {
#if EMLML_WITH_TREES
        case EMLML_KIND_TREES:
        case EMLML_KIND_BOOST: return emlml_trees_predict(model, input, arena, predicted, want_outputs, err);
#endif
#if EMLML_WITH_KNN
        case EMLML_KIND_KNN: return emlml_knn_predict(model, input, arena, predicted, err);
#endif
#if EMLML_WITH_CNN
        case EMLML_KIND_CNN: return emlml_cnn_predict(model, input, arena, predicted, want_outputs, err);
#endif
        default:
            emlml_fail(err, EMLML_E_KIND, model->kind, 0, 0);
            return NULL;
    }
}

const float *emlml_predict(const emlml_model_t *model, const void *input, void *arena, uint32_t *predicted, emlml_error_t *err) {
    return run(model, input, arena, predicted, 1, err);
}

emlml_status_t emlml_predict_class(const emlml_model_t *model, const void *input, void *arena, uint32_t *predicted, emlml_error_t *err) {
    return run(model, input, arena, predicted, 0, err) != NULL ? EMLML_OK : err->status;
}

uint32_t emlml_argmax(const float *values, uint32_t n) {
    uint32_t best = 0;
    for (uint32_t i = 1; i < n; i++) {
        if (values[i] > values[best]) {
            best = i;
        }
    }
    return best;
}

uint32_t emlml_input_item_size(uint8_t input_type) {
    switch (input_type) {
        case EMLML_INPUT_I8:
        case EMLML_INPUT_U8:
            return 1;
        case EMLML_INPUT_I16:
            return 2;
        default:
            return 4;
    }
}

int emlml_meta_find(const emlml_model_t *model, uint16_t tag, uint32_t nth, const uint8_t **data, uint32_t *len) {
    uint32_t pos = 0;
    while (model->meta != NULL && pos + 4u <= model->meta_size) {
        const uint8_t *rec = model->meta + pos;
        uint32_t rec_len = emlml_rd_u16(rec + 2);
        if (emlml_rd_u16(rec) == tag && nth-- == 0) {
            *data = rec + 4;
            *len = rec_len;
            return 1;
        }
        pos += 4u + ((rec_len + 3u) & ~3u);
    }
    return 0;
}
