"""The references clustering is measured against, kept out of the app: plain DBSCAN on a
kNN graph (`candidate_groups`), exact average linkage (`average_link`) and the BCubed score.

Used by tests/test_clustering.py and bench_people.py (`from clustering_reference import ...`
with tests/benchmarks on sys.path); `facefolio.library.people.clustering` never calls them.
"""
from __future__ import annotations

from collections import Counter

import numpy as np
from scipy import sparse

from facefolio.library.people import clustering, dendrogram
from facefolio.library.people.clustering import ClusterParams


def knn_graph(labels: np.ndarray, sims: np.ndarray, eps: float) -> sparse.csr_matrix:
    """Symmetric sparse distance matrix from kNN rows; labels are row indices, -1 = absent."""
    n = len(labels)
    rows = np.repeat(np.arange(n), labels.shape[1]) if n else np.empty(0, np.int64)
    cols = labels.ravel()
    dist = 1.0 - sims.ravel()
    keep = (cols >= 0) & (cols != rows) & (dist <= eps)
    rows, cols, dist = rows[keep], cols[keep], dist[keep]
    # Stored zeros would read as "no edge" to sklearn: duplicates get a tiny positive distance.
    dist = np.maximum(dist, 1e-6)
    graph = sparse.coo_matrix((np.concatenate([dist, dist]),
                               (np.concatenate([rows, cols]), np.concatenate([cols, rows]))),
                              shape=(n, n)).tocsr()
    # Duplicated (i, j) entries were summed by tocsr: take the plain distance back.
    graph.data = np.minimum(graph.data, eps)
    return graph


def candidate_groups(graph: sparse.csr_matrix, params: ClusterParams) -> list[np.ndarray]:
    """Plain DBSCAN on the sparse graph: the reference the refinement is measured against."""
    if graph.shape[0] == 0:
        return []
    from sklearn.cluster import DBSCAN  # noqa: PLC0415 - the reference only: 1.9 s to import
    # (python -X importtime -c "import sklearn.cluster")

    labels = DBSCAN(eps=params.eps, min_samples=params.min_samples,
                    metric="precomputed").fit(graph).labels_
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    cuts = np.flatnonzero(np.diff(sorted_labels)) + 1
    return [part for part in np.split(order, cuts) if labels[part[0]] >= 0]


def average_link(vectors: np.ndarray, link: float) -> list[np.ndarray]:
    """Exact average linkage cut at `link` (cosine distance): O(m^2), small sets only.

    The reference `graph_average_link` is checked against.
    """
    if len(vectors) > clustering.MAX_EXACT:
        raise ValueError(f"{len(vectors)} faces: too many for an exact dendrogram")
    return dendrogram.exact_average_link(vectors, link)


def bcubed(truth: list, predicted: list) -> tuple[float, float, float]:
    """BCubed precision, recall and F of a clustering (labels per item, None = singleton).

    O(n): an item's correct companions are the items sharing both its labels.
    """
    truth = [t if t is not None else ("single", i) for i, t in enumerate(truth)]
    predicted = [p if p is not None else ("single", i) for i, p in enumerate(predicted)]
    both = Counter(zip(truth, predicted))
    by_pred = Counter(predicted)
    by_truth = Counter(truth)
    precision = recall = 0.0
    for (t, p), correct in both.items():  # each of the `correct` items scores the same
        precision += correct * correct / by_pred[p]
        recall += correct * correct / by_truth[t]
    n = max(len(truth), 1)
    precision, recall = precision / n, recall / n
    f = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f
