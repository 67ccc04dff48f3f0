"""The CLI's face commands, the app's face and person actions from a shell: a new person from
faces (`move --to-new`), a cover (`cover`), a face drawn or re-drawn (`add-face`,
`adjust-face`), "Not a face". Each is checked on the library it changes, and undone."""
from __future__ import annotations

from pathlib import Path

import pytest

from facefolio import cli
from facefolio.library import Library

from people_fixtures import copy_library, scanned_template

PEOPLE = ["Hugh_Laurie", "Jennifer_Aniston", "Tom_Hanks"]


@pytest.fixture(scope="module")
def template(datasets, tmp_path_factory) -> Path:
    return scanned_template(datasets, tmp_path_factory.mktemp("cli-faces"), PEOPLE,
                            slice(0, 6))


@pytest.fixture
def path(template, tmp_path) -> Path:
    copy_library(template, tmp_path / "lib").close()
    return tmp_path / "lib"


@pytest.fixture
def run(path, capsys):
    def call(*args: str) -> tuple[int, str, str]:
        code = cli.main(["--library", str(path), *args])
        out = capsys.readouterr()
        return code, out.out, out.err
    return call


def biggest(path: Path) -> tuple[int, list[int]]:
    with Library(path) as lib:
        person = max(lib.people(), key=lambda p: (p.face_count, -p.id))
        return person.id, [f.id for f in lib.faces(person_id=person.id)]


def test_move_to_new_person_named_and_unnamed(run, path):
    a, faces = biggest(path)
    code, out, err = run("move", str(faces[0]), str(faces[1]), "--to-new", "--name", " Anna  B ")
    assert code == 0 and err == ""
    with Library(path) as lib:
        new = lib.face(faces[0]).person_id
        assert new != a and lib.person(new).name == "Anna B"
        assert {f.id for f in lib.faces(person_id=new)} == {faces[0], faces[1]}
        assert all(lib.face(f).assigned_by == "user" for f in faces[:2])
    assert out == f"moved 2 face(s) to new person {new} ('Anna B')\n"
    code, out, _ = run("move", str(faces[2]), "--to-new")
    with Library(path) as lib:
        unnamed = lib.face(faces[2]).person_id
        assert code == 0 and unnamed not in (a, new) and lib.person(unnamed).name is None
    assert "(unnamed)" in out
    assert run("undo")[0] == 0 and run("undo")[0] == 0
    with Library(path) as lib:
        assert all(lib.face(f).person_id == a for f in faces[:3])


@pytest.mark.parametrize("args, reason", [
    (["move", "1", "--name", "X", "--to", "1"], "--name goes with --to-new"),
    (["move", "999", "--to-new"], "no face with id 999"),
    (["move", "1", "--to-new", "--name", "a\x1bb"], "a name cannot hold control"),
    (["cover", "999", "1"], "no person with id 999"),
    (["add-face", "/nowhere.jpg", "1", "1", "50", "50"], "/nowhere.jpg is not a photo of"),
    (["adjust-face", "999", "1", "1", "50", "50"], "no face with id 999"),
    (["not-a-face", "999"], "no face with id 999"),
])
def test_bad_input_one_line(run, args, reason):
    code, out, err = run(*args)
    assert code == 1 and out == "" and err.startswith(f"facefolio: {reason}")
    assert err.count("\n") == 1


def test_cover(run, path):
    a, faces = biggest(path)
    with Library(path) as lib:
        before = lib.person(a).cover_face_id
        other = next(p for p in lib.people() if p.id != a)
        stranger = lib.faces(person_id=other.id)[0].id
    chosen = next(f for f in faces if f != before)
    code, out, _ = run("cover", str(a), str(chosen))
    assert code == 0 and f"face {chosen} is now the cover of person {a}" in out
    with Library(path) as lib:
        assert lib.person(a).cover_face_id == chosen
    code, _, err = run("cover", str(a), str(stranger))
    assert code == 1 and f"face {stranger} does not belong to person {a}" in err
    run("undo")
    with Library(path) as lib:
        assert lib.person(a).cover_face_id == before


def test_add_face_then_adjust_then_undo(run, path):
    a, faces = biggest(path)
    with Library(path) as lib:
        face = lib.face(faces[0])
        photo = lib.photo(face.photo_id)
        count = len(lib.faces(photo_id=photo.id))
    x, y, w, h = face.box
    # A second box on the same photo, named: the person of that name gets it.
    run("name", str(a), "Hugh")
    code, out, err = run("add-face", photo.path, "0", "0", str(w * 0.8), str(h * 0.8),
                         "--name", "hugh")
    assert code == 0, err
    added = int(out.split()[1])
    with Library(path) as lib:
        assert len(lib.faces(photo_id=photo.id)) == count + 1
        record = lib.face(added)
        assert record.source == "user" and record.person_id == a
        assert record.box == pytest.approx((0, 0, w * 0.8, h * 0.8), abs=1)
    # A better box for the detected face: the person follows, the old one is set aside.
    code, out, err = run("adjust-face", str(faces[0]), str(x + 2), str(y + 2), str(w - 4),
                         str(h - 4))
    assert code == 0, err
    moved = int(out.split()[5])
    with Library(path) as lib:
        assert lib.face(moved).person_id == a and lib.face(faces[0]).ignored
    run("undo")
    with Library(path) as lib:
        assert lib.face(faces[0]).person_id == a and not lib.face(faces[0]).ignored
    # By id too, and a box of two pixels is refused with one line.
    code, _, err = run("add-face", str(photo.id), "5", "5", "2", "2")
    assert code == 1 and "the box is too small for a face" in err


def test_not_a_face(run, path):
    _, faces = biggest(path)
    assert run("not-a-face", str(faces[0])) == (0, "1 face(s) marked as not a face\n", "")
    with Library(path) as lib:
        assert lib.face(faces[0]).ignored and lib.face(faces[0]).person_id is None
    run("undo")
    with Library(path) as lib:
        assert not lib.face(faces[0]).ignored
