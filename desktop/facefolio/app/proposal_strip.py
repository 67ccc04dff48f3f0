"""`ProposalStrip`: "These may be the same person", a row of cards with Yes / No, shown on
the People page (every proposal) and on a person's page (theirs)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from . import words
from .face_actions import FaceActions
from .review import Question, answer
from .review_page import picture_keys
from .session import LibrarySession
from .thumbnails import ThumbnailProvider

_PIC = 64


class ProposalCard(QFrame):
    def __init__(self, question: Question, strip: ProposalStrip) -> None:
        super().__init__()
        self.question = question
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.pictures = [QLabel(), QLabel()]
        pics = QHBoxLayout()
        for label in self.pictures:
            label.setFixedSize(_PIC, _PIC)
            label.setStyleSheet("background: palette(midlight); border-radius: 6px;")
            pics.addWidget(label)
        a, b = question.person, question.other
        names = QLabel(f"{_short(a)}\n{_short(b)}")
        names.setToolTip(question.text)
        alike = QLabel(f"{question.similarity:.0%} alike")
        alike.setStyleSheet("color: palette(placeholder-text);")
        self.yes_button = QPushButton("Same person")
        self.no_button = QPushButton("No")
        self.yes_button.setToolTip(f"Merge them ({question.text})")
        self.no_button.setToolTip("Different people: never proposed again")
        self.yes_button.clicked.connect(lambda: strip.answer(question, True))
        self.no_button.clicked.connect(lambda: strip.answer(question, False))
        buttons = QHBoxLayout()
        buttons.addWidget(self.yes_button)
        buttons.addWidget(self.no_button)
        text = QVBoxLayout()
        text.addWidget(names)
        text.addWidget(alike)
        text.addLayout(buttons)
        # Pictures beside the words: a low card, so the gallery below keeps its room.
        layout = QHBoxLayout(self)
        layout.addLayout(pics)
        layout.addLayout(text)

    def refresh(self, thumbnails: ThumbnailProvider) -> None:
        for label, key in zip(self.pictures, picture_keys(self.question)):
            pixmap = thumbnails.pixmap(key) if key else None
            if isinstance(pixmap, QPixmap) and pixmap.width() > 1:
                label.setPixmap(pixmap.scaled(_PIC, _PIC, Qt.AspectRatioMode.KeepAspectRatio,
                                              Qt.TransformationMode.SmoothTransformation))


class ProposalStrip(QWidget):
    def __init__(self, session: LibrarySession, thumbnails: ThumbnailProvider,
                 actions: FaceActions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.thumbnails = thumbnails
        self.actions = actions
        self.cards: list[ProposalCard] = []
        self.title = QLabel()
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.row = QHBoxLayout()
        self.row.setContentsMargins(0, 0, 0, 0)
        inner = QWidget()
        inner.setLayout(self.row)
        self.scroll = QScrollArea()
        self.scroll.setWidget(inner)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.scroll)
        thumbnails.ready.connect(lambda _keys: [c.refresh(thumbnails) for c in self.cards])
        self.setVisible(False)

    def set_questions(self, questions: list[Question]) -> None:
        same = [(q.key, q.similarity, q.person, q.other) for q in questions]
        if same == [(c.question.key, c.question.similarity, c.question.person,
                     c.question.other) for c in self.cards]:
            return  # a reload with nothing new: keep the cards (and the user's scroll)
        while self.row.count():  # the old cards and the trailing stretch
            widget = self.row.takeAt(0).widget()
            if widget is not None:
                widget.hide()
                widget.deleteLater()
        self.cards = [ProposalCard(q, self) for q in questions]
        for card in self.cards:
            self.row.addWidget(card)
            card.refresh(self.thumbnails)
        self.row.addStretch(1)
        n = len(questions)
        self.title.setText(f"These may be the same person ({n})" if n > 1
                           else "These may be the same person")
        self.scroll.setFixedHeight(self.cards[0].sizeHint().height() + 18 if self.cards else 0)
        self.setVisible(bool(questions))

    def answer(self, question: Question, yes: bool) -> None:
        target = self.actions.ask_merge_target([question.person, question.other]) \
            if yes and question.both_named else None
        if yes and question.both_named and target is None:
            return
        for card in self.cards:
            if card.question.key == question.key:
                card.setEnabled(False)  # until the reload after the write removes it
        self.session.people_write(lambda p: answer(p, question, yes, target),
                                  on_result=lambda what: self.session.message.emit(
                                      what + " (Ctrl+Z to undo)"))


def _short(person) -> str:
    return person.name or f"Unnamed ({words.plural(person.face_count, 'photo')})"
