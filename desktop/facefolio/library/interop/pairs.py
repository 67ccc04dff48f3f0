"""Files of one shot: a RAW and the JPEG (or HEIF) the camera wrote beside it, an Apple Live
Photo's still and its MOV. They are one photo with several files.

A RAW+JPEG pair is two files of the same stem in one folder (`IMG_0001.CR2`, `IMG_0001.JPG`,
any case) whose capture times agree (within 2 s; a file without a readable date agrees). The
JPEG is the photo: it is what the camera rendered, and it decodes in milliseconds where the
RAW needs LibRaw. The RAW is its second file: the scan does not make a photo of it, its
sidecar gets the names (xmp.py), and it is listed with the photo. A RAW alone is a photo.

A Live Photo's MOV (same stem, beside a HEIC or JPEG) is the motion part of the still: never a
photo of its own, its QuickTime date stands in when the still has none.
"""
from __future__ import annotations

import os
from collections.abc import Container
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ...engine.formats import RAW_EXTENSIONS

RENDERED = frozenset({".jpg", ".jpeg", ".heic", ".heif"})  # what cameras write beside a RAW
LIVE_VIDEO = frozenset({".mov"})
_SAME_SHOT_S = 2.0
_CAPTURE_CACHE: dict[tuple[str, int, int], str | None] = {}
_FOLDER_CACHE: dict[str, tuple[int, dict[str, list[str]]]] = {}


@dataclass(frozen=True)
class Companion:
    path: str
    kind: str  # 'raw' / 'jpeg' (the other file of a RAW+JPEG pair), 'live video' (a MOV)


def _stem_ext(name: str) -> tuple[str, str]:
    stem, ext = os.path.splitext(name)
    return stem.casefold(), ext.lower()


def photo_names(dirpath: str, names: list[str], known: Container[str] = ()) -> list[str]:
    """The image files of one folder that are photos: all but the second file of each
    RAW+JPEG pair. That is the RAW, unless the library already knows the RAW as a photo and
    not the JPEG (a JPEG exported beside it later): the photo with the user's names stays."""
    rendered: dict[str, str] = {}
    for name in names:
        stem, ext = _stem_ext(name)
        if ext in RENDERED:
            rendered.setdefault(stem, name)
    if not rendered:
        return names
    second: set[str] = set()
    for name in names:
        stem, ext = _stem_ext(name)
        twin = rendered.get(stem) if ext in RAW_EXTENSIONS else None
        if twin is None or twin in second:
            continue
        raw_path, twin_path = os.path.join(dirpath, name), os.path.join(dirpath, twin)
        if same_shot(twin_path, raw_path):
            keep_raw = raw_path in known and twin_path not in known
            second.add(twin if keep_raw else name)
    return [n for n in names if n not in second]


def is_live_video(name: str, image_stems: set[str]) -> bool:
    """A MOV named like a still of its folder: the still's motion part, not a video."""
    stem, ext = _stem_ext(name)
    return ext in LIVE_VIDEO and stem in image_stems


def companions(photo: str | os.PathLike) -> list[Companion]:
    """The other files of this photo's shot (its RAW or its JPEG, its Live Photo video); []
    for most photos."""
    photo = os.fspath(photo)
    folder, name = os.path.split(photo)
    stem, ext = _stem_ext(name)
    if ext not in RENDERED and ext not in RAW_EXTENSIONS:
        return []
    found = []
    for other in _same_stem(folder or ".", stem):
        o_stem, o_ext = _stem_ext(other)
        if other == name or other.startswith("."):
            continue
        path = os.path.join(folder, other)
        if ext in RENDERED and o_ext in RAW_EXTENSIONS and same_shot(photo, path):
            found.append(Companion(path, "raw"))
        elif ext in RAW_EXTENSIONS and o_ext in RENDERED and same_shot(path, photo):
            found.append(Companion(path, "jpeg"))
        elif o_ext in LIVE_VIDEO and ext in RENDERED:
            found.append(Companion(path, "live video"))
    return found


def _same_stem(folder: str, stem: str) -> list[str]:
    """The names in `folder` whose stem is `stem` (casefolded). The folder is listed once and
    indexed while its mtime stays the same: a scan asks this for every photo it analyses."""
    try:
        mtime = os.stat(folder).st_mtime_ns
        cached = _FOLDER_CACHE.get(folder)
        if cached is None or cached[0] != mtime:
            index: dict[str, list[str]] = {}
            for entry in sorted(os.listdir(folder)):
                index.setdefault(_stem_ext(entry)[0], []).append(entry)
            if len(_FOLDER_CACHE) > 256:
                _FOLDER_CACHE.clear()
            cached = _FOLDER_CACHE[folder] = (mtime, index)
    except OSError:
        return []
    return cached[1].get(stem, [])


def shot_sidecars(photo: str | os.PathLike) -> list[Path]:
    """Every sidecar of the photo's shot: its own (`IMG.JPG.xmp`, `IMG.xmp`), then its RAW's
    (`IMG.CR2.xmp`, darktable's and digiKam's name for the RAW's): all read for names and
    dates, the photo's own first."""

    found = sidecar_paths(Path(photo))
    for other in companions(photo):
        if other.kind in ("raw", "jpeg"):
            found += [p for p in sidecar_paths(Path(other.path)) if p not in found]
    return found


def sidecar_mtime(dirpath: str, name: str, present: set[str], twins: list[str]) -> int:
    """The newest modification time (ns) of the sidecars of `name` and of its RAW twins among
    the folder's files `present`, 0 when none: a sidecar edited by another tool (a date
    corrected in Lightroom) makes the scan read the photo's metadata again."""
    stem = os.path.splitext(name)[0]
    newest = 0
    for side in {name + ".xmp", stem + ".xmp", *(t + ".xmp" for t in twins)}:
        if side in present:
            try:
                newest = max(newest, os.stat(os.path.join(dirpath, side)).st_mtime_ns)
            except OSError:
                continue
    return newest


def same_shot(rendered: str, raw: str) -> bool:
    """True unless both files have capture times and they differ (a reused file number)."""
    a, b = capture_time(rendered), capture_time(raw)
    if a is None or b is None:
        return True
    try:
        gap = abs((datetime.fromisoformat(a[:19]) - datetime.fromisoformat(b[:19]))
                  .total_seconds())
    except ValueError:
        return True
    return gap <= _SAME_SHOT_S


def capture_time(path: str) -> str | None:
    """The file's own best date (no sidecar, no file time), cached by path, size and mtime."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    key = (path, st.st_size, st.st_mtime_ns)
    if key not in _CAPTURE_CACHE:
        if len(_CAPTURE_CACHE) > 100_000:
            _CAPTURE_CACHE.clear()
        _CAPTURE_CACHE[key] = _read_capture_time(path)
    return _CAPTURE_CACHE[key]


def _read_capture_time(path: str) -> str | None:
    from ...engine import dates, exiv2  # noqa: PLC0415

    quick = dates.best(dates.quick_exif_dates(path))
    if quick is not None:
        return quick.when
    if Path(path).suffix.lower() in RAW_EXTENSIONS:
        found = exiv2.exiv2_dates(path)
    else:
        from ...engine import images  # noqa: PLC0415 - registers the HEIF opener

        try:
            with images.open_image(path) as im:
                found = dates.image_dates(im)
        except Exception:  # unreadable here: the scan itself says why
            return None
    best = dates.best(found)
    return best.when if best else None


# -- files ----------------------------------------------------------------------------------
# Sidecar names: `IMG_0001.CR2.xmp` (digiKam, darktable, and ours) and `IMG_0001.xmp`
# (Lightroom, Capture One, digiKam's other setting). Both are read; names are written to the
# ones that exist, else to digiKam's. A RAW+JPEG pair shares `IMG_0001.xmp`.
def sidecar_paths(photo: Path) -> list[Path]:
    """The sidecars of this photo that exist: `photo.jpg.xmp`, then `photo.xmp`."""
    photo = Path(photo)
    names = [photo.with_name(photo.name + ".xmp"), photo.with_suffix(".xmp")]
    return [p for i, p in enumerate(names) if p != photo and p not in names[:i] and p.is_file()]


def sidecar_targets(photo: Path) -> list[Path]:
    """Where names go: every existing sidecar, else a new `photo.jpg.xmp` (digiKam's)."""
    photo = Path(photo)
    return sidecar_paths(photo) or [photo.with_name(photo.name + ".xmp")]


def sidecar_path(photo: Path) -> Path:
    """The photo's first sidecar (see `sidecar_targets`)."""
    return sidecar_targets(photo)[0]
