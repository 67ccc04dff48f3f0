"""Simple grids: "Unknown faces" (faces in no group) and "All photos"."""
from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPoint, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ..library import Library
from .face_actions import FaceActions
from .models import FaceItem, FaceListModel, PhotoListModel
from .page import Page
from .roles import PhotoPathRole, RecordRole
from .session import LibrarySession
from .thumbnails import ThumbnailProvider
from .tile_view import TileGridView

_UNKNOWN_LIMIT = 20000  # more would not be browsable anyway; the count says how many


def load_unknown(library: Library) -> tuple[list[FaceItem], int]:
    faces = library.faces(unassigned=True, limit=_UNKNOWN_LIMIT)
    total = library.counts()["unassigned_faces"]
    return [FaceItem.from_record(f) for f in faces], total


class FaceGridMixin:
    """What every page showing a grid of faces (`view`, `actions`) does the same way."""

    def selected(self) -> list[FaceItem]:
        return [i.data(RecordRole) for i in self.view.selected_rows()]

    def _menu(self, index: QModelIndex, pos: QPoint) -> None:
        if index.isValid():
            self.actions.popup(self.selected(), pos)

    def _open(self, index: QModelIndex) -> None:
        face: FaceItem = index.data(RecordRole)
        self.actions.navigator.show_photo(face.photo_path, face.face_id)


class UnknownFacesPage(FaceGridMixin, Page):
    title = "Unknown faces"

    def __init__(self, session: LibrarySession, thumbnails: ThumbnailProvider,
                 actions: FaceActions, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.actions = actions
        self.model = FaceListModel(thumbnails, self)
        self.view = TileGridView(112)
        self.view.setModel(self.model)
        self.view.contextRequested.connect(self._menu)
        self.view.doubleClicked.connect(self._open)
        self.view.selectionModel().selectionChanged.connect(lambda *_: self._update())
        self.info = QLabel(wordWrap=True)
        self.assign_button = QPushButton("This is…")
        self.assign_button.clicked.connect(
            lambda: self.actions.assign([f.face_id for f in self.selected()]))
        self.find_button = QPushButton("Find this face")
        self.find_button.clicked.connect(
            lambda: self.actions.navigator.show_face_search(self.selected()[0].face_id))
        bar = QHBoxLayout()
        bar.addWidget(self.info, 1)
        bar.addWidget(self.find_button)
        bar.addWidget(self.assign_button)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        self._update()

    def reload(self) -> None:
        super().reload()
        self.load(load_unknown, self._apply)

    def _apply(self, answer: tuple[list[FaceItem], int]) -> None:
        faces, total = answer
        self.model.set_rows(faces)
        if total:
            self.info.setText(f"{total} faces are in no group yet (seen once or twice, or "
                              "unsure). Select some and say who they are.")
        else:
            self.info.setText("Every face belongs to a person.")

    def _update(self) -> None:
        n = len(self.selected())
        self.assign_button.setEnabled(n > 0)
        self.find_button.setEnabled(n == 1)


class PhotosPage(Page):
    title = "All photos"
    photoActivated = Signal(str)

    def __init__(self, session: LibrarySession, thumbnails: ThumbnailProvider,
                 parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.model = PhotoListModel(thumbnails, self)
        self.view = TileGridView(150, round_picture=False)
        self.view.setModel(self.model)
        self.view.activated.connect(self._open)
        self.view.doubleClicked.connect(self._open)
        self.info = QLabel()
        layout = QVBoxLayout(self)
        layout.addWidget(self.info)
        layout.addWidget(self.view, 1)

    def reload(self) -> None:
        super().reload()
        self.load(lambda library: library.photos(status="done"), self._apply)

    def _apply(self, photos: list) -> None:
        self.model.set_rows(photos)
        self.info.setText(f"{len(photos)} photos. Double-click one to see its faces."
                          if photos else "No photos yet: add a folder under Folders.")

    def _open(self, index: QModelIndex) -> None:
        if index.isValid():
            self.photoActivated.emit(index.data(PhotoPathRole))

