"""Grouping face embeddings into people: pure numpy/scipy, no database, never an n x n matrix.

Plain DBSCAN (connected components of "closer than eps") chains: one pair of look-alike
strangers above the threshold glues two people together, and on a library with many people that
happens often (`python tests/benchmarks/bench_people.py --quick`, "realistic_10k": plain DBSCAN
at its best eps reaches F 0.935, P 0.987, R 0.889; these groups F 0.969, P 0.997, R 0.942).
So faces are grouped by **average linkage restricted to the k-nearest-neighbour graph**:

1. The graph: each face's k nearest faces (hnswlib, k=20, ef=30, all cores), edges kept at
   cosine similarity >= the threshold. Its edges only say which groups *may* merge.
2. Exact pieces: connected components of the graph; each is cut by scipy's exact average
   linkage at the threshold. A component too big for a dendrogram (chaining through look-alike
   pairs on big libraries) is first split by raising the edge cut until pieces fit.
3. Merging across pieces: repeatedly merge the adjacent pair of groups with the highest
   *average* pairwise similarity while it reaches the threshold (plus a small-group margin).
   For unit vectors the average similarity of all cross pairs of A and B is exactly
   sum(A) . sum(B) / (|A| |B|), so each group carries only its sum vector: memory O(n k), no
   n x n matrix. A single stranger pair above threshold can no longer merge two people, since
   the mean over all their cross pairs sits far below it (siblings whose centres are at cosine
   0.45, faces at cosine 0.74 from their centre as bench_people.py fits celebrity-dev:
   0.74 x 0.74 x 0.45 = 0.25 on average, against 0.40 needed).
4. Cannot-link: two groups holding faces of one photo never merge (one photo, one face per
   person), nor two holding faces of people the user said are not the same person; the
   constraint shapes the groups instead of being patched afterwards.
5. Attachment (attach.py): a face left alone (its average to the whole group of its person
   misses the threshold, typically a blurred, small or turned face) joins a group or a person
   when its nearest faces of that group are clearly the same person and no other comes close.

The knobs below were checked one at a time by `python tests/benchmarks/bench_people.py
--ablate 30000` (the real sets, and a 30,000-face realistic synthetic library, seed 2); the
figures quoted are (precision, recall) from it. Shipped: celebrity-dev (1.0, 0.964),
deepface-unit (1.0, 1.0), synthetic (0.992, 0.934).

Faces of one photo are never left in one group.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from .apart import clash, separate_photos
from .dendrogram import checked_pieces, exact_average_link

# Dendrograms are O(m^2): 2000 faces -> 2000 x 1999 / 2 float64 distances = 16 MB.
MAX_EXACT = 2000
# Groups of at most this many faces are not pruned (`prune`): their few pairs say too little
# of the person's spread, and pruning them cost the small test libraries of celebrity crops a
# face per person. Measured on lfw-train (bench_lfw.py): pruning every group gave BCubed P
# 0.9923 R 0.9793; groups over 10 only, P 0.9847 R 0.9808 (shipped).
PRUNE_MIN = 10
# Groups of at most this many faces (the ones `prune` leaves alone) are checked again as a
# whole (dendrogram.checked_pieces) when the library holds at least RECHECK_FROM faces. The
# more faces there are, the likelier a stranger has a look-alike above the threshold by chance:
# on lfw-train (11,707 faces, most people seen once) the check takes BCubed P 0.9847 -> 0.9951;
# in a library of a few hundred photos such chance pairs are rare, and the check would only
# split the few, varied photos a new user has of each person (the app tests' 5 portraits of
# each of 3 to 5 people lose one face in five to it).
RECHECK_MAX = PRUNE_MIN
RECHECK_FROM = 1000


@dataclass(frozen=True)
class ClusterParams:
    eps: float  # DBSCAN radius (cosine distance): candidate groups of the plain reference
    link: float  # average-linkage cut, cosine distance: groups merge while avg sim >= 1 - link
    min_samples: int = 2
    # 20 neighbours: a face's group-mates beyond the 20th add no new group to merge with
    # (k=30: synthetic (0.993, 0.934), real sets unchanged), and queries cost grows with k.
    k: int = 20
    # Graph edges kept down to this similarity: an edge only proposes a pair, the average
    # decides. At the threshold itself: a pair averaging >= threshold nearly always has one
    # kNN edge >= threshold (floor 0.25: synthetic (0.992, 0.935), real sets unchanged), and
    # fewer edges mean less merging work.
    floor: float = 0.4
    # Small groups need more evidence: two groups merge when their average similarity minus
    # merge_margin / sqrt(|A| |B|) reaches the threshold (an average over few pairs is noisy;
    # two single faces need 0.50, two groups of 10 need 0.41). Without it the synthetic
    # library falls to (0.979, 0.952); 0.2 costs recall there (0.989, 0.906).
    merge_margin: float = 0.10
    # Attachment of a leftover face (attach.py): mean of its `attach_top` best similarities to
    # a group must reach the threshold + attach_margin, and lead the runner-up by attach_lead.
    # Before the cohesion rule below: margin 0, strangers joined look-alikes, synthetic
    # (0.955, 0.936); margin 0.10, celebrity-dev recall 0.946. With it (issue 19, lfw-train
    # through tests/benchmarks/bench_lfw.py, BCubed (P, R)): margin 0.05 (0.9926, 0.9791) but
    # celebrity-dev (1.0, 0.958), F 0.978 under its 0.98 target; 0.04 (0.9923, 0.9793),
    # celebrity-dev (1.0, 0.964), synthetic 100k (0.985, 0.917); 0.03 (0.9916, 0.9793) but
    # synthetic 100k (0.981, 0.918), under the 0.983 before; 0.0 (0.9896, 0.9793). Lead 0.05:
    # synthetic (0.992, 0.935).
    attach_top: int = 3
    attach_margin: float = 0.04
    attach_lead: float = 0.10
    attach_floor: float = 0.15  # its average to all of the group: above threshold - this
    # A big group is no evidence: a face (or a group) joins group G only when its average
    # similarity to G's faces is within cohesion_gap of how alike G's own faces are (their
    # mean pairwise similarity), capped at what two single faces need to make a person
    # (threshold + merge_margin): see `joining_needs`. Before it, on lfw-train, the faces of
    # others in the 530-photo group averaged 0.33-0.49 with it, its own faces 0.69 (median);
    # the brother's 12 photos came in by a merge at 0.42. lfw-train BCubed (P, R) by gap
    # (attach_margin 0.03): 0.12 (0.9932, 0.9777), 0.15 (0.9928, 0.9786), 0.20 (0.9916,
    # 0.9793), 0.23 (0.9900, 0.9793); celebrity-dev recall 0.887 / 0.940 / 0.964 / 0.964:
    # its crops of one person are less alike than a news photographer's, so 0.20.
    # cohesion_min: the rule holds for groups of this many faces or more (a pair's one
    # similarity is its cohesion); from 3, lfw-train P 0.9893; from 5, 0.9865 (margin 0.05).
    # The lfw-train figures in these comments were measured with every group pruned (see
    # PRUNE_MIN: the shipped figures are a little lower).
    cohesion_gap: float = 0.20
    cohesion_min: int = 2
    # A face left alone by the grouping (attach.py) is typically blurred or turned: its
    # average to its person sits lower, so it gets this much more slack; its best matches
    # must still be clearly one owner's (attach_margin, attach_lead).
    attach_gap: float = 0.25

    def joining_needs(self, total: np.ndarray, size: np.ndarray, gap: float | None = None
                      ) -> np.ndarray:
        """Per group (sum vector, size): the average similarity a newcomer needs to it, on
        top of the rules it must meet anyway; -inf for groups under cohesion_min faces,
        whose few pairs say little of their person's spread (the margins rule them)."""
        gap = self.cohesion_gap if gap is None else gap
        size = np.atleast_1d(np.asarray(size, np.float64))
        need = np.minimum(cohesion(total, size) - gap, 1.0 - self.link + self.merge_margin)
        return np.where(size >= self.cohesion_min, need, -np.inf)

    @classmethod
    def for_threshold(cls, match_threshold: float) -> ClusterParams:
        """Everything from the pack's same-person similarity, so nothing is tuned per set."""
        distance = 1.0 - match_threshold
        return cls(eps=distance, link=distance, floor=match_threshold)


def cohesion(total: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Mean pairwise similarity of each group's unit faces, from its sum vector and size
    (|sum|^2 = size + 2 * the sum over pairs); NaN for a single face."""
    total = np.atleast_2d(total)
    size = np.atleast_1d(np.asarray(size, np.float64))
    sq = np.einsum("ij,ij->i", total, total).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(size >= 2, (sq - size) / (size * (size - 1)), np.nan)


def prune(group: np.ndarray, vectors: np.ndarray, params: ClusterParams
          ) -> tuple[np.ndarray, np.ndarray]:
    """(kept, dropped): members whose average similarity to the rest of their group misses
    what a newcomer to the rest would need (`ClusterParams.joining_needs`), worst first,
    until every member fits; groups of PRUNE_MIN faces or fewer are left as they are."""
    kept = group
    dropped: list[int] = []
    while len(kept) > max(params.cohesion_min, PRUNE_MIN):
        v = vectors[kept].astype(np.float64)
        total = v.sum(axis=0)
        fit = v @ total - 1.0  # each member's similarity summed over the rest
        n = len(kept)
        needs = params.joining_needs(total[None, :] - v, np.full(n, n - 1))
        short = fit / (n - 1) - needs
        worst = int(np.argmin(short))
        if short[worst] >= 0:
            break
        dropped.append(int(kept[worst]))
        kept = np.delete(kept, worst)
    return kept, np.array(dropped, np.int64)


def _edges(labels: np.ndarray, sims: np.ndarray, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """Unique undirected kNN edges (i < j) with similarity >= floor."""
    n = len(labels)
    rows = np.repeat(np.arange(n, dtype=np.int64), labels.shape[1])
    cols = labels.ravel().astype(np.int64)
    keep = (cols >= 0) & (cols != rows) & (sims.ravel() >= floor)
    a, b = np.minimum(rows[keep], cols[keep]), np.maximum(rows[keep], cols[keep])
    key = np.unique(a * n + b)
    return key // n, key % n


def graph_average_link(vectors: np.ndarray, labels: np.ndarray, sims: np.ndarray,
                       photo_ids: np.ndarray, threshold: float, floor: float,
                       start: list[np.ndarray] | None = None, margin: float = 0.0,
                       tags: list[frozenset] | None = None,
                       params: ClusterParams | None = None) -> list[np.ndarray]:
    """Average-linkage agglomeration over the kNN graph, with cannot-links (one photo; the two
    sides of a "not the same person" pair, from `tags`).

    Groups merge best first while their average pairwise similarity (exact, from sum vectors)
    is >= threshold and they are adjacent in the graph (an edge >= floor between members).
    Returns row-index groups (all faces, singletons included).

    The heap holds one entry per group: an upper bound of its best merge. Average linkage is
    reducible (merging B and C never brings A closer to B u C than to the closer of the two),
    so an entry only goes stale downwards: pop the top, recompute that group's best exactly, and
    merge if it still beats the next entry, else push it back with the exact value. A merge
    pushes only the new group. Pairs sharing a photo are kept in `cannot` (merged alongside
    the adjacency sets), so a forbidden pair is never proposed. Memory O(n k), no n x n.

    `margin`: a merge needs average - margin / sqrt(|A| |B|) >= threshold (see ClusterParams).
    An entry stays an upper bound for the pairs it was computed over, and the pairs of a new
    group are covered by the new group's own entry, so the lazy heap stays exact with it.

    `params`: when given, a merge also needs the pair's average to reach what each side
    needs of a newcomer (`ClusterParams.joining_needs` of its cohesion): a big, tight group
    does not take in a look-alike whose faces are far less alike it than its own are. That
    only lowers a pair's value, so an entry stays an upper bound.

    `start`: groups to begin from (each face in at most one; the rest start alone). Starting
    from single faces costs O(size^2) per big person (its frontier is rescanned after every
    face it absorbs), so `group_faces` starts from exact dendrograms of small pieces.
    """
    n = len(vectors)
    if n == 0:
        return []
    owner = np.arange(n)
    if start:
        for g in start:
            owner[g] = g[0]
    a, b = _edges(labels, sims, floor)
    a, b = owner[a], owner[b]
    keep = a != b
    key = np.unique(np.minimum(a[keep], b[keep]) * n + np.maximum(a[keep], b[keep]))
    a, b = key // n, key % n
    total = np.zeros((n, vectors.shape[1]), np.float32)  # per group: sum of its unit vectors
    np.add.at(total, owner, vectors)
    size = np.bincount(owner, minlength=n).astype(np.float32)
    adj: list = [set() for _ in range(n)]
    for i, j in zip(a.tolist(), b.tolist()):
        adj[i].add(j)
        adj[j].add(i)
    cannot: list = [set() for _ in range(n)]
    order = np.argsort(photo_ids, kind="stable")
    cuts = np.flatnonzero(np.diff(photo_ids[order])) + 1
    for same in np.split(order, cuts):
        groups_in_photo = set(owner[same].tolist())
        if len(groups_in_photo) > 1:
            for i in groups_in_photo:
                cannot[i].update(groups_in_photo)
                cannot[i].discard(i)
    if tags is not None:
        tagged = [r for r in range(n) if tags[r]]
        for x in tagged:
            for y in tagged:
                if owner[x] != owner[y] and clash(tags[x], tags[y]):
                    cannot[owner[x]].add(int(owner[y]))
    members: list = [None] * n
    for i in range(n):
        if members[owner[i]] is None:
            members[owner[i]] = []
        members[owner[i]].append(i)
    # Upper bounds to start: exact best merge of each group over its graph neighbours.
    best0 = np.full(n, -np.inf)
    if len(a):
        pair = np.einsum("ij,ij->i", total[a], total[b]) / (size[a] * size[b])
        pair -= margin / np.sqrt(size[a] * size[b])
        np.maximum.at(best0, a, pair)
        np.maximum.at(best0, b, pair)
    heap = [(-float(v), int(i)) for i, v in enumerate(best0) if v >= threshold]
    heapq.heapify(heap)
    while heap:
        _, i = heapq.heappop(heap)
        if members[i] is None:
            continue
        options = adj[i] - cannot[i] if cannot[i] else adj[i]
        if not options:
            continue
        nbs = np.fromiter(options, np.int64, len(options))
        s = (total[nbs] @ total[i]) / (size[nbs] * size[i])
        if params is not None:
            both = np.append(nbs, i)
            needs = params.joining_needs(total[both], size[both])
            s = np.where(s >= np.maximum(needs[:-1], needs[-1]), s, -np.inf)
        if margin:
            s -= margin / np.sqrt(size[nbs] * size[i])
        k = int(np.argmax(s))
        best = float(s[k])
        if best < threshold:
            continue  # only a merge of i or of a neighbour can change that: both push anew
        if heap and best < -heap[0][0]:
            heapq.heappush(heap, (-best, i))
            continue
        j = int(nbs[k])
        if size[i] < size[j]:
            i, j = j, i  # keep the bigger group's id: fewer set moves
        members[i].extend(members[j])
        total[i] += total[j]
        size[i] += size[j]
        for nb in adj[j]:
            if nb != i:
                adj[nb].discard(j)
                adj[nb].add(i)
        adj[i] |= adj[j]
        adj[i].discard(i)
        adj[i].discard(j)
        for c in cannot[j]:
            cannot[c].discard(j)
            cannot[c].add(i)
        cannot[i] |= cannot[j]
        members[j] = adj[j] = cannot[j] = None
        heapq.heappush(heap, (-np.inf, i))  # exact value computed when popped
    return [np.array(sorted(m), np.int64) for m in members if m is not None]








def exact_pieces(vectors: np.ndarray, labels: np.ndarray, sims: np.ndarray,
                 photo_ids: np.ndarray, threshold: float,
                 tags: list[frozenset] | None = None,
                 params: ClusterParams | None = None) -> list[np.ndarray]:
    """Exact average-link groups within pieces of at most MAX_EXACT faces.

    Pieces are the connected components of the graph's edges >= `threshold`; a component too
    big for a dendrogram (chaining: at 100k faces one component held ~40% of them) is split by
    raising the edge cut in steps of 0.05 until its pieces fit. Faces the raised cut isolates
    start alone; `graph_average_link` then merges across pieces by the same criterion.
    Of several faces of one photo in a group, only the best-fitting one stays in it; with
    `params`, members far less alike the rest than the rest are among themselves leave
    (`prune`) and start alone.
    """
    n = len(vectors)
    rows = np.repeat(np.arange(n), labels.shape[1])
    cols = labels.ravel()
    flat = sims.ravel()
    ok = (cols >= 0) & (cols != rows) & (flat >= threshold)
    rows, cols, flat = rows[ok], cols[ok], flat[ok]
    out: list[np.ndarray] = []
    todo = [(np.arange(n), threshold)]
    while todo:
        nodes, cut = todo.pop()
        local = np.full(n, -1)
        local[nodes] = np.arange(len(nodes))
        inside = (local[rows] >= 0) & (local[cols] >= 0) & (flat >= cut)
        graph = sparse.coo_matrix((np.ones(int(inside.sum()), np.int8),
                                   (local[rows[inside]], local[cols[inside]])),
                                  shape=(len(nodes), len(nodes)))
        count, comp = connected_components(graph, directed=False)
        order = np.argsort(comp, kind="stable")
        for part in np.split(order, np.flatnonzero(np.diff(comp[order])) + 1):
            piece = nodes[part]
            if len(piece) == 1:
                continue
            if len(piece) > MAX_EXACT and cut < 0.95:
                todo.append((piece, cut + 0.05))
                continue
            local_tags = [tags[int(r)] for r in piece] if tags is not None else None
            for group in exact_average_link(vectors[piece], 1.0 - threshold, photo_ids[piece],
                                             local_tags):
                kept, _ = separate_photos(piece[group], vectors, photo_ids, tags)
                if params is not None:
                    kept, _ = prune(kept, vectors, params)
                if len(kept) > 1:
                    out.append(kept)
    return out


def group_faces(vectors: np.ndarray, labels: np.ndarray, sims: np.ndarray,
                photo_ids: np.ndarray, params: ClusterParams,
                tags: list[frozenset] | None = None, crowd: int | None = None
                ) -> list[np.ndarray]:
    """Row-index groups of at least two faces, largest first; the rest are singletons.

    `labels`/`sims` are each face's neighbours as row indices (-1 for neighbours outside this
    set of faces) and their cosine similarities. `tags` (see `side_tags`): faces on the two
    sides of a "not the same person" pair never share a group. Faces left alone may still join
    a group afterwards (attach.py). `crowd`: how many faces of this pack the library holds
    (these faces by default), which decides whether small groups are checked again.
    """
    threshold = 1.0 - params.link
    pieces = exact_pieces(vectors, labels, sims, photo_ids, threshold, tags, params)
    groups = graph_average_link(vectors, labels, sims, photo_ids, threshold, params.floor,
                                start=pieces, margin=params.merge_margin, tags=tags,
                                params=params)
    out: list[np.ndarray] = []
    for g in groups:
        # A safety net: merges prevent both.
        kept, _ = separate_photos(g, vectors, photo_ids, tags)
        kept, _ = prune(kept, vectors, params)
        if len(kept) > RECHECK_MAX or (len(vectors) if crowd is None else crowd) < RECHECK_FROM:
            out.append(kept)
            continue
        # A small group is checked again as a whole (dendrogram.checked_pieces): pieces that
        # each passed may not pass together.
        local_tags = [tags[int(r)] for r in kept] if tags is not None else None
        out += [kept[p] for p in checked_pieces(vectors[kept], params, photo_ids[kept],
                                                local_tags) if len(p) >= 2]
    out.sort(key=lambda g: (-len(g), int(g.min())))
    return out
