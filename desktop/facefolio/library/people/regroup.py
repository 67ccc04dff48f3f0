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

from ...engine.packs import match_threshold
from ..storage import store
from ..storage.index import FaceIndex
from ..storage.store import Transaction
from .apart import side_tags
from .attach import Owners, attach
from .clustering import ClusterParams, group_faces
from .heirs import hand_down_not_same, inherit_ids
from .undo import fix_covers

if TYPE_CHECKING:
    from ..library import Library

ATTEMPTS = 3  # computations per pack before writing what still holds (see module docstring)
# Faces below this quality (engine/quality.py: size, sharpness, pose) never start a group on
# their own: a new group needs two faces at or above it. They still join groups and people
# (attach.py), stay searchable, and "Unknown faces" hides them unless asked. Measured:
# - `python tests/benchmarks/bench_people.py`, "low_quality": on deepface-unit the faces under
#   0.62 are 5 background faces (blurred or cut off, 0.34-0.59), no labelled face; on
#   celebrity-dev 13 of its 320 crops are under it;
# - `python tests/benchmarks/bench_groups.py` with `--variant quality_floor_0` and
#   `quality_floor_0.70`: group-photo faces in their right person 99.3% with no floor, 98.7%
#   at 0.62, 96.5% at 0.70, none in a wrong one in any case.
# 0.62 hides those background faces for 0.6 points of group-photo faces.
QUALITY_FLOOR = 0.62
# Two clear faces (both >= QUALITY_FLOOR, in different photos, similarity >= threshold + the
# small-group margin: 0.50 with SFace) make a person although min_cluster_faces is 3.
# `python tests/benchmarks/bench_people.py --ablate 30000`, "no_pairs" against "shipped"
# (precision, recall): deepface-unit (1.0, 0.951) -> (1.0, 1.0), its three two-photo people
# found; synthetic (0.982, 0.872) -> (0.992, 0.934); celebrity-dev (1.0, 0.969) -> (1.0, 0.964).
# Two different people reach at most 0.467 among group-photo faces and portraits
# (`bench_groups.py`, "pairs_by_quality"), under the 0.50 a pair needs. So pairs are on, and
# the min_cluster_faces default can stay 3 (pairs only when it is <= 3).
PAIRS = True


@dataclass(frozen=True)
class ClusterReport:
    people_created: int = 0
    people_updated: int = 0
    faces_grouped: int = 0
    faces_unknown: int = 0
    seconds: float = 0.0
    attempts: int = 0  # computations; more than one per pack when the user edited meanwhile
    faces_skipped: int = 0  # faces left as they were because they changed while we computed
    faces_joined: int = 0  # unknown faces that joined a person clustering does not rebuild

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
    quality: np.ndarray
    old_person: dict[int, int | None]
    not_same: list[tuple[int, int]]  # person pairs the user said are different


@dataclass
class _Plan:
    groups: list[np.ndarray]  # face ids, each group a new or inherited fluid person
    joins: list[tuple[int, int]]  # (face id, person id): faces joining the user's people


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
        plan = _compute(library, pack, read)
        with Transaction(con):
            if store.edits_generation(con) != read.generation and attempt < attempts:
                continue  # the user edited while we computed: compute again from their state
            report = _write(library, plan, read)
        return replace(report, attempts=attempt)
    raise AssertionError("unreachable: the last attempt always writes")


def _read(library: Library, pack: str) -> _Read | None:
    con = library.con
    # The generation first: an edit between the two reads then counts as "meanwhile".
    generation = store.edits_generation(con)
    fluid = {r[0] for r in con.execute(FLUID_PEOPLE)}
    rows = con.execute("SELECT id, photo_id, person_id, quality, embedding FROM faces "
                       "WHERE pack = ? AND ignored = 0 AND (person_id IS NULL OR "
                       "assigned_by = 'cluster') ORDER BY id", (pack,)).fetchall()
    rows = [r for r in rows if r["person_id"] is None or r["person_id"] in fluid]
    if not rows:
        return None
    vectors = np.vstack([np.frombuffer(r["embedding"], np.float32) for r in rows])
    vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    not_same = [(r[0], r[1]) for r in con.execute("SELECT person_a, person_b FROM not_same")]
    return _Read(generation, np.array([r["id"] for r in rows], np.int64),
                 np.array([r["photo_id"] for r in rows], np.int64), vectors,
                 np.array([r["quality"] for r in rows], np.float64),
                 {r["id"]: r["person_id"] for r in rows}, not_same)


def _compute(library: Library, pack: str, read: _Read) -> _Plan:
    """New groups from what was read, and the faces left out that join someone."""
    params = ClusterParams.for_threshold(match_threshold(pack))
    labels, sims = _neighbours(library, pack, read.face_ids, read.vectors, params.k)
    tags = _face_tags(read)
    groups = group_faces(read.vectors, labels, sims, read.photo_ids, params, tags,
                         crowd=len(library.index(pack)))
    min_faces = min_cluster_faces(library)
    good = read.quality >= QUALITY_FLOOR

    pair_needs = 1.0 - params.link + params.merge_margin  # what two single faces need

    def stands(g: np.ndarray) -> bool:
        if int(good[g].sum()) < 2:
            return False
        if len(g) >= min_faces:
            return True
        # A pair from an exact piece was cut at the threshold alone: hold it to the margin.
        return PAIRS and min_faces <= 3 and len(g) == 2 and \
            float(read.vectors[g[0]] @ read.vectors[g[1]]) >= pair_needs

    groups = [g for g in groups if stands(g)]
    joined, joins = _attach(library, pack, read, groups, params, tags)
    for gi, rows in joined.items():
        groups[gi] = np.sort(np.concatenate([groups[gi], np.array(rows, np.int64)]))
    return _Plan([read.face_ids[g] for g in groups], joins)


def _face_tags(read: _Read) -> list[frozenset] | None:
    """"Not the same person" pair p puts tag 2p on the faces of its first person and 2p + 1
    on the second's (clustering.side_tags): such faces never share a group."""
    rows_of: dict[int, list[int]] = {}
    for row, fid in enumerate(read.face_ids.tolist()):
        if read.old_person[fid] is not None:
            rows_of.setdefault(read.old_person[fid], []).append(row)
    sides = [(np.array(rows_of.get(a, []), np.int64), np.array(rows_of.get(b, []), np.int64))
             for a, b in read.not_same]
    if not any(len(a) for a, _ in sides) and not any(len(b) for _, b in sides):
        return None
    return side_tags(len(read.face_ids), sides)


def _attach(library: Library, pack: str, read: _Read, groups: list[np.ndarray],
            params: ClusterParams, tags: list[frozenset] | None
            ) -> tuple[dict[int, list[int]], list]:
    """Faces in no group that clearly belong to a new group or to one of the user's people:
    ({group index: [rows]}, [(face id, person id)])."""
    con = library.con
    grouped = np.zeros(len(read.face_ids), bool)
    owner_row = np.full(len(read.face_ids), -1, np.int64)
    for gi, g in enumerate(groups):
        grouped[g] = True
        owner_row[g] = gi
    left = np.flatnonzero(~grouped)
    if not len(left):
        return {}, []
    index = library.index(pack)
    found, sims = index.query_many(read.vectors[left], min(len(index), params.k + 1),
                                   ef=params.k + 20)
    rows = np.clip(np.searchsorted(read.face_ids, found), 0, len(read.face_ids) - 1)
    fluid = read.face_ids[rows] == found
    # Faces outside this clustering: the people the user made, named or touched.
    others = sorted({int(f) for f in found[~fluid].ravel()})
    person_of = {r[0]: r[1] for r in store.in_chunks(
        con, "SELECT id, person_id FROM faces WHERE id IN ({}) AND ignored = 0 "
        "AND person_id IS NOT NULL", others)}
    persons = sorted(set(person_of.values()))
    key = {pid: len(groups) + i for i, pid in enumerate(persons)}
    owner = np.where(fluid, owner_row[rows], -1)
    for (i, j) in zip(*np.nonzero(~fluid)):
        pid = person_of.get(int(found[i, j]))
        if pid is not None:
            owner[i, j] = key[pid]
    owner[found == read.face_ids[left][:, None]] = -1  # a face is not its own neighbour
    owners = _owners(library, pack, read, groups, persons, tags)
    forbidden = [set() for _ in left]
    row_of_left = {int(read.face_ids[r]): i for i, r in enumerate(left)}
    for fid, pid in store.in_chunks(con, "SELECT face_id, person_id FROM rejections "
                                    "WHERE face_id IN ({})", list(row_of_left)):
        if pid in key:
            forbidden[row_of_left[fid]].add(key[pid])
    target = attach(read.vectors[left], read.photo_ids[left],
                    [tags[r] for r in left] if tags else None, owner, sims, owners, params,
                    1.0 - params.link, forbidden)
    to_groups: dict[int, list[int]] = {}
    joins = []
    for i, o in enumerate(target.tolist()):
        if o < 0:
            continue
        if o < len(groups):
            to_groups.setdefault(o, []).append(int(left[i]))
        else:
            joins.append((int(read.face_ids[left[i]]), persons[o - len(groups)]))
    return to_groups, joins


def _owners(library: Library, pack: str, read: _Read, groups: list[np.ndarray],
            persons: list[int], face_tags: list[frozenset] | None) -> Owners:
    """What attach needs of the new groups and of the user's people among the neighbours."""
    dim = read.vectors.shape[1]
    n = len(groups) + len(persons)
    sums = np.zeros((n, dim), np.float64)
    counts = np.zeros(n, np.int64)
    photos: list[set[int]] = [set() for _ in range(n)]
    tags: list[set] = [set() for _ in range(n)]
    for gi, g in enumerate(groups):
        sums[gi] = read.vectors[g].sum(axis=0)
        counts[gi] = len(g)
        photos[gi] = set(read.photo_ids[g].tolist())
        if face_tags:
            tags[gi] = set().union(*(face_tags[r] for r in g))
    hidden = np.zeros(n, bool)
    key = {pid: len(groups) + i for i, pid in enumerate(persons)}
    rows = store.in_chunks(library.con, """
            SELECT f.person_id, f.embedding, f.photo_id, pe.hidden FROM faces f
            JOIN people pe ON pe.id = f.person_id
            WHERE f.person_id IN ({}) AND f.ignored = 0 AND +f.pack = ?""", persons, pack)
    if rows:  # in one go, not face by face: the people near new faces hold 100,000s at 1M
        owner = np.array([key[r[0]] for r in rows], np.int64)
        vectors = np.frombuffer(b"".join(r[1] for r in rows), np.float32).reshape(len(rows), -1)
        norms = np.maximum(np.linalg.norm(vectors, axis=1), 1e-12)
        np.add.at(sums, owner, vectors / norms[:, None])
        counts += np.bincount(owner, minlength=n)
        for o, (_pid, _blob, photo, is_hidden) in zip(owner.tolist(), rows):
            photos[o].add(photo)
            hidden[o] = bool(is_hidden)
    # A fluid person's "not the same person" pair with one of the user's people: the side
    # tags of the fluid one are on its faces; the user's person carries the other side.
    for p, (a, b) in enumerate(read.not_same):
        for pid, side in ((a, 2 * p), (b, 2 * p + 1)):
            if pid in key:
                tags[key[pid]].add(side)
    return Owners(sums, counts, photos, [frozenset(t) for t in tags], ~hidden)


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
    # Only the people read can be inherited or emptied: ask about them, not everyone.
    fluid = {r[0] for r in store.in_chunks(con, FLUID_PEOPLE + " AND pe.id IN ({})", sorted(
        {p for p in read.old_person.values() if p is not None}))}
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


def _write(library: Library, plan: _Plan, read: _Read) -> ClusterReport:
    """Write the plan, re-validating every row (inside the caller's transaction)."""
    con = library.con
    min_faces = min_cluster_faces(library)
    valid, fluid = _still_valid(library, read)
    old_person = read.old_person
    old_members: dict[int, set[int]] = {}
    for fid, pid in old_person.items():
        if pid is not None:
            old_members.setdefault(pid, set()).add(fid)
    heir = inherit_ids(plan.groups, old_person, valid, fluid)
    rejected = {(r[0], r[1]) for r in con.execute("SELECT face_id, person_id FROM rejections")}
    created = updated = grouped = 0
    new_person: dict[int, int] = {}
    for gi, group in enumerate(plan.groups):
        pid = heir.get(gi)
        members = [int(f) for f in group.tolist() if int(f) in valid
                   and (pid is None or (int(f), pid) not in rejected)]
        if len(members) < min(len(group), min_faces):
            continue  # what the plan counted on changed meanwhile
        if pid is None:
            pid = con.execute("INSERT INTO people(name, hidden, created_at) "
                              "VALUES (NULL, 0, ?)", (store.now(),)).lastrowid
            created += 1
        elif set(members) != old_members.get(pid, set()):
            updated += 1
        for fid in members:
            new_person[fid] = pid
        grouped += len(members)
    joined: set[int] = set()
    for fid, pid in plan.joins:
        if fid not in valid:
            continue
        # The conditions attach.py checked, again under the lock (like auto-assignment).
        moved = con.execute("""
            UPDATE faces SET person_id = :p, assigned_by = 'auto'
            WHERE id = :f AND ignored = 0
              AND EXISTS (SELECT 1 FROM people WHERE id = :p AND hidden = 0)
              AND NOT EXISTS (SELECT 1 FROM rejections WHERE face_id = :f AND person_id = :p)
              AND NOT EXISTS (SELECT 1 FROM faces g
                              WHERE g.photo_id = faces.photo_id AND g.person_id = :p)
            """, {"p": pid, "f": fid}).rowcount
        if moved:
            new_person[fid] = pid
            joined.add(fid)
    changes = [(new_person.get(fid), "cluster" if fid in new_person else None, fid)
               for fid, pid in old_person.items()
               if fid in valid and fid not in joined and new_person.get(fid) != pid]
    con.executemany("UPDATE faces SET person_id = ?, assigned_by = ? WHERE id = ?", changes)
    kept = set(new_person.values())
    hand_down_not_same(con, [pid for pid in old_members if pid not in kept], old_person,
                        new_person)
    # A fluid person left with no face goes; one that is no longer fluid is the user's.
    con.executemany("DELETE FROM people WHERE id = ? AND name IS NULL AND hidden = 0 "
                    "AND NOT EXISTS (SELECT 1 FROM faces f WHERE f.person_id = people.id)",
                    [(pid,) for pid in old_members if pid not in kept])
    fix_covers(con, kept)
    unknown = sum(1 for fid in valid if fid not in new_person)
    return ClusterReport(people_created=created, people_updated=updated,
                         faces_grouped=grouped, faces_unknown=unknown,
                         faces_skipped=len(old_person) - len(valid),
                         faces_joined=len(joined))
