"""`PersonPickerDialog`: "This is…": pick a known person or type a new name."""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
)

from ..library import PersonRecord


@dataclass(frozen=True)
class PickedPerson:
    person_id: int | None  # an existing person, or None for a new one named `name`
    name: str | None


class PersonPickerDialog(QDialog):
    def __init__(self, people: list[PersonRecord], count: int = 1, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Who is this?")
        self.people = [p for p in people if p.name]
        self.by_name = {p.name.casefold(): p for p in self.people if p.name}
        faces = "this face" if count == 1 else f"these {count} faces"
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Who is in {faces}? Pick a person or type a new name."))
        self.edit = QLineEdit(placeholderText="Name")
        completer = QCompleter([p.name for p in self.people], self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.edit.setCompleter(completer)
        layout.addWidget(self.edit)
        self.list = QListWidget()
        for p in self.people:
            item = QListWidgetItem(f"{p.name}  ({p.face_count})")
            item.setData(Qt.ItemDataRole.UserRole, p.id)
            self.list.addItem(item)
        self.list.itemClicked.connect(lambda item: self.edit.setText(
            self.people[self.list.row(item)].name or ""))
        self.list.itemDoubleClicked.connect(lambda _i: self.accept())
        layout.addWidget(self.list)
        self.edit.textChanged.connect(self._filter)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok |
                                   QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(360, 420)

    def _filter(self, text: str) -> None:
        needle = text.strip().casefold()
        for row, p in enumerate(self.people):
            self.list.item(row).setHidden(bool(needle) and needle not in (p.name or "").casefold())

    def picked(self) -> PickedPerson | None:
        name = self.edit.text().strip()
        if not name:
            return None
        known = self.by_name.get(name.casefold())
        return PickedPerson(known.id, known.name) if known else PickedPerson(None, name)
