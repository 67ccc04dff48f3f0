"""Grouping face embeddings into people: pure numpy/scipy/sklearn, no database.

Two stages, because plain DBSCAN chains: one pair of look-alike strangers above eps is enough
to glue two people together, and on a library with many people that happens often.

1. DBSCAN on cosine distance over a sparse k-nearest-neighbour graph (never n x n) finds
   *candidate* groups. Its eps is the pack's verification threshold, so it is generous: it is
   tuned for recall, not purity.
2. Each candidate is refined by average-linkage agglomeration cut at the same verification
   threshold: two sub-groups stay together only if their faces, *on average*, would be verified
   as the same person. A single stranger pair above threshold can no longer merge two people,
   since the mean over all cross pairs of two different people sits far below it. Candidates too
   big for an exact dendrogram are agglomerated on a sample and the rest joined by the same
   average-link criterion (for unit vectors the mean similarity of x to a group is x . mean).

Faces of one photo are never left in one group (the best-fitting one stays).
"""
from __future__ import annotations

import time
from dataclasses import asdict, astuple, dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse
from scipy.cluster.hierarchy import fcluster, linkage
from sklearn.cluster import DBSCAN

from . import store
from .index import FaceIndex
from .oplog import fix_covers
from .store import Transaction

if TYPE_CHECKING:
    from .library import Library

# Dendrograms are O(m^2) memory: 3000 faces -> ~36 MB of float64 distances.
MAX_EXACT = 3000


@dataclass(frozen=True)
class ClusterParams:
    eps: float  # DBSCAN radius, cosine distance
    link: float  # average-linkage cut, cosine distance
    min_samples: int = 2
    k: int = 30  # neighbours per face in the sparse graph

    @classmethod
    def for_threshold(cls, match_threshold: float) -> ClusterParams:
        """Both stages from the pack's same-person similarity, so nothing is tuned per set."""
        distance = 1.0 - match_threshold
        return cls(eps=distance, link=distance)


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
    if graph.shape[0] == 0:
        return []
    labels = DBSCAN(eps=params.eps, min_samples=params.min_samples,
                    metric="precomputed").fit(graph).labels_
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    cuts = np.flatnonzero(np.diff(sorted_labels)) + 1
    return [part for part in np.split(order, cuts) if labels[part[0]] >= 0]


def average_link(vectors: np.ndarray, link: float, seed: int = 0) -> list[np.ndarray]:
    """Split one candidate group by average linkage cut at `link` (cosine distance)."""
    n = len(vectors)
    if n < 2:
        return [np.arange(n)]
    if n <= MAX_EXACT:
        return _exact_average_link(vectors, link)
    # Too big for a dendrogram: agglomerate a sample, then join every other face to the
    # sub-group it is closest to on average, if that average passes the same cut.
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(n, MAX_EXACT, replace=False))
    groups = _exact_average_link(vectors[sample], link)
    means = np.vstack([vectors[sample[g]].mean(axis=0) for g in groups])
    assigned = np.full(n, -1)
    for gi, g in enumerate(groups):
        assigned[sample[g]] = gi
    rest = np.flatnonzero(assigned < 0)
    for start in range(0, len(rest), 4096):
        chunk = rest[start:start + 4096]
        scores = vectors[chunk] @ means.T
        best = scores.argmax(axis=1)
        ok = 1.0 - scores[np.arange(len(chunk)), best] <= link
        assigned[chunk[ok]] = best[ok]
    out = [np.flatnonzero(assigned == gi) for gi in range(len(groups))]
    out += [np.array([i]) for i in np.flatnonzero(assigned < 0)]
    return [g for g in out if len(g)]


def _exact_average_link(vectors: np.ndarray, link: float) -> list[np.ndarray]:
    if len(vectors) < 2:
        return [np.arange(len(vectors))]
    sims = vectors.astype(np.float64) @ vectors.T.astype(np.float64)
    dist = np.clip(1.0 - sims, 0.0, 2.0)
    condensed = dist[np.triu_indices(len(vectors), k=1)]
    tree = linkage(condensed, method="average")
    flat = fcluster(tree, t=link, criterion="distance")
    return [np.flatnonzero(flat == c) for c in np.unique(flat)]


def separate_photos(group: np.ndarray, vectors: np.ndarray, photo_ids: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """(kept, dropped): of several faces of one photo only the best-fitting one stays."""
    photos = photo_ids[group]
    if len(np.unique(photos)) == len(photos):
        return group, np.empty(0, np.int64)
    total = vectors[group].sum(axis=0)
    fit = vectors[group] @ total  # ~ mean similarity to the rest of the group
    order = np.argsort(-fit, kind="stable")
    _, first = np.unique(photos[order], return_index=True)
    keep = np.zeros(len(group), bool)
    keep[order[first]] = True
    return group[keep], group[~keep]


def group_faces(vectors: np.ndarray, labels: np.ndarray, sims: np.ndarray,
                photo_ids: np.ndarray, params: ClusterParams) -> list[np.ndarray]:
    """Row-index groups of at least two faces, purest first split; the rest are singletons.

    `labels`/`sims` are each face's neighbours as row indices (-1 for neighbours outside this
    set of faces) and their cosine similarities.
    """
    graph = knn_graph(labels, sims, params.eps)
    groups: list[np.ndarray] = []
    for candidate in candidate_groups(graph, params):
        for part in average_link(vectors[candidate], params.link):
            kept, _ = separate_photos(candidate[part], vectors, photo_ids)
            if len(kept) >= 2:
                groups.append(kept)
    groups.sort(key=lambda g: (-len(g), int(g.min())))
    return groups


def bcubed(truth: list, predicted: list) -> tuple[float, float, float]:
    """BCubed precision, recall and F of a clustering (labels per item, None = singleton)."""
    truth = [t if t is not None else ("single", i) for i, t in enumerate(truth)]
    predicted = [p if p is not None else ("single", i) for i, p in enumerate(predicted)]
    by_pred: dict = {}
    by_truth: dict = {}
    for i, (t, p) in enumerate(zip(truth, predicted)):
        by_pred.setdefault(p, []).append(i)
        by_truth.setdefault(t, []).append(i)
    precision = recall = 0.0
    for t, p in zip(truth, predicted):
        same_pred = by_pred[p]
        correct = sum(1 for j in same_pred if truth[j] == t)
        precision += correct / len(same_pred)
        recall += correct / len(by_truth[t])
    n = max(len(truth), 1)
    precision, recall = precision / n, recall / n
    f = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f


# -- the library side: which faces are grouped, and how groups become unnamed people ----------

@dataclass(frozen=True)
class ClusterReport:
    people_created: int = 0
    people_updated: int = 0
    faces_grouped: int = 0
    faces_unknown: int = 0
    seconds: float = 0.0

    def to_json(self) -> dict:
        return asdict(self)


# People clustering may rebuild: unnamed, visible, and never touched by the user. Anything
# else (named, hidden, holding a confirmed face) is the user's and clustering leaves it alone.
_FLUID_PEOPLE = """
    SELECT pe.id FROM people pe
    WHERE pe.name IS NULL AND pe.hidden = 0 AND NOT EXISTS (
        SELECT 1 FROM faces f WHERE f.person_id = pe.id
        AND f.assigned_by IN ('user', 'suggestion'))
"""


def cluster_library(library: Library) -> ClusterReport:
    """Regroup the unknown and clustering-assigned faces of every pack into unnamed people."""
    started = time.monotonic()
    con = library.con
    fluid_people = {r[0] for r in con.execute(_FLUID_PEOPLE)}
    total = ClusterReport()
    for pack in library.packs_in_use():
        report = _cluster_pack(library, pack, fluid_people)
        total = ClusterReport(*(a + b for a, b in zip(astuple(total), astuple(report))))
    return replace(total, seconds=time.monotonic() - started)


def _cluster_pack(library: Library, pack: str, fluid_people: set[int]) -> ClusterReport:
    con = library.con
    rows = con.execute("SELECT id, photo_id, person_id, embedding FROM faces WHERE pack = ? "
                       "AND (person_id IS NULL OR assigned_by = 'cluster') ORDER BY id",
                       (pack,)).fetchall()
    rows = [r for r in rows if r["person_id"] is None or r["person_id"] in fluid_people]
    if not rows:
        return ClusterReport()
    face_ids = np.array([r["id"] for r in rows], np.int64)
    photo_ids = np.array([r["photo_id"] for r in rows], np.int64)
    old_person = {r["id"]: r["person_id"] for r in rows}
    vectors = np.vstack([np.frombuffer(r["embedding"], np.float32) for r in rows])
    vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    del rows
    params = ClusterParams.for_threshold(_match_threshold(pack))
    labels, sims = _neighbours(library, pack, face_ids, vectors, params.k)
    groups = group_faces(vectors, labels, sims, photo_ids, params)
    min_faces = max(2, int(library.settings.min_cluster_faces))
    groups = [face_ids[g] for g in groups if len(g) >= min_faces]
    return _write_groups(library, pack, groups, old_person, fluid_people, min_faces)


def _neighbours(library: Library, pack: str, face_ids: np.ndarray, vectors: np.ndarray,
                k: int) -> tuple[np.ndarray, np.ndarray]:
    """kNN among these faces as row indices (-1 = not one of them), from the hnswlib index."""
    index = library.index(pack)
    share = len(face_ids) / max(len(index), 1)
    wanted = int(np.ceil(k / max(share, 1e-9)))
    if wanted <= 4 * k:
        # Most faces are being clustered: the library's index, over-asked, serves.
        found, sims = index.query_many(vectors, min(wanted, len(index)))
    else:
        # Few unknown faces among many named ones: a throwaway index of just these.
        local = FaceIndex(vectors.shape[1], capacity=len(face_ids) + 16)
        local.add(face_ids, vectors)
        found, sims = local.query_many(vectors, k)
    rows = np.searchsorted(face_ids, found)
    rows = np.clip(rows, 0, len(face_ids) - 1)
    rows[face_ids[rows] != found] = -1
    return rows, sims


def _write_groups(library: Library, pack: str, groups: list[np.ndarray],
                  old_person: dict[int, int | None], fluid_people: set[int], min_faces: int
                  ) -> ClusterReport:
    con = library.con
    old_members: dict[int, set[int]] = {}
    for fid, pid in old_person.items():
        if pid is not None:
            old_members.setdefault(pid, set()).add(fid)
    # Keep the ids of unnamed people: each new group inherits the old person it overlaps
    # most, largest overlaps first, so an unchanged group keeps its id and place on screen.
    pairs = []
    for gi, group in enumerate(groups):
        counts: dict[int, int] = {}
        for fid in group.tolist():
            pid = old_person[fid]
            if pid is not None:
                counts[pid] = counts.get(pid, 0) + 1
        pairs += [(n, gi, pid) for pid, n in counts.items()]
    pairs.sort(key=lambda t: (-t[0], t[1], t[2]))
    heir: dict[int, int] = {}
    taken: set[int] = set()
    for _, gi, pid in pairs:
        if gi not in heir and pid not in taken:
            heir[gi] = pid
            taken.add(pid)
    rejected = {(r[0], r[1]) for r in con.execute("SELECT face_id, person_id FROM rejections")}
    created = updated = grouped = 0
    new_person: dict[int, int] = {}
    with Transaction(con):
        for gi, group in enumerate(groups):
            pid = heir.get(gi)
            members = [int(f) for f in group if pid is None or (int(f), pid) not in rejected]
            if len(members) < min_faces:
                continue
            if pid is None:
                pid = con.execute("INSERT INTO people(name, hidden, created_at) "
                                  "VALUES (NULL, 0, ?)", (store.now(),)).lastrowid
                created += 1
            elif set(members) != old_members.get(pid, set()):
                updated += 1
            for fid in members:
                new_person[fid] = pid
            grouped += len(members)
        changes = [(new_person.get(fid), "cluster" if fid in new_person else None, fid)
                   for fid, pid in old_person.items() if new_person.get(fid) != pid]
        con.executemany("UPDATE faces SET person_id = ?, assigned_by = ? WHERE id = ?",
                        changes)
        gone = [pid for pid in old_members if pid not in set(new_person.values())]
        con.executemany("DELETE FROM people WHERE id = ?", [(pid,) for pid in gone])
        fix_covers(con, set(new_person.values()))
    return ClusterReport(people_created=created, people_updated=updated, faces_grouped=grouped,
                         faces_unknown=len(old_person) - grouped)


def _match_threshold(pack: str) -> float:
    from ..engine import PACKS  # noqa: PLC0415 - only the pack table, no models

    return PACKS[pack].match_threshold if pack in PACKS else 0.4
