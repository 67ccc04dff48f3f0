"""Taking data out: a person's photos to a folder, every face as CSV.

Exports never overwrite: a name already taken by another file gets " (2)", " (3)", ...; a
file that is already the same photo (same bytes, or a link to it) counts as done, so
running an export twice adds nothing.
"""
from __future__ import annotations

import csv
import errno
import filecmp
import os
import shutil
from pathlib import Path
from typing import TextIO

from ..library import Library
from ..storage.errors import LibraryError
from ..storage.store import fs_path
from ..storage.text import csv_cell

MODES = ("copy", "link", "symlink")
CSV_COLUMNS = ["face_id", "photo", "x", "y", "w", "h", "score", "person_id", "person_name",
               "taken_at", "date_source", "video", "time_s", "age", "age_low", "age_high",
               "gender", "gender_confidence"]


def person_photos(library: Library, person_id: int) -> list[str]:
    """Paths of the photos in which this person has a face, in path order."""
    library.person(person_id)  # NotFoundError names the id
    return [fs_path(r[0]) for r in library.con.execute(
        "SELECT DISTINCT p.path FROM faces f JOIN photos p ON p.id = f.photo_id "
        "WHERE f.person_id = ? ORDER BY p.path", (person_id,))]


def export_person_photos(library: Library, person_id: int, dest: Path, mode: str = "copy"
                         ) -> int:
    """Copy (or hard-link, or symlink) the person's photos into dest; returns files added."""
    if mode not in MODES:
        raise LibraryError(f"unknown export mode {mode!r} (one of {', '.join(MODES)})")
    dest = Path(dest).expanduser().absolute()
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LibraryError(f"cannot create {dest}: {exc.strerror or exc}") from exc
    added = 0
    for path in person_photos(library, person_id):
        source = Path(path)
        if not source.is_file():
            continue  # on an unplugged drive, or deleted since the last scan
        target = _free_name(dest, source, mode)
        if target is None:
            continue
        try:
            _place(source, target, mode)
        except OSError as exc:
            if exc.errno == errno.EXDEV:
                raise LibraryError(f"cannot hard-link {source} into {dest}: another drive "
                                   "(use a copy or --symlink)") from exc
            raise LibraryError(f"cannot export {source} to {target}: "
                               f"{exc.strerror or exc}") from exc
        added += 1
    return added


def _free_name(dest: Path, source: Path, mode: str) -> Path | None:
    """Where source goes in dest: a free name, or None when it is already there."""
    stem, suffix = source.stem, source.suffix
    for n in range(1, 10_000):
        target = dest / (source.name if n == 1 else f"{stem} ({n}){suffix}")
        if not os.path.lexists(target):
            return target
        if _same(source, target, mode):
            return None
    raise LibraryError(f"too many files named like {source.name} in {dest}")


def _same(source: Path, target: Path, mode: str) -> bool:
    try:
        if target.is_symlink():
            return mode == "symlink" and Path(os.readlink(target)) == source
        if os.path.samefile(source, target):
            return True
        return mode == "copy" and filecmp.cmp(source, target, shallow=False)
    except OSError:
        return False


def _place(source: Path, target: Path, mode: str) -> None:
    if mode == "symlink":
        target.symlink_to(source)
    elif mode == "link":
        os.link(source, target)
    else:
        # Copy to a hidden name first: an interrupted copy never looks like a finished one.
        tmp = target.with_name(f".{target.name}.part")
        try:
            shutil.copy2(source, tmp)
            if os.path.lexists(target):  # appeared meanwhile: never overwrite
                raise FileExistsError(errno.EEXIST, "appeared during the export", str(target))
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)


def export_faces_csv(library: Library, out: TextIO) -> int:
    """Every face as CSV: the `export --json` fields, the box as x, y, w, h, the estimates as
    age, age_low, age_high, gender, gender_confidence (their sources are in the JSON), video
    as 0 or 1. Returns rows.
    A text cell a spreadsheet would run as a formula (= + - @ tab CR first) starts with a
    single quote (text.csv_cell, OWASP's advice); `export --json` has the exact values."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    rows = library.export_faces()
    for face in rows:
        x, y, w, h = face["box"]
        age, gender = face["age"] or {}, face["gender"] or {}
        writer.writerow([face["face_id"], csv_cell(face["photo"]), x, y, w, h, face["score"],
                         _cell(face["person_id"]), _cell(face["person_name"]),
                         _cell(face["taken_at"]), _cell(face["date_source"]),
                         int(face["video"]), _cell(face["time_s"]),
                         _cell(age.get("estimate")), _cell(age.get("low")),
                         _cell(age.get("high")), _cell(gender.get("estimate")),
                         _cell(gender.get("confidence"))])
    return len(rows)


def _cell(value) -> object:
    """An empty cell for None; text made safe for a spreadsheet (csv_cell)."""
    if value is None:
        return ""
    return csv_cell(value) if isinstance(value, str) else value
