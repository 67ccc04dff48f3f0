"""One person, one face per video: linking the faces of a video's sampled frames into tracks.

Pure: faces in, tracks out, no decoding. Frames are taken in time order; each face joins the
track it is most like, where "like" is either

- the same person by the recogniser (cosine similarity to the track's mean embedding at least
  the pack's match threshold: a cut to another scene, or the person walking back in), or
- the same place as the track's face in the previous sampled frame (box overlap, IoU, at least
  IOU_MIN) with a looser similarity (at least LOOSE * threshold): a turn of the head or motion
  blur lowers the similarity of a face that did not move;

and never two faces of one frame in one track. Tracks that are the same person by their mean
embeddings and never share a frame are then merged (someone seen at the start and the end of
a video with a scene of others between). Each track becomes one face: its best frame (the
highest quality, then the largest box), with the quality-weighted mean of its embeddings (a
person seen from several sides is recognised better than from one frame).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .boxes import iou

IOU_MIN = 0.3
LOOSE = 0.6


@dataclass
class Track:
    """The faces of one person in one video: (frame position in the sample, face)."""
    faces: list[tuple[int, object]] = field(default_factory=list)
    _sum: np.ndarray | None = None

    @property
    def frames(self) -> set[int]:
        return {i for i, _ in self.faces}

    @property
    def last(self) -> tuple[int, object]:
        return self.faces[-1]

    @property
    def mean(self) -> np.ndarray:
        return _unit(self._sum)

    def add(self, i: int, face) -> None:
        self.faces.append((i, face))
        w = np.float32(max(float(face.quality), 0.05))
        e = np.asarray(face.embedding, np.float32) * w
        self._sum = e if self._sum is None else self._sum + e

    def absorb(self, other: Track) -> None:
        self.faces = sorted(self.faces + other.faces, key=lambda p: p[0])
        self._sum = self._sum + other._sum

    def best(self) -> tuple[int, object]:
        """The frame to show: the clearest face, then the largest."""
        return max(self.faces, key=lambda p: (round(float(p[1].quality), 3),
                                              p[1].box[2] * p[1].box[3]))


def link(frames: list[list], threshold: float) -> list[Track]:
    """Tracks of the faces of `frames` (one list of engine Faces per sampled frame, in time
    order), longest first."""
    tracks: list[Track] = []
    for i, faces in enumerate(frames):
        pairs = []
        for j, face in enumerate(faces):
            emb = np.asarray(face.embedding, np.float32)
            for t, tr in enumerate(tracks):
                sim = float(emb @ tr.mean)
                li, lf = tr.last
                overlap = iou(face.box, lf.box) if li == i - 1 else 0.0
                if sim >= threshold or (overlap >= IOU_MIN and sim >= LOOSE * threshold):
                    pairs.append((sim + 0.5 * overlap, j, t))
        used_f, used_t = set(), set()
        for _, j, t in sorted(pairs, reverse=True):
            if j in used_f or t in used_t:
                continue
            used_f.add(j)
            used_t.add(t)
            tracks[t].add(i, faces[j])
        for j, face in enumerate(faces):
            if j not in used_f:
                tr = Track()
                tr.add(i, face)
                tracks.append(tr)
    return sorted(_merge(tracks, threshold), key=lambda t: -len(t.faces))


def _merge(tracks: list[Track], threshold: float) -> list[Track]:
    """Merge the most alike pair of tracks that never share a frame, while one is left."""
    tracks = list(tracks)
    while len(tracks) > 1:
        means = np.stack([t.mean for t in tracks])
        sims = np.triu(means @ means.T, k=1)
        merged = False
        for flat in np.argsort(sims, axis=None)[::-1]:
            a, b = divmod(int(flat), len(tracks))
            if sims[a, b] < threshold:
                break
            if not tracks[a].frames & tracks[b].frames:
                tracks[a].absorb(tracks.pop(b))
                merged = True
                break
        if not merged:
            break
    return tracks


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return (v / n).astype(np.float32) if n > 0 else v.astype(np.float32)


__all__ = ["Track", "link", "IOU_MIN", "LOOSE"]
