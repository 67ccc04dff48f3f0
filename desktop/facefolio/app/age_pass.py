"""The app's background age pass (library/scan/background.py): stopped when a scan starts and
on quit. Its writes reach the views as another process's change (LibrarySession.watch).

Not started by itself in this version. With the pass's process alive, a scan started in the
window failed now and then with "disk I/O error": store.connect's header read dropped this
process's SQLite locks, and the pass's process then deleted the write-ahead log under the
writer. That is fixed (store._read_header, tests/test_store_locks.py; 5 of 5 runs of the scan
tests passed with the pass on, against 3 of 4 before), but with the pass on, one full-suite
run timed out waiting for the Review count in tests/test_app_layout.py (it passes alone), not
understood yet. `facefolio estimate-ages` runs the pass; `start()` stays for then."""
from __future__ import annotations

from PySide6.QtCore import QObject

from ..library.scan.background import BackgroundFill
from .session import LibrarySession
from .tasks import Task


class AgePass(QObject):
    def __init__(self, session: LibrarySession, warm_up: Task | None = None) -> None:
        super().__init__(session)
        self.session = session
        self.fill = BackgroundFill(session.path)
        session.scanStarted.connect(lambda: self.fill.stop(None))

    def start(self) -> None:
        if not self.session.closed and not self.session.scanning:
            self.fill.start()

    def stop(self) -> None:
        self.fill.stop()
