"""`MergeDialog`: merging asks first, naming everyone involved and which name stays."""
from __future__ import annotations

from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from ..library import PersonRecord
from . import words


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

    def __init__(self, people: list[PersonRecord], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Merge people")
        self.people = people
        self.target = default_target(people)
        layout = QVBoxLayout(self)
        faces = sum(p.face_count for p in people)
        question = QLabel(f"Merge {listing(people)} into one person "
                          f"({words.plural(faces, 'photo')})?", wordWrap=True)
        layout.addWidget(question)
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

    def choose_name(self, name: str) -> None:
        for button, _owner in self.buttons:
            if button.text() == name:
                button.setChecked(True)

    def result_ids(self) -> tuple[int, list[int]]:
        """(target, sources): the target's name and id are the ones that stay."""
        target = next((owner for button, owner in self.buttons if button.isChecked()),
                      self.target)
        return target.id, [p.id for p in self.people if p.id != target.id]
