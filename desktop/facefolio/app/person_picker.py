"""`PersonPickerDialog`: "This is…": pick a person (named or an unnamed group, the likeliest
first, each with a face) or type a new name. Faces of an unnamed group are named with their
group ("Name all 7 faces of this group Anna", the default) or alone ("Only this face")."""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QRadioButton,
    QVBoxLayout,
)

from ..library import Library
from . import words
from .session import people_api
from .thumbnails import ThumbnailProvider


@dataclass(frozen=True)
class PickedPerson:
    person_id: int | None  # an existing person, or None for a new one named `name`
    name: str | None
    whole_group: bool = True  # faces of an unnamed group: the group goes with them


@dataclass(frozen=True)
class PickChoice:
    person_id: int
    name: str | None
    face_count: int
    cover_face_id: int | None
    similarity: float | None  # to the faces being named; None when it could not be ranked

    @property
    def label(self) -> str:
        who = self.name or f"Unnamed ({words.plural(self.face_count, 'photo')})"
        if self.name:
            who += f"  ·  {words.plural(self.face_count, 'photo')}"
        if self.similarity is not None:
            who += f"  ·  {self.similarity:.0%} alike"
        return who


@dataclass(frozen=True)
class Choices:
    """What the picker offers for some faces (made in a read task)."""
    people: list[PickChoice]
    group: tuple[int, int] | None  # (id, faces) of the unnamed group the faces belong to


def load_picker(library: Library, face_ids: list[int]) -> Choices:
    group = people_api(library).group_of(face_ids)
    return Choices(load_choices(library, face_ids), group)


def load_choices(library: Library, face_ids: list[int]) -> list[PickChoice]:
    """Every visible person, the likeliest for these faces first (read task)."""
    people = [p for p in library.people(include_hidden=False) if p.face_count or p.name]
    ranked = {int(pid): float(s) for pid, s in people_api(library).rank_people(face_ids)}
    choices = [PickChoice(p.id, p.name, p.face_count, p.cover_face_id, ranked.get(p.id))
               for p in people]
    choices.sort(key=lambda c: (c.similarity is None, -(c.similarity or 0.0),
                                c.name is None, -c.face_count, (c.name or "").casefold()))
    return choices


class PersonPickerDialog(QDialog):
    ICON = 48

    def __init__(self, choices: list[PickChoice], count: int = 1,
                 thumbnails: ThumbnailProvider | None = None, parent=None,
                 group: tuple[int, int] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Who is this?")
        self.choices = choices
        self.count = count
        self.group = group
        self.thumbnails = thumbnails
        self.by_name = {c.name.casefold(): c for c in choices if c.name}
        faces = "this face" if count == 1 else f"these {count} faces"
        layout = QVBoxLayout(self)
        text = QLabel(f"Who is in {faces}? Pick a person (the likeliest are first) or type "
                      "a new name.", wordWrap=True)
        layout.addWidget(text)
        self.edit = QLineEdit(placeholderText="Name")
        self.edit.setClearButtonEnabled(True)
        layout.addWidget(self.edit)
        self.list = QListWidget()
        self.list.setIconSize(QSize(self.ICON, self.ICON))
        self.list.setUniformItemSizes(True)
        for c in choices:
            item = QListWidgetItem(c.label)
            item.setData(Qt.ItemDataRole.UserRole, c.person_id)
            item.setToolTip(c.label)
            self.list.addItem(item)
        self._icons()
        if thumbnails is not None:
            thumbnails.ready.connect(self._icons)  # a bound slot: gone with the dialog
        self.list.currentRowChanged.connect(self._chosen)
        self.list.itemDoubleClicked.connect(lambda _i: self.accept())
        layout.addWidget(self.list, 1)
        # Naming one face of an unnamed group names the group, unless the user says only
        # this face: a new one-face person beside an unnamed group is rarely what is meant.
        self.all_faces = QRadioButton()
        self.only_these = QRadioButton("Only this face" if count == 1 else
                                       f"Only these {count} faces")
        self.all_faces.setChecked(True)
        if group is not None:
            layout.addWidget(self.all_faces)
            layout.addWidget(self.only_these)
        else:
            self.all_faces.hide()
            self.only_these.hide()
        self.edit.textChanged.connect(self._say_group)
        self._say_group()
        self.edit.textEdited.connect(self._filter)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok |
                                   QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.setMinimumSize(320, 300)
        self.resize(400, 460)

    def _icons(self, _keys=None) -> None:
        if self.thumbnails is None:
            return
        for row, c in enumerate(self.choices):
            item = self.list.item(row)
            if c.cover_face_id is None or not item.icon().isNull():
                continue
            pixmap = self.thumbnails.pixmap(("face", c.cover_face_id))
            if isinstance(pixmap, QPixmap) and pixmap.width() > 1:
                item.setIcon(QIcon(pixmap))

    def _say_group(self, _text: str = "") -> None:
        if self.group is None:
            return
        name = " ".join(self.edit.text().split())
        self.all_faces.setText(f"Name all {self.group[1]} faces of this group"
                               + (f" {name}" if name else ""))

    def _chosen(self, row: int) -> None:
        if 0 <= row < len(self.choices):
            self.edit.setText(self.choices[row].name or "")

    def _filter(self, text: str) -> None:
        needle = text.strip().casefold()
        first = -1
        for row, c in enumerate(self.choices):
            hidden = bool(needle) and needle not in (c.name or "").casefold()
            self.list.item(row).setHidden(hidden)
            if not hidden and first < 0:
                first = row
        # Typing a name deselects the list: a new name must not land on the highlighted group.
        self.list.blockSignals(True)
        self.list.setCurrentRow(-1)
        self.list.blockSignals(False)

    def picked(self) -> PickedPerson | None:
        name = self.edit.text().strip()
        row = self.list.currentRow()
        whole = self.group is not None and self.all_faces.isChecked()
        if 0 <= row < len(self.choices):
            chosen = self.choices[row]
            if not name or name == (chosen.name or ""):
                return PickedPerson(chosen.person_id, chosen.name, whole)
        if not name:
            return None
        known = self.by_name.get(name.casefold())
        return PickedPerson(known.person_id, known.name, whole) if known else \
            PickedPerson(None, name, whole)
