"""When a photo was taken, from every place cameras and photo tools write it.

The sources, best first (`ORDER`; the first one a file has gives its date):

1. EXIF DateTimeOriginal, with OffsetTimeOriginal (what the camera wrote);
2. XMP exif:DateTimeOriginal, photoshop:DateCreated, xmp:CreateDate (what Lightroom,
   digiKam, darktable and Photoshop write, e.g. for a scanned print dated by hand);
3. IPTC DateCreated + TimeCreated (older tools, agencies);
4. EXIF DateTimeDigitized, with OffsetTimeDigitized; a PNG's "Creation Time";
5. QuickTime CreationDate of the video inside a motion photo (UTC);
6. GPS date-time (UTC; EXIF GPSDateStamp + GPSTimeStamp, or XMP exif:GPSTimeStamp);
7. EXIF DateTime (the last change, which is the capture for many older cameras).

A sidecar (`NAME.EXT.xmp` or `NAME.xmp`, UTF-8 or UTF-16, Lightroom writes UTF-16) is where
those tools put the user's corrections without touching the photo, so its dates come before
the photo's own, in the same order. Without any of these the file's time stands in (the
library marks it "~"). Dates keep their time zone when one is known: written with the date, or
borrowed from another source of the same wall-clock time (EXIF without an offset beside IPTC
or XMP with one). A time without a date (IPTC TimeCreated alone) dates nothing.
"""
from __future__ import annotations

import re
import struct
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

ORDER = (
    "EXIF DateTimeOriginal", "XMP exif:DateTimeOriginal", "XMP photoshop:DateCreated",
    "XMP xmp:CreateDate", "IPTC DateCreated", "EXIF DateTimeDigitized", "PNG Creation Time",
    "QuickTime CreationDate", "GPS date-time", "EXIF DateTime",
)
_RANK = {name: i for i, name in enumerate(ORDER)}

_NS_EXIF = "http://ns.adobe.com/exif/1.0/"
_XMP_DATES = (
    (_NS_EXIF, "DateTimeOriginal", "XMP exif:DateTimeOriginal"),
    ("http://ns.adobe.com/photoshop/1.0/", "DateCreated", "XMP photoshop:DateCreated"),
    ("http://ns.adobe.com/xap/1.0/", "CreateDate", "XMP xmp:CreateDate"),
    (_NS_EXIF, "GPSTimeStamp", "GPS date-time"),
)
_XMP_DATE = re.compile(
    r"^(\d{4})(?:-(\d\d)(?:-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:\.\d+)?)?)?)?)?"
    r"\s*(Z|[+-]\d\d:?\d\d)?$")
_EXIF_DATE = re.compile(r"^(\d{4})[:-](\d\d)[:-](\d\d)[T ](\d\d):(\d\d):(\d\d)")
_OFFSET = re.compile(r"^([+-])(\d\d):?(\d\d)$")
_QT_EPOCH = datetime(1904, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Dated:
    """A date some source gave: ISO 8601 (to the second, with its offset when known)."""
    when: str
    source: str  # one of ORDER, or 'file time'
    where: str = ""  # '' = inside the photo, else the sidecar's file name

    @property
    def label(self) -> str:
        """What `export --json` and `status` say: 'XMP xmp:CreateDate (sidecar IMG.xmp)'."""
        return f"{self.source} (sidecar {self.where})" if self.where else self.source

    @property
    def zoned(self) -> bool:
        return len(self.when) > 19


def best(candidates: list[Dated]) -> Dated | None:
    """The date to use: sidecar first, then the photo, each in ORDER; a date without a zone
    takes the zone of another source that gives the same wall-clock time."""
    if not candidates:
        return None
    ranked = sorted(candidates, key=lambda d: (d.where == "", _RANK.get(d.source, 99)))
    chosen = ranked[0]
    if not chosen.zoned:
        # Not from GPS (UTC, another clock) nor IPTC's +00:00 (what tools write for "unknown").
        zone = next((d.when[19:] for d in ranked if d.zoned and d.when[:19] == chosen.when
                     and d.source != "GPS date-time"
                     and not (d.source == "IPTC DateCreated" and d.when[19:] == "+00:00")),
                    None)
        if zone:
            chosen = Dated(chosen.when + zone, chosen.source, chosen.where)
    return chosen


# -- inside an image Pillow opened -----------------------------------------------------------
def image_dates(im) -> list[Dated]:
    """Every date in an opened Pillow image: EXIF, embedded XMP, IPTC, PNG text."""
    found: list[Dated] = []
    try:
        exif = im.getexif()
    except Exception:  # a broken EXIF block should not lose the other sources
        exif = None
    if exif is not None:
        found += exif_dates(exif)
    xmp = im.info.get("xmp") or im.info.get("XML:com.adobe.xmp")
    if xmp:
        found += xmp_dates(xmp)
    found += _iptc_dates(im)
    png_time = im.info.get("Creation Time") if im.format == "PNG" else None
    if isinstance(png_time, str):
        when = _loose_date(png_time)
        if when:
            found.append(Dated(when, "PNG Creation Time"))
    return found


def exif_dates(exif) -> list[Dated]:
    """DateTimeOriginal, DateTimeDigitized (with their offsets), DateTime, GPS date-time."""
    found = []
    try:
        sub = exif.get_ifd(0x8769)
    except Exception:
        sub = {}
    for tag, offset_tag, name in ((0x9003, 0x9011, "EXIF DateTimeOriginal"),
                                  (0x9004, 0x9012, "EXIF DateTimeDigitized")):
        # TIFF/EP (some DNG writers) keeps these in IFD0 rather than the EXIF IFD.
        when = exif_text_date(sub.get(tag) or exif.get(tag),
                               sub.get(offset_tag) or exif.get(offset_tag))
        if when:
            found.append(Dated(when, name))
    when = exif_text_date(exif.get(0x0132), sub.get(0x9010))
    if when:
        found.append(Dated(when, "EXIF DateTime"))
    try:
        gps = exif.get_ifd(0x8825)
    except Exception:
        gps = {}
    when = gps_date(gps.get(29), gps.get(7))
    if when:
        found.append(Dated(when, "GPS date-time"))
    return found


def exif_text_date(raw, offset) -> str | None:
    if not raw:
        return None
    text = (raw.decode("latin-1") if isinstance(raw, bytes) else str(raw)).strip("\x00 ")
    m = _EXIF_DATE.match(text)
    if not m:
        return None
    try:
        when = datetime(*(int(g) for g in m.groups())).isoformat()
    except ValueError:  # 0000:00:00 00:00:00 and other blanks cameras write
        return None
    return when + (_offset(offset) or "")


def _offset(raw) -> str | None:
    if not raw:
        return None
    text = (raw.decode("latin-1") if isinstance(raw, bytes) else str(raw)).strip("\x00 ")
    m = _OFFSET.match(text)
    if not m or int(m.group(2)) > 14 or int(m.group(3)) >= 60:
        return None
    return f"{m.group(1)}{m.group(2)}:{m.group(3)}"


def gps_date(datestamp, timestamp) -> str | None:
    try:
        day = datetime.strptime(str(datestamp).strip("\x00 ")[:10].replace("-", ":"),
                                "%Y:%m:%d")
        h, m, s = (float(v) for v in timestamp)
        when = day + timedelta(hours=h, minutes=m, seconds=int(s))
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return when.isoformat() + "+00:00"


# -- XMP (embedded packets and sidecars) -----------------------------------------------------
def xmp_dates(packet: bytes | str, where: str = "") -> list[Dated]:
    """The dates of an XMP packet, as attributes or elements, whatever prefixes it binds."""
    text = decode_xmp(packet) if isinstance(packet, bytes) else packet
    start = text.find("<x:xmpmeta")
    if start < 0:
        start = text.find("<rdf:RDF")
    end_tag = "</x:xmpmeta>" if text.startswith("<x:xmpmeta", start) else "</rdf:RDF>"
    end = text.find(end_tag, start)
    found = []
    try:
        root = ET.fromstring(text[start:end + len(end_tag)] if start >= 0 and end >= 0
                             else text)
    except ET.ParseError:
        return found
    for desc in root.iter("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}Description"):
        for ns, name, source in _XMP_DATES:
            key = f"{{{ns}}}{name}"
            value = desc.get(key)
            if value is None:
                element = desc.find(key)
                value = element.text if element is not None else None
            when = _xmp_date(value) if value else None
            if when:
                if source == "GPS date-time" and len(when) == 19:
                    when += "+00:00"  # XMP's GPS time is UTC by definition
                found.append(Dated(when, source, where))
    return found


def decode_xmp(data: bytes) -> str:
    """An XMP file's text: UTF-8, or UTF-16/32 by its byte order mark (Lightroom's)."""
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe\x00\x00", "utf-32"),
                       (b"\x00\x00\xfe\xff", "utf-32"), (b"\xff\xfe", "utf-16"),
                       (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            return data.decode(codec, errors="replace")
    if len(data) > 1 and data[0] == 0 and data[1] != 0:
        return data.decode("utf-16-be", errors="replace")
    if len(data) > 1 and data[1] == 0 and data[0] != 0:
        return data.decode("utf-16-le", errors="replace")
    return data.decode("utf-8", errors="replace")


def _xmp_date(value: str) -> str | None:
    m = _XMP_DATE.match(value.strip())
    if not m:
        return None
    year, month, day, hour, minute, second, zone = m.groups()
    try:
        when = datetime(int(year), int(month or 1), int(day or 1), int(hour or 0),
                        int(minute or 0), int(second or 0)).isoformat()
    except ValueError:
        return None
    if zone == "Z":
        return when + "+00:00"
    return when + (_offset(zone) or "") if zone and hour else when


def sidecar_dates(paths: list[Path]) -> tuple[list[Dated], str | None]:
    """Dates in these sidecar files, and why one could not be read (None when all were)."""
    found: list[Dated] = []
    problem = None
    for path in paths:
        try:
            found += xmp_dates(path.read_bytes(), path.name)
        except OSError as exc:
            problem = f"sidecar {path.name}: cannot read ({exc.strerror or exc})"
    return found, problem


# -- IPTC, PNG text, QuickTime ---------------------------------------------------------------
def _iptc_dates(im) -> list[Dated]:
    if im.format not in ("JPEG", "MPO", "TIFF"):
        return []
    try:
        from PIL import IptcImagePlugin  # noqa: PLC0415

        iptc = IptcImagePlugin.getiptcinfo(im) or {}
    except Exception:  # malformed IPTC: other sources still date the photo
        return []
    day, clock = _first(iptc.get((2, 55))), _first(iptc.get((2, 60)))
    when = iptc_date(day, clock)
    return [Dated(when, "IPTC DateCreated")] if when else []


def _first(value) -> bytes | None:
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, bytes) else None


def iptc_date(day: bytes | None, clock: bytes | None) -> str | None:
    """IPTC DateCreated (CCYYMMDD) with TimeCreated (HHMMSS±HHMM), as ISO 8601."""
    if not day:
        return None
    d = day.decode("latin-1").strip().replace("-", "").replace(":", "")
    t = (clock or b"").decode("latin-1").strip().replace(":", "")
    try:
        base = datetime.strptime(d[:8], "%Y%m%d")
        if len(t) >= 6 and t[:6].isdigit():
            base = base.replace(hour=int(t[:2]), minute=int(t[2:4]), second=int(t[4:6]))
    except ValueError:
        return None
    zone = _offset(t[6:11]) if len(t) >= 11 else None
    return base.isoformat() + (zone or "")


def _loose_date(text: str) -> str | None:
    """A PNG 'Creation Time': EXIF style, ISO 8601 or RFC 1123 (the PNG spec's advice)."""
    text = text.strip()
    m = _EXIF_DATE.match(text)
    if m:
        return exif_text_date(text, None)
    for fmt in ("%a, %d %b %Y %H:%M:%S %z", "%d %b %Y %H:%M:%S %z", "%a, %d %b %Y %H:%M:%S"):
        try:
            parsed = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return parsed.isoformat()
    return _xmp_date(text)


def quicktime_date(data: bytes | memoryview) -> Dated | None:
    """The creation time of the first movie header ('mvhd') in MP4/QuickTime bytes (UTC)."""
    data = bytes(data) if isinstance(data, memoryview) else data
    at = data.find(b"mvhd")
    if at < 4 or at + 16 > len(data):
        return None
    version = data[at + 4]
    try:
        if version == 1:
            seconds = struct.unpack(">Q", data[at + 8:at + 16])[0]
        else:
            seconds = struct.unpack(">I", data[at + 8:at + 12])[0]
    except struct.error:
        return None
    if seconds < 86400 * 365 * 66:  # before 1970: an unset field (0) or garbage
        return None
    try:
        when = _QT_EPOCH + timedelta(seconds=seconds)
    except OverflowError:
        return None
    return Dated(when.replace(tzinfo=None).isoformat() + "+00:00", "QuickTime CreationDate")










def quick_exif_dates(path: str, head_bytes: int = 1 << 16) -> list[Dated]:
    """The EXIF dates of a JPEG or a TIFF-based file (DNG, CR2, NEF, ARW...) from its first
    64 KB only, or [] (another layout, or EXIF further in): cheap enough to compare the
    capture times of every RAW+JPEG pair at every scan (library/interop/pairs.py)."""
    from PIL import Image  # noqa: PLC0415

    try:
        with open(path, "rb") as fh:
            head = fh.read(head_bytes)
        if head[:3] == b"\xff\xd8\xff":
            at = head.find(b"Exif\x00\x00")
            if at < 4 or head[at - 4:at - 2] != b"\xff\xe1":
                return []
            length = struct.unpack(">H", head[at - 2:at])[0]
            block = head[at:at - 2 + length]
        elif head[:4] in (b"II*\x00", b"MM\x00*"):
            block = head
        else:
            return []
        exif = Image.Exif()
        exif.load(block)
        return exif_dates(exif)
    except Exception:  # truncated or odd: the full readers decide
        return []
