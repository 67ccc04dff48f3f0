"""The thumbnail cache's layout, its owner, and pruning the crops of faces and photos that are gone.

The app writes the cache (app/thumbnails.py); the library prunes it whenever faces or photos
leave (Library.sync_indexes), and forget.py deletes it whole. No import of library.py here,
so both can use it.

The cache is inside the library folder, a trust boundary: a link at `thumbnails`,
`thumbnails/faces` or `thumbnails/photos` (a cache moved to another disk, or a trap) is never
followed. Listing and deleting go through directory file descriptors opened with O_NOFOLLOW,
so a link swapped in between two steps is not followed either; a linked cache is not used
(`linked_cache` says why) and "forget" refuses to claim it erased crops it cannot reach.
`thumbnails/library-id` names the library whose faces the crops show: face ids restart in a
new database, so a cache left by another database is emptied, never shown.
"""
from __future__ import annotations

import os
import re
import stat
from pathlib import Path

# The app's cache layout (app/thumbnails.py writes it): thumbnails/faces/<face id>.jpg (face
# ids are never reused, so a crop stays valid) and thumbnails/photos/<photo id>-<stamp>.jpg
# (photo ids can be reused and files edited: the stamp hashes path, size and mtime).
THUMBNAILS = "thumbnails"
FACES = "faces"
PHOTOS = "photos"
OWNER_NAME = "library-id"
_FACE_FILE = re.compile(r"(\d+)\.jpg")
_PHOTO_FILE = re.compile(r"(\d+)-[0-9a-f]+\.jpg")
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)


def linked_cache(library_dir: Path) -> str | None:
    """Why the cache cannot be used (a link in it), or None."""
    for part in (Path(THUMBNAILS), Path(THUMBNAILS, FACES), Path(THUMBNAILS, PHOTOS)):
        path = library_dir / part
        if path.is_symlink():
            return (f"{part} in the library is a link (to {os.readlink(path)}): Facefolio "
                    "never follows links out of the library, so the thumbnail cache is not "
                    "used; remove the link to cache thumbnails again")
    return None


def open_cache_dir(library_dir: Path, *parts: str) -> int | None:
    """A file descriptor of library_dir/thumbnails/<parts>, each step opened without
    following a link; None when a step is missing. Raises OSError on a link."""
    fd = os.open(library_dir, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        for name in (THUMBNAILS, *parts):
            try:
                child = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                return None
            os.close(fd)
            fd = child
        result, fd = fd, -1
        return result
    finally:
        if fd >= 0:
            os.close(fd)


def claim_thumbnails(library, created: bool) -> list[str]:
    """Make sure the cache shows this library's faces: empty a cache of another database
    (or one found beside a database made just now), then sign it. Problems, one line each."""
    linked = linked_cache(library.path)
    if linked:
        return [linked]
    root = library.path / THUMBNAILS
    if library.library_id is None or not root.is_dir():
        return []
    try:
        owner = (root / OWNER_NAME).read_text(encoding="ascii").strip()
    except FileNotFoundError:
        owner = None
    except (OSError, UnicodeError):
        owner = ""
    try:
        if owner != library.library_id:
            if owner is not None or created:
                clear_cache(library.path)
            from .privacy import write_private  # noqa: PLC0415 - privacy imports nothing
            write_private(root / OWNER_NAME, library.library_id.encode("ascii"))
    except OSError as exc:
        return [f"the thumbnail cache cannot be checked: {exc.strerror or exc}"]
    return []


def clear_cache(library_dir: Path) -> int:
    """Delete every file of the cache (the folders stay), never through a link. Returns how
    many went; raises OSError when the cache holds a link (nothing is followed)."""
    removed = 0
    for sub in (FACES, PHOTOS):
        fd = open_cache_dir(library_dir, sub)
        if fd is None:
            continue
        try:
            removed += _unlink_all(fd, lambda name: True)
        finally:
            os.close(fd)
    return removed


def prune_thumbnails(library) -> int:
    """Delete face crops and photo thumbnails whose face or photo no longer exists (and older
    thumbnails of a photo that has a newer one, and temp files left by a crash). Returns how
    many files went. Safe beside running thumbnail tasks: files are listed before the ids are
    read, so the crop of a face added meanwhile is never taken for an orphan. A linked cache
    is left alone (nothing outside the library is touched)."""
    if getattr(library, "readonly", False) or linked_cache(library.path):
        return 0
    try:
        face_fd = open_cache_dir(library.path, FACES)
        photo_fd = open_cache_dir(library.path, PHOTOS)
    except OSError:
        return 0  # a link swapped in: not ours to prune
    try:
        face_files = _listing(face_fd)
        photo_files = _listing(photo_fd)
        faces = {r[0] for r in library.con.execute("SELECT id FROM faces")}
        photos = {r[0] for r in library.con.execute("SELECT id FROM photos")}
        doomed_faces = set()
        for name, _ in face_files:
            m = _FACE_FILE.fullmatch(name)
            if m is None or int(m.group(1)) not in faces:
                doomed_faces.add(name)
        doomed_photos = set()
        newest: dict[int, tuple[str, int]] = {}
        for name, mtime in photo_files:
            m = _PHOTO_FILE.fullmatch(name)
            if m is None or int(m.group(1)) not in photos:
                doomed_photos.add(name)
                continue
            other = newest.setdefault(int(m.group(1)), (name, mtime))
            if other[0] != name:  # keep the newest version of the photo
                older, newer = sorted((other, (name, mtime)), key=lambda e: e[1])
                newest[int(m.group(1))] = newer
                doomed_photos.add(older[0])
        removed = 0
        if face_fd is not None:
            removed += _unlink_all(face_fd, doomed_faces.__contains__)
        if photo_fd is not None:
            removed += _unlink_all(photo_fd, doomed_photos.__contains__)
        return removed
    finally:
        for fd in (face_fd, photo_fd):
            if fd is not None:
                os.close(fd)


def _listing(fd: int | None) -> list[tuple[str, int]]:
    """(name, mtime_ns) of the regular files in the folder open as fd."""
    if fd is None:
        return []
    out = []
    with os.scandir(fd) as entries:
        for entry in entries:
            if entry.is_file(follow_symlinks=False):
                out.append((entry.name, entry.stat(follow_symlinks=False).st_mtime_ns))
    return out


def _unlink_all(fd: int, wanted) -> int:
    """Unlink the entries of the folder open as fd that `wanted(name)` picks: files and links
    themselves (a link is removed, never its target); sub-folders are left."""
    removed = 0
    for name in os.listdir(fd):
        if not wanted(name):
            continue
        try:
            if stat.S_ISDIR(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode):
                continue
            os.unlink(name, dir_fd=fd)
            removed += 1
        except FileNotFoundError:
            pass
    return removed


# -- writing pictures ---------------------------------------------------------------------------
def photo_tile_path(cache_dir: Path, photo_id: int, photo_path: str) -> Path:
    """Where a photo's tile is kept. Photo ids can be reused and files edited: the name
    carries path, size and mtime (and the way tiles are cut: "faces", around the faces)."""
    import hashlib  # noqa: PLC0415

    try:
        st = os.stat(photo_path)
        stamp = f"{photo_path}:{st.st_size}:{st.st_mtime_ns}:faces"
    except OSError:
        stamp = photo_path
    digest = hashlib.blake2b(stamp.encode(errors="surrogateescape"), digest_size=8).hexdigest()
    return cache_dir / PHOTOS / f"{photo_id}-{digest}.jpg"


def still_there(library, epoch: int, kind: str, item_id: int) -> bool:
    from . import store  # noqa: PLC0415

    if store.epoch(library.con) != epoch:
        return False  # "forget" ran, in this process or another
    return library.has_face(item_id) if kind == "face" else library.has_photo(item_id)


def _keep(library, wanted: list[tuple[Path, bytes]], still) -> int:
    """Write cached pictures (path, JPEG bytes) while `still()` holds: owner-only, never
    through a link out of the library, no fsync (a file cut short by a crash is only made
    again). "forget" deletes the cache after it moves the epoch: if it ran while we wrote,
    a picture may have landed after that deletion, so `still()` is asked again afterwards,
    also when a write failed, and what was written is taken back. Returns how many stay;
    OSError when one cannot be written (a cache only costs speed: the caller says so)."""
    from . import privacy  # noqa: PLC0415

    if not wanted or linked_cache(Path(library.path)) or not still():
        return 0
    privacy.private_dir(Path(library.path) / THUMBNAILS)
    for folder in {path.parent for path, _data in wanted}:
        privacy.private_dir(folder)
    written: list[Path] = []
    try:
        for path, data in wanted:
            privacy.write_private(path, data, durable=False)
            written.append(path)
    finally:
        if not still():
            for path in written:
                path.unlink(missing_ok=True)
            written.clear()
    return len(written)


def keep_picture(library, epoch: int, kind: str, item_id: int, path: Path,
                 data: bytes) -> bool:
    """Cache a face's crop or a photo's tile, unless it is gone or "forget" ran."""
    return bool(_keep(library, [(path, data)],
                      lambda: still_there(library, epoch, kind, item_id)))


def keep_scan_pictures(library, photo_id: int, photo_path: str, face_ids: list[int],
                       crops: list[bytes | None], tile: bytes | None) -> int:
    """The crops and the tile a scan worker cut from the pixels it analysed, cached for the
    faces just stored (`face_ids`, in the worker's order): the app then never decodes the
    photo again to show them. Returns how many were written.

    Called by the library's writer right after it stored those faces, so they exist; what
    can happen meanwhile is a "forget" in another process, which moves the epoch: looked at
    once before and once after the photo's writes, not per picture."""
    from . import store  # noqa: PLC0415

    cache_dir = Path(library.path) / THUMBNAILS
    wanted = [(cache_dir / FACES / f"{face_id}.jpg", data)
              for face_id, data in zip(face_ids, crops) if data]
    if tile:
        wanted.append((photo_tile_path(cache_dir, photo_id, photo_path), tile))
    return _keep(library, wanted, lambda: store.epoch(library.con) == library.epoch)
