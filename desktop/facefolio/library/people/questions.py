"""What Facefolio is unsure about, as questions for the user: "Is this Anna?" (suggestions,
from `suggest.py`, and faces whose estimated age disagrees with the person's, from
`age_check.py`) and "Are these the same person?" (merge proposals, from `proposals.py`),
best evidence first, and the People calls that answer them.

Plain data for any front end: the app words and draws them (`app/review.py`), the CLI could
print them. Read functions run on any thread with their own `Library`; `answer` is a change,
so it runs wherever the caller's writes run (the app's writer thread).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum
from typing import TYPE_CHECKING

import numpy as np

from ..storage.errors import NotFoundError
from ..storage.records import FaceRecord, PersonRecord

if TYPE_CHECKING:
    from ..library import Library
    from .people import People

SUGGESTIONS = 200
PROPOSALS = 50
COMPARED = 500  # a person's best faces searched for the one most like a suggested face
MATCHED = 20  # suggestions at the head of the queue shown beside such a face
REVIEW_BUDGET_S = 0.5  # the app's review queue: seconds of suggestions per ask (people_cache)


class QuestionKind(Enum):
    SUGGESTION = "suggestion"  # "Is this Anna?": one face, one person
    PROPOSAL = "proposal"  # "Are these the same person?": two people
    AGE = "age"  # "Is this Anna?" of a face of hers whose estimated age is far from hers

    @property
    def of_a_face(self) -> bool:
        """One face and one person, answered yes (theirs) or no (not them)."""
        return self is not QuestionKind.PROPOSAL


@dataclass(frozen=True)
class Question:
    """One question; `face` is set for a suggestion, `other` for a merge proposal."""

    kind: QuestionKind
    person: PersonRecord
    similarity: float
    face: FaceRecord | None = None
    other: PersonRecord | None = None
    pair: tuple[int, int] | None = None  # a proposal's two most alike faces, one of each
    match: int | None = None  # a suggestion: the person's face most like the one asked about
    match_photo: str | None = None  # and the photo that face is in
    note: str | None = None  # an age question: "looks about 41; was 6 years, 2 months then"

    @property
    def key(self) -> tuple:
        """The same question asked again (after a reload) has the same key."""
        if self.kind.of_a_face:
            return (self.kind, self.face.id, self.person.id)
        return (self.kind, *sorted((self.person.id, self.other.id)))

    @property
    def both_named(self) -> bool:
        """A proposal between two differently named people: which name stays is asked."""
        return bool(self.other is not None and self.person.name and self.other.name
                    and self.person.name != self.other.name)


class Outcome(Enum):
    ADDED = "added"  # the face joined the person
    NOT_THEM = "not them"  # the face is not that person: remembered
    KEPT_APART = "kept apart"  # two people are different: never proposed again
    MERGED = "merged"
    GONE = "gone"  # one of the two people was merged or removed meanwhile


@dataclass(frozen=True)
class Answered:
    outcome: Outcome
    person: PersonRecord  # who the face was asked about, or who was kept by a merge


def proposals(library: Library, limit: int = PROPOSALS, person_id: int | None = None
              ) -> list[Question]:
    """Merge proposals as questions, best first; those of one person when given (that
    person first in each)."""
    # Late: proposals and suggestions load scipy (a second at start-up), the first read
    # task pays for it, not the window's first paint.
    # Kept per person (people_cache.py): only the people an edit touched are read again.
    from .people_cache import merge_proposals  # noqa: PLC0415
    found = merge_proposals(library, limit=limit if person_id is None else 500)
    people = {p.id: p for p in library.people(include_hidden=False)}
    out = []
    for prop in found:
        a, b = people.get(prop.person_a), people.get(prop.person_b)
        if a is None or b is None or (person_id is not None and person_id not in (a.id, b.id)):
            continue
        pair = (prop.face_a, prop.face_b)
        if person_id is not None and b.id == person_id:
            a, b, pair = b, a, pair[::-1]  # "this person" first
        out.append(Question(QuestionKind.PROPOSAL, a, float(prop.similarity), other=b,
                            pair=pair))
    return out[:limit]


def suggestions(library: Library, limit: int = SUGGESTIONS, budget_s: float | None = None
                ) -> list[Question]:
    """"Is this Anna?" for every visible named person, best first; faces set aside never."""
    return suggestions_now(library, limit, budget_s)[0]


def suggestions_now(library: Library, limit: int = SUGGESTIONS, budget_s: float | None = None
                    ) -> tuple[list[Question], bool]:
    """suggestions(), and whether every named person's list is current: with a time budget
    (seconds) the people an edit touched are recomputed first and the rest as time allows,
    each kept per person (people_cache.all_suggestions); ask again to complete."""
    from .people_cache import all_suggestions  # noqa: PLC0415 - scipy, as above
    found, complete = all_suggestions(library, limit, budget_s)
    records = library.faces_by_ids([s.face_id for s in found])
    people = {p.id: p for p in library.people(include_hidden=False)}
    return [Question(QuestionKind.SUGGESTION, people[s.person_id], float(s.similarity),
                     face=records[s.face_id])
            for s in found if s.face_id in records and not records[s.face_id].ignored
            and s.person_id in people], complete


def age_questions(library: Library, person_id: int | None = None) -> list[Question]:
    """"Is this Anna?" of the faces Facefolio joined to a person whose estimated age is far
    from that person's age in the photo (age_check.py); asked first, oldest face first."""
    from .age_check import doubts  # noqa: PLC0415
    found = doubts(library, person_id)
    records = library.faces_by_ids([d.face_id for d in found])
    people = {p.id: p for p in library.people(include_hidden=False)}
    return [Question(QuestionKind.AGE, people[d.person_id], 1.0, face=records[d.face_id],
                     note=d.words)
            for d in found if d.face_id in records and d.person_id in people]


def best_faces(library: Library, person_id: int, limit: int = COMPARED) -> list[int]:
    """A person's best faces: the ones the user confirmed first, then by quality."""
    return [r[0] for r in library.con.execute(
        "SELECT id FROM faces WHERE person_id = ? AND ignored = 0 "
        "ORDER BY assigned_by = 'user' DESC, quality DESC, id LIMIT ?", (person_id, limit))]


def closest_faces(library: Library, asked: list[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """For each (face, person) asked about: the person's face most like that face, among
    their best, so the user compares like with like (same age, light, angle) rather than
    with whatever the cover is."""
    if not asked:
        return {}
    asked_ids, vectors = library.embeddings(sorted({f for f, _p in asked}))
    row_of = {int(f): i for i, f in enumerate(asked_ids)}
    out: dict[tuple[int, int], int] = {}
    for person_id in sorted({p for _f, p in asked}):
        ids, matrix = library.embeddings(best_faces(library, person_id))
        if not len(ids):
            continue
        for face_id, pid in asked:
            if pid == person_id and face_id in row_of:
                scores = matrix @ vectors[row_of[face_id]]
                scores[ids == face_id] = -np.inf  # an age question's face is theirs already
                if not np.isfinite(scores).any():
                    continue
                out[(face_id, pid)] = int(ids[int(np.argmax(scores))])
    return out


def with_matches(library: Library, questions: list[Question], first: int = MATCHED
                 ) -> list[Question]:
    """The first suggestions of the queue with the person's face most like theirs (the rest
    show the person's cover until they come up: this runs on every change of the library)."""
    head = [q for q in questions if q.kind.of_a_face][:first]
    matches = closest_faces(library, [(q.face.id, q.person.id) for q in head])
    photos = {f.id: f.photo_path for f in library.faces_by_ids(list(matches.values())).values()}
    out = []
    for q in questions:
        match = matches.get((q.face.id, q.person.id)) if q.kind.of_a_face else None
        out.append(replace(q, match=match, match_photo=photos.get(match)) if match else q)
    return out


def open_questions(library: Library) -> list[Question]:
    """Every open question (the review queue): faces whose age disagrees first, then the
    rest, best evidence first."""
    return review_queue(library)[0]


def review_queue(library: Library, budget_s: float | None = None
                 ) -> tuple[list[Question], bool]:
    """open_questions(), the suggestions within a time budget (see suggestions_now), and
    whether they are complete: the app shows what it has and asks again."""
    found, complete = suggestions_now(library, budget_s=budget_s)
    questions = found + proposals(library)
    questions.sort(key=lambda q: -q.similarity)
    return with_matches(library, age_questions(library) + questions), complete


def answer(people: People, question: Question, yes: bool, target: int | None = None
           ) -> Answered:
    """Answer a question (a change: run it where the caller's writes run). For a merge,
    `target` is the person whose name stays; None keeps the named one, else the bigger."""
    if question.kind.of_a_face:  # an age question's yes confirms the face: not asked again
        face, pid = question.face.id, question.person.id
        if yes:
            people.accept_suggestion(face, pid)
            return Answered(Outcome.ADDED, question.person)
        people.reject_suggestion(face, pid)
        return Answered(Outcome.NOT_THEM, question.person)
    a, b = question.person, question.other
    if not yes:
        people.reject_proposal(a.id, b.id)
        return Answered(Outcome.KEPT_APART, a)
    if target is None:
        target = max((a, b), key=lambda p: (p.name is not None, p.face_count, -p.id)).id
    source = b.id if target == a.id else a.id
    try:
        people.merge(target, [source])
    except NotFoundError:  # not a failure: the question answered itself meanwhile
        return Answered(Outcome.GONE, a)
    return Answered(Outcome.MERGED, a if target == a.id else b)
