"""The right-click menu every face gets, wherever it is shown, and the actions behind it.

Actions turn into People calls on the session's writer thread; navigation ("Find this face",
"Open photo") goes back to the window through the `Navigator` protocol. Messages name people
and count faces in words ("2 faces moved to Anna"), never ids.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Collection
from enum import Enum
from typing import Any, Protocol

from PySide6.QtCore import QPoint, QUrl
from PySide6.QtGui import QAction, QDesktopServices
from PySide6.QtWidgets import QDialog, QMenu, QMessageBox, QWidget

from ..library import PersonRecord
from . import words
from .merge_dialog import MergeDialog, load_faces
from .models import FaceItem
from .person_picker import Choices, PersonPickerDialog, PickedPerson, load_picker
from .session import LibrarySession
from .tasks import one_line
from .thumbnails import ThumbnailProvider
from .widgets import latest


class Navigator(Protocol):
    def show_face_search(self, face_id: int) -> None: ...
    def show_photo(self, photo_path: str, face_id: int | None = None,
                   stops: list | None = None) -> None: ...
    def show_person(self, person_id: int) -> None: ...


class FaceAction(Enum):
    """What an entry of the face menu does: pages leave entries out by role, tests find
    them by role, whatever the entry's words ("Not Anna", "Ignore these faces")."""

    FIND = "find"
    ASSIGN = "assign"
    NOT_THIS_PERSON = "not this person"
    SET_COVER = "set cover"
    NOT_A_FACE = "not a face"
    IGNORE = "ignore"
    SHOW_PERSON = "show person"
    OPEN_PHOTO = "open photo"
    PLAY_VIDEO = "play video"


def role_of(action: QAction) -> FaceAction | None:
    """The role of a face menu entry (None for a separator or a page's extra entry)."""
    value = action.data()
    return FaceAction(value) if isinstance(value, str) and value in _ROLES else None


def action_with(menu: QMenu, role: FaceAction) -> QAction | None:
    return next((a for a in menu.actions() if role_of(a) is role), None)


_ROLES = {role.value for role in FaceAction}


class FaceActions:
    def __init__(self, session: LibrarySession, navigator: Navigator,
                 known_people: Callable[[], list[PersonRecord]], parent: QWidget,
                 thumbnails: ThumbnailProvider | None = None) -> None:
        self.session = session
        self.navigator = navigator
        self.known_people = known_people
        self.parent = parent
        self.thumbnails = thumbnails
        self.last_menu: QMenu | None = None  # tests reach the open menu through this
        self.last_dialog: QDialog | None = None

    def build_menu(self, faces: list[FaceItem], extra: list[QAction] | None = None,
                   without: Collection[FaceAction] = (), stops: list | None = None) -> QMenu:
        """The menu for these faces; `without` leaves entries out (the photo viewer has no
        use for "Open photo"); `stops` is the list "Open photo" then walks with Left / Right
        (the grid the faces are in), else just that photo."""
        menu = QMenu(self.parent)
        first = faces[0]
        one = len(faces) == 1
        ids = [f.face_id for f in faces]
        in_person = [f for f in faces if f.person_id is not None]

        def add(role: FaceAction, text: str, slot: Callable[[], Any], enabled: bool = True
                ) -> None:
            if role in without:
                return
            action = menu.addAction(text)
            action.setData(role.value)
            action.setEnabled(enabled)
            action.triggered.connect(slot)

        add(FaceAction.FIND, "Find this face",
            lambda: self.navigator.show_face_search(first.face_id), one)
        menu.addSeparator()
        add(FaceAction.ASSIGN, "This is…" if one else f"These {len(faces)} faces are…",
            lambda: self.assign(ids))
        who = first.person_name or "this person"
        add(FaceAction.NOT_THIS_PERSON, f"Not {who}" if one else "Not this person",
            lambda: self.not_this_person([f.face_id for f in in_person],
                                         first.person_name if one else None),
            bool(in_person))
        add(FaceAction.SET_COVER, "Set as cover",
            lambda: self.set_cover(first.person_id, first.face_id),
            one and first.person_id is not None)
        menu.addSeparator()
        add(FaceAction.NOT_A_FACE, "Not a face", lambda: self.set_ignored(ids, True, "not a face"))
        add(FaceAction.IGNORE, "Ignore this face" if one else "Ignore these faces",
            lambda: self.set_ignored(ids, True, "ignored"))
        menu.addSeparator()
        if first.person_id is not None and one:
            add(FaceAction.SHOW_PERSON,
                f"Show {first.person_name}" if first.person_name else "Show this person",
                lambda: self.navigator.show_person(first.person_id))
        video = first.frame_ms is not None
        add(FaceAction.OPEN_PHOTO, "Open video frame" if video else "Open photo",
            lambda: self.navigator.show_photo(first.photo_path, first.face_id, stops), one)
        if video and one:  # the system's player: Facefolio plays no video itself
            add(FaceAction.PLAY_VIDEO, f"Play video (face at {words.clock(first.frame_ms)})",
                lambda: self.play_video(first.photo_path))
        if extra:
            menu.addSeparator()
            for action in extra:
                menu.addAction(action)
        self.last_menu = latest(self.last_menu, menu)
        return menu

    def popup(self, faces: list[FaceItem], pos: QPoint, extra: list[QAction] | None = None,
              without: Collection[FaceAction] = (), stops: list | None = None) -> None:
        if faces:
            self.build_menu(faces, extra, without, stops).popup(pos)

    def play_video(self, path: str) -> bool:
        """Open a video in the computer's own player; one line on the status bar when it
        cannot be (an unplugged drive, no player set up)."""
        if not os.path.exists(path):
            self.session.message.emit(f"Cannot play {words.shown_path(path)}: it is not there "
                                      "now (an unplugged drive, or it was moved).")
            return False
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(path)):
            self.session.message.emit("Cannot play the video: no application on this "
                                      f"computer is set up to open {words.shown_path(path)}.")
            return False
        return True

    # -- naming --------------------------------------------------------------------------
    def assign(self, face_ids: list[int], picked: PickedPerson | None = None) -> None:
        """"This is…": pick (or type) a person for the faces; the likeliest are listed first,
        so the list is loaded (and ranked) in a read task before the dialog opens."""
        ids = list(face_ids)
        if not ids:
            return
        if picked is not None:
            self._assign(ids, picked)
            return
        self.session.read(lambda library: load_picker(library, ids),
                          lambda choices: self._pick(ids, choices))

    def _pick(self, ids: list[int], choices: Choices) -> None:
        dialog = PersonPickerDialog(choices.people, len(ids), self.thumbnails, self.parent,
                                    choices.group)
        self.last_dialog = latest(self.last_dialog, dialog)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        picked = dialog.picked()
        if picked is not None:
            self._assign(ids, picked)

    def _assign(self, ids: list[int], picked: PickedPerson) -> None:
        """One change: the faces, and with `whole_group` the unnamed group they are in."""
        pid, name, whole = picked.person_id, picked.name, picked.whole_group
        who = name or "an unnamed person"

        def change(p) -> str:
            group = p.group_of(ids) if whole else None
            p.name_faces(ids, name=name if pid is None else None, person_id=pid,
                         whole_group=whole)
            if group is not None:
                return f"All {group[1]} faces of the group are {who} (Ctrl+Z to undo)"
            if pid is None:
                return f"Added {who} ({words.plural(len(ids), 'face')})"
            return (f"{words.plural(len(ids), 'face')} now belong to {who}" if len(ids) > 1
                    else f"The face now belongs to {who}")
        self.session.people_write(change, "", self.session.message.emit)

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

    def _merge_dialog(self, people: list[PersonRecord]) -> MergeDialog:
        """The dialog, with each side's faces loaded while it is open."""
        dialog = MergeDialog(people, self.parent, self.thumbnails)
        self.last_dialog = latest(self.last_dialog, dialog)
        ids = [p.id for p in people]
        self.session.read(lambda library: load_faces(library, ids),
                          lambda faces: dialog.show_faces(faces)
                          if self.last_dialog is dialog else None)
        return dialog

    def ask_merge_target(self, people: list[PersonRecord]) -> int | None:
        """Ask which of these people's names stays; their id, or None if cancelled."""
        dialog = self._merge_dialog(people)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        return dialog.result_ids()[0]

    def merge(self, people: list[PersonRecord], then: Callable[[int], Any] | None = None
              ) -> bool:
        """Ask (naming everyone, and which name stays), then merge. False if cancelled."""
        if len(people) < 2:
            return False
        dialog = self._merge_dialog(people)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return False
        target, sources = dialog.result_ids()
        kept = next(p for p in people if p.id == target)
        name = kept.name or next((p.name for p in people if p.name), None)
        done = (f"Merged {words.plural(len(people), 'person')} into "
                f"{name or 'one unnamed person'} (Ctrl+Z to undo)")
        self.session.people_write(lambda p: p.merge(target, sources), done,
                                  (lambda _r: then(target)) if then else None)
        return True

    # -- taking faces out ----------------------------------------------------------------
    def not_this_person(self, face_ids: list[int], who: str | None = None) -> None:
        ids = list(face_ids)
        if ids:
            faces = "The face is" if len(ids) == 1 else f"{len(ids)} faces are"
            done = f"{faces} not {who or 'that person'}, remembered (Ctrl+Z to undo)"
            self.session.people_write(lambda p: p.remove_faces(ids), done)

    def set_ignored(self, face_ids: list[int], ignored: bool, why: str = "ignored") -> None:
        """"Not a face" / "Ignore": hidden everywhere, kept so a rescan does not bring it
        back; undoable."""
        ids = list(face_ids)
        if not ids:
            return
        n = words.plural(len(ids), "face")
        if ignored:
            done = (f"{n} marked as not a face" if why == "not a face" else f"{n} ignored")
        else:
            done = f"{n} shown again"
        self.session.people_write(lambda p: p.set_ignored(ids, ignored),
                                  done + " (Ctrl+Z to undo)")

    def set_cover(self, person_id: int | None, face_id: int) -> None:
        if person_id is not None:
            self.session.people_write(lambda p: p.set_cover(person_id, face_id),
                                      "Cover face changed")

    # -- faces the user draws ------------------------------------------------------------
    def add_drawn_face(self, photo_id: int, box, name_it: bool = True,
                       time_ms: float | None = None) -> None:
        """Embed the drawn box (a read task: decoding and the models; of a video, the frame
        at `time_ms`), store it (the writer), then ask who it is."""
        from ..library.people import drawn  # noqa: PLC0415

        def stored(face_id: int) -> None:
            if name_it:
                self.assign([face_id])
        self.session.read(
            lambda library: drawn.embed_drawn_face(library, photo_id, box, time_ms=time_ms),
            lambda made: self.session.people_write(
                lambda p: drawn.add_drawn_face(p.library, made),
                "Face added (Ctrl+Z to undo)", stored),
            lambda exc: self.session.message.emit(f"Face not added: {one_line(exc)}"))

    def adjust_face(self, face: FaceItem, box) -> None:
        from ..library.people import drawn  # noqa: PLC0415
        if face.photo_id is None:
            return
        old = face.face_id
        self.session.read(
            lambda library: drawn.embed_drawn_face(library, face.photo_id, box,
                                                   time_ms=face.frame_ms),
            lambda made: self.session.people_write(
                lambda p: drawn.replace_face(p.library, old, made),
                "Face box moved (Ctrl+Z to undo)"),
            lambda exc: self.session.message.emit(f"Face box not moved: {one_line(exc)}"))

