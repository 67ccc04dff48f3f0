"""The photo viewer: a photo with its face boxes and names, to walk through a list of photos.

Left / Right step through the list the viewer was opened from (all photos, a person's faces,
search results); Esc, Backspace or Alt+Left go back; the wheel, + / - and 0 zoom. Click a box
to say who it is; drag on the photo to add a face the detector missed (see photo_canvas.py).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices, QImage, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..library import Library, PhotoRecord
from . import words
from .face_actions import FaceAction, FaceActions
from .models import FaceItem, face_items
from .page import Page
from .photo_canvas import Box, PhotoCanvas
from .session import LibrarySession
from .thumbnails import fit_within, to_qimage
from .widgets import ElidedLabel

_VIEW_SIDE = 2048
Stop = tuple[str, int | None]  # a photo path, and the face to highlight in it


@dataclass(frozen=True)
class LoadedPhoto:
    path: str
    image: QImage  # made on the read thread; turned into a QPixmap on the GUI thread
    scale: float  # original pixels per image pixel
    faces: list[FaceItem]
    record: PhotoRecord | None = None
    error: str | None = None
    also: tuple[str, ...] = ()  # the shot's other files (its RAW or JPEG, a Live Photo's MOV)
    frame_ms: float | None = None  # a video: the time of the frame shown (None: a photo)


def video_frame(record: PhotoRecord, faces: list, face_id: int | None) -> float:
    """Which frame of a video to show: that of the face asked for, else of its clearest
    face, else its middle."""
    chosen = next((f for f in faces if f.id == face_id), None) or \
        max(faces, key=lambda f: (f.quality, f.box[2] * f.box[3]), default=None)
    return chosen.frame_ms if chosen is not None else (record.duration_ms or 0.0) / 2


def load_photo(library: Library, path: str, face_id: int | None = None) -> LoadedPhoto:
    from ..engine import ImageError, load_still  # noqa: PLC0415
    from ..library.interop.pairs import companions  # noqa: PLC0415 - a folder listing, off the GUI
    record = library.photo_by_path(path)
    records = library.faces(photo_id=record.id) if record else []
    frame = None
    if record is not None and record.is_video:  # one frame: the faces seen in it
        frame = video_frame(record, [f for f in records if not f.ignored], face_id)
        records = [f for f in records if f.frame_ms == frame]
    faces = face_items(library, records)
    also = tuple(f"also {words.file_name(c.path)} ({c.kind})" for c in companions(path))
    try:
        loaded = load_still(path, frame)
    except ImageError as exc:
        reason = str(exc)
        if record is not None and record.offline:
            reason = ("This photo is offline: its drive or folder cannot be read now. "
                      "Its faces and names are kept.")
        elif record is not None and record.missing:
            reason = "This photo is no longer in its folder (moved or deleted)."
        return LoadedPhoto(path, QImage(), 1.0, faces, record, reason, also, frame)
    pixels = fit_within(loaded.pixels, _VIEW_SIDE)
    scale = loaded.scale * loaded.pixels.shape[1] / pixels.shape[1]
    return LoadedPhoto(path, to_qimage(pixels), scale, faces, record, also=also,
                       frame_ms=frame)


class PhotoViewerPage(Page):
    photoShown = Signal(str)  # the path now shown (tests and the window follow it)

    def __init__(self, session: LibrarySession, actions: FaceActions,
                 parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.actions = actions
        self.path: str | None = None
        self.focus_face: int | None = None
        self.photo: LoadedPhoto | None = None
        self.stops: list[Stop] = []  # the list being walked through
        self.position = 0
        back = QToolButton(text="‹ Back", autoRaise=True)
        back.setToolTip("Back (Esc)")
        back.clicked.connect(self.leave)
        self.prev_button = QToolButton(text="◀")
        self.prev_button.setToolTip("Previous photo (Left arrow)")
        self.prev_button.clicked.connect(lambda: self.step(-1))
        self.next_button = QToolButton(text="▶")
        self.next_button.setToolTip("Next photo (Right arrow)")
        self.next_button.clicked.connect(lambda: self.step(1))
        self.title_label = ElidedLabel()
        font = self.title_label.font()
        font.setBold(True)
        self.title_label.setFont(font)
        self.info_label = ElidedLabel()
        self.info_label.setStyleSheet("color: palette(placeholder-text);")
        zoom_out = QToolButton(text="−")
        zoom_out.setToolTip("Zoom out (-)")
        fit = QToolButton(text="Fit")
        fit.setToolTip("Fit the photo to the window (0)")
        zoom_in = QToolButton(text="+")
        zoom_in.setToolTip("Zoom in (+, or the mouse wheel)")
        self.open_button = QPushButton("Open in viewer")
        self.open_button.clicked.connect(self.open_external)
        self.folder_button = QPushButton("Show in folder")
        self.folder_button.clicked.connect(self.open_folder)
        head = QHBoxLayout()
        for w in (back, self.prev_button, self.next_button):
            head.addWidget(w)
        titles = QVBoxLayout()
        titles.setSpacing(0)
        titles.addWidget(self.title_label)
        titles.addWidget(self.info_label)
        head.addLayout(titles, 1)
        for w in (zoom_out, fit, zoom_in, self.open_button, self.folder_button):
            head.addWidget(w)
        self.canvas = PhotoCanvas()
        zoom_out.clicked.connect(lambda: self.canvas.zoom_by(1 / 1.25))
        zoom_in.clicked.connect(lambda: self.canvas.zoom_by(1.25))
        fit.clicked.connect(self.canvas.fit)
        self.canvas.faceClicked.connect(
            lambda face, pos: self.actions.popup([face], pos, without={FaceAction.OPEN_PHOTO}))
        self.canvas.faceDrawn.connect(self.add_face)
        self.canvas.faceAdjusted.connect(self.adjust_face)
        self.hint = QLabel(wordWrap=True)
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.hint)
        self._shortcuts()

    def _shortcuts(self) -> None:
        keys = {"Left": lambda: self.step(-1), "Right": lambda: self.step(1),
                "Escape": self.leave, "Backspace": self.leave, "Alt+Left": self.leave,
                "+": lambda: self.canvas.zoom_by(1.25), "=": lambda: self.canvas.zoom_by(1.25),
                "-": lambda: self.canvas.zoom_by(1 / 1.25), "0": self.canvas.fit}
        for key, slot in keys.items():
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(shortcut.context().WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)

    # -- which photo ---------------------------------------------------------------------
    def show_photo(self, path: str, face_id: int | None = None,
                   stops: list[Stop] | None = None) -> None:
        """Show a photo; `stops` is the list Left / Right walk through (this one in it)."""
        if stops:
            self.stops = list(stops)
            self.position = next((i for i, (p, f) in enumerate(self.stops)
                                  if p == path and (face_id is None or f == face_id)),
                                 next((i for i, (p, _f) in enumerate(self.stops) if p == path),
                                      0))
        elif not self.stops or self.stops[self.position][0] != path:
            self.stops, self.position = [(path, face_id)], 0
        self.path = path
        self.focus_face = face_id
        self.photo = None
        self.title_label.setText(words.file_name(path))
        self.info_label.setText(words.folder_of(path))
        self.hint.setText("Loading…")
        self._update_steps()
        self.reload()
        self.canvas.setFocus()

    def step(self, delta: int) -> None:
        target = self.position + delta
        if 0 <= target < len(self.stops):
            self.position = target
            path, face = self.stops[target]
            self.show_photo(path, face)

    def _update_steps(self) -> None:
        n = len(self.stops)
        self.prev_button.setEnabled(self.position > 0)
        self.next_button.setEnabled(self.position < n - 1)
        self.prev_button.setVisible(n > 1)
        self.next_button.setVisible(n > 1)

    def leave(self) -> None:
        if self.canvas.rubber is not None:  # Esc while drawing a box cancels the box
            self.canvas.rubber, self.canvas._drag = None, None
            self.canvas.update()
            return
        self.window().go_back()

    def reload(self) -> None:
        super().reload()
        if self.path is not None:
            path, face = self.path, self.focus_face
            self.load(lambda library: load_photo(library, path, face), self._apply)

    def _apply(self, photo: LoadedPhoto) -> None:
        same = self.photo is not None and self.photo.path == photo.path
        self.photo = photo
        pixmap = QPixmap.fromImage(photo.image) if not photo.image.isNull() else QPixmap()
        # A reload of the same photo (after naming a face) keeps the user's zoom and pan.
        self.canvas.set_photo(pixmap, photo.scale, photo.faces, self.focus_face,
                              keep_view=same)
        record = photo.record
        info = [words.folder_of(photo.path), *photo.also]
        video = photo.frame_ms is not None
        self.open_button.setText("Play video" if video else "Open in viewer")
        self.open_button.setToolTip("Play the video in this computer's video player" if video
                                    else "Open the photo in this computer's photo viewer")
        if record is not None:
            info.insert(0, words.moment(record.taken_at, record.taken_at_source))
            if video:  # first: which frame this is
                length = f" of {words.clock(record.duration_ms)}" if record.duration_ms else ""
                info.insert(0, f"video, frame at {words.clock(photo.frame_ms)}{length}")
            if record.offline:
                info.insert(0, "offline")
        count = f"{self.position + 1} of {len(self.stops)}" if len(self.stops) > 1 else ""
        ages = "; ".join(f"{f.who}: {f.age}" for f in photo.faces if f.age)
        self.info_label.setText(" · ".join(t for t in [count, *info, ages] if t))
        n = len(photo.faces)
        self.hint.setText(photo.error or (
            f"{words.plural(n, 'face')}. Click a face to say who it is; drag on the photo "
            "to add one that was missed; wheel to zoom, Ctrl+drag to move."
            if n else "No faces found in this photo. Drag a box around a face to add it.")
            if not video else f"{words.plural(n, 'face')} in this frame. Play video opens it "
            "in your video player; drag on the frame to add a face that was missed.")
        self.photoShown.emit(photo.path)

    # -- outside the app -----------------------------------------------------------------
    def open_external(self) -> None:
        if self.path:
            video = self.photo is not None and self.photo.frame_ms is not None
            self._open_url(self.path, "play this video" if video else "open this photo")

    def open_folder(self) -> None:
        if self.path:
            self._open_url(os.path.dirname(self.path), "show its folder")

    def _open_url(self, path: str, what: str) -> bool:
        if not os.path.exists(path):
            self._report(f"Cannot {what}: {words.shown_path(path)} is not there now "
                         "(an unplugged drive, or it was moved).")
            return False
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(path)):
            self._report(f"Cannot {what}: no application on this computer is set up to open "
                         f"{words.shown_path(path)}.")
            return False
        return True

    def _report(self, text: str) -> None:
        self.session.message.emit(text)
        QMessageBox.warning(self, "Facefolio", text)

    # -- faces the user draws ------------------------------------------------------------
    def add_face(self, box: Box) -> None:
        record = self.photo.record if self.photo is not None else None
        if record is None:
            self._report("This photo is not in the library yet: scan its folder first.")
            return
        self.hint.setText("Adding the face…")
        self.actions.add_drawn_face(record.id, box, time_ms=self.photo.frame_ms)

    def adjust_face(self, face: FaceItem, box: Box) -> None:
        self.hint.setText("Moving the face box…")
        self.actions.adjust_face(face, box)
