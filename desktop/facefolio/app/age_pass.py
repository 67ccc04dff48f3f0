"""The app's background age pass (library/scan/background.py): started once the app has
warmed up and after each scan that finished, stopped when a scan starts and on quit. Its
writes reach the views as another process's change (LibrarySession.watch).

It was off for stops 29 to 31: CI runs timed out waiting for the Review count, which was put
down to the pass. The cause was the test album's own fixture picking faces by scan order
(tests/app_fixtures.py, UNSURE_FILES), not the pass."""
from __future__ import annotations

from PySide6.QtCore import QObject

from ..library.scan.background import BackgroundFill
from ..library.scan.progress import Phase
from .session import LibrarySession
from .tasks import Task


class AgePass(QObject):
    def __init__(self, session: LibrarySession, warm_up: Task | None = None) -> None:
        super().__init__(session)
        self.session = session
        self.fill = BackgroundFill(session.path)
        session.scanStarted.connect(lambda: self.fill.stop(None))
        session.scanFinished.connect(self._scan_finished)
        if warm_up is not None:  # the fork server is up: the pass forks from it at once
            warm_up.signals.finished.connect(self.start)

    def start(self) -> None:
        if not self.session.closed and not self.session.scanning:
            self.fill.start()

    def _scan_finished(self, last) -> None:
        if last is not None and last.phase is Phase.DONE:
            self.start()

    def stop(self) -> None:
        self.fill.stop()
