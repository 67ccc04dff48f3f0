"""A person's page: every face of the person, rename in place, remove faces, suggestions."""
from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QModelIndex, QPoint, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QInputDialog,
    QLineEdit,
    QPushButton,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..library import Library, NotFoundError, PersonRecord
from . import words
from .face_actions import FaceActions
from .models import FaceItem, FaceListModel, face_items
from .page import Page
from .proposal_strip import ProposalStrip
from .review import Question, proposals
from .roles import RecordRole
from .session import LibrarySession, people_api
from .thumbnails import ThumbnailProvider
from .tile_view import TileGridView
from .widgets import ElidedLabel, YearScrubber

_SUGGESTIONS = 40


@dataclass(frozen=True)
class PersonView:
    person: PersonRecord
    faces: list[FaceItem]  # in the order asked for (newest or oldest photo first)
    suggestions: list[FaceItem] | None  # None: asked apart (load_suggestions)
    first: str | None  # taken_at of their first and last dated photos
    last: str | None
    proposals: list[Question]
    years: list = field(default_factory=list)  # by_age.YearAges: their age per year
    order: str = "newest"  # the order `faces` are in


def ages_line(person: PersonRecord, years: list) -> str:
    """'Born 1961-08-04 · 2017: 55-56 years old · ...', or the estimates' ranges."""
    shown = [f"{y.year}: {y.words}" for y in years if y.words]
    if person.birth_date:
        return " · ".join([f"Born {person.birth_date}", *shown])
    return ("Ages (estimated): " + " · ".join(shown)) if shown else ""


def load_person(library: Library, person_id: int, order: str = "newest",
                with_suggestions: bool = True) -> PersonView | None:
    """The page's content; without its suggestions when asked (the page loads them in a
    read of their own, so the faces show first: a person an edit touched has its
    suggestions computed again, 0.6 s at 200k faces)."""
    from ..library.photos import browse  # noqa: PLC0415
    try:
        person = library.person(person_id)
    except NotFoundError:
        return None  # merged away or deleted: the window goes back to the gallery
    faces = face_items(library, library.faces(person_id=person_id))
    faces = sort_by_date(faces, order)
    suggestions = load_suggestions(library, person_id) if with_suggestions else None
    if with_suggestions and suggestions is None:
        return None  # merged away since it was read above
    from ..library.photos.by_age import ages_by_year  # noqa: PLC0415
    first, last = browse.person_span(library, person_id)
    return PersonView(person, faces, suggestions, first, last,
                      proposals(library, limit=8, person_id=person_id),
                      ages_by_year(library, person_id), order)


def load_suggestions(library: Library, person_id: int) -> list[FaceItem] | None:
    """"Is this also them?" faces, most likely first; None when the person is gone."""
    try:
        found = people_api(library).suggestions(person_id, _SUGGESTIONS)
    except NotFoundError:
        return None
    records = library.faces_by_ids([s.face_id for s in found])
    similarity = {s.face_id: s.similarity for s in found}
    return face_items(library, [records[s.face_id] for s in found if s.face_id in records],
                      similarity)


def sort_by_date(faces: list[FaceItem], order: str) -> list[FaceItem]:
    """Faces by their photo's date (undated last), then by file name in natural order."""
    from ..library.photos.browse import natural_key  # noqa: PLC0415
    by_name = sorted(faces, key=lambda f: natural_key(f.photo_path))
    dated = [f for f in by_name if f.taken_at]
    dated.sort(key=lambda f: f.taken_at, reverse=order == "newest")  # stable: names stay
    return dated + [f for f in by_name if not f.taken_at]


class PersonPage(Page):
    back = Signal()
    gone = Signal()  # the person no longer exists (merged into someone, deleted)
    exportRequested = Signal(object)  # PersonRecord: "Export photos…"
    photosRequested = Signal(list)  # [person id]: their photos on the All photos page

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
        self.name_edit.setMinimumWidth(120)
        self.name_edit.editingFinished.connect(self._rename)
        self.count = ElidedLabel()
        self.count.setStyleSheet("color: palette(placeholder-text);")
        self._order_asks = 0  # re-sorts asked for (_reorder); the newest one wins
        self._shown = 0  # face lists shown: a re-sort of an older one is not applied
        self._year_words: dict = {}  # year -> their age in it, for the scrubber's tips
        self.order = QComboBox()
        self.order.addItem("Newest first", "newest")
        self.order.addItem("Oldest first", "oldest")
        self.order.currentIndexChanged.connect(lambda _i: self._reorder())
        self.hide_button = QPushButton("Hide")
        self.hide_button.clicked.connect(self._toggle_hidden)
        self.photos_button = QPushButton("Photos")
        self.photos_button.setToolTip("Every photo of this person, with who else is in them")
        self.photos_button.clicked.connect(
            lambda: self.person is not None and self.photosRequested.emit([self.person.id]))
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Copy or link this person's photos into a folder")
        self.export_button.clicked.connect(
            lambda: self.person is not None and self.exportRequested.emit(self.person))
        self.birthday_button = QPushButton("Birthday…")
        self.birthday_button.setToolTip("Their date of birth: their age in each dated photo")
        self.birthday_button.clicked.connect(self.ask_birthday)
        head = QHBoxLayout()
        head.addWidget(back)
        head.addWidget(self.name_edit, 1)
        for w in (self.photos_button, self.export_button, self.birthday_button,
                  self.hide_button):
            head.addWidget(w)
        self.ages = ElidedLabel()  # under the count: born when, their age per year
        self.ages.setStyleSheet("color: palette(placeholder-text);")
        sub = QHBoxLayout()  # under the name: how many photos, when, in which order
        sub.addWidget(self.count, 1)
        sub.addWidget(self.order)

        self.faces = FaceListModel(thumbnails, self, by_photo=True)
        self.view = TileGridView(112)
        self.view.setModel(self.faces)
        self.view.contextRequested.connect(self._face_menu)
        self.view.doubleClicked.connect(self._open_photo)
        self.view.selectionUpdated.connect(self._update_buttons)
        self.view.verticalScrollBar().valueChanged.connect(self._follow)
        self.scrubber = YearScrubber()
        self.scrubber.hide()
        self.scrubber.yearChosen.connect(self._jump)
        self.remove_button = QPushButton("Not this person")
        self.remove_button.setToolTip("Take the selected faces out of this person (Delete)")
        self.remove_button.clicked.connect(self._remove_selected)
        self.move_button = QPushButton("Move to…")
        self.move_button.clicked.connect(lambda: self.actions.assign(
            [f.face_id for f in self._selected(self.view)]))
        self.cover_button = QPushButton("Set as cover")
        self.cover_button.clicked.connect(self._set_cover)
        tools = QHBoxLayout()
        tools.addWidget(ElidedLabel("Select faces to fix mistakes:"), 1)
        for b in (self.cover_button, self.move_button, self.remove_button):
            tools.addWidget(b)
        grid = QHBoxLayout()
        grid.addWidget(self.view, 1)
        grid.addWidget(self.scrubber)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addLayout(grid, 1)
        top_layout.addLayout(tools)

        self.suggestions = FaceListModel(thumbnails, self)
        self.suggest_view = TileGridView(96)
        self.suggest_view.setModel(self.suggestions)
        self.suggest_view.contextRequested.connect(self._suggestion_menu)
        self.suggest_view.doubleClicked.connect(self._open_suggestion)
        self.suggest_view.selectionUpdated.connect(self._update_buttons)
        self.suggest_label = ElidedLabel()
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
        self.proposals = ProposalStrip(session, thumbnails, actions)

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
        split.setChildrenCollapsible(False)
        self.suggest_box.setMinimumHeight(150)
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addLayout(sub)
        layout.addWidget(self.ages)
        layout.addWidget(self.proposals)
        layout.addWidget(split, 1)
        self._update_buttons()

    def show_person(self, person_id: int) -> None:
        if person_id != self.person_id:
            self.person_id = person_id
            self.person = None
            self.faces.set_rows([])
            self.suggestions.set_rows([])
            self.proposals.set_questions([])
            self.name_edit.clear()
            self.count.setText("")
        self.reload()

    def reload(self) -> None:
        super().reload()
        if self.person_id is not None:
            pid, order = self.person_id, self.order.currentData()
            self.load(lambda library: load_person(library, pid, order, with_suggestions=False),
                      self._apply)

    def _reorder(self) -> None:
        """Newest or oldest first: the faces on the page sorted again on a read thread, not
        read again (a big person's faces are seconds of reading at scale). A load still on
        its way sorts its own answer (`_apply`)."""
        if self.person is None or not self.faces.rows:
            self.reload()
            return
        self._order_asks += 1
        ask, shown = self._order_asks, self._shown
        rows, order = list(self.faces.rows), self.order.currentData()

        def sorted_again(value: list[FaceItem]) -> None:
            if ask == self._order_asks and shown == self._shown:  # nothing newer meanwhile
                self._show_faces(value)
        self.session.read(lambda _library: sort_by_date(rows, order), sorted_again)

    def _show_faces(self, faces: list[FaceItem]) -> None:
        self._shown += 1
        self.faces.set_rows(faces)
        from ..library.photos.browse import year_starts  # noqa: PLC0415
        self.scrubber.set_marks(year_starts([f.taken_at for f in faces]))
        for i in range(self.scrubber.count()):  # a year's tip: their age in it
            item = self.scrubber.item(i)
            item.setToolTip(self._year_words.get(item.text(), ""))

    def _apply(self, view: PersonView | None) -> None:
        if view is None:
            self.gone.emit()
            return
        self.person = view.person
        if not self.name_edit.hasFocus():
            self.name_edit.setText(view.person.name or "")
        when = words.span(view.first, view.last)
        # A face per photo or video: the videos among them counted apart, as on Photos.
        videos = sum(f.frame_ms is not None for f in view.faces)
        what = words.plural(view.person.face_count - videos, "photo") + (
            f", {words.plural(videos, 'video')}" if videos else "")
        self.count.setText(what + (f" · {when}" if when else ""))
        self.hide_button.setText("Show in People" if view.person.hidden else "Hide")
        self.ages.setText(ages_line(view.person, view.years))
        self.ages.setVisible(bool(self.ages.full))
        self._year_words = {y.year: y.words for y in view.years}
        self._show_faces(view.faces)
        if view.order != self.order.currentData():  # the order changed while it loaded
            self._reorder()
        self.proposals.set_questions(view.proposals)
        if view.suggestions is not None:
            self._apply_suggestions(view.suggestions)
        else:  # the faces first, then the suggestions in a read of their own
            pid = view.person.id
            self.load(lambda library: load_suggestions(library, pid), self._apply_suggestions)
        self._update_buttons()
        self._follow()

    def _apply_suggestions(self, suggestions: list[FaceItem] | None) -> None:
        if suggestions is None or self.person is None:
            return  # the person went meanwhile: the next reload says so
        self.suggestions.set_rows(suggestions)
        who = self.person.name or "this person"
        self.suggest_label.setText(f"Is this also {who}? Select faces and answer."
                                   if suggestions else "")
        self.suggest_box.setVisible(bool(suggestions))
        self._update_buttons()

    # -- moving around -------------------------------------------------------------------
    def _jump(self, row: int) -> None:
        index = self.faces.index(row)
        if index.isValid():
            self.view.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtTop)

    def _follow(self, _value: int = 0) -> None:
        index = self.view.indexAt(QPoint(8, 8))
        if index.isValid():
            self.scrubber.follow(index.row())

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

    def ask_birthday(self) -> None:
        """Set, change or remove the date of birth (an undoable edit)."""
        if self.person is None:
            return
        pid, old = self.person.id, self.person.birth_date or ""
        text, ok = QInputDialog.getText(
            self, "Date of birth", f"{self.person.name or 'This person'} was born on "
            "(YYYY-MM-DD; empty to remove):", QLineEdit.EchoMode.Normal, old)
        if not ok or text.strip() == old:
            return
        day = text.strip() or None
        self.session.people_write(lambda p: p.set_birth_date(pid, day),
                                  "Date of birth removed" if day is None else
                                  f"Born {day} (Ctrl+Z to undo)")

    def _remove_selected(self) -> None:
        who = self.person.name if self.person is not None else None
        self.actions.not_this_person([f.face_id for f in self._selected(self.view)], who)

    def _set_cover(self) -> None:
        faces = self._selected(self.view)
        if faces and self.person is not None:
            self.actions.set_cover(self.person.id, faces[0].face_id)

    def _answer(self, yes: bool) -> None:
        if self.person is None:
            return
        pid = self.person.id
        ids = [f.face_id for f in self._selected(self.suggest_view)]
        who = self.person.name or "this person"

        def answer(people) -> None:
            for face_id in ids:
                (people.accept_suggestion if yes else people.reject_suggestion)(face_id, pid)
        faces = "The face is" if len(ids) == 1 else f"{len(ids)} faces are"
        self.session.people_write(answer, f"{faces} {'' if yes else 'not '}{who}"
                                          " (Ctrl+Z to undo)")

    def _open_photo(self, index: QModelIndex) -> None:
        face: FaceItem = index.data(RecordRole)
        stops = [(f.photo_path, f.face_id) for f in self.faces.rows]
        self.actions.navigator.show_photo(face.photo_path, face.face_id, stops)

    def _open_suggestion(self, index: QModelIndex) -> None:
        face: FaceItem = index.data(RecordRole)
        stops = [(f.photo_path, f.face_id) for f in self.suggestions.rows]
        self.actions.navigator.show_photo(face.photo_path, face.face_id, stops)

    def _face_menu(self, index: QModelIndex, pos: QPoint) -> None:
        if index.isValid():
            # "Open photo" walks through this person's photos with Left / Right.
            stops = [(f.photo_path, f.face_id) for f in self.faces.rows]
            self.actions.popup(self._selected(self.view), pos, stops=stops)

    def _suggestion_menu(self, index: QModelIndex, pos: QPoint) -> None:
        if index.isValid():
            stops = [(f.photo_path, f.face_id) for f in self.suggestions.rows]
            self.actions.popup(self._selected(self.suggest_view), pos, stops=stops)
