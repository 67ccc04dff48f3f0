"""The estimated age as a check: faces Facefolio joined to a person whose estimate is far
from the person's age in that photo are asked about in Review (yes keeps, no removes and
is remembered); automatic assignment does not join such a face silently; faces the user
placed, file-dated photos and plausible ages are never asked about."""
from __future__ import annotations

import os
import shutil
from collections import Counter
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from facefolio.library import Library, Scanner
from facefolio.library.people import age_check, ages, assign, birthdays, questions
from facefolio.library.people.people import People
from facefolio.library.people.questions import QuestionKind

from app_fixtures import make_album, no_dangling_pools, open_window  # noqa: F401

REAL = "1961-08-04"
CHILD = "2012-01-01"  # in the 2017-2021 photos a child of 5 to 9: every estimate is far


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("age-check")
    album = make_album(root / "Album")
    with Library(root / "lib") as lib:
        lib.add_folder(album)
        for _ in Scanner(lib).scan():
            pass
        list(ages.fill(lib))
        votes = Counter(f.person_id for f in lib.faces()
                        if Path(f.photo_path).name.startswith("Barack_Obama"))
        People(lib).name(votes.most_common(1)[0][0], "Barack Obama")
    return root / "lib"


@pytest.fixture
def lib(template, tmp_path):
    shutil.copytree(template, tmp_path / "lib")
    with Library(tmp_path / "lib") as library:
        yield library


def _obama(lib) -> int:
    return next(p.id for p in lib.people() if p.name == "Barack Obama")


def _exif_faces(lib, pid) -> set[int]:
    return {f.id for f in lib.faces(person_id=pid) if lib.photo(f.photo_id).taken_at_source
            == "exif"}


def test_far_faces_are_asked_about_first_and_near_ones_never(lib):
    pid, people = _obama(lib), People(lib)
    grouped = _exif_faces(lib, pid)
    assert len(grouped) >= 4
    people.set_birth_date(pid, REAL)
    assert age_check.doubts(lib) == []  # estimates of 38-58 for a man of 55-59: not far
    people.set_birth_date(pid, CHILD)
    doubts = age_check.doubts(lib)
    assert {d.face_id for d in doubts} == grouped  # the file-dated photo is not checked
    assert all(d.person_id == pid and d.known[0] in range(5, 10) for d in doubts)
    assert doubts[0].words.startswith("looks about ") and "years" in doubts[0].words
    queue = questions.open_questions(lib)
    asked = [q for q in queue if q.kind is QuestionKind.AGE]
    assert queue[:len(asked)] == asked and {q.face.id for q in asked} == grouped
    assert all(q.match != q.face.id for q in asked)  # never compared with itself


def test_yes_keeps_the_face_no_removes_it_and_both_are_remembered(lib):
    pid, people = _obama(lib), People(lib)
    people.set_birth_date(pid, CHILD)
    first, second, *_ = [q for q in questions.open_questions(lib) if q.kind is QuestionKind.AGE]
    assert questions.answer(people, first, True).outcome is questions.Outcome.ADDED
    assert questions.answer(people, second, False).outcome is questions.Outcome.NOT_THEM
    assert lib.face(first.face.id).person_id == pid
    assert lib.face(second.face.id).person_id is None
    left = {q.face.id for q in questions.open_questions(lib) if q.kind is QuestionKind.AGE}
    assert first.face.id not in left and second.face.id not in left
    people.undo()  # the "no" undone: the face is back, and asked about again
    assert lib.face(second.face.id).person_id == pid
    assert second.face.id in {d.face_id for d in age_check.doubts(lib)}


def test_faces_the_user_placed_and_the_setting_off_are_never_asked(lib):
    pid, people = _obama(lib), People(lib)
    people.set_birth_date(pid, CHILD)
    placed = sorted(_exif_faces(lib, pid))[:2]
    people.move_faces(placed, pid)
    assert not set(placed) & {d.face_id for d in age_check.doubts(lib)}
    lib.settings.age_gender = False
    assert age_check.doubts(lib) == [] and age_check.far_pairs(lib, [(pid, placed[0])]) == set()


def test_auto_assignment_does_not_join_a_face_whose_age_is_far(lib):
    pid, people = _obama(lib), People(lib)
    face = sorted(_exif_faces(lib, pid))[0]
    lib.con.execute("UPDATE faces SET person_id = NULL, assigned_by = NULL WHERE id = ?",
                    (face,))
    lib.con.commit()
    people.set_birth_date(pid, CHILD)
    assert age_check.far_pairs(lib, [(pid, face)]) == {(pid, face)}
    assert assign.auto_assign(lib, [face]) == 0 and lib.face(face).person_id is None
    people.set_birth_date(pid, REAL)
    assert age_check.far_pairs(lib, [(pid, face)]) == set()
    assert assign.auto_assign(lib, [face]) == 1 and lib.face(face).person_id == pid


def test_far_from_scales_with_age():
    assert not birthdays.far_from(52, 40) and birthdays.far_from(16, 4)
    assert birthdays.far_from(75, 40) and not birthdays.far_from(None, 40)


def test_the_review_page_words_an_age_question(qtbot, lib, no_dangling_pools, open_window):
    pid = _obama(lib)
    People(lib).set_birth_date(pid, CHILD)
    path = lib.path
    lib.close()
    window = open_window(path)
    window.sidebar.setCurrentRow(4)
    page = window.review
    qtbot.waitUntil(lambda: bool(page.questions), timeout=60000)
    first = page.questions[0]
    assert first.kind is QuestionKind.AGE and page.heading.text() == "Is this Barack Obama?"
    assert page.list.item(0).text().endswith("the age differs")
    assert "looks about" in page.detail.text() and "years" in page.detail.text()
    assert page.captions[1].text().split("\n")[0] == "Barack Obama"
