"""Face crops and photo thumbnails, made off the GUI thread and cached on disk and in memory.

`ThumbnailProvider.pixmap(key)` never blocks: a hit returns the cached QPixmap, a miss queues
the key and returns None (the delegate draws a placeholder); when a batch arrives `ready` names
the keys so models can emit dataChanged. Workers make QImages (allowed off the GUI thread); the
QPixmap is made here, on the GUI thread. Keys: ("face", face_id) or ("photo", photo_id).
Face ids are never reused (AUTOINCREMENT), so a face crop on disk is valid forever.

Crops are biometric data: the cache is owner-only (folders 0700, files 0600), a crop is only
written while its face exists and no "forget" ran (checked before and after the write, since
another process may forget at any moment), and crops of faces and photos that are gone are
pruned when the provider opens (library/storage/thumbcache.py `prune_thumbnails`).

Every face gets its crop soon after it is found, not only when first shown
(`keep_face_crops`, after the window opens and after each scan): a photo on a drive that is
unplugged later cannot be decoded, and its faces must not turn into grey circles. Crops are
small, and go only with their face.
"""
from __future__ import annotations

import logging
import os
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QObject, QRunnable, QTimer, Signal
from PySide6.QtGui import QImage, QPixmap

from ..engine.pictures import face_crop, jpeg, photo_square
from ..library import Library, NotFoundError
from ..library.storage.thumbcache import (
    FACES,
    THUMBNAILS,
    keep_picture,
    photo_tile_path,
    prune_thumbnails,
    still_there,
)
from .pixmap_cache import Key, PixmapCache
from .tasks import Task

log = logging.getLogger(__name__)

_BATCH = 16
_MAX_IN_FLIGHT = 3
_MAX_PENDING = 600  # only the latest requests matter when the user scrolls fast


def to_qimage(bgr: np.ndarray) -> QImage:
    """A QImage that owns a copy of the pixels (safe to send across threads)."""
    bgr = np.ascontiguousarray(bgr)
    h, w = bgr.shape[:2]
    return QImage(bgr.data, w, h, bgr.strides[0], QImage.Format.Format_BGR888).copy()


def fit_within(pixels: np.ndarray, side: int) -> np.ndarray:
    h, w = pixels.shape[:2]
    k = side / max(h, w)
    if k >= 1:
        return pixels
    return cv2.resize(pixels, (max(1, int(w * k)), max(1, int(h * k))),
                      interpolation=cv2.INTER_AREA)


class ThumbnailSignals(QObject):
    done = Signal(object)  # list[tuple[Key, QImage | None]]
    finished = Signal()


class ThumbnailTask(QRunnable):
    """Makes the QImages of a batch of keys: from the disk cache, else from the photos."""

    def __init__(self, library_path: Path, cache_dir: Path, keys: list[Key]) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.library_path = library_path
        self.cache_dir = cache_dir
        self.keys = keys
        self.signals = ThumbnailSignals()

    def run(self) -> None:
        out: list[tuple[Key, QImage | None]] = []
        try:
            out = self._make()
        except Exception:  # a thumbnail is never worth a crash: show a blank tile
            log.exception("thumbnails failed")
            out = [(k, None) for k in self.keys]
        finally:
            self.signals.done.emit(out)
            self.signals.finished.emit()

    def _make(self) -> list[tuple[Key, QImage | None]]:
        from ..engine import load_still  # noqa: PLC0415 - heavy, and only needed on a miss
        out: list[tuple[Key, QImage | None]] = []
        missing: list[Key] = []
        for key in self.keys:
            if key[0] == "face":
                path = self.cache_dir / FACES / f"{key[1]}.jpg"
                image = QImage(str(path)) if path.exists() else QImage()
                if not image.isNull():
                    out.append((key, image))
                    continue
            missing.append(key)
        if not missing:
            return out
        with Library(self.library_path) as library:
            epoch = library.epoch  # "forget" in any process moves it
            faces = library.faces_by_ids([k[1] for k in missing if k[0] == "face"])
            # A picture is a photo, or a video's frame: (path, None) or (path, time).
            by_picture: dict[tuple[str, float | None], list[Key]] = {}
            tile_boxes: dict[int, list] = {}
            for key in missing:
                if key[0] == "face":
                    face = faces.get(key[1])
                    if face is None:
                        out.append((key, None))
                        continue
                    by_picture.setdefault((face.photo_path, face.frame_ms), []).append(key)
                else:
                    try:
                        photo = library.photo(key[1])
                    except NotFoundError:
                        out.append((key, None))
                        continue
                    cached = QImage(str(self._photo_file(key[1], photo.path)))
                    if cached.isNull():
                        frame, tile_boxes[key[1]] = _tile_faces(library, photo)
                        by_picture.setdefault((photo.path, frame), []).append(key)
                    else:
                        out.append((key, cached))
            # Decode each photo (each frame of a video) once for all of its faces.
            for (photo_path, frame), keys in by_picture.items():
                try:
                    image = load_still(photo_path, frame)
                except Exception as exc:
                    log.debug("no thumbnail for %s: %s", photo_path, exc)
                    out += [(k, None) for k in keys]
                    continue
                for key in keys:
                    if key[0] == "face":
                        crop = face_crop(image.pixels, image.scale, faces[key[1]].box)
                        path = self.cache_dir / FACES / f"{key[1]}.jpg"
                    else:
                        crop = photo_square(image.pixels, image.scale, tile_boxes[key[1]])
                        path = self._photo_file(key[1], photo_path)
                    out.append((key, self._keep(library, epoch, key, path, crop)))
        return out

    def _keep(self, library: Library, epoch: int, key: Key, path: Path, pixels: np.ndarray
              ) -> QImage | None:
        """Cache and show the picture, unless its face or photo is gone or "forget" ran."""
        if not _cache(library, epoch, key, self.cache_dir, path, pixels):
            return None
        return to_qimage(pixels)

    def _photo_file(self, photo_id: int, photo_path: str) -> Path:
        return photo_tile_path(self.cache_dir, photo_id, photo_path)


def _cache(library: Library, epoch: int, key: Key, cache_dir: Path, path: Path,
           pixels: np.ndarray) -> bool:
    """Write the picture to the cache, unless its face or photo is gone or "forget" ran."""
    data = jpeg(pixels)
    if data is None:
        return False
    try:
        return keep_picture(library, epoch, key[0], key[1], path, data)
    except OSError as exc:  # a read-only cache only costs speed
        log.debug("cannot cache %s: %s", path, exc)
        return _still_there(library, epoch, key)


def keep_face_crops(library: Library, cache_dir: Path,
                    stop: Callable[[], bool] = lambda: False) -> int:
    """Make the crop of every visible face of a readable photo that has none yet, decoding
    each photo once (a thumbnail-pool task). Returns the number of crops made."""
    from ..engine import load_still  # noqa: PLC0415 - heavy
    try:
        have = {n.split(".", 1)[0] for n in os.listdir(cache_dir / FACES)}
    except OSError:
        have = set()
    readable = {p.id for p in library.photos(status="done") if not p.offline and not p.missing}
    todo: dict[tuple[str, float | None], list] = {}
    for face in library.faces():
        if not face.ignored and str(face.id) not in have and face.photo_id in readable:
            todo.setdefault((face.photo_path, face.frame_ms), []).append(face)
    epoch, made = library.epoch, 0
    for (photo_path, frame), faces in todo.items():
        if stop():
            break
        try:
            image = load_still(photo_path, frame)
        except Exception as exc:  # unreadable now: its crops are made when it can be read
            log.debug("no crops for %s: %s", photo_path, exc)
            continue
        for face in faces:
            crop = face_crop(image.pixels, image.scale, face.box)
            made += _cache(library, epoch, ("face", face.id), cache_dir,
                           cache_dir / FACES / f"{face.id}.jpg", crop)
    return made


def _tile_faces(library: Library, photo) -> tuple[float | None, list]:
    """Which picture a photo's tile is cut from and around which faces: the photo and all
    its faces; for a video, the frame of its clearest face and the faces of that frame (its
    middle frame when it has none)."""
    faces = [f for f in library.faces(photo_id=photo.id) if not f.ignored]
    if not photo.is_video:
        return None, [f.box for f in faces]
    if not faces:
        return None, []
    best = max(faces, key=lambda f: (f.quality, f.box[2] * f.box[3]))
    return best.frame_ms, [f.box for f in faces if f.frame_ms == best.frame_ms]


def _still_there(library: Library, epoch: int, key: Key) -> bool:
    return still_there(library, epoch, key[0], key[1])


class ThumbnailProvider(QObject):
    """The one place views get face and photo pictures from (GUI thread)."""

    ready = Signal(object)  # list[Key] that now have a pixmap

    def __init__(self, library_path: Path, pool, max_bytes: int = 96 << 20,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.library_path = Path(library_path)
        self.cache_dir = self.library_path / THUMBNAILS
        self.pool = pool  # TaskPools: the thumbs pool runs the tasks
        self.cache = PixmapCache(max_bytes)
        self.failed = QPixmap()
        self._pending: OrderedDict[Key, None] = OrderedDict()
        self._in_flight: set[Key] = set()
        self._batches = 0
        self.closed = False  # set when the window closes: late batches are dropped
        self._flush_timer = QTimer(self, singleShot=True, interval=0)
        self._flush_timer.timeout.connect(self._flush)
        self._keeping: Task | None = None
        self._keep_again = False
        self.prune()

    def prune(self) -> None:
        """Delete cached pictures of faces and photos that no longer exist, off the GUI
        thread (on open; call it again after faces were removed)."""
        task = Task(self.library_path, prune_thumbnails, "prune thumbnails")
        task.signals.error.connect(lambda reason: log.debug("prune: %s", reason))
        self.pool.start(self.pool.thumbs, task)

    def keep_face_crops(self) -> Task | None:
        """Crops for every face that has none, in the background (see `keep_face_crops`);
        one run at a time, stopped when the window closes."""
        if self._keeping is not None:
            self._keep_again = True
            return self._keeping
        task = Task(self.library_path,
                    lambda library: keep_face_crops(library, self.cache_dir,
                                                    lambda: self.closed), "keep face crops")
        task.signals.error.connect(lambda reason: log.debug("face crops: %s", reason))
        task.signals.finished.connect(self._kept)
        self._keeping = task
        self.pool.start(self.pool.thumbs, task)
        return task

    def _kept(self) -> None:
        self._keeping = None
        if self._keep_again and not self.closed:
            self._keep_again = False
            self.keep_face_crops()

    def pixmap(self, key: Key) -> QPixmap | None:
        pixmap = self.cache.get(key)
        if pixmap is not None:
            return pixmap
        if key not in self._in_flight:
            self._pending.pop(key, None)
            self._pending[key] = None  # newest last: they are what is on screen now
            while len(self._pending) > _MAX_PENDING:
                self._pending.popitem(last=False)
            self._flush_timer.start()
        return None

    def _flush(self) -> None:
        while self._pending and self._batches < _MAX_IN_FLIGHT:
            keys = []
            while self._pending and len(keys) < _BATCH:
                keys.append(self._pending.popitem(last=True)[0])
            self._in_flight.update(keys)
            self._batches += 1
            task = ThumbnailTask(self.library_path, self.cache_dir, keys)
            task.signals.done.connect(self._arrived)
            self.pool.start(self.pool.thumbs, task)

    def _arrived(self, items: list[tuple[Key, QImage | None]]) -> None:
        self._batches -= 1
        if self.closed:
            return
        keys = []
        for key, image in items:
            self._in_flight.discard(key)
            # A face that cannot be drawn gets an empty pixmap, so it is not asked again.
            pixmap = QPixmap.fromImage(image) if image is not None else QPixmap(1, 1)
            self.cache.put(key, pixmap)
            keys.append(key)
        if keys:
            self.ready.emit(keys)
        if self._pending:
            self._flush_timer.start()
