"""Listing the image files below a folder, safely: symlink loops, odd names, vanishing files,
and the difference between "not there" and "cannot be read right now".

A file or folder that cannot be read for any reason but "it does not exist" (EACCES, EIO, a
stale NFS handle, a symlink into an unplugged drive) is reported as such, so the scanner keeps
what it knows about it instead of deleting it.
"""
from __future__ import annotations

import errno
import os
import stat
from collections import Counter
from collections.abc import Container, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from ...engine import IMAGE_EXTENSIONS
from ...engine.formats import VIDEO_EXTENSIONS, unread_type
from ..interop.pairs import is_live_video, photo_names, sidecar_mtime

_GONE = (errno.ENOENT, errno.ENOTDIR)


@dataclass(frozen=True)
class FileEntry:
    path: str
    folder_id: int
    size: int = 0
    mtime_ns: int = 0
    inode: int | None = None
    problem: str | None = None  # the file is listed but cannot be read: this is why
    transient: bool = False  # ... and it may come back (permission, I/O error, dead link)
    error: str | None = None  # not a file: this folder (`path`) could not be listed


def folder_problem(root: str) -> str | None:
    """Why a remembered folder cannot be scanned right now, or None when it can be listed."""
    try:
        st = os.stat(root)
    except OSError as exc:
        if exc.errno in _GONE:
            return "folder not found (drive unplugged, or folder moved or deleted?)"
        return f"cannot read folder: {exc.strerror or exc}"
    if not stat.S_ISDIR(st.st_mode):
        return "not a folder any more"
    try:
        with os.scandir(root) as it:
            next(it, None)
    except OSError as exc:
        return f"cannot read folder: {exc.strerror or exc}"
    return None


def walk_folder(root: Path | str, folder_id: int, skip: frozenset[str] = frozenset(),
                skip_dirs: frozenset[tuple[int, int]] = frozenset(),
                unread: Counter | None = None, known: Container[str] = ()
                ) -> Iterator[FileEntry]:
    """Every image and video file below root (hidden files, folders in `skip` by path and
    folders in `skip_dirs` by (device, inode) left out), then one entry per folder that could
    not be read.
    Every other file is counted by type in `unread` ({'.psd': 10}), when given. `known`:
    the paths the library has as photos (which file of a RAW+JPEG pair is the photo).

    Folder symlinks are followed once: a folder already visited (same device and inode) is
    not entered again, which is what breaks symlink loops.
    """
    visited: set[tuple[int, int]] = set(skip_dirs)
    errors: list[FileEntry] = []

    def on_error(exc: OSError) -> None:
        where = exc.filename or str(root)
        errors.append(FileEntry(path=os.fspath(where), folder_id=folder_id,
                                error=f"cannot read {where}: {exc.strerror or exc}"))

    for dirpath, dirnames, filenames in os.walk(root, onerror=on_error, followlinks=True):
        try:
            st = os.stat(dirpath)
        except OSError as exc:
            on_error(exc if exc.filename else OSError(exc.errno, exc.strerror, dirpath))
            dirnames[:] = []
            continue
        if (st.st_dev, st.st_ino) in visited:
            dirnames[:] = []
            continue
        visited.add((st.st_dev, st.st_ino))
        dirnames[:] = sorted(d for d in dirnames
                             if not d.startswith(".") and os.path.join(dirpath, d) not in skip)
        images, videos, others = [], [], []
        for name in sorted(filenames):
            ext = os.path.splitext(name)[1].lower()
            if name.startswith(".") or (ext not in IMAGE_EXTENSIONS
                                        and ext not in VIDEO_EXTENSIONS):
                others.append(name)
                continue
            (images if ext in IMAGE_EXTENSIONS else videos).append(name)
        # A Live Photo's MOV (named like a still beside it) is the still's motion part, not a
        # video of its own: chosen by name, like pairs.companions does.
        stems = {os.path.splitext(n)[0].casefold() for n in images}
        videos = [n for n in videos if not is_live_video(n, stems)]
        if unread is not None:
            _count_unread(others, images, unread)
        # The RAW of a RAW+JPEG pair is a file of its JPEG's photo, not a photo (pairs.py).
        photos = photo_names(dirpath, images, known)
        twins = _twins(images, photos)
        present = {n for n in others if n.lower().endswith(".xmp")}
        for name in photos:
            entry = _entry(os.path.join(dirpath, name), folder_id)
            side = sidecar_mtime(dirpath, name, present, twins.get(name, [])) \
                if present else 0
            # A newer sidecar counts as a change of the photo's metadata (a refresh, not a
            # new analysis: the image's fingerprint is the same).
            yield replace(entry, mtime_ns=side) if side > entry.mtime_ns and \
                entry.problem is None else entry
        for name in videos:  # Facefolio writes no sidecar for a video, but reads its date
            entry = _entry(os.path.join(dirpath, name), folder_id)
            side = sidecar_mtime(dirpath, name, present, []) if present else 0
            yield replace(entry, mtime_ns=side) if side > entry.mtime_ns and \
                entry.problem is None else entry
    yield from errors


def _twins(images: list[str], photos: list[str]) -> dict[str, list[str]]:
    """photo name -> the RAW files of its shot that are not photos of their own."""
    kept = set(photos)
    by_stem: dict[str, str] = {os.path.splitext(n)[0].casefold(): n for n in photos}
    out: dict[str, list[str]] = {}
    for name in images:
        if name not in kept:
            owner = by_stem.get(os.path.splitext(name)[0].casefold())
            if owner is not None:
                out.setdefault(owner, []).append(name)
    return out


def _count_unread(others: list[str], images: list[str], unread: Counter) -> None:
    """Never silently dropped: every file the scan does not read, by type, for `status`
    (sidecars and a Live Photo's MOV are read with their photo, hidden files are not files
    of the user's)."""
    stems = {os.path.splitext(n)[0].casefold() for n in images}
    for name in others:
        kind = unread_type(name)
        if kind is not None and not is_live_video(name, stems):
            unread[kind] += 1


def _entry(path: str, folder_id: int) -> FileEntry:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            # Its target may be on a drive that is not plugged in: not a reason to forget it.
            return FileEntry(path, folder_id, transient=True, problem="broken symbolic link "
                             f"(points to {os.readlink(path)})")
        return FileEntry(path, folder_id, problem="file disappeared during the scan")
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return FileEntry(path, folder_id, problem="symbolic link loop")
        return FileEntry(path, folder_id, transient=True,
                         problem=f"cannot read file: {exc.strerror or exc}")
    if not os.path.isfile(path):
        return FileEntry(path, folder_id, problem="not a regular file")
    return FileEntry(path, folder_id, size=st.st_size, mtime_ns=st.st_mtime_ns,
                     inode=st.st_ino)


def gone(path: str) -> bool | None:
    """True when the file is really not there, False when it is, None when it cannot be
    told (an unreadable folder, an I/O error): the caller must then keep what it knows."""
    try:
        st = os.lstat(path)
    except OSError as exc:
        return True if exc.errno in _GONE else None
    return stat.S_ISDIR(st.st_mode)  # a folder of that name now: the photo is not there
