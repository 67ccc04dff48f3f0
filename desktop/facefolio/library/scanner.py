"""Incremental, resumable, pipelined scanning of the remembered folders.

`Scanner.scan()` is a generator of `ScanProgress`: the caller picks the thread. Inside, worker
threads hash, decode and analyse photos (OpenCV, Pillow and ONNX Runtime release the GIL, so
both cores work) while the generator's own thread is the one SQLite writer. A photo's faces and
its row (the "done" mark) are written in one transaction, so a scan killed at any instant
resumes where it stopped and never stores a face twice.
"""
from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from . import store, xmp
from .library import Library
from .store import Transaction
from .walk import FileEntry, walk_folder

log = logging.getLogger(__name__)

_COMMIT_EVERY_S = 0.5
_ENGINES: dict[tuple, list] = {}  # idle engines by (pack, threshold, min face, threads)
_ENGINES_LOCK = threading.Lock()
_COMMIT_EVERY_N = 32


@dataclass(frozen=True)
class ScanProgress:
    phase: str  # 'listing', 'scanning', 'finishing', 'done', 'cancelled'
    done: int = 0
    total: int = 0
    current: str = ""
    faces: int = 0  # faces found in this scan so far
    errors: int = 0  # files that failed in this scan so far
    skipped: int = 0  # unchanged files
    moved: int = 0
    removed: int = 0
    elapsed: float = 0.0
    rate: float = 0.0  # photos per second
    eta: float | None = None  # seconds
    new_face_ids: tuple[int, ...] = field(default=(), repr=False)


class CancelToken:
    """Cooperative cancel and pause, checked by the scan between photos."""

    def __init__(self) -> None:
        self._cancel = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def cancel(self) -> None:
        self._cancel.set()
        self._running.set()  # wake a paused scan so it can stop

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_if_paused(self) -> None:
        self._running.wait()


@dataclass
class _Result:
    entry: FileEntry
    kind: str  # 'analysed', 'error', 'touched', 'moved', 'vanished'
    content_hash: str | None = None
    faces: list = field(default_factory=list)
    width: int | None = None
    height: int | None = None
    taken_at: str | None = None
    error: str | None = None
    moved_from: int | None = None  # photo id whose file moved here
    regions: list = field(default_factory=list)  # named face regions from XMP
    xmp_error: str | None = None  # the photo is fine, its XMP is not


class Scanner:
    """Scans folders of one library. Create it on the thread that will run `scan()`."""

    def __init__(self, library: Library, *, workers: int | None = None, engine_factory=None
                 ) -> None:
        self.library = library
        self.workers = workers or max(1, min(2, os.cpu_count() or 1))
        self._engine_factory = engine_factory
        self._local = threading.local()
        self._roots: dict[int, str] = {}

    @contextmanager
    def _engine(self):
        """An engine for this worker, borrowed from a process-wide pool and given back.

        Engines outlive scans (creating one costs about a second); a pooled engine is used
        by one thread at a time, which is what ONNX Runtime sessions here are built for.
        """
        if self._engine_factory is not None:  # a caller's own engines: one per thread
            engine = getattr(self._local, "engine", None)
            if engine is None:
                engine = self._local.engine = self._engine_factory()
            yield engine
            return
        from ..engine import FaceEngine  # noqa: PLC0415 - heavy, load on first use
        s = self.library.settings
        # One ONNX Runtime thread per worker: the workers themselves fill the cores.
        threads = 1 if self.workers > 1 else 0
        key = (s.pack, s.det_threshold, s.min_face, threads)
        with _ENGINES_LOCK:
            idle = _ENGINES.setdefault(key, [])
            engine = idle.pop() if idle else None
        if engine is None:
            engine = FaceEngine(s.pack, det_threshold=s.det_threshold, min_face=s.min_face,
                                threads=threads)
        try:
            yield engine
        finally:
            with _ENGINES_LOCK:
                _ENGINES[key].append(engine)

    # -- the scan --------------------------------------------------------------------------
    def scan(self, folder_ids: list[int] | None = None, token: CancelToken | None = None
             ) -> Iterator[ScanProgress]:
        token = token or CancelToken()
        con = self.library.con
        folders = [f for f in self.library.folders()
                   if folder_ids is None or f.id in folder_ids]
        self._roots = {f.id: f.path for f in folders}
        started = time.monotonic()
        progress = ScanProgress(phase="listing")
        yield progress

        known = {r["path"]: r for r in con.execute(
            "SELECT id, folder_id, path, size, mtime_ns, content_hash, status FROM photos")}
        todo: list[FileEntry] = []
        reachable: list[int] = []
        all_paths = {f.path for f in self.library.folders()}
        for folder in folders:
            if token.cancelled:
                break
            root = Path(folder.path)
            if not root.is_dir():
                # An unplugged drive is not a deletion: keep its photos, say why.
                self._folder_error(folder.id, "folder not found (disconnected or deleted?)")
                continue
            reachable.append(folder.id)
            walk_error = None
            # A remembered folder inside this one owns its own files.
            nested = frozenset(p for p in all_paths if p != folder.path and
                               p.startswith(folder.path.rstrip(os.sep) + os.sep))
            for entry in walk_folder(root, folder.id, skip=nested):
                if entry.error:
                    walk_error = entry.error
                    continue
                row = known.get(entry.path)
                if row is not None and row["size"] == entry.size and \
                        row["mtime_ns"] == entry.mtime_ns and row["folder_id"] == folder.id:
                    progress = replace(progress, skipped=progress.skipped + 1)
                    continue
                todo.append(entry)
            self._folder_error(folder.id, walk_error)

        progress = replace(progress, phase="scanning", total=len(todo))
        yield progress
        by_hash = {r["content_hash"]: r for r in known.values()
                   if r["content_hash"] and r["status"] == "done"}
        new_face_ids: list[int] = []
        with ThreadPoolExecutor(self.workers, thread_name_prefix="facefolio-scan") as pool:
            pending: set[Future] = set()
            queue = iter(todo)
            batch: list[_Result] = []
            last_commit = last_yield = time.monotonic()
            exhausted = False
            while True:
                while not exhausted and not token.cancelled and len(pending) < self.workers * 2:
                    entry = next(queue, None)
                    if entry is None:
                        exhausted = True
                        break
                    pending.add(pool.submit(self._process, entry, known, by_hash, token))
                if not pending:
                    break
                finished, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
                for future in finished:
                    result = future.result()
                    if result is None:  # cancelled before it started
                        continue
                    batch.append(result)
                    progress = self._count(progress, result, started)
                if batch and (len(batch) >= _COMMIT_EVERY_N or token.cancelled or
                              time.monotonic() - last_commit > _COMMIT_EVERY_S or not pending):
                    new_face_ids += self._write(batch, known)
                    batch = []
                    last_commit = time.monotonic()
                    progress = replace(progress, new_face_ids=tuple(new_face_ids))
                # Also on a quiet stretch (one huge photo), so rate and ETA keep moving.
                if finished or time.monotonic() - last_yield > 1.0:
                    last_yield = time.monotonic()
                    elapsed = last_yield - started
                    progress = replace(progress, elapsed=elapsed,
                                       rate=progress.done / elapsed if elapsed > 0 else 0.0)
                    yield progress
                if token.cancelled and not pending:
                    break
            if batch:
                new_face_ids += self._write(batch, known)

        if token.cancelled:
            self.library.save_indexes()
            yield replace(progress, phase="cancelled", new_face_ids=tuple(new_face_ids),
                          elapsed=time.monotonic() - started)
            return

        yield replace(progress, phase="finishing", current="")
        removed = self._remove_gone(reachable)
        with Transaction(con):
            self.library.prune_empty_people()
        with Transaction(con):
            con.executemany("UPDATE folders SET last_scan_at = ? WHERE id = ?",
                            [(store.now(), fid) for fid in reachable])
        self.library.sync_indexes()
        self._after_scan(new_face_ids)
        self.library.save_indexes()
        yield replace(progress, phase="done", removed=removed, current="",
                      new_face_ids=tuple(new_face_ids), elapsed=time.monotonic() - started,
                      eta=0.0)

    # -- worker side (any thread; no SQLite here) --------------------------------------------
    def _process(self, entry: FileEntry, known: dict, by_hash: dict, token: CancelToken
                 ) -> _Result | None:
        try:
            return self._process_file(entry, known, by_hash, token)
        except Exception as exc:  # whatever goes wrong with one file, the scan goes on
            log.exception("scanning %s failed", entry.path)
            return _Result(entry, "error", error=f"could not scan: {type(exc).__name__}: {exc}")

    def _process_file(self, entry: FileEntry, known: dict, by_hash: dict, token: CancelToken
                      ) -> _Result | None:
        token.wait_if_paused()
        if token.cancelled:
            return None
        if entry.problem:
            return _Result(entry, "error", error=entry.problem)
        from ..engine import ImageError, load_image  # noqa: PLC0415
        try:
            digest = _hash_file(entry.path)
        except FileNotFoundError:
            return _Result(entry, "vanished")
        except OSError as exc:
            return _Result(entry, "error", error=_os_reason(exc))
        old = known.get(entry.path)
        if old is not None and old["content_hash"] == digest and old["status"] == "done":
            return _Result(entry, "touched", content_hash=digest)
        twin = by_hash.get(digest)
        if twin is not None and twin["path"] != entry.path and \
                not os.path.exists(twin["path"]) and by_hash.pop(digest, None) is twin:
            # dict.pop is atomic: of two copies of a moved file only one takes its faces.
            return _Result(entry, "moved", content_hash=digest, moved_from=twin["id"])
        try:
            image = load_image(entry.path)
            with self._engine() as engine:
                faces = engine.analyze(image)
        except ImageError as exc:
            return _Result(entry, "error", content_hash=digest, error=str(exc))
        except FileNotFoundError:
            return _Result(entry, "vanished")
        except Exception as exc:  # one bad file never stops a scan
            log.exception("analysing %s failed", entry.path)
            return _Result(entry, "error", content_hash=digest,
                           error=f"could not analyse: {type(exc).__name__}: {exc}")
        regions, xmp_error = [], None
        if faces:
            # Names another tool (digiKam, Lightroom...) gave these faces come along.
            try:
                regions = xmp.read_regions(Path(entry.path), image.width, image.height)
            except xmp.XmpError as exc:
                xmp_error = str(exc)
            except Exception as exc:  # the XMP reader itself failed: the faces still count
                log.exception("reading XMP of %s failed", entry.path)
                xmp_error = f"XMP not read: {type(exc).__name__}: {exc}"
        return _Result(entry, "analysed", content_hash=digest, faces=faces,
                       width=image.width, height=image.height, taken_at=image.taken_at,
                       regions=regions, xmp_error=xmp_error)

    # -- writer side (the scan's own thread) -------------------------------------------------
    def _write(self, batch: list[_Result], known: dict) -> list[int]:
        """Write a batch of results in one transaction; returns the new face ids."""
        con = self.library.con
        pack = self.library.settings.pack
        new_ids: list[int] = []
        named: list[tuple[int, list]] = []
        now = store.now()
        with Transaction(con):
            for r in batch:
                e = r.entry
                if r.kind == "vanished":
                    # Gone mid-scan; unless its whole folder went (unplugged drive?), forget it.
                    if self._roots.get(e.folder_id) and os.path.isdir(self._roots[e.folder_id]):
                        con.execute("DELETE FROM photos WHERE path = ?", (e.path,))
                elif r.kind == "touched":
                    con.execute("UPDATE photos SET size = ?, mtime_ns = ?, folder_id = ? "
                                "WHERE path = ?", (e.size, e.mtime_ns, e.folder_id, e.path))
                elif r.kind == "moved":
                    # The same file under a new name: its faces and names follow it.
                    con.execute("DELETE FROM photos WHERE path = ?", (e.path,))
                    con.execute("UPDATE photos SET path = ?, folder_id = ?, size = ?, "
                                "mtime_ns = ? WHERE id = ?",
                                (e.path, e.folder_id, e.size, e.mtime_ns, r.moved_from))
                else:
                    # New or changed: replace the old row (its faces go with it).
                    con.execute("DELETE FROM photos WHERE path = ?", (e.path,))
                    cur = con.execute(
                        "INSERT INTO photos(folder_id, path, size, mtime_ns, content_hash, "
                        "width, height, taken_at, status, error, pack, scanned_at) "
                        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                        (e.folder_id, e.path, e.size, e.mtime_ns, r.content_hash, r.width,
                         r.height, r.taken_at, "error" if r.kind == "error" else "done",
                         r.error or r.xmp_error, pack, now))
                    photo_id = cur.lastrowid
                    if r.regions:
                        named.append((photo_id, r.regions))
                    for face in r.faces:
                        x, y, w, h = (float(v) for v in face.box)
                        cur = con.execute(
                            "INSERT INTO faces(photo_id, x, y, w, h, landmarks, score, "
                            "quality, pack, embedding, created_at) "
                            "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                            (photo_id, x, y, w, h,
                             np.asarray(face.landmarks, np.float32).tobytes(),
                             float(face.score), float(face.quality), pack,
                             np.asarray(face.embedding, np.float32).tobytes(), now))
                        new_ids.append(cur.lastrowid)
        for r in batch:
            known.pop(r.entry.path, None)
        # People operations run their own transactions, so names are applied after the commit.
        for photo_id, regions in named:
            try:
                xmp.import_regions(self.library, photo_id, regions)
            except store.LibraryError as exc:
                log.warning("names from XMP of photo %s not applied: %s", photo_id, exc)
        return new_ids

    def _remove_gone(self, folder_ids: list[int]) -> int:
        """Photos of scanned folders whose files are gone (and did not move) leave."""
        if not folder_ids:
            return 0
        con = self.library.con
        # A folder that vanished during the scan is treated like an unplugged drive.
        folder_ids = [f.id for f in self.library.folders()
                      if f.id in folder_ids and os.path.isdir(f.path)]
        if not folder_ids:
            return 0
        marks = ",".join("?" * len(folder_ids))
        rows = con.execute(f"SELECT id, path FROM photos WHERE folder_id IN ({marks})",
                           folder_ids).fetchall()
        # Seen or not: a file deleted while the scan ran is gone too.
        gone = [r["id"] for r in rows if not os.path.lexists(r["path"])]
        with Transaction(con):
            con.executemany("DELETE FROM photos WHERE id = ?", [(i,) for i in gone])
        return len(gone)

    def _folder_error(self, folder_id: int, error: str | None) -> None:
        with Transaction(self.library.con):
            self.library.con.execute("UPDATE folders SET scan_error = ? WHERE id = ?",
                                     (error, folder_id))

    def _after_scan(self, new_face_ids: list[int]) -> None:
        """New faces go to the people they clearly match, the rest are grouped."""
        try:
            from .people import People  # noqa: PLC0415
        except ImportError:
            return
        People(self.library).after_scan(new_face_ids)

    @staticmethod
    def _count(progress: ScanProgress, result: _Result, started: float) -> ScanProgress:
        done = progress.done + 1
        elapsed = time.monotonic() - started
        rate = done / elapsed if elapsed > 0 else 0.0
        remaining = progress.total - done
        return replace(progress, done=done, current=result.entry.path, elapsed=elapsed,
                       faces=progress.faces + len(result.faces),
                       errors=progress.errors + (result.kind == "error"),
                       moved=progress.moved + (result.kind == "moved"),
                       rate=rate, eta=remaining / rate if rate > 0 else None)


def _hash_file(path: str) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "blake2b").hexdigest()[:32]


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, IsADirectoryError):
        return "is a folder"
    return f"cannot read file: {exc.strerror or exc}"
