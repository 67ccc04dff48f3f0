"""`MergeDialog`: merging asks first, naming everyone involved and which name stays, and
showing each side's faces (two unnamed groups are only told apart by their faces)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from ..library import Library, PersonRecord
from . import words

FACES_SHOWN = 6
_SIDE = 56


def load_faces(library: Library, person_ids: list[int]) -> dict[int, list[int]]:
    """Up to FACES_SHOWN face ids per person, their best first (a read task)."""
    out = {}
    for pid in person_ids:
        faces = [f for f in library.faces(person_id=pid) if not f.ignored]
        faces.sort(key=lambda f: -f.quality)
        out[pid] = [f.id for f in faces[:FACES_SHOWN]]
    return out


def describe(person: PersonRecord) -> str:
    return person.name or f"an unnamed person ({words.plural(person.face_count, 'photo')})"


def listing(people: list[PersonRecord]) -> str:
    names = [describe(p) for p in people]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def default_target(people: list[PersonRecord]) -> PersonRecord:
    """Whose id (and name) the merged person keeps by default: a named person, the biggest."""
    return max(people, key=lambda p: (p.name is not None, p.face_count, -p.id))


class MergeDialog(QDialog):
    """Asks "Merge A and B into one person?"; with two or more names, which one stays."""

    def __init__(self, people: list[PersonRecord], parent: QWidget | None = None,
                 thumbnails=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Merge people")
        self.people = people
        self.target = default_target(people)
        self.thumbnails = thumbnails
        layout = QVBoxLayout(self)
        faces = sum(p.face_count for p in people)
        question = QLabel(f"Merge {listing(people)} into one person "
                          f"({words.plural(faces, 'photo')})?", wordWrap=True)
        layout.addWidget(question)
        # Each side with its faces: the cover now, more when `show_faces` gets them.
        self.face_ids = {p.id: [p.cover_face_id] if p.cover_face_id else [] for p in people}
        self.face_labels: dict[int, list[QLabel]] = {}
        for p in people:
            who = QLabel(f"{p.name} ({words.plural(p.face_count, 'photo')})" if p.name else
                         f"Unnamed ({words.plural(p.face_count, 'photo')})")
            layout.addWidget(who)
            row = QHBoxLayout()
            row.setSpacing(4)
            labels = []
            for _ in range(FACES_SHOWN):
                label = QLabel()
                label.setFixedSize(_SIDE, _SIDE)
                label.setAlignment(Qt.AlignmentFlag.AlignCenter)
                row.addWidget(label)
                labels.append(label)
            row.addStretch(1)
            self.face_labels[p.id] = labels
            layout.addLayout(row)
        if thumbnails is not None:
            thumbnails.ready.connect(self._pictures)  # a bound slot: gone with the dialog
        self._pictures()
        names = list(dict.fromkeys(p.name for p in people if p.name))
        self.choice = QButtonGroup(self)
        self.buttons: list[tuple[QRadioButton, PersonRecord]] = []
        if len(names) > 1:
            layout.addWidget(QLabel("Which name stays?"))
            for name in names:
                owner = max((p for p in people if p.name == name),
                            key=lambda p: (p.face_count, -p.id))
                button = QRadioButton(name)
                button.setChecked(owner.id == self.target.id)
                self.choice.addButton(button)
                self.buttons.append((button, owner))
                layout.addWidget(button)
            note = "The other names are dropped; Ctrl+Z undoes the merge."
        elif names:
            note = f"The merged person is called {names[0]}. Ctrl+Z undoes the merge."
        else:
            note = "They become one unnamed person. Ctrl+Z undoes the merge."
        hint = QLabel(note, wordWrap=True)
        hint.setStyleSheet("color: palette(placeholder-text);")
        layout.addWidget(hint)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.merge_button = box.addButton("Merge", QDialogButtonBox.ButtonRole.AcceptRole)
        self.merge_button.setDefault(True)
        box.accepted.connect(self.accept)
        box.rejected.connect(self.reject)
        layout.addWidget(box)
        self.setMinimumWidth(360)

    def show_faces(self, face_ids: dict[int, list[int]]) -> None:
        for pid, ids in face_ids.items():
            if pid in self.face_ids and ids:
                self.face_ids[pid] = list(ids)[:FACES_SHOWN]
        self._pictures()

    def _pictures(self, _keys=None) -> None:
        if self.thumbnails is None:
            return
        for pid, labels in self.face_labels.items():
            ids = self.face_ids.get(pid, [])
            for i, label in enumerate(labels):
                pixmap = self.thumbnails.pixmap(("face", ids[i])) if i < len(ids) else None
                if isinstance(pixmap, QPixmap) and pixmap.width() > 1:
                    label.setPixmap(pixmap.scaled(
                        _SIDE, _SIDE, Qt.AspectRatioMode.KeepAspectRatio,
                        Qt.TransformationMode.SmoothTransformation))
                label.setVisible(i < len(ids))

    def choose_name(self, name: str) -> None:
        for button, _owner in self.buttons:
            if button.text() == name:
                button.setChecked(True)

    def result_ids(self) -> tuple[int, list[int]]:
        """(target, sources): the target's name and id are the ones that stay."""
        target = next((owner for button, owner in self.buttons if button.isChecked()),
                      self.target)
        return target.id, [p.id for p in self.people if p.id != target.id]
