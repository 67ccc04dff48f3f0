"""Photo identity: a photo is its image, not its bytes.

`fingerprint(path)` hashes the data that makes the picture and leaves out what metadata tools
rewrite (ratings, keywords, GPS, XMP, ICC, comments, thumbnails), so a photo another program
re-tagged, or renamed, moved or copied, is recognised and keeps its faces, ids and the user's
decisions. Per format:

- JPEG: every segment but APPn and COM (tables, frame header, scans) up to EOI; data after EOI
  (trailers) is left out too.
- PNG: the image chunks (IHDR, PLTE, tRNS, IDAT and the APNG frame chunks), not text, time,
  ICC or eXIf.
- WebP: the VP8/VP8L/ALPH/ANIM/ANMF chunks, not VP8X (its flags change when metadata is
  added), EXIF, XMP or ICCP.
- TIFF: the strip or tile bytes and the tags that say how to read them.
- anything else (BMP, HEIC, or a file these parsers cannot follow): the whole file.

The EXIF orientation is part of the fingerprint: turning a photo by its orientation tag changes
where its faces are, so it must count as a change (decisions are then carried, see
`match_faces`).

`match_faces` pairs the faces of an old analysis of a photo with those of a new one (after an
edit: crop, rotation, another model pack or detection setting), so names, placements,
rejections and covers can follow: first the geometric transform that best explains the photo
(scale, quarter turns, or a crop estimated from the surest embedding pairs), then box overlap
under it, then embedding similarity.
"""
from __future__ import annotations

import hashlib
import mmap
import os
import re
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ...engine import video_container
from ...engine.boxes import Box, iou
from ...engine.formats import is_video

_HASH_BYTES = 16
_APP_OR_COM = frozenset(range(0xE0, 0xF0)) | {0xFE}
_STANDALONE = frozenset(range(0xD0, 0xD8)) | {0x01, 0xD8}  # RSTn, TEM, SOI: no length
# In entropy-coded data 0xFF is followed by 0x00 (a stuffed byte) or RSTn; anything else is the
# next marker.
_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7]")
_PNG_IMAGE_CHUNKS = frozenset({b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"acTL", b"fcTL", b"fdAT"})
_WEBP_IMAGE_CHUNKS = frozenset({b"VP8 ", b"VP8L", b"ALPH", b"ANIM", b"ANMF"})


class _NotThisFormat(Exception):
    """The parser for the file's format could not follow it: hash the whole file."""


def fingerprint(path: str | os.PathLike) -> str:
    """A short string that stays the same when only the photo's metadata changes.

    Raises OSError when the file cannot be read (FileNotFoundError when it is gone). A
    video (by its extension) is its media data (engine/video_container.py).
    """
    if is_video(path):
        return video_container.fingerprint(path)
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size == 0:
            return "empty"
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            head = bytes(data[:16])
            parser = _parser_for(head)
            if parser is not None:
                try:
                    kind, digest, orientation = parser(data)
                    return f"{kind}:{digest}:o{orientation}"
                except (_NotThisFormat, IndexError, struct.error, ValueError):
                    pass  # damaged or unusual: the whole file still identifies it
            h = hashlib.blake2b(digest_size=_HASH_BYTES)
            h.update(data)
            return f"file:{h.hexdigest()}"


def _parser_for(head: bytes) -> Callable | None:
    if head.startswith(b"\xff\xd8\xff"):
        return _jpeg
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return _png
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _webp
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return _tiff
    return None


def _jpeg(data) -> tuple[str, str, int]:
    h = hashlib.blake2b(digest_size=_HASH_BYTES)
    orientation = 1
    pos, end = 2, len(data)
    while pos < end:
        if data[pos] != 0xFF:
            raise _NotThisFormat("marker expected")
        while pos < end and data[pos] == 0xFF:  # fill bytes
            pos += 1
        marker = data[pos]
        pos += 1
        if marker == 0xD9:  # EOI: the picture ends here, whatever trails it
            h.update(b"\xff\xd9")
            return "jpeg", h.hexdigest(), orientation
        if marker in _STANDALONE:
            h.update(bytes((0xFF, marker)))
            continue
        length = struct.unpack(">H", data[pos:pos + 2])[0]
        segment = data[pos + 2:pos + length]
        if marker == 0xE1 and segment[:6] == b"Exif\x00\x00":
            orientation = _exif_orientation(segment[6:])
        if marker not in _APP_OR_COM:
            h.update(bytes((0xFF, marker)))
            h.update(data[pos:pos + length])
        pos += length
        if marker == 0xDA:  # a scan: entropy-coded data up to the next real marker
            found = _NEXT_MARKER.search(data, pos)
            stop = found.start() if found else end
            h.update(data[pos:stop])
            pos = stop
    raise _NotThisFormat("no EOI")


def _chunks(data, pos: int, end: int, png: bool):
    """(kind, body) of each chunk from `pos`: PNG's are length, kind, body, CRC (big-endian);
    RIFF's (WebP) kind, length, body and a pad byte to an even length (little-endian)."""
    while pos + 8 <= end:
        if png:
            length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        else:
            kind, length = struct.unpack("<4sI", data[pos:pos + 8])
        yield kind, data[pos + 8:pos + 8 + length]
        pos += 8 + length + (4 if png else length & 1)


def _png(data) -> tuple[str, str, int]:
    h = hashlib.blake2b(digest_size=_HASH_BYTES)
    orientation = 1
    for kind, body in _chunks(data, 8, len(data), png=True):
        if kind in _PNG_IMAGE_CHUNKS:
            h.update(kind)
            h.update(body)
        elif kind == b"eXIf":
            orientation = _exif_orientation(body)
        if kind == b"IEND":
            return "png", h.hexdigest(), orientation
    raise _NotThisFormat("no IEND")


def _webp(data) -> tuple[str, str, int]:
    h = hashlib.blake2b(digest_size=_HASH_BYTES)
    orientation = 1
    seen = False
    for kind, body in _chunks(data, 12, min(len(data), 8 + struct.unpack("<I", data[4:8])[0]),
                              png=False):
        if kind in _WEBP_IMAGE_CHUNKS:
            h.update(kind)
            h.update(body)
            seen = True
        elif kind == b"EXIF":
            exif = bytes(body)
            orientation = _exif_orientation(exif[6:] if exif.startswith(b"Exif") else exif)
    if not seen:
        raise _NotThisFormat("no image chunk")
    return "webp", h.hexdigest(), orientation


def _tiff(data) -> tuple[str, str, int]:
    from PIL import Image, UnidentifiedImageError  # noqa: PLC0415 - reads tags, no pixels

    try:
        im = Image.open(_Reader(data), formats=["TIFF"])
    except UnidentifiedImageError:  # TIFF-based camera RAW (DNG, CR2, NEF...): whole file
        raise _NotThisFormat("a TIFF Pillow does not read") from None
    with im:
        tags = im.tag_v2
        offsets = tags.get(324) or tags.get(273)  # TileOffsets, else StripOffsets
        counts = tags.get(325) or tags.get(279)
        if not offsets or not counts or len(offsets) != len(counts):
            raise _NotThisFormat("no strips or tiles")
        h = hashlib.blake2b(digest_size=_HASH_BYTES)
        # How to read the bytes: size, samples, bits, compression, photometric, predictor...
        for tag in (256, 257, 258, 259, 262, 277, 284, 317, 322, 323, 338, 339):
            h.update(repr((tag, tags.get(tag))).encode())
        for offset, count in zip(offsets, counts):
            h.update(data[int(offset):int(offset) + int(count)])
        return "tiff", h.hexdigest(), int(tags.get(274, 1) or 1)


class _Reader:
    """A file-like view of the mmap for Pillow (it seeks and reads only the directories)."""

    def __init__(self, data) -> None:
        self.data, self.pos = data, 0

    def read(self, n: int = -1) -> bytes:
        stop = len(self.data) if n is None or n < 0 else self.pos + n
        chunk = self.data[self.pos:stop]
        self.pos += len(chunk)
        return chunk

    def seek(self, pos: int, whence: int = 0) -> int:
        self.pos = pos if whence == 0 else (self.pos + pos if whence == 1 else
                                            len(self.data) + pos)
        return self.pos

    def tell(self) -> int:
        return self.pos


def _exif_orientation(tiff: bytes) -> int:
    """Tag 0x0112 of IFD0 in a TIFF-structured EXIF block; 1 when absent or unreadable."""
    try:
        order = {b"II": "<", b"MM": ">"}[tiff[:2]]
        (ifd,) = struct.unpack(order + "I", tiff[4:8])
        (count,) = struct.unpack(order + "H", tiff[ifd:ifd + 2])
        for i in range(count):
            entry = tiff[ifd + 2 + 12 * i:ifd + 14 + 12 * i]
            tag, kind = struct.unpack(order + "HH", entry[:4])
            if tag == 0x0112 and kind == 3:
                (value,) = struct.unpack(order + "H", entry[8:10])
                return int(value) if 1 <= value <= 8 else 1
    except (KeyError, struct.error, IndexError):
        pass
    return 1


def same_picture(a: str | None, b: str | None) -> bool:
    """The same image data, whatever the orientation tags say."""
    return bool(a and b) and a.rsplit(":o", 1)[0] == b.rsplit(":o", 1)[0] and ":o" in a


# -- carrying decisions from an old analysis to a new one -------------------------------------


# A face re-detected in the same picture gives near-identical embeddings (cosine > 0.9);
# after a crop or a resize it stays far above what two photos of one person give.
SURE_SIMILARITY = 0.80
MIN_SIMILARITY = 0.50
MIN_IOU = 0.40


@dataclass(frozen=True)
class FaceRef:
    box: Box
    embedding: np.ndarray | None  # None when the two analyses used different packs


def match_faces(old: Sequence[FaceRef], new: Sequence[FaceRef],
                old_size: tuple[int, int], new_size: tuple[int, int]) -> dict[int, int]:
    """{old index: new index} for the faces that are the same face in the edited photo."""
    if not old or not new:
        return {}
    sims = _similarities(old, new)
    best: dict[int, int] = {}
    best_score = -1.0
    for transform in _transforms(old, new, sims, old_size, new_size):
        moved = [transform(f.box) for f in old]
        pairs = _pairs(moved, new, sims)
        score = sum(iou for _, _, iou in pairs)
        if score > best_score:
            best, best_score = {i: j for i, j, _ in pairs}, score
    # Faces that moved too far for any box test (an unusual edit) but are unmistakable.
    if sims is not None:
        for i in range(len(old)):
            if i in best:
                continue
            j = int(np.argmax(sims[i]))
            if sims[i, j] >= SURE_SIMILARITY and j not in best.values() and \
                    int(np.argmax(sims[:, j])) == i:
                best[i] = j
    return best


def _similarities(old: Sequence[FaceRef], new: Sequence[FaceRef]) -> np.ndarray | None:
    if any(f.embedding is None for f in (*old, *new)):
        return None
    a = np.vstack([f.embedding for f in old]).astype(np.float32)
    b = np.vstack([f.embedding for f in new]).astype(np.float32)
    if a.shape[1] != b.shape[1]:
        return None
    return a @ b.T


def _pairs(moved: list[Box], new: Sequence[FaceRef], sims: np.ndarray | None
           ) -> list[tuple[int, int, float]]:
    """Greedy one-to-one pairs by overlap, each also similar enough when embeddings tell."""
    candidates = []
    for i, box in enumerate(moved):
        for j, face in enumerate(new):
            overlap = iou(box, face.box)
            if overlap < MIN_IOU:
                continue
            if sims is not None and sims[i, j] < MIN_SIMILARITY:
                continue
            candidates.append((overlap + (float(sims[i, j]) if sims is not None else 0.0),
                               i, j, overlap))
    candidates.sort(reverse=True)
    used_i: set[int] = set()
    used_j: set[int] = set()
    out = []
    for _, i, j, overlap in candidates:
        if i not in used_i and j not in used_j:
            used_i.add(i)
            used_j.add(j)
            out.append((i, j, overlap))
    return out


def _transforms(old, new, sims, old_size, new_size) -> list[Callable[[Box], Box]]:
    """Maps from the old photo's pixels to the new one's that an edit may have made."""
    (ow, oh), (nw, nh) = old_size, new_size
    ow, oh, nw, nh = (max(1.0, float(v)) for v in (ow, oh, nw, nh))

    def scale(b: Box) -> Box:
        x, y, w, h = b
        return (x * nw / ow, y * nh / oh, w * nw / ow, h * nh / oh)

    def turn_cw(b: Box) -> Box:  # old height becomes new width
        x, y, w, h = b
        k, m = nw / oh, nh / ow
        return ((oh - y - h) * k, x * m, h * k, w * m)

    def turn_ccw(b: Box) -> Box:
        x, y, w, h = b
        k, m = nw / oh, nh / ow
        return (y * k, (ow - x - w) * m, h * k, w * m)

    def half_turn(b: Box) -> Box:
        x, y, w, h = scale(b)
        return (nw - x - w, nh - y - h, w, h)

    out = [scale, half_turn, turn_cw, turn_ccw]
    crop = _crop_from_pairs(old, new, sims)
    if crop is not None:
        out.append(crop)
    return out


def _crop_from_pairs(old, new, sims) -> Callable[[Box], Box] | None:
    """A crop (and resize) estimated from the surest embedding pairs, if there are any."""
    if sims is None:
        return None
    sure = [(i, int(np.argmax(sims[i]))) for i in range(len(old))
            if sims[i].max() >= SURE_SIMILARITY]
    if not sure:
        return None
    k = float(np.median([new[j].box[2] / max(old[i].box[2], 1e-6) for i, j in sure]))
    dx = float(np.median([new[j].box[0] - old[i].box[0] * k for i, j in sure]))
    dy = float(np.median([new[j].box[1] - old[i].box[1] * k for i, j in sure]))

    def crop(b: Box) -> Box:
        x, y, w, h = b
        return (x * k + dx, y * k + dy, w * k, h * k)
    return crop


# Boxes of one face from two detectors (another pack) on the very same pixels overlap at
# least this much even when their shapes differ; two neighbouring faces hardly ever do.
LOOSE_IOU = 0.20


def overlap_pairs(old: Sequence[Box], new: Sequence[Box], pairs: dict[int, int],
                  min_iou: float = LOOSE_IOU) -> dict[int, int]:
    """More {old: new} pairs for a re-analysis of the same pixels: each old face `pairs`
    left out goes to the free new face it overlaps most (at least `min_iou`), so a decision
    follows its face rather than staying behind beside it."""
    taken = set(pairs.values())
    candidates = sorted(((iou(a, b), i, j) for i, a in enumerate(old) if i not in pairs
                         for j, b in enumerate(new) if j not in taken), reverse=True)
    out: dict[int, int] = {}
    for overlap, i, j in candidates:
        if overlap < min_iou:
            break
        if i not in out and j not in taken:
            out[i] = j
            taken.add(j)
    return out
