""""Delete all face data": biometric data is the user's to erase, completely.

Gone afterwards: faces (with their embeddings and landmarks), people, rejections, the undo log,
every photo's scan record (so the next scan detects afresh), the hnswlib index files, the
thumbnail cache and migration backups (old copies of the database). The database is then
rebuilt with VACUUM (and secure_delete zeroes freed pages before that), and the WAL is
checkpointed and truncated, so no embedding bytes survive in any file of the library folder.
Kept: the remembered folders, settings.json, and of course the photos, which are never touched.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from . import library as library_module
from .index import index_path
from .library import Library
from .store import DB_NAME, LibraryError, Transaction


def forget_all(library: Library) -> dict[str, int]:
    """Erase every face, person and derived file; returns what went, by kind."""
    con = library.con
    counts = library.counts()
    packs = set(library.packs_in_use()) | {library.settings.pack}
    con.execute("PRAGMA secure_delete = ON")
    with Transaction(con):
        # Faces first: people.cover_face_id points at faces; rejections cascade from both.
        con.execute("DELETE FROM rejections")
        con.execute("UPDATE people SET cover_face_id = NULL")
        con.execute("DELETE FROM faces")
        con.execute("DELETE FROM people")
        con.execute("DELETE FROM operations")
        con.execute("DELETE FROM photos")
        con.execute("UPDATE folders SET last_scan_at = NULL, scan_error = NULL")
        # Every other process holding this library's caches sees the new epoch and drops them
        # instead of writing them back (Library.save_indexes).
        con.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'epoch'")
    library.epoch = library_module.store.epoch(con)
    _drop_indexes(library, packs)
    files = _remove_derived_files(library.path)
    _compact(con, library.path)
    return {"faces": counts["faces"], "people": counts["people"],
            "photos": counts["photos"] + counts["failed"], "files": files}


def _drop_indexes(library: Library, packs: set[str]) -> None:
    """Forget this library's in-memory indexes too, or a later save would write them back."""
    library_module.forget_cached_indexes(library.path)
    for pack in packs:
        path = index_path(library.path, pack)
        path.with_suffix(".json").unlink(missing_ok=True)
        path.unlink(missing_ok=True)


def _remove_derived_files(folder: Path) -> int:
    removed = 0
    # Temp files of saves cut short (unique names: ".index-<pack>.hnsw.<random>.tmp").
    patterns = ["index-*", ".index-*.tmp", f"{DB_NAME}.v*.bak"]
    for pattern in patterns:
        for path in folder.glob(pattern):
            path.unlink(missing_ok=True)
            removed += 1
    thumbnails = folder / "thumbnails"
    if thumbnails.exists():
        removed += sum(1 for p in thumbnails.rglob("*") if p.is_file())
        shutil.rmtree(thumbnails, ignore_errors=True)
    return removed


def _compact(con, folder: Path) -> None:
    """Rewrite the database without free pages and empty the WAL, or say why not."""
    con.execute("VACUUM")
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


# -- thumbnail files --------------------------------------------------------------------------
