"""Incremental, resumable, pipelined scanning of the remembered folders.

`Scanner.scan()` is a generator of `ScanProgress`: the caller picks the thread. One scan runs
per library at a time, across processes (scanlock.py). Steps:

1. listing: walk the folders and compare with the known photos (scan_plan.survey): unchanged,
   offline, gone, new or changed;
2. checking: when a photo may have moved (a file is gone, a path holds another image), the
   new and changed files are fingerprinted first (identity.py), so moves, renames, rings of
   renames and copies keep the faces, ids and decisions (scan_plan.resolve);
3. scanning: worker threads fingerprint, decode and analyse (OpenCV, Pillow and ONNX Runtime
   release the GIL) while the generator's own thread is the one SQLite writer. A photo's faces
   and its row are written in one transaction, each photo in a savepoint of its own: a scan
   killed at any instant resumes where it stopped, never stores a face twice, and a photo that
   cannot be stored (even its name) becomes that photo's error, not the batch's;
4. finishing: new faces go to the people they clearly match, the rest are grouped.

Nothing is ever deleted here: photos whose files are gone become missing (Library.prune_missing
removes them when the user asks), unreadable ones offline.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import photo_meta, store, xmp
from .identity import fingerprint
from .library import Library
from .scan_plan import Job, Known, resolve, survey
from .scan_write import Result, apply_plan, write_result
from .scanlock import ScanLock
from .store import Transaction

log = logging.getLogger(__name__)

_COMMIT_EVERY_S = 0.5
_COMMIT_EVERY_N = 32
_ENGINES: dict[tuple, list] = {}  # idle engines by (pack, threshold, min face, threads)
_ENGINES_LOCK = threading.Lock()


@dataclass(frozen=True)
class ScanProgress:
    phase: str  # 'listing', 'checking', 'scanning', 'finishing', 'done', 'cancelled'
    done: int = 0
    total: int = 0
    current: str = ""
    faces: int = 0  # faces found in this scan so far
    errors: int = 0  # files that failed in this scan so far
    skipped: int = 0  # unchanged files
    moved: int = 0  # photos found under another name (moves, renames)
    removed: int = 0  # always 0: a scan removes nothing (see Library.prune_missing)
    missing: int = 0  # photos whose files are gone, kept until the user removes them
    offline: int = 0  # photos in folders (or files) that cannot be read now, kept
    notes: int = 0  # decisions that could not be carried over (see `facefolio status`)
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


def default_workers(setting: int = 0) -> int:
    """Worker threads: the user's setting, else one per core this process may use."""
    if setting and setting > 0:
        return int(setting)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, cores)


class Scanner:
    """Scans folders of one library. Create it on the thread that will run `scan()`."""

    def __init__(self, library: Library, *, workers: int | None = None, engine_factory=None
                 ) -> None:
        self.library = library
        self.workers = workers or default_workers(library.settings.scan_workers)
        self._engine_factory = engine_factory
        self._local = threading.local()
        self._copies: dict[str, Known] = {}

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
        """Scan these folders (None: all). Raises ScanBusyError (a LibraryError) at the first
        step when another scan of this library is running, in any process."""
        with ScanLock(self.library.path):
            yield from self._scan(folder_ids, token or CancelToken())

    def _scan(self, folder_ids: list[int] | None, token: CancelToken
              ) -> Iterator[ScanProgress]:
        lib, con = self.library, self.library.con
        folders = [f for f in lib.folders() if folder_ids is None or f.id in folder_ids]
        started, now = time.monotonic(), store.now()
        with Transaction(con):
            con.executemany("UPDATE folders SET scan_started_at = ? WHERE id = ?",
                            [(now, f.id) for f in folders])
        progress = ScanProgress(phase="listing")
        yield progress
        # The models load and the grouping code imports while the folders are listed and the
        # first photos decoded, not before the first photo and after the last one: that was a
        # second of every CLI scan (python -X importtime; tests/benchmarks/bench_scan.py).
        warm = threading.Thread(target=self._warm_up, name="facefolio-scan-warm", daemon=True)
        warm.start()

        known, missing = self._known()
        analysis = lib.analysis_key()
        skip = frozenset(f.path for f in lib.folders())  # nested folders scan their own files
        sv = survey(folders, known, analysis, skip, _library_dirs(lib.path),
                    lambda: token.cancelled)
        if token.cancelled:
            yield replace(progress, phase="cancelled", elapsed=time.monotonic() - started)
            warm.join()
            return
        prints: dict[str, tuple[str, str | None]] = {}
        if sv.needs_fingerprints(known, missing):
            legacy = any(r.fingerprint is None and r.content_hash for r in [*sv.gone, *missing])
            progress = replace(progress, phase="checking", total=len(sv.candidates))
            yield progress
            for progress, found in self._fingerprint_all(sv.candidates, legacy, token,
                                                         progress):
                prints.update(found)
                yield progress
            if token.cancelled:
                yield replace(progress, phase="cancelled", elapsed=time.monotonic() - started)
                warm.join()
                return
        plan = resolve(sv, known, missing, prints, analysis)
        with Transaction(con):
            apply_plan(con, plan, sv, store.now())
            _record_unread(con, sv)
            # An offline folder was not scanned: it keeps the scan state it had.
            con.executemany("UPDATE folders SET scan_started_at = ? WHERE id = ?",
                            [(f.scan_started_at, f.id) for f in folders
                             if f.id in sv.offline_folders])
        free = {r.id for r in [*sv.gone, *missing]} | {j.row.id for j in plan.jobs if j.row}
        self._copies = {r.fingerprint: r for r in known.values()
                        if r.fingerprint and r.status == "done" and r.id not in free}

        progress = replace(progress, phase="scanning", done=0, total=len(plan.jobs),
                           skipped=sv.unchanged + len(sv.back_online), moved=len(plan.moves),
                           missing=len(plan.missing) + _still_missing(missing, plan),
                           offline=len(sv.offline_ids))
        yield progress
        new_face_ids: list[int] = []
        for progress in self._analyse(plan.jobs, token, progress, started, new_face_ids):
            yield progress

        if token.cancelled:
            warm.join()
            lib.save_indexes()
            yield replace(progress, phase="cancelled", new_face_ids=tuple(new_face_ids),
                          elapsed=time.monotonic() - started)
            return
        yield replace(progress, phase="finishing", current="")
        warm.join()
        with Transaction(con):
            lib.prune_empty_people()
            con.executemany("UPDATE folders SET last_scan_at = ? WHERE id = ?",
                            [(store.now(), fid) for fid in sv.online_folders])
        lib.sync_indexes()
        from .people import People  # noqa: PLC0415 - clustering loads scipy: only now
        People(lib).after_scan(new_face_ids)
        lib.save_indexes()
        yield replace(progress, phase="done", current="", new_face_ids=tuple(new_face_ids),
                      elapsed=time.monotonic() - started, eta=0.0)

    def _warm_up(self) -> None:
        """Build one engine per worker (into the pool) and import the grouping code."""
        try:
            if self._engine_factory is None:
                with ExitStack() as stack:
                    for _ in range(self.workers):
                        stack.enter_context(self._engine())
            from . import people  # noqa: F401, PLC0415 - scipy: 0.45 s of imports (-X importtime)
        except Exception:  # the scan itself reports a broken engine, photo by photo
            log.debug("warming up the scan failed", exc_info=True)

    def _known(self) -> tuple[dict[str, Known], list[Known]]:
        """Present photos by path, and the missing ones (which may have moved)."""
        present: dict[str, Known] = {}
        missing: list[Known] = []
        for r in self.library.con.execute(
                "SELECT id, folder_id, path, size, mtime_ns, inode, fingerprint, content_hash, "
                "status, analysis, offline, missing_since FROM photos"):
            row = Known(r[0], r[1], store.fs_path(r[2]), r[3], r[4], r[5], r[6], r[7], r[8],
                        r[9], bool(r[10]), r[11] is not None)
            if row.missing:
                missing.append(row)
            else:
                present[row.path] = row
        return present, missing

    def _pool_map(self, items: Iterable, work: Callable, token: CancelToken
                  ) -> Iterator[tuple[list, bool]]:
        """Run work(item) on the workers, a few ahead; yield (finished results, idle) batches
        at least every second, so progress keeps moving on a slow photo."""
        with ThreadPoolExecutor(self.workers, thread_name_prefix="facefolio-scan") as pool:
            pending: set[Future] = set()
            queue = iter(items)
            exhausted = False
            while True:
                while not exhausted and not token.cancelled and \
                        len(pending) < self.workers * 2:
                    item = next(queue, None)
                    if item is None:
                        exhausted = True
                        break
                    pending.add(pool.submit(work, item, token))
                if not pending:
                    return
                finished, pending = wait(pending, timeout=1.0, return_when=FIRST_COMPLETED)
                yield [f.result() for f in finished], not pending

    def _fingerprint_all(self, entries, legacy: bool, token: CancelToken,
                         progress: ScanProgress):
        def work(entry, token):
            token.wait_if_paused()
            if token.cancelled:
                return None
            try:
                whole = _whole_file_hash(entry.path) if legacy else None
                return entry.path, (fingerprint(entry.path), whole)
            except OSError:
                return None  # unreadable now: the analysis step says why
        for results, _ in self._pool_map(entries, work, token):
            found = dict(r for r in results if r is not None)
            progress = replace(progress, done=progress.done + len(results))
            yield progress, found

    def _analyse(self, jobs: list[Job], token: CancelToken, progress: ScanProgress,
                 started: float, new_face_ids: list[int]) -> Iterator[ScanProgress]:
        batch: list[Result] = []
        last_commit = last_yield = time.monotonic()
        for results, idle in self._pool_map(jobs, self._process, token):
            for result in results:
                if result is not None:
                    batch.append(result)
                    progress = self._count(progress, result, started)
            if batch and (len(batch) >= _COMMIT_EVERY_N or token.cancelled or idle or
                          time.monotonic() - last_commit > _COMMIT_EVERY_S):
                written, notes = self._write(batch)
                new_face_ids += written
                batch = []
                last_commit = time.monotonic()
                progress = replace(progress, new_face_ids=tuple(new_face_ids),
                                   notes=progress.notes + notes)
            if results or time.monotonic() - last_yield > 1.0:
                last_yield = time.monotonic()
                elapsed = last_yield - started
                progress = replace(progress, elapsed=elapsed,
                                   rate=progress.done / elapsed if elapsed > 0 else 0.0)
                yield progress
        if batch:
            written, notes = self._write(batch)
            new_face_ids += written
            progress = replace(progress, new_face_ids=tuple(new_face_ids),
                               notes=progress.notes + notes)
            yield progress

    # -- worker side (any thread; no SQLite here) --------------------------------------------
    def _process(self, job: Job, token: CancelToken) -> Result | None:
        token.wait_if_paused()
        if token.cancelled:
            return None
        try:
            return self._process_job(job)
        except Exception as exc:  # whatever goes wrong with one file, the scan goes on
            log.exception("scanning %s failed", job.entry.path)
            return self._failed(job, f"could not scan: {type(exc).__name__}: {exc}")

    def _failed(self, job: Job, reason: str) -> Result:
        """A photo that has faces keeps them when it cannot be read again."""
        if job.row is not None and job.row.status == "done":
            return Result(job, "kept", error=reason)
        return Result(job, "error", error=reason)

    def _process_job(self, job: Job) -> Result:
        e = job.entry
        if job.kind == "error":
            return Result(job, "error", error=e.problem)
        fp = job.fingerprint
        try:
            if fp is None:
                fp = fingerprint(e.path)
        except FileNotFoundError:
            return Result(job, "vanished")
        except OSError as exc:
            return self._failed(job, _os_reason(exc))
        if job.kind == "fingerprint":
            return Result(job, "fingerprint", fingerprint=fp)
        if job.kind == "copy" or (job.kind == "new" and fp in self._copies):
            return Result(job, "copy", fingerprint=fp, source=self._copies.get(fp))
        if job.kind == "refresh":
            return self._refresh(job, fp)
        from ..engine import ImageError, load_image  # noqa: PLC0415
        try:
            image = load_image(e.path)
            with self._engine() as engine:
                faces = engine.analyze(image)
        except ImageError as exc:
            return self._failed(job, str(exc))
        except FileNotFoundError:
            return Result(job, "vanished")
        dated = photo_meta.date_of(e.path, image.dates)
        regions, xmp_error = self._regions(e.path, image.width, image.height) if faces \
            else ([], None)
        return Result(job, "analysed", fingerprint=fp, faces=faces, width=image.width,
                      height=image.height, taken_at=dated.when, taken_source=dated.kind,
                      date_source=dated.label, regions=regions, xmp_error=xmp_error)

    def _refresh(self, job: Job, fp: str) -> Result:
        """Only the metadata changed: read the date and the names other tools wrote."""
        try:
            width, height, inside = photo_meta.header(job.entry.path)
        except OSError as exc:
            return self._failed(job, _os_reason(exc))
        dated = photo_meta.date_of(job.entry.path, inside)
        regions, xmp_error = self._regions(job.entry.path, width, height)
        return Result(job, "refresh", fingerprint=fp, taken_at=dated.when,
                      taken_source=dated.kind, date_source=dated.label, regions=regions,
                      xmp_error=xmp_error)

    @staticmethod
    def _regions(path: str, width: int, height: int) -> tuple[list, str | None]:
        """Names another tool (digiKam, Lightroom...) gave faces of this photo, from XMP."""
        try:
            return xmp.read_regions(Path(path), width, height), None
        except xmp.XmpError as exc:
            return [], str(exc)
        except Exception as exc:  # the XMP reader itself failed: the faces still count
            log.exception("reading XMP of %s failed", path)
            return [], f"XMP not read: {type(exc).__name__}: {exc}"

    # -- writer side (the scan's own thread) -------------------------------------------------
    def _write(self, batch: list[Result]) -> tuple[list[int], int]:
        """Write a batch in one transaction, each photo in its own savepoint; returns the new
        face ids and the number of notes about decisions that could not be carried."""
        con = self.library.con
        pack, analysis, now = self.library.settings.pack, self.library.analysis_key(), \
            store.now()
        new_ids: list[int] = []
        notes = 0
        named: list[tuple[int, list]] = []
        with Transaction(con):
            for r in batch:
                written = _in_savepoint(con, lambda r=r: write_result(con, r, analysis, pack,
                                                                      now))
                if written is None:  # storing it failed: that is this photo's error
                    failed = self._failed(r.job, "could not be stored in the library")
                    _in_savepoint(con, lambda: write_result(con, failed, analysis, pack, now))
                    continue
                new_ids += written.face_ids
                notes += written.notes
                if r.regions and written.photo_id is not None:
                    named.append((written.photo_id, r.regions))
        # People operations run their own transactions, so names are applied after the commit.
        for photo_id, regions in named:
            try:
                xmp.import_regions(self.library, photo_id, regions)
            except store.LibraryError as exc:
                log.warning("names from XMP of photo %s not applied: %s", photo_id, exc)
        return new_ids, notes

    @staticmethod
    def _count(progress: ScanProgress, result: Result, started: float) -> ScanProgress:
        done = progress.done + 1
        elapsed = time.monotonic() - started
        rate = done / elapsed if elapsed > 0 else 0.0
        remaining = progress.total - done
        return replace(progress, done=done, current=result.job.entry.path, elapsed=elapsed,
                       faces=progress.faces + len(result.faces),
                       errors=progress.errors + (result.kind == "error"),
                       rate=rate, eta=remaining / rate if rate > 0 else None)


def _still_missing(missing: list[Known], plan) -> int:
    """Photos missing before this scan that it did not find again (a restored file is)."""
    found = {row.id for row, _e, _fp in plan.moves}
    return sum(1 for r in missing if r.id not in found)


def _in_savepoint(con, write: Callable):
    """Run one photo's writes; on any error undo just them and return None."""
    con.execute("SAVEPOINT photo")
    try:
        value = write()
    except Exception:
        log.exception("writing a scan result failed")
        con.execute("ROLLBACK TO photo")
        con.execute("RELEASE photo")
        return None
    con.execute("RELEASE photo")
    return value


def _record_unread(con, sv) -> None:
    """Files the listing met and Facefolio does not read, by type, per folder listed: `status`
    and the Folders page say so ("12 files Facefolio does not read: .psd x10, .xcf x2")."""
    import json  # noqa: PLC0415

    con.executemany("UPDATE folders SET unread_files = ? WHERE id = ?",
                    [(json.dumps(dict(sorted(sv.unread.get(fid, {}).items()))), fid)
                     for fid in sv.online_folders])


def _library_dirs(library_path: Path) -> frozenset[tuple[int, int]]:
    """The library folder itself, never scanned even when it sits inside a scanned folder."""
    try:
        st = os.stat(library_path)
    except OSError:
        return frozenset()
    return frozenset({(st.st_dev, st.st_ino)})


def _whole_file_hash(path: str) -> str:
    """The content hash libraries made before fingerprints (schema 1): moves of photos
    scanned then are still recognised."""
    import hashlib  # noqa: PLC0415

    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "blake2b").hexdigest()[:32]


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, IsADirectoryError):
        return "is a folder"
    return f"cannot read file: {exc.strerror or exc}"
