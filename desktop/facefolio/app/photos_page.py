"""All photos: newest first (or oldest, or by name), a year scrubber, and "only the photos
with these people" (Anna and Ben together)."""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QModelIndex, QPoint, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QCompleter,
    QHBoxLayout,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..library import Library, PersonRecord, PhotoRecord
from . import words
from .models import PhotoListModel
from .page import Page
from .roles import PhotoIdRole
from .session import LibrarySession
from .thumbnails import ThumbnailProvider
from .tile_view import TileGridView
from .widgets import ElidedLabel, YearScrubber

ORDERS = (("Newest first", "newest"), ("Oldest first", "oldest"), ("By name", "name"))


@dataclass(frozen=True)
class PhotosView:
    photos: list[PhotoRecord]
    people: list[PersonRecord]  # everyone with a face, for the "with" field
    marks: list[tuple[str, int]]  # year scrubber marks (empty when sorted by name)


def load_photos(library: Library, with_people: list[int], order: str) -> PhotosView:
    from ..library.photos import browse  # noqa: PLC0415
    people = [p for p in library.people(include_hidden=True) if p.face_count]
    present = {p.id for p in people}
    wanted = [pid for pid in with_people if pid in present]  # merged away meanwhile
    photos = browse.photos(library, with_people=wanted, order=order)
    marks = browse.year_starts([p.taken_at for p in photos]) if order != "name" else []
    return PhotosView(photos, people, marks)


class PhotosPage(Page):
    title = "All photos"
    photoActivated = Signal(str, list)  # path, and the list to walk through in the viewer

    def __init__(self, session: LibrarySession, thumbnails: ThumbnailProvider,
                 parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.with_people: list[int] = []
        self.people: dict[int, PersonRecord] = {}
        self._box_people: list[tuple[int, str]] = []
        self._chips_for: list[tuple[int, str]] | None = None
        self.model = PhotoListModel(thumbnails, self)
        self.view = TileGridView(150, round_picture=False)
        self.view.key_role = PhotoIdRole  # the photo stays selected across reloads
        self.view.setModel(self.model)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.activated.connect(self._open)
        self.view.doubleClicked.connect(self._open)
        self.view.verticalScrollBar().valueChanged.connect(self._follow)
        self.scrubber = YearScrubber()
        self.scrubber.yearChosen.connect(self.jump_to_row)
        self._jumped: int | None = None  # the first row of the year last clicked
        self.scrubber.hide()

        self.info = ElidedLabel()
        self.order = QComboBox()
        for text, key in ORDERS:
            self.order.addItem(text, key)
        self.order.setToolTip("Sort by the date the photo was taken, or by file name")
        self.order.currentIndexChanged.connect(lambda _i: self.reload())
        self.person_box = QComboBox()
        self.person_box.setEditable(True)
        self.person_box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.person_box.lineEdit().setPlaceholderText("Only photos with…")
        self.person_box.setToolTip("Pick people: only the photos where all of them appear")
        self.person_box.setMinimumContentsLength(16)
        self.person_box.activated.connect(self._person_picked)
        self.chips = QHBoxLayout()
        self.chips.setSpacing(4)
        bar = QHBoxLayout()
        bar.addWidget(self.info, 1)
        bar.addLayout(self.chips)
        bar.addWidget(self.person_box)
        bar.addWidget(self.order)
        grid = QHBoxLayout()
        grid.addWidget(self.view, 1)
        grid.addWidget(self.scrubber)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addLayout(grid, 1)

    # -- filter --------------------------------------------------------------------------
    def set_people(self, person_ids: list[int]) -> None:
        """Show only the photos where all these people appear (none: every photo)."""
        self.with_people = list(dict.fromkeys(person_ids))
        self._show_chips()
        self.reload()

    def add_person(self, person_id: int) -> None:
        if person_id not in self.with_people:
            self.set_people(self.with_people + [person_id])

    def remove_person(self, person_id: int) -> None:
        self.set_people([p for p in self.with_people if p != person_id])

    def _person_picked(self, row: int) -> None:
        pid = self.person_box.itemData(row)
        self.person_box.setCurrentIndex(-1)
        self.person_box.clearEditText()
        if pid is not None:
            self.add_person(int(pid))

    def _label(self, pid: int) -> str:
        person = self.people.get(pid)
        if person is None:
            return "someone"
        return person.name or f"Unnamed ({words.plural(person.face_count, 'photo')})"

    def _show_chips(self) -> None:
        wanted = [(pid, self._label(pid)) for pid in self.with_people]
        if wanted == self._chips_for:
            return
        self._chips_for = wanted
        while self.chips.count():
            widget = self.chips.takeAt(0).widget()
            if widget is not None:
                widget.hide()
                widget.deleteLater()
        for pid in self.with_people:
            chip = QToolButton(text=f"{self._label(pid)}  ✕")
            chip.setToolTip("Show photos without this condition")
            chip.setAutoRaise(False)
            chip.clicked.connect(lambda _c=False, p=pid: self.remove_person(p))
            self.chips.addWidget(chip)

    # -- loading -------------------------------------------------------------------------
    def reload(self) -> None:
        super().reload()
        people, order = list(self.with_people), self.order.currentData()
        self.load(lambda library: load_photos(library, people, order), self._apply)

    def _apply(self, answer: PhotosView) -> None:
        self.people = {p.id: p for p in answer.people}
        self.with_people = [p for p in self.with_people if p in self.people]
        self._fill_person_box(answer.people)
        self._show_chips()
        self.model.set_rows(answer.photos)
        self._jumped = None
        self.scrubber.set_marks(answer.marks)
        n = len(answer.photos)
        if self.with_people:
            who = [self._label(p) for p in self.with_people]
            together = who[0] if len(who) == 1 else ", ".join(who[:-1]) + " and " + who[-1]
            self.info.setText(f"{words.plural(n, 'photo')} with {together}"
                              + (" together" if len(who) > 1 else ""))
        elif n:
            videos = sum(p.is_video for p in answer.photos)  # counted apart, shown together
            what = words.plural(n - videos, "photo") + (
                f", {words.plural(videos, 'video')}" if videos else "")
            self.info.setText(f"{what}. Double-click one to see its faces.")
        else:
            self.info.setText("No photos yet: add a folder under Folders.")
        self._follow()

    def _fill_person_box(self, people: list[PersonRecord]) -> None:
        named = sorted((p for p in people if p.name and p.id not in self.with_people),
                       key=lambda p: p.name.casefold())
        if [(p.id, p.name) for p in named] == self._box_people:
            return  # unchanged: keep what the user may be typing
        self._box_people = [(p.id, p.name) for p in named]
        self.person_box.blockSignals(True)
        self.person_box.clear()
        for p in named:
            self.person_box.addItem(p.name, p.id)
        self.person_box.setCurrentIndex(-1)
        completer = QCompleter([p.name for p in named], self.person_box)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.person_box.setCompleter(completer)
        self.person_box.blockSignals(False)

    # -- moving around -------------------------------------------------------------------
    def jump_to_row(self, row: int) -> None:
        index = self.model.index(row)
        if index.isValid():
            self._jumped = row
            self.view.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtTop)
            self.view.setCurrentIndex(index)
            self.scrubber.follow(row)

    def _follow(self, _value: int = 0) -> None:
        # A year near the end cannot scroll to the top: while its first photo is on screen,
        # the year clicked stays highlighted (not the earlier one at the top).
        jumped = self._jumped
        if jumped is not None:
            rect = self.view.visualRect(self.model.index(jumped))
            if rect.isValid() and self.view.viewport().rect().intersects(rect):
                self.scrubber.follow(jumped)
                return
            self._jumped = None
        index = self.view.indexAt(QPoint(8, 8))
        if index.isValid():
            self.scrubber.follow(index.row())

    def stops(self) -> list[tuple[str, None]]:
        return [(p.path, None) for p in self.model.rows]

    def _open(self, index: QModelIndex) -> None:
        if index.isValid():
            self.photoActivated.emit(self.model.rows[index.row()].path, self.stops())
