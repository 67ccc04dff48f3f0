"""The library's SQLite database: schema, migrations and the connection rules.

SQLite is the truth; everything else in a library folder (the hnswlib index, thumbnails) is
derived from it and may be thrown away. A connection belongs to the thread that opened it.
"""
from __future__ import annotations

import os
import sqlite3
import sys
import threading
import time
import uuid
import weakref
from pathlib import Path

if os.name == "nt":
    from nturl2path import pathname2url
else:  # what urllib.request does here, without importing its HTTP client (40 ms a start)
    from urllib.parse import quote as pathname2url

from .errors import DamagedLibraryError, LibraryError
from .schema import (
    SCHEMA_VERSION,
    _migrate,
    schema_version,
)

DB_NAME = "library.sqlite3"
# In one process every change goes through the library's one writer (write_queue.py), so a
# write waits for the write lock only when another process (the CLI beside the app) holds it,
# for one of its own commits: seconds at most. (It was 30 s, which hid a second writer in the
# same process: the scan thread's.)
BUSY_TIMEOUT_MS = 5000








# PRAGMA application_id of a Facefolio database ("FFol"): tells it from other SQLite files.
APPLICATION_ID = 0x46466F6C
_SQLITE_MAGIC = b"SQLite format 3\x00"







def connect(db_path: Path, *, create: bool = True, readonly: bool = False,
            new: bool = False) -> sqlite3.Connection:
    """Open (and if needed create or migrate) the database at db_path for this thread.

    A file that is there but is not a Facefolio database (empty beside a library's other
    files, truncated, damaged, another program's) is refused with a one-line LibraryError and
    left untouched: a new library is only made where there is none. `readonly` opens it for
    reading only (a read-only mount, a damaged library): nothing is migrated or written.
    `new`: the caller has just made the (empty) file itself.
    """
    if not db_path.exists() and (not create or readonly):
        raise LibraryError(f"no library at {display_path(db_path.parent)}")
    # Not while this process has the database open: closing the file descriptor the header
    # was read through drops every POSIX lock this process holds on the file (SQLite's
    # connections included), and another process then takes the write-ahead log for
    # abandoned, checkpoints and deletes it while our writer still appends to it: its
    # commits vanish from every other process's view until it closes. Seen with the scan's
    # writer and `Library` opened beside it (tests/test_scan_workers.py).
    problem = None if new or _open_here(db_path) else inspect_file(db_path)
    if problem:
        raise DamagedLibraryError(
            f"library database {display_path(db_path)} {problem}: nothing was changed; "
            f"restore it from a backup, or run 'facefolio check --repair' to start it again "
            f"from what the folder still holds")
    con = _open(db_path, readonly)  # sqlite3.OperationalError: failures.describe says it
    _track(con, db_path)
    try:
        con.row_factory = sqlite3.Row
        con.execute("PRAGMA foreign_keys = ON")
        con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _refuse_foreign(con, db_path)
        if readonly:
            if schema_version(con) != SCHEMA_VERSION:
                raise LibraryError(
                    f"library {display_path(db_path.parent)} is read-only and needs an "
                    f"upgrade (schema {schema_version(con)} to {SCHEMA_VERSION}): open it "
                    "once where it can be written")
        else:
            con.execute("PRAGMA journal_mode = WAL")
            con.execute("PRAGMA synchronous = NORMAL")
            _migrate(con, db_path)
            _claim(con)
    except sqlite3.OperationalError:
        con.close()  # a full or read-only disk, a lock, an I/O error: not damage
        raise
    except sqlite3.DatabaseError as exc:
        con.close()
        raise DamagedLibraryError(
            f"library database {display_path(db_path)} is damaged ({exc}): nothing was "
            "changed; restore it from a backup or run 'facefolio check --repair'") from exc
    except BaseException:
        con.close()
        raise
    return con


class _Connection(sqlite3.Connection):
    """A connection that can be weakly referenced (for `_track`), and that stops counting as
    open when it is closed, not only when it is collected."""

    _untrack = None

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._untrack is not None:
                self._untrack()  # a weakref.finalize: runs once, then is dead


_OPEN: dict[str, int] = {}  # database file -> connections of this process not yet collected
_OPEN_LOCK = threading.Lock()


def _key(db_path: Path) -> str:
    return os.path.realpath(db_path)


def _open_here(db_path: Path) -> bool:
    with _OPEN_LOCK:
        return _OPEN.get(_key(db_path), 0) > 0


def _track(con: sqlite3.Connection, db_path: Path) -> None:
    key = _key(db_path)
    with _OPEN_LOCK:
        _OPEN[key] = _OPEN.get(key, 0) + 1

    def gone() -> None:
        with _OPEN_LOCK:
            _OPEN[key] -= 1
    con._untrack = weakref.finalize(con, gone)


def _open(db_path: Path, readonly: bool) -> sqlite3.Connection:
    options = dict(timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                   check_same_thread=True, uri=True, factory=_Connection)
    uri = f"file:{pathname2url(str(db_path))}"
    if not readonly:
        return sqlite3.connect(uri, **options)
    try:
        con = sqlite3.connect(uri + "?mode=ro", **options)
        con.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        return con
    except sqlite3.OperationalError:
        # A WAL database on a read-only mount has no -shm to share: nobody can write it
        # there, so it may be read as immutable.
        return sqlite3.connect(uri + "?mode=ro&immutable=1", **options)


_HEADER_FDS: dict[str, int] = {}  # database file -> a descriptor kept open for header reads
_HEADER_LOCK = threading.Lock()


def _read_header(db_path: Path) -> tuple[int, bytes]:
    """The file's size and first 100 bytes, read without ever closing a descriptor of it.

    SQLite's locks are POSIX locks, and closing any descriptor of a file drops every lock
    this process holds on it, its connections' included: a header read in one thread while
    another thread's connection opens left that connection without its locks, and another
    process (the app's age pass, the command line beside the window) then deleted the
    write-ahead log under it ("disk I/O error"; tests/test_store_locks.py). So the
    descriptor stays open for the life of the process, one per file (a file replaced at the
    same path gets a new one; the old one is kept too). Windows locks per handle: there a
    plain read is safe."""
    if not hasattr(os, "pread"):
        size = db_path.stat().st_size
        with open(db_path, "rb") as fh:
            return size, fh.read(100)
    key = os.path.realpath(db_path)
    with _HEADER_LOCK:
        st = os.stat(key)
        fd = _HEADER_FDS.get(key)
        if fd is not None:
            kept = os.fstat(fd)
            if (kept.st_dev, kept.st_ino) != (st.st_dev, st.st_ino):
                fd = None  # another file now: the old descriptor stays open, unused
        if fd is None:
            fd = os.open(key, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            _HEADER_FDS[key] = fd
        return os.fstat(fd).st_size, os.pread(fd, 100, 0)


def inspect_file(db_path: Path) -> str | None:
    """What is wrong with the file at db_path as a database (None: nothing seen, or no file).
    Reads the 100-byte header only: a full check is `facefolio check`."""
    try:
        size, header = _read_header(db_path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if size == 0:
        # What a brand-new library looks like for an instant (the file is made owner-only
        # before SQLite writes into it); beside a library's own files it is a lost database.
        others = library_files(db_path.parent)
        return (f"is empty (0 bytes) beside {len(others)} files of a library "
                f"({', '.join(others[:3])})") if others else None
    if len(header) < 100 or not header.startswith(_SQLITE_MAGIC):
        return f"is not an SQLite database ({size} bytes starting {header[:16]!r})"
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    # The page count in the header is valid when its change counter matches (SQLite 3.7+).
    if header[24:28] == header[92:96] and size < pages * page_size:
        return f"is truncated ({size} of {pages * page_size} bytes)"
    return None


def library_files(folder: Path) -> list[str]:
    """Names of files in `folder` that only a library with a database makes."""
    names = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if (entry.name.startswith("index-") or entry.name == "thumbnails"
                        or entry.name.startswith(f"{DB_NAME}.v")):
                    names.append(entry.name)
    except OSError:
        pass
    return sorted(names)


def _refuse_foreign(con: sqlite3.Connection, db_path: Path) -> None:
    """Another program's SQLite file is never given Facefolio's tables."""
    app_id = con.execute("PRAGMA application_id").fetchone()[0]
    tables = sorted(r[0] for r in con.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"))
    version = schema_version(con)
    ours = app_id == APPLICATION_ID or (app_id == 0 and version > 0
                                        and {"meta", "faces", "people"} <= set(tables))
    if ours or (app_id == 0 and version == 0 and not tables):
        return
    what = (f"tables {', '.join(tables[:5])}" + (" ..." if len(tables) > 5 else "")
            if tables else "no tables")
    raise LibraryError(
        f"{display_path(db_path)} is not a Facefolio library (another program's database: "
        f"{what}, application id {app_id}, version {version}); it was not changed: choose "
        "another library folder with --library")


def _claim(con: sqlite3.Connection) -> None:
    """Mark the database as Facefolio's and give the library its id, once."""
    if con.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID and \
            library_id(con):
        return
    with Transaction(con):
        con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        con.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('library_id', ?)",
                    (uuid.uuid4().hex,))


def library_id(con: sqlite3.Connection) -> str | None:
    """The library's random id: derived files carry it, and one that does not match the
    database beside it is rebuilt (a new database in an old folder)."""
    row = con.execute("SELECT value FROM meta WHERE key = 'library_id'").fetchone()
    return row[0] if row else None








class Transaction:
    """`with Transaction(con):` runs a BEGIN IMMEDIATE ... COMMIT, rolling back on error.
    Inside another one it is a savepoint: an operation can read what it will change under
    the same write lock as the change itself."""

    def __init__(self, con: sqlite3.Connection) -> None:
        self.con = con
        self.nested = False

    def __enter__(self) -> sqlite3.Connection:
        self.nested = self.con.in_transaction
        self.con.execute("SAVEPOINT nested" if self.nested else "BEGIN IMMEDIATE")
        return self.con

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.nested:
            if exc_type is not None:
                self.con.execute("ROLLBACK TO nested")
            self.con.execute("RELEASE nested")
        elif exc_type is None:
            self.con.execute("COMMIT")
        elif self.con.in_transaction:
            # SQLite may have rolled back already (a full disk, an I/O error): a ROLLBACK
            # then would raise and hide the error that matters.
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


def walked_private(con: sqlite3.Connection) -> bool:
    """Whether a full owner-only walk of the library folder ended without a problem once
    (privacy.tighten: later opens look at the folder's own entries only)."""
    return _meta_int(con, "private_walked") > 0


def mark_walked_private(con: sqlite3.Connection) -> None:
    """Record a clean full walk; never waits for another writer (sqlite3.OperationalError
    when one holds the lock: the next open walks again and tries again)."""
    con.execute("PRAGMA busy_timeout = 0")
    try:
        with Transaction(con):
            con.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('private_walked', '1')")
    finally:
        con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


def _meta_int(con: sqlite3.Connection, key: str) -> int:
    row = con.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return int(row[0]) if row else 0


def faces_generation(con: sqlite3.Connection) -> int:
    return _meta_int(con, "faces_generation")


def edits_generation(con: sqlite3.Connection) -> int:
    """Bumped by every user edit of people (see `bump_edits`): background writers that read
    state, computed, and want to write compare it before and after."""
    return _meta_int(con, "edits_generation")


def bump_edits(con: sqlite3.Connection) -> None:
    """Inside the transaction of a user edit."""
    con.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 "
                "WHERE key = 'edits_generation'")


def epoch(con: sqlite3.Connection) -> int:
    """Bumped by "forget": a process holding caches of an older epoch must drop them."""
    return _meta_int(con, "epoch")


def forget_pending(con: sqlite3.Connection) -> bool:
    """A "forget" deleted the rows but was cut short before every file was wiped: the next
    open finishes it before anything else runs (forget.finish_forget)."""
    return _meta_int(con, "forget_pending") != 0


# -- paths ------------------------------------------------------------------------------------
# A file name is bytes on POSIX; Python hands us str with lone surrogates for bytes that are not
# UTF-8 (PEP 383), which sqlite3 cannot encode. Such paths are stored as BLOBs holding the exact
# bytes (the column is declared TEXT, but SQLite keeps a BLOB a BLOB), all others as TEXT, so
# existing rows and every valid path are unchanged and nothing is lost.

def db_path(path: str | os.PathLike) -> str | bytes:
    """A path as stored in the database."""
    text = os.fspath(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(text)
    return text


def fs_path(value: str | bytes) -> str:
    """A path from the database, usable with open() and os.* again."""
    return os.fsdecode(value) if isinstance(value, bytes) else value


def display_path(path: str | os.PathLike) -> str:
    """A path fit to print or show, as a file manager shows it: its bytes decoded with the
    platform's filesystem encoding, a byte that does not decode as a visible escape
    ("caf\\xe9.jpg" for Latin-1 bytes on a UTF-8 system, never a bare U+FFFD that hides which
    byte it was), and control and text-direction characters as visible escapes too
    (text.shown), so a file name can neither drive a terminal nor break a line of output."""
    from .text import shown  # noqa: PLC0415 - text imports this module

    raw = os.fsencode(os.fspath(path))
    return shown(raw.decode(sys.getfilesystemencoding(), "backslashreplace"))


def now() -> float:
    return time.time()
