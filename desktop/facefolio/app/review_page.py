"""Review: every question Facefolio has (suggestions and merge proposals) in one queue, best
evidence first, answered with the keyboard: Y yes, N no, S skip, arrows to move."""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QIcon, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..library.people.questions import QuestionKind
from . import words
from .face_actions import FaceActions
from .page import Page
from .review import Question, answer, load_review
from .session import LibrarySession
from .thumbnails import ThumbnailProvider

_BIG = 180


def picture_keys(q: Question) -> list[tuple[str, int] | None]:
    """The two pictures of a question: the face asked about and the person's face most like
    it (else their cover); for a proposal, the two people's most alike faces (else covers)."""
    if q.pair is not None:
        return [("face", q.pair[0]), ("face", q.pair[1])]
    if q.face is not None and q.match is not None:
        return [("face", q.face.face_id), ("face", q.match)]
    first = ("face", q.face.face_id) if q.face is not None else \
        (("face", q.person.cover_face_id) if q.person.cover_face_id else None)
    other = q.person if q.face is not None else q.other
    second = ("face", other.cover_face_id) if other and other.cover_face_id else None
    return [first, second]


_HIDDEN_ASK_MS = 1000  # the pause between asks while the page is behind another


class ReviewPage(Page):
    title = "Review"
    countChanged = Signal(int)

    def __init__(self, session: LibrarySession, thumbnails: ThumbnailProvider,
                 actions: FaceActions, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.thumbnails = thumbnails
        self.actions = actions
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # holds the keys while the list is gone
        self.questions: list[Question] = []
        self.answered: set[tuple] = set()  # sent to the writer, not written yet
        self.skipped: list[tuple] = []
        self._more = QTimer(self, singleShot=True, interval=_HIDDEN_ASK_MS)
        self._more.timeout.connect(lambda: self.load(load_review, self._apply_review))
        self.heading = QLabel(wordWrap=True)
        font = self.heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setWeight(QFont.Weight.DemiBold)
        self.heading.setFont(font)
        self.detail = QLabel(wordWrap=True)
        self.detail.setStyleSheet("color: palette(placeholder-text);")
        self.pictures = [QLabel(), QLabel()]
        for label in self.pictures:
            label.setFixedSize(_BIG, _BIG)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setStyleSheet("background: palette(midlight); border-radius: 8px;")
        top = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop  # captions of 1-2 lines
        self.captions = [QLabel(alignment=top) for _ in range(2)]
        self.yes_button = QPushButton("Yes (Y)")
        self.no_button = QPushButton("No (N)")
        self.skip_button = QPushButton("Skip (S)")
        self.yes_button.clicked.connect(lambda: self.answer_current(True))
        self.no_button.clicked.connect(lambda: self.answer_current(False))
        self.skip_button.clicked.connect(self.skip)
        self.open_button = QPushButton("Open photo")
        self.open_button.clicked.connect(self._open_photo)

        pics = QHBoxLayout()
        for label, caption in zip(self.pictures, self.captions):
            column = QVBoxLayout()
            column.addWidget(label)
            column.addWidget(caption)
            pics.addLayout(column)
        pics.addStretch(1)
        buttons = QHBoxLayout()
        for b in (self.yes_button, self.no_button, self.skip_button, self.open_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        card = QVBoxLayout()
        card.addWidget(self.heading)
        card.addWidget(self.detail)
        card.addLayout(pics)
        card.addLayout(buttons)

        self.list = QListWidget()
        self.list.setIconSize(QSize(40, 40))
        self.list.setUniformItemSizes(True)
        self.list.currentRowChanged.connect(lambda _r: self._show_current())
        self.summary = QLabel()
        layout = QVBoxLayout(self)
        layout.addLayout(card)
        layout.addWidget(self.summary)
        layout.addWidget(self.list, 1)
        layout.addStretch(0)  # takes the room only while the list is hidden (nothing to ask)
        thumbnails.ready.connect(lambda _keys: self._refresh_pictures())
        for key, slot in (("Y", lambda: self.answer_current(True)),
                          ("N", lambda: self.answer_current(False)), ("S", self.skip),
                          ("Right", lambda: self.move(1)), ("Left", lambda: self.move(-1))):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        self._show_current()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        # Y, N, S and the arrows answer as soon as the page is on screen, without a click
        # into it first (they belong to this page, so a text field elsewhere never sees them).
        self.list.setFocus(Qt.FocusReason.OtherFocusReason)

    # -- loading -------------------------------------------------------------------------
    def reload(self) -> None:
        super().reload()
        self._more.stop()
        self.load(load_review, self._apply_review)

    def _apply_review(self, loaded: tuple[list[Question], bool]) -> None:
        questions, complete = loaded
        self._apply(questions)
        if not complete:
            # More suggestions to bring up to date: ask again (a read task: the window and
            # the edits never wait for it). On screen at once; behind another page a moment
            # later, so the sidebar's count comes right without this page taking a core
            # from the one the user is looking at.
            if self.isVisible():
                self.load(load_review, self._apply_review)
            else:
                self._more.start()

    def _apply(self, questions: list[Question]) -> None:
        current = self.current()
        # A question whose answer is still on its way to the writer stays off the list.
        fresh = [q for q in questions if q.key not in self.answered]
        # Skipped questions go to the back of the queue until the user comes round again.
        order = {k: i for i, k in enumerate(self.skipped)}
        fresh.sort(key=lambda q: (q.key in order, order.get(q.key, 0)))
        if fresh == self.questions:
            return  # nothing new (a reload during a scan): no rebuild, no flicker
        self.questions = fresh
        self.list.blockSignals(True)
        self.list.clear()
        for q in fresh:
            why = "the age differs" if q.kind is QuestionKind.AGE else \
                f"{q.similarity:.0%} alike"
            item = QListWidgetItem(f"{q.text}  ·  {why}")
            self.list.addItem(item)
        row = next((i for i, q in enumerate(fresh) if current and q.key == current.key), 0)
        self.list.setCurrentRow(row if fresh else -1)
        self.list.blockSignals(False)
        self._refresh_icons()
        self._show_current()
        self.countChanged.emit(len(fresh))

    # -- the current question ------------------------------------------------------------
    def current(self) -> Question | None:
        row = self.list.currentRow()
        return self.questions[row] if 0 <= row < len(self.questions) else None

    def _show_current(self) -> None:
        q = self.current()
        # Nothing to ask: the heading and its explanation alone, no empty frames or list.
        # Hiding the focused list (nothing left to ask) would send the focus out of the
        # page, and Y / N / S with it: keep the focus here, and on the list once it is back.
        focus = QApplication.focusWidget()
        ours = focus is None or focus is self or self.isAncestorOf(focus)
        for w in (*self.pictures, *self.captions, self.yes_button, self.no_button,
                  self.skip_button):
            w.setVisible(q is not None)
        self.list.setVisible(bool(self.questions))
        if ours and self.isVisible():
            (self.list if self.questions else self).setFocus(Qt.FocusReason.OtherFocusReason)
        self.open_button.setVisible(q is not None and q.face is not None)
        n = len(self.questions)
        self.summary.setText(f"{words.plural(n, 'question')} left" if n else "")
        if q is None:
            self.heading.setText("Nothing to review")
            self.detail.setText("When Facefolio is unsure whether a face is someone you named, "
                                "or whether two groups are one person, it asks here.")
            for label, caption in zip(self.pictures, self.captions):
                label.clear()
                caption.clear()
            return
        self.heading.setText(q.text)
        if q.kind.of_a_face:
            where = f"In {words.file_name(q.face.photo_path)}" + (
                f", {q.face.photo_note}" if q.face.photo_note else "")
            self.detail.setText(
                f"{q.similarity:.0%} alike. {where}." if q.kind is QuestionKind.SUGGESTION
                else f"This face {q.asked.note} (an estimate). {where}. Yes keeps it with "
                     f"{q.person.name or 'this person'}; No takes it out.")
            captions = ["This face", q.person.name or "Unnamed"]
            if q.match_photo:  # where the face beside it is from: the evidence, traceable
                metrics = self.captions[1].fontMetrics()
                captions[1] += "\n" + metrics.elidedText(
                    f"in {words.file_name(q.match_photo)}", Qt.TextElideMode.ElideMiddle, _BIG)
        else:
            self.detail.setText(f"{q.similarity:.0%} alike on average. Yes merges them; "
                                "No keeps them apart for good.")
            captions = [_caption(q.person), _caption(q.other)]
        for caption, text in zip(self.captions, captions):
            caption.setText(text)
        self._refresh_pictures()

    def _refresh_pictures(self) -> None:
        q = self.current()
        if q is None:
            return
        for label, key in zip(self.pictures, picture_keys(q)):
            pixmap = self.thumbnails.pixmap(key) if key else None
            if isinstance(pixmap, QPixmap) and pixmap.width() > 1:
                label.setPixmap(pixmap.scaled(_BIG, _BIG, Qt.AspectRatioMode.KeepAspectRatio,
                                              Qt.TransformationMode.SmoothTransformation))
            else:
                label.clear()
        self._refresh_icons()

    def _refresh_icons(self) -> None:
        for row, q in enumerate(self.questions[:200]):
            item = self.list.item(row)
            key = picture_keys(q)[0]
            if item is None or key is None or not item.icon().isNull():
                continue
            pixmap = self.thumbnails.pixmap(key)
            if isinstance(pixmap, QPixmap) and pixmap.width() > 1:
                item.setIcon(QIcon(pixmap))

    # -- answering -----------------------------------------------------------------------
    def move(self, delta: int) -> None:
        if self.questions:
            row = min(max(self.list.currentRow() + delta, 0), len(self.questions) - 1)
            self.list.setCurrentRow(row)

    def skip(self) -> None:
        q = self.current()
        if q is None:
            return
        self.skipped = [k for k in self.skipped if k != q.key] + [q.key]
        if self.list.currentRow() >= len(self.questions) - 1:
            self.list.setCurrentRow(0)  # the last one skipped: round to the first again
        else:
            self.move(1)

    def answer_current(self, yes: bool) -> None:
        q = self.current()
        if q is None:
            return
        target = self.actions.ask_merge_target([q.person, q.other]) \
            if yes and q.both_named else None
        if yes and q.both_named and target is None:
            return  # the user cancelled the question of which name stays
        self.answered.add(q.key)
        row = self.list.currentRow()
        # Take it off the list now (the reload after the write confirms it): the next
        # question is on screen before the writer has even started.
        self.questions.pop(row)
        self.list.takeItem(row)
        self.list.setCurrentRow(min(row, len(self.questions) - 1))
        self._show_current()
        self.countChanged.emit(len(self.questions))
        task = self.session.people_write(lambda p: answer(p, q, yes, target),
                                         on_result=self._said)
        # Written (or failed): from now on the library says whether the question is open
        # (an undo brings it back).
        task.signals.finished.connect(lambda: self.answered.discard(q.key))

    def _said(self, what: str) -> None:
        self.session.message.emit(what + " (Ctrl+Z to undo)")

    def _open_photo(self) -> None:
        q = self.current()
        if q is not None and q.face is not None:
            self.actions.navigator.show_photo(q.face.photo_path, q.face.face_id)


def _caption(person) -> str:
    return f"{person.name or 'Unnamed'} · {words.plural(person.face_count, 'photo')}"
