"""What is known of each person, kept between questions and updated per person that changed.

Merge proposals (proposals.py) compare every person with every other. Recomputed from every
face on each change, that was the People strip's 2.1 s at 200k faces and would be minutes at
a million (the pair matrix alone grows with the square of the people). Here each person's part
(sum of unit faces, count, photos, best faces) is kept per library and pack in this process,
with a signature of the person as the database has it; a question first reads the signatures
of all people (one pass over the faces_person index, no face row read) and reloads only the
people whose signature moved, then recomputes only their rows of the pair matrix. The answer
is the one `proposals.merge_proposals` computes from scratch (tests/test_people_cache.py
checks them equal after each kind of edit).

A signature is what the proposals depend on and any writer (this process or another, the
user, clustering, a scan) changes when it changes them: the person's name set or not,
hidden, and (count, sum of ids) of their faces of the pack. Faces never change embedding, and
an ignored face belongs to no one, so two different memberships share a signature only if
they have the same count and the same id sum: a move of faces in and out at once that keeps
both. (A per-person generation column bumped by triggers would close that; it costs every
face update a second write.)

Thread-safe: read tasks on several threads share one cache per library folder.
"""
from __future__ import annotations

import heapq
import time
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..storage import store
from .clustering import ClusterParams
from .proposals import _SHOWN, FLOOR_BELOW, Proposal, _closest
from .regroup import match_threshold

if TYPE_CHECKING:
    from ..library import Library

_LOCK = threading.Lock()
_CACHES: dict[tuple[str, str | None, int, str], _PackCache] = {}


@dataclass
class _Person:
    signature: tuple
    total: np.ndarray  # sum of unit vectors, float64
    count: int
    named: bool
    photos: set[int]
    best: tuple[np.ndarray, np.ndarray]  # ids and unit vectors of the _SHOWN best faces


@dataclass
class _PackCache:
    people: dict[int, _Person] = field(default_factory=dict)
    # Pairs (unnamed first, or the smaller id of two unnamed) that pass the averages:
    # {(a, b): (score, average)}; the refusals and shared photos are checked when asked.
    pairs: dict[tuple[int, int], tuple[float, float]] = field(default_factory=dict)
    reloaded: int = 0  # people loaded from faces since the cache was made (tests)
    rows_computed: int = 0  # people whose pair rows were computed (tests)


def signatures(library: Library, pack: str) -> dict[int, tuple]:
    """{person id: signature} of every visible person with faces of this pack."""
    con = library.con
    people = {r[0]: (r[1], r[2]) for r in con.execute(
        "SELECT id, name IS NOT NULL, hidden FROM people")}
    out: dict[int, tuple] = {}
    # One pack (the usual library): the person index alone answers, no face row is read.
    only = library.packs_in_use() == [pack]
    for pid, count, total in con.execute(
            "SELECT person_id, COUNT(*), SUM(id) FROM faces INDEXED BY faces_person "
            "WHERE person_id IS NOT NULL" + ("" if only else " AND pack = ?")
            + " GROUP BY person_id", () if only else (pack,)):
        named_hidden = people.get(pid)
        if named_hidden is None or named_hidden[1]:
            continue
        out[pid] = (bool(named_hidden[0]), count, total)
    return out


def _cache(library: Library, pack: str) -> _PackCache:
    key = (str(library.path), library.library_id, store.epoch(library.con), pack)
    cache = _CACHES.get(key)
    if cache is None:
        for old in [k for k in _CACHES if k[0] == key[0] and k[3] == pack]:
            del _CACHES[old]  # another database in the folder, or "forget" ran
        cache = _CACHES[key] = _PackCache()
    return cache


def _load(library: Library, pack: str, person_ids: list[int], sigs: dict[int, tuple]
          ) -> dict[int, _Person]:
    """The given people as the faces table has them: by the person index, or, for most of
    the people (the first question of a process), in one pass over the table, which reads
    the pages in order (by the index, a cold load took twice the from-scratch answer)."""
    if len(person_ids) * 4 > len(sigs):
        wanted = set(person_ids)
        rows = [r for r in library.con.execute(
            "SELECT person_id, photo_id, embedding, id, quality FROM faces "
            "WHERE person_id IS NOT NULL AND pack = ? AND ignored = 0", (pack,))
            if r[0] in wanted]
    else:
        rows = store.in_chunks(library.con, """
            SELECT f.person_id, f.photo_id, f.embedding, f.id, f.quality FROM faces f
            WHERE f.person_id IN ({}) AND +f.pack = ? AND f.ignored = 0""", person_ids, pack)
    totals: dict[int, np.ndarray] = {}
    counts: dict[int, int] = {}
    photos: dict[int, set[int]] = {}
    best: dict[int, list] = {}
    for pid, photo, blob, face_id, quality in rows:
        v = np.frombuffer(blob, np.float32)
        unit = v / max(float(np.linalg.norm(v)), 1e-12)
        if pid not in totals:
            totals[pid] = np.zeros(len(v), np.float64)
            counts[pid], photos[pid], best[pid] = 0, set(), []
        totals[pid] += unit
        counts[pid] += 1
        photos[pid].add(photo)
        item = (quality, -face_id, face_id, unit)
        heap = best[pid]
        if len(heap) < _SHOWN:
            heapq.heappush(heap, item)
        elif item[:2] > heap[0][:2]:
            heapq.heapreplace(heap, item)
    return {pid: _Person(sigs[pid], totals[pid], counts[pid], sigs[pid][0], photos[pid],
                         (np.array([b[2] for b in best[pid]], np.int64),
                          np.vstack([b[3] for b in best[pid]])))
            for pid in totals}


def _update(library: Library, pack: str, cache: _PackCache) -> None:
    """Bring the cache in line with the database: reload the people whose signature moved,
    drop those gone, recompute their pair rows."""
    sigs = signatures(library, pack)
    gone = [pid for pid in cache.people if pid not in sigs]
    changed = sorted(pid for pid, sig in sigs.items()
                     if pid not in cache.people or cache.people[pid].signature != sig)
    if not gone and not changed:
        return
    for pid in gone:
        del cache.people[pid]
    if changed:
        loaded = _load(library, pack, changed, sigs)
        cache.reloaded += len(loaded)
        for pid in changed:
            cache.people.pop(pid, None)
        cache.people.update(loaded)
    touched = set(gone) | set(changed)
    cache.pairs = {k: v for k, v in cache.pairs.items()
                   if k[0] not in touched and k[1] not in touched}
    rows = [pid for pid in changed if pid in cache.people]
    if rows:
        _pair_rows(pack, cache, rows)


def _pair_rows(pack: str, cache: _PackCache, rows: list[int]) -> None:
    """The pairs of these people with everyone, as proposals._pairs scores them."""
    ids = np.array(sorted(cache.people), np.int64)
    people = [cache.people[int(p)] for p in ids]
    counts = np.array([p.count for p in people], np.float64)
    totals = np.vstack([p.total for p in people])
    means = totals / counts[:, None]
    named = np.array([p.named for p in people], bool)
    params = ClusterParams.for_threshold(match_threshold(pack))
    floor = match_threshold(pack) - FLOOR_BELOW
    needs = params.joining_needs(totals, counts) - FLOOR_BELOW
    at = {int(p): i for i, p in enumerate(ids)}
    block = np.array([at[p] for p in rows], np.int64)
    cache.rows_computed += len(block)
    for start in range(0, len(block), 512):
        part = block[start:start + 512]
        avg = means[part] @ means.T
        score = avg - params.merge_margin / np.sqrt(counts[part][:, None] * counts[None, :])
        alike = avg >= np.maximum(needs[part][:, None], needs[None, :])
        for r, c in zip(*np.nonzero((score >= floor) & alike)):
            i, j = int(part[r]), int(c)
            if i == j or (named[i] and named[j]):
                continue  # itself, or two named people: the user's business
            # The key as proposals._pairs meets the pair: the unnamed one first, or the
            # smaller id of two unnamed ones (its ranking's tie-break).
            if named[i] or (not named[j] and j < i):
                i, j = j, i
            cache.pairs[(int(ids[i]), int(ids[j]))] = (float(score[r, c]), float(avg[r, c]))


def merge_proposals(library: Library, limit: int = 50) -> list[Proposal]:
    """What proposals.merge_proposals answers, from the kept people (see the docstring)."""
    con = library.con
    refused = {(r[0], r[1]) for r in con.execute("SELECT person_a, person_b FROM not_same")}
    found: list[Proposal] = []
    with _LOCK:
        for pack in library.packs_in_use():
            cache = _cache(library, pack)
            _update(library, pack, cache)
            kept = []
            for (a, b), (score, avg) in cache.pairs.items():
                pa, pb = cache.people[a], cache.people[b]
                shared = len(pa.photos & pb.photos)
                if tuple(sorted((a, b))) in refused or \
                        shared > 1 + min(pa.count, pb.count) // 10:
                    continue
                kept.append((score, avg, a, b))
            kept.sort(key=lambda t: (-t[0], t[2], t[3]))
            for score, avg, a, b in kept[:limit]:
                found.append(_proposal(cache, a, b, avg, score))
    found.sort(key=lambda p: (-p.score, p.person_a, p.person_b))
    return found[:limit]


def _proposal(cache: _PackCache, a: int, b: int, avg: float, score: float) -> Proposal:
    pa, pb = cache.people[a], cache.people[b]
    if pb.named or (not pa.named and pb.count > pa.count):
        a, b, pa, pb = b, a, pb, pa  # the named one first (its name stays), else the bigger
    face_a, face_b = _closest(pa.best, pb.best)
    return Proposal(a, b, avg, score, pa.count, pb.count, face_a, face_b,
                    len(pa.photos & pb.photos))


def stats(library: Library, pack: str) -> tuple[int, int]:
    """(people reloaded, pair rows computed) since this library's cache was made (tests)."""
    with _LOCK:
        cache = _cache(library, pack)
        return cache.reloaded, cache.rows_computed


def forget(library_path) -> None:
    """Drop what this process keeps of a library (after "forget")."""
    with _LOCK:
        for key in [k for k in _CACHES if k[0] == str(library_path)]:
            del _CACHES[key]
        for kept in (_SUGGESTED, _ONE):
            for key in [k for k in kept if k[0] == str(library_path)]:
                del kept[key]


# -- suggestions ("Is this Anna?") for the Review queue ---------------------------------------
# One named person's suggestions cost an index query per reference face (0.7 s a person at
# 200k faces: bench_million.py), so the queue over 2,000 named people took 23 minutes when
# computed whole on every change. Each person's list is kept with the signature of the person
# and the faces generation it was computed at; a question recomputes stale people within a
# time budget, those an edit touched first (signature moved), then the rest by how good their
# suggestions were, and answers from what it has: `complete` says whether every list is
# current. Kept lists of people not recomputed yet are filtered as the faces are now (a face
# since placed by the user, ignored, refused for that person or now theirs is dropped).
SUGGEST_BUDGET_S = 0.8


@dataclass
class _Suggested:
    signature: tuple
    generation: int
    found: list  # suggest.Suggestion, best first


_SUGGESTED: dict[tuple[str, str | None, int], dict[int, _Suggested]] = {}


def all_suggestions(library: Library, limit: int, budget_s: float | None = SUGGEST_BUDGET_S
                    ) -> tuple[list, bool]:
    """(the best suggestion per face over every visible named person, best first; whether
    every person's list is current). budget_s None: recompute every stale person."""
    from . import suggest  # noqa: PLC0415 - scipy, loaded by the first question

    key = (str(library.path), library.library_id, store.epoch(library.con))
    generation = store.faces_generation(library.con)
    with _LOCK:
        for old in [k for k in _SUGGESTED if k[0] == key[0] and k != key]:
            del _SUGGESTED[old]
        kept = _SUGGESTED.setdefault(key, {})
        sigs: dict[int, tuple] = {}
        for pack in library.packs_in_use():
            for pid, sig in signatures(library, pack).items():
                if sig[0]:  # named
                    sigs[pid] = (*sigs.get(pid, ()), pack, *sig)
        for pid in [p for p in kept if p not in sigs]:
            del kept[pid]
        touched = [p for p in sigs if p not in kept or kept[p].signature != sigs[p]]
        older = [p for p in sigs if p in kept and kept[p].signature == sigs[p]
                 and kept[p].generation != generation]
        older.sort(key=lambda p: (-(kept[p].found[0].similarity if kept[p].found else -1), p))
        started = time.monotonic()
        cache: dict = {}
        for done, pid in enumerate(sorted(touched) + older):
            # At least one person a question, so asking again always gets somewhere.
            if done and budget_s is not None and time.monotonic() - started > budget_s:
                break
            found = suggest.suggestions(library, pid, limit, cache)
            kept[pid] = _Suggested(sigs[pid], generation, found)
        complete = all(p in kept and kept[p].signature == sigs[p]
                       and kept[p].generation == generation for p in sigs)
        best: dict[int, object] = {}
        for pid, entry in kept.items():
            for s in entry.found:
                if s.face_id not in best or best[s.face_id].similarity < s.similarity:
                    best[s.face_id] = s
    ranked = sorted(best.values(), key=lambda s: (-s.similarity, s.face_id))
    return _still_open(library, ranked, limit), complete


def _still_open(library: Library, ranked: list, limit: int) -> list:
    """The first `limit` suggestions still open as the faces are now."""
    out: list = []
    for start in range(0, len(ranked), 4 * limit):
        part = ranked[start:start + 4 * limit]
        ids = [s.face_id for s in part]
        now = {r[0]: (r[1], r[2], r[3]) for r in store.in_chunks(
            library.con, "SELECT id, person_id, assigned_by, ignored FROM faces "
            "WHERE id IN ({})", ids)}
        refused = {(r[0], r[1]) for r in store.in_chunks(
            library.con, "SELECT face_id, person_id FROM rejections WHERE face_id IN ({})",
            ids)}
        for s in part:
            state = now.get(s.face_id)
            if state is None or state[2] or state[0] == s.person_id \
                    or state[1] in ("user", "suggestion") \
                    or (s.face_id, s.person_id) in refused:
                continue
            out.append(s)
            if len(out) == limit:
                return out
    return out


def person_suggestions(library: Library, person_id: int, limit: int) -> list:
    """One person's suggestions (a person's page, `facefolio suggest`): the kept list while
    the person's signature and the faces generation hold, else computed and kept."""
    from . import suggest  # noqa: PLC0415

    key = (str(library.path), library.library_id, store.epoch(library.con))
    generation = store.faces_generation(library.con)
    sig: tuple = ()
    for pack in library.packs_in_use():
        own = _person_signature(library, pack, person_id)
        if own is not None:
            sig = (*sig, pack, *own)
    with _LOCK:
        for old in [k for k in _ONE if k[0] == key[0] and k != key]:
            del _ONE[old]
        kept = _ONE.setdefault(key, {})
        entry = kept.get((person_id, limit))
        if entry is None or entry.signature != sig or entry.generation != generation:
            found = suggest.suggestions(library, person_id, limit)
            entry = kept[(person_id, limit)] = _Suggested(sig, generation, found)
        found = list(entry.found)
    return _still_open(library, found, limit)


def _person_signature(library: Library, pack: str, person_id: int) -> tuple | None:
    """(count, sum of ids) of the person's faces, by the person index alone: what their
    own suggestions depend on (their name or hidden flag does not: naming or hiding the
    person on screen asks nothing again)."""
    if library.con.execute("SELECT 1 FROM people WHERE id = ?", (person_id,)).fetchone() \
            is None:
        return None
    return tuple(library.con.execute(
        "SELECT COUNT(*), SUM(id) FROM faces INDEXED BY faces_person WHERE person_id = ? "
        "AND +pack = ?", (person_id, pack)).fetchone())


_ONE: dict[tuple[str, str | None, int], dict[tuple[int, int], _Suggested]] = {}
