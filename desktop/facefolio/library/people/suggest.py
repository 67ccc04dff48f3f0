"""Suggestions ("Is this Anna?") and the "This is..." picker: evidence about a person.

A face's score for a person is the mean of two figures over that person's faces (the face
itself left out): the mean of its TOP best similarities (several faces agree, not one lucky
pair) and its cosine to the person's centre (the direction of the sum of all their faces).
A suggestion must also win against the competition:
- a face that belongs to a group (clustered or auto-assigned) is offered only when it is closer
  to this person than to its own group, and clearly closer (by LEAD) when its group is named or
  at least as big as this person;
- a face is offered only to the person it is closest to among its neighbours' people, so a
  face that looks more like someone else is never "Is this Anna?".
Faces the user placed, ignored faces, faces of hidden people, faces the user said are not this
person, and faces of photos this person is already in are never offered.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ...engine.packs import match_threshold
from ..storage import store
from .assign import SAMPLE, TOP
from .clustering import ClusterParams

if TYPE_CHECKING:
    from ..library import Library

# Suggestions start at the pack's same-person threshold plus FLOOR_ABOVE (score as above).
# Chosen on celebrity-dev, checked on deepface-unit (`python tests/benchmarks/
# bench_suggestions.py`, "floor_sweep"): on celebrity-dev no wrong suggestion anywhere from
# -0.10 to +0.02; right ones grow from +0.00 to -0.02 (1 -> 2 in each natural scenario) and
# stay flat to -0.08; -0.04 is the middle of that flat stretch. The check: deepface-unit and
# both sets in one library show their first wrong suggestions at -0.08 and -0.06, none at -0.04.
FLOOR_ABOVE = -0.04
LEAD = 0.10  # how much closer than its own named or bigger group a face must be
NEIGHBOURS = 30  # a candidate's nearest faces: whose people compete with this person


@dataclass(frozen=True)
class Suggestion:
    face_id: int
    person_id: int
    similarity: float

    def to_json(self) -> dict:
        return {"face_id": self.face_id, "person_id": self.person_id,
                "similarity": round(self.similarity, 6)}


@dataclass
class _Evidence:
    """What is known of one person's look: best-quality faces, the sum of all their faces."""
    ids: np.ndarray  # every face of theirs, sorted
    ref_ids: np.ndarray
    refs: np.ndarray  # unit rows
    total: np.ndarray
    count: int
    named: bool
    hidden: bool


class Evidence:
    """People of one pack, loaded on demand and kept for the duration of one question."""

    def __init__(self, library: Library, pack: str) -> None:
        self.library = library
        self.pack = pack
        self._people: dict[int, _Evidence | None] = {}

    def load(self, person_ids) -> None:
        todo = sorted({int(p) for p in person_ids} - self._people.keys())
        if not todo:
            return
        rows = store.in_chunks(self.library.con, """
            SELECT f.person_id, f.id, f.embedding, pe.name IS NOT NULL, pe.hidden
            FROM faces f JOIN people pe ON pe.id = f.person_id
            WHERE f.person_id IN ({}) AND f.pack = ? AND f.ignored = 0
            ORDER BY f.person_id, f.quality DESC, f.id""", todo, self.pack)
        self._fill(rows)
        for pid in todo:
            self._people.setdefault(pid, None)

    def load_visible(self) -> list[int]:
        """Every visible person with faces of this pack; their ids."""
        rows = self.library.con.execute("""
            SELECT f.person_id, f.id, f.embedding, pe.name IS NOT NULL, pe.hidden
            FROM faces f JOIN people pe ON pe.id = f.person_id
            WHERE pe.hidden = 0 AND f.pack = ? AND f.ignored = 0
            ORDER BY f.person_id, f.quality DESC, f.id""", (self.pack,)).fetchall()
        self._fill(rows)
        return sorted({r[0] for r in rows})

    def _fill(self, rows: list) -> None:
        start = 0
        while start < len(rows):
            pid = rows[start][0]
            end = start
            while end < len(rows) and rows[end][0] == pid:
                end += 1
            vectors = _unit(np.vstack([np.frombuffer(r[2], np.float32)
                                       for r in rows[start:end]]))
            self._people[pid] = _Evidence(
                np.sort(np.array([r[1] for r in rows[start:end]], np.int64)),
                np.array([r[1] for r in rows[start:min(end, start + SAMPLE)]], np.int64),
                vectors[:SAMPLE], vectors.sum(axis=0), end - start, bool(rows[start][3]),
                bool(rows[start][4]))
            start = end

    def get(self, person_id: int) -> _Evidence | None:
        self.load([person_id])
        return self._people[int(person_id)]

    def score(self, face_ids: np.ndarray, vectors: np.ndarray, person_id: int) -> np.ndarray:
        """Each face's score for this person, the face itself left out; -1 without evidence."""
        ev = self.get(person_id)
        out = np.full(len(vectors), -1.0)
        if ev is None:
            return out
        sims = vectors @ ev.refs.T
        own = face_ids[:, None] == ev.ref_ids[None, :]
        sims[own] = -np.inf
        members = np.isin(face_ids, ev.ids)  # faces of this person: their vector leaves the sum
        total = ev.total[None, :] - np.where(members[:, None], vectors, 0.0)
        count = ev.count - members
        available = np.minimum(TOP, (~own).sum(axis=1))
        top = -np.sort(-sims, axis=1)[:, :TOP]
        top_mean = np.where(available > 0, np.where(np.isfinite(top), top, 0.0).sum(axis=1)
                            / np.maximum(available, 1), 0.0)
        norms = np.linalg.norm(total, axis=1)
        centre = np.einsum("ij,ij->i", vectors, total) / np.maximum(norms, 1e-12)
        ok = count > 0
        out[ok] = 0.5 * top_mean[ok] + 0.5 * centre[ok]
        return out


def suggestions(library: Library, person_id: int, limit: int,
                cache: dict[str, Evidence] | None = None) -> list[Suggestion]:
    """Faces that may be this person, most likely first (see the module docstring)."""
    library.person(int(person_id))  # NotFoundError names the id
    out: list[Suggestion] = []
    for pack in library.packs_in_use():
        evidence = (cache or {}).get(pack) or Evidence(library, pack)
        if cache is not None:
            cache[pack] = evidence
        out += _suggest(library, evidence, int(person_id), limit)
    out.sort(key=lambda s: (-s.similarity, s.face_id))
    return out[:limit]


def all_suggestions(library: Library, limit: int) -> list[Suggestion]:
    """The best suggestion per face over every visible named person."""
    best: dict[int, Suggestion] = {}
    cache: dict[str, Evidence] = {}
    for person in library.people(include_hidden=False):
        if person.name is None:
            continue
        for s in suggestions(library, person.id, limit, cache):
            if s.face_id not in best or best[s.face_id].similarity < s.similarity:
                best[s.face_id] = s
    return sorted(best.values(), key=lambda s: (-s.similarity, s.face_id))[:limit]


def _suggest(library: Library, evidence: Evidence, person_id: int, limit: int
             ) -> list[Suggestion]:
    con = library.con
    me = evidence.get(person_id)
    if me is None:
        return []
    index = library.index(evidence.pack)
    k = min(len(index), max(limit * 2, 50))
    labels, _ = index.query_many(me.refs, k)
    near = sorted({int(f) for f in labels.ravel()})
    # Candidates: unknown faces, or faces something automatic placed in a visible person.
    rows = store.in_chunks(con, """
        SELECT f.id, f.photo_id, f.person_id FROM faces f LEFT JOIN people pe
            ON pe.id = f.person_id
        WHERE f.id IN ({}) AND f.ignored = 0 AND f.pack = ? AND (f.person_id IS NULL OR (
            f.assigned_by IN ('cluster', 'auto') AND pe.hidden = 0 AND f.person_id != ?))
          AND NOT EXISTS (SELECT 1 FROM rejections r WHERE r.face_id = f.id
                          AND r.person_id = ?)
          AND f.photo_id NOT IN (SELECT photo_id FROM faces WHERE person_id = ?)""",
                           near, evidence.pack, person_id, person_id, person_id)
    if not rows:
        return []
    ids, vectors = library.embeddings([r[0] for r in rows], pack=evidence.pack)
    vectors = _unit(vectors)
    mine = evidence.score(ids, vectors, person_id)
    keep = mine >= match_threshold(evidence.pack) + FLOOR_ABOVE
    # A big group is no evidence (issue 19): a face whose average similarity to the person's
    # faces misses how alike those are among themselves, less a leftover face's slack
    # (ClusterParams.joining_needs, attach_gap), is not offered as them.
    params = ClusterParams.for_threshold(match_threshold(evidence.pack))
    average = (vectors @ me.total) / max(me.count, 1)
    keep &= average >= params.joining_needs(me.total[None, :], np.array([me.count]),
                                            params.attach_gap)[0]
    ids, vectors, mine = ids[keep], vectors[keep], mine[keep]
    if not len(ids):
        return []
    info = {r[0]: (r[1], r[2]) for r in rows}
    rivals = _rivals(library, evidence, ids, vectors, person_id)
    best: dict[int, Suggestion] = {}  # one face per photo: the likeliest
    for row, fid in enumerate(ids.tolist()):
        photo, own = info[fid]
        score = float(mine[row])
        if own is not None:
            group = evidence.get(own)
            need = evidence.score(ids[row:row + 1], vectors[row:row + 1], own)[0]
            if group is not None and (group.named or group.count > me.count):
                need += LEAD
            if score < need:
                continue
        if score < rivals[row]:
            continue
        if photo not in best or best[photo].similarity < score:
            best[photo] = Suggestion(fid, person_id, score)
    return list(best.values())


def _rivals(library: Library, evidence: Evidence, ids: np.ndarray, vectors: np.ndarray,
            person_id: int) -> np.ndarray:
    """Per face: the best score among the people of its nearest faces (this person aside)."""
    index = library.index(evidence.pack)
    labels, _ = index.query_many(vectors, min(len(index), NEIGHBOURS))
    neighbours = sorted({int(f) for f in labels.ravel()})
    owner = {r[0]: r[1] for r in store.in_chunks(
        library.con, "SELECT id, person_id FROM faces WHERE id IN ({}) AND ignored = 0 "
        "AND person_id IS NOT NULL", neighbours)}
    out = np.full(len(ids), -1.0)
    wanted = [{owner[int(f)] for f in row if int(f) in owner} - {person_id} for row in labels]
    evidence.load(set().union(*wanted) if wanted else set())
    for rival in sorted(set().union(*wanted)):
        rows = np.array([i for i, w in enumerate(wanted) if rival in w], np.int64)
        scores = evidence.score(ids[rows], vectors[rows], rival)
        out[rows] = np.maximum(out[rows], scores)
    return out


def rank_people(library: Library, face_ids: list[int]) -> list[tuple[int, float]]:
    """Every visible person, most like these faces first: (person id, mean score)."""
    faces = [int(f) for f in dict.fromkeys(face_ids)]
    totals: dict[int, list[float]] = {}
    for pack in library.packs_in_use():
        ids, vectors = library.embeddings(faces, pack=pack)
        if not len(ids):
            continue
        evidence = Evidence(library, pack)
        for pid in evidence.load_visible():
            totals.setdefault(pid, []).extend(
                evidence.score(ids, _unit(vectors), pid).tolist())
    ranked = [(p.id, float(np.mean(totals[p.id])) if p.id in totals else -1.0)
              for p in library.people(include_hidden=False)]
    return sorted(ranked, key=lambda t: (-t[1], t[0]))


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
