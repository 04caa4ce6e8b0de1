"""Agreement of quantized kNN blobs with scikit-learn on the project's held-out sets
(breast cancer, wine, diabetes; raw and standardized features; euclidean and manhattan;
uniform and distance weights; k = 5), printed as the table of docs/knn.md.

Classifiers: the share of held-out samples where the reference runtime's predict equals
scikit-learn's. Regressors: the share where the k neighbours (as a set) are scikit-learn's
(a quantized grid moves distances a little, so a weighted mean is not bit-equal).

    PYTHONPATH=py_tools .venv/bin/python -m emlml_dev.knn_agreement
"""

from __future__ import annotations

import itertools
from typing import Any, Iterator

import numpy as np
from emlml_tools import runtime as reference
from emlml_tools.convert.sklearn_models import convert
from emlml_tools.demo.models import _split
from emlml_tools.format import read_blob
from emlml_tools.runtime.knn import neighbours
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

DATASETS = ("breast_cancer", "wine", "diabetes")
TRANSFORMS = ("none", "standard")
METRICS = ("euclidean", "manhattan")
WEIGHTS = ("uniform", "distance")
# (knn_samples, knn_distances): the columns.
STORAGES = (("int8", "integer"), ("int16", "integer"), ("int8", "float32"), ("int16", "float32"))
K = 5


def agreement(estimator: Any, blob: bytes, x: np.ndarray) -> float:
    model = read_blob(blob)
    if isinstance(estimator, KNeighborsClassifier):
        return float((reference.predict(model, x) == estimator.predict(x)).mean())
    want = np.sort(estimator.kneighbors(x, return_distance=False), axis=1)
    got = np.sort(neighbours(model, x)[0], axis=1)
    return float((want == got).all(axis=1).mean())


def rows() -> Iterator[tuple[str, list[float]]]:
    for dataset, transform in itertools.product(DATASETS, TRANSFORMS):
        data = _split(dataset, transform)
        cls = KNeighborsRegressor if dataset == "diabetes" else KNeighborsClassifier
        for metric, weights in itertools.product(METRICS, WEIGHTS):
            estimator = cls(n_neighbors=K, metric=metric, weights=weights)
            estimator.fit(data.X_train, data.y_train)
            shares = [agreement(estimator, convert(estimator, knn_samples=s, knn_distances=d),
                                data.X_test) for s, d in STORAGES]
            yield f"{dataset} {transform} {metric} {weights}", shares


def main() -> int:
    head = " | ".join(f"{s} {d}" for s, d in STORAGES)
    print(f"| held-out set, features, metric, weights | {head} |")
    print("| --- |" + " --- |" * len(STORAGES))
    for name, shares in rows():
        print(f"| {name} | " + " | ".join(f"{100 * v:.1f} %" for v in shares) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
