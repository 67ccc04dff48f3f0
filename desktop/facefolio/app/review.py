"""The library's questions (`library/people/questions.py`) as the Review page, the people pages and
their proposal strips show them: the face asked about as a tile, and the question and each
answer in words. Loading runs in read tasks; answering on the writer thread.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..library import Library, PersonRecord
from ..library.people import questions
from ..library.people.questions import Outcome, QuestionKind
from . import words
from .models import FaceItem, face_items

if TYPE_CHECKING:
    from ..library.people.people import People


@dataclass(frozen=True)
class Question:
    """A library question with what its card shows: the face asked about as a tile."""

    asked: questions.Question
    face: FaceItem | None = None  # a suggestion's face, with its photo's date and state

    @property
    def kind(self) -> QuestionKind:
        return self.asked.kind

    @property
    def person(self) -> PersonRecord:
        return self.asked.person

    @property
    def other(self) -> PersonRecord | None:
        return self.asked.other

    @property
    def similarity(self) -> float:
        return self.asked.similarity

    @property
    def pair(self) -> tuple[int, int] | None:
        return self.asked.pair

    @property
    def match(self) -> int | None:
        return self.asked.match

    @property
    def match_photo(self) -> str | None:
        return self.asked.match_photo

    @property
    def key(self) -> tuple:
        return self.asked.key

    @property
    def both_named(self) -> bool:
        return self.asked.both_named

    @property
    def text(self) -> str:
        if self.kind.of_a_face:
            return f"Is this {self.person.name or 'the same person'}?"
        return f"Are {_who(self.person)} and {_who(self.other)} the same person?"


def _who(person: PersonRecord) -> str:
    return person.name or f"this unnamed person ({words.plural(person.face_count, 'photo')})"


def shown(library: Library, found: list[questions.Question]) -> list[Question]:
    """The questions with their faces as tiles (read task), in their order."""
    items = {f.face_id: f for f in face_items(library, [q.face for q in found if q.face])}
    return [Question(q, items.get(q.face.id) if q.face else None) for q in found
            if q.face is None or q.face.id in items]


def proposals(library: Library, limit: int = questions.PROPOSALS, person_id: int | None = None
              ) -> list[Question]:
    """Merge proposals, best first; those of one person (them first) when given."""
    return shown(library, questions.proposals(library, limit, person_id))


def load_questions(library: Library) -> list[Question]:
    """Every open question the library has at hand, best evidence first (the review queue)."""
    return load_review(library)[0]


def load_review(library: Library) -> tuple[list[Question], bool]:
    """The review queue within a time budget, and whether it is complete (if not, the page
    shows these and asks again: each ask brings more named people's suggestions up to date,
    those an edit touched first)."""
    found, complete = questions.review_queue(library, questions.REVIEW_BUDGET_S)
    return shown(library, found), complete


def answer(people: People, question: Question, yes: bool, target: int | None = None) -> str:
    """Answer on the writer thread; returns what happened, for the status bar."""
    done = questions.answer(people, question.asked, yes, target)
    who = done.person.name
    if done.outcome is Outcome.ADDED:
        return f"Added to {who or 'this person'}"
    if done.outcome is Outcome.NOT_THEM:
        return f"Not {who or 'this person'}: remembered"
    if done.outcome is Outcome.KEPT_APART:
        return "Kept apart: remembered"
    if done.outcome is Outcome.GONE:
        return "One of them was merged or removed meanwhile"
    return f"Merged into {who or 'one person'}"
