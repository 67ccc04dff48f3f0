"""Search results: faces most like a face, or like each face of an outside photo (one group
per face of that photo, headed by the face itself)."""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..library import Library
from ..library.photos.search import (
    FaceModelError,
    FoundFace,
    NoFaceError,
    PackNotInstalledError,
    detect_faces,
    search_faces,
)
from . import words
from .face_actions import FaceActions
from .models import FaceItem, face_items, result_items
from .page import Page
from .search_groups import ResultGroup, SearchGroup
from .session import LibrarySession
from .tasks import one_line
from .thumbnails import ThumbnailProvider

_TOP = 200
DEFAULT_SIMILARITY = 40  # percent: where the slider starts on every new search


@dataclass(frozen=True)
class SearchAnswer:
    title: str
    groups: list[ResultGroup]


def search_face(library: Library, face_id: int) -> SearchAnswer:
    face = library.face(face_id)
    # "the face of Anna", "a face of an unnamed person", "an unknown face": never "the face
    # of an unknown face".
    whose = (f"{face.person_name}'s face" if face.person_name else
             "a face of an unnamed person" if face.person_id else "an unknown face")
    # The face searched for leads the results, so "Assign to person…" can take it along.
    results = face_items(library, [face], {face.id: 1.0})
    results += result_items(library, library.search_face(face_id, top=_TOP))
    where = words.file_name(face.photo_path)
    return SearchAnswer(f"Faces like {whose} in {where}",
                        [ResultGroup(f"{whose[:1].upper()}{whose[1:]} in {where}, then the "
                                     "most similar", results)])


@dataclass(frozen=True)
class PhotoQuery:
    """The faces found in an outside photo: detected once, searched again on every reload."""

    path: str
    faces: list[FoundFace]
    heads: list[QImage]  # each face's crop, made on the read thread


def detect_photo(library: Library, path: str) -> PhotoQuery:
    """Detect the photo's faces (the library's model pack) and crop each for its group."""
    from .thumbnails import face_crop, to_qimage  # noqa: PLC0415
    found = detect_faces(library, path)
    heads = [to_qimage(face_crop(found.pixels, found.scale, f.box)) for f in found.faces]
    return PhotoQuery(path, found.faces, heads)


def search_photo(library: Library, query: PhotoQuery) -> SearchAnswer:
    """Each face of the photo matched against the library: one group per face."""
    groups = []
    n = len(query.faces)
    matches = search_faces(library, query.faces, top=_TOP)
    for i, (found, head) in enumerate(zip(matches, query.heads), 1):
        items = result_items(library, found)
        title = f"Face {i} of {n}" if n > 1 else "The face"
        best = next((f for f in items if f.person_name), None)
        if best is not None:
            title += f": looks like {best.person_name} ({best.similarity:.0%})"
        groups.append(ResultGroup(title, items, head))
    name = words.file_name(query.path)
    return SearchAnswer(f"{words.plural(n, 'face')} in {name}", groups)


def problem(exc: Exception) -> str:
    """What went wrong with a search, in the app's words (menus named)."""
    if isinstance(exc, PackNotInstalledError):
        return (f"The face model '{exc.pack}' chosen in Settings is not installed. Put its "
                f".onnx files in {exc.folder}, or choose 'yunet-sface' (built in) in File > "
                "Settings. Facefolio never downloads models.")
    if isinstance(exc, NoFaceError):
        return f"No face found in {words.file_name(exc.path)}"
    text = one_line(exc)
    text = text[:1].upper() + text[1:]
    return f"{text}. Choose another in File > Settings." if isinstance(exc, FaceModelError) \
        else text


class SearchPage(Page):
    def __init__(self, session: LibrarySession, thumbnails: ThumbnailProvider,
                 actions: FaceActions, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.actions = actions
        self.thumbnails = thumbnails
        # What is searched: a face id, a photo not yet looked at (its path), or a photo's
        # faces found already (a reload searches again without detecting again).
        self.query: int | str | PhotoQuery | None = None
        self.groups: list[SearchGroup] = []
        back = QToolButton(text="‹ Back", autoRaise=True)
        back.clicked.connect(lambda: self.window().go_back())
        self.heading = QLabel(wordWrap=True)
        font = self.heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        self.heading.setFont(font)
        self.heading.setMinimumWidth(100)
        head = QHBoxLayout()
        head.addWidget(back)
        head.addWidget(self.heading, 1)

        self.slider = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=100,
                              value=DEFAULT_SIMILARITY)
        self.slider.setToolTip("Show only faces at least this similar")
        self.slider.setMinimumWidth(80)
        self.slider.valueChanged.connect(self._threshold)
        self.slider_label = QLabel()
        # As wide as its longest text: a label that grows with the counts would clip (and
        # move the button) as the slider moves.
        self.slider_label.setMinimumWidth(
            self.slider_label.fontMetrics().horizontalAdvance("100%: 9999 of 9999 shown") + 6)
        self.assign_button = QPushButton("Assign to person…")
        self.assign_button.clicked.connect(
            lambda: self.actions.assign([f.face_id for f in self.selected()]))
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Similarity at least"))
        bar.addWidget(self.slider, 1)
        bar.addWidget(self.slider_label)
        bar.addWidget(self.assign_button)

        self.body = QVBoxLayout()
        self.body.addStretch(1)
        inner = QWidget()
        inner.setLayout(self.body)
        self.scroll = QScrollArea()
        self.scroll.setWidget(inner)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addLayout(bar)
        layout.addWidget(self.scroll, 1)
        self._threshold(self.slider.value())

    # -- what the first group holds (the whole answer for "Find this face") ---------------
    @property
    def model(self):
        return self.groups[0].model if self.groups else _EMPTY

    @property
    def proxy(self):
        return self.groups[0].proxy if self.groups else _EMPTY

    @property
    def view(self):
        return self.groups[0].view if self.groups else None

    def selected(self) -> list[FaceItem]:
        return [f for g in self.groups for f in g.selected()]

    # -- searching -----------------------------------------------------------------------
    def _start(self, query: int | str, heading: str) -> None:
        self.query = query
        self.heading.setText(heading)
        self.slider.setValue(DEFAULT_SIMILARITY)  # a new search starts from the default
        self._set_groups([])
        self.reload()

    def search_face(self, face_id: int) -> None:
        self._start(int(face_id), "Searching…")

    def search_photo(self, path: str) -> None:
        self._start(str(path), f"Looking for faces in {words.file_name(path)}…")

    def reload(self) -> None:
        super().reload()
        if self.query is None:
            return
        query = self.query
        if isinstance(query, PhotoQuery):
            self.load(lambda library: search_photo(library, query), self._apply)
        elif isinstance(query, int):
            self.load(lambda library: search_face(library, query), self._apply, self._failed)
        else:
            def detect_and_search(library: Library) -> tuple[PhotoQuery, SearchAnswer]:
                found = detect_photo(library, query)
                return found, search_photo(library, found)
            self.load(detect_and_search, self._apply_photo, self._failed)

    def _failed(self, exc: Exception) -> None:
        self.heading.setText(problem(exc))
        self._set_groups([])

    def _apply_photo(self, answer: tuple[PhotoQuery, SearchAnswer]) -> None:
        query, found = answer
        self.query = query  # reloads search again without detecting again
        self._apply(found)

    def _apply(self, answer: SearchAnswer) -> None:
        self.heading.setText(answer.title)
        self._set_groups(answer.groups)

    def _set_groups(self, groups: list[ResultGroup]) -> None:
        # Same groups (a reload after naming someone): update the tiles in place.
        if groups and len(groups) == len(self.groups) and all(
                a.group.title.split(":")[0] == b.title.split(":")[0]
                for a, b in zip(self.groups, groups)):
            for widget, group in zip(self.groups, groups):
                widget.group = group
                widget.model.set_rows(group.results)
                widget.title.setText(group.title)
                widget.set_min_similarity(self.slider.value() / 100)
            self._update()
            return
        for widget in self.groups:
            self.body.removeWidget(widget)
            widget.hide()  # gone from the screen now, deleted when the event loop gets to it
            widget.deleteLater()
        self.groups = []
        for group in groups:
            widget = SearchGroup(group, self.thumbnails, self.slider.value() / 100)
            widget.view.contextRequested.connect(self._menu)
            widget.view.doubleClicked.connect(self._open)
            widget.view.selectionUpdated.connect(self._update)
            self.body.insertWidget(self.body.count() - 1, widget)
            self.groups.append(widget)
        self._update()

    def _threshold(self, value: int) -> None:
        for group in self.groups:
            group.set_min_similarity(value / 100)
        self._update()

    def _update(self) -> None:
        shown = sum(g.proxy.rowCount() for g in self.groups)
        total = sum(g.model.rowCount() for g in self.groups)
        self.slider_label.setText(f"{self.slider.value()}%: {shown} of {total} shown")
        self.slider_label.setToolTip(f"{shown} of the {total} most similar faces are at least "
                                     f"{self.slider.value()}% similar")
        self.assign_button.setEnabled(bool(self.selected()))

    def _menu(self, index, pos) -> None:
        if index.isValid():
            self.actions.popup(self.selected(), pos)

    def _open(self, index) -> None:
        from .roles import RecordRole  # noqa: PLC0415
        face: FaceItem = index.data(RecordRole)
        stops = [(f.photo_path, f.face_id) for g in self.groups for f in g.model.rows]
        self.actions.navigator.show_photo(face.photo_path, face.face_id, stops)


class _Empty:
    rows: list = []

    def rowCount(self) -> int:  # noqa: N802 - Qt's name
        return 0


_EMPTY = _Empty()
