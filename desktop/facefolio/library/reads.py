"""What a `Library` reads: photos, faces, people and counts, as plain records (records.py),
never live cursors. The writes are the scan's (scan/write.py) and the people operations'
(people/people.py), through the one writer."""
from __future__ import annotations

import os
from pathlib import Path
import sqlite3

import numpy as np

from .storage import store
from .storage.errors import NotFoundError
from .storage.records import (
    AssignedBy,
    FaceRecord,
    PersonRecord,
    PhotoRecord,
    PhotoStatus,
)

_FACE_SELECT = """
    SELECT f.id, f.photo_id, p.path AS photo_path, f.x, f.y, f.w, f.h, f.score, f.quality,
           f.pack, f.person_id, pe.name AS person_name, f.assigned_by, f.source, f.ignored,
           f.time_ms, p.media
    FROM faces f JOIN photos p ON p.id = f.photo_id
    LEFT JOIN people pe ON pe.id = f.person_id
"""


def face_record(row: sqlite3.Row) -> FaceRecord:
    return FaceRecord(
        id=row["id"], photo_id=row["photo_id"], photo_path=store.fs_path(row["photo_path"]),
        box=(row["x"], row["y"], row["w"], row["h"]), score=row["score"],
        quality=row["quality"], pack=row["pack"], person_id=row["person_id"],
        person_name=row["person_name"],
        assigned_by=AssignedBy(row["assigned_by"]) if row["assigned_by"] else None,
        source=row["source"],
        ignored=bool(row["ignored"]), time_ms=row["time_ms"], in_video=row["media"] == "video")


def gone_photos_where(alias: str = "") -> str:
    """SQL condition of photos whose file is gone from a folder that was read: what
    "Remove missing photos" counts and removes (never an offline one)."""
    return f"{alias}missing_since IS NOT NULL AND {alias}offline = 0"


def _unread(stored: str | None) -> dict[str, int]:
    """folders.unread_files: {'.psd': 10, ...}; {} before the first scan that counted."""
    import json  # noqa: PLC0415

    try:
        value = json.loads(stored) if stored else {}
    except ValueError:
        return {}
    return {str(k): int(v) for k, v in value.items()} if isinstance(value, dict) else {}


class LibraryReads:
    """The read side of `Library` (library.py), by subject: photos and faces, people, counts."""

    # -- photos and faces ------------------------------------------------------------------
    def photo(self, photo_id: int) -> PhotoRecord:
        rows = self._photos("WHERE ph.id = ?", (photo_id,))
        if not rows:
            raise NotFoundError(f"no photo with id {photo_id}")
        return rows[0]

    def photo_by_path(self, path: str | os.PathLike) -> PhotoRecord | None:
        """The photo at this path (the present one, when a missing photo shares the path)."""
        rows = self._photos("WHERE ph.path = ? ORDER BY ph.missing_since IS NOT NULL",
                            (store.db_path(Path(path).absolute()),))
        return rows[0] if rows else None

    def scan_notes(self, limit: int = 200) -> list[tuple[float, str, str]]:
        """(time, path, note) of decisions a scan could not carry over, newest first."""
        return [(r[0], r[1], r[2]) for r in self.con.execute(
            "SELECT at, path, note FROM scan_notes ORDER BY id DESC LIMIT ?", (int(limit),))]

    def photos(self, folder_id: int | None = None, *, status: PhotoStatus | None = None
               ) -> list[PhotoRecord]:
        clauses, params = [], []
        if folder_id is not None:
            clauses.append("ph.folder_id = ?")
            params.append(folder_id)
        if status is not None:
            clauses.append("ph.status = ?")
            params.append(status)
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        return self._photos(where + " ORDER BY ph.path", tuple(params))

    def _photos(self, where: str, params: tuple) -> list[PhotoRecord]:
        rows = self.con.execute(f"""
            SELECT ph.*, (SELECT COUNT(*) FROM faces f WHERE f.photo_id = ph.id
                          AND f.ignored = 0) AS face_count
            FROM photos ph {where}""", params).fetchall()
        return [PhotoRecord(
            id=r["id"], folder_id=r["folder_id"], path=store.fs_path(r["path"]),
            width=r["width"], height=r["height"], taken_at=r["taken_at"],
            status=PhotoStatus(r["status"]), error=r["error"], face_count=r["face_count"],
            offline=bool(r["offline"]), missing=r["missing_since"] is not None,
            taken_at_source=r["taken_at_source"], media=r["media"],
            duration_ms=r["duration_ms"]) for r in rows]

    def failed_photos(self) -> list[PhotoRecord]:
        return self.photos(status="error")

    def photo_warnings(self) -> list[PhotoRecord]:
        """Photos scanned fine that still have a problem to report (an unreadable XMP)."""
        return self._photos("WHERE ph.status = 'done' AND ph.error IS NOT NULL "
                            "ORDER BY ph.path", ())

    def has_face(self, face_id: int) -> bool:
        return self.con.execute("SELECT 1 FROM faces WHERE id = ?", (face_id,)).fetchone() \
            is not None

    def has_photo(self, photo_id: int) -> bool:
        return self.con.execute("SELECT 1 FROM photos WHERE id = ?", (photo_id,)).fetchone() \
            is not None

    def face(self, face_id: int) -> FaceRecord:
        row = self.con.execute(_FACE_SELECT + " WHERE f.id = ?", (face_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no face with id {face_id}")
        return face_record(row)

    def faces(self, *, photo_id: int | None = None, person_id: int | None = None,
              unassigned: bool = False, limit: int | None = None) -> list[FaceRecord]:
        clauses, params = [], []
        if photo_id is not None:
            clauses.append("f.photo_id = ?")
            params.append(photo_id)
        if person_id is not None:
            clauses.append("f.person_id = ?")
            params.append(person_id)
        if unassigned:
            clauses.append("f.person_id IS NULL")
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        tail = f" LIMIT {int(limit)}" if limit else ""
        rows = self.con.execute(_FACE_SELECT + where + " ORDER BY f.id" + tail, params)
        return [face_record(r) for r in rows]

    def faces_by_ids(self, face_ids: list[int]) -> dict[int, FaceRecord]:
        rows = store.in_chunks(self.con, _FACE_SELECT + " WHERE f.id IN ({})", face_ids)
        return {row["id"]: face_record(row) for row in rows}

    def landmarks(self, face_id: int) -> np.ndarray:
        row = self.con.execute("SELECT landmarks FROM faces WHERE id = ?", (face_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no face with id {face_id}")
        return np.frombuffer(row[0], dtype=np.float32).reshape(5, 2)

    def embedding(self, face_id: int) -> tuple[str, np.ndarray]:
        """(pack, embedding) of one face."""
        row = self.con.execute("SELECT pack, embedding FROM faces WHERE id = ?",
                               (face_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no face with id {face_id}")
        return row[0], np.frombuffer(row[1], dtype=np.float32)

    def embeddings(self, face_ids: list[int] | None = None, *, pack: str | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
        """(ids, matrix) of the given faces, or of every face of one pack."""
        pack = pack or self.settings.pack
        if face_ids is None:
            rows = self.con.execute("SELECT id, embedding FROM faces WHERE pack = ? ORDER BY id",
                                    (pack,)).fetchall()
        else:
            rows = store.in_chunks(
                self.con, "SELECT id, embedding FROM faces WHERE id IN ({}) AND pack = ?",
                face_ids, pack)
        if not rows:
            return np.empty(0, np.int64), np.empty((0, 0), np.float32)
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        return ids, np.vstack([np.frombuffer(r[1], dtype=np.float32) for r in rows])

    def packs_in_use(self) -> list[str]:
        return [r[0] for r in self.con.execute("SELECT DISTINCT pack FROM faces")]

    # -- people (read side; the people module changes them) -------------------------------
    def person(self, person_id: int) -> PersonRecord:
        rows = self._people("WHERE pe.id = ?", (person_id,))
        if not rows:
            raise NotFoundError(f"no person with id {person_id}")
        return rows[0]

    def people(self, *, include_hidden: bool = True) -> list[PersonRecord]:
        where = "" if include_hidden else "WHERE pe.hidden = 0"
        return self._people(where, ())

    def _people(self, where: str, params: tuple) -> list[PersonRecord]:
        rows = self.con.execute(f"""
            SELECT pe.*, (SELECT COUNT(*) FROM faces f WHERE f.person_id = pe.id) AS face_count
            FROM people pe {where}
            ORDER BY pe.name IS NULL, lower(pe.name), face_count DESC, pe.id""", params)
        return [PersonRecord(id=r["id"], name=r["name"], hidden=bool(r["hidden"]),
                             cover_face_id=r["cover_face_id"], face_count=r["face_count"],
                             birth_date=r["birth_date"])
                for r in rows]

    # -- status and export -----------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        one = lambda sql: self.con.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "folders": one("SELECT COUNT(*) FROM folders"),
            # Videos apart: a "photo" is a still (issue 22); failed files count both.
            "photos": one("SELECT COUNT(*) FROM photos WHERE status = 'done' "
                          "AND media = 'photo'"),
            "videos": one("SELECT COUNT(*) FROM photos WHERE status = 'done' "
                          "AND media = 'video'"),
            "video_faces": one("SELECT COUNT(*) FROM faces f JOIN photos p ON p.id = "
                               "f.photo_id WHERE p.media = 'video'"),
            "failed_videos": one("SELECT COUNT(*) FROM photos WHERE status = 'error' "
                                 "AND media = 'video'"),
            "failed": one("SELECT COUNT(*) FROM photos WHERE status = 'error'"),
            "faces": one("SELECT COUNT(*) FROM faces"),
            "people": one("SELECT COUNT(*) FROM people"),
            "named_people": one("SELECT COUNT(*) FROM people WHERE name IS NOT NULL"),
            "unassigned_faces": one("SELECT COUNT(*) FROM faces WHERE person_id IS NULL "
                                    "AND ignored = 0"),
            "offline_photos": one("SELECT COUNT(*) FROM photos WHERE offline = 1"),
            "missing_photos": one("SELECT COUNT(*) FROM photos WHERE missing_since IS NOT NULL"),
            "pending_photos": self.con.execute(
                "SELECT COUNT(*) FROM photos WHERE status = 'done' AND (analysis IS NULL OR "
                "analysis != ?)", (self.analysis_key(),)).fetchone()[0],
        }

    def export_faces(self) -> list[dict]:
        """Every face; with its photo's date and the source of that date (engine/dates.py:
        'EXIF DateTimeOriginal', 'XMP xmp:CreateDate (sidecar IMG.xmp)', 'file time'...),
        and its estimated `age` and `gender`, each with the model that made it (None: not
        estimated, or estimates are off: people/ages.py)."""
        from .people import ages  # noqa: PLC0415
        rows = self.con.execute(
            _FACE_SELECT.replace("p.path AS photo_path,",
                                 "p.path AS photo_path, p.taken_at, p.date_source,")
            + " ORDER BY f.id").fetchall()
        shown = ages.estimates(self.con, [r["id"] for r in rows]) \
            if ages.enabled(self.settings) else {}
        none = {"age": None, "gender": None}
        return [{"face_id": r["id"], "photo": store.fs_path(r["photo_path"]),
                 "box": [r["x"], r["y"], r["w"], r["h"]], "score": r["score"],
                 "person_id": r["person_id"], "person_name": r["person_name"],
                 "taken_at": r["taken_at"], "date_source": r["date_source"],
                 # A face of a video: from which one, at what time (its best frame).
                 "video": r["media"] == "video",
                 "time_s": None if r["media"] != "video" else round((r["time_ms"] or 0) / 1000, 3),
                 **(shown[r["id"]].to_json() if r["id"] in shown else none)} for r in rows]
