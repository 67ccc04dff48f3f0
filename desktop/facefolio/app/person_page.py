"""A person's page: every face of the person, rename in place, remove faces, suggestions."""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QModelIndex, QPoint, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..library import Library, LibraryError, NotFoundError, PersonRecord
from .face_actions import FaceActions
from .models import FaceItem, FaceListModel
from .page import Page
from .roles import RecordRole
from .session import LibrarySession, people_api
from .thumbnails import ThumbnailProvider
from .tile_view import TileGridView

_SUGGESTIONS = 40


@dataclass(frozen=True)
class PersonView:
    person: PersonRecord
    faces: list[FaceItem]
    suggestions: list[FaceItem]


def load_person(library: Library, person_id: int) -> PersonView | None:
    try:
        person = library.person(person_id)
    except NotFoundError:
        return None  # merged away or deleted: the window goes back to the gallery
    faces = [FaceItem.from_record(f) for f in library.faces(person_id=person_id)]
    suggestions: list[FaceItem] = []
    try:
        found = people_api(library).suggestions(person_id, _SUGGESTIONS)
    except LibraryError:
        found = []
    records = library.faces_by_ids([s.face_id for s in found])
    for s in found:
        r = records.get(s.face_id)
        if r is not None:
            suggestions.append(FaceItem(r.id, r.photo_path, r.box, r.person_id,
                                        r.person_name, s.similarity))
    return PersonView(person, faces, suggestions)


class PersonPage(Page):
    back = Signal()
    gone = Signal()  # the person no longer exists (merged into someone, deleted)
    exportRequested = Signal(object)  # PersonRecord: "Export photos…"

    def __init__(self, session: LibrarySession, thumbnails: ThumbnailProvider,
                 actions: FaceActions, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.actions = actions
        self.person_id: int | None = None
        self.person: PersonRecord | None = None
        self._renaming = False

        back = QToolButton(text="‹ People", autoRaise=True)
        back.clicked.connect(self.back)
        self.name_edit = QLineEdit(placeholderText="Add a name")
        self.name_edit.setToolTip("Type a name and press Enter")
        font = self.name_edit.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        self.name_edit.setFont(font)
        self.name_edit.setFrame(False)
        self.name_edit.editingFinished.connect(self._rename)
        self.count = QLabel()
        self.hide_button = QPushButton("Hide")
        self.hide_button.clicked.connect(self._toggle_hidden)
        self.export_button = QPushButton("Export photos…")
        self.export_button.setToolTip("Copy or link this person's photos into a folder")
        self.export_button.clicked.connect(
            lambda: self.person is not None and self.exportRequested.emit(self.person))
        head = QHBoxLayout()
        head.addWidget(back)
        head.addWidget(self.name_edit, 1)
        head.addWidget(self.count)
        head.addWidget(self.export_button)
        head.addWidget(self.hide_button)

        self.faces = FaceListModel(thumbnails, self, by_photo=True)
        self.view = TileGridView(112)
        self.view.setModel(self.faces)
        self.view.contextRequested.connect(self._face_menu)
        self.view.doubleClicked.connect(self._open_photo)
        self.view.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        self.remove_button = QPushButton("Not this person")
        self.remove_button.setToolTip("Take the selected faces out of this person (Delete)")
        self.remove_button.clicked.connect(self._remove_selected)
        self.move_button = QPushButton("Move to…")
        self.move_button.clicked.connect(lambda: self.actions.assign(
            [f.face_id for f in self._selected(self.view)]))
        self.cover_button = QPushButton("Set as cover")
        self.cover_button.clicked.connect(self._set_cover)
        tools = QHBoxLayout()
        tools.addWidget(QLabel("Select faces to fix mistakes:"))
        tools.addStretch(1)
        for b in (self.cover_button, self.move_button, self.remove_button):
            tools.addWidget(b)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.view)
        top_layout.addLayout(tools)

        self.suggestions = FaceListModel(thumbnails, self)
        self.suggest_view = TileGridView(96)
        self.suggest_view.setModel(self.suggestions)
        self.suggest_view.contextRequested.connect(self._suggestion_menu)
        self.suggest_view.selectionModel().selectionChanged.connect(
            lambda *_: self._update_buttons())
        self.suggest_label = QLabel()
        self.yes_button = QPushButton("Yes, that's them")
        self.yes_button.clicked.connect(lambda: self._answer(True))
        self.no_button = QPushButton("No")
        self.no_button.clicked.connect(lambda: self._answer(False))
        suggest_head = QHBoxLayout()
        suggest_head.addWidget(self.suggest_label, 1)
        suggest_head.addWidget(self.yes_button)
        suggest_head.addWidget(self.no_button)
        self.suggest_box = QWidget()
        suggest_layout = QVBoxLayout(self.suggest_box)
        suggest_layout.setContentsMargins(0, 0, 0, 0)
        suggest_layout.addLayout(suggest_head)
        suggest_layout.addWidget(self.suggest_view)

        remove = QAction("Not this person", self.view, shortcut=QKeySequence.StandardKey.Delete,
                         shortcutContext=Qt.ShortcutContext.WidgetShortcut)
        remove.triggered.connect(self._remove_selected)
        self.view.addAction(remove)

        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(self.suggest_box)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setSizes([500, 260])
        self.suggest_box.setMinimumHeight(200)
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addWidget(split, 1)
        self._update_buttons()

    def show_person(self, person_id: int) -> None:
        if person_id != self.person_id:
            self.person_id = person_id
            self.person = None
            self.faces.set_rows([])
            self.suggestions.set_rows([])
            self.name_edit.clear()
        self.reload()

    def reload(self) -> None:
        super().reload()
        if self.person_id is not None:
            pid = self.person_id
            self.load(lambda library: load_person(library, pid), self._apply)

    def _apply(self, view: PersonView | None) -> None:
        if view is None:
            self.gone.emit()
            return
        self.person = view.person
        if not self.name_edit.hasFocus():
            self.name_edit.setText(view.person.name or "")
        n = view.person.face_count
        self.count.setText(f"{n} photo{'s' if n != 1 else ''}")
        self.hide_button.setText("Show in People" if view.person.hidden else "Hide")
        self.faces.set_rows(view.faces)
        self.suggestions.set_rows(view.suggestions)
        who = view.person.name or "this person"
        self.suggest_label.setText(f"Is this also {who}? Select faces and answer."
                                   if view.suggestions else "")
        self.suggest_box.setVisible(bool(view.suggestions))
        self._update_buttons()

    # -- actions -------------------------------------------------------------------------
    @staticmethod
    def _selected(view: TileGridView) -> list[FaceItem]:
        return [i.data(RecordRole) for i in view.selected_rows()]

    def _update_buttons(self) -> None:
        n = len(self._selected(self.view))
        self.remove_button.setEnabled(n > 0)
        self.move_button.setEnabled(n > 0)
        self.cover_button.setEnabled(n == 1)
        answered = len(self._selected(self.suggest_view))
        self.yes_button.setEnabled(answered > 0)
        self.no_button.setEnabled(answered > 0)

    def _rename(self) -> None:
        if self.person is None:
            return
        name = self.name_edit.text().strip()
        if not name or name == (self.person.name or ""):
            return
        if self._renaming:  # the "same person?" question moves focus: editingFinished again
            return
        self._renaming = True
        try:
            self.actions.name_person(self.person.id, name, follow=True)
        finally:
            self._renaming = False

    def _toggle_hidden(self) -> None:
        if self.person is not None:
            pid, hidden = self.person.id, not self.person.hidden
            self.session.people_write(lambda p: p.set_hidden(pid, hidden),
                                      "Hidden from People" if hidden else "Shown in People")

    def _remove_selected(self) -> None:
        self.actions.not_this_person([f.face_id for f in self._selected(self.view)])

    def _set_cover(self) -> None:
        faces = self._selected(self.view)
        if faces and self.person is not None:
            self.actions.set_cover(self.person.id, faces[0].face_id)

    def _answer(self, yes: bool) -> None:
        if self.person is None:
            return
        pid = self.person.id
        ids = [f.face_id for f in self._selected(self.suggest_view)]

        def answer(people) -> None:
            for face_id in ids:
                (people.accept_suggestion if yes else people.reject_suggestion)(face_id, pid)
        self.session.people_write(answer, f"{len(ids)} suggestion(s) "
                                          f"{'confirmed' if yes else 'rejected'}")

    def _open_photo(self, index: QModelIndex) -> None:
        face: FaceItem = index.data(RecordRole)
        self.actions.navigator.show_photo(face.photo_path, face.face_id)

    def _face_menu(self, index: QModelIndex, pos: QPoint) -> None:
        if index.isValid():
            self.actions.popup(self._selected(self.view), pos)

    def _suggestion_menu(self, index: QModelIndex, pos: QPoint) -> None:
        if index.isValid():
            self.actions.popup(self._selected(self.suggest_view), pos)
