"""Owner-only files: a library holds biometric data, so nobody else on the machine may read it.

The library folder is 0700 and every file Facefolio writes into it 0600, whatever the umask
(SQLite gives its -wal and -shm files the database file's mode, so creating the database 0600
covers them). On Windows the modes are mostly advisory: the user's profile folder is already
private there. Exports the user asks for (photos, CSV) are not library files and keep the
normal permissions.
"""
from __future__ import annotations

import os
import stat
import tempfile
import threading
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> None:
    """Create `path` (and parents) if needed; make it owner-only."""
    path.mkdir(parents=True, exist_ok=True)
    _chmod(path, DIR_MODE)


def private_file(path: Path) -> None:
    """Create an empty owner-only file if missing, else make the existing one owner-only."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        _chmod(path, FILE_MODE)
    else:
        os.close(fd)


def write_private(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write `data` to `path` atomically (unique temp file, then rename), owner-only.

    `durable=False` skips the fsync: for caches (thumbnails, index metadata) that are rebuilt
    when a crash leaves them short, and that are written too often to wait for the disk.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:  # mkstemp creates the file 0600
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# Folders walked in full by this process without a problem. Every task of the app opens its
# own Library, and a full walk costs 170 ms at 20,000 thumbnails (DIR holding 20,000 files:
# `python -c "import sys, time, pathlib; from facefolio.library.privacy import tighten;
# t = time.perf_counter(); tighten(pathlib.Path(sys.argv[1])); print(time.perf_counter() - t)"
# DIR`), so later opens look only at the folder's own entries (0.2 ms): what Facefolio writes
# below them is created owner-only, and a new process walks again.
_WALKED: set[str] = set()
_WALKED_LOCK = threading.Lock()


def tighten(folder: Path) -> list[str]:
    """Make every folder and file below `folder` owner-only; the ones that could not be."""
    problems: list[str] = []
    if not folder.is_dir():
        return problems
    key = os.path.realpath(folder)
    with _WALKED_LOCK:
        shallow = key in _WALKED
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(root, d))]
        entries = [(root, DIR_MODE)] + [(os.path.join(root, f), FILE_MODE) for f in files]
        if shallow:  # the sub-folders themselves, not what is inside them
            entries += [(os.path.join(root, d), DIR_MODE) for d in dirs]
        problems += [p for p in (_fix(path, mode) for path, mode in entries) if p]
        if shallow:
            break
    if not problems:
        with _WALKED_LOCK:
            _WALKED.add(key)
    return problems


def _fix(path: str, mode: int) -> str | None:
    """Make one entry owner-only (links are left alone); the problem, if any."""
    try:
        st = os.lstat(path)
        if not stat.S_ISLNK(st.st_mode) and stat.S_IMODE(st.st_mode) & 0o077:
            os.chmod(path, mode)
    except OSError as exc:
        return f"{path}: {exc.strerror or exc}"
    return None


def _chmod(path: Path, mode: int) -> None:
    try:
        if stat.S_IMODE(path.stat().st_mode) != mode:
            os.chmod(path, mode)
    except OSError:
        pass  # not ours to change (a shared folder): `tighten` reports it on open
