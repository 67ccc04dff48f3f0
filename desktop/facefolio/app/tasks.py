"""Worker tasks and the pools that run them.

A task is a QRunnable with a separate `TaskSignals` QObject (superqt's WorkerBase shape): the
runnable lives on a pool thread, the signals object lives on the GUI thread, so every emit is
queued to the GUI. A failure travels as the exception object itself (superqt's `error`
signal), so a caller can tell `ChangedElsewhereError` from a locked database; `one_line`
makes the line the status bar shows. Each task opens its own `Library`: an sqlite3
connection belongs to the thread that opened it, so only ids and frozen records travel over
signals.

Pools by purpose (Picard's `_init_threads`):
  scan      one scan at a time (the scanner has its own decode/inference threads inside)
  read      list loads and searches: read-only, several at once (WAL lets them overlap writes)
  thumbs    face crops and photo thumbnails
  writer    exactly one thread: every People change, settings and folder edits, in order
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
from ..library.failures import one_line as failures_one_line

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


class ScanTask(QRunnable):
    """Iterates `Scanner.scan()` and emits each `ScanProgress`; cancel/pause via `token`."""

    def __init__(self, library_path: Path, folder_ids: list[int] | None) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.library_path = library_path
        self.folder_ids = folder_ids
        self.token = CancelToken()
        self.signals = TaskSignals()
        self.name = "scan"

    def run(self) -> None:
        _lower_priority()
        last: ScanProgress | None = None
        try:
            with Library(self.library_path) as library:
                for last in Scanner(library).scan(self.folder_ids, self.token):
                    self.signals.progress.emit(last)
        except Exception as exc:
            log.debug("scan failed:\n%s", traceback.format_exc())
            exc.library_dir, exc.partial = self.library_path, True
            self.signals.error.emit(exc)
        else:
            self.signals.result.emit(last)
        finally:
            self.signals.finished.emit()


def _lower_priority() -> None:
    """Nice this pool thread (and the scanner threads it starts, which inherit it on Linux),
    so that the GUI thread wins the CPU whenever it has something to do."""
    if os.environ.get("FACEFOLIO_SCAN_NICE", "10") == "0":
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(),
                       int(os.environ.get("FACEFOLIO_SCAN_NICE", "10")))
    except (AttributeError, OSError, ValueError):  # not Linux, or not allowed: no matter
        pass


def one_line(exc: BaseException) -> str:
    """One line for the user: a full disk, a read-only library, permission and I/O errors
    and a damaged database in words (library/failures.py, with the library the task had
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
        self.writer = self._pool(1)  # the one writer: People changes happen in order
        self._running: set[QRunnable] = set()
        self.closed = False

    def _pool(self, threads: int) -> QThreadPool:
        pool = QThreadPool(self)
        pool.setMaxThreadCount(threads)
        return pool

    def all_pools(self) -> list[QThreadPool]:
        return [self.scan, self.read, self.thumbs, self.writer]

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
