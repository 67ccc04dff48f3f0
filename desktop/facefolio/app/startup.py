"""What the window says about the library as it opens: settings.json problems, a read-only or
damaged library, and, after an unclean shutdown, `facefolio check` run in the background.

The app leaves a note in the library while it runs (library/upkeep/check.py `begin_session`); a note
left by a process that is gone means the last session ended without closing (a crash, a power
cut), so the library is checked off the GUI thread and what the check finds is shown.
"""
from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from ..library import Library
from ..library.upkeep.check import begin_session, check_library, end_session

log = logging.getLogger(__name__)


def library_notes(path: Path) -> list[str]:
    """Open the library once (creating or migrating it; LibraryError says why it cannot) and
    return its problems, one line each."""
    with Library(path) as library:
        return list(library.problems) + library.permission_problems[:3]


def after_open(window: QWidget, path: Path, notes: list[str]) -> None:
    """Show the notes; start the check when the last session did not end cleanly."""
    if notes:
        window.statusBar().showMessage("  ·  ".join(notes), 30000)
    unclean = begin_session(path)
    app = QApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(lambda: end_session(path))
    if not unclean:
        return
    window.statusBar().showMessage("Facefolio did not close properly last time: checking "
                                   "the library in the background…", 30000)

    def shown(report) -> None:
        if report.ok:
            window.statusBar().showMessage("Library checked after an unclean shutdown: all "
                                           "well", 8000)
            return
        box = QMessageBox(QMessageBox.Icon.Warning, "Facefolio",
                          "Facefolio did not close properly last time, and checking the "
                          "library found:\n\n" + "\n".join(f"• {f}" for f in report.findings)
                          + "\n\nRun 'facefolio check --repair' to fix what can be fixed.",
                          parent=window)
        box.setModal(False)
        box.show()
        window._check_box = box  # keep it alive while it is shown

    window.session.read(lambda library: check_library(library.path), shown,
                        lambda reason: log.warning("start-up check failed: %s", reason))
