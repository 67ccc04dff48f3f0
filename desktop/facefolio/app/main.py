"""Entry point of the desktop app: `facefolio` with no sub-command calls `run()`."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QMessageBox

from ..library import LibraryError, default_library_dir
from ..library.storage.failures import describe
from ..library.library import ENV_LIBRARY
from .main_window import MainWindow, app_icon
from .startup import after_open, library_notes


def choose_library(library_path: str | None) -> Path:
    """--library, else $FACEFOLIO_LIBRARY, else the location picked in Settings, else default."""
    if library_path:
        return Path(library_path).expanduser().absolute()
    if not os.environ.get(ENV_LIBRARY):
        saved = QSettings().value("library/path")
        if saved:
            return Path(str(saved))
    return default_library_dir()


def make_app(argv: list[str] | None = None) -> QApplication:
    # Every call from Python into Qt drops and retakes the GIL, and painting a grid makes
    # hundreds of them; with scan threads holding the GIL between C calls, each retake can
    # wait a whole switch interval (5 ms by default). 1 ms keeps the GUI thread's waits short.
    sys.setswitchinterval(0.001)
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setOrganizationName("Facefolio")
    app.setApplicationName("Facefolio")
    app.setApplicationDisplayName("Facefolio")
    app.setDesktopFileName("facefolio")
    app.setWindowIcon(app_icon())
    return app


def run(library_path: str | None = None) -> int:
    app = make_app()
    path = choose_library(library_path)
    try:
        notes = library_notes(path)  # create or migrate it now, with a clear message if not
    except LibraryError as exc:
        QMessageBox.critical(None, "Facefolio", f"Cannot open the library:\n{exc}")
        return 1
    except OSError as exc:  # the folder cannot be made or read at all
        QMessageBox.critical(None, "Facefolio", f"Cannot open the library:\n"
                             f"{describe(exc, path)}")
        return 1
    window = MainWindow(path)
    window.show()
    after_open(window, path, notes)
    return app.exec()
