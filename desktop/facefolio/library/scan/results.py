"""What a scan worker sends back for one file (`Result`: a few float32 arrays per photo, not an
object per face) and what the writer made of it (`Written`)."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple

import numpy as np

from ..people.ages import EstimateArrays
from .plan import Job


class FaceRow(NamedTuple):
    box: np.ndarray  # x, y, w, h in original pixels
    landmarks: np.ndarray  # 5 x 2
    score: float
    quality: float
    embedding: np.ndarray
    time_ms: float | None = None  # a video's face: the time of its frame


@dataclass
class FaceArrays:
    """The faces of one photo as five float32 arrays (six for a video's faces: the time of
    each one's frame): what a scan worker sends back."""
    boxes: np.ndarray  # n x 4
    landmarks: np.ndarray  # n x 5 x 2
    scores: np.ndarray  # n
    quality: np.ndarray  # n
    embeddings: np.ndarray  # n x dim
    times: np.ndarray | None = None  # n, milliseconds from a video's start; None: a photo

    @classmethod
    def of(cls, faces: list, times: list[float] | None = None) -> FaceArrays:
        """From the engine's `Face` objects (the worker side)."""
        f32 = np.float32
        embeddings = np.array([f.embedding for f in faces], f32) if faces \
            else np.zeros((0, 0), f32)  # a photo without faces
        return cls(np.array([f.box for f in faces], f32).reshape(-1, 4),
                   np.array([f.landmarks for f in faces], f32).reshape(-1, 5, 2),
                   np.array([f.score for f in faces], f32),
                   np.array([f.quality for f in faces], f32), embeddings,
                   None if times is None else np.array(times, np.float64).reshape(-1))

    def __len__(self) -> int:
        return len(self.scores)

    def __iter__(self) -> Iterator[FaceRow]:
        for i in range(len(self.scores)):
            yield FaceRow(self.boxes[i], self.landmarks[i], float(self.scores[i]),
                          float(self.quality[i]), self.embeddings[i],
                          None if self.times is None else float(self.times[i]))


class ResultKind(StrEnum):
    """What a worker made of a job: faces found (`ANALYSED`), a copy's or a refresh's new
    fingerprint and dates, an error, a file gone before it was read (`VANISHED`), or a photo kept
    as it was because the new read failed (`KEPT`)."""
    ANALYSED = "analysed"
    COPY = "copy"
    REFRESH = "refresh"
    FINGERPRINT = "fingerprint"
    ERROR = "error"
    VANISHED = "vanished"
    KEPT = "kept"


@dataclass
class Result:
    """What a worker made of a job."""
    job: Job | None  # None while it travels back from a worker process (the parent has it)
    kind: ResultKind
    fingerprint: str | None = None
    faces: FaceArrays | list = field(default_factory=list)
    width: int | None = None
    height: int | None = None
    taken_at: str | None = None
    taken_source: str | None = None  # 'exif' or 'file'
    date_source: str | None = None  # which source exactly (engine/dates.py), e.g. 'IPTC ...'
    regions: list = field(default_factory=list)  # named face regions from XMP
    xmp_error: str | None = None  # the photo is fine, its XMP is not
    error: str | None = None
    duration_ms: float | None = None  # a video's length (0: its file does not say)
    estimates: EstimateArrays | None = None  # of `faces`, in order (people/ages.py)
    # JPEG bytes cut by the worker from the pixels it analysed (engine/pictures.py): each
    # face's crop, in the order of `faces`, and the photo's tile. The writer caches them.
    crops: list = field(default_factory=list)
    tile: bytes | None = None


@dataclass
class Written:
    face_ids: list[int] = field(default_factory=list)
    notes: int = 0
    photo_id: int | None = None
    removed: list[int] = field(default_factory=list)  # faces replaced by the new analysis


__all__ = ["FaceRow", "FaceArrays", "ResultKind", "Result", "Written"]
