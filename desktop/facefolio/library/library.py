"""`Library`: one folder of the user's face data, and everything a caller may ask of it.

A Library object wraps one SQLite connection and so belongs to the thread that opened it;
open another (cheap) in each worker thread. The hnswlib indexes are shared by every Library of
the same folder in this process (see `_INDEXES`), guarded by their own locks; only the
library's writer (write_queue.py) changes them while one runs.
"""
from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import threading
from pathlib import Path

import numpy as np
import platformdirs

from .storage import privacy
from .storage import store
from .storage import write_queue
from .storage.index import FaceIndex, catch_up, index_path, open_index
from .storage.records import (
    AssignedBy,
    FaceRecord,
    FolderRecord,
    PersonRecord,
    PhotoRecord,
    PhotoStatus,
    SearchResult,
)
from .storage.settings import Settings
from .upkeep.check import damage_note
from .storage.store import LibraryError, NotFoundError, Transaction
from .storage.thumbcache import claim_thumbnails, prune_thumbnails

ENV_LIBRARY = "FACEFOLIO_LIBRARY"
log = logging.getLogger(__name__)

_INDEXES: dict[tuple[str, str], FaceIndex] = {}
_INDEXES_LOCK = threading.Lock()

_FACE_SELECT = """
    SELECT f.id, f.photo_id, p.path AS photo_path, f.x, f.y, f.w, f.h, f.score, f.quality,
           f.pack, f.person_id, pe.name AS person_name, f.assigned_by, f.source, f.ignored
    FROM faces f JOIN photos p ON p.id = f.photo_id
    LEFT JOIN people pe ON pe.id = f.person_id
"""


def default_library_dir() -> Path:
    env = os.environ.get(ENV_LIBRARY)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("Facefolio", appauthor=False)) / "library"


def disk_full(folder: Path) -> str | None:
    """"N KB free" when the disk holding `folder` is (nearly) full, else None."""
    from .storage.failures import human_bytes  # noqa: PLC0415

    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return None
    return f"{human_bytes(free)} free" if free < _FULL_BELOW else None


_FULL_BELOW = 256 << 10  # bytes: less than this free and SQLite cannot work


def _writable(folder: Path, db: Path) -> bool:
    """Whether this process may write the library (os.access knows read-only mounts)."""
    if not folder.exists():
        return True  # made below, or refused with the reason
    return os.access(folder, os.W_OK) and (not db.exists() or os.access(db, os.W_OK))


def forget_cached_indexes(library_path: Path) -> None:
    """Drop this process's in-memory indexes of a library (after "forget")."""
    with _INDEXES_LOCK:
        for key in [k for k in _INDEXES if k[0] == str(library_path)]:
            del _INDEXES[key]


def face_record(row: sqlite3.Row) -> FaceRecord:
    return FaceRecord(
        id=row["id"], photo_id=row["photo_id"], photo_path=store.fs_path(row["photo_path"]),
        box=(row["x"], row["y"], row["w"], row["h"]), score=row["score"],
        quality=row["quality"], pack=row["pack"], person_id=row["person_id"],
        person_name=row["person_name"],
        assigned_by=AssignedBy(row["assigned_by"]) if row["assigned_by"] else None,
        source=row["source"],
        ignored=bool(row["ignored"]))


def gone_photos_where(alias: str = "") -> str:
    """SQL condition of photos whose file is gone from a folder that was read: what
    "Remove missing photos" counts and removes (never an offline one)."""
    return f"{alias}missing_since IS NOT NULL AND {alias}offline = 0"


class Library:
    """The user's library folder: database, settings, derived index and thumbnails."""

    def __init__(self, path: str | os.PathLike | None = None, *, create: bool = True,
                 readonly: bool | None = None) -> None:
        self.path = Path(path).expanduser().absolute() if path else default_library_dir()
        if self.path.exists() and not self.path.is_dir():
            raise LibraryError(f"library path {store.display_path(self.path)} is a file, "
                               "not a folder")
        db = self.path / store.DB_NAME
        if db.is_symlink():  # SQLite would follow it, and put its WAL beside the target
            raise LibraryError(f"{store.display_path(db)} is a link (to "
                               f"{store.display_path(os.readlink(db))}): Facefolio never "
                               "follows links inside the library; move the database file "
                               "itself into the folder")
        # Why nothing may be written (a read-only disk, a damaged database), or None. Edits
        # then fail with this reason (cli.py, the app); reading, searching, exports work.
        self.damaged = damage_note(self.path)
        if readonly is None:
            readonly = bool(self.damaged) or not _writable(self.path, db)
        self.readonly = readonly
        self.readonly_reason = (
            None if not readonly else
            f"its database is damaged ({self.damaged}): run 'facefolio check --repair'"
            if self.damaged else "its folder cannot be written (a read-only disk, or "
            "permissions)")
        created = not db.exists() or db.stat().st_size == 0
        self.con = self._connect(db, create)
        readonly = self.readonly
        try:
            self.library_id = store.library_id(self.con)
            self.settings = Settings.load(self.path)
            self.epoch = store.epoch(self.con)
            # Problems with the folder itself, one line each (status and the app show them).
            self.problems: list[str] = list(self.settings.warnings)
            self.permission_problems: list[str] = []
            if not readonly:
                if store.forget_pending(self.con):  # a "forget" was cut short: finish it first
                    self._finish_forget()
                self.problems += claim_thumbnails(self, created)
                if create:
                    self._adopt_old_photos()
                # Libraries made before files were private (or copied in with a loose umask).
                self.permission_problems = privacy.tighten(self.path)
            else:
                self.problems.append(f"the library is open read-only: "
                                     f"{self.readonly_reason}")
        except BaseException:
            self.con.close()
            raise

    def _connect(self, db: Path, create: bool) -> sqlite3.Connection:
        made = False  # this call made the (empty) database file: SQLite may fill it
        if create and not self.readonly:
            try:
                privacy.private_dir(self.path)
                if not db.exists():
                    made = privacy.private_file(db)
            except OSError as exc:
                raise LibraryError(f"cannot create library folder "
                                   f"{store.display_path(self.path)}: "
                                   f"{exc.strerror or exc}") from exc
        try:
            return store.connect(db, create=create and not self.readonly,
                                 readonly=self.readonly, new=made)
        except sqlite3.OperationalError:
            # A full disk cannot even take the WAL's shared-memory file: read without it.
            full = disk_full(self.path)
            if self.readonly or not full or made or not db.exists():
                raise
        self.readonly = True
        self.readonly_reason = f"the disk holding it is full: {full}"
        return store.connect(db, create=False, readonly=True)

    def _finish_forget(self) -> None:
        from .upkeep.forget import finish_forget  # noqa: PLC0415 - forget imports this module

        try:
            finish_forget(self)
        except (OSError, sqlite3.OperationalError, LibraryError) as exc:
            # The rows are gone already; what is left are old copies in files. Say so.
            self.problems.append(f"an interrupted 'forget' could not be finished yet "
                                 f"({getattr(exc, 'strerror', None) or exc}): it is tried "
                                 "again at the next open")

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def thumbnail_dir(self) -> Path:
        return self.path / "thumbnails"

    def save_settings(self) -> None:
        self.settings.save(self.path)

    # -- folders ---------------------------------------------------------------------------
    def add_folder(self, path: str | os.PathLike) -> FolderRecord:
        folder = Path(path).expanduser().absolute()
        if not folder.is_dir():
            reason = "does not exist" if not folder.exists() else "is not a folder"
            raise LibraryError(f"{folder} {reason}")
        folder_key = store.db_path(folder)
        with Transaction(self.con):
            self.con.execute("INSERT OR IGNORE INTO folders(path, added_at) VALUES (?, ?)",
                             (folder_key, store.now()))
        row = self.con.execute("SELECT id FROM folders WHERE path = ?", (folder_key,)).fetchone()
        return self.folder(row[0])

    def folders(self) -> list[FolderRecord]:
        rows = self.con.execute("""
            SELECT fo.*, COALESCE(ph.done, 0) AS photo_count, COALESCE(ph.failed, 0) AS
                error_count, COALESCE(ph.offline, 0) AS offline_count,
                COALESCE(ph.missing, 0) AS missing_count, COALESCE(ph.pending, 0) AS
                pending_count, COALESCE(fa.n, 0) AS face_count
            FROM folders fo
            LEFT JOIN (SELECT folder_id, SUM(status = 'done') AS done,
                              SUM(status = 'error') AS failed, SUM(offline) AS offline,
                              SUM(missing_since IS NOT NULL) AS missing,
                              SUM(status = 'done' AND (analysis IS NULL OR
                                          analysis != :analysis)) AS pending
                       FROM photos GROUP BY folder_id) ph ON ph.folder_id = fo.id
            LEFT JOIN (SELECT p.folder_id, COUNT(*) AS n FROM faces f
                       JOIN photos p ON p.id = f.photo_id GROUP BY p.folder_id) fa
                ON fa.folder_id = fo.id
            ORDER BY fo.path""", {"analysis": self.analysis_key()}).fetchall()
        return [FolderRecord(
            id=r["id"], path=store.fs_path(r["path"]), added_at=r["added_at"],
            last_scan_at=r["last_scan_at"], scan_error=r["scan_error"],
            photo_count=r["photo_count"], face_count=r["face_count"],
            error_count=r["error_count"], offline_since=r["offline_since"],
            offline_count=r["offline_count"], missing_count=r["missing_count"],
            pending_count=r["pending_count"], scan_started_at=r["scan_started_at"],
            listed_files=r["listed_files"], unread_files=_unread(r["unread_files"]))
            for r in rows]

    def _adopt_old_photos(self) -> None:
        """Photos scanned before analysis keys existed (schema 1) count as analysed under
        the current settings: re-analysing a whole library on upgrade would only churn."""
        if self.con.execute("SELECT 1 FROM photos WHERE analysis IS NULL AND status = 'done' "
                            "LIMIT 1").fetchone():
            with Transaction(self.con):
                self.con.execute("UPDATE photos SET analysis = ? WHERE analysis IS NULL "
                                 "AND status = 'done'", (self.analysis_key(),))

    def analysis_key(self) -> str:
        """What made a photo's faces: pack, detection threshold, minimum face size. A photo
        analysed under another key is re-analysed by the next scan (decisions carried)."""
        return self.settings.analysis_key()

    def folder(self, folder_id: int) -> FolderRecord:
        for record in self.folders():
            if record.id == folder_id:
                return record
        raise NotFoundError(f"no folder with id {folder_id}")

    def remove_folder(self, folder_id: int) -> int:
        """Forget a folder and its photos' faces (people stay). Returns faces removed."""
        self.folder(folder_id)
        removed = [r[0] for r in self.con.execute(
            "SELECT f.id FROM faces f JOIN photos p ON p.id = f.photo_id "
            "WHERE p.folder_id = ?", (folder_id,))]
        with Transaction(self.con):
            self.con.execute("DELETE FROM folders WHERE id = ?", (folder_id,))
            self.prune_empty_people()
        self.sync_indexes()
        return len(removed)

    def prune_empty_people(self) -> int:
        """Unnamed people left with no face (their photos went) disappear; named ones stay."""
        cur = self.con.execute("""
            DELETE FROM people WHERE name IS NULL
              AND NOT EXISTS (SELECT 1 FROM faces f WHERE f.person_id = people.id)""")
        return cur.rowcount

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

    def prune_missing(self, folder_ids: list[int] | None = None) -> int:
        """Remove the photos whose files are gone from folders that could be read (their
        faces go; people stay, named or not if they keep other faces), of these folders or
        all. Returns photos removed. Offline photos are never removed here, even those
        missing before their drive went: remove their folder instead."""
        where = gone_photos_where()
        params: tuple = ()
        if folder_ids is not None:
            where += f" AND folder_id IN ({','.join('?' * len(folder_ids))})"
            params = tuple(int(f) for f in folder_ids)
        with Transaction(self.con):
            cur = self.con.execute(f"DELETE FROM photos WHERE {where}", params)
            self.prune_empty_people()
        self.sync_indexes()
        return cur.rowcount

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
            taken_at_source=r["taken_at_source"]) for r in rows]

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

    # -- the derived index -----------------------------------------------------------------
    def index(self, pack: str | None = None) -> FaceIndex:
        """The pack's shared index, in line with the database as this connection sees it.

        Only the writer changes the index: when it is behind and this process has a writer
        running (the app), the catch-up is the writer's job, and this read waits for it
        (behind at most one photo's commit); with no writer here (a CLI command) this
        library is the only user and catches up itself."""
        pack = pack or self.settings.pack
        key = (str(self.path), pack)
        self._drop_caches_after_forget()
        index = _INDEXES.get(key)
        if (index is not None and index.library_id == self.library_id
                and index.generation == store.faces_generation(self.con)):
            return index  # current, and this database's own (a new one may reuse generations)
        queue = write_queue.running(self.path)
        if queue is not None and not queue.on_writer():
            return queue.call(lambda writer: writer.index(pack))
        with _INDEXES_LOCK:
            index = _INDEXES.get(key)
            if index is not None and index.library_id != self.library_id:
                index = None  # built from another database once in this folder
            if index is None:
                index = open_index(self.con, self.path, pack, self._dim(pack))
                _INDEXES[key] = index
                return index
        generation = store.faces_generation(self.con)
        if index.generation != generation:
            with index._lock:
                catch_up(self.con, index, pack)
                index.generation = generation
        return index

    def index_took(self, pack: str, before: int, after: int, removed: list[int],
                   added: list[int], vectors: np.ndarray | None) -> None:
        """The writer's commit moved the faces from generation `before` to `after`: a loaded
        index that was current takes the same change, without a catch-up (a pass over every
        face id); one that was behind waits for the next catch-up."""
        index = _INDEXES.get((str(self.path), pack))
        if index is None:
            return
        with index._lock:
            if index.generation != before:
                return
            index.remove(removed)
            if added:
                if vectors is None:  # copies: their vectors are in the database
                    added, vectors = self.embeddings(added, pack=pack)
                if len(added):
                    index.add(added, vectors)
            index.generation = after

    def sync_indexes(self, *, removed: bool = True) -> None:
        """Bring every open index in line with the database, and after faces or photos were
        removed, delete their thumbnails (a sweep of every id: not after a mere addition)."""
        for pack in set(self.packs_in_use()) | {self.settings.pack}:
            if (str(self.path), pack) in _INDEXES:
                self.index(pack)
        if removed:
            prune_thumbnails(self)

    def save_indexes(self) -> None:
        if self._drop_caches_after_forget():
            return  # what this process held was forgotten: nothing of it may be written
        generation = store.faces_generation(self.con)
        for (lib, pack), index in list(_INDEXES.items()):
            if lib == str(self.path):
                self.index(pack)
                try:
                    index.save(index_path(self.path, pack), generation, con=self.con)
                except OSError as exc:
                    # The old file stays whole (index.save checks before it renames); it is
                    # caught up from the database at the next open, so nothing is lost.
                    log.warning("cannot save index of %s: %s", pack, exc)

    def _drop_caches_after_forget(self) -> bool:
        """If "forget" ran (in any process) since this library was opened, drop the indexes
        this process holds for it. True when it did."""
        current = store.epoch(self.con)
        if current == self.epoch:
            return False
        self.epoch = current
        forget_cached_indexes(self.path)
        return True

    def _dim(self, pack: str) -> int:
        row = self.con.execute("SELECT embedding FROM faces WHERE pack = ? LIMIT 1",
                               (pack,)).fetchone()
        if row is not None:
            return len(row[0]) // 4
        from ..engine import PACKS  # noqa: PLC0415 - the engine is only needed for empty packs
        if pack not in PACKS:
            raise LibraryError(f"unknown model pack {pack!r}")
        return PACKS[pack].dim

    # -- search ----------------------------------------------------------------------------
    def search_face(self, face_id: int, *, top: int = 20, min_similarity: float | None = None
                    ) -> list[SearchResult]:
        """Faces most like this one (itself excluded), most similar first."""
        pack, vector = self.embedding(face_id)
        results = self.search_vector(vector, pack=pack, top=top + 1,
                                     min_similarity=min_similarity)
        return [r for r in results if r.face_id != face_id][:top]

    def search_vector(self, vector: np.ndarray, *, pack: str, top: int = 20,
                      min_similarity: float | None = None) -> list[SearchResult]:
        """Faces most like `vector`, most similar first; faces the user marked "not a face"
        or ignored are never answers."""
        if top <= 0:
            return []
        # A few more than asked, so that ignored faces dropped below still leave `top`.
        neighbours = self.index(pack).query(vector, top + max(8, top // 10))
        if min_similarity is not None:
            neighbours = [n for n in neighbours if n.similarity >= min_similarity]
        rows = self._search_rows([n.face_id for n in neighbours])
        results = []
        for n in neighbours:
            row = rows.get(n.face_id)
            if row is None or row[7]:  # removed since the index answered, or ignored
                continue
            results.append(SearchResult(face_id=n.face_id, photo=store.fs_path(row[0]),
                                        box=row[1:5], similarity=n.similarity,
                                        person_id=row[5], person_name=row[6]))
        return results[:top]

    def _search_rows(self, face_ids: list[int]) -> dict[int, tuple]:
        """Only what a search result shows, as plain tuples: at a million faces the full
        FaceRecord look-up was most of a search's time (bench_search.py --faces 1000000:
        3.9 ms of CPU against 1.4 ms for the index query)."""
        out: dict[int, tuple] = {}
        for start in range(0, len(face_ids), 900):
            part = face_ids[start:start + 900]
            cur = self.con.cursor()
            cur.row_factory = None
            for r in cur.execute(
                    "SELECT f.id, p.path, f.x, f.y, f.w, f.h, f.person_id, pe.name, f.ignored "
                    "FROM faces f JOIN photos p ON p.id = f.photo_id LEFT JOIN people pe "
                    f"ON pe.id = f.person_id WHERE f.id IN ({','.join('?' * len(part))})",
                    part):
                out[r[0]] = r[1:]
        return out

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
                             cover_face_id=r["cover_face_id"], face_count=r["face_count"])
                for r in rows]

    # -- status and export -----------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        one = lambda sql: self.con.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "folders": one("SELECT COUNT(*) FROM folders"),
            "photos": one("SELECT COUNT(*) FROM photos WHERE status = 'done'"),
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
        'EXIF DateTimeOriginal', 'XMP xmp:CreateDate (sidecar IMG.xmp)', 'file time'...)."""
        rows = self.con.execute(
            _FACE_SELECT.replace("p.path AS photo_path,",
                                 "p.path AS photo_path, p.taken_at, p.date_source,")
            + " ORDER BY f.id")
        return [{"face_id": r["id"], "photo": store.fs_path(r["photo_path"]),
                 "box": [r["x"], r["y"], r["w"], r["h"]], "score": r["score"],
                 "person_id": r["person_id"], "person_name": r["person_name"],
                 "taken_at": r["taken_at"], "date_source": r["date_source"]} for r in rows]

    def integrity_ok(self) -> bool:
        return self.con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _unread(stored: str | None) -> dict[str, int]:
    """folders.unread_files: {'.psd': 10, ...}; {} before the first scan that counted."""
    import json  # noqa: PLC0415

    try:
        value = json.loads(stored) if stored else {}
    except ValueError:
        return {}
    return {str(k): int(v) for k, v in value.items()} if isinstance(value, dict) else {}
