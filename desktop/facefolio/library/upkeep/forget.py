""""Delete all face data": biometric data is the user's to erase, completely.

Gone afterwards: every table that can hold a name, an embedding, a box or what the user
decided (FORGOTTEN_TABLES: faces with their embeddings and landmarks, people, rejections,
"not the same person", the undo log, the scanner's notes, every photo's scan record so the next
scan detects afresh), and every file derived from them (FORGOTTEN_FILES: the hnswlib index
files, the thumbnail cache, migration backups and salvaged copies of the database). The
database is then rebuilt with VACUUM (secure_delete zeroes freed pages before that), and the WAL
is checkpointed and truncated, so no name or embedding byte survives in any file of the folder.
Kept: KEPT_TABLES (the remembered folders, counters), settings.json, and of course the photos.

Whole or absent: the rows go in one transaction that also sets `forget_pending`; the files and
the VACUUM follow, and the flag is cleared last. A forget cut short (killed, a full disk) is
finished by the next open of the library, before anything else runs (Library.__init__).
A thumbnail cache that is a link out of the library is never followed: forget refuses, before
deleting anything, rather than report crops erased that it could not reach.
"""
from __future__ import annotations

import logging
import shutil
import sqlite3
from pathlib import Path

from ..indexes import forget_cached_indexes
from ..storage import store
from ..storage.errors import LibraryError
from ..storage.store import DB_NAME, Transaction
from ..storage.thumbcache import THUMBNAILS, linked_cache

log = logging.getLogger(__name__)

# Every table of the schema is in one of these two lists (tests/test_trust.py checks: a new
# table holding text fails it until it is listed here). Order: children before parents.
FORGOTTEN_TABLES = ("rejections", "not_same", "scan_notes", "operations", "face_estimates",
                    "faces", "people", "photos")
KEPT_TABLES = {
    "meta": "counters, the forget epoch and the library id: no names",
    "folders": "the folders the user asked to scan (their scan state is reset)",
    "sqlite_sequence": "the highest id given per table, so that ids are never reused",
}
# Files of the library folder that hold faces, names or embeddings (glob patterns).
FORGOTTEN_FILES = ("index-*", ".index-*.tmp", f"{DB_NAME}.v*.bak", f"{DB_NAME}.damaged-*",
                   f"{DB_NAME}.salvage*", f"{THUMBNAILS}/")


def forget_all(library) -> dict[str, int]:
    """Erase every face, person and derived file; returns what went, by kind."""
    linked = linked_cache(library.path)
    if linked:
        raise LibraryError(f"nothing was deleted: {linked}. The crops it holds are face data: "
                           "delete them there, remove the link, then forget again")
    con = library.con
    counts = library.counts()
    con.execute("PRAGMA secure_delete = ON")
    with Transaction(con):
        # Faces first: people.cover_face_id points at faces; rejections cascade from both.
        con.execute("UPDATE people SET cover_face_id = NULL")
        for table in FORGOTTEN_TABLES:
            con.execute(f"DELETE FROM {table}")
        con.execute("UPDATE folders SET last_scan_at = NULL, scan_error = NULL")
        # Every other process holding this library's caches sees the new epoch and drops them
        # instead of writing them back (Library.save_indexes).
        con.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'epoch'")
        con.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('forget_pending', '1')")
    library.epoch = store.epoch(con)
    try:
        files = finish_forget(library)
    except sqlite3.OperationalError as exc:
        raise LibraryError(
            f"every face, person and name was deleted, but the database could not be "
            f"compacted ({exc}): free some space; Facefolio finishes erasing the old copies "
            "the next time it opens the library") from exc
    return {"faces": counts["faces"], "people": counts["people"],
            "photos": counts["photos"] + counts["failed"], "files": files}


def finish_forget(library) -> int:
    """Delete every derived file and compact the database after the rows went (now, or at the
    next open after a forget was cut short). Returns the files removed."""
    forget_cached_indexes(library.path)
    files = _remove_derived_files(library.path)
    _compact(library.con, library.path)
    return files


def _remove_derived_files(folder: Path) -> int:
    removed = 0
    for pattern in FORGOTTEN_FILES:
        if pattern.endswith("/"):
            continue
        for path in folder.glob(pattern):
            path.unlink(missing_ok=True)
            removed += 1
    thumbnails = folder / THUMBNAILS
    if linked_cache(folder):
        raise LibraryError(f"face data deleted, but {linked_cache(folder)}")
    if thumbnails.exists():
        removed += sum(1 for p in thumbnails.rglob("*") if p.is_file())
        # rmtree works through directory descriptors and never follows a link inside
        # (shutil.rmtree.avoids_symlink_attacks); failures are errors, not ignored.
        shutil.rmtree(thumbnails)
    return removed


def _compact(con, folder: Path) -> None:
    """Rewrite the database without free pages and empty the WAL, or say why not."""
    con.execute("PRAGMA secure_delete = ON")
    con.execute("VACUUM")
    con.execute("UPDATE meta SET value = '0' WHERE key = 'forget_pending'")
    # TRUNCATE waits for readers through the busy handler: a short wait, not the usual 30 s.
    timeout = con.execute("PRAGMA busy_timeout").fetchone()[0]
    con.execute("PRAGMA busy_timeout = 3000")
    try:
        busy, _, _ = con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        con.execute(f"PRAGMA busy_timeout = {int(timeout)}")
    if busy:
        # Another connection (the app, another command) holds a read snapshot: the old pages
        # may survive in the WAL until it lets go. Say so rather than claim success.
        raise LibraryError(f"face data deleted, but another program still has the library "
                           f"{folder} open: close it and run 'facefolio forget --yes' again "
                           "to erase the last copies from disk")
