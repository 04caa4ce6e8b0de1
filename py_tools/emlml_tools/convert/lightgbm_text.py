"""LightGBM models -> kind-4 blobs, from LightGBM's text model (``booster.save_model(
"model.txt")``, or an ``LGBMClassifier/LGBMRegressor``'s ``booster_.model_to_string()``).
Parsed here, so a .txt converts without LightGBM installed (docs/boosting.md).

LightGBM's semantics, kept exactly: a split sends ``x`` left where ``double(x) <= t``
(stored as ``x <= the largest float32 <= t``); a NaN by the split's missing type: "NaN"
by its default_left bit, "None" as 0.0 (left where 0 <= t), "Zero" (zero_as_missing) by
default_left, and so do inputs with |x| <= 1e-35 on a feature with "Zero" splits (the
blob's BOOST_ZERO: a bit per feature); each class's raw score is its trees' double leaf
values added in double in tree order from 0.0 (the average is in the first tree's
leaves). Decisions (the sklearn API's predict): binary class 1 where ``p > 1 - p`` in
double, i.e. raw above 1.5 * 2^-53; multiclass the first class whose raw score is within
2^-54 of the largest (its double softmax rounds exp to 1.0 there).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from emlml_tools.convert.boosting import Forest
from emlml_tools.format import Decision, InputType, Link, Task
from emlml_tools.format.keys import threshold_keys

# Where math.exp (glibc's, as LightGBM's std::exp) makes 1 / (1 + exp(-x)) > 1 - that
# (tests_host/test_convert_lightgbm.py checks both against the library).
BINARY_THRESHOLD = 1.5 * 2.0**-53
SOFTMAX_TIE = 2.0**-54
ZERO_THRESHOLD = float(np.float32(1e-35))  # LightGBM's kZeroThreshold (a float)

_MISSING_NONE, _MISSING_ZERO, _MISSING_NAN = 0, 1, 2
_REGRESSION = {"regression", "regression_l2", "l2", "mean_squared_error", "mse",
               "regression_l1", "l1", "mean_absolute_error", "mae", "huber", "fair",
               "quantile", "mape"}


def _header(text: str) -> dict[str, str]:
    head = text.split("\nTree=", 1)[0]
    return dict(line.split("=", 1) for line in head.splitlines() if "=" in line)


def _trees(text: str) -> list[dict[str, str]]:
    body = text.split("end of trees", 1)[0]
    blocks = body.split("\nTree=")[1:]
    return [dict(line.split("=", 1) for line in block.splitlines()[1:] if "=" in line)
            for block in blocks]


def _numbers(tree: dict[str, str], key: str, dtype: type) -> np.ndarray:
    return np.array(tree[key].split(), dtype=dtype) if tree.get(key, "").strip() else \
        np.zeros(0, dtype=dtype)


def _nan_left(decision: np.ndarray, thresholds: np.ndarray, on_zero_feature: np.ndarray,
              t: int) -> np.ndarray:
    """Where each split sends NaN. On a feature whose zero band is missing (BOOST_ZERO) the
    band walks as NaN does: a split there of another missing type must send the band
    where its threshold does."""
    missing = (decision >> 2) & 3
    default_left = (decision & 2) != 0
    nan_left = np.where(missing == _MISSING_NONE, thresholds >= 0.0, default_left)
    band_left = thresholds >= ZERO_THRESHOLD
    band_right = thresholds < -ZERO_THRESHOLD
    band_ok = np.where(nan_left, band_left, band_right)
    if (on_zero_feature & (missing != _MISSING_ZERO) & ~band_ok).any():
        raise ValueError(f"tree {t} mixes zero_as_missing with a split whose threshold cuts "
                         "the zero band: not supported; train with zero_as_missing=False")
    return nan_left


def _zero_features(trees: list[dict[str, str]], n_inputs: int) -> np.ndarray:
    """The features with a split of missing type Zero (LightGBM's zero_as_missing)."""
    zero = np.zeros(n_inputs, dtype=bool)
    for tree in trees:
        decision = _numbers(tree, "decision_type", np.int64)
        features = _numbers(tree, "split_feature", np.int64)
        zero[features[((decision >> 2) & 3) == _MISSING_ZERO]] = True
    return zero


def _add_tree(forest: Forest, tree: dict[str, str], t: int, zero: np.ndarray) -> None:
    values = _numbers(tree, "leaf_value", np.float64)
    if int(tree.get("num_leaves", "1")) == 1:
        forest.add_tree(np.array([-1]), np.array([-1]), np.array([True]), np.zeros(1, np.int64),
                        np.zeros(1, np.int32), np.zeros(1, bool), values[:1])
        return
    if int(tree.get("num_cat", "0")) != 0 or int(tree.get("is_linear", "0")) != 0:
        raise ValueError(f"tree {t} has categorical splits or linear leaves: not supported; "
                         "train without categorical_feature and linear_tree")
    decision = _numbers(tree, "decision_type", np.int64)
    if (decision & 1).any():
        raise ValueError(f"tree {t} has categorical splits: not supported")
    thresholds = _numbers(tree, "threshold", np.float64)
    n_split = len(thresholds)
    children = [_numbers(tree, key, np.int64) for key in ("left_child", "right_child")]
    left, right = (np.concatenate([np.where(c >= 0, c, n_split + ~c), [-1] * len(values)])
                   for c in children)
    is_leaf = np.arange(n_split + len(values)) >= n_split
    split_feature = _numbers(tree, "split_feature", np.int64)
    feature = np.concatenate([split_feature, [0] * len(values)])
    keys = np.concatenate([threshold_keys(thresholds, forest.integer_input),
                           np.zeros(len(values), np.int32)])
    nan_left = np.concatenate([_nan_left(decision, thresholds, zero[split_feature], t),
                               [False] * len(values)])
    forest.add_tree(left, right, is_leaf, feature, keys, nan_left,
                    np.concatenate([np.zeros(n_split), values]))


def convert_lightgbm_text(text: str, *, input_type: int, meta_for: Any, fold: Any = None) -> bytes:
    """``text``: the model file. ``meta_for(n_inputs, n_classes)`` makes META."""
    if not text.startswith("tree"):
        raise ValueError("not a LightGBM text model (it starts with 'tree')")
    header = _header(text)
    if "average_output" in text.split("\nTree=", 1)[0]:
        raise ValueError("LightGBM random forest (boosting='rf') averages its trees: not "
                         "supported; train with boosting='gbdt'")
    objective = header["objective"].split()
    name, options = objective[0], dict(o.split(":", 1) for o in objective[1:] if ":" in o)
    n_inputs = int(header["max_feature_idx"]) + 1
    n_groups = int(header.get("num_tree_per_iteration", "1"))
    if name == "binary":
        if float(options.get("sigmoid", "1")) != 1.0:
            raise ValueError("a binary objective with sigmoid != 1 is not supported")
        task, link, n_outputs = Task.CLASSIFIER, Link.SIGMOID, 2
    elif name == "multiclass":
        task, link, n_outputs = Task.CLASSIFIER, Link.SOFTMAX, int(header["num_class"])
    elif name in _REGRESSION:
        task, link, n_outputs = Task.REGRESSOR, Link.IDENTITY, 1
    else:
        raise ValueError(f"LightGBM objective {name!r} is not supported: use binary, "
                         "multiclass or an identity-link regression objective")
    if n_groups != (n_outputs if link == Link.SOFTMAX else 1):
        raise ValueError(f"num_tree_per_iteration {n_groups} does not fit objective {name!r}")
    integer_input = input_type != InputType.FLOAT32
    forest = Forest(integer_input=integer_input, fold=fold)
    trees = _trees(text)
    if not trees or len(trees) % n_groups:
        raise ValueError(f"{len(trees)} trees for {n_groups} per iteration")
    zero = _zero_features(trees, n_inputs)
    if zero.any() and fold is not None:
        from emlml_tools.convert.sklearn_models import NotFoldable

        raise NotFoldable("zero_as_missing: the zero band is on the steps' outputs")
    if zero.any() and integer_input:
        raise ValueError("a zero_as_missing model needs float32 input: drop --input-type")
    for t, tree in enumerate(trees):
        _add_tree(forest, tree, t, zero)
    meta = meta_for(n_inputs, n_outputs if task == Task.CLASSIFIER else 0)
    threshold = BINARY_THRESHOLD if link == Link.SIGMOID else SOFTMAX_TIE
    decision = Decision.FIRST_NEAR_MAX if link == Link.SOFTMAX else Decision.GREATER
    return forest.blob(task=task, input_type=input_type, n_inputs=n_inputs,
                       n_outputs=n_outputs, link=link, decision=decision,
                       init=np.zeros(n_groups), meta=meta, nan_routing=not integer_input,
                       threshold=threshold if link != Link.IDENTITY else 0.0,
                       zero_missing=zero if zero.any() else None)


def booster_text(estimator: Any) -> str:
    """An LGBMClassifier/LGBMRegressor's model as LightGBM's text."""
    return estimator.booster_.model_to_string()
