"""Undo and redo of the user's people operations, kept in the `operations` table.

An operation is recorded as two snapshots of the rows it touched: the people (whole rows, or
"absent"), the faces (person, how it got there, ignored), the rejections of those people and
faces, and the "not the same person" pairs of those people.
Undo writes the "before" snapshot back, redo the "after" one, so every operation is undone
exactly, merges included, without per-operation inverse code.

The log is linear: rows with `undone = 1` are the redo stack, and recording a new operation
drops them. Clustering is not logged, but may have changed things since: a snapshot applied
later skips faces that a rescan deleted and people that clustering removed, rather than
resurrecting them empty. A face that a rescan detected again (its photo rotated, cropped or
re-analysed: the decisions carried to a new face of the same photo) is followed to that new
face, so undoing an older operation still reaches it.
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from ..storage.errors import LibraryError
from ..storage.store import bump_edits, in_chunks, now

Snapshot = dict


class ChangedElsewhereError(LibraryError):
    """The operation Undo (or Redo) showed is no longer next in the shared log: another
    window or the command line logged one since. Nothing was changed."""


@dataclass(frozen=True)
class Operation:
    id: int
    at: float
    kind: str
    description: str
    undone: bool


def snapshot(con: sqlite3.Connection, person_ids, face_ids) -> Snapshot:
    """The state of these people and faces (and their rejections), as JSON-able data."""
    people_ids = sorted({int(p) for p in person_ids if p is not None})
    face_ids = sorted({int(f) for f in face_ids})
    people: dict[str, dict | None] = {}
    for pid in people_ids:
        row = con.execute("SELECT name, hidden, cover_face_id, created_at, birth_date "
                          "FROM people WHERE id = ?", (pid,)).fetchone()
        people[str(pid)] = dict(zip(("name", "hidden", "cover_face_id", "created_at",
                                     "birth_date"), row)) if row else None
    faces: dict[str, list] = {}
    rejections: set[tuple[int, int]] = set()
    for fid, pid, by, ignored, photo_id in in_chunks(
            con, "SELECT id, person_id, assigned_by, ignored, photo_id FROM faces "
            "WHERE id IN ({})", face_ids):
        faces[str(fid)] = [pid, by, ignored, photo_id]
    rejections.update(tuple(r) for r in in_chunks(
        con, "SELECT face_id, person_id FROM rejections WHERE face_id IN ({})", face_ids))
    rejections.update(tuple(r) for r in in_chunks(
        con, "SELECT face_id, person_id FROM rejections WHERE person_id IN ({})", people_ids))
    not_same = {tuple(r) for pid in people_ids for r in con.execute(
        "SELECT person_a, person_b FROM not_same WHERE person_a = ? OR person_b = ?",
        (pid, pid))}
    return {"people": people, "faces": faces, "rejections": sorted(rejections),
            "not_same": sorted(not_same), "scope_faces": face_ids, "scope_people": people_ids}


def apply(con: sqlite3.Connection, target: Snapshot, other: Snapshot) -> None:
    """Write `target` back (inside the caller's transaction); `other` is the opposite side."""
    now_id = _successors(con, target, other)
    target = {**target,
              "faces": {str(now_id.get(int(k), int(k))): v for k, v in target["faces"].items()},
              "rejections": [(now_id.get(f, f), p) for f, p in target["rejections"]],
              "scope_faces": [now_id.get(f, f) for f in target["scope_faces"]],
              "people": {k: row if row is None else
                         {**row, "cover_face_id": now_id.get(row["cover_face_id"],
                                                             row["cover_face_id"])}
                         for k, row in target["people"].items()}}
    missing: set[int] = set()
    for key, row in target["people"].items():
        pid = int(key)
        exists = con.execute("SELECT 1 FROM people WHERE id = ?", (pid,)).fetchone()
        if row is None:
            if exists:
                con.execute("DELETE FROM people WHERE id = ?", (pid,))
        elif exists:
            # Logs older than schema 4 have no birth_date: it is left as it is.
            con.execute("UPDATE people SET name = ?, hidden = ?, created_at = ?, birth_date "
                        "= CASE WHEN ? THEN ? ELSE birth_date END WHERE id = ?",
                        (row["name"], row["hidden"], row["created_at"], "birth_date" in row,
                         row.get("birth_date"), pid))
        elif other["people"].get(key) is None:
            # This operation created or deleted it: bring the same id back.
            con.execute("INSERT INTO people(id, name, hidden, cover_face_id, created_at, "
                        "birth_date) VALUES (?, ?, ?, NULL, ?, ?)",
                        (pid, row["name"], row["hidden"], row["created_at"],
                         row.get("birth_date")))
        else:
            missing.add(pid)  # removed since by something else (clustering): leave it gone
    # Whether a person exists, asked once per person, not once per face (a merge's undo
    # writes back thousands of faces of one or two people).
    exists: dict[int, bool] = {}
    rows = []
    for key, (pid, by, *rest) in target["faces"].items():
        if pid is not None and pid not in exists:
            exists[pid] = pid not in missing and con.execute(
                "SELECT 1 FROM people WHERE id = ?", (pid,)).fetchone() is not None
        if pid is not None and not exists[pid]:
            pid, by = None, None
        # A face a rescan deleted simply matches no row. Logs older than the ignored flag
        # carry no third value: the flag is left as it is.
        rows.append((pid, by, rest[0] if rest else None, int(key)))
    con.executemany("UPDATE faces SET person_id = ?, assigned_by = ?, ignored = "
                    "COALESCE(?, ignored) WHERE id = ?", rows)
    in_chunks(con, "DELETE FROM rejections WHERE face_id IN ({})", target["scope_faces"])
    in_chunks(con, "DELETE FROM rejections WHERE person_id IN ({})", target["scope_people"])
    for face_id, person_id in target["rejections"]:
        con.execute("INSERT OR IGNORE INTO rejections(face_id, person_id) "
                    "SELECT ?, ? WHERE EXISTS (SELECT 1 FROM faces WHERE id = ?) "
                    "AND EXISTS (SELECT 1 FROM people WHERE id = ?)",
                    (face_id, person_id, face_id, person_id))
    if "not_same" in target:  # logs older than schema 2 have none
        con.executemany("DELETE FROM not_same WHERE person_a = ? OR person_b = ?",
                        [(pid, pid) for pid in target["scope_people"]])
        con.executemany("INSERT OR IGNORE INTO not_same(person_a, person_b, at) SELECT ?, ?, ? "
                        "WHERE EXISTS (SELECT 1 FROM people WHERE id = ?) "
                        "AND EXISTS (SELECT 1 FROM people WHERE id = ?)",
                        [(a, b, now(), a, b) for a, b in target["not_same"]])
    for key, row in target["people"].items():
        if row is not None and row["cover_face_id"] is not None:
            con.execute("UPDATE people SET cover_face_id = ? WHERE id = ? AND EXISTS "
                        "(SELECT 1 FROM faces WHERE id = ? AND person_id = ?)",
                        (row["cover_face_id"], int(key), row["cover_face_id"], int(key)))
    fix_covers(con, [int(k) for k in target["people"]])


def _successors(con: sqlite3.Connection, target: Snapshot, other: Snapshot) -> dict[int, int]:
    """Faces of the snapshot that a rescan replaced, each mapped to its successor: the one
    face of the same photo, newer (ids are never reused), outside the snapshot, in exactly
    the state the other side of the operation left the old face in, refusals included (what
    the rescan carried). A face left undecided (nobody's, no refusal) has nothing to tell
    its successor from a stranger detected beside it: it is skipped, as are faces with no
    candidate or two."""
    out: dict[int, int] = {}
    known = {int(k) for k in target["faces"]}
    refused: dict[int, set[int]] = {}
    for face_id, person_id in other["rejections"]:
        refused.setdefault(face_id, set()).add(person_id)
    present = {r[0] for r in in_chunks(con, "SELECT id FROM faces WHERE id IN ({})",
                                       sorted(known))}
    for key, value in target["faces"].items():
        left = other["faces"].get(key)
        if len(value) < 4 or left is None or int(key) in present:
            continue  # a log older than photo ids in snapshots, or the face is still there
        expected = refused.get(int(key), set())
        if left[0] is None and not left[2] and not expected:
            continue
        found = [r[0] for r in con.execute(
            "SELECT id FROM faces WHERE photo_id = ? AND id > ? AND person_id IS ? "
            "AND assigned_by IS ? AND ignored = ?",
            (value[3], int(key), left[0], left[1], left[2]))
            if r[0] not in known and r[0] not in out.values()
            and {p for (p,) in con.execute("SELECT person_id FROM rejections "
                                           "WHERE face_id = ?", (r[0],))} == expected]
        if len(found) == 1:
            out[int(key)] = found[0]
    return out


def fix_covers(con: sqlite3.Connection, person_ids=None) -> None:
    """Give every person whose cover is unset or left them their best-quality face."""
    where = ""
    params: list = []
    if person_ids is not None:
        ids = sorted({int(p) for p in person_ids if p is not None})
        if not ids:
            return
        where = f" AND id IN ({','.join('?' * len(ids))})"
        params = ids
    con.execute(f"""
        UPDATE people SET cover_face_id = (
            SELECT f.id FROM faces f WHERE f.person_id = people.id AND f.ignored = 0
            ORDER BY f.quality DESC, f.id LIMIT 1)
        WHERE (cover_face_id IS NULL OR NOT EXISTS (
            SELECT 1 FROM faces f WHERE f.id = people.cover_face_id
            AND f.person_id = people.id)){where}""", params)


def record(con: sqlite3.Connection, kind: str, description: str,
           before: Snapshot, after: Snapshot) -> None:
    """Log an operation (inside the caller's transaction); it drops the redo stack."""
    bump_edits(con)
    con.execute("DELETE FROM operations WHERE undone = 1")
    con.execute("INSERT INTO operations(at, kind, description, undo_data, redo_data, undone) "
                "VALUES (?, ?, ?, ?, ?, 0)",
                (now(), kind, description, json.dumps(before), json.dumps(after)))


def undo(con: sqlite3.Connection, expect: int | None = None) -> str | None:
    """Undo the newest operation; with `expect` (the id the user saw in "Undo …"), only if
    it is still that one: the log is shared with other processes."""
    return _step(con, undone=False, expect=expect)


def redo(con: sqlite3.Connection, expect: int | None = None) -> str | None:
    return _step(con, undone=True, expect=expect)


def _step(con: sqlite3.Connection, *, undone: bool, expect: int | None) -> str | None:
    row = con.execute(
        "SELECT id, description, undo_data, redo_data FROM operations WHERE undone = ? "
        f"ORDER BY id {'' if undone else 'DESC'} LIMIT 1", (int(undone),)).fetchone()
    verb = "redo" if undone else "undo"
    if expect is not None and (row is None or row["id"] != expect):
        news = (f"the next to {verb} is now \u201c{row['description']}\u201d: {verb} again "
                f"to {verb} it" if row else f"there is nothing left to {verb}")
        raise ChangedElsewhereError(
            f"Nothing {verb[:-1]}one: another window or the command line changed the "
            f"history; {news}.")
    if row is None:
        return None
    target, other = (row["redo_data"], row["undo_data"]) if undone else \
        (row["undo_data"], row["redo_data"])
    apply(con, json.loads(target), json.loads(other))
    bump_edits(con)
    con.execute("UPDATE operations SET undone = ? WHERE id = ?", (int(not undone), row["id"]))
    return row["description"]


def can_undo(con: sqlite3.Connection) -> bool:
    return con.execute("SELECT 1 FROM operations WHERE undone = 0 LIMIT 1").fetchone() is not None


def can_redo(con: sqlite3.Connection) -> bool:
    return con.execute("SELECT 1 FROM operations WHERE undone = 1 LIMIT 1").fetchone() is not None


def history(con: sqlite3.Connection, limit: int = 50) -> list[Operation]:
    """Most recent first, undone ones included (flagged)."""
    rows = con.execute("SELECT id, at, kind, description, undone FROM operations "
                       "ORDER BY id DESC LIMIT ?", (int(limit),))
    return [Operation(r["id"], r["at"], r["kind"], r["description"], bool(r["undone"]))
            for r in rows]
