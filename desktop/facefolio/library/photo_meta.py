"""A photo's size and date without decoding its pixels.

The date a photo was taken comes from EXIF (DateTimeOriginal, else DateTimeDigitized, else
DateTime); without one, the file's modification time stands in, marked 'file' so the app can
say it is a guess.
"""
from __future__ import annotations

import os
from datetime import datetime

_TURNED = (5, 6, 7, 8)  # EXIF orientations that swap width and height


def header(path: str | os.PathLike) -> tuple[int, int, str | None]:
    """(width, height) as displayed (EXIF orientation applied) and the EXIF date, if any.
    Raises OSError when the file cannot be read or is not an image Pillow knows."""
    from PIL import Image, UnidentifiedImageError  # noqa: PLC0415

    from ..engine.images import exif_date  # noqa: PLC0415 - the one reading of the date

    try:
        with Image.open(path) as im:
            width, height = im.size
            exif = im.getexif()
    except (UnidentifiedImageError, ValueError, SyntaxError) as exc:
        raise OSError(f"not an image: {exc}") from exc
    if int(exif.get(0x0112, 1) or 1) in _TURNED:
        width, height = height, width
    return width, height, exif_date(exif)


def taken_at(path: str | os.PathLike, from_exif: str | None) -> tuple[str | None, str | None]:
    """(ISO date, 'exif' | 'file'): the EXIF date when there is one, else the file's time."""
    if from_exif:
        return from_exif, "exif"
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        return None, None
    return datetime.fromtimestamp(mtime).replace(microsecond=0).isoformat(), "file"
