"""Missing values and exact ties on the zoo's models made for them (zoo._nan_models,
zoo._tie_models): the data really holds NaN and ties, and the NumPy reference gives
scikit-learn's predict on every held-out sample. The C core (test_core_trees_knn.py) and
every MicroPython runtime (tests_device/test_parity.py) check the same models."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from emlml_dev.devicedata import sklearn_outputs
from emlml_dev.zoo import near_ties, test_models
from emlml_tools import runtime as reference
from emlml_tools.format import read_blob

NAN = [m for m in test_models() if "_nan" in m.name and "_boost" not in m.name]
TIES = [m for m in test_models() if m.name.endswith("_ties")]


def test_six_estimators_fitted_with_and_without_missing_values():
    kinds = {(type(m.estimator).__name__, m.name.endswith("_nan_test")) for m in NAN}
    assert len(kinds) == 12  # 6 estimators x (fitted with NaN, fitted without)


@pytest.mark.parametrize("model", NAN, ids=[m.name for m in NAN])
def test_missing_values_agree(model):
    x = model.inputs()
    assert np.isnan(x).any(axis=1).mean() > 0.5  # most held-out samples miss a value
    blob = read_blob(model.blob())
    assert blob.trees.nan_routing
    tree = getattr(model.estimator, "estimators_", [model.estimator])[0].tree_
    if model.name.endswith("_nan_test"):  # fitted without NaN: every split saw none
        assert not np.isnan(model.X_train).any()
    else:
        assert np.isnan(model.X_train).any()
    assert tree.missing_go_to_left.any() and not tree.missing_go_to_left.all()
    want = sklearn_outputs(model)
    got = reference.predict(blob, x)
    if model.is_classifier:
        np.testing.assert_array_equal(got, want)
        np.testing.assert_allclose(reference.predict_proba(blob, x),
                                   model.estimator.predict_proba(model.X_test), atol=1e-6)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-5)


@pytest.mark.parametrize("model", TIES, ids=[m.name for m in TIES])
def test_ties_present_and_broken_as_scikit_learn_does(model):
    """The held-out set holds ties (first, for the boards that run a few samples), the
    integer votes alone would give another class on some of them, and predict gives
    scikit-learn's class on every sample."""
    ties = near_ties(model)
    assert ties.sum() >= 5 and ties[:ties.sum()].all()
    blob = read_blob(model.blob())
    assert blob.trees.weights is not None
    want = sklearn_outputs(model)
    votes_only = dataclasses.replace(blob, trees=dataclasses.replace(blob.trees, weights=None))
    wrong = np.flatnonzero(reference.predict(votes_only, model.X_test) != want)
    assert len(wrong) >= 1 and ties[wrong].all()
    np.testing.assert_array_equal(reference.predict(blob, model.X_test), want)
