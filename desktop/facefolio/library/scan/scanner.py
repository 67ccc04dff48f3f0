"""Incremental, resumable scanning of the remembered folders, pixels in worker processes.

`Scanner.scan()` is a generator of `ScanProgress`: the caller picks the thread. One scan runs
per library at a time, across processes (scanlock.py). Steps:

1. listing: walk the folders and compare with the known photos (plan.survey): unchanged,
   offline, gone, new or changed;
2. checking: when a photo may have moved (a file is gone, a path holds another image), the
   new and changed files are fingerprinted first (identity.py), so moves, renames, rings of
   renames and copies keep the faces, ids and decisions (plan.resolve);
3. scanning: worker processes (pool.py, one per core the user allows) read, fingerprint,
   decode and analyse each file (work.py); this generator only plans, hands the jobs out
   and passes each photo's result to the library's one writer (write_queue.py), which commits
   it in a transaction of its own (write.commit_photo): a scan killed at any instant
   resumes where it stopped and never stores a face twice. A worker that dies (a decoder's
   segfault, the OOM killer) costs only its file, which says why; a file that killed a worker
   twice is not tried again until it changes or the user asks (`retry_failed`);
4. finishing: new faces go to the people they clearly match, the rest are grouped, once.

Nothing is ever deleted here: photos whose files are gone become missing (Library.prune_missing
removes them when the user asks), unreadable ones offline.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import replace

from ...engine.formats import is_video
from ..library import Library
from ..people import ages
from ..storage import store, write_queue
from ..storage.scanlock import ScanLock
from . import steps
from .plan import Job, JobKind, Known, resolve, still_missing, survey
from .progress import PREPARING, CancelToken, Phase, ScanProgress, default_workers
from .work import WorkSpec, failed
from .write import ResultKind, Written, commit_photo

log = logging.getLogger(__name__)

# The second crash on the same unchanged file: it is left alone after that.
CRASHED_TWICE = "it crashed the decoder twice: not tried again until the file changes " \
                "('facefolio rescan --retry-failed' tries it now)"
_CRASH_PREFIXES = ("the image decoder crashed", "the scan worker was killed")
_WRITES_AHEAD = 64  # photo results handed to the writer and not yet committed, at most










class Scanner:
    """Scans folders of one library; `library` belongs to the thread that runs `scan()`.

    engine_factory: the caller's own engines, run on threads of this process (tests,
    benchmarks); otherwise the pixels go to worker processes. group_every: (first faces,
    faces, seconds) to group new faces into people while the scan runs (the app), not only
    at the end: a first pass after that many faces, then every so many faces or seconds.
    """

    def __init__(self, library: Library, *, workers: int | None = None, engine_factory=None,
                 spare_core: bool = False, nice: int = 0,
                 group_every: tuple[int, int, float] | None = None) -> None:
        self.library = library
        self.workers = workers or default_workers(library.settings.scan_workers,
                                                  spare_one=spare_core)
        self.spare_core = spare_core
        self.nice = nice
        self.group_every = group_every
        self._engine_factory = engine_factory
        self._copies: dict[str, Known] = {}
        self._pool = None  # pool.ProcessPool, or ThreadPool for the caller's engines
        self._writer: write_queue.WriteQueue | None = None
        self._starter: _Starter | None = None
        self.crashes = 0

    # -- the scan --------------------------------------------------------------------------
    def scan(self, folder_ids: list[int] | None = None, token: CancelToken | None = None,
             *, retry_failed: bool = False) -> Iterator[ScanProgress]:
        """Scan these folders (None: all). Raises ScanBusyError (a LibraryError) at the first
        step when another scan of this library is running, in any process."""
        with ScanLock(self.library.path), write_queue.writer(self.library.path, Library) as writer:
            self._writer = writer
            try:
                yield from self._scan(folder_ids, token or CancelToken(), retry_failed)
            finally:  # Ctrl+C, a cancel, an error: the workers go at once
                if self._starter is not None:
                    self._starter.error = None  # whatever it met, the scan is over
                    self._starter.join()
                if self._pool is not None:
                    self.crashes = self._pool.crashes
                    self._pool.close(now=True)
                    self._pool = None

    def _write(self, work):
        """Run a change on the library's writer and wait for it."""
        return self._writer.call(work)

    def _spec(self) -> WorkSpec:
        s = self.library.settings
        threads = 1 if self.workers > 1 or self.spare_core else 0
        return WorkSpec(s.pack, s.det_threshold, s.min_face, threads,
                        frozenset(self._copies), estimate=ages.scan_tasks(s))

    def _start_pool(self) -> None:
        from .pool import ProcessPool, ThreadPool  # noqa: PLC0415 - only when scanning
        spec = self._spec()
        if self._engine_factory is not None or os.environ.get("FACEFOLIO_SCAN_PROCESSES") == "0":
            self._pool = ThreadPool(spec, self.workers, self._engine_factory)
        else:
            self._pool = ProcessPool(spec, self.workers, nice=self.nice)

    def _scan(self, folder_ids: list[int] | None, token: CancelToken, retry_failed: bool
              ) -> Iterator[ScanProgress]:
        lib = self.library
        # A stricter detection setting first: those photos need no worker (narrow.py).
        key = lib.analysis_key()
        narrowed = self._write(lambda w: steps.narrow(w, key))
        folders = [f for f in lib.folders() if folder_ids is None or f.id in folder_ids]
        started, now = time.monotonic(), store.now()
        self._write(lambda w: steps.set_started(w, [(now, f.id) for f in folders]))
        progress = ScanProgress(phase=Phase.LISTING, notes=narrowed.notes)
        yield progress
        # New folders mean photos to analyse: the workers start (fork, load their models)
        # while the folders are listed, not after. A rescan starts them only if it finds work.
        starter = None
        if any(f.has_new_photos for f in folders):
            if self._engine_factory is None and not _models_ready(lib.settings.pack):
                yield replace(progress, phase=Phase.PREPARING, message=PREPARING)
            starter = self._starter = _Starter(self._start_pool)
        # The grouping code imports (scipy: 0.45-0.6 s, python -X importtime) while the
        # photos are analysed, not after the last one; a rescan with nothing to analyse
        # groups nothing and never imports it.
        warm = _warm_people() if starter is not None else None

        known, missing = self._known()
        analysis = lib.analysis_key()
        skip = frozenset(f.path for f in lib.folders())  # nested folders scan their own files
        sv = survey(folders, known, analysis, skip, _library_dirs(lib.path),
                    lambda: token.cancelled)
        if token.cancelled:
            yield replace(progress, phase=Phase.CANCELLED, elapsed=time.monotonic() - started)
            return
        if starter is not None:
            starter.join()
        elif sv.candidates or sv.jobs:
            if self._engine_factory is None and not _models_ready(lib.settings.pack):
                yield replace(progress, phase=Phase.PREPARING, message=PREPARING)
            self._start_pool()
        prints: dict[str, tuple[str, str | None]] = {}
        if sv.needs_fingerprints(known, missing):
            legacy = any(r.fingerprint is None and r.content_hash for r in [*sv.gone, *missing])
            progress = replace(progress, phase=Phase.CHECKING, total=len(sv.candidates))
            yield progress
            for progress in self._fingerprint_all(sv.candidates, legacy, token, progress,
                                                  prints):
                yield progress
            if token.cancelled:
                yield replace(progress, phase=Phase.CANCELLED, elapsed=time.monotonic() - started)
                return
        plan = resolve(sv, known, missing, prints, analysis)
        offline = [(f.scan_started_at, f.id) for f in folders if f.id in sv.offline_folders]
        self._write(lambda w: steps.apply(w, plan, sv, offline))
        free = {r.id for r in [*sv.gone, *missing]} | {j.row.id for j in plan.jobs if j.row}
        self._copies = {r.fingerprint: r for r in known.values()
                        if r.fingerprint and r.status == "done" and r.id not in free}
        jobs, left_alone = self._leave_crashers(plan.jobs, retry_failed)
        if jobs and warm is None:
            warm = _warm_people()
        if self._pool is not None:
            self._pool.update_spec(self._spec())  # now with the copies the library has

        progress = replace(progress, phase=Phase.SCANNING, done=0, total=len(jobs), message="",
                           videos=sum(1 for j in jobs if is_video(j.entry.path)),
                           skipped=sv.unchanged + len(sv.back_online) + left_alone,
                           moved=len(plan.moves),
                           missing=len(plan.missing) + still_missing(missing, plan),
                           offline=len(sv.offline_ids))
        yield progress
        new_face_ids: list[int] = []
        for progress in self._analyse(jobs, token, progress, started, new_face_ids):
            yield progress

        if token.cancelled:
            self._write(lambda w: w.save_indexes())
            yield replace(progress, phase=Phase.CANCELLED, new_face_ids=tuple(new_face_ids),
                          elapsed=time.monotonic() - started)
            return
        yield replace(progress, phase=Phase.FINISHING, current="")
        if warm is not None:
            warm.join()
        ungrouped = new_face_ids[self._grouped:]
        online = list(sv.online_folders)
        self._write(lambda w: steps.finish(w, online, ungrouped))
        yield replace(progress, phase=Phase.DONE, current="", new_face_ids=tuple(new_face_ids),
                      elapsed=time.monotonic() - started, eta=0.0)

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

    def _crashers(self) -> dict[int, str]:
        """Photos whose last scan ended with a dead worker: id -> what was said."""
        where = " OR ".join("error LIKE ?" for _ in _CRASH_PREFIXES)
        return {r[0]: r[1] for r in self.library.con.execute(
            f"SELECT id, error FROM photos WHERE status = 'error' AND ({where})",
            [p + "%" for p in _CRASH_PREFIXES])}

    def _leave_crashers(self, jobs: list[Job], retry_failed: bool) -> tuple[list[Job], int]:
        """Without `retry_failed`, files that crashed a worker twice and have not changed."""
        self._crashed = self._crashers()
        if retry_failed:
            return jobs, 0
        keep = [j for j in jobs if not (
            j.kind is JobKind.RETRY and j.row is not None and CRASHED_TWICE in
            self._crashed.get(j.row.id, "") and j.row.size == j.entry.size
            and j.row.mtime_ns == j.entry.mtime_ns)]
        return keep, len(jobs) - len(keep)

    # -- handing out work ------------------------------------------------------------------
    def _run(self, tasks: list[tuple[str, object]], token: CancelToken
             ) -> Iterator[list[tuple[int, object]]]:
        """Give the tasks to the pool a few ahead; yield (index, answer) lists at least
        every second, so progress keeps moving on a slow photo. Paused: no new task starts
        (the ones running finish); cancelled: stop at once."""
        pool = self._pool
        if not tasks:
            return
        queue = deque(enumerate(tasks))
        index_of: dict[int, int] = {}
        while not token.cancelled:
            while queue and not token.paused and pool.busy < pool.capacity:
                i, task = queue.popleft()
                index_of[pool.put(task)] = i
            if not queue and not pool.busy:
                return
            if token.paused and not pool.busy:
                token.wait_if_paused(1.0)
                yield []
                continue
            answers = pool.poll(0.25)
            yield [(index_of.pop(job_id), answer) for job_id, answer in answers]

    def _fingerprint_all(self, entries, legacy: bool, token: CancelToken,
                         progress: ScanProgress, prints: dict) -> Iterator[ScanProgress]:
        tasks = [("fingerprint", (e.path, legacy)) for e in entries]
        for answers in self._run(tasks, token):
            for i, answer in answers:
                if answer is not None and not isinstance(answer, _crashed()):
                    prints[entries[i].path] = answer
            progress = replace(progress, done=progress.done + len(answers))
            yield progress

    def _analyse(self, jobs: list[Job], token: CancelToken, progress: ScanProgress,
                 started: float, new_face_ids: list[int]) -> Iterator[ScanProgress]:
        self._grouped = 0
        self._last_group = time.monotonic()
        writes: deque[Future] = deque()
        last_yield = time.monotonic()
        tasks = [("analyse", job) for job in jobs]
        for answers in self._run(tasks, token):
            for i, answer in answers:
                result = self._result(jobs[i], answer)
                progress = self._count(progress, result, started)
                writes.append(self._writer.submit(self._committer(result), scan=True))
            while writes and (writes[0].done() or len(writes) > _WRITES_AHEAD):
                progress = self._written(progress, writes.popleft().result(), new_face_ids)
            self._maybe_group(new_face_ids)
            if answers or time.monotonic() - last_yield > 1.0:
                last_yield = time.monotonic()
                elapsed = last_yield - started
                progress = replace(progress, elapsed=elapsed,
                                   rate=progress.done / elapsed if elapsed > 0 else 0.0)
                yield progress
        while writes:
            progress = self._written(progress, writes.popleft().result(), new_face_ids)
        yield progress

    def _result(self, job: Job, answer):
        if not isinstance(answer, _crashed()):
            answer.job = job
            return answer
        reason = answer.reason
        if job.row is not None and self._crashed.get(job.row.id):
            reason = f"{reason}; {CRASHED_TWICE}"
        return failed(job, reason)

    def _committer(self, result):
        analysis, pack = self.library.analysis_key(), self.library.settings.pack
        copies = self._copies
        return lambda w: commit_photo(w, result, analysis, pack, copies)

    @staticmethod
    def _written(progress: ScanProgress, written: Written, new_face_ids: list[int]
                 ) -> ScanProgress:
        new_face_ids += written.face_ids
        return replace(progress, new_face_ids=tuple(new_face_ids),
                       notes=progress.notes + written.notes)

    def _maybe_group(self, new_face_ids: list[int]) -> None:
        """Group what the scan wrote so far (the app), on the writer, so people appear now."""
        if self.group_every is None:
            return
        first, faces, seconds = self.group_every
        fresh = new_face_ids[self._grouped:]
        enough = first if self._grouped == 0 else faces
        if fresh and (len(fresh) >= enough or time.monotonic() - self._last_group > seconds):
            self._grouped = len(new_face_ids)
            self._last_group = time.monotonic()
            self._writer.submit(lambda w: steps.group(w, fresh), scan=True)

    @staticmethod
    def _count(progress: ScanProgress, result, started: float) -> ScanProgress:
        done = progress.done + 1
        elapsed = time.monotonic() - started
        rate = done / elapsed if elapsed > 0 else 0.0
        remaining = progress.total - done
        crashed = result.error is not None and result.error.startswith(_CRASH_PREFIXES)
        return replace(progress, done=done, current=result.job.entry.path, elapsed=elapsed,
                       faces=progress.faces + len(result.faces),
                       errors=progress.errors + (result.kind is ResultKind.ERROR),
                       crashed=progress.crashed + crashed,
                       rate=rate, eta=remaining / rate if rate > 0 else None)


# -- the writer's side of a scan (each runs on the library's writer, `w` its Library) ------
class _Starter(threading.Thread):
    """Starts the worker pool beside the listing; `join` re-raises what starting raised."""

    def __init__(self, start) -> None:
        super().__init__(name="facefolio-scan-start", daemon=True)
        self._start_pool, self.error = start, None
        self.start()

    def run(self) -> None:
        try:
            self._start_pool()
        except BaseException as exc:  # noqa: BLE001 - handed to the scan's own thread
            self.error = exc

    def join(self, timeout: float | None = None) -> None:
        super().join(timeout)
        if self.error is not None:
            raise self.error










def _crashed() -> type:
    from .pool import Crashed  # noqa: PLC0415 - multiprocessing: only when scanning
    return Crashed


def _warm_people() -> threading.Thread:
    warm = threading.Thread(target=_import_people, name="facefolio-scan-warm", daemon=True)
    warm.start()
    return warm


def _import_people() -> None:
    try:
        from ..people import people  # noqa: F401, PLC0415 - scipy: 0.45 s of imports
    except Exception:  # the finishing step reports it
        log.debug("importing the grouping code failed", exc_info=True)


def _models_ready(pack: str) -> bool:
    from ...engine.runtime import models_ready  # noqa: PLC0415 - imports no ONNX Runtime
    try:
        return models_ready(pack)
    except Exception:  # the workers say what is wrong with the models, photo by photo
        return True






def _library_dirs(library_path) -> frozenset[tuple[int, int]]:
    """The library folder itself, never scanned even when it sits inside a scanned folder."""
    try:
        st = os.stat(library_path)
    except OSError:
        return frozenset()
    return frozenset({(st.st_dev, st.st_ino)})
