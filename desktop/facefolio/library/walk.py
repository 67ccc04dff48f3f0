"""Listing the image files below a folder, safely: symlink loops, odd names, vanishing files."""
from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..engine import IMAGE_EXTENSIONS


@dataclass(frozen=True)
class FileEntry:
    path: str
    folder_id: int
    size: int = 0
    mtime_ns: int = 0
    problem: str | None = None  # the file is listed but cannot be read: this is why
    error: str | None = None  # not a file: the folder itself could not be fully read


def walk_folder(root: Path, folder_id: int, skip: frozenset[str] = frozenset()
                ) -> Iterator[FileEntry]:
    """Every image file below root (hidden files and folders in `skip` left out).

    Folder symlinks are followed once: a folder already visited (same device and inode) is
    not entered again, which is what breaks symlink loops.
    """
    visited: set[tuple[int, int]] = set()
    errors: list[str] = []

    def on_error(exc: OSError) -> None:
        errors.append(f"cannot read {exc.filename}: {exc.strerror or exc}")

    for dirpath, dirnames, filenames in os.walk(root, onerror=on_error, followlinks=True):
        try:
            st = os.stat(dirpath)
        except OSError:
            dirnames[:] = []
            continue
        if (st.st_dev, st.st_ino) in visited:
            dirnames[:] = []
            continue
        visited.add((st.st_dev, st.st_ino))
        dirnames[:] = sorted(d for d in dirnames
                             if not d.startswith(".") and os.path.join(dirpath, d) not in skip)
        for name in sorted(filenames):
            if name.startswith(".") or os.path.splitext(name)[1].lower() not in IMAGE_EXTENSIONS:
                continue
            yield _entry(os.path.join(dirpath, name), folder_id)
    for message in errors:
        yield FileEntry(path=str(root), folder_id=folder_id, error=message)


def _entry(path: str, folder_id: int) -> FileEntry:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            return FileEntry(path, folder_id, problem="broken symbolic link "
                             f"(points to {os.readlink(path)})")
        return FileEntry(path, folder_id, problem="file disappeared during the scan")
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return FileEntry(path, folder_id, problem="symbolic link loop")
        return FileEntry(path, folder_id, problem=f"cannot read file: {exc.strerror or exc}")
    if not os.path.isfile(path):
        return FileEntry(path, folder_id, problem="not a regular file")
    return FileEntry(path, folder_id, size=st.st_size, mtime_ns=st.st_mtime_ns)
