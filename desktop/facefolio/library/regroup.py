"""Clustering on a library: which faces are grouped, and how groups become unnamed people.

Clustering reads the faces nobody decided about, computes for seconds (clustering.py), then
writes. The user may edit people meanwhile (the app clusters at the end of a scan while the user
names and merges), so the write commits only against the state that was read:

- every user edit bumps the library's edits generation (oplog.record / undo / redo); if it moved
  while we computed, the result is thrown away and computed again from the new state (at most
  `attempts` times);
- inside the write transaction every row is re-validated anyway (another process clustering, a
  scan deleting photos, or the last attempt): a face whose person or assigned_by changed, or
  that got ignored, is not touched; a person that got a name, was hidden, merged, deleted or got
  a user-placed face is not touched; a group left under the minimum by this is not written.

The user's edit always wins: at worst a clustering pass changes less than it computed.
"""
from __future__ import annotations

import time
from dataclasses import asdict, astuple, dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from . import store
from .clustering import ClusterParams, group_faces
from .index import FaceIndex
from .oplog import fix_covers
from .store import Transaction

if TYPE_CHECKING:
    from .library import Library

ATTEMPTS = 3  # computations per pack before writing what still holds (see module docstring)


@dataclass(frozen=True)
class ClusterReport:
    people_created: int = 0
    people_updated: int = 0
    faces_grouped: int = 0
    faces_unknown: int = 0
    seconds: float = 0.0
    attempts: int = 0  # computations; more than one per pack when the user edited meanwhile
    faces_skipped: int = 0  # faces left as they were because they changed while we computed

    def to_json(self) -> dict:
        return asdict(self)


# People clustering may rebuild: unnamed, visible, and never touched by the user. Anything
# else (named, hidden, holding a confirmed face) is the user's and clustering leaves it alone.
FLUID_PEOPLE = """
    SELECT pe.id FROM people pe
    WHERE pe.name IS NULL AND pe.hidden = 0 AND NOT EXISTS (
        SELECT 1 FROM faces f WHERE f.person_id = pe.id
        AND f.assigned_by IN ('user', 'suggestion'))
"""


@dataclass
class _Read:
    """What one attempt read: the faces it may regroup, as they were."""
    generation: int
    face_ids: np.ndarray
    photo_ids: np.ndarray
    vectors: np.ndarray
    old_person: dict[int, int | None]


def cluster_library(library: Library, *, attempts: int = ATTEMPTS) -> ClusterReport:
    """Regroup the unknown and clustering-assigned faces of every pack into unnamed people."""
    started = time.monotonic()
    total = ClusterReport()
    for pack in library.packs_in_use():
        report = _cluster_pack(library, pack, max(1, attempts))
        total = ClusterReport(*(a + b for a, b in zip(astuple(total), astuple(report))))
    return replace(total, seconds=time.monotonic() - started)


def _cluster_pack(library: Library, pack: str, attempts: int) -> ClusterReport:
    con = library.con
    for attempt in range(1, attempts + 1):
        read = _read(library, pack)
        if read is None:
            return ClusterReport(attempts=attempt)
        groups = _compute(library, pack, read)
        with Transaction(con):
            if store.edits_generation(con) != read.generation and attempt < attempts:
                continue  # the user edited while we computed: compute again from their state
            report = _write_groups(library, groups, read)
        return replace(report, attempts=attempt)
    raise AssertionError("unreachable: the last attempt always writes")


def _read(library: Library, pack: str) -> _Read | None:
    con = library.con
    # The generation first: an edit between the two reads then counts as "meanwhile".
    generation = store.edits_generation(con)
    fluid = {r[0] for r in con.execute(FLUID_PEOPLE)}
    rows = con.execute("SELECT id, photo_id, person_id, embedding FROM faces WHERE pack = ? "
                       "AND ignored = 0 AND (person_id IS NULL OR assigned_by = 'cluster') "
                       "ORDER BY id", (pack,)).fetchall()
    rows = [r for r in rows if r["person_id"] is None or r["person_id"] in fluid]
    if not rows:
        return None
    vectors = np.vstack([np.frombuffer(r["embedding"], np.float32) for r in rows])
    vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return _Read(generation, np.array([r["id"] for r in rows], np.int64),
                 np.array([r["photo_id"] for r in rows], np.int64), vectors,
                 {r["id"]: r["person_id"] for r in rows})


def _compute(library: Library, pack: str, read: _Read) -> list[np.ndarray]:
    """Groups of face ids (each at least min_faces), from what was read."""
    params = ClusterParams.for_threshold(match_threshold(pack))
    labels, sims = _neighbours(library, pack, read.face_ids, read.vectors, params.k)
    min_faces = min_cluster_faces(library)
    groups = group_faces(read.vectors, labels, sims, read.photo_ids, params, min_faces)
    return [read.face_ids[g] for g in groups if len(g) >= min_faces]


def min_cluster_faces(library: Library) -> int:
    return max(2, int(library.settings.min_cluster_faces))


def _neighbours(library: Library, pack: str, face_ids: np.ndarray, vectors: np.ndarray,
                k: int) -> tuple[np.ndarray, np.ndarray]:
    """kNN among these faces as row indices (-1 = not one of them), from the hnswlib index."""
    index = library.index(pack)
    share = len(face_ids) / max(len(index), 1)
    wanted = int(np.ceil(k / max(share, 1e-9)))
    # ef just above k: a neighbour graph tolerates a missed far neighbour, and ef = 128 (the
    # search default, tuned for recall@10 of user searches) costs several times more queries.
    # All cores (num_threads=-1).
    if wanted <= 4 * k:
        # Most faces are being clustered: the library's index, over-asked, serves.
        wanted = min(wanted, len(index))
        found, sims = index.query_many(vectors, wanted, ef=wanted + 10, num_threads=-1)
    else:
        # Few unknown faces among many named ones: a throwaway index of just these.
        local = FaceIndex(vectors.shape[1], capacity=len(face_ids) + 16)
        local.add(face_ids, vectors)
        found, sims = local.query_many(vectors, k, ef=k + 10, num_threads=-1)
    rows = np.searchsorted(face_ids, found)
    rows = np.clip(rows, 0, len(face_ids) - 1)
    rows[face_ids[rows] != found] = -1
    return rows, sims


def _still_valid(library: Library, read: _Read) -> tuple[set[int], set[int]]:
    """(faces, fluid people) that are still as `read` saw them; inside the write transaction."""
    con = library.con
    fluid = {r[0] for r in con.execute(FLUID_PEOPLE)}
    now = {r[0]: (r[1], r[2], r[3]) for r in store.in_chunks(
        con, "SELECT id, person_id, assigned_by, ignored FROM faces WHERE id IN ({})",
        list(read.old_person))}
    faces = set()
    for fid, was in read.old_person.items():
        if fid not in now:
            continue  # a rescan deleted it
        person, by, ignored = now[fid]
        if ignored or person != was:
            continue
        if was is not None and (was not in fluid or by != "cluster"):
            continue
        faces.add(fid)
    return faces, fluid


def _write_groups(library: Library, groups: list[np.ndarray], read: _Read) -> ClusterReport:
    """Write the groups as unnamed people, re-validating every row (caller's transaction)."""
    con = library.con
    min_faces = min_cluster_faces(library)
    valid, fluid = _still_valid(library, read)
    old_person = read.old_person
    old_members: dict[int, set[int]] = {}
    for fid, pid in old_person.items():
        if pid is not None:
            old_members.setdefault(pid, set()).add(fid)
    # Keep the ids of unnamed people: each new group inherits the old person it overlaps
    # most, largest overlaps first, so an unchanged group keeps its id and place on screen.
    # Only a person still fluid can be inherited: one the user named or touched is theirs.
    pairs = []
    for gi, group in enumerate(groups):
        counts: dict[int, int] = {}
        for fid in group.tolist():
            pid = old_person[fid]
            if pid is not None and pid in fluid and fid in valid:
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
    for gi, group in enumerate(groups):
        pid = heir.get(gi)
        members = [int(f) for f in group.tolist() if int(f) in valid
                   and (pid is None or (int(f), pid) not in rejected)]
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
               for fid, pid in old_person.items()
               if fid in valid and new_person.get(fid) != pid]
    con.executemany("UPDATE faces SET person_id = ?, assigned_by = ? WHERE id = ?", changes)
    kept = set(new_person.values())
    # A fluid person left with no face goes; one that is no longer fluid is the user's.
    con.executemany("DELETE FROM people WHERE id = ? AND name IS NULL AND hidden = 0 "
                    "AND NOT EXISTS (SELECT 1 FROM faces f WHERE f.person_id = people.id)",
                    [(pid,) for pid in old_members if pid not in kept])
    fix_covers(con, kept)
    unknown = sum(1 for fid in valid if fid not in new_person)
    return ClusterReport(people_created=created, people_updated=updated, faces_grouped=grouped,
                         faces_unknown=unknown, faces_skipped=len(old_person) - len(valid))


def match_threshold(pack: str) -> float:
    from ..engine import PACKS  # noqa: PLC0415 - only the pack table, no models

    return PACKS[pack].match_threshold if pack in PACKS else 0.4
