"""Merge proposals on a scanned library: the split person comes first; "no" is remembered,
undoable, and clustering respects it."""
from __future__ import annotations

from pathlib import Path

import pytest

from facefolio.library import Library, LibraryError, NotFoundError
from facefolio.library.people import people_cache
from facefolio.library.people.undo import fix_covers
from facefolio.library.people.people import People

from people_fixtures import copy_library, scanned_template, state

PEOPLE = ["Barack_Obama", "Kate_Winslet", "Keanu_Reeves", "Tina_Fey"]


@pytest.fixture(scope="module")
def template(datasets, tmp_path_factory) -> Path:
    return scanned_template(datasets, tmp_path_factory.mktemp("proposals"), PEOPLE,
                            slice(0, 10))


@pytest.fixture
def lib(template, tmp_path):
    with copy_library(template, tmp_path / "lib") as library:
        yield library


def split(lib: Library) -> tuple[int, int]:
    """Half of the biggest person's faces made a person of their own, as clustering would."""
    person = max(lib.people(), key=lambda p: (p.face_count, -p.id))
    faces = [f.id for f in lib.faces(person_id=person.id)][1::2]
    other = lib.con.execute("INSERT INTO people(name, hidden, created_at) VALUES (NULL, 0, 0)"
                            ).lastrowid
    lib.con.executemany("UPDATE faces SET person_id = ?, assigned_by = 'cluster' WHERE id = ?",
                        [(other, f) for f in faces])
    fix_covers(lib.con, [person.id, other])
    return person.id, other


def pairs(people: People) -> list[tuple[int, int]]:
    return [(p.person_a, p.person_b) for p in people.proposals()]


def refused(lib: Library) -> list[tuple[int, int]]:
    return [tuple(r) for r in lib.con.execute("SELECT person_a, person_b FROM not_same")]


def test_nothing_to_propose_when_every_person_is_one_identity(lib):
    assert len(lib.people()) == len(PEOPLE)
    assert People(lib).proposals() == []


def test_the_split_person_is_proposed_first_with_evidence(lib):
    a, b = split(lib)
    people = People(lib)
    first = people.proposals()[0]
    assert {first.person_a, first.person_b} == {a, b}
    assert first.similarity > first.score >= 0.30
    assert lib.face(first.face_a).person_id == first.person_a
    assert lib.face(first.face_b).person_id == first.person_b
    assert {"person_a", "person_b", "similarity", "score", "faces_a", "faces_b", "face_a",
            "face_b"} <= set(first.to_json())
    # Named, its name would stay: it comes first in the pair.
    people.name(b, "Kate")
    assert pairs(people)[0] == (b, a)
    # Two named people are the user's business; a hidden one is not proposed.
    people.name(a, "Other")
    assert pairs(people) == []
    people.undo()
    people.set_hidden(b, True)
    assert pairs(people) == []


def test_no_is_remembered_undoable_and_respected_by_clustering(lib):
    a, b = split(lib)
    people = People(lib)
    before = state(lib)
    people.reject_proposal(b, a)  # either order
    assert refused(lib) == [tuple(sorted((a, b)))]
    assert pairs(people) == []
    people.cluster()  # both unnamed and untouched: without the "no", they would merge
    assert {f.person_id for f in lib.faces()} >= {a, b}
    assert pairs(people) == []
    after = state(lib)
    assert people.undo().endswith("are different people")
    assert state(lib) == before and {a, b} == set(pairs(people)[0])
    people.redo()
    assert state(lib) == after


def test_accepting_is_a_merge_and_merging_carries_the_no(lib):
    a, b = split(lib)
    people = People(lib)
    others = [p.id for p in lib.people() if p.id not in (a, b)]
    people.reject_proposal(b, others[0])
    people.merge(a, [b])
    assert refused(lib) == [tuple(sorted((a, others[0])))]
    people.undo()
    assert refused(lib) == [tuple(sorted((b, others[0])))]


def test_bad_proposal_answers_are_refused(lib):
    a, _ = split(lib)
    people = People(lib)
    with pytest.raises(LibraryError, match="different person from themselves"):
        people.reject_proposal(a, a)
    with pytest.raises(NotFoundError, match="999"):
        people.reject_proposal(a, 999)
    assert not people.can_undo()


def test_people_sharing_photos_are_not_proposed_but_one_stray_face_is_let_through(lib):
    a, b = split(lib)
    people = People(lib)
    faces_a = [f.id for f in lib.faces(person_id=a)]
    photos_b = [f.photo_id for f in lib.faces(person_id=b)]
    # One face of a in a photo of b (a second detection on one face, say): still proposed.
    lib.con.execute("UPDATE faces SET photo_id = ? WHERE id = ?", (photos_b[0], faces_a[0]))
    first = people.proposals()[0]
    assert {first.person_a, first.person_b} == {a, b} and first.shared_photos == 1
    # Two shared photos among five faces each: they were seen side by side, not one person.
    lib.con.execute("UPDATE faces SET photo_id = ? WHERE id = ?", (photos_b[1], faces_a[1]))
    # The library never moves a face to another photo, so what it keeps per person
    # (people_cache.py) does not watch for it: this edit by hand starts it afresh.
    people_cache.forget(lib.path)
    assert (a, b) not in pairs(people) and (b, a) not in pairs(people)
