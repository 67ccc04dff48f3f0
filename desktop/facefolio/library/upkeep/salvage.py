"""Salvage a damaged database (`facefolio check --repair`): every row that can still be read
goes into a new database; the damaged file is kept beside it.

Rows are read three ways, each catching what the one before could not: SQLite's own SELECT of
the table; then rowid range by rowid range (a broken leaf page costs only its own rows); then,
for a table whose b-tree is broken above its leaves (its root page overwritten), the leaf
pages themselves, read straight from the file and given to the table whose columns their
records fit (the SQLite file format: https://www.sqlite.org/fileformat2.html). Pages on the
freelist are never read: they hold deleted rows, which must stay deleted.
"""
from __future__ import annotations

import os
import sqlite3
import struct
import time
from pathlib import Path

from ..storage.store import pathname2url
from ..storage import store
from ..storage.damage import clear_damage
from ..storage.thumbcache import OWNER_NAME, THUMBNAILS, clear_cache

# Tables copied, parents first (the new database has the current schema).
SALVAGED = ("meta", "folders", "photos", "people", "faces", "rejections", "not_same",
            "operations", "scan_notes", "face_estimates")


def salvage(library_dir: Path) -> list[str]:
    """Move a damaged database aside (kept as library.sqlite3.damaged-<time>) and copy what
    can be read of it into a new one. Derived files are deleted (rebuilt on use). Returns what
    was done and kept, one line each."""
    db = library_dir / store.DB_NAME
    kept_as = db.with_name(f"{db.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    # Built beside it first: a salvage that fails leaves the damaged database where it was.
    building = db.with_name(f"{db.name}.salvage")
    for suffix in ("", "-wal", "-shm"):
        Path(str(building) + suffix).unlink(missing_ok=True)
    new = store.connect(building)  # a fresh, empty library database
    try:
        os.chmod(building, 0o600)
        new.execute("PRAGMA foreign_keys = OFF")  # rows arrive before what they point at
        counts = copy_readable(db, new)
        orphans = _drop_orphans(new)
        new.execute("PRAGMA foreign_keys = ON")
        new.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        new.close()
    for suffix in ("", "-wal", "-shm"):
        old = Path(str(db) + suffix)
        if old.exists():
            os.replace(old, str(kept_as) + suffix)
    os.replace(building, db)
    for suffix in ("-wal", "-shm"):
        Path(str(building) + suffix).unlink(missing_ok=True)
    kept = ", ".join(f"{n} {table}" for table, (n, _) in counts.items() if n)
    lost = ", ".join(f"{bad} {table}" for table, (_, bad) in counts.items() if bad)
    done = [f"moved the damaged database aside as {kept_as.name} (delete it once you are "
            "satisfied)",
            f"salvaged into a new database: {kept or 'nothing readable'}"
            + (f"; lost (unreadable): {lost}" if lost else "")
            + (f"; {orphans} rows pointing at lost rows dropped" if orphans else "")]
    for path in library_dir.glob("index-*"):
        path.unlink(missing_ok=True)
    try:
        clear_cache(library_dir)
    except OSError:
        pass
    (library_dir / THUMBNAILS / OWNER_NAME).unlink(missing_ok=True)
    done.append("deleted the index and thumbnails: they are rebuilt from the new database")
    clear_damage(library_dir)
    return done


def copy_readable(old_path: Path, new: sqlite3.Connection) -> dict[str, tuple[int, int]]:
    """(rows copied, rows found unreadable) per table."""
    counts: dict[str, tuple[int, int]] = {}
    try:
        old = sqlite3.connect(f"file:{pathname2url(str(old_path))}?mode=ro", uri=True)
        old.execute("SELECT 1 FROM sqlite_master").fetchall()
    except sqlite3.Error:
        return counts  # empty, or not a database any more: nothing to read
    pages: PageReader | None = None
    try:
        for table in SALVAGED:
            wanted = _columns(new, table)
            try:
                have = {r[1] for r in old.execute(f"PRAGMA table_info({table})")}
            except sqlite3.Error:
                continue
            wanted = [c for c in wanted if c in have]
            if not wanted:
                continue
            rows, bad = _readable_rows(old, table, wanted)
            if bad:  # read the leaves themselves
                pages = pages or PageReader(old_path, old)
                found = pages.rows(table, wanted, _types(new, table, wanted))
                known = {r[0] for r in rows} if wanted[0] == "id" else set()
                extra = [r for r in found if r[0] not in known]
                rows += extra
                bad = max(0, bad - len(extra))
            verb = "INSERT OR REPLACE" if table == "meta" else "INSERT OR IGNORE"
            new.execute("BEGIN")
            new.executemany(f"{verb} INTO {table}({', '.join(wanted)}) VALUES "
                            f"({', '.join('?' * len(wanted))})", rows)
            new.execute("COMMIT")
            counts[table] = (len(rows), bad)
    finally:
        old.close()
    return counts


def _columns(con: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in con.execute(f"PRAGMA table_info({table})")]


def _types(con: sqlite3.Connection, table: str, columns: list[str]) -> list[str]:
    declared = {r[1]: (r[2] or "").upper() for r in con.execute(f"PRAGMA table_info({table})")}
    return [declared[c] for c in columns]


def _readable_rows(old: sqlite3.Connection, table: str, columns: list[str]
                   ) -> tuple[list[tuple], int]:
    """(rows, rowids that could not be read): the whole table, else range by range."""
    select = f"SELECT {', '.join(columns)} FROM {table}"
    try:
        return old.execute(select).fetchall(), 0
    except sqlite3.DatabaseError:
        pass
    top = _highest_rowid(old, table)
    rows, bad = [], 0
    for start in range(1, top + 1, 100):
        try:
            rows += old.execute(f"{select} WHERE rowid BETWEEN ? AND ?",
                                (start, start + 99)).fetchall()
            continue
        except sqlite3.DatabaseError:
            pass
        for rowid in range(start, start + 100):
            try:
                rows += old.execute(f"{select} WHERE rowid = ?", (rowid,)).fetchall()
            except sqlite3.DatabaseError:
                bad += 1
    return rows, max(bad, 1)  # the full SELECT failed: something was unreadable


def _highest_rowid(old: sqlite3.Connection, table: str) -> int:
    for sql, params in ((f"SELECT max(rowid) FROM {table}", ()),
                        ("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,))):
        try:
            row = old.execute(sql, params).fetchone()
        except sqlite3.DatabaseError:
            continue
        if row and row[0]:
            return int(row[0])
    return 0


def _drop_orphans(con: sqlite3.Connection) -> int:
    """Rows whose parent was lost: faces of a lost photo go, a lost person's faces stay
    unknown (their person cleared), decisions about lost rows go."""
    dropped = 0
    con.execute("BEGIN")
    for _ in range(5):  # a drop may orphan a child row in turn
        broken = con.execute("PRAGMA foreign_key_check").fetchall()
        if not broken:
            break
        for table, rowid, parent, _ in broken:
            if table == "faces" and parent == "people":
                con.execute("UPDATE faces SET person_id = NULL, assigned_by = NULL "
                            "WHERE rowid = ?", (rowid,))
            elif table == "people" and parent == "faces":
                con.execute("UPDATE people SET cover_face_id = NULL WHERE rowid = ?",
                            (rowid,))
            else:
                con.execute(f"DELETE FROM {table} WHERE rowid = ?", (rowid,))
            dropped += 1
    con.execute("COMMIT")
    return dropped


# -- reading pages ------------------------------------------------------------------------------
class PageReader:
    """The table-leaf pages of a database file, read without SQLite."""

    def __init__(self, path: Path, con: sqlite3.Connection) -> None:
        self.data = path.read_bytes()
        header = self.data[:100]
        self.page_size = int.from_bytes(header[16:18], "big") or 65536
        self.page_size = 65536 if self.page_size == 1 else self.page_size
        self.usable = self.page_size - header[20]
        self.pages = len(self.data) // self.page_size
        self.free = self._freelist(int.from_bytes(header[32:36], "big"))
        roots: dict[str, int] = {}
        try:
            roots = {r[0]: r[1] for r in con.execute(
                "SELECT name, rootpage FROM sqlite_master WHERE rootpage > 0")}
        except sqlite3.DatabaseError:
            pass
        self.owned: dict[int, str] = {}  # leaf page -> table whose intact b-tree reaches it
        for name, root in [("sqlite_master", 1), *roots.items()]:
            for page in self._leaves(root):
                self.owned[page] = name

    def rows(self, table: str, columns: list[str], types: list[str]) -> list[tuple]:
        """Rows of `table` on leaf pages no other intact b-tree owns, whose records fit its
        columns (count and declared types); the rowid stands in for an `id` column."""
        out = []
        for page in range(1, self.pages + 1):
            if page in self.free or self.owned.get(page, table) != table:
                continue
            for rowid, values in self._cells(page):
                row = self._fit(rowid, values, columns, types)
                if row is not None:
                    out.append(row)
        return out

    def _fit(self, rowid, values, columns, types):
        if len(values) != len(columns):
            return None
        row = []
        for name, kind, value in zip(columns, types, values):
            if name == "id" and value is None:
                value = rowid  # INTEGER PRIMARY KEY: stored as NULL, the rowid is the value
            if value is not None and not _fits(kind, value):
                return None
            row.append(value)
        return tuple(row)

    def _page(self, number: int) -> bytes:
        return self.data[(number - 1) * self.page_size:number * self.page_size]

    def _freelist(self, trunk: int) -> set[int]:
        free: set[int] = set()
        while 0 < trunk <= self.pages and trunk not in free:
            page = self._page(trunk)
            free.add(trunk)
            count = int.from_bytes(page[4:8], "big")
            for i in range(min(count, (self.usable - 8) // 4)):
                free.add(int.from_bytes(page[8 + 4 * i:12 + 4 * i], "big"))
            trunk = int.from_bytes(page[0:4], "big")
        return free

    def _leaves(self, root: int) -> list[int]:
        """Table-leaf pages below `root`, as far as the interior pages are intact."""
        leaves, todo, seen = [], [root], set()
        while todo:
            number = todo.pop()
            if not 0 < number <= self.pages or number in seen:
                continue
            seen.add(number)
            page, at = self._page(number), 100 if number == 1 else 0
            kind = page[at]
            if kind == 0x0D:
                leaves.append(number)
            elif kind == 0x05:
                cells = int.from_bytes(page[at + 3:at + 5], "big")
                todo.append(int.from_bytes(page[at + 8:at + 12], "big"))
                for i in range(cells):
                    pointer = int.from_bytes(page[at + 12 + 2 * i:at + 14 + 2 * i], "big")
                    todo.append(int.from_bytes(page[pointer:pointer + 4], "big"))
        return leaves

    def _cells(self, number: int):
        """(rowid, values) of each cell of a table-leaf page; a broken cell is skipped."""
        page, at = self._page(number), 100 if number == 1 else 0
        if page[at:at + 1] != b"\x0d":
            return
        cells = int.from_bytes(page[at + 3:at + 5], "big")
        for i in range(cells):
            try:
                pointer = int.from_bytes(page[at + 8 + 2 * i:at + 10 + 2 * i], "big")
                size, p = _varint(page, pointer)
                rowid, p = _varint(page, p)
                payload = self._payload(page, p, size)
                yield rowid, _record(payload)
            except (IndexError, ValueError, struct.error, UnicodeDecodeError):
                continue

    def _payload(self, page: bytes, at: int, size: int) -> bytes:
        u = self.usable
        most = u - 35
        if size <= most:
            return page[at:at + size]
        least = (u - 12) * 32 // 255 - 23
        local = least + (size - least) % (u - 4)
        local = local if local <= most else least
        out = bytearray(page[at:at + local])
        overflow = int.from_bytes(page[at + local:at + local + 4], "big")
        seen = set()
        while len(out) < size:
            if not 0 < overflow <= self.pages or overflow in seen:
                raise ValueError("broken overflow chain")
            seen.add(overflow)
            chunk = self._page(overflow)
            out += chunk[4:u]
            overflow = int.from_bytes(chunk[:4], "big")
        return bytes(out[:size])


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = 0
    for i in range(9):
        byte = data[at + i]
        if i == 8:
            return (value << 8) | byte, at + 9
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, at + i + 1
    raise ValueError("bad varint")  # pragma: no cover


def _record(payload: bytes) -> list:
    header_size, p = _varint(payload, 0)
    types = []
    while p < header_size:
        t, p = _varint(payload, p)
        types.append(t)
    values, body = [], header_size
    for t in types:
        if t == 0:
            values.append(None)
        elif 1 <= t <= 6:
            n = (1, 2, 3, 4, 6, 8)[t - 1]
            values.append(int.from_bytes(payload[body:body + n], "big", signed=True))
            body += n
        elif t == 7:
            values.append(struct.unpack(">d", payload[body:body + 8])[0])
            body += 8
        elif t in (8, 9):
            values.append(t - 8)
        elif t >= 12:
            n = (t - 12) // 2
            chunk = payload[body:body + n]
            if len(chunk) != n:
                raise ValueError("record shorter than its header")
            values.append(bytes(chunk) if t % 2 == 0 else chunk.decode("utf-8"))
            body += n
        else:
            raise ValueError("reserved serial type")
    return values


def _fits(kind: str, value) -> bool:
    """Whether a value read from a page can be a column of this declared type."""
    if "INT" in kind:
        return isinstance(value, int)
    if "REAL" in kind:
        return isinstance(value, (int, float))
    if "TEXT" in kind:
        return isinstance(value, (str, bytes))  # paths that are not UTF-8 are BLOBs
    if "BLOB" in kind:
        return isinstance(value, bytes)
    return True
