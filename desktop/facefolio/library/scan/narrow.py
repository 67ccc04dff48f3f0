"""A stricter detection setting applied without reading a photo again.

A photo analysed under the same pack with a lower detection threshold (or a smaller minimum
face) holds every face the stricter setting would find: the detector's non-maximum
suppression is greedy by score, so the faces at or above a threshold are exactly those a pass
at that threshold keeps (`FaceEngine.first_passes`), and the minimum size is a filter on the
boxes stored. Such a photo is *narrowed*: its detected faces under the new floor go, in the
writer's transaction, and its analysis key becomes the new one. No file is opened, so this
works for photos on a drive that is unplugged too.

Decisions stay as a re-analysis keeps them (write._carry on the same image): a face the user
named, confirmed, marked "not this person" or "not a face", or chose as a cover stays with
its decision; names, rejections and covers go only if the user agreed to let exactly this
setting drop them (`Library.agree_to_drop`), and each one that goes is written to scan_notes.
A face the user drew is never touched.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from ..storage import store
from .write import _note, _person_label, keeps_confirmed


@dataclass(frozen=True)
class Narrowed:
    photos: int = 0
    faces: int = 0  # faces that went
    notes: int = 0  # decided faces that went, the user having agreed


def floors(old_key: str | None, new_key: str) -> tuple[float, int] | None:
    """(threshold, minimum face) to narrow photos analysed under `old_key` into `new_key`, or
    None when they must be analysed again (another pack, a lower floor) or need nothing."""
    if not old_key or old_key == new_key:
        return None
    old, new = _parse(old_key), _parse(new_key)
    if old is None or new is None or old[0] != new[0]:
        return None
    if new[1] < old[1] or new[2] < old[2]:
        return None
    return new[1], new[2]


def _parse(key: str) -> tuple[str, float, int] | None:
    pack, sep, rest = key.rpartition("|")
    pack, sep2, thr = pack.rpartition("|")
    if not sep or not sep2:
        return None
    try:
        return pack, float(thr), int(rest)
    except ValueError:
        return None


def narrowable(con: sqlite3.Connection, key: str) -> list[str]:
    """The analysis keys of photos that can be narrowed into `key`."""
    return [old for (old,) in con.execute(
        "SELECT DISTINCT analysis FROM photos WHERE status = 'done' AND analysis IS NOT NULL "
        "AND analysis != ?", (key,)) if floors(old, key) is not None]


# The detected faces of photos analysed under one key (?) that are under a floor (?, ?), and
# whether the user decided about each: what `narrow` drops and `going` counts.
_UNDER_FLOOR = """
    FROM faces f JOIN photos p ON p.id = f.photo_id
    WHERE p.status = 'done' AND p.analysis = ? AND f.source != 'user'
      AND (f.score < ? OR MIN(f.w, f.h) < ?)"""
_CONFIRMED = """(COALESCE(f.assigned_by, '') IN ('user', 'suggestion')
    OR EXISTS (SELECT 1 FROM rejections r WHERE r.face_id = f.id)
    OR EXISTS (SELECT 1 FROM people pe WHERE pe.cover_face_id = f.id))"""


def going(con: sqlite3.Connection, key: str) -> tuple[int, int]:
    """(faces, photos) that narrowing into `key` removes when the user keeps their decided
    faces (the default): detected, undecided faces under the new floor. Said before saving."""
    faces = photos = 0
    for old in narrowable(con, key):
        n, m = con.execute(
            f"SELECT COUNT(*), COUNT(DISTINCT f.photo_id) {_UNDER_FLOOR} AND f.ignored = 0 "
            f"AND NOT {_CONFIRMED}", (old, *floors(old, key))).fetchone()
        faces, photos = faces + n, photos + m
    return faces, photos


def narrow(con: sqlite3.Connection, key: str) -> Narrowed:
    """Narrow every analysed photo whose key allows it into `key`, in the caller's
    transaction."""
    olds = narrowable(con, key)
    keep_confirmed = keeps_confirmed(con, key)
    photos = faces = notes = 0
    now = store.now()
    for old in olds:
        threshold, min_face = floors(old, key)
        rows = con.execute(
            "SELECT f.id, f.x, f.y, f.w, f.h, f.person_id, f.assigned_by, f.ignored, p.path, "
            f"{_CONFIRMED} AS confirmed {_UNDER_FLOOR}", (old, threshold, min_face)).fetchall()
        gone = []
        for r in rows:
            if r["ignored"] or (r["confirmed"] and keep_confirmed):
                continue
            if r["confirmed"]:
                rejected = [p for (p,) in con.execute(
                    "SELECT person_id FROM rejections WHERE face_id = ?", (r["id"],))]
                notes += _note(con, store.fs_path(r["path"]), now,
                               _dropped(con, r, threshold, rejected))
            gone.append(r["id"])
        store.in_chunks(con, "DELETE FROM faces WHERE id IN ({})", gone)
        faces += len(gone)
        photos += con.execute("UPDATE photos SET analysis = ? WHERE status = 'done' AND "
                              "analysis = ?", (key, old)).rowcount
    return Narrowed(photos, faces, notes)


def _dropped(con, face: sqlite3.Row, threshold: float, rejected: list[int]) -> str:
    what = []
    if face["person_id"] is not None and face["assigned_by"] in ("user", "suggestion"):
        what.append(f"named {_person_label(con, face['person_id'])}")
    if rejected:
        what.append("not " + ", ".join(_person_label(con, p) for p in rejected))
    box = ", ".join(f"{v:.0f}" for v in (face["x"], face["y"], face["w"], face["h"]))
    return (f"the face at ({box}) is under the new detection setting (threshold "
            f"{threshold:g}) and was dropped as agreed; not kept: "
            f"{'; '.join(what) or 'cover face'}")
