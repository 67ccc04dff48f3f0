"""Merge proposals kept per person (library/people/people_cache.py): after every kind of edit the
answer is the one computed from scratch, and only the people the edit touched are read again."""
from __future__ import annotations

import numpy as np
import pytest

from facefolio.library.people import people_cache, proposals
from facefolio.library.people.people import People

from people_fixtures import identity, put, synthetic_library

PACK = "yunet-sface"


@pytest.fixture
def lib(tmp_path):
    """12 identities of 12 faces, each split into an unnamed group of 8 and one of 4 (the
    proposals to find); identities 0-3 named; photo per face, two shared in identity 5."""
    rng = np.random.default_rng(3)
    centres = rng.standard_normal((12, 128))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    vectors = np.vstack([identity(rng, c, 12, 0.85) for c in centres])
    library = synthetic_library(tmp_path / "lib", vectors)
    for i in range(12):
        ids = list(range(i * 12 + 1, i * 12 + 13))
        put(library, ids[:8], name=f"Name {i}" if i < 4 else None)
        put(library, ids[8:])
    library.con.commit()
    people_cache.forget(library.path)
    yield library
    people_cache.forget(library.path)
    library.close()


def answer(found) -> list[tuple]:
    return [(p.person_a, p.person_b, round(p.score, 5), round(p.similarity, 5), p.faces_a,
             p.faces_b, p.face_a, p.face_b, p.shared_photos) for p in found]


def same_as_scratch(lib) -> list[tuple]:
    kept = answer(people_cache.merge_proposals(lib, 50))
    assert kept == answer(proposals.merge_proposals(lib, 50))
    return kept


def test_every_kind_of_edit_gives_the_answer_from_scratch(lib):
    people = People(lib)
    first = same_as_scratch(lib)
    assert len(first) >= 12  # each split identity proposed
    ids = [p.id for p in lib.people()]
    by_faces = {p.id: [f.id for f in lib.faces(person_id=p.id)] for p in lib.people()}
    unnamed = [p.id for p in lib.people() if p.name is None]
    edits = [
        lambda: people.name(unnamed[0], "Now named"),
        lambda: people.name(unnamed[0], "Renamed"),
        lambda: people.merge(unnamed[1], [unnamed[2]]),
        lambda: people.move_faces(by_faces[unnamed[3]][:2], unnamed[4]),
        lambda: people.remove_faces(by_faces[unnamed[5]][:1]),
        lambda: people.set_hidden(unnamed[6], True),
        lambda: people.reject_proposal(*same_as_scratch(lib)[-1][:2]),
        lambda: people.set_ignored(by_faces[unnamed[7]][:1], True),
        lambda: people.delete_person(unnamed[8]),
        lambda: people.undo(),
        lambda: people.undo(),
        lambda: people.redo(),
    ]
    for edit in edits:
        edit()
        same_as_scratch(lib)
    assert len(ids) > 10


def test_an_edit_reads_again_only_the_people_it_touched(lib):
    people = People(lib)
    same_as_scratch(lib)
    loaded, rows = people_cache.stats(lib, PACK)
    assert loaded == len(lib.people())  # the first question reads everyone once
    unnamed = [p.id for p in lib.people() if p.name is None]
    people.name(unnamed[0], "Anna")
    people_cache.merge_proposals(lib, 50)
    assert people_cache.stats(lib, PACK) == (loaded + 1, rows + 1)
    people.merge(unnamed[1], [unnamed[2]])  # the source is gone, the target changed
    people_cache.merge_proposals(lib, 50)
    assert people_cache.stats(lib, PACK) == (loaded + 2, rows + 2)
    # Nothing changed: nothing is read again, no face row at all.
    read: list[str] = []
    lib.con.set_trace_callback(read.append)
    people_cache.merge_proposals(lib, 50)
    lib.con.set_trace_callback(None)
    assert people_cache.stats(lib, PACK) == (loaded + 2, rows + 2)
    assert not [sql for sql in read if "embedding" in sql]


def test_another_process_edit_is_seen(lib, tmp_path):
    from facefolio.library import Library
    same_as_scratch(lib)
    unnamed = [p.id for p in lib.people() if p.name is None]
    with Library(lib.path) as other:  # its own connection: the signatures still move
        People(other).merge(unnamed[0], [unnamed[1]])
    same_as_scratch(lib)


@pytest.fixture
def named_lib(tmp_path):
    """8 named people of 10 faces, each with 3 faces of theirs in no person (suggestions)."""
    rng = np.random.default_rng(5)
    centres = rng.standard_normal((8, 128))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    vectors = np.vstack([identity(rng, c, 13, 0.85) for c in centres])
    library = synthetic_library(tmp_path / "named", vectors)
    for i in range(8):
        put(library, range(i * 13 + 1, i * 13 + 11), name=f"Name {i}", how="user")
    library.con.commit()
    people_cache.forget(library.path)
    yield library
    people_cache.forget(library.path)
    library.close()


def test_review_suggestions_are_those_from_scratch_then_only_touched_people_recompute(
        named_lib, monkeypatch):
    from facefolio.library.people import suggest
    lib = named_lib
    found, complete = people_cache.all_suggestions(lib, 200, budget_s=None)
    assert complete and found == suggest.all_suggestions(lib, 200)
    assert len(found) >= 8
    asked: list[int] = []
    real = suggest.suggestions
    monkeypatch.setattr(suggest, "suggestions",
                        lambda library, pid, *a, **k: asked.append(pid) or real(library, pid,
                                                                                *a, **k))
    people_cache.all_suggestions(lib, 200)
    assert asked == []  # nothing changed: no person asked again
    taken = found[0]
    People(lib).accept_suggestion(taken.face_id, taken.person_id)
    again, complete = people_cache.all_suggestions(lib, 200)
    assert asked == [taken.person_id] and complete
    assert taken.face_id not in {s.face_id for s in again}
    # A face the user refused for its person is dropped from the kept lists too.
    other = next(s for s in again if s.person_id != taken.person_id)
    People(lib).reject_suggestion(other.face_id, other.person_id)
    after, _ = people_cache.all_suggestions(lib, 200)
    assert (other.face_id, other.person_id) not in {(s.face_id, s.person_id) for s in after}


def test_review_suggestions_within_a_budget_say_they_are_incomplete(named_lib):
    found, complete = people_cache.all_suggestions(named_lib, 200, budget_s=0.0)
    assert not complete  # one person computed: the queue shows what it has
    while not complete:
        found, complete = people_cache.all_suggestions(named_lib, 200, budget_s=0.0)
    from facefolio.library.people import suggest
    assert found == suggest.all_suggestions(named_lib, 200)


def test_the_apps_questions_use_the_kept_people(lib):
    """The People page, a person's page and the CLI ask through people_cache: after a rename
    only the renamed person is read again."""
    from facefolio.library.people import questions
    people = People(lib)
    questions.proposals(lib)
    loaded, rows = people_cache.stats(lib, PACK)
    assert loaded == len(lib.people())
    unnamed = [p.id for p in lib.people() if p.name is None]
    people.name(unnamed[0], "Anna")
    assert answer(people.proposals(50)) == answer(proposals.merge_proposals(lib, 50))
    questions.proposals(lib, person_id=unnamed[1])
    assert people_cache.stats(lib, PACK) == (loaded + 1, rows + 1)


def test_a_persons_suggestions_are_kept_until_that_person_changes(named_lib, monkeypatch):
    from facefolio.library.people import suggest
    lib = named_lib
    asked: list[int] = []
    real = suggest.suggestions
    monkeypatch.setattr(suggest, "suggestions",
                        lambda library, pid, *a, **k: asked.append(pid) or real(library, pid,
                                                                                *a, **k))
    people = People(lib)
    named = [p.id for p in lib.people()]
    first = people.suggestions(named[0], 40)
    assert first == real(lib, named[0], 40) and asked == [named[0]]
    people.suggestions(named[0], 40)
    people.name(named[1], "Someone else")  # another person's edit: nothing to redo here
    people.name(named[0], "Renamed")  # their name: their suggestions stay as they were
    assert people.suggestions(named[0], 40) == first and asked == [named[0]]
    assert first == real(lib, named[0], 40)
    taken = first[0]
    people.accept_suggestion(taken.face_id, named[0])  # this person changed: computed again
    again = people.suggestions(named[0], 40)
    assert asked == [named[0], named[0]] and again == real(lib, named[0], 40)
    assert taken.face_id not in {s.face_id for s in again}
