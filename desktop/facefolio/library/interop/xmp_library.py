"""The library's faces and names, to and from XMP files: the regions another tool wrote are read
into a photo's faces at scan time (`import_regions`), the names given here are written into
sidecars (`export_library_xmp`, `write_photo_xmp`), and read back in bulk (`import_library_xmp`).
The file format itself (reading and writing MWG and Microsoft regions) is xmp.py's."""
from __future__ import annotations

import os
from pathlib import Path

from ..storage.store import fs_path
from ..storage.text import clean_name
from .pairs import companions
from .xmp import MIN_IOU, Region, XmpError, rewrite, iou_matrix, read_regions, write_regions


def import_regions(library, photo_id: int, regions: list[Region]) -> int:
    """Name the photo's detected faces after the regions they overlap; returns faces named.

    Each region takes at most one face (best overlaps first, IoU >= MIN_IOU). The naming itself
    is `People.import_names`, which checks every face again inside its transaction: a face the
    user placed (or ignored, or said is not a person of that name) is never touched, even if
    the user did so while this file was being read.
    """
    from ..people.people import People  # noqa: PLC0415 - people imports library; avoid a cycle

    regions = [r for r in regions if clean_name(r.name)]
    faces = [f for f in library.faces(photo_id=photo_id) if not f.ignored]
    if not regions or not faces:
        return 0
    overlap = iou_matrix([f.box for f in faces], [r.box for r in regions])
    pairs = sorted(((overlap[i, j], i, j) for i in range(len(faces))
                    for j in range(len(regions)) if overlap[i, j] >= MIN_IOU), reverse=True)
    used_faces: set[int] = set()
    used_regions: set[int] = set()
    names: dict[int, str] = {}
    for _, i, j in pairs:  # greedy best-first: a few faces per photo, no need for Hungarian
        if i in used_faces or j in used_regions:
            continue
        used_faces.add(i)
        used_regions.add(j)
        names[faces[i].id] = clean_name(regions[j].name)
    return People(library).import_names(photo_id, names)


def export_library_xmp(library, *, embed: bool = False
                       ) -> tuple[int, list[tuple[str, str]]] | tuple[int, int, list]:
    """Write the named faces of every photo to its sidecar: (sidecars written, [(path, why)]);
    with embed, (sidecars written, photos written, [(path, why)]): a photo that cannot take
    the names (not a JPEG, hard-linked) still has its sidecar, and is counted as such."""
    written, embedded, errors = 0, 0, []
    for photo_id, (path, width, height, regions) in _named_regions(library).items():
        try:
            _write_with_pair(Path(path), regions, width, height, False)
        except XmpError as exc:
            errors.append((path, str(exc)))
            continue
        written += 1
        if embed:
            try:
                rewrite(Path(path), regions, width, height, template=None)
            except XmpError as exc:
                errors.append((path, f"{exc} (its sidecar was written)"))
                continue
            embedded += 1
            _refresh_photo_row(library, photo_id, Path(path))
    return (written, embedded, errors) if embed else (written, errors)


def _named_regions(library, photo_id: int | None = None
                   ) -> dict[int, tuple[str, int, int, list[Region]]]:
    """photo id -> (path, width, height, named face regions), for one photo or all; never a
    video (its faces are each in a frame of their own: no region of one picture says them)."""
    where = "" if photo_id is None else f" AND ph.id = {int(photo_id)}"
    rows = library.con.execute(f"""
        SELECT ph.id, ph.path, ph.width, ph.height, pe.name, f.x, f.y, f.w, f.h
        FROM faces f JOIN photos ph ON ph.id = f.photo_id JOIN people pe ON pe.id = f.person_id
        WHERE pe.name IS NOT NULL AND ph.status = 'done' AND ph.media = 'photo'{where}
        ORDER BY ph.path, f.id""")
    photos: dict[int, tuple[str, int, int, list[Region]]] = {}
    for r in rows:
        entry = photos.setdefault(r[0], (fs_path(r[1]), r[2] or 0, r[3] or 0, []))
        entry[3].append(Region(r[4], (r[5], r[6], r[7], r[8])))
    return photos


def named_faces(library) -> dict[int, frozenset[tuple[int, str]]]:
    """photo id -> {(face id, name)}: compare two snapshots to find the sidecars to rewrite."""
    photos: dict[int, set[tuple[int, str]]] = {}
    for photo_id, face_id, name in library.con.execute(
            "SELECT f.photo_id, f.id, pe.name FROM faces f JOIN people pe "
            "ON pe.id = f.person_id WHERE pe.name IS NOT NULL"):
        photos.setdefault(photo_id, set()).add((face_id, name))
    return {k: frozenset(v) for k, v in photos.items()}


def write_photo_xmp(library, photo_id: int, *, embed: bool = False) -> Path | None:
    """Write one photo's named faces to its sidecar; None when it has no named face.

    A face whose name was taken away keeps its old region in the sidecar (write_regions only
    replaces regions it overlaps): other tools' names are never deleted by Facefolio.
    """
    found = _named_regions(library, photo_id).get(photo_id)
    if found is None:
        return None
    path, width, height, regions = found
    sidecar = _write_with_pair(Path(path), regions, width, height, embed)
    if embed:
        _refresh_photo_row(library, photo_id, Path(path))
    return sidecar


def _write_with_pair(path: Path, regions: list[Region], width: int, height: int,
                     embed: bool) -> Path:
    """The photo's sidecars, and those of the other files of its shot (the RAW of a RAW+JPEG
    pair: `IMG_0001.CR2.xmp`, or the shared `IMG_0001.xmp`), so every tool sees the names.
    Regions are normalised, so the RAW's slightly other pixel size does not move them."""

    sidecar = write_regions(path, regions, width, height, embed=embed)
    for other in companions(path):
        if other.kind in ("raw", "jpeg"):
            write_regions(Path(other.path), regions, width, height)
    return sidecar


def _refresh_photo_row(library, photo_id: int, path: Path) -> None:
    """After embedding, the photo's new size and mtime, so a scan does not even look at it
    (its fingerprint is the same: only metadata changed)."""
    from ..scan.identity import fingerprint  # noqa: PLC0415
    from ..storage.store import Transaction  # noqa: PLC0415

    stat = path.stat()
    with Transaction(library.con):
        library.con.execute("UPDATE photos SET size = ?, mtime_ns = ?, inode = ?, "
                            "fingerprint = ? WHERE id = ?",
                            (stat.st_size, stat.st_mtime_ns, stat.st_ino,
                             fingerprint(path), photo_id))


def import_library_xmp(library) -> tuple[int, list[tuple[str, str]]]:
    """Read the regions of every scanned photo and name faces: (faces named, [(path, why)])."""
    named, errors = 0, []
    for photo in library.photos(status="done"):
        if photo.is_video or not photo.face_count or not photo.width or not photo.height or \
                not os.path.isfile(photo.path):  # gone since the last scan: it will forget it
            continue
        try:
            regions = read_regions(Path(photo.path), photo.width, photo.height)
        except XmpError as exc:
            errors.append((photo.path, str(exc)))
            continue
        if regions:
            named += import_regions(library, photo.id, regions)
    return named, errors
