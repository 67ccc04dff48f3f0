"""`Page`: a view in the main window's stack that reloads itself from a read task."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QWidget

from ..library import Library
from .session import LibrarySession


class Page(QWidget):
    title = ""

    def __init__(self, session: LibrarySession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.dirty = True
        self._generation = 0  # answers of older loads are dropped (napari's histogram guard)
        self.loads = 0  # finished loads, for tests

    def reload(self) -> None:
        """Load what the page shows; called when the page is shown or the library changed."""
        self.dirty = False

    def load(self, work: Callable[[Library], Any], apply: Callable[[Any], None],
             failed: Callable[[Exception], None] | None = None) -> None:
        """Run `work` in a read task and `apply` its answer, unless a newer load started;
        a failure goes to the status bar (and to `failed`, for the page's own message)."""
        self._generation += 1
        generation = self._generation

        def arrived(value: Any) -> None:
            if generation == self._generation:
                apply(value)
                self.loads += 1

        def went_wrong(exc: Exception) -> None:
            self.session.say_error(exc)
            if generation == self._generation and failed is not None:
                failed(exc)
        self.session.read(work, arrived, went_wrong)
