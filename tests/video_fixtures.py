"""Test videos made from the shared photos with OpenCV's writer (no ffmpeg binary needed), and
the container edits a metadata tool makes (a tag written into `moov/udta`, a `free` box), done
by hand on the ISO-BMFF boxes."""
from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np

from conftest import DATASETS

DEEPFACE = DATASETS / "deepface-unit"
# person01 of deepface-unit/identities.csv: two photos for the video's two scenes, the others
# to name the person from photos.
SCENES = ("img1.jpg", "img2.jpg")
PERSON_PHOTOS = ("img4.jpg", "img5.jpg", "img6.jpg", "img7.jpg")
OTHER_PERSON = ("img3.jpg", "img12.jpg")  # person02


def _fit(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`image` letterboxed into a frame of `size` (w, h)."""
    w, h = size
    s = min(w / image.shape[1], h / image.shape[0])
    small = cv2.resize(image, (max(1, int(image.shape[1] * s)), max(1, int(image.shape[0] * s))),
                       interpolation=cv2.INTER_AREA)
    frame = np.zeros((h, w, 3), np.uint8)
    y, x = (h - small.shape[0]) // 2, (w - small.shape[1]) // 2
    frame[y:y + small.shape[0], x:x + small.shape[1]] = small
    return frame


def make_video(path: Path, photos=SCENES, *, seconds: float = 10.0, fps: int = 10,
               size: tuple[int, int] = (640, 480), fourcc: str = "mp4v") -> Path:
    """One scene per photo, each an equal part of `seconds`, slowly zooming in (so no two
    frames are the same picture), written with cv2.VideoWriter."""
    images = [cv2.imread(str(DEEPFACE / p)) for p in photos]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, size)
    assert writer.isOpened(), f"OpenCV cannot write {fourcc} to {path.suffix}"
    per_scene = int(seconds * fps) // len(images)
    for image in images:
        base = _fit(image, size)
        for k in range(per_scene):
            z = 1.0 + 0.15 * k / per_scene
            m = cv2.getRotationMatrix2D((size[0] / 2, size[1] / 2), 0.0, z)
            writer.write(cv2.warpAffine(base, m, size))
    writer.release()
    return path


def boxes(data: bytes, pos: int = 0, end: int | None = None):
    """(kind, start, end) of each ISO-BMFF box (32-bit sizes: what OpenCV writes)."""
    end = len(data) if end is None else end
    while pos + 8 <= end:
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        yield kind, pos, pos + length
        pos += length


def add_tag(path: Path, text: str) -> None:
    """Write a comment tag (moov/udta/©cmt, what exiftool or a phone's editor writes) into
    the movie box; the movie box must follow the media data, so no offset moves."""
    data = bytearray(path.read_bytes())
    top = list(boxes(bytes(data)))
    kinds = [k for k, _, _ in top]
    assert kinds.index(b"moov") > kinds.index(b"mdat"), "moov before mdat: offsets would move"
    _, start, end = next(b for b in top if b[0] == b"moov")
    payload = text.encode()
    cmt = struct.pack(">I4s", 8 + 4 + len(payload), b"\xa9cmt") + \
        struct.pack(">HH", len(payload), 0) + payload
    udta = struct.pack(">I4s", 8 + len(cmt), b"udta") + cmt
    data[end:end] = udta
    data[start:start + 4] = struct.pack(">I", end - start + len(udta))
    path.write_bytes(bytes(data))


def append_free(path: Path, n: int = 4096) -> None:
    """Padding another tool leaves for later edits: a `free` box at the end."""
    with path.open("ab") as fh:
        fh.write(struct.pack(">I4s", 8 + n, b"free") + b"\0" * n)


def set_rotation(path: Path, degrees: int) -> None:
    """Turn the video by its track header's matrix (what a phone's "rotate" does)."""
    data = bytearray(path.read_bytes())
    at = data.find(b"tkhd") + 4
    version = data[at]
    m = at + 4 + (32 if version == 1 else 20) + 16
    c, s = {0: (1, 0), 90: (0, 1), 180: (-1, 0), 270: (0, -1)}[degrees]
    one = 1 << 16
    data[m:m + 36] = struct.pack(">9i", c * one, s * one, 0, -s * one, c * one, 0, 0, 0,
                                 1 << 30)
    path.write_bytes(bytes(data))


def set_size(path: Path, width: int, height: int) -> None:
    """Make the track header claim frames of width x height (a hostile or broken file)."""
    data = bytearray(path.read_bytes())
    at = data.find(b"tkhd") + 4
    m = at + 4 + (32 if data[at] == 1 else 20) + 16
    data[m + 36:m + 44] = struct.pack(">II", width << 16, height << 16)
    path.write_bytes(bytes(data))


def truncate(path: Path, fraction: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * fraction)])
