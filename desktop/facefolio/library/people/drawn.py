"""A face the user draws: a box on a photo where the detector found nothing (or a better box
for a face it found). The face engine aligns and embeds the box (`FaceEngine.embed_box`), and
the face is stored like any other, with `source = 'user'`: rescans keep it, and it is named,
searched, suggested and grouped like a detected face.

Two steps, so the slow one runs off the writer: `embed_drawn_face` (decode + models: a read
task) then `add_drawn_face` / `replace_face` (one short write, logged for undo in the same
transaction through oplog, like every People change).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..library import Library
from ..storage import store
from ..storage.errors import LibraryError
from ..storage.records import Box
from ..storage.store import Transaction
from . import undo as oplog

MIN_SIDE = 12.0  # original pixels: smaller boxes hold too little face to recognise


@dataclass(frozen=True)
class DrawnFace:
    photo_id: int
    box: Box  # original-image pixels, inside the photo
    landmarks: np.ndarray  # 5x2 float32
    score: float
    quality: float
    pack: str
    embedding: np.ndarray  # float32, L2-normalised
    time_ms: float | None = None  # drawn on a video's frame: that frame's time


def clip_box(box: Box, width: float, height: float) -> Box:
    """The part of `box` inside a width x height photo; refused when too small to be a face."""
    x, y, w, h = (float(v) for v in box)
    x0, y0 = max(0.0, min(x, x + w)), max(0.0, min(y, y + h))
    x1, y1 = min(float(width), max(x, x + w)), min(float(height), max(y, y + h))
    if x1 - x0 < MIN_SIDE or y1 - y0 < MIN_SIDE:
        raise LibraryError(f"the box is too small for a face: draw at least {MIN_SIDE:g} "
                           "pixels of the photo each way")
    return x0, y0, x1 - x0, y1 - y0


def embed_drawn_face(library: Library, photo_id: int, box: Box, engine=None,
                     time_ms: float | None = None) -> DrawnFace:
    """Align and embed the face in `box` of a library photo (of a video: of its frame at
    `time_ms`, the one the viewer shows), with the library's pack."""
    from ...engine import ImageError, get_engine, load_still  # noqa: PLC0415 - heavy
    photo = library.photo(photo_id)
    time_ms = (time_ms or 0.0) if photo.is_video else None
    try:
        image = load_still(photo.path, time_ms)
    except ImageError as exc:
        raise LibraryError(f"cannot read {store.display_path(photo.path)}: {exc}") from exc
    clipped = clip_box(box, image.width, image.height)
    s = library.settings
    engine = engine or get_engine(s.pack, det_threshold=s.det_threshold, min_face=s.min_face)
    face = engine.embed_box(image, clipped)
    return DrawnFace(photo_id, clipped, np.asarray(face.landmarks, np.float32),
                     float(face.score), float(face.quality), s.pack,
                     np.asarray(face.embedding, np.float32), time_ms)


def _insert(con, drawn: DrawnFace) -> int:
    """The face row, set aside (ignored) until the caller's logged change shows it."""
    if con.execute("SELECT 1 FROM photos WHERE id = ?", (drawn.photo_id,)).fetchone() is None:
        raise LibraryError("the photo left the library while the face was being added")
    x, y, w, h = drawn.box
    return con.execute("""
        INSERT INTO faces(photo_id, x, y, w, h, landmarks, score, quality, pack, embedding,
                          person_id, assigned_by, created_at, source, ignored, time_ms)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?, 'user', 1, ?)""",
        (drawn.photo_id, x, y, w, h, drawn.landmarks.astype(np.float32).tobytes(),
         drawn.score, drawn.quality, drawn.pack,
         drawn.embedding.astype(np.float32).tobytes(), store.now(), drawn.time_ms)).lastrowid


def _photo_name(con, photo_id: int) -> str:
    row = con.execute("SELECT path FROM photos WHERE id = ?", (photo_id,)).fetchone()
    return os.path.basename(store.display_path(store.fs_path(row[0]))) if row else "a photo"


def add_drawn_face(library: Library, drawn: DrawnFace) -> int:
    """Store the face (unknown, like a new detection) and log its creation, in one
    transaction. Undo sets it aside (`ignored`, hidden everywhere) and redo shows it again:
    the row stays, so the face keeps its id and any name given to it meanwhile."""
    con = library.con
    with Transaction(con):
        face_id = _insert(con, drawn)
        before = oplog.snapshot(con, [], [face_id])
        con.execute("UPDATE faces SET ignored = 0 WHERE id = ?", (face_id,))
        after = oplog.snapshot(con, [], [face_id])
        oplog.record(con, "draw", f"Add a face in {_photo_name(con, drawn.photo_id)}",
                     before, after)
    library.sync_indexes(removed=False)
    return face_id


def replace_face(library: Library, old_face_id: int, drawn: DrawnFace) -> int:
    """A better box for a face: the new face takes the old one's person, its "not this
    person" answers and its place as a cover; the old face is set aside. One logged change,
    so one undo puts the old box back. Returns the new face's id."""
    con = library.con
    with Transaction(con):
        old = library.face(old_face_id)  # under the write lock: its person as it is now
        face_id = _insert(con, drawn)
        people = [old.person_id] if old.person_id is not None else []
        before = oplog.snapshot(con, people, [old_face_id, face_id])
        by = "user" if old.person_id is not None else None
        con.execute("UPDATE faces SET ignored = 0, person_id = ?, assigned_by = ? WHERE id = ?",
                    (old.person_id, by, face_id))
        con.execute("UPDATE faces SET ignored = 1, person_id = NULL, assigned_by = NULL "
                    "WHERE id = ?", (old_face_id,))
        con.execute("INSERT OR IGNORE INTO rejections(face_id, person_id) SELECT ?, person_id "
                    "FROM rejections WHERE face_id = ?", (face_id, old_face_id))
        con.execute("UPDATE people SET cover_face_id = ? WHERE cover_face_id = ?",
                    (face_id, old_face_id))
        oplog.fix_covers(con, people)
        after = oplog.snapshot(con, people, [old_face_id, face_id])
        oplog.record(con, "redraw", f"Move a face box in {_photo_name(con, drawn.photo_id)}",
                     before, after)
    library.sync_indexes(removed=False)
    return face_id
