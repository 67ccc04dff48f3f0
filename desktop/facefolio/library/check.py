"""`facefolio check [--repair]`: is every file of the library what it should be?

Looked at: the database (SQLite quick_check, foreign keys), each index against the database
(library id, checksum, the faces it holds), the thumbnail cache against the faces (owner,
links, orphans), permissions (owner-only), and temp files left by saves that were cut short.
`--repair` rebuilds what is derived (indexes, thumbnails), deletes leftovers, tightens modes,
and for a damaged database salvages what SQLite can still read into a new one (the old file
is kept beside it as library.sqlite3.damaged-<time>), saying what was kept.

A damaged database found while working (by this check, or by a command that hit
"database disk image is malformed") leaves a note, `library.damaged`, in the folder: while it
is there the library opens read-only, so nothing more is written into a broken file.
"""
from __future__ import annotations

import json
import os
import sqlite3
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.request import pathname2url

DAMAGE_NAME = "library.damaged"


def damage_note(library_dir: Path) -> str | None:
    """Why the library was found damaged, or None."""
    try:
        note = json.loads((library_dir / DAMAGE_NAME).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return "found damaged earlier"
    return str(note.get("reason", "found damaged earlier")) if isinstance(note, dict) \
        else "found damaged earlier"


def mark_damaged(library_dir: Path, reason: str) -> bool:
    """Stop writes to this library until a repair (or a check that finds it sound)."""
    from .privacy import write_private  # noqa: PLC0415

    try:
        write_private(library_dir / DAMAGE_NAME, json.dumps(
            {"reason": reason, "at": time.time()}).encode("utf-8"))
    except OSError:
        return False
    return True


def clear_damage(library_dir: Path) -> None:
    (library_dir / DAMAGE_NAME).unlink(missing_ok=True)


# -- the check --------------------------------------------------------------------------------
@dataclass
class CheckReport:
    findings: list[str] = field(default_factory=list)  # what is wrong, one line each
    repaired: list[str] = field(default_factory=list)  # what --repair did, one line each
    repaired_findings: list[str] = field(default_factory=list)  # findings --repair fixed

    @property
    def ok(self) -> bool:
        return not self.findings


def check_library(library_dir: Path, *, repair: bool = False) -> CheckReport:
    """Verify every file of the library; with repair, fix what can be fixed."""
    from . import store  # noqa: PLC0415 - store imports nothing of ours at module level

    library_dir = Path(library_dir).expanduser().absolute()
    report = CheckReport()
    db = library_dir / store.DB_NAME
    if not db.exists():
        report.findings.append(f"no library database in {store.display_path(library_dir)}")
        return report
    problem = _database_problem(db)
    if problem is not None:
        report.findings.append(problem)
        if problem.startswith("not Facefolio's"):
            return report  # another program's file: never touched
        if not repair:
            mark_damaged(library_dir, problem)
            return report
        report.repaired += salvage(library_dir)
        report.repaired_findings.append(problem)
    _check_contents(library_dir, report, repair)
    if repair:
        report.findings = [f for f in report.findings if f not in report.repaired_findings]
    if report.ok and damage_note(library_dir) is not None:
        clear_damage(library_dir)
        report.repaired.append("the database checks sound: the 'damaged' mark was removed")
    return report


def _database_problem(db: Path) -> str | None:
    from . import store  # noqa: PLC0415

    problem = store.inspect_file(db)
    if problem:
        return f"the database {problem}"
    try:
        con = sqlite3.connect(f"file:{pathname2url(str(db))}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error as exc:
        return f"the database cannot be opened ({exc})"
    try:
        try:
            store._refuse_foreign(con, db)
        except store.LibraryError as exc:
            return f"not Facefolio's: {exc}"
        rows = [" ".join(str(r[0]).split()) for r in con.execute("PRAGMA quick_check(20)")]
        if rows != ["ok"]:
            return f"the database is damaged: {'; '.join(rows)[:200]}"
        broken = con.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            tables = sorted({r[0] for r in broken})
            return (f"the database has {len(broken)} rows pointing at rows that are gone "
                    f"(in {', '.join(tables)})")
    except sqlite3.DatabaseError as exc:
        return f"the database is damaged ({exc})"
    finally:
        con.close()
    return None


def _check_contents(library_dir: Path, report: CheckReport, repair: bool) -> None:
    """Index, thumbnails, permissions, leftovers of a library whose database is sound."""
    from . import index as index_module  # noqa: PLC0415
    from . import privacy, store, thumbcache  # noqa: PLC0415
    from .library import Library, forget_cached_indexes  # noqa: PLC0415

    linked = thumbcache.linked_cache(library_dir)
    if linked:
        report.findings.append(linked)
        if repair:
            for part in (thumbcache.THUMBNAILS, f"{thumbcache.THUMBNAILS}/{thumbcache.FACES}",
                         f"{thumbcache.THUMBNAILS}/{thumbcache.PHOTOS}"):
                link = library_dir / part
                if link.is_symlink():
                    link.unlink()  # the link itself: what it points at is not ours
                    report.repaired.append(f"removed the link {part} (its target was left "
                                           "alone)")
            report.repaired_findings.append(linked)
    for tmp in privacy.stale_temps(library_dir):
        finding = f"a temp file left by a save that was cut short: {tmp.name}"
        report.findings.append(finding)
        if repair:
            tmp.unlink(missing_ok=True)
            report.repaired.append(f"deleted {tmp.name}")
            report.repaired_findings.append(finding)
    with Library(library_dir, readonly=not repair) as library:
        con = library.con
        lib_id = store.library_id(con)
        for pack in sorted(set(library.packs_in_use())):
            path = index_module.index_path(library_dir, pack)
            why = _index_problem(con, path, library, pack, lib_id)
            if why is None:
                continue
            finding = f"index {path.name}: {why}"
            report.findings.append(finding)
            if repair:
                forget_cached_indexes(library_dir)
                index_module._take_back(path, None)
                library.index(pack)
                library.save_indexes()
                report.repaired.append(f"rebuilt {path.name} from the database")
                report.repaired_findings.append(finding)
        orphans = _orphan_crops(library)
        if orphans:
            finding = f"{orphans} thumbnails of faces or photos that are gone"
            report.findings.append(finding)
            if repair:
                thumbcache.prune_thumbnails(library)
                report.repaired.append(f"deleted {orphans} stale thumbnails")
                report.repaired_findings.append(finding)
        loose = _loose_entries(library_dir)
        if loose:
            finding = (f"{len(loose)} library files other accounts can read "
                       f"(e.g. {loose[0]})")
            report.findings.append(finding)
            if repair:
                left = privacy.tighten(library_dir)
                if not left:
                    report.repaired.append("made every library file owner-only")
                    report.repaired_findings.append(finding)


def _index_problem(con, path: Path, library, pack: str, lib_id: str | None) -> str | None:
    from .index import FaceIndex, ForeignIndex, ForgottenIndex  # noqa: PLC0415

    if not path.exists():
        return None  # made at the next search: nothing wrong
    try:
        index = FaceIndex.load(path, library._dim(pack), epoch=library.epoch,
                               library_id=lib_id)
    except ForeignIndex:
        return "saved by another database (or before libraries had ids): not used"
    except ForgottenIndex:
        return "saved before 'forget': not used"
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the same finding
        return f"unreadable ({exc})"
    if not index.matches(con, pack):
        return "its vectors are not the faces' own"
    in_db = {r[0] for r in con.execute("SELECT id FROM faces WHERE pack = ?", (pack,))}
    if index.generation < 0:
        return "its metadata describes another save"
    if index.generation == library_faces_generation(con) and index.ids() != in_db:
        return f"holds {len(index)} faces, the database {len(in_db)}"
    return None


def library_faces_generation(con) -> int:
    from .store import faces_generation  # noqa: PLC0415

    return faces_generation(con)


def _orphan_crops(library) -> int:
    from .thumbcache import FACES, PHOTOS, THUMBNAILS, _FACE_FILE, _PHOTO_FILE  # noqa: PLC0415

    root = library.path / THUMBNAILS
    faces = {r[0] for r in library.con.execute("SELECT id FROM faces")}
    photos = {r[0] for r in library.con.execute("SELECT id FROM photos")}
    count = 0
    for sub, pattern, ids in ((FACES, _FACE_FILE, faces), (PHOTOS, _PHOTO_FILE, photos)):
        folder = root / sub
        if folder.is_symlink() or not folder.is_dir():
            continue
        for entry in os.scandir(folder):
            m = pattern.fullmatch(entry.name)
            if entry.is_file(follow_symlinks=False) and (m is None or int(m.group(1))
                                                          not in ids):
                count += 1
    return count


def _loose_entries(folder: Path) -> list[str]:
    loose = []
    for root, dirs, files, fd in os.fwalk(os.path.realpath(folder), follow_symlinks=False):
        for name in [".", *dirs, *files]:
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except OSError:
                continue
            if not stat.S_ISLNK(st.st_mode) and stat.S_IMODE(st.st_mode) & 0o077:
                loose.append(os.path.relpath(os.path.join(root, name), folder))
    return loose


# -- salvage ----------------------------------------------------------------------------------
def salvage(library_dir: Path) -> list[str]:
    """Move a damaged database aside (kept as library.sqlite3.damaged-<time>) and copy what
    SQLite can still read of it into a new one, table by table and, where a table is broken,
    row by row. Derived files are deleted (rebuilt on use). Returns what was done and kept."""
    from . import store  # noqa: PLC0415
    from .thumbcache import clear_cache  # noqa: PLC0415

    db = library_dir / store.DB_NAME
    stamp = time.strftime("%Y%m%d-%H%M%S")
    kept_as = db.with_name(f"{db.name}.damaged-{stamp}")
    # Built beside it first: a salvage that fails leaves the damaged database where it was.
    building = db.with_name(f"{db.name}.salvage")
    for suffix in ("", "-wal", "-shm"):
        Path(str(building) + suffix).unlink(missing_ok=True)
    new = store.connect(building)  # a fresh, empty library database
    try:
        os.chmod(building, 0o600)
        new.execute("PRAGMA foreign_keys = OFF")  # rows arrive before what they point at
        counts = _copy_readable(db, new)
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
    done = [f"moved the damaged database aside as {kept_as.name} (delete it once you are "
            "satisfied)"]
    kept = ", ".join(f"{n} {table}" for table, (n, _) in counts.items() if n)
    lost = ", ".join(f"{total - n} {table}" for table, (n, total) in counts.items()
                     if total > n)
    done.append(f"salvaged into a new database: {kept or 'nothing readable'}"
                + (f"; lost: {lost}" if lost else "")
                + (f"; {orphans} rows pointing at lost rows dropped" if orphans else ""))
    for path in library_dir.glob("index-*"):
        path.unlink(missing_ok=True)
    try:
        clear_cache(library_dir)
    except OSError:
        pass
    (library_dir / "thumbnails" / "library-id").unlink(missing_ok=True)
    done.append("deleted the index and thumbnails: they are rebuilt from the new database")
    clear_damage(library_dir)
    return done


# Tables copied by salvage, parents first (the new database has the current schema).
_SALVAGED = ("meta", "folders", "photos", "people", "faces", "rejections", "not_same",
             "operations", "scan_notes")


def _copy_readable(old_path: Path, new: sqlite3.Connection) -> dict[str, tuple[int, int]]:
    """Rows copied per table: (copied, rows the table seemed to hold)."""
    counts: dict[str, tuple[int, int]] = {}
    try:
        old = sqlite3.connect(f"file:{pathname2url(str(old_path))}?mode=ro", uri=True)
        old.execute("SELECT 1 FROM sqlite_master").fetchall()
    except sqlite3.Error:
        return counts  # empty, or not a database any more: nothing to read
    try:
        for table in _SALVAGED:
            try:
                columns = [r[1] for r in old.execute(f"PRAGMA table_info({table})")]
            except sqlite3.Error:
                continue
            wanted = [c for c in columns
                      if c in {r[1] for r in new.execute(f"PRAGMA table_info({table})")}]
            if not wanted:
                continue
            rows = _readable_rows(old, table, wanted)
            verb = "INSERT OR REPLACE" if table == "meta" else "INSERT OR IGNORE"
            new.execute("BEGIN")
            new.executemany(f"{verb} INTO {table}({', '.join(wanted)}) VALUES "
                            f"({', '.join('?' * len(wanted))})", rows)
            new.execute("COMMIT")
            counts[table] = (len(rows), max(len(rows), _guess_rows(old, table)))
    finally:
        old.close()
    return counts


def _readable_rows(old: sqlite3.Connection, table: str, columns: list[str]) -> list[tuple]:
    select = f"SELECT {', '.join(columns)} FROM {table}"
    try:
        return old.execute(select).fetchall()
    except sqlite3.DatabaseError:
        pass
    top = _guess_rows(old, table, highest=True)
    rows = []
    for start in range(1, top + 1, 100):  # by rowid ranges, then row by row where broken
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
                continue
    return rows


def _guess_rows(old: sqlite3.Connection, table: str, highest: bool = False) -> int:
    for sql in (f"SELECT max(rowid) FROM {table}",
                "SELECT seq FROM sqlite_sequence WHERE name = ?"):
        try:
            row = old.execute(sql, (table,) if "?" in sql else ()).fetchone()
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


# -- start-up after an unclean shutdown -------------------------------------------------------
SESSION_NAME = "app.running"


def begin_session(library_dir: Path) -> bool:
    """Note that the app has the library open; True when the last session did not end
    cleanly (its note is still there and its process is gone): time for a check."""
    from .privacy import _alive, write_private  # noqa: PLC0415

    note = library_dir / SESSION_NAME
    unclean = False
    try:
        pid = int(json.loads(note.read_text(encoding="utf-8")).get("pid", 0))
        unclean = not _alive(pid)
    except FileNotFoundError:
        pass
    except (OSError, ValueError, AttributeError):
        unclean = True
    try:
        write_private(note, json.dumps({"pid": os.getpid(), "at": time.time()}).encode())
    except OSError:
        pass
    return unclean


def end_session(library_dir: Path) -> None:
    (library_dir / SESSION_NAME).unlink(missing_ok=True)
