"""Faces in videos: which frames to look at, decoding them within the memory budget, and one
face per person per video.

Frames are decoded by OpenCV's FFmpeg backend (`cv2.VideoCapture`: MP4, MOV, M4V, AVI, MKV),
one decoder thread, one frame held at a time. Which frames (`sample_frames`): one every
SECONDS_PER_SAMPLE seconds, at least MIN_SAMPLES and at most MAX_SAMPLES, each at the middle
of its equal stretch of the video: a 10 s clip gives 5 frames (1, 3, 5, 7, 9 s), a 3 s one 4,
a minute or more 30 (a 10-minute video one every 20 s); never more frames than the video has.

Each sampled frame is analysed like a photo (FaceEngine.analyze); the faces of all frames
are linked into tracks (video_tracks.py) so one person is one face of the video: its best
frame, with that frame's number and time, and the mean embedding of the track.

A video that cannot be read gets one line (ImageError): empty, text, not a video, truncated,
no movie header (video_container.inspect), frames too large for the budget, a format or codec
the decoder cannot open, or no frame decoded.
"""
from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np

from . import video_container, video_tracks
from .budget import BUDGET, PER_DECODE, fmt_bytes
from .errors import ImageError
from .images import LoadedImage

# FFmpeg's own messages ("moov atom not found") would go to the terminal for every damaged
# video: the one-line reason says it instead. Read by OpenCV when it opens its first video.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

SECONDS_PER_SAMPLE = 2.0
MIN_SAMPLES = 4
MAX_SAMPLES = 30
# A decoder holds reference frames (YUV 4:2:0, 1.5 bytes a pixel; up to 16 of them for H.264)
# and we hold a BGR copy or two: reserved per video, for as long as it is open.
BYTES_PER_PIXEL = 16 * 1.5 + 2 * 3
# Without a frame count (some AVI and MKV files), frames are read one after another: at
# most this many, so a stream that never ends cannot hold a worker.
MAX_SEQUENTIAL_READS = 36_000  # 20 minutes at 30 frames a second
_ASSUMED_FPS = 30.0


@dataclass(frozen=True)
class VideoInfo:
    width: int  # of the frames as decoded (turned by `rotation` already: OpenCV's
    # CAP_PROP_ORIENTATION_AUTO), from the first decoded frame once there is one
    height: int
    fps: float
    frames: int  # 0 when the file does not say
    codec: str  # FourCC, e.g. 'avc1', 'hev1', 'FMP4'
    rotation: int = 0

    @property
    def duration_s(self) -> float:
        return self.frames / self.fps if self.frames > 0 and self.fps > 0 else 0.0


@dataclass(frozen=True)
class VideoFace:
    face: object  # engine.Face of the best frame; its embedding is the track's mean
    frame: int  # the best frame's number in the video
    time_ms: float  # ... and its time from the start
    seen: int  # in how many sampled frames this person was found


@dataclass(frozen=True)
class VideoAnalysis:
    info: VideoInfo
    faces: list[VideoFace]
    sampled: int  # frames asked for
    decoded: int  # frames that could be decoded
    problem: str | None = None  # some sampled frames could not be decoded: why, in one line


def sample_count(duration_s: float) -> int:
    """How many frames to look at in a video of this length (the rule in the docstring)."""
    return max(MIN_SAMPLES, min(MAX_SAMPLES, math.ceil(duration_s / SECONDS_PER_SAMPLE)))


def sample_frames(frame_count: int, fps: float) -> list[int]:
    """Frame numbers to analyse, in order, each at the middle of its stretch of the video."""
    if frame_count <= 0:
        return []
    fps = fps if fps > 0 else _ASSUMED_FPS
    n = min(frame_count, sample_count(frame_count / fps))
    return sorted({min(frame_count - 1, int((i + 0.5) * frame_count / n)) for i in range(n)})


class VideoReader:
    """An open video, its memory booked in the decode budget until `close`."""

    def __init__(self, path: str | os.PathLike) -> None:
        import cv2  # noqa: PLC0415 - the decoders load on first use (engine/__init__.py)

        self.path = os.fspath(path)
        container = video_container.inspect(self.path)
        if container.width and container.height:
            self._check_budget(container.width, container.height)
        self._cv2 = cv2
        self._cap = cv2.VideoCapture(self.path, cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, 1])
        if not self._cap.isOpened():
            self._cap.release()
            raise ImageError("the video decoder cannot open this file (damaged, or a format "
                             "it does not read)")
        get = self._cap.get
        w, h = int(get(cv2.CAP_PROP_FRAME_WIDTH)), int(get(cv2.CAP_PROP_FRAME_HEIGHT))
        codec = int(get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little").decode("latin-1")
        self.info = VideoInfo(w, h, float(get(cv2.CAP_PROP_FPS) or 0.0),
                              max(0, int(get(cv2.CAP_PROP_FRAME_COUNT) or 0)),
                              codec.strip("\x00 ") or "unknown", container.rotation)
        try:
            need = self._check_budget(w, h)
        except ImageError:
            self._cap.release()
            raise
        self._booking = BUDGET.reserve(need)
        self._booking.__enter__()

    def _check_budget(self, w: int, h: int) -> int:
        need = int(max(1, w) * max(1, h) * BYTES_PER_PIXEL)
        if need > PER_DECODE:
            raise ImageError(f"video too large to decode: {w}x{h} frames need "
                             f"{fmt_bytes(need)} of memory, over the {fmt_bytes(PER_DECODE)} "
                             "budget")
        return need

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None
            self._booking.__exit__(None, None, None)

    def time_ms(self, frame: int) -> float:
        return frame * 1000.0 / (self.info.fps if self.info.fps > 0 else _ASSUMED_FPS)

    def frame(self, index: int) -> np.ndarray | None:
        """Frame `index` as BGR pixels, or None when it cannot be decoded."""
        cv2 = self._cv2
        if not self._cap.set(cv2.CAP_PROP_POS_FRAMES, float(index)):
            return None
        ok, pixels = self._cap.read()
        return pixels if ok and pixels is not None and pixels.size else None

    def samples(self) -> Iterator[tuple[int, np.ndarray | None]]:
        """(frame number, pixels or None) of each sampled frame, in order."""
        wanted = sample_frames(self.info.frames, self.info.fps)
        if wanted:
            for index in wanted:
                yield index, self.frame(index)
            return
        # No frame count: read on, keeping one frame every SECONDS_PER_SAMPLE.
        every = max(1, round((self.info.fps or _ASSUMED_FPS) * SECONDS_PER_SAMPLE))
        kept = 0
        for index in range(MAX_SEQUENTIAL_READS):
            if not self._cap.grab():
                return
            if index % every == every // 2:
                ok, pixels = self._cap.retrieve()
                yield index, pixels if ok else None
                kept += 1
                if kept >= MAX_SAMPLES:
                    return


def frame_image(pixels: np.ndarray) -> LoadedImage:
    """A decoded frame as the engine's image (full resolution: frames are at most 4K)."""
    h, w = pixels.shape[:2]
    return LoadedImage(pixels=pixels, scale=1.0, width=w, height=h, format="video frame")


def read_frame_at(path: str | os.PathLike, time_ms: float | None = None) -> LoadedImage:
    """The frame shown `time_ms` after the start (a video face's frame, for thumbnails and
    the viewer; None: the middle of the video); ImageError when it cannot be decoded."""
    with VideoReader(path) as video:
        fps = video.info.fps if video.info.fps > 0 else _ASSUMED_FPS
        if time_ms is None:
            time_ms = video.info.frames / 2 * 1000.0 / fps
        index = max(0, round(time_ms * fps / 1000.0))
        if video.info.frames:
            index = min(index, video.info.frames - 1)
        pixels = video.frame(index)
        if pixels is None:
            raise ImageError(f"the frame at {time_ms / 1000:.1f} s could not be decoded")
        return frame_image(pixels)


def load_still(path: str | os.PathLike, time_ms: float | None = None) -> LoadedImage:
    """What to show of a file: a photo's pixels (images.load_image), or a video's frame at
    `time_ms` (None: its middle), chosen by the file's extension."""
    from .formats import is_video  # noqa: PLC0415
    from .images import load_image  # noqa: PLC0415

    return read_frame_at(path, time_ms) if is_video(path) else load_image(path)


def analyse_video(engine, path: str | os.PathLike) -> VideoAnalysis:
    """One face per person seen in the video's sampled frames (see the module docstring)."""
    found: list[list] = []
    where: list[int] = []
    sampled = 0
    lost: list[int] = []
    with VideoReader(path) as video:
        info = video.info
        for index, pixels in video.samples():
            sampled += 1
            if pixels is None:
                lost.append(index)
                continue
            if not found:
                info = replace(info, width=pixels.shape[1], height=pixels.shape[0])
            found.append(engine.analyze(frame_image(pixels)))
            where.append(index)
            del pixels
        if not found:
            raise ImageError(f"no frame of this video could be decoded (codec '{info.codec}')"
                             if sampled else "the video holds no frames")
        tracks = video_tracks.link(found, engine.info.match_threshold)
        faces = []
        for track in tracks:
            i, face = track.best()
            faces.append(VideoFace(face=_with_embedding(face, track.mean), frame=where[i],
                                   time_ms=video.time_ms(where[i]), seen=len(track.faces)))
        problem = None
        if lost:  # a cut-off copy still shows who is in the part that is there
            problem = (f"damaged video: {len(lost)} of {sampled} sampled frames could not be "
                       f"decoded, from {video.time_ms(lost[0]) / 1000:.1f} s on "
                       "(truncated?); faces were looked for in the rest")
    return VideoAnalysis(info, faces, sampled, len(found), problem)


def _with_embedding(face, embedding: np.ndarray):
    return replace(face, embedding=embedding.astype(np.float32))


__all__ = ["VideoInfo", "VideoFace", "VideoAnalysis", "VideoReader", "sample_count",
           "sample_frames", "frame_image", "read_frame_at", "load_still", "analyse_video",
           "SECONDS_PER_SAMPLE", "MIN_SAMPLES", "MAX_SAMPLES"]
