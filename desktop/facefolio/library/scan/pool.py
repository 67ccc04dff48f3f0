"""The scan's worker processes: pixels are decoded and analysed outside the scanning process.

Shaped like calibre's `utils/ipc/pool.py`: jobs carry ids, each worker gets what every job
shares once (the `WorkSpec`, so its engine is built once), answers come back per job. Where
calibre gives up on a dead worker, this pool replaces it and blames only the job it held: a
decoder that segfaults, an abort, the kernel's OOM killer cost one file ("crashed" answers).

Each worker has its own pipe and at most two jobs in flight (one running, one waiting, so it
never idles on the parent), so a dead worker's first unanswered job is exactly the one it
held; the other goes back to the front of the queue. Workers ignore SIGINT (the parent ends
them on Ctrl+C), leave when the parent's end of the pipe closes, and share one decode budget
across processes (engine/budget.py). Start method: forkserver on Linux (heavy imports made
once in the server), spawn elsewhere.

`ThreadPool` offers the same interface on threads of this process, for callers that bring
their own engines (tests, benchmarks' stand-ins): no crash isolation there.
"""
from __future__ import annotations

import logging
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from multiprocessing.connection import wait
from typing import Any

from ...engine import budget
from ..storage.errors import LibraryError
from .work import Work, WorkSpec

log = logging.getLogger(__name__)

_IN_FLIGHT = 2  # jobs per worker: one running, one waiting
_GPU_BATCH = 8  # photos the worker that owns an accelerator analyses together
_START_FAILURES = 3  # workers dying before their first answer, in a row: the pool gives up
# Imported once by the fork server, not by each worker after the fork (0.5 s each, -X importtime)
_PRELOAD = ["facefolio.library.scan.work", "facefolio.engine.engine", "facefolio.engine.images",
            "facefolio.engine.yunet", "facefolio.engine.sface", "numpy", "cv2", "onnxruntime",
            "PIL.Image"]

Task = tuple[str, Any]  # ('analyse', Job) or ('fingerprint', (path, legacy))


class Crashed:
    """The answer for a job whose worker died under it."""

    def __init__(self, exitcode: int | None) -> None:
        self.exitcode = exitcode

    @property
    def reason(self) -> str:
        code = self.exitcode
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = str(-code)
            if -code == getattr(signal, "SIGKILL", 9):
                return (f"the scan worker was killed on this file (signal {-code}, {name}: "
                        "out of memory?)")
            return f"the image decoder crashed on this file (signal {-code}, {name})"
        return f"the image decoder crashed on this file (exit code {code})"


class PoolError(LibraryError):
    """The workers cannot start at all (not one file's fault): the scan stops, saying so."""


def _context():
    # FACEFOLIO_SCAN_START=spawn: workers as direct children (benchmarks count their CPU).
    method = os.environ.get("FACEFOLIO_SCAN_START") or (
        "forkserver" if sys.platform.startswith("linux") else "spawn")
    ctx = mp.get_context(method)
    if method == "forkserver":
        ctx.set_forkserver_preload(_PRELOAD)
    return ctx


_MAIN_LOCK = threading.Lock()  # one start at a time changes __main__ (see `_main_hidden`)


@contextmanager
def _main_hidden():
    """Start workers without re-running the caller's main script in them: multiprocessing
    imports `__main__` by path in every spawned child (and in the fork server), which runs
    a script without an `if __name__ == "__main__"` guard (a user's, a test runner's) again.
    The worker needs nothing from it: its code is in this package. Held by one thread at a
    time: the scan's pool and the app's age pass start processes from different threads, and
    two overlapping saves would leave `__main__` without its spec for good."""
    with _MAIN_LOCK, _hiding_main():
        yield


@contextmanager
def _hiding_main():
    main = sys.modules.get("__main__")
    saved = {k: main.__dict__.pop(k) for k in ("__file__",) if main and k in main.__dict__}
    spec = getattr(main, "__spec__", None)
    if main is not None:
        main.__spec__ = None
    try:
        yield
    finally:
        if main is not None:
            main.__dict__.update(saved)
            main.__spec__ = spec


def start_server() -> None:
    """Start the fork server now, so the first scan's workers fork from it at once. Its
    imports (numpy, OpenCV, ONNX Runtime: seconds) run in its own process, never holding
    this one's interpreter lock (the window's, in the app)."""
    ctx = _context()
    if ctx.get_start_method() == "forkserver":
        from multiprocessing import forkserver  # noqa: PLC0415
        with _main_hidden():
            forkserver.ensure_running()
            # The server forks nothing before its imports are done, and whoever starts the
            # first process waits for them: here, on the caller's thread, not later on the
            # window's (the app's age pass, started from the GUI thread, stalled it 0.8 s).
            ready = ctx.Process(target=_ready, name="facefolio-ready", daemon=True)
            ready.start()
        ready.join()


def start_server_soon() -> None:
    """`start_server` on a thread of its own: the caller goes on (the CLI imports the scanner
    and lists the folders) while the server imports. Nothing when the scan uses threads or
    spawned workers; a failure is the scan's to report, when it starts its workers."""
    if os.environ.get("FACEFOLIO_SCAN_PROCESSES") == "0":
        return

    def run() -> None:
        try:
            start_server()
        except Exception:
            log.debug("the fork server did not start early", exc_info=True)
    threading.Thread(target=run, name="facefolio-server-start", daemon=True).start()


def _ready() -> None:
    """The fork server's first child: it is there, so the server's imports are done."""


def _worker_main(conn, spec: WorkSpec, shared: tuple, slot: int, nice: int) -> None:
    """A worker process: build the engine, then answer jobs until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the parent's to handle
    if nice:
        try:
            os.nice(nice)
        except (AttributeError, OSError):
            pass
    budget.BUDGET.share(*shared, slot=slot)
    budget.return_large_frees_to_the_os()
    work = Work(spec)
    try:
        gpu = bool(work.engine.gpu)
        conn.send(("ready", gpu))
    except Exception as exc:  # every job will report it, file by file
        conn.send(("ready", f"{type(exc).__name__}: {exc}"))
    batch = _GPU_BATCH if work.engine_ready and work.engine.gpu else 1
    while True:
        try:
            messages = [conn.recv()]
            while len(messages) < batch and conn.poll():  # what is already waiting
                messages.append(conn.recv())
        except (EOFError, OSError):
            return  # the parent is gone
        photos = []
        for message in messages:
            if message is None:
                return
            if message[0] == "spec":  # what every job shares changed (the scan's copies)
                work.spec = message[1]
                continue
            job_id, (kind, payload) = message
            if kind == "fingerprint":
                conn.send((job_id, work.fingerprint(*payload)))
            else:
                photos.append((job_id, payload))
        for (job_id, _), answer in zip(photos, work.analyse_many([j for _, j in photos])):
            answer.job = None  # the parent has it
            conn.send((job_id, answer))


class _Slot:
    def __init__(self, index: int) -> None:
        self.index = index
        self.process = None
        self.conn = None
        self.jobs: deque[int] = deque()  # ids sent, in order
        self.ready = False
        self.gpu = False  # this worker owns the accelerator: it gets batches
        self.retired = False  # another worker owns the accelerator: this one stops


class ProcessPool:
    """`workers` processes; `put` jobs, `poll` answers (an answer or `Crashed` per id)."""

    def __init__(self, spec: WorkSpec, workers: int, *, nice: int = 0) -> None:
        self._ctx = _context()
        self.spec = spec
        self.nice = nice
        self._shared = budget.shared_state(self._ctx, workers)
        self._slots = [_Slot(i) for i in range(workers)]
        self._queue: deque[int] = deque()
        self._tasks: dict[int, Task] = {}
        self._next_id = 0
        self._start_failures = 0
        self.crashes = 0
        self.gpu = False
        for slot in self._slots:
            self._start(slot)

    def _start(self, slot: _Slot) -> None:
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(target=_worker_main, name=f"facefolio-scan-{slot.index}",
                                    args=(child, self.spec, self._shared, slot.index,
                                          self.nice), daemon=True)
        with _main_hidden():
            process.start()
        child.close()
        slot.process, slot.conn, slot.ready = process, parent, False
        slot.jobs.clear()

    def update_spec(self, spec: WorkSpec) -> None:
        """Workers running get it before their next job; those started later, at start."""
        self.spec = spec
        for slot in self._slots:
            if slot.conn.closed:
                continue
            try:
                slot.conn.send(("spec", spec))
            except OSError:
                pass  # dead: its replacement starts with the new spec

    def put(self, task: Task) -> int:
        job_id = self._next_id
        self._next_id += 1
        self._tasks[job_id] = task
        self._queue.append(job_id)
        return job_id

    @property
    def busy(self) -> int:
        """Jobs given to the pool and not answered yet."""
        return len(self._tasks)

    def _feed(self) -> None:
        for slot in self._slots:
            if slot.retired:
                continue
            while self._queue and len(slot.jobs) < (_GPU_BATCH * 2 if slot.gpu else _IN_FLIGHT):
                job_id = self._queue.popleft()
                try:
                    slot.conn.send((job_id, self._tasks[job_id]))
                except (BrokenPipeError, OSError):
                    self._queue.appendleft(job_id)  # the death is handled by poll
                    break
                slot.jobs.append(job_id)

    def poll(self, timeout: float) -> list[tuple[int, Any]]:
        """Answers that arrived within `timeout` seconds (maybe none)."""
        self._feed()
        live = [s for s in self._slots if not s.conn.closed]
        waiting = {s.conn: s for s in live} | {s.process.sentinel: s for s in live}
        out: list[tuple[int, Any]] = []
        for ready in wait(list(waiting), timeout):
            slot = waiting[ready]
            if ready is slot.conn:
                out += self._receive(slot)
        for slot in self._slots:  # after reading: a dead worker's last answers count
            if slot.retired and not slot.jobs and slot.process.is_alive():
                slot.conn.send(None)  # retired and idle: let it go
                slot.process.join(5.0)
            if not slot.process.is_alive() and not (slot.retired and slot.conn.closed):
                out += self._receive(slot) + self._buried(slot)
        self._feed()
        return out

    def _receive(self, slot: _Slot) -> list[tuple[int, Any]]:
        out = []
        try:
            while slot.conn.poll():
                message = slot.conn.recv()
                if message[0] == "ready":
                    slot.ready = True
                    self._start_failures = 0
                    if message[1] is True:
                        self._owns_accelerator(slot)
                    continue
                job_id, answer = message
                if slot.jobs and slot.jobs[0] == job_id:
                    slot.jobs.popleft()
                self._tasks.pop(job_id, None)
                out.append((job_id, answer))
        except (EOFError, OSError):
            pass  # died mid-message: `_buried` blames its current job
        return out

    def _owns_accelerator(self, slot: _Slot) -> None:
        """One process owns an accelerator (one context, one copy of the models in its
        memory) and analyses in batches; the other workers stop once their jobs are done."""
        if self.gpu:
            slot.retired = True  # a second worker that found it too
            return
        self.gpu = slot.gpu = True
        for other in self._slots:
            if other is not slot:
                other.retired = True

    @property
    def size(self) -> int:
        return sum(not s.retired for s in self._slots)

    @property
    def capacity(self) -> int:
        """Jobs worth handing over now: what the live workers take in flight."""
        return sum(_GPU_BATCH * 2 if s.gpu else _IN_FLIGHT for s in self._slots
                   if not s.retired)

    def _buried(self, slot: _Slot) -> list[tuple[int, Any]]:
        """A dead worker: its current job crashed it; the next goes back; a new worker."""
        slot.process.join()
        code = slot.process.exitcode
        out = []
        if slot.jobs:
            job_id = slot.jobs.popleft()
            self._tasks.pop(job_id, None)
            out.append((job_id, Crashed(code)))
            self.crashes += 1
            self._queue.extendleft(reversed(slot.jobs))
            slot.jobs.clear()
            log.warning("scan worker %s died (exit %s) on job %s", slot.index, code, job_id)
        elif not slot.ready:
            self._start_failures += 1
            if self._start_failures >= _START_FAILURES:
                raise PoolError(f"the scan workers cannot start (exit code {code})")
        slot.conn.close()
        budget.release_slot(self._shared, slot.index)  # what it held is free again
        if not slot.retired:
            self._start(slot)
        return out

    def close(self, *, now: bool = False) -> None:
        """Stop the workers: politely (they finish nothing more), or at once."""
        for slot in self._slots:
            if slot.conn.closed:
                continue
            try:
                if not now:
                    slot.conn.send(None)
            except OSError:
                pass
        deadline = time.monotonic() + (0.0 if now else 2.0)
        for slot in self._slots:
            slot.process.join(max(0.0, deadline - time.monotonic()))
            if slot.process.is_alive():
                slot.process.terminate()
                slot.process.join(2.0)
            if slot.process.is_alive():
                slot.process.kill()
                slot.process.join()
            if not slot.conn.closed:
                slot.conn.close()


class ThreadPool:
    """The same interface on this process's threads (a caller's own engines)."""

    def __init__(self, spec: WorkSpec, workers: int, engine_factory: Callable) -> None:
        self._local = threading.local()
        self._spec, self._factory = spec, engine_factory
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="facefolio-scan")
        self._futures: dict[Future, int] = {}
        self._next_id = 0
        self.size = workers
        self.capacity = workers * _IN_FLIGHT
        self.crashes = 0
        self.gpu = False

    def update_spec(self, spec: WorkSpec) -> None:
        self._spec = spec

    def _work(self) -> Work:
        work = getattr(self._local, "work", None)
        if work is None:
            work = self._local.work = Work(self._spec, self._factory)
        work.spec = self._spec
        return work

    def _run(self, task: Task) -> Any:
        kind, payload = task
        work = self._work()
        return work.fingerprint(*payload) if kind == "fingerprint" else work.analyse(payload)

    def put(self, task: Task) -> int:
        job_id = self._next_id
        self._next_id += 1
        self._futures[self._executor.submit(self._run, task)] = job_id
        return job_id

    @property
    def busy(self) -> int:
        return len(self._futures)

    def poll(self, timeout: float) -> list[tuple[int, Any]]:
        from concurrent.futures import FIRST_COMPLETED  # noqa: PLC0415
        from concurrent.futures import wait as wait_futures  # noqa: PLC0415
        if not self._futures:
            time.sleep(min(timeout, 0.05))
            return []
        done, _ = wait_futures(list(self._futures), timeout, return_when=FIRST_COMPLETED)
        return [(self._futures.pop(f), f.result()) for f in done]

    def close(self, *, now: bool = False) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
