"""How close a face is to a person, and automatic assignment of new faces to named people.

Auto-assignment reads people and faces, scores, then writes, like clustering (see regroup.py):
if the user edited people meanwhile (edits generation moved) the picks are computed again, and
the write itself re-checks every pick inside its transaction (the face is still nobody's and not
ignored, the person still exists and is named, the user never said "not this person", the photo
holds no face of that person yet). A person deleted meanwhile is skipped, never a foreign-key
error.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...engine.packs import match_threshold
from ..storage import store
from ..storage.store import Transaction
from . import age_check
from .clustering import ClusterParams
from .undo import fix_covers

if TYPE_CHECKING:
    from ..library import Library

# Auto-assignment is strict: best person's top-3 mean similarity this far above the pack's
# verification threshold, and clearly ahead of the runner-up; and, since among many faces of
# one person a stranger finds three close ones by chance, its average similarity to the
# person's reference faces must reach what clustering asks of a newcomer to a group that
# alike (ClusterParams.joining_needs). Anything weaker is a suggestion.
AUTO_MARGIN = 0.10
AUTO_LEAD = 0.10
TOP = 3  # a face's similarity to a person: mean of its TOP best matches among their faces
SAMPLE = 200  # reference faces per person (best quality): bounds the cost of big people
ATTEMPTS = 3


def references(library: Library, pack: str, *, named_only: bool = False,
               person_ids: list[int] | None = None, visible_only: bool = False
               ) -> dict[int, np.ndarray]:
    """Each person's best-quality face embeddings (at most SAMPLE), by person id."""
    sql = ("SELECT f.person_id, f.embedding FROM faces f JOIN people pe ON "
           "pe.id = f.person_id WHERE +f.pack = ? AND f.ignored = 0")
    params: list = [pack]
    if named_only:
        sql += " AND pe.name IS NOT NULL"
    if visible_only:
        sql += " AND pe.hidden = 0"
    if person_ids is not None:
        sql += f" AND f.person_id IN ({','.join('?' * len(person_ids))})"
        params += person_ids
    refs: dict[int, list[np.ndarray]] = {}
    for pid, blob in library.con.execute(sql + " ORDER BY f.quality DESC, f.id", params):
        bucket = refs.setdefault(pid, [])
        if len(bucket) < SAMPLE:
            bucket.append(np.frombuffer(blob, np.float32))
    return {pid: np.vstack(v) for pid, v in refs.items()}


def person_scores(vectors: np.ndarray, people: dict[int, np.ndarray]) -> np.ndarray:
    """(faces, people): mean of each face's TOP best similarities to each person's faces.

    The mean of a few best matches, not the single best, so one look-alike photo of someone
    else does not decide.
    """
    scores = np.zeros((len(vectors), len(people)), np.float32)
    for col, refs in enumerate(people.values()):
        sims = vectors @ refs.T
        top = min(TOP, sims.shape[1])
        scores[:, col] = -np.sort(-sims, axis=1)[:, :top].mean(axis=1)
    return scores


def auto_assign(library: Library, face_ids: list[int], *, attempts: int = ATTEMPTS) -> int:
    """New faces to the named person they clearly match; returns how many were assigned."""
    con = library.con
    for attempt in range(1, max(1, attempts) + 1):
        generation = store.edits_generation(con)
        picks = _picks(library, face_ids)
        if not picks:
            return 0
        with Transaction(con):
            if store.edits_generation(con) != generation and attempt < attempts:
                continue  # the user edited meanwhile: pick again from their state
            assigned = 0
            for person_id, face_id in picks:
                # Every condition the picks were made under, checked again under the lock.
                assigned += con.execute("""
                    UPDATE faces SET person_id = :p, assigned_by = 'auto'
                    WHERE id = :f AND person_id IS NULL AND ignored = 0
                      AND EXISTS (SELECT 1 FROM people WHERE id = :p AND name IS NOT NULL)
                      AND NOT EXISTS (SELECT 1 FROM rejections
                                      WHERE face_id = :f AND person_id = :p)
                      AND NOT EXISTS (SELECT 1 FROM faces g
                                      WHERE g.photo_id = faces.photo_id AND g.person_id = :p)
                    """, {"p": person_id, "f": face_id}).rowcount
            fix_covers(con, {pid for pid, _ in picks})
        return assigned
    return 0


def _picks(library: Library, face_ids: list[int]) -> list[tuple[int, int]]:
    """(person, face) pairs: each face's clear best named person, one face per photo."""
    rows = store.in_chunks(library.con, "SELECT id, photo_id, pack FROM faces WHERE "
                           "person_id IS NULL AND ignored = 0 AND id IN ({})", face_ids)
    by_pack: dict[str, list] = {}
    for r in rows:
        by_pack.setdefault(r["pack"], []).append(r)
    picks: dict[tuple[int, int], tuple[float, int]] = {}  # (photo, person) -> best face
    for pack, pack_rows in by_pack.items():
        ids, vectors = library.embeddings([r["id"] for r in pack_rows], pack=pack)
        people = references(library, pack, named_only=True,
                            person_ids=_near_people(library, pack, vectors))
        if not people:
            continue
        photo_of = {r["id"]: r["photo_id"] for r in pack_rows}
        params = ClusterParams.for_threshold(match_threshold(pack))
        threshold = match_threshold(pack) + AUTO_MARGIN
        scores = person_scores(vectors, people)  # (faces, people)
        sums = np.vstack([refs.sum(axis=0) for refs in people.values()])
        counts = np.array([len(refs) for refs in people.values()])
        means = (vectors @ sums.T) / counts[None, :]
        needs = params.joining_needs(sums, counts)
        order = np.argsort(-scores, axis=1)
        rejected = {(r[0], r[1]) for r in store.in_chunks(
            library.con, "SELECT face_id, person_id FROM rejections WHERE face_id IN ({})",
            ids.tolist())}
        pids = list(people)
        for row, face_id in enumerate(ids.tolist()):
            best = pids[order[row, 0]]
            first = scores[row, order[row, 0]]
            second = scores[row, order[row, 1]] if len(pids) > 1 else 0.0
            if first < threshold or first - second < AUTO_LEAD or (face_id, best) in rejected:
                continue
            if means[row, order[row, 0]] < needs[order[row, 0]]:
                continue  # a few close faces, but far less alike the person than theirs are
            key = (photo_of[face_id], best)
            # Never two faces of one photo to one person: the closest one wins.
            if key not in picks or picks[key][0] < first:
                picks[key] = (float(first), face_id)
    out = [(pid, fid) for (_, pid), (_, fid) in picks.items()]
    # A face whose estimated age is far from the person's in that photo is asked about
    # (a suggestion), not joined silently (age_check.py).
    far = age_check.far_pairs(library, out)
    return [pick for pick in out if pick not in far]


NEAR = 50  # nearest faces per new face whose people are its candidates


def _near_people(library: Library, pack: str, vectors: np.ndarray) -> list[int]:
    """The people owning any of these faces' NEAR nearest faces in the index: a person with
    none of its faces among them scores below all of those, so it can neither win nor be the
    runner-up that matters. Their faces alone are read, not every named person's."""
    index = library.index(pack)
    if not len(index) or not len(vectors):
        return []
    found, _ = index.query_many(vectors, min(len(index), NEAR), ef=NEAR + 20)
    return sorted({r[0] for r in store.in_chunks(
        library.con, "SELECT DISTINCT person_id FROM faces WHERE id IN ({}) AND "
        "person_id IS NOT NULL", sorted({int(f) for f in found.ravel()}))})
