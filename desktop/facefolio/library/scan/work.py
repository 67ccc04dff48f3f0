"""What a scan worker does with one file: fingerprint, decode, analyse, read the dates and XMP.

No SQLite here, and nothing that needs the parent: this runs in a worker process of the scan
pool (pool.py), or on a thread of the parent when the caller brought its own engines.
The photo's bytes are read only here. A worker builds its engine once (`Work.engine`) and
answers each job with a `Result` whose faces are a few float32 arrays (`FaceArrays`), so what
travels back to the parent is one compact record per photo, not an object per face.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..interop import xmp
from ...engine.formats import is_video
from . import photo_meta, video_scan
from .identity import fingerprint
from .plan import Job, JobKind
from .results import FaceArrays, Result, ResultKind

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkSpec:
    """What every job of one scan shares, sent once to each worker."""
    pack: str
    det_threshold: float
    min_face: int
    threads: int = 1  # ONNX Runtime threads per worker: the workers themselves fill the cores
    copies: frozenset[str] = field(default_factory=frozenset)  # fingerprints the library has
    providers: tuple[str, ...] | None = None  # None: the engine's own choice (runtime.py)
    estimate: tuple[str, ...] = ()  # what to estimate of each face: ages.scan_tasks


class Work:
    """One worker's state: the spec and, once built, its engine."""

    def __init__(self, spec: WorkSpec, engine_factory: Callable | None = None) -> None:
        self.spec = spec
        self._factory = engine_factory
        self._engine = None
        self._estimator = None  # built on the first face; False: it cannot be

    @property
    def engine_ready(self) -> bool:
        """Whether the engine could be built (a broken one fails each photo instead)."""
        try:
            return self.engine is not None
        except Exception:
            return False

    @property
    def engine(self):
        if self._engine is None:
            if self._factory is not None:
                self._engine = self._factory()
            else:
                from ...engine import FaceEngine  # noqa: PLC0415 - heavy: workers only
                s = self.spec
                self._engine = FaceEngine(s.pack, det_threshold=s.det_threshold,
                                          min_face=s.min_face, threads=s.threads,
                                          providers=list(s.providers) if s.providers else None)
        return self._engine

    # -- the two kinds of task ----------------------------------------------------------
    def fingerprint(self, path: str, legacy: bool) -> tuple[str, str | None] | None:
        """(fingerprint, whole-file hash when `legacy`) of one file; None when unreadable now
        (the analysis step says why)."""
        try:
            return fingerprint(path), (_whole_file_hash(path) if legacy else None)
        except OSError:
            return None

    def analyse(self, job: Job) -> Result:
        try:
            return self._analyse(job)
        except Exception as exc:  # whatever goes wrong with one file, the scan goes on
            log.exception("scanning %s failed", job.entry.path)
            return failed(job, f"could not scan: {type(exc).__name__}: {exc}")

    def analyse_many(self, jobs: list[Job]) -> list[Result]:
        """Several photos at once: on an accelerator their faces are found and embedded in
        shared batches (FaceEngine.analyze_many); on the CPU one by one is as fast."""
        if len(jobs) < 2 or not self.engine.gpu:
            return [self.analyse(job) for job in jobs]
        early: dict[int, Result] = {}
        loaded = []
        for i, job in enumerate(jobs):
            try:
                step = self._before_analysis(job)
            except Exception as exc:
                step = failed(job, f"could not scan: {type(exc).__name__}: {exc}")
            if isinstance(step, Result):
                early[i] = step
            else:
                loaded.append((i, job, *step))
        try:
            found = self.engine.analyze_many([image for _, _, _, image in loaded])
        except Exception:  # one photo's trouble must not cost the batch: one by one
            log.exception("batched analysis failed; analysing one by one")
            return [self.analyse(job) for job in jobs]
        for (i, job, fp, image), faces in zip(loaded, found):
            early[i] = self._after_analysis(job, fp, image, faces)
        return [early[i] for i in range(len(jobs))]

    def _analyse(self, job: Job) -> Result:
        step = self._before_analysis(job)
        if isinstance(step, Result):
            return step
        fp, image = step
        from ...engine import ImageError  # noqa: PLC0415
        try:  # a closer look decodes the photo again: it may have gone or changed meanwhile
            faces = self.engine.analyze(image)
        except ImageError as exc:
            return failed(job, str(exc))
        except FileNotFoundError:
            return Result(job, ResultKind.VANISHED)
        return self._after_analysis(job, fp, image, faces)

    def _before_analysis(self, job: Job):
        """A finished Result (nothing to analyse, or a failure), or (fingerprint, image)."""
        e = job.entry
        if job.kind is JobKind.ERROR:
            return Result(job, ResultKind.ERROR, error=e.problem)
        fp = job.fingerprint
        try:
            if fp is None:
                fp = fingerprint(e.path)
        except FileNotFoundError:
            return Result(job, ResultKind.VANISHED)
        except OSError as exc:
            return failed(job, os_reason(exc))
        if job.kind is JobKind.FINGERPRINT:
            return Result(job, ResultKind.FINGERPRINT, fingerprint=fp)
        if job.kind is JobKind.COPY or (job.kind is JobKind.NEW and fp in self.spec.copies):
            return Result(job, ResultKind.COPY, fingerprint=fp)
        if job.kind is JobKind.REFRESH:
            return video_scan.refresh(job, fp) if is_video(e.path) else self._refresh(job, fp)
        from ...engine import ImageError, load_image  # noqa: PLC0415
        if is_video(e.path):  # frames sampled, one face per person (video_scan.py)
            try:
                return video_scan.analyse(self.engine, job, fp)
            except ImageError as exc:
                return failed(job, str(exc))
            except FileNotFoundError:
                return Result(job, ResultKind.VANISHED)
        try:
            return fp, load_image(e.path)
        except ImageError as exc:
            return failed(job, str(exc))
        except FileNotFoundError:
            return Result(job, ResultKind.VANISHED)

    def _after_analysis(self, job: Job, fp: str, image, faces: list) -> Result:
        e = job.entry
        dated = photo_meta.date_of(e.path, image.dates)
        regions, xmp_error = _regions(e.path, image.width, image.height) if faces \
            else ([], None)
        arrays = FaceArrays.of(faces)
        crops, tile = self._pictures(image, arrays)
        return Result(job, ResultKind.ANALYSED, fingerprint=fp, faces=arrays,
                      width=image.width, height=image.height, taken_at=dated.when,
                      taken_source=dated.kind, date_source=dated.label, regions=regions,
                      xmp_error=xmp_error, estimates=self._estimates(image, arrays),
                      crops=crops, tile=tile)

    @staticmethod
    def _pictures(image, arrays: FaceArrays) -> tuple[list, bytes | None]:
        """The faces' crops and the photo's tile, cut here from the pixels just analysed:
        the window's process then never decodes the photo again to show them."""
        from ...engine.pictures import pictures_of  # noqa: PLC0415 - OpenCV: workers only
        try:
            return pictures_of(image.pixels, image.scale, arrays.boxes)
        except Exception:  # a picture is never worth the photo's faces
            log.exception("no thumbnails cut for %s", image.path)
            return [], None

    def _estimates(self, image, arrays: FaceArrays):
        """The faces' estimates (ages.EstimateArrays) the spec asks for; None when it asks
        none or the model cannot run: the photo's faces count all the same."""
        if not self.spec.estimate or not len(arrays) or self._estimator is False:
            return None
        from ..people import ages  # noqa: PLC0415 - ONNX Runtime: workers only
        try:
            if self._estimator is None:
                self._estimator = ages.estimator_for(self.spec.pack, max(1, self.spec.threads))
            return ages.estimate_image(self._estimator, image, arrays.boxes, arrays.landmarks,
                                       self.spec.estimate)
        except Exception:  # a broken model file: say it once, scan on without estimates
            if self._estimator is None:
                log.exception("age/gender estimates are off for this scan")
                self._estimator = False
            else:
                log.exception("no age/gender estimates for these faces")
            return None

    def _refresh(self, job: Job, fp: str) -> Result:
        """Only the metadata changed: read the date and the names other tools wrote."""
        try:
            width, height, inside = photo_meta.header(job.entry.path)
        except OSError as exc:
            return failed(job, os_reason(exc))
        dated = photo_meta.date_of(job.entry.path, inside)
        regions, xmp_error = _regions(job.entry.path, width, height)
        return Result(job, ResultKind.REFRESH, fingerprint=fp, taken_at=dated.when,
                      taken_source=dated.kind, date_source=dated.label, regions=regions,
                      xmp_error=xmp_error)


def failed(job: Job, reason: str) -> Result:
    """A photo that has faces keeps them when it cannot be read again."""
    if job.row is not None and job.row.status == "done":
        return Result(job, ResultKind.KEPT, error=reason)
    return Result(job, ResultKind.ERROR, error=reason)


def _regions(path: str, width: int, height: int) -> tuple[list, str | None]:
    """Names another tool (digiKam, Lightroom...) gave faces of this photo, from XMP."""
    try:
        return xmp.read_regions(Path(path), width, height), None
    except xmp.XmpError as exc:
        return [], str(exc)
    except Exception as exc:  # the XMP reader itself failed: the faces still count
        log.exception("reading XMP of %s failed", path)
        return [], f"XMP not read: {type(exc).__name__}: {exc}"


def _whole_file_hash(path: str) -> str:
    """The content hash libraries made before fingerprints (schema 1): moves of photos
    scanned then are still recognised."""
    import hashlib  # noqa: PLC0415

    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "blake2b").hexdigest()[:32]


def os_reason(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, IsADirectoryError):
        return "is a folder"
    return f"cannot read file: {exc.strerror or exc}"


__all__ = ["WorkSpec", "Work", "failed", "os_reason"]
