"""Exact average linkage for small sets of faces (scipy), and the last check of a small group.

`exact_average_link` cuts the dendrogram at the threshold: the pieces the graph stage starts
from (clustering.py). `checked_pieces` replays a finished small group's own dendrogram under the
rules every merge of the graph stage obeys (the small-group margin and `joining_needs`), so a
group the graph stage built from two pieces that each looked fine, but whose faces together do
not, splits again. On lfw-train (tests/benchmarks/bench_lfw.py, 9,525 news photos, most people
seen once) this is the step that keeps pairs of look-alike strangers apart: BCubed P 0.9847 ->
0.9951, R 0.9808 -> 0.9770 (the figures of issue 19's note, with the command).
"""
from __future__ import annotations

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import pdist

from .apart import clash

APART = 2.0  # the cosine distance of two faces that must never share a group


def dendrogram(vectors: np.ndarray, photo_ids: np.ndarray | None = None,
               tags: list[frozenset] | None = None) -> np.ndarray:
    """scipy's average-linkage tree; two faces of one photo, or on the two sides of a "not the
    same person" pair (`tags`, see apart.side_tags), count as far apart as possible."""
    m = len(vectors)
    condensed = np.clip(pdist(vectors.astype(np.float64), "cosine"), 0.0, APART)
    apart = np.zeros((m, m), bool)
    if photo_ids is not None and len(np.unique(photo_ids)) < m:
        apart |= photo_ids[:, None] == photo_ids[None, :]
    if tags is not None:
        tagged = [r for r in range(m) if tags[r]]
        for x in tagged:
            for y in tagged:
                apart[x, y] |= clash(tags[x], tags[y])
    if apart.any():
        i, j = np.nonzero(apart & np.triu(np.ones((m, m), bool), 1))
        condensed[m * i - i * (i + 1) // 2 + (j - i - 1)] = APART
    return linkage(condensed, method="average")


def exact_average_link(vectors: np.ndarray, link: float,
                       photo_ids: np.ndarray | None = None,
                       tags: list[frozenset] | None = None) -> list[np.ndarray]:
    """Row groups of the dendrogram cut at `link` (cosine distance)."""
    if len(vectors) < 2:
        return [np.arange(len(vectors))]
    flat = fcluster(dendrogram(vectors, photo_ids, tags), t=link, criterion="distance")
    return [np.flatnonzero(flat == c) for c in np.unique(flat)]


def checked_pieces(vectors: np.ndarray, params, photo_ids: np.ndarray | None = None,
                   tags: list[frozenset] | None = None) -> list[np.ndarray]:
    """Row groups of one small group: its dendrogram's merges, bottom up, each kept only when
    the two sides' average similarity, less the margin for small sides
    (merge_margin / sqrt(|A| |B|)), reaches the threshold and meets both sides' joining needs
    (`ClusterParams.joining_needs`); a side that was refused a merge grows no further."""
    m = len(vectors)
    if m < 2:
        return [np.arange(m)]
    threshold = 1.0 - params.link
    total = np.zeros((2 * m - 1, vectors.shape[1]))
    total[:m] = vectors
    size = np.ones(2 * m - 1)
    open_ = np.ones(2 * m - 1, bool)  # may still grow
    members = {i: [i] for i in range(m)}
    for step, (a, b, dist, _count) in enumerate(dendrogram(vectors, photo_ids, tags)):
        a, b, new = int(a), int(b), m + step
        total[new] = total[a] + total[b]
        size[new] = size[a] + size[b]
        ok = open_[a] and open_[b] and dist <= params.link
        if ok:
            average = 1.0 - dist
            margin = params.merge_margin / np.sqrt(size[a] * size[b])
            needs = params.joining_needs(total[[a, b]], size[[a, b]])
            ok = average - margin >= threshold and average >= needs.max()
        if ok:
            members[new] = members.pop(a) + members.pop(b)
        else:
            open_[new] = False
    return [np.array(sorted(v), np.int64) for v in members.values()]
