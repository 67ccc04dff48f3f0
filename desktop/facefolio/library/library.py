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
from dataclasses import replace
from pathlib import Path

from .indexes import IndexedSearch
from .reads import LibraryReads, _unread, gone_photos_where
from .storage import privacy, store
from .storage.damage import damage_note
from .storage.errors import LibraryError, NotFoundError
from .storage.records import (
    FolderRecord,
)
from .storage.settings import (  # noqa: F401 - ENV_LIBRARY: the app reads it here
    ENV_LIBRARY,
    OLD_DEFAULT_DET_THRESHOLD,
    Settings,
    default_library_dir,
)
from .storage.store import Transaction
from .storage.thumbcache import claim_thumbnails

log = logging.getLogger(__name__)


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








class Library(LibraryReads, IndexedSearch):
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
                self._keep_default_of_analysis()
                if create:
                    self._adopt_old_photos()
                # Libraries made before files were private (or copied in with a loose umask):
                # walked in full once, then the folder's own entries on each open.
                walked = store.walked_private(self.con)
                self.permission_problems = privacy.tighten(self.path, deep=not walked)
                if not walked and not self.permission_problems:
                    try:
                        store.mark_walked_private(self.con)
                    except sqlite3.OperationalError:
                        pass  # busy, or a full disk: the next open walks in full again
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
            SELECT fo.*, COALESCE(ph.done, 0) AS photo_count, COALESCE(ph.videos, 0) AS
                video_count, COALESCE(ph.failed, 0) AS
                error_count, COALESCE(ph.offline, 0) AS offline_count,
                COALESCE(ph.missing, 0) AS missing_count, COALESCE(ph.pending, 0) AS
                pending_count, COALESCE(fa.n, 0) AS face_count
            FROM folders fo
            LEFT JOIN (SELECT folder_id, SUM(status = 'done' AND media = 'photo') AS done,
                              SUM(status = 'done' AND media = 'video') AS videos,
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
            photo_count=r["photo_count"], video_count=r["video_count"],
            face_count=r["face_count"],
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

    def _keep_default_of_analysis(self) -> None:
        """A library without settings.json whose photos are analysed gets one, with the
        defaults they were analysed under: a later version's new default (the detection
        threshold of 0.70 since 0.60) never re-analyses or narrows a library by itself."""
        if self.settings.saved:
            return
        # Photos from before analysis keys were analysed under that version's defaults.
        before = replace(self.settings, det_threshold=OLD_DEFAULT_DET_THRESHOLD).analysis_key()
        keys = {k for (k,) in self.con.execute(
            "SELECT DISTINCT COALESCE(analysis, ?) FROM photos WHERE status = 'done'",
            (before,))}
        if not keys:
            return
        self.settings.pin_old_default(keys)
        try:
            self.save_settings()
        except OSError as exc:
            log.warning("cannot write the settings of %s: %s", self.path, exc)
            return
        self.settings.saved = True

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

    def integrity_ok(self) -> bool:
        return self.con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


