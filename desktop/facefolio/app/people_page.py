"""The people gallery: every person as a face tile; filter, hidden toggle, merge."""
from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QModelIndex, QPoint, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QStackedLayout,
    QVBoxLayout,
    QWidget,
)

from ..library import Library, PersonRecord
from . import words
from .face_actions import FaceActions
from .models import PeopleFilterProxy, PeopleListModel
from .page import Page
from .proposal_strip import ProposalStrip
from .review import Question, proposals
from .roles import PersonIdRole, RecordRole
from .session import LibrarySession
from .thumbnails import ThumbnailProvider
from .tile_view import TileGridView
from .widgets import ElidedLabel, latest


def load_people_and_proposals(library: Library) -> tuple[list[PersonRecord], list[Question]]:
    return load_people(library), proposals(library, limit=12)


def load_people(library: Library) -> list[PersonRecord]:
    people = library.people(include_hidden=True)
    # Give every person a face to show even if no cover was chosen yet.
    fixed = []
    for p in people:
        if p.face_count == 0 and not p.name:
            continue  # an emptied group (grouping passes during a scan can leave one)
        if p.cover_face_id is None and p.face_count:
            faces = library.faces(person_id=p.id, limit=1)
            if faces:
                p = replace(p, cover_face_id=faces[0].id)
        fixed.append(p)
    return fixed


class PeoplePage(Page):
    title = "People"
    personActivated = Signal(int)
    exportRequested = Signal(object)  # PersonRecord: "Export photos…"
    togetherRequested = Signal(list)  # person ids: "Photos together"

    def __init__(self, session: LibrarySession, thumbnails: ThumbnailProvider,
                 actions: FaceActions, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.actions = actions
        self.model = PeopleListModel(thumbnails, self)
        self.model.mergeRequested.connect(self.merge)
        self.proxy = PeopleFilterProxy(self)
        self.proxy.setSourceModel(self.model)

        self.filter = QLineEdit(placeholderText="Filter by name…", clearButtonEnabled=True)
        self.filter.setMinimumWidth(self.filter.fontMetrics().horizontalAdvance("Filter by n") +
                                    40)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.filter.textChanged.connect(lambda _t: self._update_empty())
        self.show_hidden = QCheckBox("Show hidden people")
        self.show_hidden.toggled.connect(self.proxy.set_show_hidden)
        self.show_hidden.toggled.connect(lambda _t: self._update_empty())
        self.merge_button = QPushButton("Merge selected")
        self.merge_button.setToolTip("Merge the selected people into one "
                                     "(or drag a person onto another)")
        self.merge_button.clicked.connect(self.merge_selected)
        self.together_button = QPushButton("Photos together")
        self.together_button.setToolTip("The photos where all the selected people appear")
        self.together_button.clicked.connect(
            lambda: self.togetherRequested.emit([p.id for p in self.selected_people()]))
        self.summary = ElidedLabel(mode=Qt.TextElideMode.ElideRight)
        self.summary.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        bar = QHBoxLayout()
        bar.addWidget(self.filter, 2)
        bar.addWidget(self.show_hidden)
        bar.addWidget(self.summary, 1)
        bar.addWidget(self.together_button)
        bar.addWidget(self.merge_button)
        self.proposals = ProposalStrip(session, thumbnails, actions)

        self.view = TileGridView()
        self.view.setModel(self.proxy)
        self.view.enable_person_drops()
        self.view.activated.connect(self._activated)
        self.view.doubleClicked.connect(self._activated)
        self.view.contextRequested.connect(self._context)
        self.view.key_role = PersonIdRole
        self.view.selectionUpdated.connect(self._update_buttons)
        self.empty = QLabel(alignment=Qt.AlignmentFlag.AlignCenter, wordWrap=True)
        self.empty.setStyleSheet("color: palette(placeholder-text); font-size: 15px;")
        self.stack = QStackedLayout()
        self.stack.addWidget(self.view)
        self.stack.addWidget(self.empty)

        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.proposals)
        layout.addLayout(self.stack)
        self._update_buttons()
        rename = QAction("Rename", self.view, shortcut="F2",
                         shortcutContext=Qt.ShortcutContext.WidgetShortcut)
        rename.triggered.connect(self._rename_current)
        self.view.addAction(rename)

    def _rename_current(self) -> None:
        index = self.view.currentIndex()
        if index.isValid():
            self.rename(index.data(RecordRole))

    # -- loading -------------------------------------------------------------------------
    def reload(self) -> None:
        super().reload()
        self.load(load_people_and_proposals, self._apply)

    def _apply(self, answer: tuple[list[PersonRecord], list[Question]]) -> None:
        people, questions = answer
        self.model.set_rows(people)
        # Counted as the sidebar counts them: hidden people apart.
        shown = [p for p in people if not p.hidden]
        named = sum(1 for p in shown if p.name)
        hidden = len(people) - len(shown)
        self.summary.setText(f"{words.plural(len(shown), 'person')}, {named} named"
                             + (f" ({hidden} hidden)" if hidden else ""))
        self.proposals.set_questions(questions)
        self._update_empty()

    def _update_empty(self) -> None:
        if self.proxy.rowCount():
            self.stack.setCurrentWidget(self.view)
            return
        if self.model.rowCount():
            self.empty.setText("No one matches this filter.")
        elif self.session.scanning:
            self.empty.setText("Looking for faces… people appear here as the scan finds them.")
        else:
            self.empty.setText("No people yet.\nAdd a folder of photos under Folders; faces "
                               "that appear in several photos are grouped into people here.")
        self.stack.setCurrentWidget(self.empty)

    def _update_buttons(self) -> None:
        n = len(self.view.selected_rows())
        self.merge_button.setEnabled(n >= 2)
        self.together_button.setEnabled(n >= 1)
        self.together_button.setText("Photos together" if n != 1 else "Their photos")

    # -- actions -------------------------------------------------------------------------
    def selected_people(self) -> list[PersonRecord]:
        return [i.data(RecordRole) for i in self.view.selected_rows()]

    def _activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.personActivated.emit(index.data(PersonIdRole))

    def merge(self, target: int, sources: list[int]) -> None:
        """A drop of people onto a person: ask, naming them all (the drop target first)."""
        by_id = {p.id: p for p in self.model.rows}
        people = [by_id[i] for i in [target, *sources] if i in by_id]
        self.actions.merge(people)

    def merge_selected(self) -> None:
        self.actions.merge(self.selected_people())

    def rename(self, person: PersonRecord) -> None:
        name, ok = QInputDialog.getText(self, "Name", "Name of this person:",
                                        text=person.name or "")
        if ok and name.strip() and name.strip() != person.name:
            self.actions.name_person(person.id, name.strip())

    def set_hidden(self, person: PersonRecord, hidden: bool) -> None:
        pid = person.id
        who = person.name or "The unnamed person"
        self.session.people_write(lambda p: p.set_hidden(pid, hidden),
                                  f"{who} {'hidden' if hidden else 'shown again'}")

    def _context(self, index: QModelIndex, pos: QPoint) -> None:
        if not index.isValid():
            return
        person: PersonRecord = index.data(RecordRole)
        extra = []
        rename = QAction("Rename…" if person.name else "Name…", self)
        rename.triggered.connect(lambda: self.rename(person))
        hide = QAction("Show again" if person.hidden else "Hide", self)
        hide.triggered.connect(lambda: self.set_hidden(person, not person.hidden))
        export = QAction("Export photos…", self)
        export.triggered.connect(lambda: self.exportRequested.emit(person))
        chosen = [p.id for p in self.selected_people()] or [person.id]
        photos = QAction("Photos together" if len(chosen) > 1 else "Show photos", self)
        photos.triggered.connect(lambda: self.togetherRequested.emit(chosen))
        extra += [rename, hide, photos, export]
        if len(self.view.selected_rows()) >= 2:
            merge = QAction(f"Merge {len(self.view.selected_rows())} selected", self)
            merge.triggered.connect(self.merge_selected)
            extra.append(merge)
        # A card stands for the person: person actions only. "Not this person" or "Not a
        # face" here would act on the cover face the user cannot see as a face (issue 21).
        menu = QMenu(self)
        menu.addAction("Open").triggered.connect(lambda: self.personActivated.emit(person.id))
        if person.cover_face_id is not None:  # a search, nothing changes
            cover = person.cover_face_id
            menu.addAction("Find this face").triggered.connect(
                lambda: self.actions.navigator.show_face_search(cover))
        menu.addSeparator()
        for action in extra:
            menu.addAction(action)
        self.actions.last_menu = latest(self.actions.last_menu, menu)
        menu.popup(pos)
