"""Small table models for the folders view: folders and the files a scan could not read."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from ..library import FolderRecord
from . import words
from .roles import RecordRole

Index = QModelIndex | QPersistentModelIndex
Column = tuple[str, Callable[[Any], Any]]


class RecordTableModel(QAbstractTableModel):
    """Rows of frozen records, one column per (title, getter)."""

    def __init__(self, columns: list[Column], parent=None) -> None:
        super().__init__(parent)
        self.columns = columns
        self.rows: list = []

    def set_rows(self, rows: list) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        record = self.rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return str(self.columns[index.column()][1](record))
        if role == RecordRole:
            return record
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal \
                and 0 <= section < len(self.columns):
            return self.columns[section][0]
        return None


def _when(t: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(t)) if t else "never"


def _day(t: float | None) -> str:
    return time.strftime("%d %b %Y", time.localtime(t)).lstrip("0") if t else ""


def folder_state(f: FolderRecord, scanning: bool = False) -> str:
    """One line on what the folder needs: offline, an interrupted scan (or the one running
    now: `scanning`), missing photos, photos waiting for re-analysis, a scan error; else
    "Up to date"."""
    notes = []
    if f.offline:
        notes.append(f"Offline since {_day(f.offline_since)}: "
                     f"{words.plural(f.photo_count or f.offline_count, 'photo')} kept")
    elif f.offline_count:
        notes.append(f"{words.plural(f.offline_count, 'photo')} offline (kept)")
    if f.scan_incomplete and not f.offline:  # an offline folder cannot be scanned anyway
        seen = f.scanned_count
        total = f" of {f.listed_files}" if f.listed_files is not None else ""
        notes.append(f"Scanning: {seen}{total} so far" if scanning
                     else f"Scanned {seen}{total}: rescan to resume")
    if f.missing_count:
        notes.append(f"{words.plural(f.missing_count, 'photo')} missing")
    if f.pending_count and not f.scan_incomplete:
        notes.append(f"{words.plural(f.pending_count, 'photo')} to re-analyse")
    if f.error_count:
        notes.append(f"{words.plural(f.error_count, 'file')} could not be read")
    if f.scan_error:
        notes.append(f.scan_error)
    return "; ".join(notes) or ("Up to date" if f.last_scan_at else "Not scanned yet")


def _last_scan(f: FolderRecord, scanning: bool = False) -> str:
    if f.scan_incomplete and not f.offline:
        return "scanning now" if scanning else f"interrupted {_when(f.scan_started_at)}"
    return _when(f.last_scan_at)


def folder_table_model(parent=None, scanning: Callable[[int], bool] = lambda _id: False
                       ) -> RecordTableModel:
    """`scanning(folder_id)`: whether the window's running scan covers that folder (its
    unfinished state is then this scan's progress, not an interrupted one)."""
    columns: list[Column] = [
        ("Folder", lambda f: words.shown_path(f.path)),
        # Videos apart, in the same column: "12 + 3 videos".
        ("Photos", lambda f: f"{f.photo_count} + {words.plural(f.video_count, 'video')}"
         if f.video_count else f.photo_count),
        ("Faces", lambda f: f.face_count),
        ("Errors", lambda f: f.error_count),
        ("Last scan", lambda f: _last_scan(f, scanning(f.id))),
        ("State", lambda f: folder_state(f, scanning(f.id))),
    ]
    return RecordTableModel(columns, parent)


def error_table_model(parent=None) -> RecordTableModel:
    columns: list[Column] = [("File", lambda p: words.shown_path(p.path)),
                             ("Reason", lambda p: p.error or "")]
    return RecordTableModel(columns, parent)
