"""The thumbnail cache's layout, and pruning the crops of faces and photos that are gone.

The app writes the cache (app/thumbnails.py); the library prunes it whenever faces or photos
leave (Library.sync_indexes), and forget.py deletes it whole. No import of library.py here,
so both can use it.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

# The app's cache layout (app/thumbnails.py writes it): thumbnails/faces/<face id>.jpg (face
# ids are never reused, so a crop stays valid) and thumbnails/photos/<photo id>-<stamp>.jpg
# (photo ids can be reused and files edited: the stamp hashes path, size and mtime).
THUMBNAILS = "thumbnails"
FACES = "faces"
PHOTOS = "photos"
_FACE_FILE = re.compile(r"(\d+)\.jpg")
_PHOTO_FILE = re.compile(r"(\d+)-[0-9a-f]+\.jpg")


def prune_thumbnails(library) -> int:
    """Delete face crops and photo thumbnails whose face or photo no longer exists (and older
    thumbnails of a photo that has a newer one, and temp files left by a crash). Returns how
    many files went. Safe beside running thumbnail tasks: files are listed before the ids are
    read, so the crop of a face added meanwhile is never taken for an orphan."""
    root = library.path / THUMBNAILS
    face_files = _listing(root / FACES)
    photo_files = _listing(root / PHOTOS)
    faces = {r[0] for r in library.con.execute("SELECT id FROM faces")}
    photos = {r[0] for r in library.con.execute("SELECT id FROM photos")}
    doomed = []
    for entry in face_files:
        m = _FACE_FILE.fullmatch(entry.name)
        if m is None or int(m.group(1)) not in faces:
            doomed.append(entry.path)
    newest: dict[int, os.DirEntry] = {}
    for entry in photo_files:
        m = _PHOTO_FILE.fullmatch(entry.name)
        if m is None or int(m.group(1)) not in photos:
            doomed.append(entry.path)
            continue
        other = newest.setdefault(int(m.group(1)), entry)
        if other is not entry:  # keep the newest version of the photo
            older = min(other, entry, key=lambda e: e.stat().st_mtime_ns)
            newest[int(m.group(1))] = other if older is entry else entry
            doomed.append(older.path)
    removed = 0
    for path in doomed:
        try:
            os.unlink(path)
            removed += 1
        except FileNotFoundError:
            pass
    return removed


def _listing(folder: Path) -> list[os.DirEntry]:
    try:
        with os.scandir(folder) as entries:
            return [e for e in entries if e.is_file(follow_symlinks=False)]
    except FileNotFoundError:
        return []
