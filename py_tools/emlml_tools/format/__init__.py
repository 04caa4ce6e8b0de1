"""The emlml blob (docs/FORMAT.md), one module per part, in the order the C loader reads:

- ``header``: magic, version, header fields, section table, META, CRC, and the checks
  they share (``BlobError``: the C loader's status code, numbers and message);
- ``keys``: the signed 32-bit keys that make ``x <= threshold`` exact in integers;
- ``trees``, ``knn``, ``cnn``: each model family's sections, writer and checked reader
  side by side;
- ``blob``: ``read_blob``, which runs them all, and ``Blob``, what it returns.

Everything public is re-exported here: ``from emlml_tools.format import read_blob``.
"""

from .blob import (  # noqa: F401
    Blob,
    read_blob,
)
from .boost import (  # noqa: F401
    BoostData,
    Decision,
    Link,
    SumType,
    boost_arena_bytes,
    boost_blob,
    check_boost,
)
from .cnn import (  # noqa: F401
    CNN_ACT_OPS,
    CNN_FLAG_FLOAT_INPUT,
    CNN_FLAG_FLOAT_OUTPUT,
    CNN_FLAG_OUTPUTS_AFTER_OUTPUT,
    CNN_LAYER_DTYPE,
    CNN_MAX_DOT,
    CNN_MAX_LAYERS,
    CNN_MAX_TENSORS,
    CNN_MEAN_MAX_CELLS,
    CNN_PARAMS_DTYPE,
    CNN_PARAMS_SIZE,
    CNN_SPATIAL_OPS,
    CNN_TABLE_OPS,
    CNN_TABLE_SIZE,
    CNN_TWO_INPUT_OPS,
    CNN_BROADCAST_OPS,
    CNN_TENSOR_CONSTANT,
    CNN_TENSOR_DTYPE,
    CNN_WEIGHT_OPS,
    Q31_LOW,
    CnnData,
    CnnOp,
    CnnPadding,
    align4,
    check_cnn,
    cnn_arena_bytes,
    cnn_blob,
    cnn_qparam_count,
    cnn_weight_count,
    concat_axis,
    pad_before,
    spatial_out_size,
)
from .header import (  # noqa: F401
    ALLOWED_SECTIONS,
    CRC_START,
    HEADER_DTYPE,
    HEADER_SIZE,
    INPUT_DTYPES,
    INPUT_TYPE_NAMES,
    INPUT_TYPECODES,
    KIND_NAMES,
    KNN_PARAMS_DTYPE,
    KNN_PARAMS_SIZE,
    LEAF,
    MAGIC,
    MAX_INPUTS,
    MAX_K,
    MAX_OUTPUTS,
    MAX_SECTIONS,
    MAX_TREES,
    META_RECORD_DTYPE,
    REQUIRED_SECTIONS,
    SECTION_ALIGN,
    SECTION_ENTRY_DTYPE,
    SECTION_ENTRY_SIZE,
    VERSION,
    VERSION_MAX,
    VERSION_MIN,
    BlobError,
    InputType,
    Kind,
    MetaTag,
    SectionEntry,
    SectionId,
    Task,
    check_header,
    check_meta,
    check_table,
    encode_meta,
    exact_section,
    fix_crc,
    pad_to,
    section_table,
    section_view,
    sized_section,
    write_blob,
)
from .keys import (  # noqa: F401
    INT32_MAX,
    INT32_MIN,
    float32_keys,
    round_down_float32,
    threshold_keys,
)
from .knn import (  # noqa: F401
    DISTANCES_NAMES,
    SAMPLE_DTYPES,
    SAMPLE_TYPE_NAMES,
    Distances,
    KnnData,
    Metric,
    SampleType,
    Weights,
    check_knn,
    knn_arena_bytes,
    knn_blob,
)
from .pipeline import (  # noqa: F401
    HEAD_DTYPE,
    STEP_DTYPE,
    PipelineData,
    Step,
    StepOp,
    add_pipeline,
    check_pipeline,
    pipeline_arena_bytes,
)
from .trees import (  # noqa: F401
    NODE_DTYPE,
    TreeData,
    check_trees,
    trees_arena_bytes,
    trees_blob,
    vote_scale,
)
