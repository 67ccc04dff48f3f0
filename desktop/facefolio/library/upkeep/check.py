"""`facefolio check [--repair]`: is every file of the library what it should be?

Looked at: the database (SQLite quick_check, foreign keys), each index against the database
(library id, checksum, the faces it holds), the thumbnail cache against the faces (owner,
links, orphans), permissions (owner-only), and temp files left by saves that were cut short.
`--repair` rebuilds what is derived (indexes, thumbnails), deletes leftovers, tightens modes,
and for a damaged database salvages what can still be read into a new one (salvage.py; the
old file is kept beside it as library.sqlite3.damaged-<time>), saying what was kept.
The note a damaged database leaves in the folder is storage/damage.py's.
"""
from __future__ import annotations

import json
import os
import sqlite3
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..storage.store import pathname2url
from ..storage.damage import clear_damage, damage_note, mark_damaged
from ..storage.errors import LibraryError


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
    from ..storage import store  # noqa: PLC0415 - store imports nothing of ours at module level

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
        from .salvage import salvage  # noqa: PLC0415 - salvage imports this module

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
    from ..storage import store  # noqa: PLC0415

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
        except LibraryError as exc:
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
    from ..indexes import forget_cached_indexes
    from ..library import Library  # noqa: PLC0415
    from ..storage import index as index_module  # noqa: PLC0415
    from ..storage import (
        privacy,  # noqa: PLC0415
        store,
        thumbcache,
    )

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
    from ..storage import store  # noqa: PLC0415
    from ..storage.index import FaceIndex, ForeignIndex, ForgottenIndex  # noqa: PLC0415

    if not path.exists():
        return None  # made at the next search: nothing wrong
    try:
        index = FaceIndex.load(path, library._dim(pack), epoch=library.epoch,
                               library_id=lib_id)
    except ForeignIndex:
        return "saved by another database: not used"
    except ForgottenIndex:
        return "saved before 'forget': not used"
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the same finding
        return f"unreadable ({exc})"
    if not index.matches(con, pack):
        return "its vectors are not the faces' own"
    in_db = {r[0] for r in con.execute("SELECT id FROM faces WHERE pack = ?", (pack,))}
    if index.generation < 0:
        return "its metadata describes another save"
    if index.generation == store.faces_generation(con) and index.ids() != in_db:
        return f"holds {len(index)} faces, the database {len(in_db)}"
    return None


def _orphan_crops(library) -> int:
    from ..storage.thumbcache import _FACE_FILE, _PHOTO_FILE, FACES, PHOTOS, THUMBNAILS  # noqa: PLC0415

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


# -- start-up after an unclean shutdown -------------------------------------------------------
SESSION_NAME = "app.running"


def begin_session(library_dir: Path) -> bool:
    """Note that the app has the library open; True when the last session did not end
    cleanly (its note is still there and its process is gone): time for a check."""
    from ..storage.privacy import _alive, write_private  # noqa: PLC0415

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
