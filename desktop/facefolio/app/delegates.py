"""`FaceTileDelegate`: a rounded face (or photo) picture with a title and a subtitle.

Every tile has the same size, so views can use uniformItemSizes and scroll 10,000 people
without asking the model for each row's size.
"""
from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    QPointF,
    QRect,
    QRectF,
    QSize,
    Qt,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QPainter,
    QPainterPath,
    QPalette,
    QPen,
    QPixmap,
    QPolygonF,
)
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from .roles import DimmedRole, SubtitleRole, VideoRole

Index = QModelIndex | QPersistentModelIndex
_SHAPED = 200  # shaped pictures kept per delegate (13 MB at 128 px): a few screens
_TILES_BYTES = 16 << 20  # whole tiles kept per delegate: about 140 at 150 x 190 px, a few
# screens; every grid has its own delegate, so the bound is per view


def play_badge(painter: QPainter, pic: QRect) -> None:
    """A video, or a face from one: a dark disc with a white triangle at the picture's
    lower right, where it hides the least of a face."""
    d = max(18, pic.width() // 4)
    disc = QRectF(pic.right() - d - 2, pic.bottom() - d - 2, d, d)
    painter.setPen(QPen(QColor(255, 255, 255, 230), 1.5))
    painter.setBrush(QColor(0, 0, 0, 170))
    painter.drawEllipse(disc)
    c, r = disc.center(), d * 0.22
    triangle = QPolygonF([QPointF(c.x() - r * 0.7, c.y() - r), QPointF(c.x() - r * 0.7, c.y() + r),
                          QPointF(c.x() + r, c.y())])
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(255, 255, 255))
    painter.drawPolygon(triangle)


class FaceTileDelegate(QStyledItemDelegate):
    def __init__(self, picture: int = 128, round_picture: bool = True, parent=None) -> None:
        super().__init__(parent)
        self.picture = picture
        self.round_picture = round_picture
        self.pad = 8
        self._cache: OrderedDict[int, QPixmap] = OrderedDict()
        self._tiles: OrderedDict[tuple, QPixmap] = OrderedDict()

    def _shaped(self, pixmap: QPixmap) -> QPixmap:
        """The thumbnail cut to the tile's shape at the tile's size (cached by pixmap)."""
        key = pixmap.cacheKey()
        shaped = self._cache.get(key)
        if shaped is not None:
            self._cache.move_to_end(key)
            return shaped
        side = self.picture
        scaled = pixmap.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatioByExpanding,
                               Qt.TransformationMode.SmoothTransformation)
        shaped = QPixmap(side, side)
        shaped.fill(Qt.GlobalColor.transparent)
        p = QPainter(shaped)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        path = QPainterPath()
        if self.round_picture:
            path.addEllipse(QRectF(0, 0, side, side))
        else:
            path.addRoundedRect(QRectF(0, 0, side, side), 8, 8)
        p.setClipPath(path)
        p.drawPixmap(0, 0, scaled, (scaled.width() - side) // 2,
                     (scaled.height() - side) // 2, side, side)
        p.end()
        self._cache[key] = shaped
        while len(self._cache) > _SHAPED:
            self._cache.popitem(last=False)
        return shaped

    def _fill_shape(self, painter: QPainter, pic: QRect, color: QColor) -> None:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        if self.round_picture:
            painter.drawEllipse(QRectF(pic))
        else:
            painter.drawRoundedRect(QRectF(pic), 8, 8)

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        line = option.fontMetrics.height()
        # At least 150 px wide, so names and file names are rarely cut.
        width = max(self.picture + 2 * self.pad, 150)
        return QSize(width, self.picture + 2 * self.pad + 2 * line + 6)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        """A tile drawn once per look (picture, texts, state, size), then blitted.

        Painting a tile from parts makes some forty calls into Qt; while a scan runs, other
        threads of this process hold the interpreter lock between them, so a grid repainted
        from parts kept the window waiting tens of milliseconds. A kept tile is one call."""
        rect: QRect = option.rect
        row = index.row()
        pixmap = index.data(Qt.ItemDataRole.DecorationRole)
        if not (isinstance(pixmap, QPixmap) and pixmap.width() > 1):
            pixmap = None  # a placeholder while the worker makes the picture
        state = option.state
        look = (pixmap.cacheKey() if pixmap is not None else None,
                str(index.data(Qt.ItemDataRole.DisplayRole) or ""),
                str(index.data(SubtitleRole) or ""),
                bool(index.data(DimmedRole)), bool(index.data(VideoRole)),
                bool(state & QStyle.StateFlag.State_Selected),
                bool(state & QStyle.StateFlag.State_MouseOver),
                getattr(option.widget, "drop_row", -1) == row and row >= 0,
                rect.width(), rect.height(),
                (option.palette.cacheKey(), option.palette.currentColorGroup()),
                option.font.key(), painter.device().devicePixelRatio())
        tile = self._tiles.get(look)
        if tile is None:
            tile = self._tile(look, pixmap, option)
        else:
            self._tiles.move_to_end(look)
        painter.drawPixmap(rect.topLeft(), tile)

    def _tile(self, look: tuple, pixmap: QPixmap | None, option: QStyleOptionViewItem
              ) -> QPixmap:
        _key, title, subtitle, dimmed, video, selected, hover, drop, w, h, _p, _f, dpr = look
        tile = QPixmap(round(w * dpr), round(h * dpr))
        tile.setDevicePixelRatio(dpr)
        tile.fill(Qt.GlobalColor.transparent)
        painter = QPainter(tile)
        self._draw(painter, QRect(0, 0, w, h), option, pixmap, title, subtitle, dimmed, video,
                   selected, hover, drop)
        painter.end()
        self._tiles[look] = tile
        keep = max(64, _TILES_BYTES // max(1, tile.width() * tile.height() * 4))
        while len(self._tiles) > keep:
            self._tiles.popitem(last=False)
        return tile

    def _draw(self, painter: QPainter, rect: QRect, option: QStyleOptionViewItem,
              pixmap: QPixmap | None, title: str, subtitle: str, dimmed: bool, video: bool,
              selected: bool, hover: bool, drop: bool) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        palette: QPalette = option.palette
        if selected or hover:
            color = palette.color(QPalette.ColorRole.Highlight)
            if not selected:
                color.setAlpha(50)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(color)
            painter.drawRoundedRect(QRectF(rect.adjusted(2, 2, -2, -2)), 10, 10)

        pic = QRect(rect.x() + (rect.width() - self.picture) // 2, rect.y() + self.pad,
                    self.picture, self.picture)
        if drop:
            # Dragging people over this one: show where they would merge.
            painter.setPen(QPen(palette.color(QPalette.ColorRole.Highlight), 4))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(QRectF(rect.adjusted(3, 3, -3, -3)), 10, 10)
        if pixmap is not None:
            # The round (or rounded) picture is made once per thumbnail: a clip path and a
            # smooth scale cost GUI time, and a thumbnail appears in several looks.
            painter.drawPixmap(pic.topLeft(), self._shaped(pixmap))
        else:  # a placeholder while the worker makes the picture
            self._fill_shape(painter, pic, palette.color(QPalette.ColorRole.Mid).lighter(130))
        if dimmed:
            # Offline or missing: kept and findable, but it cannot be opened right now.
            self._fill_shape(painter, pic, QColor(255, 255, 255, 140))
        if video:
            play_badge(painter, pic)

        text_color = palette.color(QPalette.ColorRole.HighlightedText if selected
                                   else QPalette.ColorRole.Text)
        fm = option.fontMetrics
        line = fm.height()
        text_rect = QRect(rect.x() + 4, pic.bottom() + 6, rect.width() - 8, line)
        font = QFont(option.font)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(text_color)
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignHCenter,
                         painter.fontMetrics().elidedText(title, Qt.TextElideMode.ElideMiddle,
                                                          text_rect.width()))
        painter.setFont(option.font)
        sub_color = QColor(text_color)
        sub_color.setAlpha(170)
        painter.setPen(sub_color)
        painter.drawText(text_rect.translated(0, line), Qt.AlignmentFlag.AlignHCenter,
                         fm.elidedText(subtitle, Qt.TextElideMode.ElideMiddle, text_rect.width()))
