"""The review questions as the library hands them out (library/people/questions.py): plain records,
best evidence first, and answers that say what happened, without Qt."""
from __future__ import annotations

from pathlib import Path

import pytest
from app_fixtures import album_folder, album_template, unsure_library, unsure_template  # noqa: F401
from people_fixtures import copy_library, scanned_template

from facefolio.library import AssignedBy, FaceRecord, Library
from facefolio.library.people import questions as q
from facefolio.library.people.undo import fix_covers
from facefolio.library.people.people import People
from facefolio.library.people.questions import Outcome, QuestionKind


def test_the_queue_is_plain_records_best_evidence_first(unsure_library):
    with Library(unsure_library) as lib:
        asked = q.open_questions(lib)
        assert [a.kind for a in asked] == [QuestionKind.SUGGESTION] * 3
        assert all(isinstance(a.face, FaceRecord) and a.face.person_id is None for a in asked)
        sims = [a.similarity for a in asked]
        assert sims == sorted(sims, reverse=True)
        assert len({a.key for a in asked}) == 3
        for a in asked:  # beside each face: the person's own face most like it
            assert a.match in q.best_faces(lib, a.person.id)
            assert a.match_photo == lib.face(a.match).photo_path


def test_answers_say_what_happened_and_close_the_question(unsure_library):
    with Library(unsure_library) as lib:
        people = People(lib)
        yes, no, _ = q.open_questions(lib)
        done = q.answer(people, yes, True)
        assert done.outcome is Outcome.ADDED and done.person.id == yes.person.id
        face = lib.face(yes.face.id)
        assert face.person_id == yes.person.id and face.assigned_by is AssignedBy.SUGGESTION
        assert face.assigned_by.by_user
        done = q.answer(people, no, False)
        assert done.outcome is Outcome.NOT_THEM and lib.face(no.face.id).person_id is None
        left = {a.key for a in q.open_questions(lib)}
        assert yes.key not in left and no.key not in left


@pytest.fixture(scope="module")
def template(datasets, tmp_path_factory) -> Path:
    return scanned_template(datasets, tmp_path_factory.mktemp("questions"),
                            ["Barack_Obama", "Kate_Winslet", "Keanu_Reeves"], slice(0, 8))


@pytest.fixture
def split(template, tmp_path):
    """A library where half of the biggest person's faces (named Anna) are an unnamed person
    of their own, as clustering might leave them."""
    with copy_library(template, tmp_path / "lib") as lib:
        person = max(lib.people(), key=lambda p: (p.face_count, -p.id))
        faces = [f.id for f in lib.faces(person_id=person.id)][1::2]
        other = lib.con.execute("INSERT INTO people(name, hidden, created_at) "
                                "VALUES (NULL, 0, 0)").lastrowid
        lib.con.executemany("UPDATE faces SET person_id = ?, assigned_by = 'cluster' "
                            "WHERE id = ?", [(other, f) for f in faces])
        fix_covers(lib.con, [person.id, other])
        People(lib).name(person.id, "Anna")
        yield lib, person.id, other


def test_a_proposal_puts_the_person_asked_about_first(split):
    lib, named, unnamed = split
    first = q.proposals(lib)[0]
    assert first.kind is QuestionKind.PROPOSAL and first.face is None
    assert {first.person.id, first.other.id} == {named, unnamed}
    mine = q.proposals(lib, person_id=unnamed)[0]
    assert mine.person.id == unnamed and mine.other.id == named
    assert mine.key == first.key  # the same question, whichever page asks it
    faces = {f.id for f in lib.faces(person_id=unnamed)}
    assert mine.pair[0] in faces and mine.pair[1] not in faces


def test_proposal_answers_merge_keep_apart_or_find_it_settled(split):
    lib, named, unnamed = split
    people = People(lib)
    asked = q.proposals(lib)[0]
    done = q.answer(people, asked, False)
    assert done.outcome is Outcome.KEPT_APART
    assert asked.key not in {a.key for a in q.proposals(lib)}
    people.undo()
    asked = q.proposals(lib)[0]
    assert asked.both_named is False  # one name only: nothing to ask about which stays
    done = q.answer(people, asked, True)  # no target: the named one stays
    assert done.outcome is Outcome.MERGED and done.person.id == named
    assert lib.person(named).face_count == asked.person.face_count + asked.other.face_count
    # Asked again from a stale card (another window merged them already): settled, no error.
    assert q.answer(people, asked, True).outcome is Outcome.GONE
