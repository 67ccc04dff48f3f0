"""The status-bar strip for a running scan: progress, counts, rate, ETA, pause and cancel."""
from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from ..library import Phase, ScanProgress
from . import words
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


def describe(p: ScanProgress, rate: float | None = None, eta: float | None = None,
             paused: bool = False) -> str:
    """The status line. `rate` / `eta` are the widget's own (paused time left out); while
    paused they are not shown at all, so nothing ticks on a scan that is not moving."""
    if p.phase is Phase.LISTING:
        return "Looking for photos…"
    if p.phase is Phase.PREPARING:  # the one-time model conversion of a first run
        return f"{p.message}…"
    if p.phase is Phase.CHECKING:
        return f"Checking {p.done}/{p.total} files for moves and edits…"
    if p.phase is Phase.FINISHING:
        return f"Grouping faces into people… ({words.plural(p.faces, 'new face')})"
    if p.phase in (Phase.DONE, Phase.CANCELLED):
        verb = "Scan finished" if p.phase is Phase.DONE else "Scan cancelled"
        # Said by what changed: files that failed again (an empty file, a text file named
        # .jpg) are not "photos scanned", and an unchanged library says so.
        read = p.done - p.errors
        analysed = (f"{read} {p.files}" if p.videos and read > 1
                    else words.plural(read, "file" if p.videos else "photo"))
        changed = [f"{analysed} analysed, {words.plural(p.faces, 'face')}"
                   f" found" if read else "",
                   f"{p.moved} moved or renamed" if p.moved else ""]
        what = ", ".join(c for c in changed if c) or "nothing new or changed"
        notes = [f"{words.plural(p.errors, 'file')} could not be read" if p.errors else "",
                 f"{p.crashed} crashed the image decoder" if p.crashed else "",
                 f"{words.plural(p.missing, 'photo')} missing" if p.missing else "",
                 f"{p.offline} offline, kept" if p.offline else ""]
        extra = "; ".join(n for n in notes if n)
        return f"{verb}: {what}" + (f" ({extra}: see Folders)" if extra else "")
    errors = f", {words.plural(p.errors, 'error')}" if p.errors else ""
    counts = f"{p.done}/{p.total} {p.files}, {words.plural(p.faces, 'face')}{errors}"
    if paused:
        return f"Paused: {counts}"
    if rate is None:  # too early for the widget's own clock: the scanner's figures
        rate, eta = p.rate, p.eta
    return f"{counts}, {rate:.1f} {p.rate_unit}{_eta(eta)}"


class ScanClock:
    """Rate and ETA over the time the scan actually ran: a pause stops the clock."""

    def __init__(self) -> None:
        self.active = 0.0  # seconds scanned, pauses left out
        self.since: float | None = None  # when the clock last started running
        self.first_done: int | None = None

    def start(self) -> None:
        if self.since is None:
            self.since = time.monotonic()

    def stop(self) -> None:
        if self.since is not None:
            self.active += time.monotonic() - self.since
            self.since = None

    def seconds(self) -> float:
        return self.active + (time.monotonic() - self.since if self.since is not None else 0)

    def rate_eta(self, p: ScanProgress) -> tuple[float | None, float | None]:
        if self.first_done is None:
            self.first_done = p.done
        spent = self.seconds()
        done = p.done - self.first_done
        if spent < 1.0 or done <= 0:
            return None, None
        rate = done / spent
        return rate, max(0.0, (p.total - p.done) / rate)


class ScanStatusWidget(QWidget):
    def __init__(self, session: LibrarySession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        # Fixed widths: a label that resizes on every update relayouts the whole status bar.
        self.label = QLabel()
        self.label.setFixedWidth(self.label.fontMetrics().horizontalAdvance("x" * 64))
        self.current = QLabel()
        self.current.setFixedWidth(250)
        self.current.setStyleSheet("color: palette(placeholder-text);")
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(200)
        self.bar.setTextVisible(False)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.toggled.connect(self._pause)
        self.clock = ScanClock()
        self.last = None
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
        self.clock = ScanClock()
        self.clock.start()
        self.last: ScanProgress | None = None
        self.pause_button.setChecked(False)
        self.pause_button.setEnabled(True)
        self.cancel_button.setEnabled(True)
        self.bar.setRange(0, 0)
        self.label.setText("Starting scan…")
        self.current.clear()
        self.setVisible(True)

    def show_progress(self, p: ScanProgress) -> None:
        self.last = p
        if p.phase is Phase.SCANNING and p.total:
            self.bar.setRange(0, p.total)
            self.bar.setValue(p.done)
        else:
            self.bar.setRange(0, 0)
        paused = self.pause_button.isChecked()
        rate, eta = (None, None) if paused else self.clock.rate_eta(p)
        self.label.setText(describe(p, rate, eta, paused))
        name = words.file_name(p.current) if p.current else ""
        self.current.setText(self.current.fontMetrics().elidedText(
            name, Qt.TextElideMode.ElideMiddle, 250))
        self.current.setToolTip(words.shown_path(p.current) if p.current else "")

    def _pause(self, paused: bool) -> None:
        self.session.pause_scan(paused)
        (self.clock.stop if paused else self.clock.start)()
        self.pause_button.setText("Resume" if paused else "Pause")
        if self.last is not None:
            self.show_progress(self.last)

    def _cancel(self) -> None:
        self.session.cancel_scan()
        self.label.setText("Cancelling…")
        self.cancel_button.setEnabled(False)
        self.pause_button.setEnabled(False)

    def _finished(self, last: ScanProgress | None) -> None:
        self.setVisible(False)
        if last is not None:
            self.window().statusBar().showMessage(describe(last), 15000)
