"""XGBoost models -> kind-4 blobs, from XGBoost's JSON model (``booster.save_model("m.json")``,
or an ``XGBClassifier/XGBRegressor`` saved through ``save_raw("json")``). Parsed here, so a
.json converts without XGBoost installed (docs/boosting.md).

XGBoost's semantics, kept exactly: a split sends ``x`` left where ``x < t`` in float32
(stored as ``x <= the float32 below t``), a missing value (NaN) where ``default_left``; each
class's margin is its float32 base margin plus its trees' float32 leaf values, added in
float32 in tree order (the CPU predictor); binary:logistic's base margin is
``-log(1/base_score - 1)`` in float32. Decisions: binary class 1 where the float32 margin is
above 2^-24 * 1.5 (where XGBoost's float32 sigmoid passes 0.5); multi:softprob takes the
first class whose float32 margin is within 2^-25 of the largest (its float32 softmax ties
there); multi:softmax the first largest margin. A model trained with early stopping
(``best_iteration`` in its attributes) keeps the trees up to it, as the estimators'
predict does (a bare ``Booster.predict`` would use them all).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from emlml_tools.convert.boosting import Forest
from emlml_tools.format import Decision, InputType, Link, Task
from emlml_tools.format.keys import INT32_MAX, INT32_MIN, float32_keys

# Found by bisection on XGBoost 3.2's own predict over float32 base margins
# (tests_host/test_convert_xgboost.py checks both against the library).
BINARY_THRESHOLD = float(np.float32(1.5 * 2.0**-24))  # class 1 where margin > this
SOFTPROB_TIE = 2.0**-25  # float32 margins this close to the largest tie with it

_CLASSIFIER_OBJECTIVES = {"binary:logistic", "multi:softprob", "multi:softmax"}
_REGRESSOR_OBJECTIVES = {"reg:squarederror", "reg:absoluteerror", "reg:pseudohubererror",
                         "reg:quantileerror"}


def _floats(text: str) -> np.ndarray:
    """base_score: "5E-1" or "[5E-1,...]" (XGBoost 3 writes a list)."""
    return np.array([np.float32(v) for v in text.strip("[]").split(",")], dtype=np.float32)


def _split_keys(t: np.ndarray, integer_input: bool) -> np.ndarray:
    """Keys k with ``x <= k`` exactly when ``x < t`` (float32 t)."""
    t = np.asarray(t, dtype=np.float32)
    if integer_input:
        return np.clip(np.ceil(t.astype(np.float64)) - 1, INT32_MIN, INT32_MAX).astype(np.int32)
    return float32_keys(np.nextafter(t, np.float32(-np.inf)))


def convert_xgboost_json(model: dict[str, Any] | bytes | str, *, input_type: int,
                         meta_for: Any, fold: Any = None) -> bytes:
    """``model``: the parsed JSON (or its text). ``meta_for(n_inputs, n_classes)`` makes the
    META section (labels for a classifier)."""
    if not isinstance(model, dict):
        model = json.loads(model)
    learner = model["learner"]
    objective = learner["objective"]["name"]
    booster = learner["gradient_booster"]
    if booster.get("name") != "gbtree":
        raise ValueError(f"XGBoost booster {booster.get('name')!r} is not supported (dart "
                         "weights trees, gblinear has none): train with booster='gbtree'")
    params = learner["learner_model_param"]
    n_inputs = int(params["num_feature"])
    n_classes = int(params.get("num_class", "0"))
    if int(params.get("num_target", "1")) != 1:
        raise ValueError("multi-target XGBoost models are not supported: train one model per target")
    if objective not in _CLASSIFIER_OBJECTIVES | _REGRESSOR_OBJECTIVES:
        raise ValueError(f"XGBoost objective {objective!r} is not supported: use "
                         f"{', '.join(sorted(_CLASSIFIER_OBJECTIVES | _REGRESSOR_OBJECTIVES))}")
    classifier = objective in _CLASSIFIER_OBJECTIVES
    n_groups = max(n_classes, 1) if objective.startswith("multi:") else 1
    base = _floats(params["base_score"])
    if objective == "binary:logistic":
        r = np.float32(np.float32(1) / base) - np.float32(1)
        base = (-np.log(r.astype(np.float64))).astype(np.float32)  # logf, correctly rounded
    if len(base) == 1 and n_groups > 1:
        base = np.repeat(base, n_groups)
    integer_input = input_type != InputType.FLOAT32
    forest = Forest(integer_input=integer_input, leaf_dtype=np.float32, fold=fold)
    trees = booster["model"]["trees"]
    groups = np.asarray(booster["model"]["tree_info"], dtype=np.int64)
    best = learner.get("attributes", {}).get("best_iteration")
    if best is not None:  # early stopping: XGBClassifier/XGBRegressor predict up to it
        end = int(booster["model"]["iteration_indptr"][int(best) + 1])
        trees, groups = trees[:end], groups[:end]
    per_group = [np.flatnonzero(groups == g) for g in range(n_groups)]
    if len({len(p) for p in per_group}) != 1:
        raise ValueError("the XGBoost model has a different number of trees per class")
    for k in range(len(per_group[0])):  # tree g + n_groups * k of the blob: group g's k-th
        for g in range(n_groups):
            tree = trees[per_group[g][k]]
            if int(tree["tree_param"].get("size_leaf_vector", "1")) > 1:
                raise ValueError("multi-output trees (multi_strategy) are not supported")
            if any(tree["split_type"]):
                raise ValueError("the XGBoost model has categorical splits: not supported; "
                                 "encode categories as numbers and train without "
                                 "enable_categorical")
            left = np.asarray(tree["left_children"], dtype=np.int64)
            is_leaf = left == -1
            cond = np.asarray(tree["split_conditions"], dtype=np.float32)
            keys = np.zeros(len(left), dtype=np.int32)
            keys[~is_leaf] = _split_keys(cond[~is_leaf], integer_input)
            forest.add_tree(left, np.asarray(tree["right_children"], dtype=np.int64), is_leaf,
                            np.asarray(tree["split_indices"], dtype=np.int64), keys,
                            np.asarray(tree["default_left"], dtype=bool), cond)
    if not forest.roots:
        raise ValueError("the XGBoost model has no trees")
    meta = meta_for(n_inputs, max(n_classes, 2) if classifier else 0)
    init = base.astype(np.float64)
    if not classifier:
        return forest.blob(task=Task.REGRESSOR, input_type=input_type, n_inputs=n_inputs,
                           n_outputs=1, link=Link.IDENTITY, decision=Decision.GREATER,
                           init=init, meta=meta, nan_routing=not integer_input)
    if n_groups == 1:
        return forest.blob(task=Task.CLASSIFIER, input_type=input_type, n_inputs=n_inputs,
                           n_outputs=2, link=Link.SIGMOID, decision=Decision.GREATER,
                           init=init, meta=meta, nan_routing=not integer_input,
                           threshold=BINARY_THRESHOLD)
    softprob = objective == "multi:softprob"
    return forest.blob(task=Task.CLASSIFIER, input_type=input_type, n_inputs=n_inputs,
                       n_outputs=n_groups, link=Link.SOFTMAX,
                       decision=Decision.FIRST_NEAR_MAX if softprob else Decision.FIRST_MAX,
                       init=init, meta=meta, nan_routing=not integer_input,
                       threshold=SOFTPROB_TIE if softprob else 0.0)


def booster_json(estimator: Any) -> bytes:
    """An XGBClassifier/XGBRegressor's model as XGBoost's JSON."""
    return bytes(estimator.get_booster().save_raw("json"))
