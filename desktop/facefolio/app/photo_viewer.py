"""The photo viewer: a photo with its face boxes and names; click a box to say who it is."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, Qt, QUrl, Signal
from PySide6.QtGui import (
    QColor,
    QDesktopServices,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QToolButton, QVBoxLayout, QWidget

from ..library import Library
from .face_actions import FaceActions
from .models import FaceItem
from .page import Page
from .session import LibrarySession
from .thumbnails import fit_within, to_qimage

_VIEW_SIDE = 2048


@dataclass(frozen=True)
class LoadedPhoto:
    path: str
    image: QImage  # made on the read thread; turned into a QPixmap on the GUI thread
    scale: float  # original pixels per image pixel
    faces: list[FaceItem]
    error: str | None = None


def load_photo(library: Library, path: str) -> LoadedPhoto:
    from ..engine import ImageError, load_image  # noqa: PLC0415
    record = library.photo_by_path(path)
    faces = [FaceItem.from_record(f) for f in library.faces(photo_id=record.id)] \
        if record else []
    try:
        loaded = load_image(path)
    except ImageError as exc:
        return LoadedPhoto(path, QImage(), 1.0, faces, str(exc))
    pixels = fit_within(loaded.pixels, _VIEW_SIDE)
    scale = loaded.scale * loaded.pixels.shape[1] / pixels.shape[1]
    return LoadedPhoto(path, to_qimage(pixels), scale, faces)


class PhotoCanvas(QWidget):
    """Draws the photo fitted to the widget, with a labelled box per face."""

    faceClicked = Signal(object, object)  # FaceItem, global QPoint

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pixmap = QPixmap()
        self.scale = 1.0
        self.faces: list[FaceItem] = []
        self.focus_face: int | None = None
        self.hover: int | None = None
        self.setMouseTracking(True)
        self.setMinimumSize(320, 240)

    def set_photo(self, photo: LoadedPhoto, focus_face: int | None) -> None:
        self.pixmap = QPixmap.fromImage(photo.image) if not photo.image.isNull() else QPixmap()
        self.scale = photo.scale
        self.faces = photo.faces
        self.focus_face = focus_face
        self.update()

    def _fit(self) -> tuple[QRectF, float]:
        if self.pixmap.isNull():
            return QRectF(), 1.0
        k = min(self.width() / self.pixmap.width(), self.height() / self.pixmap.height())
        w, h = self.pixmap.width() * k, self.pixmap.height() * k
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h), k

    def face_rect(self, face: FaceItem) -> QRectF:
        target, k = self._fit()
        x, y, w, h = (v / self.scale * k for v in face.box)
        return QRectF(target.x() + x, target.y() + y, w, h)

    def face_at(self, pos: QPointF) -> FaceItem | None:
        for face in self.faces:
            if self.face_rect(face).adjusted(-4, -4, 4, 4).contains(pos):
                return face
        return None

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        target, _k = self._fit()
        if self.pixmap.isNull():
            return
        painter.drawPixmap(target, self.pixmap, QRectF(self.pixmap.rect()))
        fm = painter.fontMetrics()
        for face in self.faces:
            rect = self.face_rect(face)
            strong = face.face_id in (self.hover, self.focus_face)
            color = QColor("#ffd54a") if face.person_name else QColor("#ffffff")
            painter.setPen(QPen(color, 3 if strong else 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(rect, 4, 4)
            label = face.person_name or ("Unnamed" if face.person_id else "Who is this?")
            tw = fm.horizontalAdvance(label) + 10
            tag = QRectF(rect.x(), rect.bottom() + 3, tw, fm.height() + 4)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(0, 0, 0, 170))
            painter.drawRoundedRect(tag, 4, 4)
            painter.setPen(color)
            painter.drawText(tag, Qt.AlignmentFlag.AlignCenter, label)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        face = self.face_at(event.position())
        hover = face.face_id if face else None
        if hover != self.hover:
            self.hover = hover
            self.setCursor(Qt.CursorShape.PointingHandCursor if face
                           else Qt.CursorShape.ArrowCursor)
            self.update()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        face = self.face_at(event.position())
        if face is not None:
            self.faceClicked.emit(face, event.globalPosition().toPoint())


class PhotoViewerPage(Page):
    def __init__(self, session: LibrarySession, actions: FaceActions,
                 parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.actions = actions
        self.path: str | None = None
        self.focus_face: int | None = None
        back = QToolButton(text="‹ Back", autoRaise=True)
        back.clicked.connect(lambda: self.window().go_back())
        self.title_label = QLabel()
        self.title_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        open_button = QPushButton("Open in viewer")
        open_button.clicked.connect(self.open_external)
        folder_button = QPushButton("Show in folder")
        folder_button.clicked.connect(self.open_folder)
        head = QHBoxLayout()
        head.addWidget(back)
        head.addWidget(self.title_label, 1)
        head.addWidget(open_button)
        head.addWidget(folder_button)
        self.canvas = PhotoCanvas()
        self.canvas.faceClicked.connect(
            lambda face, pos: self.actions.popup([face], pos, hide=("Open photo",)))
        self.hint = QLabel("Click a face to say who it is, or right-click for more.")
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.hint)

    def show_photo(self, path: str, face_id: int | None = None) -> None:
        self.path = path
        self.focus_face = face_id
        self.title_label.setText(path)
        self.reload()

    def reload(self) -> None:
        super().reload()
        if self.path is not None:
            path = self.path
            self.load(lambda library: load_photo(library, path), self._apply)

    def _apply(self, photo: LoadedPhoto) -> None:
        self.canvas.set_photo(photo, self.focus_face)
        n = len(photo.faces)
        self.hint.setText(photo.error or (
            f"{n} face{'s' if n != 1 else ''}. Click a face to say who it is."
            if n else "No faces found in this photo."))

    def open_external(self) -> None:
        if self.path:
            QDesktopServices.openUrl(QUrl.fromLocalFile(self.path))

    def open_folder(self) -> None:
        if self.path:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(self.path).parent)))
