"""Worker tasks and the pools that run them.

A task is a QRunnable with a separate `TaskSignals` QObject (superqt's WorkerBase shape): the
runnable lives on a pool thread, the signals object lives on the GUI thread, so every emit is
queued to the GUI. A failure travels as the exception object itself (superqt's `error`
signal), so a caller can tell `ChangedElsewhereError` from a locked database; `one_line`
makes the line the status bar shows. Each task opens its own `Library`: an sqlite3
connection belongs to the thread that opened it, so only ids and frozen records travel over
signals.

Pools by purpose (Picard's `_init_threads`):
  scan      one scan at a time: it plans and feeds the scan's worker processes
  read      list loads and searches: read-only, several at once (WAL lets them overlap writes)
  thumbs    face crops and photo thumbnails
Every change goes to the library's one writer instead (library/storage/write_queue.py: the scan's
photos, People changes, settings, folder edits, in order); `WriteTask` is its GUI-side handle.
"""
from __future__ import annotations

import logging
import os
import threading
import traceback
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from ..library import CancelToken, Library, Scanner, ScanProgress
from ..library.storage.write_queue import WriteQueue
from ..library.storage.failures import one_line as failures_one_line

log = logging.getLogger(__name__)


class TaskSignals(QObject):
    """Lives on the GUI thread; a task emits through it from its pool thread."""

    progress = Signal(object)
    result = Signal(object)
    error = Signal(object)  # the exception the work raised
    finished = Signal()


class Task(QRunnable):
    """Runs `work(library)` with a Library opened on the pool thread."""

    def __init__(self, library_path: Path, work: Callable[[Library], Any], name: str = "") -> None:
        super().__init__()
        self.setAutoDelete(False)  # Python owns it; TaskPools keeps it alive until finished
        self.library_path = library_path
        self.work = work
        self.name = name or getattr(work, "__name__", "task")
        self.signals = TaskSignals()

    def run(self) -> None:
        try:
            with Library(self.library_path) as library:
                value = self.work(library)
        except Exception as exc:  # the GUI decides what to show; the log has the traceback
            log.debug("task %s failed:\n%s", self.name, traceback.format_exc())
            exc.library_dir = self.library_path  # one_line's words for disk and I/O errors
            self.signals.error.emit(exc)
        else:
            self.signals.result.emit(value)
        finally:
            self.signals.finished.emit()


class WriteTask:
    """`work(library)` on the library's writer; its answer comes back through `signals`
    like a Task's (emitted from the writer thread, delivered on the GUI thread)."""

    def __init__(self, queue: WriteQueue, work: Callable[[Library], Any], name: str = "") -> None:
        self.name = name or getattr(work, "__name__", "write")
        self.signals = TaskSignals()
        self.work = work
        self.queue = queue

    def start(self) -> None:
        signals = self.signals  # the callback keeps it alive until the answer is out
        name = self.name

        def answered(future) -> None:
            try:
                value = future.result()
            except Exception as exc:
                log.debug("write %s failed:\n%s", name, traceback.format_exc())
                signals.error.emit(exc)
            else:
                signals.result.emit(value)
            finally:
                signals.finished.emit()
        try:
            self.queue.submit(self.work).add_done_callback(answered)
        except Exception as exc:  # the writer is closing
            signals.error.emit(exc)
            signals.finished.emit()


class ScanTask(QRunnable):
    """Iterates `Scanner.scan()` and emits each `ScanProgress`; cancel/pause via `token`.

    The scan leaves one core to the window (its workers are one fewer than the cores, at
    least one), runs its workers niced, and groups new faces into people as it goes."""

    def __init__(self, library_path: Path, folder_ids: list[int] | None, *,
                 retry_failed: bool = False,
                 group_every: tuple[int, int, float] | None = None) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.library_path = library_path
        self.folder_ids = folder_ids
        self.retry_failed = retry_failed
        self.group_every = group_every
        self.token = CancelToken()
        self.signals = TaskSignals()
        self.name = "scan"

    def run(self) -> None:
        _lower_priority()
        last: ScanProgress | None = None
        try:
            with Library(self.library_path) as library:
                scanner = Scanner(library, spare_core=True, nice=_scan_nice(),
                                  group_every=self.group_every)
                for last in scanner.scan(self.folder_ids, self.token,
                                         retry_failed=self.retry_failed):
                    self.signals.progress.emit(last)
        except Exception as exc:
            log.debug("scan failed:\n%s", traceback.format_exc())
            exc.library_dir, exc.partial = self.library_path, True
            self.signals.error.emit(exc)
        else:
            self.signals.result.emit(last)
        finally:
            self.signals.finished.emit()


def _scan_nice() -> int:
    try:
        return int(os.environ.get("FACEFOLIO_SCAN_NICE", "10"))
    except ValueError:
        return 10


def _lower_priority() -> None:
    """Nice this pool thread (the worker processes nice themselves), so that the GUI thread
    wins the CPU whenever it has something to do."""
    if _scan_nice() == 0:
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _scan_nice())
    except (AttributeError, OSError, ValueError):  # not Linux, or not allowed: no matter
        pass


def one_line(exc: BaseException) -> str:
    """One line for the user: a full disk, a read-only library, permission and I/O errors
    and a damaged database in words (library/storage/failures.py, with the library the task had
    open), else the first line of the exception's message (its type's name when it has
    none)."""
    return failures_one_line(exc, getattr(exc, "library_dir", None),
                             partial=getattr(exc, "partial", False))


_LIVE: weakref.WeakSet[TaskPools] = weakref.WeakSet()


def live_pools() -> list[TaskPools]:
    """Every TaskPools not yet collected (tests check none is left running)."""
    return list(_LIVE)


class TaskPools(QObject):
    """The app's thread pools and the set of tasks still running (so none is collected)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        _LIVE.add(self)
        self.scan = self._pool(1)
        self.read = self._pool(3)
        self.thumbs = self._pool(2)
        self._running: set[QRunnable] = set()
        self.closed = False

    def _pool(self, threads: int) -> QThreadPool:
        pool = QThreadPool(self)
        pool.setMaxThreadCount(threads)
        return pool

    def all_pools(self) -> list[QThreadPool]:
        return [self.scan, self.read, self.thumbs]

    def keep(self, task: WriteTask) -> None:
        """Hold a write's handle until its answer is delivered (its signals object would
        otherwise go with the writer's last reference, and the queued answer with it)."""
        self._running.add(task)
        task.signals.finished.connect(lambda: self._running.discard(task))

    def start(self, pool: QThreadPool, task: Task | ScanTask) -> None:
        if self.closed:
            # After shutdown (a thumbnail asked for by the last paint of a closing window, a
            # timer that fired late): nothing new starts on pools that are going away.
            return
        self._running.add(task)
        task.signals.finished.connect(lambda: self._running.discard(task))
        pool.start(task)

    @property
    def running(self) -> int:
        return len(self._running)

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        """Cancel scans, drop queued work, wait for what is running. Call from the GUI."""
        self.closed = True
        for task in list(self._running):
            if isinstance(task, ScanTask):
                task.token.cancel()
        ok = True
        for pool in self.all_pools():
            pool.clear()
        for pool in self.all_pools():
            ok = pool.waitForDone(timeout_ms) and ok
        self._running.clear()  # cleared tasks never ran, so they will never report finished
        return ok
