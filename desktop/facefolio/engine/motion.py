"""Motion photos: a still with a short video inside it. The still is the photo; the video is
found (for its date, and for the video work to come) and never becomes a photo of its own.

- Google (Pixel and the "MP4 in JPEG" format others adopted): the MP4 follows the JPEG's end
  of image; XMP `GCamera:MicroVideoOffset` or a `Container:Directory` item gives its length.
- Samsung in JPEG: a trailer after the JPEG, the MP4 after the `MotionPhoto_Data` marker.
- Samsung in HEIC: a top-level `mpvd` box holding the MP4.
Apple's Live Photos are a HEIC (or JPEG) and a MOV of the same name: library/interop/pairs.py.
"""
from __future__ import annotations

import mmap
import os
import re
import struct
from dataclasses import dataclass

from .dates import Dated, quicktime_date

_SCAN_TAIL = 64 << 20
# The video's length, counted back from the end of the file (XMP of the still).
_MICRO_VIDEO = re.compile(rb'MicroVideoOffset(?:="|>)(\d+)')
_ITEM_LENGTH = re.compile(rb'Item:Semantic="MotionPhoto"[^>]*?Item:Length="(\d+)"', re.S)  # a motion photo's video is a few MB; look no further back than this


@dataclass(frozen=True)
class MotionVideo:
    kind: str  # 'Google motion photo', 'Samsung motion photo'
    offset: int  # where the MP4 starts in the file
    length: int


def motion_video(path: str | os.PathLike) -> MotionVideo | None:
    """The video inside a motion photo, or None for a plain still (or an unreadable file)."""
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size < 16:
                return None
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
                if data[4:8] == b"ftyp":
                    return _heif_video(data, size)
                if data[:3] == b"\xff\xd8\xff":
                    return _jpeg_video(data, size)
    except (OSError, ValueError, struct.error):
        return None
    return None


def motion_video_date(path: str | os.PathLike) -> Dated | None:
    """The QuickTime creation date of a motion photo's video (UTC), or None."""
    video = motion_video(path)
    if video is None:
        return None
    try:
        with open(path, "rb") as fh:
            moov = _moov(fh, video.offset, video.offset + video.length)
    except (OSError, struct.error):
        return None
    return quicktime_date(moov) if moov else None


def video_file_date(path: str | os.PathLike) -> Dated | None:
    """The QuickTime creation date of a MOV or MP4 file (a Live Photo's video), or None."""
    try:
        with open(path, "rb") as fh:
            moov = _moov(fh, 0, os.fstat(fh.fileno()).st_size)
    except (OSError, struct.error):
        return None
    return quicktime_date(moov) if moov else None


def _moov(fh, pos: int, end: int) -> bytes | None:
    """The MP4's movie box (before or after its media data, as the phone wrote it)."""
    return top_box(fh, pos, end, b"moov", 16 << 20)


def top_box(fh, pos: int, end: int, kind: bytes, limit: int) -> bytes | None:
    """The body (at most `limit` bytes) of the first ISO-BMFF box of `kind` between pos and
    end, walking the box headers only (32- and 64-bit sizes; 0 means "to the end")."""
    while pos + 8 <= end:
        fh.seek(pos)
        length, found = struct.unpack(">I4s", fh.read(8))
        header = 8
        if length == 1:
            length, header = struct.unpack(">Q", fh.read(8))[0], 16
        elif length == 0:
            length = end - pos
        if length < header:
            return None
        if found == kind:
            return fh.read(min(length - header, limit))
        pos += length
    return None


def _heif_video(data, size: int) -> MotionVideo | None:
    pos = 0
    while pos + 8 <= size:
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        header = 8
        if length == 1:
            length, header = struct.unpack(">Q", data[pos + 8:pos + 16])[0], 16
        elif length == 0:
            length = size - pos
        if length < header:
            return None
        if kind == b"mpvd":
            return MotionVideo("Samsung motion photo", pos + header, length - header)
        pos += length
    return None


def _jpeg_video(data, size: int) -> MotionVideo | None:
    start = max(0, size - _SCAN_TAIL)
    marker = data.rfind(b"MotionPhoto_Data", start)
    if marker >= 0:
        video = marker + len(b"MotionPhoto_Data")
        return MotionVideo("Samsung motion photo", video, size - video)
    head = bytes(data[:min(size, 256 << 10)])
    m = _MICRO_VIDEO.search(head) or _ITEM_LENGTH.search(head)
    if m:
        length = int(m.group(1))
        if 16 < length < size and data[size - length + 4:size - length + 8] == b"ftyp":
            return MotionVideo("Google motion photo", size - length, length)
    return None
