"""A photo's size and date without decoding its pixels.

The date comes from the photo's sidecars and its own metadata, in the order engine/dates.py
documents; without any, a Live Photo's MOV gives its QuickTime date; else the file's
modification time stands in, marked 'file' so the app can say it is a guess ("~").
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ...engine import dates, exiv2
from ...engine.formats import RAW_EXTENSIONS

_TURNED = (5, 6, 7, 8)  # EXIF orientations that swap width and height


@dataclass(frozen=True)
class PhotoDate:
    when: str | None  # ISO 8601, with its offset when known
    kind: str | None  # 'exif' (any metadata: the taken_at_source column) or 'file'
    label: str | None  # which source exactly (dates.Dated.label, or 'file time')


def header(path: str | os.PathLike) -> tuple[int, int, list]:
    """(width, height) as displayed (orientation applied) and every date inside the file.
    Raises OSError when the file cannot be read or is not an image Facefolio reads."""
    from PIL import UnidentifiedImageError  # noqa: PLC0415

    from ...engine import images  # noqa: PLC0415 - registers HEIF and JPEG XL
    from ...engine.errors import ImageError  # noqa: PLC0415

    if Path(path).suffix.lower() in RAW_EXTENSIONS:
        from ...engine.raw import raw_header  # noqa: PLC0415

        try:
            width, height = raw_header(os.fspath(path))
        except ImageError as exc:
            raise OSError(str(exc)) from exc
        return width, height, exiv2.exiv2_dates(os.fspath(path))
    try:
        with images.open_image(path) as im:
            width, height = im.size
            orientation = int(im.getexif().get(0x0112, 1) or 1)
            found = dates.image_dates(im)
    except (UnidentifiedImageError, ValueError, SyntaxError) as exc:
        raise OSError(f"not an image: {exc}") from exc
    if orientation in _TURNED:
        width, height = height, width
    return width, height, found


def date_of(path: str | os.PathLike, inside: list | tuple = ()) -> PhotoDate:
    """The photo's date: its sidecars', then `inside` (the dates in the file), then a Live
    Photo video's, then the file's time."""
    from ..interop.pairs import companions, shot_sidecars  # noqa: PLC0415

    found, _ = dates.sidecar_dates(shot_sidecars(path))
    best = dates.best([*found, *inside])
    if best is None:
        for other in companions(path):
            if other.kind == "live video":
                best = _video_date(other.path)
                if best is not None:
                    break
    if best is not None:
        return PhotoDate(best.when, "exif", best.label)
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        return PhotoDate(None, None, None)
    return PhotoDate(datetime.fromtimestamp(mtime).replace(microsecond=0).isoformat(), "file",
                     "file time")


def _video_date(path: str) -> dates.Dated | None:
    from ...engine.motion import video_file_date  # noqa: PLC0415

    return video_file_date(path)
