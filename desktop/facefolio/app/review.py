"""What Facefolio is unsure about, as questions for the user: "Is this Anna?" (suggestions)
and "Are these the same person?" (merge proposals), loaded in read tasks, best evidence
first, and the People calls that answer them.

Proposals come from `library/proposals.py`.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..library import Library, LibraryError, NotFoundError, PersonRecord
from . import words
from .models import FaceItem, face_items
from .session import people_api

_SUGGESTIONS = 200
_PROPOSALS = 50
_COMPARED = 500  # a person's best faces searched for the one most like a suggested face
_MATCHED = 20  # suggestions at the head of the queue shown beside such a face


@dataclass(frozen=True)
class Question:
    """One question; `face` is set for a suggestion, `other` for a merge proposal."""

    kind: str  # 'suggestion' or 'proposal'
    person: PersonRecord
    similarity: float
    face: FaceItem | None = None
    other: PersonRecord | None = None
    pair: tuple[int, int] | None = None  # a proposal's two most alike faces, one of each
    match: int | None = None  # a suggestion: the person's face most like the one asked about
    match_photo: str | None = None  # and the photo that face is in

    @property
    def key(self) -> tuple:
        if self.kind == "suggestion":
            return ("suggestion", self.face.face_id, self.person.id)
        return ("proposal", *sorted((self.person.id, self.other.id)))

    @property
    def text(self) -> str:
        if self.kind == "suggestion":
            return f"Is this {self.person.name or 'the same person'}?"
        return (f"Are {_who(self.person)} and {_who(self.other)} the same person?")

    @property
    def both_named(self) -> bool:
        return bool(self.other is not None and self.person.name and self.other.name
                    and self.person.name != self.other.name)


def _who(person: PersonRecord) -> str:
    return person.name or f"this unnamed person ({words.plural(person.face_count, 'photo')})"


def proposals(library: Library, limit: int = _PROPOSALS, person_id: int | None = None
              ) -> list[Question]:
    """Merge proposals as questions, best first; those of one person when given."""
    from ..library.proposals import merge_proposals  # noqa: PLC0415
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
        out.append(Question("proposal", a, float(prop.similarity), other=b, pair=pair))
    return out[:limit]


def suggestions(library: Library, limit: int = _SUGGESTIONS) -> list[Question]:
    try:
        found = people_api(library).all_suggestions(limit)
    except LibraryError:
        return []
    records = library.faces_by_ids([s.face_id for s in found])
    items = {f.face_id: f for f in face_items(library, list(records.values()))}
    people = {p.id: p for p in library.people(include_hidden=False)}
    return [Question("suggestion", people[s.person_id], float(s.similarity),
                     face=items[s.face_id])
            for s in found if s.face_id in items and s.person_id in people]


def with_matches(library: Library, questions: list[Question], first: int = _MATCHED
                 ) -> list[Question]:
    """The first suggestions of the queue with the person's face most like theirs (the rest
    show the person's cover until they come up: this runs on every change of the library)."""
    head = [q for q in questions if q.kind == "suggestion"][:first]
    matches = closest_faces(library, [(q.face.face_id, q.person.id) for q in head])
    photos = {f.id: f.photo_path for f in library.faces_by_ids(list(matches.values())).values()}
    out = []
    for q in questions:
        match = matches.get((q.face.face_id, q.person.id)) if q.kind == "suggestion" else None
        out.append(replace(q, match=match, match_photo=photos.get(match)) if match else q)
    return out


def closest_faces(library: Library, asked: list[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """For each (face, person) asked about: the person's face most like that face, among
    their best (faces the user confirmed first, then by quality), so the user compares like
    with like (same age, light, angle) rather than with whatever the cover is."""
    if not asked:
        return {}
    asked_ids, vectors = library.embeddings(sorted({f for f, _p in asked}))
    row_of = {int(f): i for i, f in enumerate(asked_ids)}
    out: dict[tuple[int, int], int] = {}
    for person_id in sorted({p for _f, p in asked}):
        best = [r[0] for r in library.con.execute(
            "SELECT id FROM faces WHERE person_id = ? AND ignored = 0 "
            "ORDER BY assigned_by = 'user' DESC, quality DESC, id LIMIT ?",
            (person_id, _COMPARED))]
        ids, matrix = library.embeddings(best)
        if not len(ids):
            continue
        for face_id, pid in asked:
            if pid == person_id and face_id in row_of:
                scores = matrix @ vectors[row_of[face_id]]
                out[(face_id, pid)] = int(ids[int(np.argmax(scores))])
    return out


def load_questions(library: Library) -> list[Question]:
    """Every open question, best evidence first (the review queue)."""
    questions = suggestions(library) + proposals(library)
    questions.sort(key=lambda q: -q.similarity)
    return with_matches(library, questions)


def answer(people, question: Question, yes: bool, target: int | None = None) -> str:
    """Answer on the writer thread; returns what happened, for the status bar."""
    if question.kind == "suggestion":
        face, pid = question.face.face_id, question.person.id
        who = question.person.name or "this person"
        if yes:
            people.accept_suggestion(face, pid)
            return f"Added to {who}"
        people.reject_suggestion(face, pid)
        return f"Not {who}: remembered"
    a, b = question.person, question.other
    if not yes:
        people.reject_proposal(a.id, b.id)
        return "Kept apart: remembered"
    if target is None:
        # No name to choose between: keep the named one, else the bigger group.
        target = max((a, b), key=lambda p: (p.name is not None, p.face_count, -p.id)).id
    source = b.id if target == a.id else a.id
    try:
        people.merge(target, [source])
    except NotFoundError:
        return "One of them was merged or removed meanwhile"
    kept = a if target == a.id else b
    return f"Merged into {kept.name or 'one person'}"
