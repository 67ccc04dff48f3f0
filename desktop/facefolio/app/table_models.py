"""Small table models for the folders view: folders and the files a scan could not read."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

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


def folder_table_model(parent=None) -> RecordTableModel:
    columns: list[Column] = [
        ("Folder", lambda f: f.path),
        ("Photos", lambda f: f.photo_count),
        ("Faces", lambda f: f.face_count),
        ("Errors", lambda f: f.error_count),
        ("Last scan", lambda f: _when(f.last_scan_at)),
        ("Note", lambda f: f.scan_error or ""),
    ]
    return RecordTableModel(columns, parent)


def error_table_model(parent=None) -> RecordTableModel:
    columns: list[Column] = [("File", lambda p: p.path), ("Reason", lambda p: p.error or "")]
    return RecordTableModel(columns, parent)

