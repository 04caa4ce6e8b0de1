"""Facts of the emlml C core, for Python to agree with.

Generated from
    micropython_module/core/emlml_config.h
    micropython_module/core/emlml_status.h
    micropython_module/core/emlml.h
    micropython_module/core/emlml_internal.h
by py_tools/emlml_dev/gen_c_tables.py; do not edit: change the C headers, then run
`python py_tools/emlml_dev/gen_c_tables.py` (tests_host/test_format_c_tables.py runs it with
--check). The messages are formatted by c_format.py, as emlml_format does in C.
"""

# The release (EMLML_VERSION) and the blob's magic.
VERSION = '0.1.0'
MAGIC = b'EMLB'

# The integer settings of emlml_config.h, without the EMLML_ prefix.
VERSION_MIN = 1
VERSION_MAX = 1
HEADER_SIZE = 48
SECTION_ENTRY_SIZE = 12
MAX_SECTIONS = 16
MAX_INPUTS = 65534
MAX_OUTPUTS = 65535
MAX_TREES = 65535
MAX_KNN_K = 1024
KNN_QUERY_CODE_MAX = 8388607
KNN_SCALE_LOG2_MAX = 64
PIPE_MAX_STEPS = 16
PIPE_MAX_FFT = 4096
PIPE_MAX_SECTIONS = 16
CNN_MAX_TENSORS = 512
CNN_MAX_LAYERS = 512
CNN_MAX_PRODUCTS = 65536
CNN_MEAN_CELLS_LOG2 = 23
CNN_MAX_MEAN_CELLS = 8388608

# The limits messages state, in EMLML_LIMIT_LIST order: a template names the
# i-th as % and hex digit i (%0, %1, ..., %A, ...).
LIMITS = (
    ('VERSION_MIN', 1),
    ('VERSION_MAX', 1),
    ('HEADER_SIZE', 48),
    ('MAX_SECTIONS', 16),
    ('MAX_INPUTS', 65534),
    ('MAX_OUTPUTS', 65535),
    ('MAX_TREES', 65535),
    ('MAX_KNN_K', 1024),
    ('CNN_MAX_TENSORS', 512),
    ('CNN_MAX_LAYERS', 512),
    ('CNN_MAX_PRODUCTS', 65536),
    ('CNN_MEAN_CELLS_LOG2', 23),
    ('KNN_SCALE_LOG2_MAX', 64),
    ('PIPE_MAX_STEPS', 16),
)

# Every status code (emlml_status_t) in enum order, with its message template:
# STATUS[i] is status number i.
STATUS = (
    ('EMLML_OK', 'ok'),
    ('EMLML_E_SHORT', 'truncated: %u bytes, the header alone needs %2'),
    ('EMLML_E_MAGIC', 'bad magic (not an emlml blob)'),
    ('EMLML_E_VERSION', 'unsupported version %u (this build reads %0..%1)'),
    ('EMLML_E_TRUNCATED', 'truncated: header says %u bytes, buffer has %u'),
    ('EMLML_E_TRAILING', 'trailing bytes: header says %u bytes, buffer has %u'),
    ('EMLML_E_CRC', 'CRC mismatch'),
    ('EMLML_E_BUFFER_ALIGN', 'blob buffer is not 4-byte aligned (copy it into a bytearray)'),
    ('EMLML_E_HEADER_SIZE', 'header_size %u, expected %2'),
    ('EMLML_E_RESERVED', 'reserved header bytes or flags are not zero'),
    ('EMLML_E_N_SECTIONS', 'bad section count %u (1..%3)'),
    ('EMLML_E_KIND', 'unknown model kind %u'),
    ('EMLML_E_TASK', 'unknown task %u'),
    ('EMLML_E_INPUT_TYPE', 'unknown input type %u'),
    ('EMLML_E_N_INPUTS', 'n_inputs %u out of range (1..%4)'),
    ('EMLML_E_N_OUTPUTS', 'n_outputs %u out of range (1..%5)'),
    ('EMLML_E_REGRESSOR_OUTPUTS', 'a regressor has 1 output, the blob says %u'),
    ('EMLML_E_NO_FAMILY', 'this emlml build has no %N support: install one that has (emlml install --for MODEL)'),
    ('EMLML_E_ARENA', 'arena_bytes %u, this model needs %u'),
    ('EMLML_E_SECTION_BOUNDS', 'section %u outside the blob'),
    ('EMLML_E_SECTION_ALIGN', 'section %u offset %u not 4-byte aligned'),
    ('EMLML_E_SECTION_ORDER', 'section %u overlaps or precedes the one before'),
    ('EMLML_E_SECTION_EMPTY', 'section %u is empty'),
    ('EMLML_E_SECTION_DUP', 'section id %u appears twice'),
    ('EMLML_E_SECTION_UNKNOWN', 'unknown section id %u for this model kind'),
    ('EMLML_E_SECTION_MISSING', 'missing section id %u'),
    ('EMLML_E_SECTION_SIZE', 'section id %u size %u is not a multiple of %u'),
    ('EMLML_E_SECTION_LENGTH', 'section id %u has %u bytes, expected %u'),
    ('EMLML_E_META_OVERRUN', 'metadata record at offset %u overruns its section'),
    ('EMLML_E_LABELS', '%u labels for %u classes'),
    ('EMLML_E_TREE_COUNT', 'bad tree count %u (1..%6)'),
    ('EMLML_E_TREE_ROOT', 'tree %u: root %u out of order or range'),
    ('EMLML_E_TREE_CHILD', 'tree %u node %u: child index out of range'),
    ('EMLML_E_TREE_FEATURE', 'tree %u node %u: feature %u out of range (%u inputs)'),
    ('EMLML_E_TREE_LEAF', 'tree %u node %u: leaf index %u out of range'),
    ('EMLML_E_TREE_LEAF_CHILD', 'tree %u node %u: leaf with a child offset'),
    ('EMLML_E_TREE_VOTE', 'leaf vector %u: vote %u above the scale %u'),
    ('EMLML_E_TREE_NAN_INPUT', 'TREE_NAN (section 19) needs float32 input, not input type %u'),
    ('EMLML_E_TREE_NAN_LEAF', 'tree %u node %u: NaN direction on a leaf'),
    ('EMLML_E_TREE_NAN_PADDING', 'TREE_NAN: bit %u set beyond the %u nodes'),
    ('EMLML_E_TREE_WEIGHTS_TASK', 'TREE_WEIGHTS (section 20) is for classifiers only'),
    ('EMLML_E_TREE_WEIGHT', 'leaf vector %u: weight 0'),
    ('EMLML_E_BOOST_LINK', 'boosting: link %u for task %u with %u outputs and %u score groups'),
    ('EMLML_E_BOOST_PARAMS', 'BOOST_PARAMS (section 21): decision %u, sum %u, reserved %u (need 0..1, 0..1, 0)'),
    ('EMLML_E_BOOST_GROUPS', 'boosting: %u trees are not a multiple of %u score groups'),
    ('EMLML_E_BOOST_SCORE', 'boosting: threshold or init score %u is not finite'),
    ('EMLML_E_BOOST_LEAF', 'boosting: leaf value %u is not finite'),
    ('EMLML_E_BOOST_ZERO_NAN', 'BOOST_ZERO (section 23) needs float32 input and TREE_NAN (section 19)'),
    ('EMLML_E_BOOST_ZERO_PADDING', 'BOOST_ZERO: bit %u set beyond the %u inputs'),
    ('EMLML_E_KNN_K_RANGE', 'k %u out of range (1..%7)'),
    ('EMLML_E_KNN_K_SAMPLES', 'k %u larger than the %u samples'),
    ('EMLML_E_KNN_METRIC', 'unknown kNN metric %u'),
    ('EMLML_E_KNN_WEIGHTS', 'unknown kNN weights %u'),
    ('EMLML_E_KNN_SAMPLE_TYPE', 'unknown kNN sample type %u'),
    ('EMLML_E_KNN_DISTANCES', 'unknown kNN distances %u (0 = float32, 1 = integer)'),
    ('EMLML_E_KNN_CLASS', 'sample %u: class index %u out of range'),
    ('EMLML_E_KNN_NONFINITE', 'sample %u feature %u is not finite'),
    ('EMLML_E_KNN_QUANT_NONFINITE', 'feature %u: scale or offset is not finite'),
    ('EMLML_E_KNN_INT_FLOAT_SAMPLES', 'integer kNN distances need int8 or int16 samples'),
    ('EMLML_E_KNN_INT_SCALE', 'feature %u: integer distances need one scale for all, in [2^-%C, 2^%C]'),
    ('EMLML_E_CNN_HEADER', 'CNN: task %u, input type %u (needs 0 and 1: int8)'),
    ('EMLML_E_CNN_COUNTS', 'CNN: %u tensors, %u layers (2..%8, 1..%9)'),
    ('EMLML_E_CNN_IO_TENSORS', 'CNN: bad input/output tensors %u, %u'),
    ('EMLML_E_CNN_SCALE', 'CNN: %N scale not finite and positive'),
    ('EMLML_E_CNN_FLAGS', 'CNN: flags %u or reserved bytes not zero'),
    ('EMLML_E_CNN_ARENA_SIZE', 'CNN: tensor arena of %u bytes too large'),
    ('EMLML_E_CNN_TENSOR_SHAPE', 'tensor %u: shape %ux%ux%u has a zero dimension'),
    ('EMLML_E_CNN_TENSOR_FLAGS', 'tensor %u: flags %u, must be 0 or 1 (constant)'),
    ('EMLML_E_CNN_TENSOR_ZP', 'tensor %u: zero point %d out of range'),
    ('EMLML_E_CNN_TENSOR_ARENA', 'tensor %u: bytes [%u, %u) outside the %u-byte arena'),
    ('EMLML_E_CNN_N_INPUTS', 'n_inputs %u, the input tensor holds %u'),
    ('EMLML_E_CNN_N_OUTPUTS', 'n_outputs %u, the output tensor holds %u'),
    ('EMLML_E_CNN_OUTPUT_UNWRITTEN', 'no layer writes the output tensor %u'),
    ('EMLML_E_NO_FEATURES', 'this module was built without feature steps: install the module of every family (emlml install --for MODEL)'),
    ('EMLML_E_CNN_OP', 'layer %u: unknown op %u'),
    ('EMLML_E_CNN_TENSOR_INDEX', '%L: tensor %u out of range'),
    ('EMLML_E_CNN_FIELD_ZERO', '%L: %N is %u, must be 0'),
    ('EMLML_E_CNN_FIELD_MIN1', '%L: %N is %u, must be >= 1'),
    ('EMLML_E_CNN_PADDING', '%L: padding is %u, must be 0 or 1'),
    ('EMLML_E_CNN_ACTIVATION', '%L: act_min %d above act_max %d'),
    ('EMLML_E_CNN_NO_ACTIVATION', '%L: %N is %d, must be -128/127'),
    ('EMLML_E_CNN_UNWRITTEN_READ', '%L: reads tensor %u before it is written'),
    ('EMLML_E_CNN_WRITES_INPUT', '%L: writes the input tensor %u'),
    ('EMLML_E_CNN_WRITTEN_TWICE', '%L: tensor %u already written by layer %u'),
    ('EMLML_E_CNN_CHAIN', '%L: output shape %ux%ux%u does not chain'),
    ('EMLML_E_CNN_VALID_WINDOW', '%L: VALID window %u larger than input %c %u'),
    ('EMLML_E_CNN_PRODUCTS', '%L: %u products per output, above %A'),
    ('EMLML_E_CNN_DW_CHANNELS', '%L: %u output channels for %u input'),
    ('EMLML_E_CNN_ZP_DIFFERS', '%L: output zero point %d, input %d'),
    ('EMLML_E_CNN_MEAN_CELLS', '%L: mean over %u cells, above 2^%B'),
    ('EMLML_E_CNN_PAD_SIZE', '%L: output %c %u below input + padding %u'),
    ('EMLML_E_CNN_SOFTMAX_ZP', '%L: output zero point %d, must be -128'),
    ('EMLML_E_CNN_RESHAPE_SIZE', '%L: %u values out, %u in'),
    ('EMLML_E_CNN_WEIGHTS_BOUNDS', '%L: weights [%u, %u) outside CNN_WEIGHTS (%u)'),
    ('EMLML_E_CNN_QPARAMS_BOUNDS', '%L: qparams [%u, %u) outside CNN_QPARAMS (%u)'),
    ('EMLML_E_CNN_CHANNEL_QPARAM', '%L: %N[%u] %d out of range'),
    ('EMLML_E_CNN_FC_SCALE', '%L: scale[%u] not finite and >= 0'),
    ('EMLML_E_CNN_QPARAM', '%L: %N %d out of range'),
    ('EMLML_E_CNN_OVERLAP', '%L: live tensors %u and %u share arena bytes'),
    ('EMLML_E_CNN_CONSTANT_BOUNDS', 'tensor %u: constant bytes [%u, %u) outside CNN_WEIGHTS (%u)'),
    ('EMLML_E_CNN_WRITES_CONSTANT', '%L: writes the constant tensor %u'),
    ('EMLML_E_PIPE_INPUT', 'steps need input type 0, not %u'),
    ('EMLML_E_PIPE_STEPS', '%u feature steps (at most %D)'),
    ('EMLML_E_PIPE_RUN', 'n_run %u > %u steps'),
    ('EMLML_E_PIPE_CHANNELS', '%u channels do not divide %u inputs'),
    ('EMLML_E_PIPE_RATE', 'bad sample rate'),
    ('EMLML_E_PIPE_PARAM', 'step parameter %u not finite'),
    ('EMLML_E_STEP_OP', 'step %u: unknown op %u'),
    ('EMLML_E_STEP_RESERVED', 'step %u (%N): reserved bytes not zero'),
    ('EMLML_E_STEP_INPUTS', 'step %u (%N): %u inputs, expected %u'),
    ('EMLML_E_STEP_OUTPUTS', 'step %u (%N): %u outputs from %u inputs'),
    ('EMLML_E_STEP_PARAMS', 'step %u (%N): parameters end at %u of %u'),
    ('EMLML_E_STEP_ZERO', 'step %u (%N): divisor %u is zero'),
    ('EMLML_E_STEP_PARAM', 'step %u (%N): parameter %u out of range'),
    ('EMLML_E_STEP_CHANNELS', 'step %u (%N): %u inputs, not a multiple of %u channels'),
    ('EMLML_E_STEP_FFT', 'step %u (%N): %u samples, not a power of two'),
    ('EMLML_E_STEP_FOLD', 'step %u (%N) cannot be folded into a %N model'),
    ('EMLML_E_STEP_NAN', 'step %u (%N): input %u is NaN'),
    ('EMLML_E_STEP_INFINITE', 'step %u (%N): input %u is infinite'),
    ('EMLML_E_STEP_OVERFLOW', 'step %u (%N): output %u overflows float32'),
    ('EMLML_E_STEP_MONO', 'step %u (%N) takes one channel, not %u'),
    ('EMLML_E_STEP_NO_SOUND', 'step %u (%N) is not in this build: load the module of every family'),
    ('EMLML_E_INPUT_NONFINITE', 'input %u is NaN or infinite'),
    ('EMLML_E_INPUT_INFINITE', 'input %u is infinite (NaN is accepted, infinity is not)'),
)

# The names %N prints, by EMLML_NAME_* number.
FIELD_NAMES = (
    'padding',
    'act_min',
    'act_max',
    'in1',
    'stride_h',
    'stride_w',
    'dilation_h',
    'dilation_w',
    'filter_h',
    'filter_w',
    'pad_h',
    'pad_w',
    'pad_c',
    'reserved',
    'weights_offset',
    'qparams_offset',
    'input',
    'output',
    'input1_multiplier',
    'input1_shift',
    'input2_multiplier',
    'input2_shift',
    'output_multiplier',
    'output_shift',
    'input_multiplier',
    'shift',
    'multiplier',
    'left_shift',
    'input_left_shift',
    'diff_min',
    'alpha_zero_point',
    'SCALE',
    'AFFINE',
    'PROJECT',
    'STATS',
    'SPECTRUM',
    'SOS',
    'MFE',
    'MFCC',
    'trees',
    'kNN',
    'CNN',
)

# The int8 CNN ops (EMLML_CNN_OP_LIST): TFLite name and op number, 1..N in order.
CNN_OPS = (
    ('CONV_2D', 1),
    ('DEPTHWISE_CONV_2D', 2),
    ('FULLY_CONNECTED', 3),
    ('MAX_POOL_2D', 4),
    ('AVERAGE_POOL_2D', 5),
    ('MEAN', 6),
    ('PAD', 7),
    ('ADD', 8),
    ('SOFTMAX', 9),
    ('RESHAPE', 10),
    ('LOGISTIC', 11),
    ('TANH', 12),
    ('LEAKY_RELU', 13),
    ('HARD_SWISH', 14),
    ('QUANTIZE', 15),
    ('CONCATENATION', 16),
    ('MUL', 17),
    ('SUB', 18),
    ('MAXIMUM', 19),
    ('MINIMUM', 20),
    ('PRELU', 21),
    ('TRANSPOSE_CONV', 22),
)

# The feature steps' ops (EMLML_STEP_OP_LIST): name and op number, 1..N in order.
STEP_OPS = (
    ('SCALE', 1),
    ('AFFINE', 2),
    ('PROJECT', 3),
    ('STATS', 4),
    ('SPECTRUM', 5),
    ('SOS', 6),
    ('MFE', 7),
    ('MFCC', 8),
)

# Section ids (EMLML_SEC_*): name without its prefix -> number.
SECTIONS = {
    'META': 1,
    'TREE_ROOTS': 16,
    'TREE_NODES': 17,
    'TREE_LEAVES': 18,
    'TREE_NAN': 19,
    'TREE_WEIGHTS': 20,
    'BOOST_PARAMS': 21,
    'BOOST_LEAVES': 22,
    'BOOST_ZERO': 23,
    'KNN_PARAMS': 32,
    'KNN_SAMPLES': 33,
    'KNN_QUANT': 34,
    'KNN_TARGETS': 35,
    'CNN_PARAMS': 48,
    'CNN_TENSORS': 49,
    'CNN_LAYERS': 50,
    'CNN_WEIGHTS': 51,
    'CNN_QPARAMS': 52,
    'PIPE_HEAD': 56,
    'PIPE_STEPS': 57,
    'PIPE_PARAMS': 58,
}

# Model kinds (emlml_kind_t): name without its prefix -> number.
KINDS = {
    'TREES': 1,
    'KNN': 2,
    'CNN': 3,
    'BOOST': 4,
}

# Tasks (emlml_task_t): name without its prefix -> number.
TASKS = {
    'CLASSIFIER': 0,
    'REGRESSOR': 1,
}

# Input types (emlml_input_type_t): name without its prefix -> number.
INPUT_TYPES = {
    'F32': 0,
    'I8': 1,
    'U8': 2,
    'I16': 3,
}

# Metadata record tags (EMLML_META_*): name without its prefix -> number.
META_TAGS = {
    'PRODUCER': 1,
    'LABEL': 2,
    'INPUT_SHAPE': 3,
    'NAME': 4,
}

# The statistics of the STATS step by mask bit (EMLML_STAT_LIST): name without its prefix -> number.
STATS = {
    'MEAN': 0,
    'STD': 1,
    'RMS': 2,
    'MIN': 3,
    'MAX': 4,
    'PTP': 5,
    'SKEW': 6,
    'KURTOSIS': 7,
    'CROSSINGS': 8,
}

# kNN metrics (emlml_knn_metric_t): name without its prefix -> number.
KNN_METRICS = {
    'EUCLIDEAN': 0,
    'MANHATTAN': 1,
}

# kNN weights (emlml_knn_weights_t): name without its prefix -> number.
KNN_WEIGHTS = {
    'UNIFORM': 0,
    'DISTANCE': 1,
}

# kNN sample types (emlml_knn_sample_type_t): name without its prefix -> number.
KNN_SAMPLE_TYPES = {
    'F32': 0,
    'I8': 1,
    'I16': 2,
}

# kNN distances (emlml_knn_distances_t): name without its prefix -> number.
KNN_DISTANCES = {
    'FLOAT32': 0,
    'INTEGER': 1,
}

# Boosting links (emlml_boost_link_t): name without its prefix -> number.
BOOST_LINKS = {
    'IDENTITY': 0,
    'SIGMOID': 1,
    'SOFTMAX': 2,
}

# Boosting sum types (emlml_boost_sum_t): name without its prefix -> number.
BOOST_SUMS = {
    'F64': 0,
    'F32': 1,
}

# CNN tensor flags (EMLML_CNN_TENSOR_*): name without its prefix -> number.
CNN_TENSOR_FLAGS = {
    'CONSTANT': 1,
}
