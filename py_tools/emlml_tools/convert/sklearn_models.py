"""Fitted scikit-learn estimators -> emlml blobs (docs/FORMAT.md).

``convert`` looks the estimator's type up in ``_CONVERTERS`` (exact type first, then its
base classes) and calls a pure function that returns the blob bytes. Anything the format
cannot hold exactly is refused with a ``ValueError``/``TypeError`` that says what to do.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import numpy.typing as npt
import sklearn
from sklearn.base import is_classifier
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.exceptions import NotFittedError
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import Pipeline
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from sklearn.utils.validation import check_is_fitted

from emlml_tools import __version__
from emlml_tools.features import TFLiteClassifier
from emlml_tools.format import (
    DISTANCES_NAMES,
    INPUT_TYPE_NAMES,
    MAX_INPUTS,
    MAX_K,
    MAX_OUTPUTS,
    MAX_TREES,
    NODE_DTYPE,
    SAMPLE_DTYPES,
    SAMPLE_TYPE_NAMES,
    Distances,
    InputType,
    Metric,
    SampleType,
    Task,
    Weights,
    encode_meta,
    knn_blob,
    trees_blob,
    vote_scale,
)
from emlml_tools.format import c_tables as C
from emlml_tools.format.trees import leaf_fractions
from emlml_tools.format.keys import threshold_keys

MAX_RIGHT = 0xFFFF
_LEAF_FEATURE = 0xFFFF
_SKLEARN_LEAF = -1  # children_left of a leaf in sklearn's Tree


@dataclass(frozen=True)
class ConvertOptions:
    labels: list[str] | None
    input_type: InputType
    knn_samples: SampleType
    knn_distances: Distances
    name: str | None
    input_shape: tuple[int, ...] | None


Converter = Callable[[Any, ConvertOptions], bytes]


# ---------------------------------------------------------------------------- public


def convert(estimator: Any, *, labels: Sequence[str] | None = None,
            input_type: str = "float32", knn_samples: str = "float32",
            knn_distances: str | None = None,
            name: str | None = None, input_shape: Sequence[int] | None = None,
            channels: int = 1, sample_rate: float = 0.0) -> bytes:
    """Convert a fitted estimator into blob bytes.

    labels: one string per class (default ``str(c)`` for ``classes_``); classifiers only.
    input_type: what ``predict`` takes on the board: float32, int8, uint8 or int16.
    knn_samples: how kNN stores its samples: float32, int8 or int16.
    knn_distances: with int8/int16 samples, ``"integer"`` (the default: one grid for every
    feature, the query quantized to it, integer distances; docs/knn.md) or ``"float32"``
    (per-feature scales, float32 distances to the dequantized samples).
    name, input_shape: metadata (``input_shape`` must multiply out to the number of inputs).
    channels, sample_rate: a Pipeline's window (samples x channels, sample-major; Hz, 0 for
    not given), stored with its feature steps (convert/sklearn_pipeline.py).
    """
    converter = None if isinstance(estimator, Pipeline) else _find_converter(type(estimator))
    try:
        check_is_fitted(estimator if converter is not None else estimator[-1])
    except NotFittedError:
        raise ValueError(f"{type(estimator).__name__} is not fitted: call .fit(X, y) before "
                         "converting it") from None
    if input_type not in INPUT_TYPE_NAMES:
        raise ValueError(f"input_type {input_type!r} is not supported: use one of "
                         f"{', '.join(INPUT_TYPE_NAMES)}")
    if knn_samples not in SAMPLE_TYPE_NAMES:
        raise ValueError(f"knn_samples {knn_samples!r} is not supported: use one of "
                         f"{', '.join(SAMPLE_TYPE_NAMES)}")
    if knn_distances is None:
        knn_distances = "float32" if knn_samples == "float32" else "integer"
    if knn_distances not in DISTANCES_NAMES:
        raise ValueError(f"knn_distances {knn_distances!r} is not supported: use one of "
                         f"{', '.join(DISTANCES_NAMES)}")
    if knn_distances == "integer" and knn_samples == "float32":
        raise ValueError("knn_distances 'integer' needs integer samples: add "
                         "knn_samples='int16' or 'int8' (--knn-samples int16)")
    options = ConvertOptions(
        labels=None if labels is None else [str(label) for label in labels],
        input_type=INPUT_TYPE_NAMES[input_type],
        knn_samples=SAMPLE_TYPE_NAMES[knn_samples],
        knn_distances=DISTANCES_NAMES[knn_distances],
        name=name,
        input_shape=None if input_shape is None else tuple(int(d) for d in input_shape),
    )
    if isinstance(estimator, Pipeline):
        from emlml_tools.convert.sklearn_pipeline import convert_pipeline

        return convert_pipeline(estimator, options, channels=channels, sample_rate=sample_rate)
    return converter(estimator, options)


def convert_model_file(data: bytes, file_format: str, *, labels: Sequence[str] | None = None,
                       input_type: str = "float32", name: str | None = None,
                       input_shape: Sequence[int] | None = None) -> bytes:
    """Convert a saved boosting model: ``file_format`` "xgboost-json" (XGBoost's JSON model)
    or "lightgbm-text" (LightGBM's text model). Parsed by emlml itself: neither library is
    needed."""
    if input_type not in INPUT_TYPE_NAMES:
        raise ValueError(f"input_type {input_type!r} is not supported: use one of "
                         f"{', '.join(INPUT_TYPE_NAMES)}")
    options = ConvertOptions(
        labels=None if labels is None else [str(label) for label in labels],
        input_type=INPUT_TYPE_NAMES[input_type], knn_samples=SampleType.FLOAT32,
        knn_distances=Distances.FLOAT32, name=name,
        input_shape=None if input_shape is None else tuple(int(d) for d in input_shape))
    if file_format == "xgboost-json":
        from emlml_tools.convert.xgboost_json import convert_xgboost_json
        try:
            return convert_xgboost_json(data.decode("utf-8"), input_type=options.input_type,
                                        meta_for=meta_for_file(options, f"emlml {__version__} / "
                                                               "XGBoost JSON model"))
        except (KeyError, TypeError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not an XGBoost JSON model ({type(exc).__name__}: {exc}): save "
                             "it with booster.save_model('model.json')") from None
    if file_format == "lightgbm-text":
        from emlml_tools.convert.lightgbm_text import convert_lightgbm_text
        try:
            return convert_lightgbm_text(data.decode("utf-8"), input_type=options.input_type,
                                         meta_for=meta_for_file(options, f"emlml {__version__} / "
                                                                "LightGBM text model"))
        except (KeyError, IndexError, UnicodeDecodeError) as exc:
            raise ValueError(f"not a LightGBM text model ({type(exc).__name__}: {exc}): save "
                             "it with booster.save_model('model.txt')") from None
    raise ValueError(f"unknown model file format {file_format!r}")


def load_estimator(path: str | os.PathLike[str]) -> Any:
    """Load a fitted estimator saved with joblib.dump or pickle.

    Loading a pickle runs code from the file: only load files you trust.
    """
    import joblib

    return joblib.load(path)


def supported_estimators() -> list[str]:
    return sorted([cls.__name__ for cls in _CONVERTERS] + [n for _, n in _CONVERTERS_BY_NAME])


def quantize_samples(X: npt.ArrayLike, sample_type: SampleType
                     ) -> tuple[np.ndarray, npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Per-feature symmetric quantization of kNN samples: ``(codes, scale, offset)``.

    offset = (max + min) / 2, scale = (max - min) / (2 * qmax) (1.0 when max == min),
    code = clip(round((x - offset) / scale), -qmax, qmax); qmax = 127 (int8) or 32767 (int16).
    The board reconstructs ``offset + scale * float32(code)`` (see ``dequantize_samples``).
    """
    dtype = SAMPLE_DTYPES[SampleType(sample_type)]
    qmax = float(np.iinfo(dtype).max)
    x = np.asarray(X, dtype=np.float32).astype(np.float64)
    lo, hi = x.min(axis=0), x.max(axis=0)
    offset = ((hi + lo) / 2).astype(np.float32)
    scale = ((hi - lo) / (2 * qmax)).astype(np.float32)
    scale[(hi == lo) | (scale == 0)] = np.float32(1.0)
    codes = np.round((x - offset.astype(np.float64)) / scale.astype(np.float64))
    return np.clip(codes, -qmax, qmax).astype(dtype), scale, offset


# Integer distances: the samples' codes stay within +-this, the type's whole range (int16:
# half of it disagreed with scikit-learn on 1 of the 45 wine samples; docs/knn.md). A
# query beyond the training range needs no spare codes: query codes go to +-(2^23 - 1).
GRID_CODE_MAX = {SampleType.INT8: 127, SampleType.INT16: 32767}


def quantize_on_grid(X: npt.ArrayLike, sample_type: SampleType
                     ) -> tuple[np.ndarray, npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Samples on one grid for integer distances: ``(codes, scale, offset)``.

    offset[f] = (max + min) / 2 per feature; one scale for every feature, the widest
    feature's (max - min) / (2 * GRID_CODE_MAX) (1.0 when every feature is constant);
    code = the query rule of docs/knn.md (float32 ``(x - offset) / scale``, rounded half
    to even), clipped to +-GRID_CODE_MAX. A training point queried gets its own codes.
    """
    from emlml_tools.runtime.knn import query_codes

    sample_type = SampleType(sample_type)
    code_max = GRID_CODE_MAX[sample_type]
    x = np.asarray(X, dtype=np.float32)
    lo, hi = x.min(axis=0).astype(np.float64), x.max(axis=0).astype(np.float64)
    offset = ((hi + lo) / 2).astype(np.float32)
    widest = float((hi - lo).max()) if x.size else 0.0
    scale = np.float32(widest / (2 * code_max)) if widest > 0 else np.float32(1.0)
    log2_max = C.KNN_SCALE_LOG2_MAX
    if not 2.0 ** -log2_max <= scale <= 2.0 ** log2_max:
        raise ValueError(f"the features' range {widest:g} is too small or too large for "
                         f"integer kNN distances (scale {scale:g} outside [2^-{log2_max}, "
                         f"2^{log2_max}]): rescale the features and refit, or use "
                         "knn_distances='float32' (--knn-distances float32)")
    scales = np.full(x.shape[1], scale, dtype=np.float32)
    probe = _Grid(scale=scales, offset=offset)
    codes = np.clip(query_codes(probe, x), -code_max, code_max)  # type: ignore[arg-type]
    return codes.astype(SAMPLE_DTYPES[sample_type]), scales, offset


@dataclass(frozen=True)
class _Grid:
    """What ``query_codes`` reads of a kNN model."""
    scale: npt.NDArray[np.float32]
    offset: npt.NDArray[np.float32]


def dequantize_samples(codes: np.ndarray, scale: npt.ArrayLike, offset: npt.ArrayLike
                       ) -> npt.NDArray[np.float32]:
    """``offset + scale * float32(code)`` in float32: the values the board uses."""
    product = np.asarray(scale, np.float32) * np.asarray(codes).astype(np.float32)
    return product + np.asarray(offset, np.float32)


# ---------------------------------------------------------------------------- common


def _find_converter(cls: type) -> Converter:
    for base in cls.__mro__:
        if base in _CONVERTERS:
            return _CONVERTERS[base]
        if (base.__module__, base.__name__) in _CONVERTERS_BY_NAME:  # without importing them
            return _CONVERTERS_BY_NAME[(base.__module__, base.__name__)]
    raise TypeError(f"cannot convert {cls.__name__}: emlml converts "
                    f"{', '.join(supported_estimators())}. Train one of these instead")


def _producer(estimator: Any) -> str:
    package = type(estimator).__module__.split(".")[0]
    version = sklearn.__version__ if package == "sklearn" else getattr(
        __import__(package), "__version__", "?")
    library = "scikit-learn" if package == "sklearn" else package
    return f"emlml {__version__} / {library} {version} {type(estimator).__name__}"


def _check_inputs_count(estimator: Any) -> int:
    n = int(estimator.n_features_in_)
    if n > MAX_INPUTS:
        raise ValueError(f"{type(estimator).__name__} has {n} features; a blob takes at most "
                         f"{MAX_INPUTS}: reduce the features (e.g. feature selection or PCA)")
    return n


def _classes(estimator: Any) -> int:
    n = len(estimator.classes_)
    if n > MAX_OUTPUTS:
        raise ValueError(f"{n} classes; a blob holds at most {MAX_OUTPUTS}: merge classes")
    return n


def _meta(estimator: Any, options: ConvertOptions, classifier: bool, n_inputs: int) -> bytes:
    labels: list[str] = []
    if classifier:
        n_classes = len(estimator.classes_)
        labels = options.labels if options.labels is not None else [
            str(c) for c in estimator.classes_]
        if len(labels) != n_classes:
            raise ValueError(f"{len(labels)} labels given for {n_classes} classes "
                             f"({', '.join(map(str, estimator.classes_))}): pass one label "
                             "per class, in classes_ order")
    elif options.labels is not None:
        raise ValueError("labels apply to classifiers only: drop them for a regressor")
    if options.input_shape is not None:
        shape = options.input_shape
        if not shape or any(not 1 <= d <= 0xFFFF for d in shape) or \
                int(np.prod(shape)) != n_inputs:
            raise ValueError(f"input_shape {'x'.join(map(str, shape))} does not match the "
                             f"model's {n_inputs} inputs: give dimensions whose product is "
                             f"{n_inputs}")
    return encode_meta(producer=_producer(estimator), labels=labels,
                       input_shape=options.input_shape, name=options.name)


def _single_output(estimator: Any, n_outputs: int) -> None:
    if n_outputs != 1:
        kind = "multi-output y" if is_classifier(estimator) else f"n_outputs {n_outputs}"
        raise ValueError(f"{type(estimator).__name__} was fitted with {kind} "
                         f"({n_outputs} outputs); a blob holds one output: fit one model "
                         "per output column")


# ---------------------------------------------------------------------------- trees


def _preorder(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """sklearn node ids in pre-order (node, left subtree, right subtree)."""
    order = []
    stack = [0]
    while stack:
        node = stack.pop()
        order.append(node)
        if left[node] != _SKLEARN_LEAF:
            stack.append(int(right[node]))
            stack.append(int(left[node]))
    return np.asarray(order, dtype=np.int64)


def _leaf_vectors(tree: Any, leaf_ids: np.ndarray, classifier: bool, n_classes: int,
                  n_trees: int) -> tuple[np.ndarray, np.ndarray | None]:
    """A regressor's leaf values as float32; a classifier's leaf class distributions
    (normalised in float64 as scikit-learn's predict_proba does) as integer votes out of
    vote_scale(n_trees), rounded to nearest (docs/FORMAT.md, Trees), with each leaf's
    weight for the tie replay (TREE_WEIGHTS): 1 for a pure leaf, scikit-learn's
    weighted_n_node_samples where the votes and it give back ``tree_.value`` to the bit
    (``leaf_fractions``), and 0 where they cannot (non-integer sample weights)."""
    value = tree.value[leaf_ids, 0, :]
    if not classifier:
        return value[:, :1].astype(np.float32), None
    proba = value[:, :n_classes].astype(np.float64)
    normalizer = proba.sum(axis=1)[:, np.newaxis]
    normalizer[normalizer == 0.0] = 1.0
    scale = vote_scale(n_trees)
    votes = np.minimum(np.floor(proba / normalizer * scale + 0.5), scale).astype(np.uint32)
    m = np.asarray(tree.weighted_n_node_samples, dtype=np.float64)[leaf_ids]
    pure = np.isin(votes, (0, scale)).all(axis=1)
    usable = (m >= 1) & (m < 2.0**32) & (np.floor(m) == m)
    weights = np.where(pure, 1.0, np.where(usable, m, 1.0)).astype(np.uint32)
    exact = (leaf_fractions(votes, weights, n_trees) == proba).all(axis=1)
    return votes, np.where(exact, weights, 0).astype(np.uint32)


def _nan_routing(member: Any, n_inputs: int) -> bool:
    """Whether scikit-learn's predict takes NaN for this (fitted) tree: the check its
    tree and forest predict make (``_support_missing_values``: criterion, splitter,
    no monotonic constraints)."""
    supports = getattr(member, "_support_missing_values", None)
    return bool(supports is not None and supports(np.zeros((1, n_inputs), np.float32)))


# Thresholds on the model's features -> thresholds on the raw inputs, for feature steps
# folded into the trees (convert/sklearn_pipeline.py): (features, thresholds) -> thresholds.
Fold = Callable[[np.ndarray, np.ndarray], np.ndarray]


class NotFoldable(ValueError):
    """A model whose splits cannot take the steps' fold (the pipeline then runs them)."""


def _layout_tree(t: int, tree: Any, classifier: bool, n_classes: int, integer_input: bool,
                 n_trees: int, leaf_index: dict[bytes, int],
                 leaf_rows: list[tuple[np.ndarray, np.generic | None]], fold: Fold | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Nodes of one tree in FORMAT.md order, and per node whether it sends NaN left
    (``missing_go_to_left`` of a split: TREE_NAN); leaf vectors are added to the shared
    table."""
    left, right = tree.children_left, tree.children_right
    order = _preorder(left, right)
    position = np.empty(tree.node_count, dtype=np.int64)
    position[order] = np.arange(len(order))
    is_leaf = left[order] == _SKLEARN_LEAF
    nodes = np.zeros(len(order), dtype=NODE_DTYPE)

    split = order[~is_leaf]
    delta = position[right[split]] - position[split]
    if len(delta) and delta.max() > MAX_RIGHT:
        raise ValueError(f"tree {t} is too large for 16-bit child offsets: limit "
                         "max_leaf_nodes or max_depth")
    thresholds = tree.threshold[split]
    if fold is not None:
        thresholds = fold(tree.feature[split], thresholds)
    nodes["key"][~is_leaf] = threshold_keys(thresholds, integer_input)
    nodes["feature"][~is_leaf] = tree.feature[split]
    nodes["right"][~is_leaf] = delta
    nan_left = np.zeros(len(order), dtype=bool)
    nan_left[~is_leaf] = np.asarray(tree.missing_go_to_left)[split] != 0

    votes, weights = _leaf_vectors(tree, order[is_leaf], classifier, n_classes, n_trees)
    fractions = None
    if weights is not None:  # leaves whose weights differ but give the same fractions share
        fractions = leaf_fractions(votes, np.maximum(weights, 1), n_trees)
    leaf_keys = np.empty(len(votes), dtype=np.int32)
    for j, row in enumerate(votes):
        weight = None if weights is None else weights[j]
        raw = row.tobytes()
        if weight is not None:
            raw += weight.tobytes() if weight == 0 else fractions[j].tobytes()
        if raw not in leaf_index:
            leaf_index[raw] = len(leaf_rows)
            leaf_rows.append((row, weight))
        leaf_keys[j] = leaf_index[raw]
    nodes["key"][is_leaf] = leaf_keys
    nodes["feature"][is_leaf] = _LEAF_FEATURE
    return nodes, nan_left


def _convert_trees(estimator: Any, options: ConvertOptions, fold: Fold | None = None) -> bytes:
    name = type(estimator).__name__
    if options.knn_samples != SampleType.FLOAT32:
        raise ValueError(f"knn_samples applies to kNN models only, not to {name}: drop it")
    classifier = is_classifier(estimator)
    n_inputs = _check_inputs_count(estimator)
    _single_output(estimator, int(estimator.n_outputs_))
    n_outputs = _classes(estimator) if classifier else 1
    trees = list(getattr(estimator, "estimators_", [estimator]))
    if len(trees) > MAX_TREES:
        raise ValueError(f"{name} has {len(trees)} trees; a blob holds at most {MAX_TREES}: "
                         "lower n_estimators")
    integer_input = options.input_type != InputType.FLOAT32
    # Integer inputs have no NaN; float inputs route it where scikit-learn's predict does.
    nan_routing = not integer_input and _nan_routing(trees[0], n_inputs)
    leaf_index: dict[bytes, int] = {}
    leaf_rows: list[tuple[np.ndarray, np.generic | None]] = []
    roots, node_blocks, nan_blocks, count = [], [], [], 0
    for t, member in enumerate(trees):
        roots.append(count)
        block, nan_left = _layout_tree(t, member.tree_, classifier, n_outputs, integer_input,
                                       len(trees), leaf_index, leaf_rows, fold)
        node_blocks.append(block)
        nan_blocks.append(nan_left)
        count += len(block)
    weights = None
    if classifier:
        weights = np.array([w for _, w in leaf_rows], dtype=np.uint32)
        votes = np.stack([v for v, _ in leaf_rows])
        if np.isin(votes, (0, vote_scale(len(trees)))).all() or (weights == 0).any():
            # Pure leaves: the votes are exact multiples of vote_scale and scikit-learn's
            # sums exact integers, so the votes decide every case. A weight 0: the
            # fractions cannot be recovered (non-integer sample weights), and the votes
            # decide ties (docs/trees.md). Either way no TREE_WEIGHTS.
            weights = None
    return trees_blob(task=Task.CLASSIFIER if classifier else Task.REGRESSOR,
                      input_type=options.input_type, n_inputs=n_inputs, n_outputs=n_outputs,
                      roots=np.asarray(roots, dtype=np.uint32),
                      nodes=np.concatenate(node_blocks),
                      leaves=np.stack([v for v, _ in leaf_rows]),
                      meta=_meta(estimator, options, classifier, n_inputs),
                      nan_left=np.concatenate(nan_blocks) if nan_routing else None,
                      weights=weights)


# ---------------------------------------------------------------------------- boosting


def _convert_boosting(estimator: Any, options: ConvertOptions, fold: Fold | None = None) -> bytes:
    from emlml_tools.convert import boosting

    name = type(estimator).__name__
    if options.knn_samples != SampleType.FLOAT32:
        raise ValueError(f"knn_samples applies to kNN models only, not to {name}: drop it")
    classifier = is_classifier(estimator)
    n_inputs = _check_inputs_count(estimator)
    n_outputs = _classes(estimator) if classifier else 1
    convert_one = (boosting.convert_hist_gradient_boosting if hasattr(estimator, "_predictors")
                   else boosting.convert_gradient_boosting)
    return convert_one(estimator, classifier=classifier, n_inputs=n_inputs,
                       n_outputs=n_outputs, input_type=options.input_type,
                       meta=_meta(estimator, options, classifier, n_inputs), fold=fold)


def meta_for_file(options: ConvertOptions, producer: str):
    """META for a model file (XGBoost JSON, LightGBM text): labels from ``--labels`` or
    the class indices."""
    def make(n_inputs: int, n_classes: int) -> bytes:
        labels = options.labels if options.labels is not None else [
            str(c) for c in range(n_classes)]
        if n_classes == 0 and options.labels is not None:
            raise ValueError("labels apply to classifiers only: drop them for a regressor")
        if len(labels) != n_classes:
            raise ValueError(f"{len(labels)} labels given for {n_classes} classes: pass one "
                             "label per class")
        return encode_meta(producer=producer, labels=labels, input_shape=options.input_shape,
                           name=options.name)
    return make


def _estimator_meta(estimator: Any, options: ConvertOptions):
    """META for an XGBoost or LightGBM estimator, made once its model says its shape."""
    if options.knn_samples != SampleType.FLOAT32:
        raise ValueError("knn_samples applies to kNN models only: drop it")
    classifier = is_classifier(estimator)

    def meta(n_inputs: int, n_classes: int) -> bytes:
        if classifier and len(estimator.classes_) != n_classes:
            raise ValueError(f"{len(estimator.classes_)} classes_ for a model of {n_classes}")
        return _meta(estimator, options, classifier, n_inputs)
    return meta


def _convert_xgboost(estimator: Any, options: ConvertOptions, fold: Fold | None = None) -> bytes:
    from emlml_tools.convert.xgboost_json import booster_json, convert_xgboost_json

    return convert_xgboost_json(booster_json(estimator), input_type=options.input_type,
                                meta_for=_estimator_meta(estimator, options), fold=fold)


def _convert_lightgbm(estimator: Any, options: ConvertOptions, fold: Fold | None = None) -> bytes:
    from emlml_tools.convert.lightgbm_text import booster_text, convert_lightgbm_text

    return convert_lightgbm_text(booster_text(estimator), input_type=options.input_type,
                                 meta_for=_estimator_meta(estimator, options), fold=fold)


# ---------------------------------------------------------------------------- kNN

_EUCLIDEAN = {"euclidean", "l2"}
_MANHATTAN = {"manhattan", "cityblock", "l1"}


def _knn_metric(estimator: Any) -> Metric:
    metric = estimator.effective_metric_
    params = estimator.effective_metric_params_ or {}
    if isinstance(metric, str) and not params:
        if metric in _EUCLIDEAN:
            return Metric.EUCLIDEAN
        if metric in _MANHATTAN:
            return Metric.MANHATTAN
    shown = metric if isinstance(metric, str) else getattr(metric, "__name__", repr(metric))
    detail = f" with {params}" if params else ""
    raise ValueError(f"metric {shown!r}{detail} is not supported: refit with "
                     "metric='euclidean' or 'manhattan' (or 'minkowski' with p=2 or p=1)")


def _knn_weights(estimator: Any) -> Weights:
    if estimator.weights in (None, "uniform"):
        return Weights.UNIFORM
    if estimator.weights == "distance":
        return Weights.DISTANCE
    raise ValueError("only weights='uniform' or 'distance' can be converted, not a "
                     "callable: refit with one of those")


def _convert_knn(estimator: Any, options: ConvertOptions) -> bytes:
    name = type(estimator).__name__
    classifier = is_classifier(estimator)
    n_inputs = _check_inputs_count(estimator)
    metric = _knn_metric(estimator)
    weights = _knn_weights(estimator)
    fit_x = estimator._fit_X
    if hasattr(fit_x, "toarray"):
        fit_x = fit_x.toarray()
    with np.errstate(over="ignore"):
        samples = np.asarray(fit_x, dtype=np.float32)
    if not np.isfinite(samples).all():
        raise ValueError(f"{name} was fitted on values that are not finite in float32: "
                         "scale the features into float32 range and refit")
    n_samples = samples.shape[0]
    k = int(estimator.n_neighbors)
    if k > MAX_K:
        raise ValueError(f"n_neighbors {k} is larger than {MAX_K}, the most a blob supports: "
                         "refit with a smaller n_neighbors")
    if k > n_samples:
        raise ValueError(f"n_neighbors {k} is larger than the {n_samples} fitted samples: "
                         "refit with a smaller n_neighbors or more samples")
    y = np.asarray(estimator._y)
    if classifier:
        if estimator.outputs_2d_:
            _single_output(estimator, y.shape[1])
        n_outputs = _classes(estimator)
        targets = y.astype(np.uint16)
    else:
        if y.ndim == 2:
            _single_output(estimator, y.shape[1])
        n_outputs = 1
        targets = y.reshape(-1).astype(np.float32)
    scale = offset = None
    if options.knn_distances == Distances.INTEGER:
        samples, scale, offset = quantize_on_grid(samples, options.knn_samples)
    elif options.knn_samples != SampleType.FLOAT32:
        samples, scale, offset = quantize_samples(samples, options.knn_samples)
    return knn_blob(task=Task.CLASSIFIER if classifier else Task.REGRESSOR,
                    input_type=options.input_type, n_inputs=n_inputs, n_outputs=n_outputs,
                    k=k, metric=metric, weights=weights, sample_type=options.knn_samples,
                    samples=samples, targets=targets, scale=scale, offset=offset,
                    distances=options.knn_distances,
                    meta=_meta(estimator, options, classifier, n_inputs))


def _convert_tflite_classifier(estimator: Any, options: ConvertOptions) -> bytes:
    """emlml_tools.features.TFLiteClassifier: its .tflite as ``emlml convert model.tflite``
    converts it, the labels its classes_ (or the ones given)."""
    from emlml_tools.convert.tflite_cnn import convert_tflite

    if options.input_type != InputType.FLOAT32 or options.input_shape is not None:
        raise ValueError("a CNN's input type and shape come from its .tflite: drop "
                         "--input-type and --input-shape")
    labels = options.labels if options.labels is not None else [
        str(c) for c in estimator.classes_]
    if len(labels) != len(estimator.classes_):
        raise ValueError(f"{len(labels)} labels given for {len(estimator.classes_)} classes: "
                         "pass one label per class, in classes_ order")
    return convert_tflite(estimator.model_, name=options.name, labels=labels)


# ---------------------------------------------------------------------------- registry

_CONVERTERS: dict[type, Converter] = {
    DecisionTreeClassifier: _convert_trees,
    DecisionTreeRegressor: _convert_trees,
    RandomForestClassifier: _convert_trees,
    RandomForestRegressor: _convert_trees,
    ExtraTreesClassifier: _convert_trees,
    ExtraTreesRegressor: _convert_trees,
    GradientBoostingClassifier: _convert_boosting,
    GradientBoostingRegressor: _convert_boosting,
    HistGradientBoostingClassifier: _convert_boosting,
    HistGradientBoostingRegressor: _convert_boosting,
    KNeighborsClassifier: _convert_knn,
    KNeighborsRegressor: _convert_knn,
    TFLiteClassifier: _convert_tflite_classifier,
}

# Estimators of optional packages, by (module, class name): found without importing them.
_CONVERTERS_BY_NAME: dict[tuple[str, str], Converter] = {
    ("xgboost.sklearn", "XGBClassifier"): _convert_xgboost,
    ("xgboost.sklearn", "XGBRegressor"): _convert_xgboost,
    ("lightgbm.sklearn", "LGBMClassifier"): _convert_lightgbm,
    ("lightgbm.sklearn", "LGBMRegressor"): _convert_lightgbm,
}


# The converters that take a fold (trees and every boosting library: their splits are
# float32 keys, ``x <= key`` goes left, whatever the library's own compare).
FOLDING = frozenset({_convert_trees, _convert_boosting, _convert_xgboost, _convert_lightgbm})
