"""Search results: faces most like a face (or like the faces in an outside photo)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..library import Library, LibraryError
from .face_actions import FaceActions
from .grid_pages import FaceGridMixin
from .models import FaceItem, FaceListModel, SimilarityFilterProxy
from .page import Page
from .session import LibrarySession
from .thumbnails import ThumbnailProvider
from .tile_view import TileGridView

_TOP = 200


@dataclass(frozen=True)
class SearchAnswer:
    title: str
    results: list[FaceItem]


def search_face(library: Library, face_id: int) -> SearchAnswer:
    face = library.face(face_id)
    who = face.person_name or ("an unnamed person" if face.person_id else "an unknown face")
    # The face searched for leads the results, so "Assign to person…" can take it along.
    results = [FaceItem(face.id, face.photo_path, face.box, face.person_id, face.person_name,
                        1.0)]
    results += [FaceItem.from_result(r) for r in library.search_face(face_id, top=_TOP)]
    return SearchAnswer(f"Faces like {who} in {Path(face.photo_path).name}", results)


@dataclass(frozen=True)
class PhotoQuery:
    """The faces found in an outside photo: detected once, searched again on every reload."""

    path: str
    embeddings: list[np.ndarray]


def detect_photo(library: Library, path: str) -> PhotoQuery:
    from ..engine import get_engine  # noqa: PLC0415 - heavy; one engine per read thread
    from ..library import faces_in_image  # noqa: PLC0415
    s = library.settings
    engine = get_engine(s.pack, det_threshold=s.det_threshold, min_face=s.min_face)
    faces = faces_in_image(library, path, engine)
    if not faces:
        raise LibraryError(f"no face found in {Path(path).name}")
    return PhotoQuery(path, [np.asarray(f.embedding, np.float32) for f in faces])


def search_photo(library: Library, query: PhotoQuery) -> SearchAnswer:
    """Every face of the photo matched against the library, best first."""
    best: dict[int, FaceItem] = {}
    matches: list[str] = []
    for embedding in query.embeddings:
        found = library.search_vector(embedding, pack=library.settings.pack, top=_TOP)
        for r in found:
            if r.face_id not in best or best[r.face_id].similarity < r.similarity:
                best[r.face_id] = FaceItem.from_result(r)
        if found and found[0].person_name:
            matches.append(f"{found[0].person_name} ({found[0].similarity:.0%})")
    results = sorted(best.values(), key=lambda f: -(f.similarity or 0))
    n = len(query.embeddings)
    title = f"{n} face{'s' if n != 1 else ''} in {Path(query.path).name}"
    if matches:
        title += ": looks like " + ", ".join(matches)
    return SearchAnswer(title, results)


class SearchPage(FaceGridMixin, Page):
    def __init__(self, session: LibrarySession, thumbnails: ThumbnailProvider,
                 actions: FaceActions, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.actions = actions
        self.query: tuple[str, object] | None = None
        back = QToolButton(text="‹ Back", autoRaise=True)
        back.clicked.connect(lambda: self.window().go_back())
        self.heading = QLabel(wordWrap=True)
        font = self.heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        self.heading.setFont(font)
        head = QHBoxLayout()
        head.addWidget(back)
        head.addWidget(self.heading, 1)

        self.model = FaceListModel(thumbnails, self)
        self.proxy = SimilarityFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.slider = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=100, value=40)
        self.slider.setToolTip("Show only faces at least this similar")
        self.slider.valueChanged.connect(self._threshold)
        self.slider_label = QLabel()
        self.slider_label.setMinimumWidth(160)
        self.assign_button = QPushButton("Assign to person…")
        self.assign_button.clicked.connect(
            lambda: self.actions.assign([f.face_id for f in self.selected()]))
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Similarity at least"))
        bar.addWidget(self.slider, 1)
        bar.addWidget(self.slider_label)
        bar.addWidget(self.assign_button)

        self.view = TileGridView(112)
        self.view.setModel(self.proxy)
        self.view.contextRequested.connect(self._menu)
        self.view.doubleClicked.connect(self._open)
        self.view.selectionModel().selectionChanged.connect(lambda *_: self._update())
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        self._threshold(self.slider.value())

    def search_face(self, face_id: int) -> None:
        self.query = ("face", face_id)
        self.heading.setText("Searching…")
        self.model.set_rows([])
        self.reload()

    def search_photo(self, path: str) -> None:
        self.query = ("photo", path)
        self.heading.setText(f"Looking for faces in {Path(path).name}…")
        self.model.set_rows([])
        self.reload()

    def reload(self) -> None:
        super().reload()
        if self.query is None:
            return
        kind, value = self.query
        if kind == "face":
            self.load(lambda library: search_face(library, value), self._apply, self._failed)
        elif kind == "photo":
            def detect_and_search(library: Library) -> tuple[PhotoQuery, SearchAnswer]:
                query = detect_photo(library, value)
                return query, search_photo(library, query)
            self.load(detect_and_search, self._apply_photo, self._failed)
        else:
            self.load(lambda library: search_photo(library, value), self._apply)

    def _failed(self, reason: str) -> None:
        self.heading.setText(reason[:1].upper() + reason[1:])
        self.model.set_rows([])
        self._update()

    def _apply_photo(self, answer: tuple[PhotoQuery, SearchAnswer]) -> None:
        query, found = answer
        self.query = ("vectors", query)  # reloads search again without detecting again
        self._apply(found)

    def _apply(self, answer: SearchAnswer) -> None:
        self.heading.setText(answer.title)
        self.model.set_rows(answer.results)
        self._update()

    def _threshold(self, value: int) -> None:
        self.proxy.set_min_similarity(value / 100)
        self._update()

    def _update(self) -> None:
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        self.slider_label.setText(f"{self.slider.value()}%: {shown} of {total} faces")
        self.assign_button.setEnabled(bool(self.selected()))
