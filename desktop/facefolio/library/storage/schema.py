"""The database's schema: ordered migrations from an empty file to today's tables, with a backup first."""
from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from .errors import LibraryError

SCHEMA_VERSION = 5


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


# Version 2: photos are identified by their image data, not their bytes (fingerprint, inode),
# know whether they are offline or missing and which analysis made their faces; a missing photo
# may share its path with the photo now there (the partial unique index), so an overwritten or
# moved-away photo keeps its faces and names until the user prunes it. Faces can be drawn by the
# user or ignored; "these two are not the same person" is remembered; the scanner leaves notes
# of decisions it could not carry over; meta counts user edits (background writers re-check it)
# and an epoch that "forget" bumps (other processes drop their caches). The photos table is
# rebuilt (SQLite cannot drop a UNIQUE constraint) with foreign keys off, see _migrate.
_SCHEMA_V2 = """
CREATE TABLE photos_v2 (
    id              INTEGER PRIMARY KEY,
    folder_id       INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
    path            TEXT NOT NULL,
    size            INTEGER NOT NULL,
    mtime_ns        INTEGER NOT NULL,
    inode           INTEGER,
    content_hash    TEXT,
    fingerprint     TEXT,
    width           INTEGER,
    height          INTEGER,
    taken_at        TEXT,
    taken_at_source TEXT CHECK (taken_at_source IN ('exif', 'file')),
    status          TEXT NOT NULL CHECK (status IN ('done', 'error')),
    error           TEXT,
    pack            TEXT,
    analysis        TEXT,
    offline         INTEGER NOT NULL DEFAULT 0,
    missing_since   REAL,
    scanned_at      REAL NOT NULL
);
INSERT INTO photos_v2(id, folder_id, path, size, mtime_ns, content_hash, width, height,
                      taken_at, taken_at_source, status, error, pack, scanned_at)
    SELECT id, folder_id, path, size, mtime_ns, content_hash, width, height, taken_at,
           CASE WHEN taken_at IS NULL THEN NULL ELSE 'exif' END, status, error, pack,
           scanned_at
    FROM photos;
DROP TABLE photos;
ALTER TABLE photos_v2 RENAME TO photos;
CREATE UNIQUE INDEX photos_path ON photos(path) WHERE missing_since IS NULL;
CREATE INDEX photos_folder ON photos(folder_id);
CREATE INDEX photos_hash ON photos(content_hash);
CREATE INDEX photos_fingerprint ON photos(fingerprint);
ALTER TABLE folders ADD COLUMN offline_since REAL;
ALTER TABLE folders ADD COLUMN scan_started_at REAL;
ALTER TABLE folders ADD COLUMN listed_files INTEGER;
ALTER TABLE faces ADD COLUMN source TEXT NOT NULL DEFAULT 'detector';
ALTER TABLE faces ADD COLUMN ignored INTEGER NOT NULL DEFAULT 0;
CREATE TABLE not_same (
    person_a INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    person_b INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    at       REAL NOT NULL,
    PRIMARY KEY (person_a, person_b),
    CHECK (person_a < person_b)
);
CREATE TABLE scan_notes (
    id      INTEGER PRIMARY KEY,
    at      REAL NOT NULL,
    path    TEXT NOT NULL,
    note    TEXT NOT NULL
);
INSERT OR IGNORE INTO meta(key, value) VALUES ('edits_generation', '0');
INSERT OR IGNORE INTO meta(key, value) VALUES ('epoch', '0');
"""


# Version 3: which source gave each photo its date ("EXIF DateTimeOriginal", "XMP
# photoshop:DateCreated (sidecar IMG.xmp)", "file time": engine/dates.py; taken_at_source stays
# 'exif' for any metadata, 'file' for the file's time), and per folder the files a scan met
# and does not read, by type (JSON {".psd": 10}), so none is dropped silently.
_SCHEMA_V3 = """
ALTER TABLE photos ADD COLUMN date_source TEXT;
ALTER TABLE folders ADD COLUMN unread_files TEXT;
UPDATE photos SET date_source = CASE taken_at_source WHEN 'exif' THEN 'EXIF'
    WHEN 'file' THEN 'file time' END WHERE taken_at IS NOT NULL;
"""


# Version 4: each face's estimated age and gender (people/ages.py), each with the model that
# made it: the scan's workers give the gender, a background pass the age (`age_source` NULL:
# not estimated yet; `unreadable`: the pass could not read the photo, a rescan tries again);
# a person's date of birth, the user's (YYYY-MM-DD, people/birthdays.py).
_SCHEMA_V4 = """
CREATE TABLE face_estimates (
    face_id           INTEGER PRIMARY KEY REFERENCES faces(id) ON DELETE CASCADE,
    age               REAL,
    age_low           REAL,
    age_high          REAL,
    age_source        TEXT,
    gender            TEXT CHECK (gender IN ('female', 'male')),
    gender_confidence REAL,
    gender_source     TEXT,
    unreadable        INTEGER NOT NULL DEFAULT 0,
    made_at           REAL NOT NULL
);
ALTER TABLE people ADD COLUMN birth_date TEXT;
"""


# Version 5, videos (issue 22, point 3): a row of `photos` is a photo or a video (`media`;
# length in `duration_ms`), and a face found in a video is its person's best frame in it, at
# `time_ms` from the start (NULL for a photo's face). Nothing else changes: a video's faces
# are faces like any other, joined to people by the same rules.
_SCHEMA_VIDEOS = """
ALTER TABLE photos ADD COLUMN media TEXT NOT NULL DEFAULT 'photo'
    CHECK (media IN ('photo', 'video'));
ALTER TABLE photos ADD COLUMN duration_ms REAL;
ALTER TABLE faces ADD COLUMN time_ms REAL;
"""


# Ordered migrations: MIGRATIONS[v] takes a database from version v to v + 1.
MIGRATIONS: dict[int, str] = {0: _SCHEMA_V1, 1: _SCHEMA_V2, 2: _SCHEMA_V3, 3: _SCHEMA_V4,
                              4: _SCHEMA_VIDEOS}


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
        from .privacy import private_file  # noqa: PLC0415 - privacy imports nothing of ours
        private_file(backup)  # owner-only before a byte of the old database is in it
        shutil.copyfile(db_path, backup)
    # Off while tables are rebuilt: DROP TABLE would otherwise cascade to the faces. (A no-op
    # inside a transaction, so before BEGIN.) Checked before the commit instead.
    con.execute("PRAGMA foreign_keys = OFF")
    con.execute("BEGIN IMMEDIATE")
    try:
        # Another process may have migrated while we waited for the lock.
        version = schema_version(con)
        while version < SCHEMA_VERSION:
            for statement in _split_sql(MIGRATIONS[version]):
                con.execute(statement)
            version += 1
            con.execute(f"PRAGMA user_version = {version}")
        broken = con.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise LibraryError(f"library {db_path.parent}: migration left {len(broken)} "
                               "dangling references; nothing was changed")
        con.execute("COMMIT")
    except BaseException:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise
    finally:
        con.execute("PRAGMA foreign_keys = ON")


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
