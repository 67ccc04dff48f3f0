"""Grids of faces: "Unknown faces" (faces in no group), and what every face grid shares."""
from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPoint
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ..library import Library
from . import words
from .face_actions import FaceActions
from .models import FaceItem, FaceListModel, face_items
from .page import Page
from .roles import RecordRole
from .session import LibrarySession, people_api
from .thumbnails import ThumbnailProvider
from .tile_view import TileGridView

_UNKNOWN_LIMIT = 20000  # more would not be browsable anyway; the count says how many


def load_unknown(library: Library, low_quality: bool = False
                 ) -> tuple[list[FaceItem], int, int]:
    """Faces in no person and not set aside, their count, and how many low-quality ones
    (tiny, blurred) the switch would add."""
    people = people_api(library)
    records = people.unknown_faces(include_low_quality=low_quality, limit=_UNKNOWN_LIMIT)
    hidden = 0 if low_quality else (people.count_unknown(include_low_quality=True)
                                    - people.count_unknown())
    items = face_items(library, records)
    truncated = len(records) >= _UNKNOWN_LIMIT
    total = library.counts()["unassigned_faces"] if truncated else len(items)
    return items, total, max(0, hidden)


class FaceGridMixin:
    """What every page showing a grid of faces (`view`, `actions`) does the same way."""

    def selected(self) -> list[FaceItem]:
        return [i.data(RecordRole) for i in self.view.selected_rows()]

    def _menu(self, index: QModelIndex, pos: QPoint) -> None:
        if index.isValid():
            stops = [(f.photo_path, f.face_id) for f in self.grid_faces()]
            self.actions.popup(self.selected(), pos, stops=stops)

    def grid_faces(self) -> list[FaceItem]:
        model = self.view.model()
        return [model.index(r, 0).data(RecordRole) for r in range(model.rowCount())]

    def _open(self, index: QModelIndex) -> None:
        """The photo, with Left / Right walking through the faces of this grid."""
        face: FaceItem = index.data(RecordRole)
        stops = [(f.photo_path, f.face_id) for f in self.grid_faces()]
        self.actions.navigator.show_photo(face.photo_path, face.face_id, stops)


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
        self.view.selectionUpdated.connect(self._update)
        self.info = QLabel(wordWrap=True)
        self.info.setMinimumWidth(120)
        self.low_quality = QCheckBox("Show low-quality faces")
        self.low_quality.setToolTip("Tiny or blurred faces are kept and searchable, but "
                                    "hidden here unless you ask")
        self.low_quality.toggled.connect(lambda _on: self._reorder())
        self._in_order = True  # the next load may re-sort (shown again, or asked)
        self.assign_button = QPushButton("This is…")
        self.assign_button.clicked.connect(
            lambda: self.actions.assign([f.face_id for f in self.selected()]))
        self.find_button = QPushButton("Find this face")
        self.find_button.clicked.connect(
            lambda: self.actions.navigator.show_face_search(self.selected()[0].face_id))
        self.ignore_button = QPushButton("Ignore")
        self.ignore_button.setToolTip("Hide the selected faces everywhere (Ctrl+Z to undo)")
        self.ignore_button.clicked.connect(
            lambda: self.actions.set_ignored([f.face_id for f in self.selected()], True))
        bar = QHBoxLayout()
        bar.addWidget(self.low_quality)
        bar.addStretch(1)
        bar.addWidget(self.find_button)
        bar.addWidget(self.ignore_button)
        bar.addWidget(self.assign_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.info)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        self._update()

    def showEvent(self, event) -> None:
        self._in_order = self.dirty  # shown to be loaded again: in order, once
        super().showEvent(event)

    def _reorder(self) -> None:
        self._in_order = True
        self.reload()

    def reload(self) -> None:
        super().reload()
        low = self.low_quality.isChecked()
        self.load(lambda library: load_unknown(library, low), self._apply)

    def _apply(self, answer: tuple[list[FaceItem], int, int]) -> None:
        faces, total, hidden = answer
        if self._in_order or not self.isVisible():
            self.model.set_rows(faces)
            self._in_order = False
        else:
            # While the user looks (a scan adds faces): nothing moves under the cursor.
            self.model.merge_rows(faces)
        if total:
            text = (f"{words.plural(total, 'face')} {words.noun(total, 'is')} in no group yet "
                    "(seen once or twice, or unsure). Select some and say who they are.")
        else:
            text = "Every face belongs to a person."
        if hidden:
            text += (f" {words.plural(hidden, 'low-quality face')} (tiny or blurred) "
                     f"{words.noun(hidden, 'is')} not shown.")
        self.info.setText(text)

    def _update(self) -> None:
        n = len(self.selected())
        self.assign_button.setEnabled(n > 0)
        self.ignore_button.setEnabled(n > 0)
        self.find_button.setEnabled(n == 1)
