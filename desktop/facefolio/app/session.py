"""`LibrarySession`: the GUI thread's handle on one library.

It owns the pools and never opens SQLite itself: reads and scans are tasks (see `tasks.py`).
Every change goes through the library's one writer (library/storage/write_queue.py), the scan's
photos included, then `changed` tells the views to reload (each view reloads in a read task
and drops stale answers by generation).
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal

from ..library import Library, Phase, ScanProgress
from ..library.people.undo import ChangedElsewhereError
from ..library.storage import write_queue
from .tasks import ScanTask, Task, TaskPools, WriteTask, one_line

if TYPE_CHECKING:
    from ..library.people.people import People

# During a scan, new faces are grouped into people every this many faces (or seconds), so
# people appear while the scan runs instead of only at the end.
_GROUP_EVERY_FACES = 60
_GROUP_EVERY_S = 8.0
_FIRST_GROUP_FACES = 20  # the first pass comes early: a small folder shows people too
_REFRESH_EVERY_S = 2.0
_ALL = object()  # "every folder", for a queued scan


def people_api(library: Library) -> People:
    """The library's People editor (imported on first use: it loads scipy)."""
    from ..library.people.people import People  # noqa: PLC0415
    return People(library)


def sync_sidecars(library: Library, before: dict[int, frozenset]) -> list[tuple[str, str]]:
    """Rewrite the sidecars of photos whose named faces differ from `before`; the failures."""
    from ..library.interop.xmp import XmpError  # noqa: PLC0415
    from ..library.interop.xmp_library import named_faces, write_photo_xmp
    after = named_faces(library)
    changed = {pid for pid in before.keys() | after.keys() if before.get(pid) != after.get(pid)}
    failures = []
    for photo_id in sorted(changed):
        try:
            write_photo_xmp(library, photo_id)
        except (XmpError, OSError) as exc:  # the people change stands; the note says why
            failures.append((str(photo_id), str(exc)))
    return failures


def undo_labels(library: Library) -> tuple[str, str, int | None, int | None]:
    """What Undo and Redo would do now, in the log's words ("" for nothing), and the ids of
    those operations (so that Undo does what its label said, or nothing)."""
    history = people_api(library).history(200)
    undo = next((op for op in history if not op.undone), None)
    redo = next((op for op in reversed(history) if op.undone), None)
    return (undo.description if undo else "", redo.description if redo else "",
            undo.id if undo else None, redo.id if redo else None)


def database_signature(library_path: Path) -> tuple:
    """Size and time of the database and its write-ahead log: any commit, by any process,
    changes one of them (WAL appends every commit; a checkpoint rewrites the database).
    An empty or absent log counts as one state: opening and closing a connection (this
    look's own read) creates and deletes an empty log, which is no change."""
    out = []
    for name in ("library.sqlite3", "library.sqlite3-wal"):
        try:
            st = os.stat(library_path / name)
            out.append((st.st_size, st.st_mtime_ns) if st.st_size else None)
        except OSError:
            out.append(None)
    return tuple(out)


class LibrarySession(QObject):
    changed = Signal()  # something in the library changed: views reload what they show
    message = Signal(str)  # a one-line note or error for the status bar
    undoStateChanged = Signal(bool, bool)  # can_undo, can_redo
    undoLabels = Signal(str, str)  # what Undo and Redo would do ("" when nothing)
    scanStarted = Signal()
    scanProgress = Signal(object)  # ScanProgress
    scanFinished = Signal(object)  # the last ScanProgress, or None after an error
    externalChange = Signal()  # another process changed the library

    def __init__(self, library_path: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path = Path(library_path)
        self.pools = TaskPools(self)
        self.writer = write_queue.acquire(self.path, Library)  # shared with the scan's Scanner
        self.scan_task: ScanTask | None = None
        self._queued: set[int] | object | None = None  # scans asked for during a scan
        self.closed = False  # after shutdown, late answers find their widgets gone: drop them
        self._last_refresh = 0.0
        self._changed_timer = QTimer(self, singleShot=True, interval=50)
        self._changed_timer.timeout.connect(self.changed)
        self._own_writes = 0  # writes sent to the writer and not answered yet
        # The operations the Undo and Redo labels name (None: not known yet, or nothing).
        self.undo_ids: tuple[int | None, int | None] = (None, None)
        self._signature: tuple | None = None  # the database files as last seen
        self._looking = False
        self._watch_timer = QTimer(self)
        self._watch_timer.timeout.connect(self._look)

    # -- reads and writes ----------------------------------------------------------------
    def read(self, work: Callable[[Library], Any], on_result: Callable[[Any], None],
             on_error: Callable[[Exception], None] | None = None) -> Task:
        """Run `work(library)` in a read task; a failure goes to `on_error` as the exception
        (by default its first line to the status bar: never silently nothing)."""
        task = Task(self.path, work)
        task.signals.result.connect(self._guard(on_result))
        task.signals.error.connect(self._guard(on_error or self.say_error))
        self.pools.start(self.pools.read, task)
        return task

    def say_error(self, exc: Exception) -> None:
        """A task's failure on the status bar, in one line."""
        self.message.emit(one_line(exc))

    def _guard(self, slot: Callable[[Any], None]) -> Callable[[Any], None]:
        def call(value: Any) -> None:
            if not self.closed:
                slot(value)
        return call

    def write(self, work: Callable[[Library], Any], done: str = "",
              on_result: Callable[[Any], None] | None = None,
              on_error: Callable[[Exception], None] | None = None) -> WriteTask:
        """Run a change on the library's writer (during a scan: after the photo being
        committed, before the scan's next one); afterwards views reload and undo state
        updates. A failure goes to `on_error` as the exception (by default: the status bar)."""
        def change(library: Library) -> tuple[Any, tuple]:
            return work(library), undo_labels(library)

        def finished(answer: tuple[Any, tuple]) -> None:
            value, labels = answer
            self._own_writes -= 1
            self._signature = None  # our own change: the next look only takes note
            self._emit_undo(labels)
            if done:
                self.message.emit(done)
            if on_result is not None:
                on_result(value)
            self.notify_changed()

        def failed(exc: Exception) -> None:
            self._own_writes -= 1
            self._signature = None
            (on_error or self.say_error)(exc)
            self.notify_changed()
            self.refresh_undo_state()  # e.g. Undo refused: the labels catch up with the log

        task = WriteTask(self.writer, change)
        task.signals.result.connect(self._guard(finished))
        task.signals.error.connect(self._guard(failed))
        if not self.closed:
            self._own_writes += 1
            self.pools.keep(task)
            task.start()
        return task

    def people_write(self, action: Callable[[People], Any], done: str = "",
                     on_result: Callable[[Any], None] | None = None,
                     on_error: Callable[[Exception], None] | None = None) -> WriteTask:
        """`action(people)` on the writer thread, e.g. `lambda p: p.name(3, "Anna")`.

        With the write_xmp setting on, the sidecars of the photos whose named faces changed
        are rewritten in the same writer task, so they follow every change (undo included).
        """
        failures: list[tuple[str, str]] = []  # filled on the writer, read in `finished`

        def change(library: Library) -> Any:
            if not library.settings.write_xmp:
                return action(people_api(library))
            from ..library.interop.xmp_library import named_faces  # noqa: PLC0415 - exiv2
            before = named_faces(library)
            value = action(people_api(library))
            failures.extend(sync_sidecars(library, before))
            return value

        def finished(value: Any) -> None:
            if failures:
                path, reason = failures[0]
                more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
                self.message.emit(f"XMP sidecar not written: {reason}{more}")
            if on_result is not None:
                on_result(value)
        return self.write(change, done, finished, on_error)  # a failure replaces `done`

    def undo(self) -> None:
        """Undo what the Undo label names: when another process logged an operation since
        (the log is shared), nothing is undone and the user is told what is next instead."""
        expect = self._expected(0)
        self.people_write(lambda p: p.undo(expect), on_result=self._say_undone("Undone"),
                          on_error=self._step_failed("Undo"))

    def redo(self) -> None:
        expect = self._expected(1)
        self.people_write(lambda p: p.redo(expect), on_result=self._say_undone("Redone"),
                          on_error=self._step_failed("Redo"))

    def _step_failed(self, what: str) -> Callable[[Exception], None]:
        def say(exc: Exception) -> None:
            if isinstance(exc, ChangedElsewhereError):
                self.message.emit(one_line(exc))  # it says what is next to undo instead
            else:
                self.message.emit(f"{what} failed: {one_line(exc)}")
        return say

    def _expected(self, which: int) -> int | None:
        """The operation the Undo (0) or Redo (1) label names; None while our own writes
        are still queued: the labels have not caught up with them, and the user means the
        change they just made (the writer runs them in order, before this one)."""
        return None if self._own_writes else self.undo_ids[which]

    def _say_undone(self, verb: str) -> Callable[[Any], None]:
        def say(what: str | None) -> None:
            if what:  # "Undone: Merge Ann and Bo into Ann", the log's words as they are
                self.message.emit(f"{verb}: {what}")
            else:
                self.message.emit("Nothing to " + ("undo" if verb == "Undone" else "redo"))
        return say

    def refresh_undo_state(self) -> None:
        self.read(undo_labels, self._emit_undo)

    def _emit_undo(self, labels: tuple) -> None:
        undo, redo, *ids = labels
        self.undo_ids = (ids[0], ids[1])
        self.undoStateChanged.emit(bool(undo), bool(redo))
        self.undoLabels.emit(undo, redo)

    # -- changes made by another process (the CLI, a second window) ----------------------
    def watch(self, interval_ms: int = 2000) -> None:
        """Look at the library's database files every so often; when another process
        changed them, views reload as after our own change. During a scan the views reload
        on progress anyway, so the look is skipped."""
        if self._signature is None and not self._own_writes:
            # Where "unchanged" starts: a change made before the first look is a change too.
            # (Two stat calls of the local library folder.)
            self._signature = database_signature(self.path)
        self._watch_timer.setInterval(interval_ms)
        self._watch_timer.start()

    def _look(self) -> None:
        if self.closed or self.scanning or self._looking:
            return
        self._looking = True
        self.read(lambda library: database_signature(library.path), self._looked,
                  self._look_failed)

    def _look_failed(self, exc: Exception) -> None:
        self._looking = False
        self.say_error(exc)

    def _looked(self, signature: tuple) -> None:
        self._looking = False
        if self._own_writes:  # our own write is landing: it reloads the views itself
            self._signature = None
            return
        if self._signature is not None and signature != self._signature:
            self.externalChange.emit()
            self.notify_changed()
            self.refresh_undo_state()  # the undo log is shared: their change is undoable
        self._signature = signature

    def notify_changed(self) -> None:
        """Coalesce bursts of changes into one reload."""
        self._changed_timer.start()

    def warm_up(self) -> Task:
        """Start the scan's fork server at launch, not when the first scan starts.

        This process never loads the face engine (the scan's worker processes do): the
        server imports NumPy, OpenCV and ONNX Runtime in its own process, and the first
        scan's workers fork from it ready. A scan queued meanwhile waits for it in the
        same one-thread pool.
        """
        def warm(_library: Library) -> None:
            from ..library.scan.pool import start_server  # noqa: PLC0415
            start_server()
        task = Task(self.path, warm, "warm-up")
        task.signals.error.connect(lambda _m: None)  # a broken engine shows when scanning
        self.pools.start(self.pools.scan, task)
        return task

    # -- folders -------------------------------------------------------------------------
    def add_folders(self, paths: list[str], scan: bool = True) -> None:
        def add(library: Library) -> list[int]:
            return [library.add_folder(p).id for p in paths]

        def added(ids: list[int]) -> None:
            if scan:
                self.start_scan(ids)
        self.write(add, on_result=added)

    def remove_folder(self, folder_id: int) -> None:
        self.write(lambda library: library.remove_folder(folder_id), "Folder removed")

    # -- scanning ------------------------------------------------------------------------
    @property
    def scanning(self) -> bool:
        return self.scan_task is not None

    def scans_folder(self, folder_id: int) -> bool:
        """Whether the scan running in this window covers this folder."""
        task = self.scan_task
        return task is not None and (task.folder_ids is None or folder_id in task.folder_ids)

    def start_scan(self, folder_ids: list[int] | None = None, *, retry_failed: bool = False
                   ) -> bool:
        """Scan these folders (None: all). During a scan the request waits for it to end.
        retry_failed: also the files that crashed the image decoder twice."""
        if self.scan_task is not None:
            if folder_ids is None or self._queued is _ALL:
                self._queued = _ALL
            else:
                self._queued = (self._queued or set()) | set(folder_ids)
            self.message.emit("Will scan as soon as the current scan ends")
            return False
        # The scanner groups new faces into people on the writer as it goes (and the rest
        # once at the end), so people appear while the scan runs.
        task = ScanTask(self.path, folder_ids, retry_failed=retry_failed,
                        group_every=(_FIRST_GROUP_FACES, _GROUP_EVERY_FACES, _GROUP_EVERY_S))
        task.signals.progress.connect(self._guard(self._on_progress))
        task.signals.result.connect(self._guard(self._on_scan_done))
        task.signals.error.connect(self._guard(self._on_scan_error))
        self.scan_task = task
        self._last_refresh = time.monotonic()
        self.pools.start(self.pools.scan, task)
        self.scanStarted.emit()
        return True

    def pause_scan(self, paused: bool) -> None:
        if self.scan_task is not None:
            (self.scan_task.token.pause if paused else self.scan_task.token.resume)()

    def cancel_scan(self) -> None:
        if self.scan_task is not None:
            self.scan_task.token.cancel()

    def _on_progress(self, progress: ScanProgress) -> None:
        self.scanProgress.emit(progress)
        now = time.monotonic()
        if now - self._last_refresh > _REFRESH_EVERY_S:
            self._last_refresh = now
            self.notify_changed()

    def _on_scan_done(self, last: ScanProgress | None) -> None:
        self.scan_task = None
        self.scanFinished.emit(last)
        self.notify_changed()
        self._start_queued(cancelled=last is not None and last.phase is Phase.CANCELLED)

    def _on_scan_error(self, exc: Exception) -> None:
        self.scan_task = None
        self.message.emit(f"Scan failed: {one_line(exc)}")
        self.scanFinished.emit(None)
        self.notify_changed()
        self._start_queued(cancelled=False)

    def _start_queued(self, cancelled: bool) -> None:
        queued, self._queued = self._queued, None
        if queued is not None and not cancelled:  # a cancel means "stop scanning"
            self.start_scan(None if queued is _ALL else sorted(queued))

    # -- forgetting ----------------------------------------------------------------------
    def forget_all(self, on_result: Callable[[dict[str, int]], None]) -> None:
        """Delete all face data: first stop any scan (it would write faces back), then erase
        on the writer thread once the thumbnail tasks already running are done."""
        self._queued = None  # scans asked for before the user chose to forget
        if self.scan_task is not None:
            self.cancel_scan()
            def after_scan(_last: object) -> None:
                self.scanFinished.disconnect(after_scan)
                self.forget_all(on_result)
            self.scanFinished.connect(after_scan)
            self.message.emit("Stopping the scan before deleting face data…")
            return
        thumbs = self.pools.thumbs

        def forget(library: Library) -> dict[str, int]:
            from ..library.upkeep.forget import forget_all  # noqa: PLC0415
            thumbs.waitForDone(30000)  # a crop saved after the erase would outlive it
            return forget_all(library)
        self.write(forget, on_result=on_result)

    # -- quit ----------------------------------------------------------------------------
    def shutdown(self) -> None:
        self.closed = True
        self._changed_timer.stop()
        self._watch_timer.stop()
        self.cancel_scan()
        self.pools.shutdown()
        write_queue.release(self.writer)  # what is queued is written, then the thread ends
