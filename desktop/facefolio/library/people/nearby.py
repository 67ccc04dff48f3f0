"""New faces grouped against the index and their neighbourhood only, not the whole library.

After a scan, re-clustering every face nobody decided about cost 909 s for 100 new photos at
200k faces (tests/benchmarks/bench_million.py). The faces a new face can change are those near
it, so this reads only:

- the new faces that are still nobody's (auto-assignment to named people ran first);
- their nearest faces in the pack's index (ClusterParams.k of each) that are nobody's;
- every clustering-placed face of the unnamed groups (regroup.FLUID_PEOPLE) among those
  neighbours, so such a group can take the newcomers or split as a full regroup would split it;

and hands that to regroup's own steps (`_compute` groups it, attaches what is left to the new
groups or to any person among its neighbours; `_write` re-validates every row under the write
lock). The user's people (named, hidden, touched) are never in the read: they can only take a
face by the attach rule, like after a full regroup. What a local pass cannot see (two old
unnamed groups far from any new face that would now merge) waits for `facefolio cluster`.
"""
from __future__ import annotations

import time
from dataclasses import astuple, replace
from typing import TYPE_CHECKING

import numpy as np

from ...engine.packs import match_threshold
from ..storage import store
from ..storage.store import Transaction
from .clustering import ClusterParams
from .regroup import ATTEMPTS, FLUID_PEOPLE, ClusterReport, _compute, _Read, _write

if TYPE_CHECKING:
    from ..library import Library


def group_new_faces(library: Library, face_ids: list[int], *, attempts: int = ATTEMPTS
                    ) -> ClusterReport:
    """Group these new faces with the unknown faces and unnamed groups around them."""
    started = time.monotonic()
    total = ClusterReport()
    if not face_ids:
        return total
    packs = sorted({r[0] for r in store.in_chunks(
        library.con, "SELECT DISTINCT pack FROM faces WHERE id IN ({})", face_ids)})
    for pack in packs:
        report = _group_pack(library, pack, face_ids, max(1, attempts))
        total = ClusterReport(*(a + b for a, b in zip(astuple(total), astuple(report))))
    return replace(total, seconds=time.monotonic() - started)


def _group_pack(library: Library, pack: str, face_ids: list[int], attempts: int
                ) -> ClusterReport:
    con = library.con
    for attempt in range(1, attempts + 1):
        read = read_nearby(library, pack, face_ids)
        if read is None:
            return ClusterReport(attempts=attempt)
        plan = _compute(library, pack, read)
        with Transaction(con):
            if store.edits_generation(con) != read.generation and attempt < attempts:
                continue  # the user edited while we computed: compute again from their state
            report = _write(library, plan, read)
        return replace(report, attempts=attempt)
    raise AssertionError("unreachable: the last attempt always writes")


_COLUMNS = "SELECT id, photo_id, person_id, quality, embedding FROM faces"


def read_nearby(library: Library, pack: str, face_ids: list[int]) -> _Read | None:
    """The new faces still nobody's, with the unknown faces and unnamed groups near them."""
    con = library.con
    generation = store.edits_generation(con)  # first: an edit after it counts as "meanwhile"
    new = store.in_chunks(con, _COLUMNS + " WHERE id IN ({}) AND pack = ? AND ignored = 0 "
                          "AND person_id IS NULL", face_ids, pack)
    if not new:
        return None
    index = library.index(pack)
    params = ClusterParams.for_threshold(match_threshold(pack))
    vectors = _unit(new)
    found, _sims = index.query_many(vectors, min(len(index), params.k + 1), ef=params.k + 20)
    near = sorted({int(f) for f in found.ravel()} - {r["id"] for r in new})
    rows = {r["id"]: r for r in new}
    grouped: set[int] = set()
    for r in store.in_chunks(con, _COLUMNS + " WHERE id IN ({}) AND pack = ? AND ignored = 0 "
                             "AND (person_id IS NULL OR assigned_by = 'cluster')", near, pack):
        if r["person_id"] is None:
            rows[r["id"]] = r
        else:
            grouped.add(r["person_id"])
    fluid = [r[0] for r in store.in_chunks(con, FLUID_PEOPLE + " AND pe.id IN ({})",
                                           sorted(grouped))]
    for r in store.in_chunks(con, _COLUMNS + " WHERE person_id IN ({}) AND +pack = ? AND "
                             "ignored = 0 AND assigned_by = 'cluster'", fluid, pack):
        rows[r["id"]] = r
    ordered = [rows[i] for i in sorted(rows)]  # regroup finds rows by id (searchsorted)
    not_same = [(r[0], r[1]) for r in con.execute("SELECT person_a, person_b FROM not_same")]
    return _Read(generation, np.array([r["id"] for r in ordered], np.int64),
                 np.array([r["photo_id"] for r in ordered], np.int64), _unit(ordered),
                 np.array([r["quality"] for r in ordered], np.float64),
                 {r["id"]: r["person_id"] for r in ordered}, not_same)


def _unit(rows) -> np.ndarray:
    vectors = np.vstack([np.frombuffer(r["embedding"], np.float32) for r in rows])
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
