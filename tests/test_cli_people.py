"""The people commands of the CLI, as a contract: exit code, stdout (JSON shape), effect on the
library, and a one-line reason on stderr (exit 1) for a bad id."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from facefolio import cli
from facefolio.library import Library

from people_fixtures import copy_library, scanned_template

PEOPLE = ["Hugh_Laurie", "Jennifer_Aniston", "Tom_Hanks", "Will_Smith"]


@pytest.fixture(scope="module")
def template(datasets, tmp_path_factory) -> Path:
    return scanned_template(datasets, tmp_path_factory.mktemp("cli"), PEOPLE, slice(0, 8))


@pytest.fixture
def path(template, tmp_path) -> Path:
    copy_library(template, tmp_path / "lib").close()
    return tmp_path / "lib"


@pytest.fixture
def run(path, capsys):
    """run(*args) -> (exit code, stdout, stderr) of `facefolio --library LIB args...`."""
    def call(*args: str) -> tuple[int, str, str]:
        code = cli.main(["--library", str(path), *args])
        out = capsys.readouterr()
        return code, out.out, out.err
    return call


def lib_of(path: Path) -> Library:
    return Library(path)


def people_by_size(path: Path) -> list[int]:
    with lib_of(path) as lib:
        return [p.id for p in sorted(lib.people(), key=lambda p: (-p.face_count, p.id))]


def faces_of(path: Path, person: int) -> list[int]:
    with lib_of(path) as lib:
        return [f.id for f in lib.faces(person_id=person)]


def test_cluster(run, path):
    with lib_of(path) as lib:
        lib.con.execute("UPDATE faces SET person_id = NULL, assigned_by = NULL")
        lib.con.execute("DELETE FROM people")
    code, out, _ = run("cluster", "--json")
    report = json.loads(out)
    assert code == 0 and report["people_created"] == len(PEOPLE)
    assert {"people_created", "people_updated", "faces_grouped", "faces_unknown", "seconds",
            "attempts", "faces_skipped", "faces_joined"} <= set(report)
    assert len(people_by_size(path)) == len(PEOPLE)
    code, out, _ = run("cluster")
    assert code == 0 and "0 new people" in out


def test_people(run, path):
    code, out, _ = run("people", "--json")
    listed = json.loads(out)["people"]
    assert code == 0 and len(listed) == len(PEOPLE)
    assert set(listed[0]) == {"person_id", "name", "face_count", "hidden", "cover_face_id"}
    code, out, _ = run("people")
    assert code == 0 and out.splitlines()[0].split() == ["PERSON", "FACES", "NAME"]


def test_name_and_merge(run, path):
    a, b = people_by_size(path)[:2]
    assert run("name", str(a), "Anna")[0] == 0
    code, out, _ = run("name", str(b), "Anna")
    assert code == 0 and f"facefolio merge {b} {a}" in out  # same name: a merge is offered
    moved = faces_of(path, b)
    code, out, _ = run("merge", str(a), str(b))
    assert code == 0 and f"merged into person {a}" in out
    assert set(moved) <= set(faces_of(path, a)) and b not in people_by_size(path)


def test_name_face_names_its_unnamed_group(run, path):
    """Issue 21, point 3: naming a face of an unnamed group names the group by default."""
    a, b = people_by_size(path)[:2]
    faces, others = faces_of(path, a), faces_of(path, b)
    count = len(people_by_size(path))
    code, out, _ = run("name-face", str(faces[0]), "Anna")
    assert code == 0 and f"named all {len(faces)} faces" in out
    with lib_of(path) as lib:
        assert (lib.person(a).name, lib.person(a).face_count) == ("Anna", len(faces))
    assert len(people_by_size(path)) == count
    code, out, _ = run("name-face", str(others[0]), "Ben", "--only-this-face")
    assert code == 0 and set(faces_of(path, b)) == set(others[1:])
    # A name someone has: the group joins that person.
    code, out, _ = run("name-face", str(others[1]), "anna")
    assert code == 0 and set(others[1:]) <= set(faces_of(path, a))
    assert b not in people_by_size(path)


def test_move_and_remove_face(run, path):
    a, b = people_by_size(path)[:2]
    face = faces_of(path, b)[0]
    assert run("move", str(face), "--to", str(a)) == (0, "moved 1 face(s) to person "
                                                        f"{a}\n", "")
    with lib_of(path) as lib:
        assert lib.face(face).person_id == a and lib.face(face).assigned_by == "user"
    assert run("remove-face", str(face))[0] == 0
    with lib_of(path) as lib:
        assert lib.face(face).person_id is None
        assert lib.con.execute("SELECT 1 FROM rejections WHERE face_id = ? AND person_id = ?",
                               (face, a)).fetchone()


def test_hide_unhide_delete(run, path):
    a = people_by_size(path)[0]
    assert run("hide", str(a))[0] == 0
    with lib_of(path) as lib:
        assert lib.person(a).hidden
    assert run("unhide", str(a))[0] == 0
    with lib_of(path) as lib:
        assert not lib.person(a).hidden
    faces = faces_of(path, a)
    assert run("delete-person", str(a))[0] == 0
    assert a not in people_by_size(path)
    with lib_of(path) as lib:
        assert all(lib.face(f).person_id is None for f in faces)


def test_suggest_accept_reject(run, path):
    a = people_by_size(path)[0]
    taken = faces_of(path, a)[:2]
    with lib_of(path) as lib:  # two of its faces become plain unknowns: suggestions exist
        lib.con.execute("UPDATE faces SET person_id = NULL, assigned_by = NULL WHERE id IN "
                        "(?, ?)", taken)
    code, out, _ = run("suggest", str(a), "--json")
    found = json.loads(out)["suggestions"]
    assert code == 0 and {s["face_id"] for s in found} == set(taken)
    assert set(found[0]) == {"face_id", "person_id", "similarity"}
    code, out, _ = run("suggest", str(a))
    assert code == 0 and f"face {taken[0]}" in out
    assert run("accept", str(taken[0]), str(a))[0] == 0
    assert run("reject", str(taken[1]), str(a))[0] == 0
    with lib_of(path) as lib:
        assert lib.face(taken[0]).person_id == a
        assert lib.face(taken[0]).assigned_by == "suggestion"
    assert json.loads(run("suggest", str(a), "--json")[1])["suggestions"] == []


def test_undo_redo(run, path):
    a = people_by_size(path)[0]
    assert run("undo") == (0, "nothing to undo\n", "")
    run("name", str(a), "Anna")
    code, out, _ = run("undo")
    assert code == 0 and "Anna" in out
    with lib_of(path) as lib:
        assert lib.person(a).name is None
    code, out, _ = run("redo")
    assert code == 0 and "Anna" in out
    with lib_of(path) as lib:
        assert lib.person(a).name == "Anna"
    assert run("redo") == (0, "nothing to redo\n", "")


def split_biggest(path: Path) -> tuple[int, int]:
    a = people_by_size(path)[0]
    half = faces_of(path, a)[1::2]
    with lib_of(path) as lib:
        b = lib.con.execute("INSERT INTO people(name, hidden, created_at) VALUES (NULL, 0, 0)"
                            ).lastrowid
        lib.con.executemany("UPDATE faces SET person_id = ? WHERE id = ?",
                            [(b, f) for f in half])
    return a, b


def test_proposals_same_not_same(run, path):
    assert run("proposals") == (0, "no proposals\n", "")
    a, b = split_biggest(path)
    code, out, _ = run("proposals", "--json")
    found = json.loads(out)["proposals"]
    assert code == 0 and {found[0]["person_a"], found[0]["person_b"]} == {a, b}
    assert {"similarity", "score", "faces_a", "faces_b", "face_a", "face_b"} <= set(found[0])
    code, out, _ = run("proposals")
    assert code == 0 and "facefolio not-same" in out
    assert run("not-same", str(a), str(b))[0] == 0
    assert json.loads(run("proposals", "--json")[1])["proposals"] == []
    run("undo")
    assert run("same", str(a), str(b))[0] == 0
    assert b not in people_by_size(path) and len(faces_of(path, a)) == 8


def test_ignore_unignore_unknown(run, path):
    a = people_by_size(path)[0]
    face = faces_of(path, a)[0]

    def unknown(*flags: str) -> list[int]:
        code, out, _ = run("unknown", "--json", *flags)
        assert code == 0
        return [f["face_id"] for f in json.loads(out)["faces"]]

    before = unknown("--low-quality")
    assert face not in before
    assert run("ignore", str(face)) == (0, "1 face(s) ignored\n", "")
    with lib_of(path) as lib:
        record = lib.face(face)
        assert record.ignored and record.person_id is None
    assert unknown("--low-quality") == before  # ignored: not even an unknown face
    assert run("unignore", str(face))[0] == 0
    assert unknown("--low-quality") == sorted(before + [face])
    listed = json.loads(run("unknown", "--json")[1])["faces"]
    assert set(listed[0]) == {"face_id", "photo", "box", "quality", "source"}
    assert run("unknown", "--limit", "0") == (0, "no unknown faces\n", "")


@pytest.mark.parametrize("args, reason", [
    (["name", "999", "X"], "no person with id 999"),
    (["merge", "999", "1"], "no person with id 999"),
    (["move", "999", "--to", "1"], "no face with id 999"),
    (["remove-face", "999"], "no face with id 999"),
    (["hide", "999"], "no person with id 999"),
    (["unhide", "999"], "no person with id 999"),
    (["delete-person", "999"], "no person with id 999"),
    (["suggest", "999"], "no person with id 999"),
    (["accept", "999", "1"], "no face with id 999"),
    (["reject", "1", "999"], "no person with id 999"),
    (["same", "1", "999"], "no person with id 999"),
    (["not-same", "1", "1"], "person 1 cannot be a different person from themselves"),
    (["ignore", "999"], "no face with id 999"),
    (["unignore", "999"], "no face with id 999"),
    (["unknown", "--limit", "-1"], "--limit must be 0 or more"),
])
def test_bad_input_exits_1_with_one_line(run, args, reason):
    code, out, err = run(*args)
    assert code == 1 and out == "" and err == f"facefolio: {reason}\n"
