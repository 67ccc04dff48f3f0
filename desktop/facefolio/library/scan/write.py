"""The scan's writes: one function per kind of result, run on the library's one writer
(write_queue.py), each photo in a transaction of its own (`commit_photo`).

Decisions follow images: a moved photo keeps its row (ids, faces, names, rejections); a copy
gets copies of the faces with their people and rejections; a photo analysed again (its image
changed, or the pack or detection settings did) gets its new faces matched to the old ones
(identity.match_faces) and every decision carried over: person and how it got there, ignored,
rejections, covers. What could not be carried is written to scan_notes for `status`.
"""
from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable

import numpy as np

from ...engine.formats import is_video
from ..people.ages import copy_estimates, write as write_estimates
from ..storage import store
from ..storage.errors import LibraryError
from ..storage.store import db_path, display_path
from ..storage.thumbcache import keep_scan_pictures
from .identity import FaceRef, match_faces, overlap_pairs, same_picture
from .plan import Known, Plan, Survey
from .video_scan import match_video_faces
from .results import FaceArrays, Result, ResultKind, Written  # noqa: F401 - the writer's words

log = logging.getLogger(__name__)


_FACE_COLUMNS = ("x", "y", "w", "h", "landmarks", "score", "quality", "pack", "embedding",
                 "person_id", "assigned_by", "source", "ignored", "time_ms")


def apply_plan(con: sqlite3.Connection, plan: Plan, survey: Survey, now: float) -> None:
    """Moves, missing marks, offline flags and folder states, in the caller's transaction."""
    # Out of the path index first: the missing rows (a photo moved over another one takes
    # its path: `mv -f b.jpg a.jpg`) and every moving row (rings of renames); then each
    # moving row at its new path.
    con.executemany("UPDATE photos SET missing_since = ?, offline = 0 WHERE id = ?",
                    [(now, r.id) for r in plan.missing])
    con.executemany("UPDATE photos SET missing_since = ? WHERE id = ?",
                    [(now, row.id) for row, _, _ in plan.moves])
    for row, e, fp in plan.moves:
        con.execute("UPDATE photos SET path = ?, folder_id = ?, size = ?, mtime_ns = ?, "
                    "inode = ?, fingerprint = COALESCE(?, fingerprint), offline = 0, "
                    "missing_since = NULL WHERE id = ?",
                    (db_path(e.path), e.folder_id, e.size, e.mtime_ns, e.inode, fp, row.id))
    con.executemany("UPDATE photos SET offline = 1 WHERE id = ?",
                    [(i,) for i in sorted(survey.offline_ids)])
    for row, e in survey.back_online:
        con.execute("UPDATE photos SET folder_id = ?, inode = ?, offline = 0, "
                    "missing_since = NULL WHERE id = ?", (e.folder_id, e.inode, row.id))
    for folder_id, reason in survey.offline_folders.items():
        con.execute("UPDATE folders SET offline_since = COALESCE(offline_since, ?), "
                    "scan_error = ? WHERE id = ?", (now, reason, folder_id))
    for folder_id, (error, listed) in survey.online_folders.items():
        con.execute("UPDATE folders SET offline_since = NULL, scan_error = ?, "
                    "listed_files = ? WHERE id = ?", (error, listed, folder_id))


def write_result(con: sqlite3.Connection, r: Result, analysis: str, pack: str, now: float,
                 copies: dict[str, Known] | None = None) -> Written:
    """One photo's result, inside the caller's transaction (and its savepoint)."""
    e, row = r.job.entry, r.job.row
    if r.kind is ResultKind.VANISHED:
        return Written()
    if r.kind is ResultKind.FINGERPRINT:
        con.execute("UPDATE photos SET fingerprint = ?, inode = ? WHERE id = ?",
                    (r.fingerprint, e.inode, row.id))
        return Written()
    if r.kind is ResultKind.REFRESH:
        con.execute("UPDATE photos SET size = ?, mtime_ns = ?, inode = ?, folder_id = ?, "
                    "fingerprint = ?, offline = 0, missing_since = NULL, "
                    "taken_at = CASE WHEN ? = 'exif' THEN ? ELSE taken_at END, "
                    "taken_at_source = CASE WHEN ? = 'exif' THEN 'exif' "
                    "ELSE taken_at_source END, "
                    "date_source = CASE WHEN ? = 'exif' THEN ? ELSE date_source END, "
                    "error = ? WHERE id = ?",
                    (e.size, e.mtime_ns, e.inode, e.folder_id, r.fingerprint, r.taken_source,
                     r.taken_at, r.taken_source, r.taken_source, r.date_source, r.xmp_error,
                     row.id))
        return Written(photo_id=row.id)
    if r.kind is ResultKind.KEPT:
        # The file changed but cannot be read now: keep its faces and names, say why, and
        # leave size and mtime alone so the next scan tries again.
        con.execute("UPDATE photos SET error = ?, offline = 0, missing_since = NULL "
                    "WHERE id = ?", (f"not read again: {r.error}", row.id))
        return Written()
    if r.kind is ResultKind.ERROR:
        photo_id = _photo_row(con, r, row, "error", None, pack, now)
        return Written(photo_id=photo_id)
    if r.kind is ResultKind.COPY:
        return _copy(con, r, r.job.source or copies[r.fingerprint], now)
    # 'analysed': a new photo, a retry, or a changed / re-analysed one
    old = _old_faces(con, row.id) if row is not None else []
    old_size = _size(con, row.id) if row is not None else (0, 0)
    photo_id = _photo_row(con, r, row, "done", analysis, pack, now)
    new_ids = [_insert_face(con, photo_id, face, pack, now) for face in r.faces]
    if r.estimates is not None:
        write_estimates(con, new_ids, r.estimates, now)
    notes = _carry(con, photo_id, e.path, old, new_ids, r, old_size, pack, now,
                   keep_confirmed=keeps_confirmed(con, analysis)) if old else 0
    still = {r[0] for r in store.in_chunks(con, "SELECT id FROM faces WHERE id IN ({})",
                                           [f["id"] for f in old])}
    removed = [f["id"] for f in old if f["id"] not in still]  # the index drops exactly these
    return Written(face_ids=new_ids, notes=notes, photo_id=photo_id, removed=removed)


def commit_photo(library, r: Result, analysis: str, pack: str,
                 copies: dict[str, Known]) -> Written:
    """One photo's result in a transaction of its own, on the library's writer: an edit
    queued meanwhile waits behind this one commit only. A photo that cannot be stored (even
    its name) becomes that photo's error. The loaded index takes the new faces at once when
    it was current; the names other tools wrote (XMP) are applied after the commit."""
    con = library.con
    with store.Transaction(con):
        before = store.faces_generation(con)
        written = _in_savepoint(con, lambda: write_result(con, r, analysis, pack, store.now(),
                                                          copies))
        if written is None:
            reason = "could not be stored in the library"
            kind = (ResultKind.KEPT if r.job.row is not None and r.job.row.status == "done"
                    else ResultKind.ERROR)
            stored = Result(r.job, kind, error=reason)
            written = _in_savepoint(con, lambda: write_result(con, stored, analysis, pack,
                                                              store.now())) or Written()
        after = store.faces_generation(con)
    if written.face_ids or written.removed:
        library.index_took(pack, before, after, written.removed, written.face_ids,
                           r.faces.embeddings if isinstance(r.faces, FaceArrays) else None)
    if (r.crops or r.tile) and written.photo_id is not None and r.kind is ResultKind.ANALYSED:
        _keep_pictures(library, r, written)
    if r.regions and written.photo_id is not None:
        from ..interop import xmp_library  # noqa: PLC0415 - people: own transactions
        try:
            xmp_library.import_regions(library, written.photo_id, r.regions)
        except LibraryError as exc:
            log.warning("names from XMP of photo %s not applied: %s", written.photo_id, exc)
    return written


def _keep_pictures(library, r: Result, written: Written) -> None:
    """The worker's crops and tile into the thumbnail cache, for the faces just stored. A
    cache only costs speed: a failure is logged, the app cuts them itself when shown."""
    try:
        keep_scan_pictures(library, written.photo_id, r.job.entry.path, written.face_ids,
                           r.crops, r.tile)
    except (OSError, sqlite3.Error) as exc:
        log.debug("thumbnails of photo %s not cached: %s", written.photo_id, exc)


def _in_savepoint(con, write: Callable):
    """Run one photo's writes; on any error undo just them and return None."""
    con.execute("SAVEPOINT photo")
    try:
        value = write()
    except Exception:
        log.exception("writing a scan result failed")
        con.execute("ROLLBACK TO photo")
        con.execute("RELEASE photo")
        return None
    con.execute("RELEASE photo")
    return value


def _photo_row(con, r: Result, row: Known | None, status: str, analysis: str | None,
               pack: str, now: float) -> int:
    e = r.job.entry
    # A video by its name, whatever became of it (a text file named .mp4 is a failed video).
    media = "video" if is_video(e.path) else "photo"
    values = (e.folder_id, db_path(e.path), e.size, e.mtime_ns, e.inode, r.fingerprint,
              r.width, r.height, r.taken_at, r.taken_source if r.taken_at else None,
              r.date_source if r.taken_at else None, status,
              r.error or r.xmp_error, pack, analysis, now, media, r.duration_ms)
    if row is None:
        return con.execute(
            "INSERT INTO photos(folder_id, path, size, mtime_ns, inode, fingerprint, width, "
            "height, taken_at, taken_at_source, date_source, status, error, pack, analysis, "
            "scanned_at, media, duration_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            values).lastrowid
    con.execute(
        "UPDATE photos SET folder_id = ?, path = ?, size = ?, mtime_ns = ?, inode = ?, "
        "fingerprint = ?, width = ?, height = ?, taken_at = ?, taken_at_source = ?, "
        "date_source = ?, "
        "status = ?, error = ?, pack = ?, analysis = ?, scanned_at = ?, media = ?, "
        "duration_ms = ?, offline = 0, missing_since = NULL WHERE id = ?", (*values, row.id))
    return row.id


def _insert_face(con, photo_id: int, face, pack: str, now: float) -> int:
    x, y, w, h = (float(v) for v in face.box)
    return con.execute(
        "INSERT INTO faces(photo_id, x, y, w, h, landmarks, score, quality, pack, embedding, "
        "time_ms, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (photo_id, x, y, w, h, np.asarray(face.landmarks, np.float32).tobytes(),
         float(face.score), float(face.quality), pack,
         np.asarray(face.embedding, np.float32).tobytes(), face.time_ms, now)).lastrowid


def _old_faces(con, photo_id: int) -> list[sqlite3.Row]:
    return con.execute("SELECT id, x, y, w, h, pack, embedding, person_id, assigned_by, "
                       "ignored, source, time_ms FROM faces WHERE photo_id = ? ORDER BY id",
                       (photo_id,)).fetchall()


def _size(con, photo_id: int) -> tuple[int, int]:
    row = con.execute("SELECT width, height FROM photos WHERE id = ?", (photo_id,)).fetchone()
    return (row[0] or 0, row[1] or 0) if row else (0, 0)


DROP_UNFOUND_KEY = "drop_unfound_analysis"


def keeps_confirmed(con, analysis: str) -> bool:
    """Whether a re-analysis into `analysis` keeps the confirmed faces it does not find: yes,
    unless the user agreed to let exactly that setting drop them (Library.agree_to_drop)."""
    row = con.execute("SELECT value FROM meta WHERE key = ?", (DROP_UNFOUND_KEY,)).fetchone()
    return row is None or row[0] != analysis


def _carry(con, photo_id: int, path: str, old: list[sqlite3.Row], new_ids: list[int],
           r: Result, old_size: tuple[int, int], pack: str, now: float,
           keep_confirmed: bool = True) -> int:
    """Move every decision from the old faces to the matching new ones; the old detector
    faces go (a face the user drew stays). Returns the number of notes written.

    When the picture itself did not change (only the pack or a detection setting did), a
    decided face the new analysis does not find is still in the photo: it stays, with its
    decision, so the next analysis that finds it again (the setting put back) carries it. A
    "Not a face" always stays; names, "not this person" and covers stay unless the user
    agreed to let this setting drop them."""
    detected = [f for f in old if f["source"] != "user"]
    # Embeddings of another pack are not comparable: boxes alone decide then.
    old_refs = [FaceRef((f["x"], f["y"], f["w"], f["h"]),
                        np.frombuffer(f["embedding"], np.float32) if f["pack"] == pack
                        else None) for f in detected]
    new_refs = [FaceRef(tuple(float(v) for v in face.box), np.asarray(face.embedding))
                for face in r.faces]
    old_print = r.job.row.fingerprint if r.job.row is not None else None
    if any(ref.embedding is None for ref in old_refs) or \
            same_picture(old_print, r.fingerprint):
        # Another pack, or the very same pixels under another orientation tag: the geometry
        # is exact, and a face turned on its side embeds poorly, so boxes alone decide.
        new_refs = [FaceRef(ref.box, None) for ref in new_refs]
        old_refs = [FaceRef(ref.box, None) for ref in old_refs]
    if is_video(path):  # each face from its own frame: the recogniser pairs them
        pairs = match_video_faces(detected, list(r.faces), pack)
    else:
        pairs = match_faces(old_refs, new_refs, old_size, (r.width or 0, r.height or 0))
    rejected = _rejections(con, [f["id"] for f in detected])
    same_image = old_print is not None and old_print == r.fingerprint
    if same_image and not is_video(path):  # the same pixels: a box another detector drew
        # its own way still counts
        pairs.update(overlap_pairs([ref.box for ref in old_refs],
                                   [ref.box for ref in new_refs], pairs))
    kept: set[int] = set()
    notes = 0
    for i, f in enumerate(detected):
        j = pairs.get(i)
        decided = (f["assigned_by"] in ("user", "suggestion") or f["ignored"]
                   or rejected.get(f["id"]) or _is_cover(con, f["id"]))
        if j is None:
            if decided and same_image and (f["ignored"] or keep_confirmed):
                kept.add(f["id"])
                continue
            if decided:
                notes += _note(con, path, now, _lost(con, f, rejected.get(f["id"], [])))
            continue
        new_id = new_ids[j]
        con.execute("UPDATE faces SET person_id = ?, assigned_by = ?, ignored = ? "
                    "WHERE id = ?", (f["person_id"], f["assigned_by"], f["ignored"], new_id))
        con.executemany("INSERT OR IGNORE INTO rejections(face_id, person_id) VALUES (?, ?)",
                        [(new_id, p) for p in rejected.get(f["id"], [])])
        con.execute("UPDATE people SET cover_face_id = ? WHERE cover_face_id = ?",
                    (new_id, f["id"]))
    con.executemany("DELETE FROM faces WHERE id = ?",
                    [(f["id"],) for f in detected if f["id"] not in kept])
    return notes


def _rejections(con, face_ids: list[int]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for face_id, person_id in store.in_chunks(
            con, "SELECT face_id, person_id FROM rejections WHERE face_id IN ({})", face_ids):
        out.setdefault(face_id, []).append(person_id)
    return out


def _is_cover(con, face_id: int) -> bool:
    return con.execute("SELECT 1 FROM people WHERE cover_face_id = ?",
                       (face_id,)).fetchone() is not None


def _lost(con, face: sqlite3.Row, rejected: list[int]) -> str:
    what = []
    if face["person_id"] is not None and face["assigned_by"] in ("user", "suggestion"):
        what.append(f"named {_person_label(con, face['person_id'])}")
    if rejected:
        what.append("not " + ", ".join(_person_label(con, p) for p in rejected))
    if face["ignored"]:
        what.append("ignored")
    box = ", ".join(f"{v:.0f}" for v in (face["x"], face["y"], face["w"], face["h"]))
    return (f"the image changed and the face at ({box}) was not found again; "
            f"not carried over: {'; '.join(what) or 'cover face'}")


def _person_label(con, person_id: int) -> str:
    row = con.execute("SELECT name FROM people WHERE id = ?", (person_id,)).fetchone()
    return repr(row[0]) if row and row[0] else f"person {person_id}"


def _note(con, path: str, now: float, note: str) -> int:
    con.execute("INSERT INTO scan_notes(at, path, note) VALUES (?, ?, ?)",
                (now, display_path(path), note))
    return 1


def _copy(con, r: Result, source: Known, now: float) -> Written:
    """A new path holding an image the library has: same faces, people and rejections."""
    e = r.job.entry
    src = con.execute("SELECT * FROM photos WHERE id = ?", (source.id,)).fetchone()
    photo_id = con.execute(
        "INSERT INTO photos(folder_id, path, size, mtime_ns, inode, fingerprint, width, "
        "height, taken_at, taken_at_source, date_source, status, error, pack, analysis, "
        "scanned_at, media, duration_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,'done',NULL,?,?,?,?,?)",
        (e.folder_id, db_path(e.path), e.size, e.mtime_ns, e.inode,
         r.fingerprint or src["fingerprint"], src["width"], src["height"], src["taken_at"],
         src["taken_at_source"], src["date_source"], src["pack"], src["analysis"],
         now, src["media"], src["duration_ms"])).lastrowid
    cols = ", ".join(_FACE_COLUMNS)
    new_ids = []
    for face in con.execute(f"SELECT id, {cols} FROM faces WHERE photo_id = ? ORDER BY id",
                            (source.id,)).fetchall():
        new_id = con.execute(
            f"INSERT INTO faces(photo_id, {cols}, created_at) VALUES "
            f"(?, {', '.join('?' * len(_FACE_COLUMNS))}, ?)",
            (photo_id, *[face[c] for c in _FACE_COLUMNS], now)).lastrowid
        con.execute("INSERT INTO rejections(face_id, person_id) SELECT ?, person_id "
                    "FROM rejections WHERE face_id = ?", (new_id, face["id"]))
        copy_estimates(con, face["id"], new_id)
        new_ids.append(new_id)
    return Written(face_ids=new_ids, photo_id=photo_id)
