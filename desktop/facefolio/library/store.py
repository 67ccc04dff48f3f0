"""The library's SQLite database: schema, migrations and the connection rules.

SQLite is the truth; everything else in a library folder (the hnswlib index, thumbnails) is
derived from it and may be thrown away. A connection belongs to the thread that opened it.
"""
from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

DB_NAME = "library.sqlite3"
SCHEMA_VERSION = 1


class LibraryError(Exception):
    """A library cannot be opened or used; the message is one line for the user."""


class NotFoundError(LibraryError):
    """An id (person, face, photo, folder) that does not exist."""


_SCHEMA_V1 = """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE folders (
    id           INTEGER PRIMARY KEY,
    path         TEXT NOT NULL UNIQUE,
    added_at     REAL NOT NULL,
    last_scan_at REAL,
    scan_error   TEXT
);
CREATE TABLE photos (
    id           INTEGER PRIMARY KEY,
    folder_id    INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
    path         TEXT NOT NULL UNIQUE,
    size         INTEGER NOT NULL,
    mtime_ns     INTEGER NOT NULL,
    content_hash TEXT,
    width        INTEGER,
    height       INTEGER,
    taken_at     TEXT,
    status       TEXT NOT NULL CHECK (status IN ('done', 'error')),
    error        TEXT,
    pack         TEXT,
    scanned_at   REAL NOT NULL
);
CREATE INDEX photos_folder ON photos(folder_id);
CREATE INDEX photos_hash ON photos(content_hash);
CREATE TABLE people (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT,
    hidden        INTEGER NOT NULL DEFAULT 0,
    cover_face_id INTEGER REFERENCES faces(id) ON DELETE SET NULL,
    created_at    REAL NOT NULL
);
CREATE TABLE faces (
    -- AUTOINCREMENT: a face id is never reused, so the index can trust its labels.
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    photo_id    INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    x REAL NOT NULL, y REAL NOT NULL, w REAL NOT NULL, h REAL NOT NULL,
    landmarks   BLOB NOT NULL,
    score       REAL NOT NULL,
    quality     REAL NOT NULL,
    pack        TEXT NOT NULL,
    embedding   BLOB NOT NULL,
    person_id   INTEGER REFERENCES people(id) ON DELETE SET NULL,
    assigned_by TEXT CHECK (assigned_by IN ('user', 'suggestion', 'auto', 'cluster')),
    created_at  REAL NOT NULL
);
CREATE INDEX faces_photo ON faces(photo_id);
CREATE INDEX faces_person ON faces(person_id);
CREATE INDEX faces_pack ON faces(pack);
CREATE TABLE rejections (
    face_id   INTEGER NOT NULL REFERENCES faces(id) ON DELETE CASCADE,
    person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    PRIMARY KEY (face_id, person_id)
);
CREATE TABLE operations (
    id          INTEGER PRIMARY KEY,
    at          REAL NOT NULL,
    kind        TEXT NOT NULL,
    description TEXT NOT NULL,
    undo_data   TEXT NOT NULL,
    redo_data   TEXT,
    undone      INTEGER NOT NULL DEFAULT 0
);
-- Bumped in the same transaction as any change to the faces table, so the hnswlib index
-- can tell whether it is up to date.
CREATE TRIGGER faces_gen_insert AFTER INSERT ON faces BEGIN
    UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'faces_generation';
END;
CREATE TRIGGER faces_gen_delete AFTER DELETE ON faces BEGIN
    UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'faces_generation';
END;
INSERT INTO meta(key, value) VALUES ('faces_generation', '0');
"""

# Ordered migrations: MIGRATIONS[v] takes a database from version v to v + 1.
MIGRATIONS: dict[int, str] = {0: _SCHEMA_V1}


def connect(db_path: Path, *, create: bool = True) -> sqlite3.Connection:
    """Open (and if needed create or migrate) the database at db_path for this thread."""
    if not create and not db_path.exists():
        raise LibraryError(f"no library at {db_path.parent}")
    try:
        con = sqlite3.connect(db_path, timeout=30.0, isolation_level=None,
                              check_same_thread=True)
    except sqlite3.Error as exc:
        raise LibraryError(f"cannot open library database {db_path}: {exc}") from exc
    try:
        con.row_factory = sqlite3.Row
        con.execute("PRAGMA foreign_keys = ON")
        con.execute("PRAGMA journal_mode = WAL")
        con.execute("PRAGMA synchronous = NORMAL")
        con.execute("PRAGMA busy_timeout = 30000")
        _migrate(con, db_path)
    except sqlite3.DatabaseError as exc:
        con.close()
        raise LibraryError(f"library database {db_path} is unreadable: {exc}") from exc
    return con


def schema_version(con: sqlite3.Connection) -> int:
    return con.execute("PRAGMA user_version").fetchone()[0]


def _migrate(con: sqlite3.Connection, db_path: Path) -> None:
    version = schema_version(con)
    if version > SCHEMA_VERSION:
        raise LibraryError(
            f"library {db_path.parent} was written by a newer Facefolio "
            f"(schema {version}, this version knows {SCHEMA_VERSION})")
    if version == SCHEMA_VERSION:
        return
    if version > 0:
        # Back up before touching a database that holds the user's decisions.
        backup = db_path.with_name(f"{db_path.name}.v{version}.bak")
        con.execute("PRAGMA wal_checkpoint(FULL)")
        shutil.copy2(db_path, backup)
    con.execute("BEGIN IMMEDIATE")
    try:
        # Another process may have migrated while we waited for the lock.
        version = schema_version(con)
        while version < SCHEMA_VERSION:
            for statement in _split_sql(MIGRATIONS[version]):
                con.execute(statement)
            version += 1
            con.execute(f"PRAGMA user_version = {version}")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _split_sql(script: str) -> list[str]:
    """Split a schema script into statements (executescript would commit our transaction)."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--"):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements


class Transaction:
    """`with Transaction(con):` runs a BEGIN IMMEDIATE ... COMMIT, rolling back on error."""

    def __init__(self, con: sqlite3.Connection) -> None:
        self.con = con

    def __enter__(self) -> sqlite3.Connection:
        self.con.execute("BEGIN IMMEDIATE")
        return self.con

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.con.execute("COMMIT")
        else:
            self.con.execute("ROLLBACK")


def in_chunks(con: sqlite3.Connection, sql: str, ids, *params, chunk: int = 900) -> list:
    """Run `sql`, whose "{}" stands for an IN (...) list, over ids in chunks (SQLite caps the
    number of parameters per statement); `params` follow the ids. Returns all rows."""
    ids = list(ids)
    rows: list = []
    for start in range(0, len(ids), chunk):
        part = ids[start:start + chunk]
        rows += con.execute(sql.format(",".join("?" * len(part))), (*part, *params)).fetchall()
    return rows


def faces_generation(con: sqlite3.Connection) -> int:
    row = con.execute("SELECT value FROM meta WHERE key = 'faces_generation'").fetchone()
    return int(row[0]) if row else 0


def now() -> float:
    return time.time()
