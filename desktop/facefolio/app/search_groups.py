"""`SearchGroup`: the results for one query face, headed by that face, in a grid that grows
to its content (the page scrolls, not each group)."""
from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap, QResizeEvent
from PySide6.QtWidgets import QAbstractItemView, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from .models import FaceItem, FaceListModel, SimilarityFilterProxy
from .thumbnails import ThumbnailProvider
from .tile_view import TileGridView
from .widgets import ElidedLabel

_HEAD = 72


@dataclass(frozen=True)
class ResultGroup:
    """Matches of one query face: `head` is the query's own crop (outside photos) or None."""

    title: str
    results: list[FaceItem]
    head: QImage | None = None


class FitGridView(TileGridView):
    """A tile grid as tall as its rows: no scroll bar of its own."""

    def __init__(self, picture: int = 112, parent: QWidget | None = None) -> None:
        super().__init__(picture, parent=parent)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)

    def fit_height(self) -> None:
        model = self.model()
        n = model.rowCount() if model is not None else 0
        if n == 0:
            self.setFixedHeight(0)
            return
        tile = self.sizeHintForIndex(model.index(0, 0))
        cell_w = tile.width() + 2 * self.spacing()
        cell_h = tile.height() + 2 * self.spacing()
        per_row = max(1, (self.viewport().width() or self.width()) // max(1, cell_w))
        rows = math.ceil(n / per_row)
        self.setFixedHeight(rows * cell_h + 2 * self.frameWidth() + self.spacing())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.oldSize().width() != event.size().width():
            self.fit_height()


class SearchGroup(QWidget):
    def __init__(self, group: ResultGroup, thumbnails: ThumbnailProvider,
                 min_similarity: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.group = group
        self.model = FaceListModel(thumbnails, self)
        self.model.set_rows(group.results)
        self.proxy = SimilarityFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.set_min_similarity(min_similarity)
        self.view = FitGridView()
        self.view.setModel(self.proxy)
        self.head = QLabel()
        self.head.setFixedSize(_HEAD, _HEAD)
        self.head.setVisible(group.head is not None)
        if group.head is not None:
            self.head.setPixmap(QPixmap.fromImage(group.head).scaled(
                _HEAD, _HEAD, Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation))
        self.title = ElidedLabel(group.title)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.count = QLabel()
        self.count.setStyleSheet("color: palette(placeholder-text);")
        texts = QVBoxLayout()
        texts.addWidget(self.title)
        texts.addWidget(self.count)
        texts.addStretch(1)
        top = QHBoxLayout()
        top.addWidget(self.head)
        top.addLayout(texts, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 8)
        layout.addLayout(top)
        layout.addWidget(self.view)
        self._counted()

    def set_min_similarity(self, value: float) -> None:
        self.proxy.set_min_similarity(value)
        self._counted()

    def _counted(self) -> None:
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        if total == 0:
            self.count.setText("No similar face in the library.")
        else:
            matches = "match" if total == 1 else "matches"
            self.count.setText(f"{shown} of the {total} closest {matches} shown")
        self.view.fit_height()

    def selected(self) -> list[FaceItem]:
        from .roles import RecordRole  # noqa: PLC0415
        return [i.data(RecordRole) for i in self.view.selected_rows()]
