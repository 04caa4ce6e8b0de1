"""Gradient boosting -> kind-4 blobs (docs/boosting.md, FORMAT.md "Boosting").

Every library's trees become the same walk (pre-order nodes, integer keys, TREE_NAN bits)
with additive leaf values; what differs is kept exactly: the threshold semantics (turned
into an equivalent ``float32(x) <= key`` compare), where NaN goes, the leaf values as
the library adds them, the init score, the sum's arithmetic, the decision rule.

scikit-learn: ``GradientBoostingClassifier/Regressor`` (float64 ``init + learning_rate *
value`` per stage, ``x <= t`` on float32 X, no NaN), ``HistGradientBoostingClassifier/
Regressor`` (float64 baseline plus leaf values, ``x <= t`` in float64, NaN per node).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from emlml_tools.format import (
    MAX_TREES,
    NODE_DTYPE,
    Decision,
    InputType,
    Link,
    SumType,
    Task,
    boost_blob,
)
from emlml_tools.format.keys import key_values, threshold_keys

MAX_RIGHT = 0xFFFF
_LEAF_FEATURE = 0xFFFF


@dataclass
class Forest:
    """Trees being laid out for one blob: nodes, NaN bits and (shared) leaf values."""
    integer_input: bool
    leaf_dtype: type = np.float64
    roots: list[int] = field(default_factory=list)
    nodes: list[np.ndarray] = field(default_factory=list)
    nan_left: list[np.ndarray] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    value_index: dict[bytes, int] = field(default_factory=dict)
    count: int = 0
    # Feature steps folded into the splits (a Pipeline's scalers, sklearn_pipeline.py):
    # (features, float32 thresholds on the steps' outputs) -> thresholds on their inputs.
    fold: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None

    def add_tree(self, left: np.ndarray, right: np.ndarray, is_leaf: np.ndarray,
                 feature: np.ndarray, keys: np.ndarray, nan_left: np.ndarray,
                 value: np.ndarray) -> None:
        """One tree from per-node arrays (node 0 the root): children, leaf flags, split
        feature, split key (``float32(x) <= key`` goes left; keys.py), NaN to the left,
        leaf value (in the library's sum type)."""
        t = len(self.roots)
        if self.fold is not None and not self.integer_input and (~is_leaf).any():
            keys = keys.copy()
            values = key_values(keys[~is_leaf]).astype(np.float64)
            keys[~is_leaf] = threshold_keys(self.fold(feature[~is_leaf], values), False)
        order = _preorder(left, right, is_leaf)
        position = np.empty(len(left), dtype=np.int64)
        position[order] = np.arange(len(order))
        leaf = is_leaf[order]
        split = order[~leaf]
        delta = position[right[split]] - position[split]
        if len(delta) and delta.max() > MAX_RIGHT:
            raise ValueError(f"tree {t} is too large for 16-bit child offsets: limit "
                             "the number of leaves or the depth")
        nodes = np.zeros(len(order), dtype=NODE_DTYPE)
        nodes["key"][~leaf] = keys[split]
        nodes["feature"][~leaf] = feature[split]
        nodes["right"][~leaf] = delta
        nodes["feature"][leaf] = _LEAF_FEATURE
        leaf_keys = []
        for v in np.asarray(value[order[leaf]], dtype=self.leaf_dtype):
            raw = v.tobytes()
            if raw not in self.value_index:
                self.value_index[raw] = len(self.values)
                self.values.append(v)
            leaf_keys.append(self.value_index[raw])
        nodes["key"][leaf] = leaf_keys
        bits = np.zeros(len(order), dtype=bool)
        bits[~leaf] = nan_left[split]
        self.roots.append(self.count)
        self.nodes.append(nodes)
        self.nan_left.append(bits)
        self.count += len(order)

    def blob(self, *, task: Task, input_type: int, n_inputs: int, n_outputs: int, link: Link,
             decision: Decision, init: np.ndarray, meta: bytes, nan_routing: bool,
             threshold: float = 0.0, zero_missing: np.ndarray | None = None) -> bytes:
        if len(self.roots) > MAX_TREES:
            raise ValueError(f"{len(self.roots)} trees; a blob holds at most {MAX_TREES}: "
                             "train fewer iterations")
        sum_type = SumType.F64 if self.leaf_dtype == np.float64 else SumType.F32
        return boost_blob(task=task, input_type=input_type, n_inputs=n_inputs,
                          n_outputs=n_outputs, roots=np.asarray(self.roots, dtype=np.uint32),
                          nodes=np.concatenate(self.nodes),
                          leaves=np.asarray(self.values, dtype=self.leaf_dtype), link=link,
                          decision=decision, sum_type=sum_type, threshold=threshold,
                          init=init, meta=meta,
                          nan_left=np.concatenate(self.nan_left) if nan_routing else None,
                          zero_missing=zero_missing)


def _preorder(left: np.ndarray, right: np.ndarray, is_leaf: np.ndarray) -> np.ndarray:
    order = []
    stack = [0]
    while stack:
        node = stack.pop()
        order.append(node)
        if not is_leaf[node]:
            stack.append(int(right[node]))
            stack.append(int(left[node]))
    return np.asarray(order, dtype=np.int64)


def classifier_link(n_classes: int) -> Link:
    return Link.SIGMOID if n_classes == 2 else Link.SOFTMAX


# ---------------------------------------------------------------------------- scikit-learn


def convert_gradient_boosting(estimator: Any, *, classifier: bool, n_inputs: int,
                              n_outputs: int, input_type: int, meta: bytes,
                              fold: Any = None) -> bytes:
    """``GradientBoostingClassifier/Regressor``: stage by stage, ``raw[k] += learning_rate *
    tree.value[leaf]`` in float64 from the init estimator's raw score (predict_stages in
    scikit-learn's _gradient_boosting.pyx), so each leaf holds that float64 product. A
    binary classifier predicts class 1 where ``raw >= 0``; multiclass takes the first
    largest raw score. scikit-learn refuses NaN for these models: so does the blob."""
    name = type(estimator).__name__
    init = estimator.init_
    if not (init == "zero" or type(init).__name__ in ("DummyClassifier", "DummyRegressor")):
        raise ValueError(f"{name} has init={type(init).__name__}: only the default init "
                         "(a constant) or init='zero' can be converted; refit without init")
    loss = getattr(estimator, "loss", "")
    if loss == "exponential":
        raise ValueError(f"{name} with loss='exponential' is not supported (its "
                         "probabilities are not a plain sigmoid): refit with loss='log_loss'")
    baseline = np.asarray(estimator._raw_predict_init(np.zeros((1, n_inputs), np.float32)),
                          dtype=np.float64)[0]
    scale = float(estimator.learning_rate)
    forest = Forest(integer_input=input_type != InputType.FLOAT32, fold=fold)
    stages = estimator.estimators_
    for stage in range(stages.shape[0]):
        for k in range(stages.shape[1]):
            tree = stages[stage, k].tree_
            left = tree.children_left.astype(np.int64)
            is_leaf = left == -1
            keys = np.zeros(tree.node_count, dtype=np.int32)
            keys[~is_leaf] = threshold_keys(tree.threshold[~is_leaf], forest.integer_input)
            value = scale * tree.value[:, 0, 0].astype(np.float64)  # as predict_stages rounds it
            forest.add_tree(left, tree.children_right.astype(np.int64), is_leaf,
                            tree.feature.astype(np.int64), keys,
                            np.zeros(tree.node_count, dtype=bool), value)
    if classifier:
        return forest.blob(task=Task.CLASSIFIER, input_type=input_type, n_inputs=n_inputs,
                           n_outputs=n_outputs, link=classifier_link(n_outputs),
                           decision=Decision.GREATER_EQUAL, init=baseline, meta=meta,
                           nan_routing=False)
    return forest.blob(task=Task.REGRESSOR, input_type=input_type, n_inputs=n_inputs,
                       n_outputs=1, link=Link.IDENTITY, decision=Decision.GREATER,
                       init=baseline, meta=meta, nan_routing=False)


def convert_hist_gradient_boosting(estimator: Any, *, classifier: bool, n_inputs: int,
                                   n_outputs: int, input_type: int, meta: bytes,
                                   fold: Any = None) -> bytes:
    """``HistGradientBoostingClassifier/Regressor``: ``raw[k] = baseline[k] + leaf values``
    added in iteration order in float64 (``_raw_predict``), each split ``x <= threshold``
    in float64 with NaN sent by the node's ``missing_go_to_left``. A binary classifier
    predicts class 1 where ``raw > 0``, multiclass the first largest raw score."""
    name = type(estimator).__name__
    if getattr(estimator, "is_categorical_", None) is not None and \
            np.asarray(estimator.is_categorical_).any():
        raise ValueError(f"{name} has categorical features: categorical splits are not "
                         "supported; one-hot or ordinal-encode them as numbers and refit "
                         "with categorical_features=None")
    if not classifier and estimator._loss.link.__class__.__name__ != "IdentityLink":
        raise ValueError(f"{name} with loss={estimator.loss!r} predicts through a "
                         f"non-identity link: only identity-link losses (squared_error, "
                         "absolute_error, quantile) can be converted")
    integer_input = input_type != InputType.FLOAT32
    forest = Forest(integer_input=integer_input, fold=fold)
    for iteration in estimator._predictors:
        for predictor in iteration:
            nodes = predictor.nodes
            is_leaf = nodes["is_leaf"].astype(bool)
            if nodes["is_categorical"][~is_leaf].any():
                raise ValueError(f"{name} has categorical splits: not supported; refit "
                                 "with categorical_features=None")
            keys = np.zeros(len(nodes), dtype=np.int32)
            keys[~is_leaf] = threshold_keys(nodes["num_threshold"][~is_leaf], integer_input)
            forest.add_tree(nodes["left"].astype(np.int64), nodes["right"].astype(np.int64),
                            is_leaf, nodes["feature_idx"].astype(np.int64), keys,
                            nodes["missing_go_to_left"].astype(bool),
                            nodes["value"].astype(np.float64))
    baseline = np.asarray(estimator._baseline_prediction, dtype=np.float64).reshape(-1)
    task = Task.CLASSIFIER if classifier else Task.REGRESSOR
    link = classifier_link(n_outputs) if classifier else Link.IDENTITY
    return forest.blob(task=task, input_type=input_type, n_inputs=n_inputs,
                       n_outputs=n_outputs if classifier else 1, link=link,
                       decision=Decision.GREATER, init=baseline, meta=meta,
                       nan_routing=not integer_input)
