"""The library's one writer: every change of one library folder, in order, on one thread.

Scan results, user edits, clustering, index catch-ups and saves, settings: each is a job
`work(library)` queued here and run on the writer's thread with the writer's own `Library`
(its own SQLite connection, so the connection stays with the thread that opened it). Reads
stay on their own connections and never wait (WAL).

Two lanes: edits (anything a person asked for) and scan results (one photo per job). The
writer always takes the next edit before the next photo, so an edit made during a scan waits
behind at most the one photo being committed, not behind the scan's backlog. As Vorta's
`borg/jobs_manager.py` serialises the jobs of one repository, one `WriteQueue` exists per
library folder in this process (`acquire`); other processes (the CLI beside the app) have
their own and meet ours at SQLite's write lock and the scan lock (scanlock.py), and background
computations re-check `edits_generation` before they write (regroup.py, assign.py).
"""
from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from .errors import LibraryError

log = logging.getLogger(__name__)
T = TypeVar("T")

_QUEUES: dict[str, WriteQueue] = {}
_QUEUES_LOCK = threading.Lock()


class WriteQueue:
    """One library folder's writer thread and its two lanes of jobs."""

    def __init__(self, path: Path, open_library: Callable[[Path], Any]) -> None:
        self.path = Path(path)
        self._open = open_library  # `Library` (library.py sits above this module)
        self._edits: deque[tuple[Callable, Future]] = deque()
        self._scan: deque[tuple[Callable, Future]] = deque()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._users = 0
        self.ident: int | None = None  # the writer thread's id while it runs

    # -- submitting ---------------------------------------------------------------------
    def submit(self, work: Callable[[Any], T], *, scan: bool = False) -> Future[T]:
        """Queue `work(library)`; its Future holds the value or the exception."""
        future: Future = Future()
        with self._cond:
            if self._closed:
                raise LibraryError("the library is closing: the change was not made")
            (self._scan if scan else self._edits).append((work, future))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name=f"facefolio-writer-{self.path.name}")
                self._thread.start()
            self._cond.notify()
        return future

    def call(self, work: Callable[[Any], T]) -> T:
        """Run `work` on the writer and wait for it (inline when already on the writer)."""
        if self.on_writer():
            return work(self._library)
        return self.submit(work).result()

    def on_writer(self) -> bool:
        return threading.get_ident() == self.ident

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._edits) + len(self._scan)

    # -- the writer thread --------------------------------------------------------------
    def _next(self) -> tuple[Callable, Future, bool] | None:
        with self._cond:
            while not (self._edits or self._scan):
                if self._closed:
                    return None
                self._cond.wait()
            if self._edits:
                return (*self._edits.popleft(), True)
            return (*self._scan.popleft(), False)

    def _run(self) -> None:
        self.ident = threading.get_ident()
        try:
            library = self._open(self.path)
        except Exception as exc:  # every queued change fails with the reason; the next
            self._fail_all(exc)   # submit tries to open the library again
            return
        self._library = library
        try:
            while (item := self._next()) is not None:
                work, future, edit = item
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    if edit:  # what the user changes is read fresh (settings, forget epoch)
                        library.close()
                        library = self._library = self._open(self.path)
                    value = work(library)
                except BaseException as exc:  # the caller's Future carries it
                    future.set_exception(exc)
                else:
                    future.set_result(value)
        finally:
            library.close()
            self.ident = None

    def _fail_all(self, exc: BaseException) -> None:
        with self._cond:
            items = [*self._edits, *self._scan]
            self._edits.clear()
            self._scan.clear()
            self._thread = None
            self.ident = None
        for _work, future in items:
            if future.set_running_or_notify_cancel():
                future.set_exception(exc)

    def close(self, timeout: float | None = 60.0) -> None:
        """Run what is queued, then stop the thread."""
        with self._cond:
            self._closed = True
            thread = self._thread
            self._cond.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)


def acquire(path: Path, open_library: Callable[[Path], Any]) -> WriteQueue:
    """This process's writer of the library at `path` (started on first use); `release` it."""
    key = str(Path(path).expanduser().absolute())
    with _QUEUES_LOCK:
        queue = _QUEUES.get(key)
        if queue is None:
            queue = _QUEUES[key] = WriteQueue(Path(key), open_library)
        queue._users += 1
        return queue


def release(queue: WriteQueue) -> None:
    """The last user gone, the writer finishes its queue and stops."""
    with _QUEUES_LOCK:
        queue._users -= 1
        if queue._users > 0:
            return
        if _QUEUES.get(str(queue.path)) is queue:
            del _QUEUES[str(queue.path)]
    queue.close()


@contextmanager
def writer(path: Path, open_library: Callable[[Path], Any]) -> Iterator[WriteQueue]:
    queue = acquire(path, open_library)
    try:
        yield queue
    finally:
        release(queue)


def running(path: Path) -> WriteQueue | None:
    """The writer of this library in this process, if one is in use."""
    with _QUEUES_LOCK:
        return _QUEUES.get(str(Path(path).expanduser().absolute()))
