"""The status-bar strip for a running scan: progress, counts, rate, ETA, pause and cancel."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from ..library import ScanProgress
from .session import LibrarySession


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(seconds)
    if seconds >= 3600:
        return f", about {seconds // 3600} h {seconds % 3600 // 60} min left"
    if seconds >= 60:
        return f", about {seconds // 60} min left"
    return f", {seconds} s left"


def describe(p: ScanProgress) -> str:
    if p.phase == "listing":
        return "Looking for photos…"
    if p.phase == "finishing":
        return f"Grouping faces into people… ({p.faces} new faces)"
    if p.phase in ("done", "cancelled"):
        verb = "Scan finished" if p.phase == "done" else "Scan cancelled"
        errors = f", {p.errors} could not be read (see Folders)" if p.errors else ""
        return f"{verb}: {p.done} photos, {p.faces} faces{errors}"
    errors = f", {p.errors} errors" if p.errors else ""
    return (f"{p.done}/{p.total} photos, {p.faces} faces{errors}, "
            f"{p.rate:.1f} photos/s{_eta(p.eta)}")


class ScanStatusWidget(QWidget):
    def __init__(self, session: LibrarySession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        # Fixed widths: a label that resizes on every update relayouts the whole status bar.
        self.label = QLabel()
        self.label.setFixedWidth(self.label.fontMetrics().horizontalAdvance("x" * 64))
        self.current = QLabel()
        self.current.setFixedWidth(250)
        self.current.setStyleSheet("color: palette(mid);")
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(200)
        self.bar.setTextVisible(False)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.toggled.connect(self._pause)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self._cancel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for w in (self.bar, self.label, self.current, self.pause_button, self.cancel_button):
            layout.addWidget(w)
        session.scanStarted.connect(self._started)
        session.scanProgress.connect(self.show_progress)
        session.scanFinished.connect(self._finished)
        self.setVisible(False)

    def _started(self) -> None:
        self.pause_button.setChecked(False)
        self.pause_button.setEnabled(True)
        self.cancel_button.setEnabled(True)
        self.bar.setRange(0, 0)
        self.label.setText("Starting scan…")
        self.current.clear()
        self.setVisible(True)

    def show_progress(self, p: ScanProgress) -> None:
        if p.phase == "scanning" and p.total:
            self.bar.setRange(0, p.total)
            self.bar.setValue(p.done)
        else:
            self.bar.setRange(0, 0)
        paused = " (paused)" if self.pause_button.isChecked() else ""
        self.label.setText(describe(p) + paused)
        name = Path(p.current).name if p.current else ""
        self.current.setText(self.current.fontMetrics().elidedText(
            name, Qt.TextElideMode.ElideMiddle, 250))
        self.current.setToolTip(p.current)

    def _pause(self, paused: bool) -> None:
        self.session.pause_scan(paused)
        self.pause_button.setText("Resume" if paused else "Pause")

    def _cancel(self) -> None:
        self.session.cancel_scan()
        self.label.setText("Cancelling…")
        self.cancel_button.setEnabled(False)
        self.pause_button.setEnabled(False)

    def _finished(self, last: ScanProgress | None) -> None:
        self.setVisible(False)
        if last is not None:
            self.window().statusBar().showMessage(describe(last), 15000)
