"""What went wrong, in one line for the user: disk full, read-only media, permissions, I/O,
a damaged database. The CLI prints `describe(...)` (exit 1) and the app shows it.

Every change to the database is one transaction, so a failure in the middle of one leaves it
absent ("nothing was changed"); a command made of many (a scan: one per photo) keeps what it
finished before ("what was finished is kept").
"""
from __future__ import annotations

import errno
import os
import shutil
import sqlite3
from pathlib import Path

from ..storage.damage import damage_note, mark_damaged
from .store import display_path


def describe(exc: BaseException, library_dir: Path | None, *, partial: bool = False,
             readonly_reason: str | None = None, generic: bool = True) -> str | None:
    """One line for an OSError or sqlite3.Error met while working on a library (with
    generic=False, None for one that is not a disk, permission, I/O or damage failure)."""
    where = display_path(library_dir) if library_dir is not None else "the library"
    outcome = ("what was finished before is kept; run it again to go on" if partial
               else "nothing was changed")
    text = str(exc)
    code = getattr(exc, "errno", None)
    filename = getattr(exc, "filename", None)
    full = code in (errno.ENOSPC, errno.EDQUOT) or "database or disk is full" in text
    if not full and ("disk I/O error" in text or code == errno.EIO) and library_dir:
        # SQLite reports a full disk met while growing its shared-memory file as I/O.
        full = _free_bytes(library_dir) < 256 << 10
    if full:
        return f"the disk holding the library {where} is full{_free(library_dir)}; {outcome}"
    if code == errno.EROFS or "readonly database" in text or "read-only" in text:
        why = f" ({readonly_reason})" if readonly_reason else ""
        return f"the library {where} is read-only{why}: changes cannot be saved; {outcome}"
    if code in (errno.EACCES, errno.EPERM) or "unable to open database" in text:
        what = display_path(filename) if filename else where
        return (f"permission denied writing {what}: the library folder must belong to you "
                f"and be writable; {outcome}")
    if code == errno.EIO or "disk I/O error" in text:
        what = display_path(filename) if filename else where
        return (f"input/output error on {what}: the disk may be failing or was unplugged; "
                f"{outcome} (then run 'facefolio check')")
    if isinstance(exc, sqlite3.DatabaseError) and (
            "malformed" in text or "not a database" in text or "corrupt" in text):
        stopped = library_dir is not None and mark_damaged(library_dir, text)
        return (f"the library database in {where} is damaged ({text}): "
                + ("further changes are refused until " if stopped else "run ")
                + "'facefolio check --repair'")
    if not generic:
        return None
    if "database is locked" in text or "database table is locked" in text:
        return (f"the library {where} is busy: another program holds its write lock; "
                f"{outcome}; try again")
    if isinstance(exc, OSError):
        what = display_path(filename) if filename else where
        return f"{what}: {exc.strerror or text}; {outcome}"
    return f"library database error in {where}: {text}; {outcome}"


def one_line(exc: BaseException, library_dir: Path | None, *, partial: bool = False) -> str:
    """Any failure as one line: `describe` for disk, permission, I/O and database errors,
    else the first line of the exception's own message (a LibraryError's is for the user)."""
    if isinstance(exc, (OSError, sqlite3.Error)):
        said = describe(exc, library_dir, partial=partial,
                        readonly_reason=_readonly_reason(library_dir), generic=False)
        if said is not None:
            return said
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _readonly_reason(library_dir: Path | None) -> str | None:
    if library_dir is None:
        return None
    note = damage_note(library_dir)
    if note:
        return f"its database is damaged ({note}): run 'facefolio check --repair'"
    if _free_bytes(library_dir) < 256 << 10:
        return f"the disk holding it is full{_free(library_dir)}"
    if not os.access(library_dir, os.W_OK):
        return "its folder cannot be written (a read-only disk, or permissions)"
    return None


def _free_bytes(library_dir: Path) -> int:
    try:
        return shutil.disk_usage(library_dir).free
    except OSError:
        return 1 << 62


def _free(library_dir: Path | None) -> str:
    if library_dir is None:
        return ""
    try:
        free = shutil.disk_usage(library_dir).free
    except OSError:
        return ""
    return f": {human_bytes(free)} free"


def human_bytes(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.0f} {unit}"
        n /= 1024
    return f"{n:.0f} TB"  # pragma: no cover
