"""exiv2 (through pyexiv2), for what Pillow does not read: the dates of camera RAW files, and XMP
(library/interop/xmp.py). exiv2's XMP toolkit keeps global state, so every pyexiv2 call of the
process holds `EXIV2_LOCK`; a path that is not valid UTF-8 is read as bytes (`utf8_path`)."""
from __future__ import annotations

import os
import threading

from .dates import Dated, exif_text_date, gps_date, iptc_date, xmp_dates

EXIV2_LOCK = threading.Lock()


def exiv2_dates(path: str) -> list[Dated]:
    """Every date exiv2 finds in a file Pillow cannot open (CR2, CR3, NEF, ARW, DNG...): EXIF,
    IPTC and XMP, in the same forms as `image_dates`. [] when exiv2 cannot read it."""
    try:
        import pyexiv2  # noqa: PLC0415
    except ImportError:  # pragma: no cover - a declared dependency
        return []
    try:
        with EXIV2_LOCK:
            pyexiv2.set_log_level(4)  # mute: an unknown maker note is not our problem
            if utf8_path(path):
                with pyexiv2.Image(path) as image:
                    exif, iptc, xmp = image.read_exif(), image.read_iptc(), image.read_raw_xmp()
            else:
                with open(path, "rb") as fh, pyexiv2.ImageData(fh.read()) as image:
                    exif, iptc, xmp = image.read_exif(), image.read_iptc(), image.read_raw_xmp()
    except (RuntimeError, OSError, ValueError, UnicodeDecodeError):
        return []
    found = []
    for key, offset_key, name in (
            ("Exif.Photo.DateTimeOriginal", "Exif.Photo.OffsetTimeOriginal",
             "EXIF DateTimeOriginal"),
            ("Exif.Photo.DateTimeDigitized", "Exif.Photo.OffsetTimeDigitized",
             "EXIF DateTimeDigitized"),
            ("Exif.Image.DateTime", "Exif.Photo.OffsetTime", "EXIF DateTime")):
        # TIFF/EP (some DNG writers) keeps these in IFD0: Exif.Image.* then.
        image_key = key.replace("Exif.Photo.", "Exif.Image.")
        when = exif_text_date(exif.get(key) or exif.get(image_key),
                               exif.get(offset_key) or exif.get(
                                   offset_key.replace("Exif.Photo.", "Exif.Image.")))
        if when:
            found.append(Dated(when, name))
    stamp = str(exif.get("Exif.GPSInfo.GPSTimeStamp", "")).split()
    try:
        clock = [_rational(v) for v in stamp] if len(stamp) == 3 else None
    except (ValueError, ZeroDivisionError):
        clock = None
    when = gps_date(exif.get("Exif.GPSInfo.GPSDateStamp"), clock)
    if when:
        found.append(Dated(when, "GPS date-time"))
    day, clock_text = iptc.get("Iptc.Application2.DateCreated"), \
        iptc.get("Iptc.Application2.TimeCreated")
    when = iptc_date(str(day).encode() if day else None,
                     str(clock_text).encode() if clock_text else None)
    if when:
        found.append(Dated(when, "IPTC DateCreated"))
    if xmp:
        found += xmp_dates(xmp)
    return found


def _rational(text: str) -> float:
    num, _, den = text.partition("/")
    return float(num) / float(den or 1)


def utf8_path(path) -> bool:
    """Can exiv2 open this path by name? (else its bytes are read and handed over)"""
    try:
        os.fspath(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
