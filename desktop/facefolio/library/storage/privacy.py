"""Owner-only files: a library holds biometric data, so nobody else on the machine may read it.

The library folder is 0700 and every file Facefolio writes into it 0600, whatever the umask
(SQLite gives its -wal and -shm files the database file's mode, so creating the database 0600
covers them). On Windows the modes are mostly advisory: the user's profile folder is already
private there. Exports the user asks for (photos, CSV) are not library files and keep the
normal permissions.
"""
from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
import time
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> None:
    """Create `path` (and parents) if needed; make it owner-only."""
    path.mkdir(parents=True, exist_ok=True)
    _chmod(path, DIR_MODE)


def private_file(path: Path) -> bool:
    """Create an empty owner-only file if missing (True), else make the existing one
    owner-only (False)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        _chmod(path, FILE_MODE)
        return False
    os.close(fd)
    return True


def write_private(path: Path, data: bytes, *, durable: bool = True,
                  mode: int = FILE_MODE) -> None:
    """Write `data` to `path` atomically: a temp file beside it (owner-only, named after this
    process so a later run can tell a dead writer's leftover), written, checked to hold every
    byte (a full disk must never replace a good file by a short one), then renamed over it.

    `durable=False` skips the fsyncs: for caches (thumbnails) that are rebuilt when a crash
    leaves them short, and that are written too often to wait for the disk. `mode` is the
    file's final mode (a photo or sidecar the user owns keeps its own).
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=temp_prefix(path.name), suffix=".tmp")
    try:  # mkstemp creates the file 0600
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
            check_size(fh.fileno(), len(data), tmp)
        if mode != FILE_MODE:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if durable:
        sync_dir(path.parent)


def temp_prefix(name: str) -> str:
    """The prefix of this process's temp files for `name` (see stale_temps)."""
    return f".{name}.ff{os.getpid()}-"


def check_size(fd: int, expected: int, what: str | os.PathLike) -> None:
    size = os.fstat(fd).st_size
    if size != expected:
        raise OSError(errno.ENOSPC, f"short write ({size} of {expected} bytes)", str(what))


def sync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable (where the platform allows it)."""
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


_TEMP = re.compile(r"\.(?P<name>.+)\.(?:ff(?P<pid>\d+)-)?[a-z0-9_]+\.tmp")
_OLD_TEMP_AGE = 600.0  # seconds: a temp file without a writer's pid this old is a leftover


def stale_temps(folder: Path, name: str | None = None) -> list[Path]:
    """Temp files in `folder` (of `name`, or of any file) left by writers that died: their
    process is gone, or (older names, without a pid) they are older than ten minutes. Never
    follows a link; only regular files."""
    out = []
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return out
    for entry in entries:
        m = _TEMP.fullmatch(entry.name)
        if m is None or (name is not None and m["name"] != name):
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            if m["pid"] is not None:
                if _alive(int(m["pid"])):
                    continue
            elif now - entry.stat(follow_symlinks=False).st_mtime < _OLD_TEMP_AGE:
                continue
        except OSError:
            continue
        out.append(Path(entry.path))
    return out


def remove_stale_temps(folder: Path, name: str | None = None) -> int:
    removed = 0
    for path in stale_temps(folder, name):
        try:
            path.unlink()
            removed += 1
        except OSError:
            pass
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's process: alive
    return True


# A full walk costs 170 ms at 20,000 thumbnails and grows with the library (DIR holding
# 20,000 files: `python -c "import sys, time, pathlib; from facefolio.library.storage.privacy
# import tighten; t = time.perf_counter(); tighten(pathlib.Path(sys.argv[1])); print(
# time.perf_counter() - t)" DIR`), and every process and every task of the app opens its own
# Library. So a library walks in full once (Library records it in the database) and later
# opens look only at its folder's own entries and their sub-folders (`deep=False`, well under
# a millisecond): what Facefolio writes below them is created owner-only, and what loosens
# files wholesale (an unzip, a copy under a loose umask) loosens those too, which makes the
# walk go on in full. `facefolio check --repair` always walks in full.


def tighten(folder: Path, *, deep: bool = True) -> list[str]:
    """Make every folder and file below `folder` owner-only; the ones that could not be.

    `deep=False` looks at `folder`, its own entries and their sub-folders (not what is in
    those), and walks in full only if one of them was loose.

    `folder` itself may be a link (a library kept on another disk); nothing below it is
    followed: os.fwalk works through directory descriptors, and each entry is changed through
    a descriptor opened with O_NOFOLLOW, so a link never has its target's mode changed.
    """
    if not folder.is_dir():
        return []
    key = os.path.realpath(folder)
    if not deep:
        problems, loosened = _shallow(key)
        if not loosened:
            return problems
    problems = []
    for root, dirs, files, root_fd in os.fwalk(key, follow_symlinks=False):
        problems += [p for p in [_fix_fd(root_fd, root, DIR_MODE)] if p]
        problems += [p for p in (_fix(root_fd, root, f, FILE_MODE) for f in files) if p]
    return problems


def _shallow(key: str) -> tuple[list[str], bool]:
    """`tighten(deep=False)`'s look: (problems, whether anything was loose)."""
    problems: list[str] = []
    loosened = False
    for root, dirs, files, root_fd in os.fwalk(key, follow_symlinks=False):
        loosened |= bool(stat.S_IMODE(os.fstat(root_fd).st_mode) & 0o077)
        problems += [p for p in [_fix_fd(root_fd, root, DIR_MODE)] if p]
        if root == key:
            for name in files:
                loosened |= _loose(root_fd, name)
                problems += [p for p in [_fix(root_fd, root, name, FILE_MODE)] if p]
        for name in dirs:
            loosened |= _loose(root_fd, name)
            problems += [p for p in [_fix(root_fd, root, name, DIR_MODE)] if p]
        if root != key:
            dirs.clear()  # the sub-folders' own modes, not what is in them
    return problems, loosened


def _loose(dir_fd: int, name: str) -> bool:
    """Whether the entry is readable by others (a link is never changed: not loose); an entry
    gone since the folder was listed (another save's temp file renamed) is not."""
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return not stat.S_ISLNK(st.st_mode) and bool(stat.S_IMODE(st.st_mode) & 0o077)


def _fix_fd(fd: int, path: str, mode: int) -> str | None:
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) & 0o077:
            os.fchmod(fd, mode)
    except OSError as exc:
        return f"{path}: {exc.strerror or exc}"
    return None


def _fix(dir_fd: int, root: str, name: str, mode: int) -> str | None:
    """Make one entry owner-only (links are left alone); the problem, if any."""
    path = os.path.join(root, name)
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        if stat.S_ISLNK(st.st_mode) or not stat.S_IMODE(st.st_mode) & 0o077:
            return None
        # Without a descriptor where the system can (fchmodat, never through a link):
        # closing one of the database's descriptors would drop this process's SQLite
        # locks on it (store._read_header says why that loses writes).
        try:
            os.chmod(name, mode, dir_fd=dir_fd, follow_symlinks=False)
            return None
        except (NotImplementedError, OSError) as exc:
            if isinstance(exc, OSError) and exc.errno not in (errno.ENOTSUP, errno.EOPNOTSUPP):
                raise
        flags = os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0)
        try:
            fd = os.open(name, flags, dir_fd=dir_fd)
        except PermissionError:  # unreadable to us, still ours to chmod
            os.chmod(name, mode, dir_fd=dir_fd)
            return None
        try:
            os.fchmod(fd, mode)
        finally:
            os.close(fd)
    except FileNotFoundError:
        return None  # gone since the folder was listed (a save's temp file renamed)
    except OSError as exc:
        return f"{path}: {exc.strerror or exc}"
    return None


def _chmod(path: Path, mode: int) -> None:
    try:
        if stat.S_IMODE(path.stat().st_mode) != mode:
            os.chmod(path, mode)
    except OSError:
        pass  # not ours to change (a shared folder): `tighten` reports it on open
