"""Small widgets every page uses: a label that elides instead of clipping, a year scrubber."""
from __future__ import annotations

from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QAbstractItemView, QLabel, QListWidget, QListWidgetItem, QWidget


class ElidedLabel(QLabel):
    """One line of text that shortens with "…" when narrow; the whole text is the tooltip.

    A plain QLabel either grows the layout (pushing buttons off a small window) or is cut
    mid-letter; this one asks for little width and shows what fits.
    """

    def __init__(self, text: str = "", parent: QWidget | None = None,
                 mode: Qt.TextElideMode = Qt.TextElideMode.ElideMiddle) -> None:
        super().__init__(parent)
        self.mode = mode
        self.full = ""
        self.setMinimumWidth(40)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        self.full = text
        self.setToolTip(text if text else "")
        self._elide()

    def text_shown(self) -> str:
        return super().text()

    def _elide(self) -> None:
        width = max(self.width(), self.minimumWidth())
        super().setText(self.fontMetrics().elidedText(self.full, self.mode, width))

    def minimumSizeHint(self) -> QSize:
        return QSize(self.minimumWidth(), super().minimumSizeHint().height())

    def sizeHint(self) -> QSize:
        return QSize(self.fontMetrics().horizontalAdvance(self.full) + 4,
                     super().sizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()


class YearScrubber(QListWidget):
    """A narrow column of years beside a date-sorted grid: a click jumps to that year."""

    yearChosen = Signal(int)  # the first row of the chosen year

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedWidth(self.fontMetrics().horizontalAdvance("No date") + 28)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setFrameShape(QListWidget.Shape.NoFrame)
        self.setToolTip("Jump to a year")
        self.itemClicked.connect(lambda item: self.yearChosen.emit(
            item.data(Qt.ItemDataRole.UserRole)))
        self.marks: list[tuple[str, int]] = []

    def set_marks(self, marks: list[tuple[str, int]]) -> None:
        """(label, first row) per year; hidden when there is less than two years to pick."""
        if marks == self.marks:
            return
        self.marks = list(marks)
        self.clear()
        for label, row in marks:
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, row)
            item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            self.addItem(item)
        self.setVisible(len(marks) > 1)

    def follow(self, row: int) -> None:
        """Highlight the year that holds `row` (the first row on screen)."""
        current = -1
        for i, (_label, first) in enumerate(self.marks):
            if first <= row:
                current = i
        if current >= 0 and current != self.currentRow():
            self.blockSignals(True)
            self.setCurrentRow(current)
            self.blockSignals(False)


def latest(old: QObject | None, new: QObject) -> QObject:
    """Keep the newest menu or dialog (tests reach it through `last_…`) and free the one
    before: parented to the window, each would live (and listen to thumbnails) as long."""
    if old is not None and old is not new:
        old.deleteLater()
    return new


def last_folder(kind: str) -> str:
    """Where the file or folder dialog of this kind was last left (the home folder at
    first, or when that folder is gone): QSettings, per user, never the library."""
    from pathlib import Path  # noqa: PLC0415

    from PySide6.QtCore import QSettings  # noqa: PLC0415
    saved = QSettings().value(f"dialogs/{kind}", "")
    return saved if isinstance(saved, str) and saved and Path(saved).is_dir() else \
        str(Path.home())


def remember_folder(kind: str, path: str) -> None:
    """The folder a dialog of this kind chose (a file's own folder for a file)."""
    import os  # noqa: PLC0415

    from PySide6.QtCore import QSettings  # noqa: PLC0415
    if path:
        folder = path if os.path.isdir(path) else os.path.dirname(path)
        QSettings().setValue(f"dialogs/{kind}", folder)
