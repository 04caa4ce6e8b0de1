"""Parity: every zoo model, converted and run by the reference runtime, against scikit-learn
on float32 test inputs. Classifiers: 100 % predict agreement and predict_proba within 1e-6;
regressors: within 1e-5 relative."""

from __future__ import annotations

import time
from typing import Callable

import numpy as np
import pytest
from emlml_dev import zoo
from emlml_tools import runtime as reference
from emlml_tools.format import (
    HEADER_SIZE,
    SECTION_ENTRY_SIZE,
    Metric,
    SampleType,
    SectionId,
    Weights,
    read_blob,
)
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
from lightgbm import LGBMClassifier, LGBMRegressor
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from xgboost import XGBClassifier, XGBRegressor
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

MODELS = zoo.demo_models() + zoo.test_models()
KNN = (KNeighborsClassifier, KNeighborsRegressor)
BOOST = (GradientBoostingClassifier, GradientBoostingRegressor, HistGradientBoostingClassifier,
         HistGradientBoostingRegressor, XGBClassifier, XGBRegressor, LGBMClassifier,
         LGBMRegressor)
PROBA_TOL = 1e-6
REL_TOL = 1e-5
_BLOBS: dict[str, bytes] = {}


def models(keep: Callable[[zoo.ZooModel], bool] = lambda m: True) -> pytest.MarkDecorator:
    chosen = [m for m in MODELS if keep(m)]
    return pytest.mark.parametrize("model", chosen, ids=[m.name for m in chosen],
                                   indirect=True)


@pytest.fixture
def model(request: pytest.FixtureRequest) -> tuple[zoo.ZooModel, bytes]:
    m = request.param
    if m.name not in _BLOBS:
        _BLOBS[m.name] = m.blob()
    return m, _BLOBS[m.name]


@models()
def test_predict_agrees(model: tuple[zoo.ZooModel, bytes]) -> None:
    m, blob = model
    ours = reference.predict(blob, m.inputs())
    theirs = m.estimator.predict(m.X_test)
    if m.is_classifier:
        theirs_idx = np.searchsorted(m.estimator.classes_, theirs)
        mismatches = np.flatnonzero(ours != theirs_idx)
        assert len(mismatches) == 0, f"{len(mismatches)}/{len(ours)} differ at {mismatches}"
    else:
        assert ours.dtype == np.float32
        rel = np.abs(ours - theirs) / np.abs(theirs)
        assert rel.max() <= REL_TOL, rel.max()


@models(lambda m: m.is_classifier)
def test_predict_proba_within_float32_rounding(model: tuple[zoo.ZooModel, bytes]) -> None:
    m, blob = model
    ours = reference.predict_proba(blob, m.inputs())
    assert ours.dtype == np.float32
    diff = np.abs(ours - m.estimator.predict_proba(m.X_test)).max()
    assert diff <= PROBA_TOL, diff


@models()
def test_blob_fields(model: tuple[zoo.ZooModel, bytes]) -> None:
    m, blob = model
    b = read_blob(blob)
    assert b.n_inputs == m.X_test.shape[1] == m.estimator.n_features_in_
    assert b.name == m.name and b.producer.endswith(type(m.estimator).__name__)
    if m.is_classifier:
        assert b.n_outputs == len(m.estimator.classes_) == len(b.labels)
    else:
        assert b.n_outputs == 1 and b.labels == []


@models(lambda m: not isinstance(m.estimator, KNN + BOOST))
def test_tree_bytes_per_node(model: tuple[zoo.ZooModel, bytes]) -> None:
    """Nodes cost 8 bytes; the rest of the blob is leaf data (votes or values, and a
    classifier's weight per leaf vector for the tie replay, and a bit per node for NaN) and fixed overhead."""
    m, blob = model
    b = read_blob(blob)
    assert b.section(SectionId.TREE_NODES).size == 8 * b.trees.n_nodes
    leaves = b.section(SectionId.TREE_LEAVES).size
    if b.trees.weights is not None:
        assert b.section(SectionId.TREE_WEIGHTS).size * m.estimator.n_classes_ == leaves
        leaves += b.section(SectionId.TREE_WEIGHTS).size
    if b.trees.nan_left is not None:  # one bit per node
        assert b.section(SectionId.TREE_NAN).size == 4 * -(-b.trees.n_nodes // 32)
        leaves += b.section(SectionId.TREE_NAN).size
    overhead = HEADER_SIZE + SECTION_ENTRY_SIZE * b.n_sections + sum(
        e.size for e in b.sections if e.id in (SectionId.META, SectionId.TREE_ROOTS))
    padding = 7 * (b.n_sections + 1)
    assert len(blob) <= 8 * b.trees.n_nodes + leaves + overhead + padding
    members = getattr(m.estimator, "estimators_", [m.estimator])
    assert b.trees.n_nodes == sum(t.tree_.node_count for t in members)


@models(lambda m: isinstance(m.estimator, KNN))
def test_knn_blob_holds_the_fitted_samples(model: tuple[zoo.ZooModel, bytes]) -> None:
    m, blob = model
    b = read_blob(blob)
    # float32 samples are stored as fitted; quantized zoo models are fitted on the grid
    np.testing.assert_array_equal(reference.stored_samples(b.knn), m.estimator._fit_X)


@models(lambda m: isinstance(m.estimator, KNN))
def test_knn_queries_at_training_points(model: tuple[zoo.ZooModel, bytes]) -> None:
    """Zero distances: scikit-learn's rule (those neighbours weigh 1, the others 0)."""
    m, blob = model
    x = m.X_train[:40]
    ours = reference.predict(blob, x.astype(m.inputs().dtype))
    theirs = m.estimator.predict(x)
    if m.is_classifier:
        np.testing.assert_array_equal(ours, np.searchsorted(m.estimator.classes_, theirs))
        diff = np.abs(reference.predict_proba(blob, x) - m.estimator.predict_proba(x)).max()
        assert diff <= PROBA_TOL
    else:
        assert (np.abs(ours - theirs) / np.abs(theirs)).max() <= REL_TOL


def test_demo_models_are_the_documented_ones() -> None:
    demo = {m.name: m for m in zoo.demo_models()}
    assert list(demo) == ["digits_forest", "wine_extratrees", "diabetes_tree",
                          "breast_cancer_knn"]
    rf = demo["digits_forest"].estimator
    assert isinstance(rf, RandomForestClassifier)
    assert (rf.n_estimators, rf.max_leaf_nodes) == (10, 100)
    assert isinstance(demo["wine_extratrees"].estimator, ExtraTreesClassifier)
    assert isinstance(demo["diabetes_tree"].estimator, DecisionTreeRegressor)
    knn = demo["breast_cancer_knn"].estimator
    assert isinstance(knn, KNeighborsClassifier) and knn.n_neighbors == 5
    x = demo["breast_cancer_knn"].X_train
    np.testing.assert_allclose(x.mean(axis=0), 0, atol=1e-5)  # standardised by the zoo
    for m in demo.values():
        assert m.X_test.dtype == np.float32
        n = len(m.X_train) + len(m.X_test)
        assert len(m.X_test) == int(np.ceil(0.25 * n))


def test_zoo_is_deterministic() -> None:
    first = [m.blob() for m in MODELS]
    zoo._split.cache_clear()
    zoo._demo.cache_clear()
    zoo._tests.cache_clear()
    again = [m.blob() for m in zoo.demo_models() + zoo.test_models()]
    assert first == again


def test_test_models_cover_the_converters() -> None:
    ms = zoo.test_models() + zoo.demo_models()
    classes = {type(m.estimator) for m in ms}
    assert classes == {DecisionTreeClassifier, DecisionTreeRegressor, RandomForestClassifier,
                       RandomForestRegressor, ExtraTreesClassifier, ExtraTreesRegressor,
                       KNeighborsClassifier, KNeighborsRegressor, *BOOST}
    blobs = [read_blob(m.blob()) for m in ms]
    knns = [b.knn for b in blobs if b.knn is not None]
    assert {k.metric for k in knns} == set(Metric)
    assert {k.weights for k in knns} == set(Weights)
    assert {k.sample_type for k in knns} == set(SampleType)
    assert {b.input_type.name for b in blobs if b.trees is not None} == {
        "FLOAT32", "INT8", "UINT8", "INT16"}
    full = next(m for m in ms if m.name == "digits_tree_full")
    assert full.estimator.max_depth is None and full.estimator.max_leaf_nodes is None
    leaves = read_blob(full.blob()).trees.leaves  # fully grown: every leaf is pure
    one = 2**32 - 1  # one tree: a whole vote is the full scale
    assert ((leaves == 0) | (leaves == one)).all() and ((leaves == one).sum(axis=1) == 1).all()


def test_reference_is_fast() -> None:
    m = zoo.demo_models()[0]
    blob = read_blob(m.blob())
    x = m.inputs()
    start = time.perf_counter()
    reference.predict_proba(blob, x)
    reference.predict(blob, x)
    assert time.perf_counter() - start < 0.5
