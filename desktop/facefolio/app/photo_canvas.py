"""`PhotoCanvas`: a photo with its face boxes; zoom, pan, and drawing a face box.

Coordinates: the pixmap is the photo reduced for the screen; `scale` turns pixmap pixels into
original-image pixels (what face boxes are stored in). The view maps pixmap pixels to widget
pixels with a zoom factor `k` and an origin; zoom 1.0 means "fit the window".

Mouse: a click on a box opens the face menu, a drag on its edge adjusts it, a drag anywhere
else draws a new face box; the wheel zooms at the cursor; a middle-button (or Ctrl+) drag
pans. Right-click on the photo offers "Add a face here".
"""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QContextMenuEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
    QWheelEvent,
)
from PySide6.QtWidgets import QMenu, QWidget

from .models import FaceItem
from .widgets import latest

Box = tuple[float, float, float, float]
_MIN_ZOOM, _MAX_ZOOM = 1.0, 16.0
_EDGE = 6.0  # widget pixels around a box border that grab the edge for adjusting
_MIN_DRAG = 10.0  # a shorter drag is a click, not a box


class PhotoCanvas(QWidget):
    faceClicked = Signal(object, object)  # FaceItem, global QPoint
    faceDrawn = Signal(object)  # Box in original pixels, clipped to the photo
    faceAdjusted = Signal(object, object)  # FaceItem, its new Box

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pixmap = QPixmap()
        self.scale = 1.0
        self.faces: list[FaceItem] = []
        self.focus_face: int | None = None
        self.hover: int | None = None
        self.zoom = 1.0
        self.centre = QPointF()  # the pixmap point shown at the widget's centre
        self._drag: tuple[str, QPointF, object] | None = None  # (kind, start, data)
        self.rubber: QRectF | None = None  # the box being drawn or adjusted (widget px)
        self.last_menu: QMenu | None = None  # tests reach the open menu through this
        self._reduced_cache: tuple[tuple[int, int], QPixmap] | None = None
        self.setMouseTracking(True)
        self.setMinimumSize(240, 180)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    # -- content -------------------------------------------------------------------------
    def set_photo(self, pixmap: QPixmap, scale: float, faces: list[FaceItem],
                  focus_face: int | None, keep_view: bool = False) -> None:
        self.pixmap = pixmap
        self._reduced_cache = None
        self.scale = scale
        self.faces = faces
        self.focus_face = focus_face
        self._drag, self.rubber = None, None
        if not keep_view:
            self.fit()
        self.update()

    def _reduced(self, k: float) -> QPixmap:
        size = (round(self.pixmap.width() * k), round(self.pixmap.height() * k))
        if self._reduced_cache is None or self._reduced_cache[0] != size:
            self._reduced_cache = (size, self.pixmap.scaled(
                *size, Qt.AspectRatioMode.IgnoreAspectRatio,
                Qt.TransformationMode.SmoothTransformation))
        return self._reduced_cache[1]

    @property
    def photo_size(self) -> tuple[float, float]:
        """Width and height in original-image pixels."""
        return self.pixmap.width() * self.scale, self.pixmap.height() * self.scale

    # -- the view ------------------------------------------------------------------------
    def fit(self) -> None:
        self.zoom = 1.0
        self.centre = QPointF(self.pixmap.width() / 2, self.pixmap.height() / 2)
        self.update()

    def _fit_k(self) -> float:
        if self.pixmap.isNull():
            return 1.0
        return min(self.width() / self.pixmap.width(), self.height() / self.pixmap.height())

    def view(self) -> tuple[QPointF, float]:
        """(widget position of pixmap point 0,0; widget pixels per pixmap pixel)."""
        k = self._fit_k() * self.zoom
        self._clamp_centre(k)
        origin = QPointF(self.width() / 2 - self.centre.x() * k,
                         self.height() / 2 - self.centre.y() * k)
        return origin, k

    def _clamp_centre(self, k: float) -> None:
        # Never pan past the photo's edge; a photo smaller than the widget stays centred.
        half_w, half_h = self.width() / 2 / k, self.height() / 2 / k
        pw, ph = self.pixmap.width(), self.pixmap.height()
        x = pw / 2 if half_w * 2 >= pw else min(max(self.centre.x(), half_w), pw - half_w)
        y = ph / 2 if half_h * 2 >= ph else min(max(self.centre.y(), half_h), ph - half_h)
        self.centre = QPointF(x, y)

    def photo_rect(self) -> QRectF:
        origin, k = self.view()
        return QRectF(origin.x(), origin.y(), self.pixmap.width() * k, self.pixmap.height() * k)

    def to_widget(self, box: Box) -> QRectF:
        origin, k = self.view()
        x, y, w, h = (v / self.scale * k for v in box)
        return QRectF(origin.x() + x, origin.y() + y, w, h)

    def to_photo(self, rect: QRectF) -> Box:
        """A widget rectangle as a box in original pixels, clipped to the photo."""
        origin, k = self.view()
        clipped = rect.normalized().intersected(self.photo_rect())
        f = self.scale / k
        return ((clipped.x() - origin.x()) * f, (clipped.y() - origin.y()) * f,
                clipped.width() * f, clipped.height() * f)

    def to_photo_point(self, pos: QPointF) -> QPointF:
        """A widget point in original-image pixels."""
        origin, k = self.view()
        return (pos - origin) / k * self.scale

    def face_rect(self, face: FaceItem) -> QRectF:
        """The face's box on screen, clipped to the photo (a box may overhang the image)."""
        return self.to_widget(face.box).intersected(self.photo_rect())

    def zoom_by(self, factor: float, at: QPointF | None = None) -> None:
        """Zoom keeping the photo point under `at` (default: the centre) where it is."""
        if self.pixmap.isNull():
            return
        at = at if at is not None else QPointF(self.width() / 2, self.height() / 2)
        origin, k = self.view()
        anchor = (at - origin) / k  # pixmap point under the cursor
        self.zoom = min(max(self.zoom * factor, _MIN_ZOOM), _MAX_ZOOM)
        k2 = self._fit_k() * self.zoom
        self.centre = anchor + (QPointF(self.width() / 2, self.height() / 2) - at) / k2
        self.update()

    def pan_by(self, dx: float, dy: float) -> None:
        _origin, k = self.view()
        self.centre -= QPointF(dx / k, dy / k)
        self.update()

    # -- hit testing ---------------------------------------------------------------------
    def face_at(self, pos: QPointF) -> FaceItem | None:
        for face in self.faces:
            if self.face_rect(face).adjusted(-4, -4, 4, 4).contains(pos):
                return face
        return None

    def edge_at(self, pos: QPointF) -> tuple[FaceItem, str] | None:
        """A face whose border is under the cursor, and which edges ('l', 't', 'lt'...)."""
        for face in self.faces:
            r = self.face_rect(face)
            if not r.adjusted(-_EDGE, -_EDGE, _EDGE, _EDGE).contains(pos):
                continue
            edges = "".join(e for e, near in (("l", abs(pos.x() - r.left()) <= _EDGE),
                                               ("r", abs(pos.x() - r.right()) <= _EDGE),
                                               ("t", abs(pos.y() - r.top()) <= _EDGE),
                                               ("b", abs(pos.y() - r.bottom()) <= _EDGE))
                            if near)
            if edges:
                return face, edges
        return None

    # -- painting ------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        if self.pixmap.isNull():
            return
        target = self.photo_rect()
        _origin, k = self.view()
        if k < 1:
            # Reduced once per size, not smoothly rescaled on every paint (a repaint per
            # hover would cost tens of ms of GUI time on a big photo).
            painter.drawPixmap(target.topLeft(), self._reduced(k))
        else:
            painter.drawPixmap(target, self.pixmap, QRectF(self.pixmap.rect()))
        painter.setClipRect(target)  # nothing drawn past the photo's edges
        fm = painter.fontMetrics()
        rects = [self.face_rect(face) for face in self.faces]
        texts = [face_label(face) for face in self.faces]
        th = fm.height() + 4
        # 12 px of padding, elided to 10: a text exactly as wide as its room is not cut.
        tags = place_labels(rects, [fm.horizontalAdvance(t) + 12 for t in texts], th, target,
                            fm.horizontalAdvance("Who is…") + 12)
        on_top = None
        for face, rect, text, tag in zip(self.faces, rects, texts, tags):
            if rect.isEmpty():
                continue
            strong = face.face_id in (self.hover, self.focus_face)
            color = QColor("#ffd54a") if face.person_name else QColor("#ffffff")
            painter.setPen(QPen(color, 3 if strong else 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(rect, 4, 4)
            if face.face_id == self.hover:
                on_top = (rect, text, tag, color)  # whole, over the others, last
            elif tag is not None:
                _draw_tag(painter, tag, fm.elidedText(text, Qt.TextElideMode.ElideRight,
                                                      int(tag.width()) - 10), color)
        if on_top is not None:
            rect, text, tag, color = on_top
            width = fm.horizontalAdvance(text) + 12
            y = tag.y() if tag is not None else rect.bottom() + 3
            x = min(max(rect.center().x() - width / 2, target.left()), target.right() - width)
            _draw_tag(painter, QRectF(x, min(y, target.bottom() - th), width, th), text, color)
        if self.rubber is not None:
            painter.setPen(QPen(QColor("#4aa3ff"), 2, Qt.PenStyle.DashLine))
            painter.setBrush(QColor(74, 163, 255, 40))
            painter.drawRect(self.rubber.normalized().intersected(target))

    # -- mouse ---------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        pan = event.button() == Qt.MouseButton.MiddleButton or (
            event.button() == Qt.MouseButton.LeftButton
            and event.modifiers() & Qt.KeyboardModifier.ControlModifier)
        if pan:
            self._drag = ("pan", pos, pos)
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        if event.button() != Qt.MouseButton.LeftButton or self.pixmap.isNull():
            return
        edge = self.edge_at(pos)
        if edge is not None:
            self._drag = ("adjust", pos, edge)
            self.rubber = self.face_rect(edge[0])
        elif self.face_at(pos) is not None:
            self._drag = ("click", pos, self.face_at(pos))
        else:
            # A drag may start past the photo's edge (a face cut by the edge): the box is
            # clipped to the photo when the button is released.
            self._drag = ("draw", pos, None)
            self.rubber = QRectF(pos, pos)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        if self._drag is None:
            self._update_hover(pos)
            return
        kind, start, data = self._drag
        if kind == "pan":
            self.pan_by(pos.x() - data.x(), pos.y() - data.y())
            self._drag = ("pan", start, pos)
        elif kind == "draw" or (kind == "click" and _far(start, pos)):
            self._drag = ("draw", start, None)
            self.rubber = QRectF(start, pos)
            self.update()
        elif kind == "adjust":
            face, edges = data
            r = QRectF(self.face_rect(face))
            if "l" in edges:
                r.setLeft(pos.x())
            if "r" in edges:
                r.setRight(pos.x())
            if "t" in edges:
                r.setTop(pos.y())
            if "b" in edges:
                r.setBottom(pos.y())
            self.rubber = r
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        drag, self._drag = self._drag, None
        rubber, self.rubber = self.rubber, None
        self.unsetCursor()
        self.update()
        if drag is None:
            return
        kind, start, data = drag
        if kind == "click":
            self.faceClicked.emit(data, event.globalPosition().toPoint())
        elif kind in ("draw", "adjust") and rubber is not None:
            box = self.to_photo(rubber)
            on_screen = rubber.normalized().intersected(self.photo_rect())
            if min(on_screen.width(), on_screen.height()) < _MIN_DRAG:
                return  # a slip of the mouse, not a box
            if kind == "draw":
                self.faceDrawn.emit(box)
            else:
                self.faceAdjusted.emit(data[0], box)

    def _update_hover(self, pos: QPointF) -> None:
        face = self.face_at(pos)
        hover = face.face_id if face else None
        edge = self.edge_at(pos)
        if edge is not None:
            edges = edge[1]
            shape = (Qt.CursorShape.SizeFDiagCursor if edges in ("lt", "rb") else
                     Qt.CursorShape.SizeBDiagCursor if edges in ("rt", "lb") else
                     Qt.CursorShape.SizeHorCursor if edges in ("l", "r") else
                     Qt.CursorShape.SizeVerCursor)
        elif face is not None:
            shape = Qt.CursorShape.PointingHandCursor
        elif self.photo_rect().contains(pos):
            shape = Qt.CursorShape.CrossCursor
        else:
            shape = Qt.CursorShape.ArrowCursor
        self.setCursor(shape)
        if hover != self.hover:
            self.hover = hover
            self.update()

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        if steps:
            self.zoom_by(1.25 ** steps, event.position())
        event.accept()

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        pos = QPointF(event.pos())
        face = self.face_at(pos)
        if face is not None:
            self.faceClicked.emit(face, event.globalPos())
            return
        if not self.photo_rect().contains(pos):
            return
        menu = QMenu(self)
        menu.addAction("Add a face here").triggered.connect(lambda: self.add_face_at(pos))
        self.last_menu = latest(self.last_menu, menu)
        menu.popup(event.globalPos())

    def add_face_at(self, pos: QPointF) -> None:
        """A face box centred on `pos`, as big as the photo's faces (or a tenth of it)."""
        sides = sorted(min(f.box[2], f.box[3]) for f in self.faces)
        w, h = self.photo_size
        side = sides[len(sides) // 2] if sides else min(w, h) / 10
        origin, k = self.view()
        cx = (pos.x() - origin.x()) / k * self.scale
        cy = (pos.y() - origin.y()) / k * self.scale
        x = min(max(cx - side / 2, 0), max(w - side, 0))
        y = min(max(cy - side / 2, 0), max(h - side, 0))
        self.faceDrawn.emit((x, y, min(side, w), min(side, h)))


def _far(a: QPointF, b: QPointF) -> bool:
    return abs(a.x() - b.x()) + abs(a.y() - b.y()) >= _MIN_DRAG



def face_label(face: FaceItem) -> str:
    return face.person_name or ("Unnamed" if face.person_id else "Who is this?")


def place_labels(boxes: list[QRectF], widths: list[float], height: float, bounds: QRectF,
                 min_width: float) -> list[QRectF | None]:
    """Where each face's name tag goes so that no two tags overlap, even on a group photo
    at Fit zoom: centred under its box, else above it, else inside its bottom edge; as wide
    as its text where that is free, else as its box (the text is then shortened with "…")
    but never narrower than `min_width`; inside `bounds`. Bigger faces are placed first.
    None: no free place (the name shows when the pointer is on the face)."""
    out: list[QRectF | None] = [None] * len(boxes)
    placed: list[QRectF] = []
    for i in sorted(range(len(boxes)), key=lambda i: -boxes[i].width() * boxes[i].height()):
        box = boxes[i]
        if box.isEmpty():
            continue
        whole = min(widths[i], bounds.width())
        short = min(whole, max(box.width() + 12, min_width))
        spots = [(y, w) for w in dict.fromkeys((whole, short))
                 for y in (box.bottom() + 3, box.top() - height - 3, box.bottom() - height - 2)]
        for y, width in spots:
            x = min(max(box.center().x() - width / 2, bounds.left()), bounds.right() - width)
            tag = QRectF(x, y, width, height)
            if tag.top() < bounds.top() or tag.bottom() > bounds.bottom():
                continue
            if any(tag.intersects(other) for other in placed):
                continue
            placed.append(tag)
            out[i] = tag
            break
    return out


def _draw_tag(painter: QPainter, tag: QRectF, text: str, color: QColor) -> None:
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(0, 0, 0, 170))
    painter.drawRoundedRect(tag, 4, 4)
    painter.setPen(color)
    painter.drawText(tag, Qt.AlignmentFlag.AlignCenter, text)
