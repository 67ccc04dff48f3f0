"""People operations on a library with real embeddings: decisions stick, undo is exact."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from facefolio import cli
from facefolio.library import Library, LibraryError, NotFoundError
from facefolio.library.people.undo import ChangedElsewhereError
from facefolio.library.people.people import People

from people_fixtures import copy_library, scanned_template, state

PEOPLE = ["Hugh_Laurie", "Jennifer_Aniston", "Tom_Hanks", "Will_Smith"]


@pytest.fixture(scope="module")
def template(datasets, tmp_path_factory) -> Path:
    return scanned_template(datasets, tmp_path_factory.mktemp("people"), PEOPLE, slice(0, 8))


@pytest.fixture
def lib(template, tmp_path):
    with copy_library(template, tmp_path / "lib") as library:
        yield library


def biggest(lib: Library, n: int = 2) -> list[int]:
    return [p.id for p in sorted(lib.people(), key=lambda p: -p.face_count)[:n]]


def test_merge_then_undo_restores_both_people_exactly(lib):
    people = People(lib)
    a, b = biggest(lib)
    people.name(a, "Anna")
    people.set_hidden(b, True)
    face_b = lib.faces(person_id=b)[0].id
    people.set_cover(b, lib.faces(person_id=b)[-1].id)
    people.remove_faces([face_b])  # leaves a rejection (face_b, b) to carry over
    before = state(lib)
    people.merge(a, [b])
    assert lib.person(a).face_count > 0 and (face_b, a) in {
        tuple(r) for r in lib.con.execute("SELECT * FROM rejections")}
    with pytest.raises(NotFoundError):
        lib.person(b)
    assert people.undo().startswith("Merge")
    assert state(lib) == before
    people.redo()
    assert [p.id for p in lib.people()].count(b) == 0
    people.undo()
    assert state(lib) == before


def test_undo_of_a_named_operation_refuses_when_another_process_logged_one(lib):
    """The log is shared: Undo as the user saw it labelled, or nothing (and redo alike)."""
    people = People(lib)
    a, b = biggest(lib)
    people.name(a, "Anna")
    mine = people.history(1)[0]
    with Library(lib.path) as other:  # a second process
        People(other).name(b, "Bert")
    theirs = people.history(1)[0]
    before = state(lib)
    with pytest.raises(ChangedElsewhereError, match="Bert"):
        people.undo(expect=mine.id)
    assert state(lib) == before  # nothing undone
    assert people.undo(expect=theirs.id).endswith("Bert")
    assert (lib.person(a).name, lib.person(b).name) == ("Anna", None)
    with pytest.raises(ChangedElsewhereError, match="redo"):
        people.redo(expect=mine.id)  # the next to redo is theirs
    assert people.undo(expect=mine.id).endswith("Anna")
    assert people.redo(expect=mine.id).endswith("Anna")  # redo goes oldest first
    assert people.undo(expect=mine.id).endswith("Anna")
    with pytest.raises(ChangedElsewhereError, match="nothing left"):
        people.undo(expect=12345)
    assert people.undo() is None  # without `expect`: the newest, as the CLI does


def test_undo_redo_several_levels_and_new_op_drops_redo(lib):
    people = People(lib)
    a, b = biggest(lib)
    states = [state(lib)]
    people.name(a, "One")
    states.append(state(lib))
    people.name(a, "Two")
    states.append(state(lib))
    people.move_faces([lib.faces(person_id=b)[0].id], a)
    states.append(state(lib))
    for expected in reversed(states[:-1]):
        assert people.undo() is not None
        assert state(lib) == expected
    assert people.undo() is None and not people.can_undo()
    assert people.redo() is not None and state(lib) == states[1]
    assert people.can_redo()
    people.set_hidden(b, True)  # a new operation: the undone ones cannot come back
    assert not people.can_redo() and people.redo() is None
    assert [op.kind for op in people.history()] == ["hide", "name"]


def test_removed_face_is_not_suggested_nor_clustered_back(lib):
    people = People(lib)
    a, b = biggest(lib)
    people.name(a, "Anna")
    face = lib.faces(person_id=b)[0].id
    people.remove_faces([face])
    faces_of_a = [f.id for f in lib.faces(person_id=a)]
    people.remove_faces([faces_of_a[0]])
    assert lib.face(faces_of_a[0]).person_id is None
    assert faces_of_a[0] not in [s.face_id for s in people.suggestions(a, 200)]
    people.cluster()
    people.after_scan([faces_of_a[0], face])
    assert lib.face(faces_of_a[0]).person_id != a
    assert lib.face(face).person_id != b


def test_suggestions_rank_unknown_faces_of_the_person(lib):
    people = People(lib)
    a = biggest(lib, 1)[0]
    people.name(a, "Anna")
    taken = [f.id for f in lib.faces(person_id=a)[:3]]
    people.remove_faces(taken)
    lib.con.execute("DELETE FROM rejections")  # forget them: now they are plain unknowns
    found = people.suggestions(a)
    assert {s.face_id for s in found} >= set(taken)
    assert [s.similarity for s in found] == sorted((s.similarity for s in found), reverse=True)
    people.accept_suggestion(taken[0], a)
    assert lib.face(taken[0]).assigned_by == "suggestion"
    people.reject_suggestion(taken[1], a)
    assert taken[1] not in [s.face_id for s in people.suggestions(a)]


def test_create_delete_and_cover_stay_valid(lib):
    people = People(lib)
    a, b = biggest(lib)
    faces = [f.id for f in lib.faces(person_id=b)[:2]]
    new = people.create_person(faces, "Bob")
    assert lib.person(new).name == "Bob" and lib.person(new).face_count == 2
    assert lib.person(new).cover_face_id in faces
    size = lib.person(a).face_count
    people.delete_person(a)
    with pytest.raises(NotFoundError):
        lib.person(a)
    assert people.undo() == f"Delete an unnamed person ({size} faces)"
    assert lib.person(a).face_count > 0
    people.undo()
    with pytest.raises(NotFoundError):
        lib.person(new)
    with pytest.raises(LibraryError, match="does not belong"):
        people.set_cover(a, faces[0])  # back with b after the undo


def test_missing_ids_raise_and_change_nothing(lib):
    people = People(lib)
    a = biggest(lib, 1)[0]
    face = lib.faces(person_id=a)[0].id
    before = state(lib)
    calls = [lambda: people.name(999, "X"), lambda: people.merge(a, [999]),
             lambda: people.merge(999, [a]), lambda: people.move_faces([face, 999], a),
             lambda: people.move_faces([face], 999), lambda: people.remove_faces([999]),
             lambda: people.set_hidden(999, True), lambda: people.set_cover(a, 999),
             lambda: people.delete_person(999), lambda: people.suggestions(999),
             lambda: people.accept_suggestion(999, a), lambda: people.reject_suggestion(face, 999),
             lambda: people.create_person([999])]
    for call in calls:
        with pytest.raises(NotFoundError, match="999"):
            call()
    with pytest.raises(LibraryError, match="empty"):
        people.name(a, "   ")
    assert state(lib) == before and not people.can_undo()


def test_undo_skips_faces_deleted_by_a_rescan(lib):
    people = People(lib)
    a, b = biggest(lib)
    moved = lib.faces(person_id=b)[0]
    people.move_faces([moved.id], a)
    lib.con.execute("DELETE FROM photos WHERE id = ?", (moved.photo_id,))
    assert people.undo() is not None
    assert lib.person(b).face_count > 0


def each_operation(people: People, lib: Library) -> dict:
    """One call per logged operation kind, on the two biggest people."""
    a, b = biggest(lib)
    face_a, face_b = lib.faces(person_id=a)[0].id, lib.faces(person_id=b)[0].id
    return {
        "remove": lambda: people.remove_faces([face_a]),
        "accept": lambda: people.accept_suggestion(face_b, a),
        "reject": lambda: people.reject_suggestion(face_a, a),
        "hide": lambda: people.set_hidden(a, True),
        "cover": lambda: people.set_cover(a, next(
            f.id for f in lib.faces(person_id=a) if f.id != lib.person(a).cover_face_id)),
        "ignore": lambda: people.set_ignored([face_a, face_b], True),
        "not_same": lambda: people.reject_proposal(a, b),
        "delete": lambda: people.delete_person(a),
    }


@pytest.mark.parametrize("kind", ["remove", "accept", "reject", "hide", "cover", "ignore",
                                  "not_same", "delete"])
def test_undo_and_redo_restore_the_exact_state(lib, kind):
    people = People(lib)
    a, _, c = biggest(lib, 3)
    people.reject_proposal(a, c)  # a "no" that deleting a takes along, and undo brings back
    before = state(lib)
    each_operation(people, lib)[kind]()
    after = state(lib)
    assert after != before  # the operation did something
    assert people.undo() is not None
    assert state(lib) == before
    assert people.redo() is not None
    assert state(lib) == after


def test_ignored_faces_leave_their_person_and_come_back_unknown(lib):
    people = People(lib)
    a = biggest(lib, 1)[0]
    face = lib.faces(person_id=a)[0].id
    cover = lib.person(a).cover_face_id
    people.set_ignored([face, cover], True)
    assert lib.face(face).ignored and lib.face(face).person_id is None
    assert lib.person(a).cover_face_id not in (face, cover)
    assert face not in [f.id for f in people.unknown_faces(include_low_quality=True)]
    assert face not in [s.face_id for s in people.suggestions(a, 100)]
    people.cluster()
    people.auto_assign([face])
    assert lib.face(face).person_id is None  # nothing automatic takes an ignored face
    people.set_ignored([face], False)
    assert not lib.face(face).ignored
    assert face in [f.id for f in people.unknown_faces(include_low_quality=True)]


def test_unknown_faces_hide_low_quality_ones_unless_asked(lib):
    people = People(lib)
    unknown = [f.id for f in lib.faces(person_id=biggest(lib, 1)[0])[:3]]
    lib.con.execute("UPDATE faces SET person_id = NULL, assigned_by = NULL WHERE id IN "
                    "(?, ?, ?)", unknown)
    poor, drawn = unknown[0], unknown[1]
    lib.con.execute("UPDATE faces SET quality = 0.1 WHERE id IN (?, ?)", (poor, drawn))
    lib.con.execute("UPDATE faces SET source = 'user' WHERE id = ?", (drawn,))
    shown = [f.id for f in people.unknown_faces()]
    assert poor not in shown and {drawn, unknown[2]} <= set(shown)
    assert poor in [f.id for f in people.unknown_faces(include_low_quality=True)]
    assert len(people.unknown_faces(limit=1)) == 1


def test_a_drawn_face_is_logged_and_undone_by_hiding_it(lib):
    people = People(lib)
    a = biggest(lib, 1)[0]
    model = lib.faces(person_id=a)[0]
    con = lib.con
    con.execute("""INSERT INTO faces(photo_id, x, y, w, h, landmarks, score, quality, pack,
                   embedding, person_id, assigned_by, created_at, source)
                   SELECT photo_id, 1, 1, 30, 30, landmarks, 1, quality, pack, embedding, ?,
                   'user', 0, 'user' FROM faces WHERE id = ?""", (a, model.id))
    drawn = con.execute("SELECT max(id) FROM faces").fetchone()[0]
    people.record_new_face(drawn)
    assert people.undo().startswith("Add a face in ")
    assert lib.face(drawn).ignored and lib.face(drawn).person_id is None
    people.redo()
    assert not lib.face(drawn).ignored and lib.face(drawn).person_id == a
    with pytest.raises(LibraryError, match="found by the detector"):
        people.record_new_face(model.id)


def test_names_from_xmp_respect_the_users_decisions(lib):
    people = People(lib)
    a, b = biggest(lib)
    people.name(a, "Anna")
    older = people.create_person([lib.faces(person_id=b)[0].id], "Bob")
    newer = people.create_person([lib.faces(person_id=b)[1].id], "Bob")
    assert older < newer
    placed, rejected, free, fresh = [f.id for f in lib.faces(person_id=b)[:4]]
    people.move_faces([placed], b)  # the user put it there
    people.reject_suggestion(rejected, older)  # "not Bob"
    lib.con.execute("UPDATE faces SET person_id = NULL, assigned_by = NULL WHERE id IN "
                    "(?, ?)", (free, fresh))
    photo = {f: lib.face(f).photo_id for f in (placed, rejected, free, fresh)}
    before = state(lib)
    named = sum(people.import_names(photo[f], {f: n}) for f, n in (
        (placed, "Bob"), (rejected, "Bob"), (free, " Bob "), (fresh, "Carol")))
    assert named == 2
    assert lib.face(placed).person_id == b and lib.face(rejected).person_id != older
    assert lib.face(free).person_id == older and lib.face(free).assigned_by == "user"
    assert lib.face(fresh).person_name == "Carol"
    assert people.import_names(photo[free], {free: "Bob"}) == 0  # already so named
    people.undo()
    people.undo()
    assert state(lib) == before
    with pytest.raises(LibraryError, match="is not in photo"):
        people.import_names(photo[free] + 10_000, {free: "Bob"})


def test_undo_descriptions_speak_of_names_and_photos_not_ids(tmp_path, datasets):
    """What the Edit menu and "Undid ..." say: names, unnamed people by their size, faces by
    their photo; never a bare id the user has never seen."""
    import re
    import shutil

    from facefolio.library import Library, Scanner
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("img1.jpg", "img2.jpg", "img26.jpg"):
        shutil.copy(datasets / "deepface-unit" / name, folder / name)
    with Library(tmp_path / "lib") as lib:
        lib.add_folder(folder)
        for _ in Scanner(lib).scan():
            pass
        people = People(lib)
        faces = {Path(f.photo_path).name: f.id for f in lib.faces()}
        anna = people.create_person([faces["img1.jpg"]])
        people.name(anna, "Anna")
        other = people.create_person([faces["img2.jpg"]])
        people.merge(anna, [other])
        people.reject_suggestion(faces["img26.jpg"], anna)
        said = [op.description for op in people.history()]
        assert said[0] == "The face in img26.jpg is not Anna"
        assert said[1] == "Merge an unnamed person (1 face) into Anna"
        assert said[2] == "Create a new person from 1 face"
        assert said[3] == "Give an unnamed person (1 face) the name Anna"
        assert not any(re.search(r"\b(person|face) \d", s) for s in said), said


def test_merge_takes_the_best_face_as_cover_unless_the_user_chose_one(lib):
    """Issue 21, point 7: after a merge the cover was the blurriest face."""
    people = People(lib)
    a, b, c = biggest(lib, 3)

    def worst(pid: int) -> int:
        return min(lib.faces(person_id=pid), key=lambda f: f.quality).id
    lib.con.execute("UPDATE people SET cover_face_id = ? WHERE id = ?", (worst(a), a))
    people.merge(a, [b])
    best = max(lib.faces(person_id=a), key=lambda f: (f.quality, -f.id))
    assert lib.person(a).cover_face_id == best.id
    chosen = worst(c)
    people.set_cover(c, chosen)  # the user's choice stays through a merge
    people.merge(a, [c])
    assert lib.person(a).cover_face_id == chosen
