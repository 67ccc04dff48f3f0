"""Videos in a scan: a video is a photo with a time axis.

The worker side (`analyse`, `refresh`) runs in a scan worker like work.py's photo path: the
video engine (engine/video.py) samples its frames by the stated rule (one every 2 s, 4 to
30), finds the faces of each and links them into one track per person, so the result holds
one face per person per video: its best frame's box and landmarks, the track's mean
embedding, and the time of that frame (`FaceArrays.times`). The writer stores those as
faces like any photo's (scan/write.py; `faces.time_ms`), and people take them by the same
rules (assign, group).

The writer side (`match_video_faces`) carries decisions when a video is analysed again
(another pack or detection setting, or its frames changed): a video's faces come from
different frames, so boxes do not say which old face is which new one; the recogniser does.

Identity is the fingerprint of the media data (engine/video_container.py, reached through
scan/identity.fingerprint by the file's extension), so renaming a video or editing its tags
keeps its faces and the user's decisions, as for photos. Videos never take XMP sidecars.
"""
from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from ...engine.boxes import iou
from . import photo_meta
from .plan import Job
from .results import FaceArrays, Result, ResultKind

# The same face in a new analysis of the same video: the track's mean embedding moves little
# when another frame is best (identity.MIN_SIMILARITY is for one face re-detected in a photo).
SAME_TRACK = 0.50
# Without comparable embeddings (another pack): the same frame (within this) and place.
SAME_FRAME_MS = 250.0
SAME_PLACE_IOU = 0.40


def analyse(engine, job: Job, fingerprint: str) -> Result:
    """One video: its faces (one per person), frame size, length and date. A video the
    decoder cannot read raises ImageError (the caller makes it the file's reason)."""
    from ...engine import video  # noqa: PLC0415 - cv2: workers only

    path = job.entry.path
    found = video.analyse_video(engine, path)
    info = found.info
    faces = [vf.face for vf in found.faces]
    dated = date_of(path)
    return Result(job, ResultKind.ANALYSED, fingerprint=fingerprint,
                  faces=FaceArrays.of(faces, [vf.time_ms for vf in found.faces]),
                  width=info.width or None, height=info.height or None,
                  taken_at=dated.when, taken_source=dated.kind, date_source=dated.label,
                  duration_ms=round(info.duration_s * 1000.0, 1), error=found.problem)


def refresh(job: Job, fingerprint: str) -> Result:
    """Only the video's metadata changed (a tag, a title, a `free` box): its date again."""
    dated = date_of(job.entry.path)
    return Result(job, ResultKind.REFRESH, fingerprint=fingerprint, taken_at=dated.when,
                  taken_source=dated.kind, date_source=dated.label)


def date_of(path: str | os.PathLike) -> photo_meta.PhotoDate:
    """A sidecar's date, else the QuickTime creation date, else the file's time."""
    from ...engine.motion import video_file_date  # noqa: PLC0415

    inside = video_file_date(path)
    return photo_meta.date_of(path, [inside] if inside is not None else [])


def match_video_faces(old: Sequence, new: Sequence, pack: str) -> dict[int, int]:
    """{old index: new index} for the faces of a video analysed again. `old`: face rows
    (x, y, w, h, pack, embedding, time_ms); `new`: FaceRows. Same pack: the most alike pairs
    first, each at least SAME_TRACK alike; another pack (embeddings not comparable): the
    same frame and place."""
    pairs: list[tuple[float, int, int]] = []
    for i, f in enumerate(old):
        for j, face in enumerate(new):
            if f["pack"] == pack:
                a = np.frombuffer(f["embedding"], np.float32)
                b = np.asarray(face.embedding, np.float32)
                if a.shape != b.shape:
                    continue
                sim = float(a @ b / max(float(np.linalg.norm(a) * np.linalg.norm(b)), 1e-12))
                if sim >= SAME_TRACK:
                    pairs.append((sim, i, j))
            elif f["time_ms"] is not None and face.time_ms is not None and \
                    abs(f["time_ms"] - face.time_ms) <= SAME_FRAME_MS:
                overlap = iou((f["x"], f["y"], f["w"], f["h"]),
                              tuple(float(v) for v in face.box))
                if overlap >= SAME_PLACE_IOU:
                    pairs.append((overlap, i, j))
    out: dict[int, int] = {}
    taken: set[int] = set()
    for _, i, j in sorted(pairs, reverse=True):
        if i not in out and j not in taken:
            out[i] = j
            taken.add(j)
    return out


__all__ = ["analyse", "refresh", "date_of", "match_video_faces"]
