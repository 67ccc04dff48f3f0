"""Video files as containers, read without a decoder: what kind of file it is, why it cannot be
a video (a one-line reason), its display rotation, and a fingerprint of its content.

A video is its media data, not its bytes: `fingerprint` hashes the encoded frames and sound
and leaves out the boxes and elements metadata tools rewrite, so a renamed video, or one whose
title, date or location another program edited, keeps its faces and the user's decisions.

- MP4, MOV, M4V (ISO-BMFF): the bodies of the `mdat` boxes, plus the rotation of the video
  track (`tkhd` matrix: turning a video by its metadata moves its faces, so it is a change).
  A tag written into `moov/udta`, a `free` box added or removed, `moov` moved before `mdat`
  (a "fast start" rewrite): same fingerprint.
- AVI (RIFF): the bodies of the `movi` lists; `INFO` lists and `JUNK` are left out.
- MKV (Matroska/EBML): the blocks of every `Cluster`, not their positions or CRCs; `Tags`,
  `Info`, `SeekHead` and `Void` are left out.
- anything these parsers cannot follow: the whole file, like photos (library/identity.py).

Media data up to FULL_HASH_BYTES is hashed whole; beyond it, SAMPLES evenly spread chunks of
SAMPLE_BYTES and the total length (a 2 GB video costs 16 MB of reading, not 2 GB).
"""
from __future__ import annotations

import hashlib
import math
import mmap
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from .errors import ImageError

FULL_HASH_BYTES = 64 << 20
SAMPLES = 1024
SAMPLE_BYTES = 16 << 10
_HASH_BYTES = 16
_ISO_CONTAINERS = frozenset({b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"udta"})
_EBML = b"\x1a\x45\xdf\xa3"
_SEGMENT, _CLUSTER = 0x18538067, 0x1F43B675
_CLUSTER_SKIP = frozenset({0xA7, 0xAB, 0xBF, 0xEC})  # Position, PrevSize, CRC-32, Void


class _NotThisFormat(Exception):
    """The parser could not follow the file: hash it whole."""


@dataclass(frozen=True)
class Container:
    kind: str  # 'mp4' (MP4, MOV, M4V), 'avi', 'mkv'
    rotation: int = 0  # degrees clockwise the player turns the frames (ISO-BMFF tkhd)
    width: int = 0  # the video track's size from the header (0: not known without decoding)
    height: int = 0


def kind_of(head: bytes) -> str | None:
    """'mp4', 'avi' or 'mkv' from the file's first 16 bytes, else None."""
    if head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip"):
        return "mp4"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    if head[:4] == _EBML:
        return "mkv"
    return None


def inspect(path: str | os.PathLike) -> Container:
    """What the container says before any frame is decoded; ImageError with a one-line reason
    when the file cannot be a video (empty, text, another format, truncated, no movie box)."""
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size == 0:
                raise ImageError("empty file (0 bytes)")
            head = fh.read(4096)
            kind = kind_of(head)
            if kind is None:
                raise ImageError(_not_a_video(head))
            if kind != "mp4":
                return Container(kind)
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
                return _inspect_iso(data, size)
    except FileNotFoundError:
        raise ImageError("file not found") from None
    except PermissionError:
        raise ImageError("permission denied") from None
    except OSError as exc:
        raise ImageError(f"cannot read file: {exc.strerror or exc}") from None


def _not_a_video(head: bytes) -> str:
    try:
        text = head.decode("utf-8")
        if all(c.isprintable() or c in "\r\n\t" for c in text):
            return "not a video: the file holds text"
    except UnicodeDecodeError:
        pass
    return "not a video (not MP4, QuickTime, AVI or Matroska contents)"


def _inspect_iso(data, size: int) -> Container:
    moov = None
    for kind, start, body, end in _boxes(data, 0, size):
        if end > size:
            raise ImageError(f"truncated video: the file ends {_mb(size - start)} into its "
                             f"'{kind.decode('latin-1')}' box of {_mb(end - start)}")
        if kind == b"moov":
            moov = (body, end)
    if moov is None:
        raise ImageError("damaged video: no movie header ('moov' box); recording or copying "
                         "was cut short")
    rotation, width, height = _video_track(data, *moov)
    return Container("mp4", rotation, width, height)


def _boxes(data, pos: int, end: int) -> Iterator[tuple[bytes, int, int, int]]:
    """(kind, start, body start, end) of each ISO-BMFF box in [pos, end); `end` of a box may
    pass the file's end (a truncated file: the caller says so)."""
    size = len(data)
    while pos + 8 <= end:
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        header = 8
        if length == 1:
            if pos + 16 > size:
                return
            length, header = struct.unpack(">Q", data[pos + 8:pos + 16])[0], 16
        elif length == 0:
            length = end - pos
        if length < header:
            raise ImageError(f"damaged video: a box of {length} bytes at byte {pos}")
        yield kind, pos, pos + header, pos + length
        pos += length


def _video_track(data, pos: int, end: int) -> tuple[int, int, int]:
    """(rotation, width, height) of the first video track of a moov body."""
    for kind, _, body, box_end in _boxes(data, pos, end):
        if kind != b"trak":
            continue
        tkhd = hdlr = None
        for k, _, b, e in _walk_iso(data, body, box_end):
            if k == b"tkhd":
                tkhd = bytes(data[b:e])
            elif k == b"hdlr":
                hdlr = bytes(data[b + 8:b + 12])
        if tkhd is not None and hdlr == b"vide":
            return _tkhd(tkhd)
    return 0, 0, 0


def _walk_iso(data, pos: int, end: int) -> Iterator[tuple[bytes, int, int, int]]:
    for kind, start, body, box_end in _boxes(data, pos, min(end, len(data))):
        yield kind, start, body, box_end
        if kind in _ISO_CONTAINERS:
            yield from _walk_iso(data, body, box_end)


def _tkhd(body: bytes) -> tuple[int, int, int]:
    at = 4 + (32 if body[0] == 1 else 20) + 16  # past version/flags, times, layer, volume
    if len(body) < at + 44:
        return 0, 0, 0
    a, b = struct.unpack(">ii", body[at:at + 8])
    w, h = struct.unpack(">II", body[at + 36:at + 44])
    rotation = round(math.degrees(math.atan2(b, a))) % 360 if (a or b) else 0
    return rotation, w >> 16, h >> 16


def _mb(n: int) -> str:
    return f"{n / (1 << 20):.1f} MB" if n >= 1 << 20 else f"{n / 1024:.0f} KB"


# -- the fingerprint ----------------------------------------------------------------------
def fingerprint(path: str | os.PathLike) -> str:
    """A short string that stays the same when only the video's metadata changes.

    Raises OSError when the file cannot be read (FileNotFoundError when it is gone).
    """
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size == 0:
            return "empty"
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            kind = kind_of(bytes(data[:16]))
            try:
                if kind == "mp4":
                    ranges = [(b, e) for k, _, b, e in _boxes(data, 0, size) if k == b"mdat"]
                    rotation = _video_track_or_none(data, size)
                    if ranges and all(e <= size for _, e in ranges):
                        return f"mp4:{_hash_ranges(data, ranges)}:r{rotation}"
                elif kind == "avi":
                    ranges = list(_avi_movi(data, size))
                    if ranges:
                        return f"avi:{_hash_ranges(data, ranges)}"
                elif kind == "mkv":
                    ranges = list(_mkv_blocks(data, size))
                    if ranges:
                        return f"mkv:{_hash_ranges(data, ranges)}"
            except (_NotThisFormat, ImageError, IndexError, struct.error, ValueError):
                pass  # damaged or unusual: the whole file still identifies it
            return f"file:{_hash_ranges(data, [(0, size)], sample=False)}"


def _video_track_or_none(data, size: int) -> int:
    for kind, _, body, end in _boxes(data, 0, size):
        if kind == b"moov" and end <= size:
            return _video_track(data, body, end)[0]
    return 0


def _hash_ranges(data, ranges: list[tuple[int, int]], sample: bool = True) -> str:
    h = hashlib.blake2b(digest_size=_HASH_BYTES)
    total = sum(e - b for b, e in ranges)
    if not sample or total <= FULL_HASH_BYTES:
        for b, e in ranges:
            for at in range(b, e, 1 << 20):
                h.update(data[at:min(e, at + (1 << 20))])
        return h.hexdigest()
    h.update(struct.pack(">Q", total))
    starts = [b for b, _ in ranges]
    offsets, acc = [], 0
    for b, e in ranges:
        offsets.append(acc)
        acc += e - b
    step = (total - SAMPLE_BYTES) / (SAMPLES - 1)
    r = 0
    for k in range(SAMPLES):
        want = int(k * step)  # a position in the concatenated media data
        while r + 1 < len(ranges) and offsets[r + 1] <= want:
            r += 1
        at = starts[r] + want - offsets[r]
        h.update(data[at:min(ranges[r][1], at + SAMPLE_BYTES)])
    return h.hexdigest()


def _avi_movi(data, size: int) -> Iterator[tuple[int, int]]:
    """The bodies of the `movi` lists of every RIFF (AVI and the AVIX extensions of >1 GB)."""
    pos = 0
    while pos + 12 <= size:
        tag, length, form = struct.unpack("<4sI4s", data[pos:pos + 12])
        if tag != b"RIFF" or pos + 8 + length > size:
            raise _NotThisFormat("RIFF expected")
        at, end = pos + 12, pos + 8 + length
        while at + 8 <= end:
            ctag, clen = struct.unpack("<4sI", data[at:at + 8])
            if ctag == b"LIST" and data[at + 8:at + 12] == b"movi":
                yield at + 12, min(end, at + 8 + clen)
            at += 8 + clen + (clen & 1)
        pos = end + (length & 1)


def _vint(data, pos: int, keep_marker: bool) -> tuple[int, int]:
    """An EBML variable-length integer at pos: (value, its length in bytes)."""
    first = data[pos]
    if first == 0:
        raise _NotThisFormat("bad EBML length")
    n = 8 - first.bit_length() + 1
    value = first if keep_marker else first & ((1 << (8 - n)) - 1)
    for i in range(1, n):
        value = (value << 8) | data[pos + i]
    return value, n


def _ebml(data, pos: int, end: int) -> Iterator[tuple[int, int, int]]:
    """(id, body start, body end) of each EBML element in [pos, end)."""
    while pos < end:
        eid, n = _vint(data, pos, keep_marker=True)
        length, m = _vint(data, pos + n, keep_marker=False)
        body = pos + n + m
        if length == (1 << (7 * m)) - 1:  # "unknown size" (live streams): not followed
            raise _NotThisFormat("unknown-size element")
        if body + length > end:
            raise _NotThisFormat("element past its parent")
        yield eid, body, body + length
        pos = body + length


def _mkv_blocks(data, size: int) -> Iterator[tuple[int, int]]:
    for eid, body, end in _ebml(data, 0, size):
        if eid != _SEGMENT:
            continue
        for cid, cbody, cend in _ebml(data, body, end):
            if cid == _CLUSTER:
                for bid, bbody, bend in _ebml(data, cbody, cend):
                    if bid not in _CLUSTER_SKIP:
                        yield bbody, bend


__all__ = ["Container", "kind_of", "inspect", "fingerprint", "FULL_HASH_BYTES"]
