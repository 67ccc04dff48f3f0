"""The right-click menu every face gets, wherever it is shown, and the actions behind it.

Actions turn into People calls on the session's writer thread; navigation ("Find this face",
"Open photo") goes back to the window through the `Navigator` protocol.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import QPoint
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog, QMenu, QMessageBox, QWidget

from ..library import PersonRecord
from .models import FaceItem
from .person_picker import PersonPickerDialog
from .session import LibrarySession


class Navigator(Protocol):
    def show_face_search(self, face_id: int) -> None: ...
    def show_photo(self, photo_path: str, face_id: int | None = None) -> None: ...
    def show_person(self, person_id: int) -> None: ...


class FaceActions:
    def __init__(self, session: LibrarySession, navigator: Navigator,
                 known_people: Callable[[], list[PersonRecord]], parent: QWidget) -> None:
        self.session = session
        self.navigator = navigator
        self.known_people = known_people
        self.parent = parent
        self.last_menu: QMenu | None = None  # tests reach the open menu through this

    def build_menu(self, faces: list[FaceItem], extra: list[QAction] | None = None) -> QMenu:
        menu = QMenu(self.parent)
        first = faces[0]
        ids = [f.face_id for f in faces]
        find = menu.addAction("Find this face")
        find.triggered.connect(lambda: self.navigator.show_face_search(first.face_id))
        find.setEnabled(len(faces) == 1)
        menu.addSeparator()
        label = "This is…" if len(faces) == 1 else f"These {len(faces)} faces are…"
        menu.addAction(label).triggered.connect(lambda: self.assign(ids))
        in_person = [f for f in faces if f.person_id is not None]
        who = first.person_name or "this person"
        not_this = menu.addAction(f"Not {who}" if len(faces) == 1 else "Not this person")
        not_this.setEnabled(bool(in_person))
        not_this.triggered.connect(lambda: self.not_this_person([f.face_id for f in in_person]))
        cover = menu.addAction("Set as cover")
        cover.setEnabled(len(faces) == 1 and first.person_id is not None)
        cover.triggered.connect(lambda: self.set_cover(first.person_id, first.face_id))
        menu.addSeparator()
        if first.person_id is not None and len(faces) == 1:
            menu.addAction(f"Show {first.who}").triggered.connect(
                lambda: self.navigator.show_person(first.person_id))
        photo = menu.addAction("Open photo")
        photo.setEnabled(len(faces) == 1)
        photo.triggered.connect(lambda: self.navigator.show_photo(first.photo_path,
                                                                  first.face_id))
        if extra:
            menu.addSeparator()
            for action in extra:
                menu.addAction(action)
        self.last_menu = menu
        return menu

    def popup(self, faces: list[FaceItem], pos: QPoint, extra: list[QAction] | None = None,
              hide: tuple[str, ...] = ()) -> None:
        if faces:
            menu = self.build_menu(faces, extra)
            for action in menu.actions():
                if action.text() in hide:
                    action.setVisible(False)
            menu.popup(pos)

    # -- the actions ---------------------------------------------------------------------
    def assign(self, face_ids: list[int], picked=None) -> None:
        """"This is…": pick (or type) a person for the faces."""
        if picked is None:
            dialog = PersonPickerDialog(self.known_people(), len(face_ids), self.parent)
            if dialog.exec() != QDialog.DialogCode.Accepted:
                return
            picked = dialog.picked()
            if picked is None:
                return
        ids = list(face_ids)
        if picked.person_id is not None:
            pid = picked.person_id
            self.session.people_write(lambda p: p.move_faces(ids, pid),
                                      f"{len(ids)} face(s) now belong to {picked.name}")
        else:
            name = picked.name
            self.session.people_write(lambda p: p.create_person(ids, name=name),
                                      f"Added {name}")

    def name_person(self, person_id: int, name: str, follow: bool = False) -> None:
        """Name a person; if someone else already has this name, offer to merge them
        (what Google Photos and Apple Photos do), else there are simply two of that name."""
        twin = next((p for p in self.known_people() if p.id != person_id and p.name
                     and p.name.casefold() == name.casefold()), None)
        if twin is not None:
            answer = QMessageBox.question(
                self.parent, "Same person?",
                f"{twin.name} already exists. Is this the same person?\n\n"
                "Yes merges them; No keeps two people with this name.",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No |
                QMessageBox.StandardButton.Cancel)
            if answer == QMessageBox.StandardButton.Cancel:
                return
            if answer == QMessageBox.StandardButton.Yes:
                tid = twin.id
                # From the person's own page, follow them into the person they joined.
                then = (lambda _r: self.navigator.show_person(tid)) if follow else None
                self.session.people_write(lambda p: p.merge(tid, [person_id]),
                                          f"Merged into {twin.name} (Ctrl+Z to undo)", then)
                return
        self.session.people_write(lambda p: p.name(person_id, name), f"Named {name}")

    def not_this_person(self, face_ids: list[int]) -> None:
        ids = list(face_ids)
        if ids:
            self.session.people_write(lambda p: p.remove_faces(ids),
                                      f"Removed {len(ids)} face(s) from the person")

    def set_cover(self, person_id: int | None, face_id: int) -> None:
        if person_id is not None:
            self.session.people_write(lambda p: p.set_cover(person_id, face_id),
                                      "Cover face changed")
