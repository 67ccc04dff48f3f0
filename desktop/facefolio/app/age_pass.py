"""The app's background age pass (library/scan/background.py): stopped when a scan starts and
on quit. Its writes reach the views as another process's change (LibrarySession.watch).

Not started by itself in this version. The "disk I/O error" it once set off is fixed
(store._read_header, tests/test_store_locks.py), and its launch stall too (pool.start_server
warms the fork server on the warm-up thread). But with the pass on, 2 of 4 fresh-clone CI
runs timed out waiting for the three Review questions of the "unsure" library
(test_app_errors, test_app_layout, test_app_review), while each passes alone: not understood
yet. `facefolio estimate-ages` runs the pass; `start()` stays for then."""
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
