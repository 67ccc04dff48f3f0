"""Merge proposals: "these may be the same person", best first.

A pair of people is proposed when the average similarity over all pairs of their faces is high
(for unit vectors exactly sum(A) . sum(B) / (|A| |B|), so each person is one sum vector: no face
by face comparison), minus the small-group margin clustering uses (an average over few pairs is
noisy). Pairs: unnamed with unnamed, and unnamed with named; two named people are the user's
business. Never proposed: a pair the user said are different people (not_same), a hidden
person, two people who share photos (one photo never shows one person twice). One shared photo
(one more per ten faces of the smaller) is let through and shown as evidence: a stray face,
such as a second detection on one face, must not hide a split person for ever (measured:
bench_suggestions.py, "proposals", Keanu Reeves on celebrity-dev). Accepting is People.merge;
refusing is People.reject_proposal.

A big person is no evidence either: the average must also reach what clustering asks of a
newcomer to either person (ClusterParams.joining_needs: within cohesion_gap of how alike that
person's own faces are), less FLOOR_BELOW, so a look-alike relative of someone with hundreds
of tight photos is not proposed on an average a stranger reaches.
"""
from __future__ import annotations

import heapq
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

from ...engine.packs import match_threshold
from .clustering import ClusterParams

if TYPE_CHECKING:
    from ..library import Library

# A proposal's score (average minus margin) reaches the pack's same-person threshold minus
# FLOOR_BELOW (0.30 with SFace). Measured (`python tests/benchmarks/bench_suggestions.py`,
# "proposals"): on celebrity-dev the best pair of two identities' groups scores 0.204
# ("best_false_score_any") and halves of one identity 0.521 or more ("split_scores"); in the
# group photos of `bench_groups.py` ("proposals") every pair above 0.30 is one identity split in
# two groups (0.37-0.48), none pairs two identities. The check, deepface-unit: one pair of two
# people at 0.308, shown as a proposal the user can refuse.
FLOOR_BELOW = 0.10
_BLOCK = 512  # people per block of the (people x people) average matrix
_SHOWN = 30  # best-quality faces per person searched for the closest pair to show


@dataclass(frozen=True)
class Proposal:
    person_a: int  # the one whose name stays if merged: the named one, else the bigger
    person_b: int
    similarity: float  # average over every pair of their faces
    score: float  # similarity minus the small-group margin: the ranking
    faces_a: int
    faces_b: int
    face_a: int  # the two most alike faces, one of each, to show side by side
    face_b: int
    shared_photos: int = 0  # photos holding a face of each: evidence against

    def to_json(self) -> dict:
        out = asdict(self)
        out["similarity"] = round(self.similarity, 6)
        out["score"] = round(self.score, 6)
        return out


@dataclass
class _People:
    ids: np.ndarray
    means: np.ndarray  # (n, d): mean of each person's unit face vectors
    counts: np.ndarray
    named: np.ndarray
    photos: list[set[int]]
    best: list[tuple[np.ndarray, np.ndarray]]  # ids and unit vectors of the _SHOWN best faces


def merge_proposals(library: Library, limit: int = 50) -> list[Proposal]:
    """Pairs of people that are probably one, best first (see the module docstring)."""
    con = library.con
    refused = {(r[0], r[1]) for r in con.execute("SELECT person_a, person_b FROM not_same")}
    found: list[Proposal] = []
    for pack in library.packs_in_use():
        people = _load(library, pack)
        if people is None:
            continue
        params = ClusterParams.for_threshold(match_threshold(pack))
        floor = match_threshold(pack) - FLOOR_BELOW
        needs = params.joining_needs(people.means * people.counts[:, None],
                                     people.counts) - FLOOR_BELOW
        pairs = _pairs(people, params.merge_margin, floor, refused, needs)
        pairs.sort(key=lambda t: (-t[0], t[2], t[3]))
        for score, avg, i, j in pairs[:limit]:
            found.append(_proposal(people, i, j, avg, score))
    found.sort(key=lambda p: (-p.score, p.person_a, p.person_b))
    return found[:limit]


def _load(library: Library, pack: str) -> _People | None:
    rows = library.con.execute("""
        SELECT f.person_id, f.photo_id, f.embedding, pe.name IS NOT NULL, f.id, f.quality
        FROM faces f JOIN people pe ON pe.id = f.person_id
        WHERE f.pack = ? AND f.ignored = 0 AND pe.hidden = 0 ORDER BY f.person_id""",
                               (pack,)).fetchall()
    if not rows:
        return None
    ids = sorted({r[0] for r in rows})
    at = {pid: i for i, pid in enumerate(ids)}
    dim = len(rows[0][2]) // 4
    sums = np.zeros((len(ids), dim), np.float64)
    counts = np.zeros(len(ids), np.int64)
    named = np.zeros(len(ids), bool)
    photos: list[set[int]] = [set() for _ in ids]
    # Each person's best-quality faces (ties: the oldest), kept from this one pass, so that
    # showing a pair needs no query per person (one over a big person's faces took 70 ms).
    best: list[list] = [[] for _ in ids]
    for pid, photo, blob, is_named, face_id, quality in rows:
        i = at[pid]
        v = np.frombuffer(blob, np.float32)
        unit = v / max(float(np.linalg.norm(v)), 1e-12)
        sums[i] += unit
        counts[i] += 1
        named[i] = bool(is_named)
        photos[i].add(photo)
        item = (quality, -face_id, face_id, unit)
        if len(best[i]) < _SHOWN:
            heapq.heappush(best[i], item)
        elif item[:2] > best[i][0][:2]:
            heapq.heapreplace(best[i], item)
    kept = [(np.array([b[2] for b in faces], np.int64), np.vstack([b[3] for b in faces]))
            for faces in best]
    return _People(np.array(ids, np.int64), sums / counts[:, None], counts, named, photos,
                   kept)


def _pairs(people: _People, margin: float, floor: float, refused: set[tuple[int, int]],
           needs: np.ndarray) -> list[tuple[float, float, int, int]]:
    """(score, average, row a, row b) of every allowed pair whose score reaches the floor."""
    out = []
    unnamed = np.flatnonzero(~people.named)
    for start in range(0, len(unnamed), _BLOCK):
        rows = unnamed[start:start + _BLOCK]
        avg = people.means[rows] @ people.means.T  # (block, people)
        score = avg - margin / np.sqrt(people.counts[rows][:, None] * people.counts[None, :])
        alike = avg >= np.maximum(needs[rows][:, None], needs[None, :])
        for r, c in zip(*np.nonzero((score >= floor) & alike)):
            i, j = int(rows[r]), int(c)
            if i == j or (not people.named[j] and j < i):
                continue  # itself, or an unnamed pair already seen from the other side
            a, b = sorted((int(people.ids[i]), int(people.ids[j])))
            shared = len(people.photos[i] & people.photos[j])
            if (a, b) in refused or shared > 1 + min(people.counts[i], people.counts[j]) // 10:
                continue
            out.append((float(score[r, c]), float(avg[r, c]), i, j))
    return out


def _proposal(people: _People, i: int, j: int, avg: float, score: float) -> Proposal:
    # The named one first (its name stays), else the bigger group.
    if people.named[j] or (not people.named[i] and people.counts[j] > people.counts[i]):
        i, j = j, i
    a, b = int(people.ids[i]), int(people.ids[j])
    face_a, face_b = _closest(people.best[i], people.best[j])
    return Proposal(a, b, avg, score, int(people.counts[i]), int(people.counts[j]),
                    face_a, face_b, len(people.photos[i] & people.photos[j]))


def _closest(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]
             ) -> tuple[int, int]:
    """The most alike pair of faces of the two people, among their best-quality ones."""
    (ids_a, va), (ids_b, vb) = a, b
    sims = va @ vb.T
    r, c = np.unravel_index(int(np.argmax(sims)), sims.shape)
    return int(ids_a[r]), int(ids_b[c])