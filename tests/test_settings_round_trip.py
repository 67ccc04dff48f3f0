"""A settings round trip loses no decision (issue 21, points 1 and 2).

Raising the detection threshold narrows every photo (its faces under the new threshold go, no
file is read again: narrow.py) and putting it back re-analyses them; the two low-score faces
of deepface-unit (img54: 0.62, img40: 0.63) are not found at 0.70 and found again at 0.60. Whatever the user decided about them must be there at the end, and the named
faces the higher threshold does not find stay with their person unless the user agreed.
"""
from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from facefolio.library import Library, Scanner
from facefolio.library.people.people import People
from facefolio.library.scan.reanalysis import agree_to_drop, impact

LOW = ["img54.jpg", "img40.jpg"]  # each holds one face scored between 0.60 and 0.70
OTHERS = ["img1.jpg", "img2.jpg"]


def scan(library: Library):
    last = None
    for last in Scanner(library).scan():
        pass
    return last


def low_face(library: Library, folder: Path, name: str):
    """The face of `name` scored under 0.70 (ignored ones included)."""
    photo = library.photo_by_path(folder / name)
    faces = [f for f in library.faces(photo_id=photo.id)
             if f.score < 0.7]
    assert len(faces) == 1, (name, faces)
    return faces[0]


def set_threshold(library: Library, value: float) -> None:
    library.settings.det_threshold = value
    library.save_settings()


@pytest.fixture
def lib(tmp_path, datasets):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in LOW + OTHERS:
        shutil.copy(datasets / "deepface-unit" / name, folder / name)
    with Library(tmp_path / "lib") as library:
        set_threshold(library, 0.6)  # the default is 0.70: these faces would not be found
        library.add_folder(folder)
        scan(library)
        yield library, folder


def test_not_a_face_survives_a_threshold_round_trip(lib):
    library, folder = lib
    people = People(library)
    people.set_ignored([low_face(library, folder, n).id for n in LOW], True)
    set_threshold(library, 0.7)
    scan(library)
    set_threshold(library, 0.6)
    result = scan(library)
    for name in LOW:
        assert low_face(library, folder, name).ignored, name
    assert result.notes == 0
    assert not [n for n in library.scan_notes() if "ignored" in n[2]]


def test_named_faces_the_new_threshold_misses_are_said_and_kept(lib):
    library, folder = lib
    people = People(library)
    first = library.faces(photo_id=library.photo_by_path(folder / OTHERS[0]).id)[0].id
    confirmed = low_face(library, folder, LOW[0]).id
    grouped = low_face(library, folder, LOW[1]).id
    mark = people.create_person([first, confirmed], name="Mark")
    second = library.faces(photo_id=library.photo_by_path(folder / OTHERS[1]).id)[0].id
    leo = people.create_person([second, grouped], name="Leonardo")
    people.set_cover(leo, second)
    # Leonardo's face came from grouping, not from the user: it is said, not kept.
    library.con.execute("UPDATE faces SET assigned_by = 'cluster' WHERE id = ?", (grouped,))

    higher = replace(library.settings, det_threshold=0.7)
    said = impact(library, higher)
    assert said.photos == len(LOW + OTHERS)
    assert {(p.name, p.faces, p.confirmed) for p in said.people} == {
        ("Mark", 1, 1), ("Leonardo", 1, 0)}
    from facefolio.app.settings_dialog import reanalysis_text
    question, details = reanalysis_text(said, library.settings, higher)
    # Exactly what goes by default: Leonardo's grouped face (Mark's confirmed one stays).
    assert "threshold of 0.70" in question and "removes 1 face under it from 1 photo" in question
    assert "2 faces of named people are under it: Leonardo (1), Mark (1)" in details
    assert "The other one, placed by grouping, leaves its person." in details
    assert "1 face of them you named or confirmed yourself: it stays" in details

    set_threshold(library, 0.7)
    scan(library)
    assert len(library.faces(person_id=mark)) == 2  # the confirmed face stayed
    assert [Path(f.photo_path).name for f in library.faces(person_id=leo)] == [OTHERS[1]]
    set_threshold(library, 0.6)
    scan(library)
    assert {low_face(library, folder, LOW[0]).person_id} == {mark}
    assert len(library.faces(person_id=mark)) == 2

    # Agreed for exactly this setting: the confirmed face the new threshold misses goes.
    agree_to_drop(library, higher)
    set_threshold(library, 0.7)
    result = scan(library)
    assert len(library.faces(person_id=mark)) == 1
    assert result.notes == 1  # and `status` says which


def test_a_decision_follows_its_face_when_another_detector_draws_the_box_its_own_way():
    """Same pixels, another pack: a box of another shape over the same face still takes the
    decision (no kept duplicate beside the new face); a neighbour's box does not."""
    from facefolio.library.scan.identity import match_faces, overlap_pairs, FaceRef
    old = [(100.0, 100.0, 50.0, 50.0), (300.0, 100.0, 50.0, 50.0)]
    new = [(90.0, 70.0, 45.0, 90.0), (420.0, 100.0, 50.0, 50.0)]  # taller box; a stranger
    refs = lambda boxes: [FaceRef(b, None) for b in boxes]  # noqa: E731
    pairs = match_faces(refs(old), refs(new), (640, 480), (640, 480))
    assert pairs == {}  # under the strict overlap matching needs
    assert overlap_pairs(old, new, pairs) == {0: 0}


def test_a_higher_threshold_reads_no_photo_and_works_with_the_drive_unplugged(lib):
    """Narrowing needs no file: with the folder gone (an unplugged drive), raising the
    threshold still drops the undecided weak faces, keeps the decided ones, and leaves no
    photo waiting for a re-analysis; the photos stay offline, not re-analysed."""
    library, folder = lib
    people = People(library)
    kept = low_face(library, folder, LOW[0]).id
    dropped = low_face(library, folder, LOW[1]).id
    strong = [f.id for f in library.faces() if f.score >= 0.7]
    mark = people.create_person([kept], name="Mark")
    folder.rename(folder.with_name("unplugged"))
    photo_of = {f.id: f.photo_id for f in library.faces()}
    before = set(photo_of)
    # Said before saving, exactly, with the drive unplugged too.
    higher = replace(library.settings, det_threshold=0.7)
    said = impact(library, higher)
    from facefolio.app.settings_dialog import reanalysis_text
    question, _ = reanalysis_text(said, library.settings, higher)

    set_threshold(library, 0.7)
    assert library.counts()["pending_photos"] == len(LOW + OTHERS)
    result = scan(library)
    assert result.done == 0 and result.offline == len(LOW + OTHERS) and result.notes == 0
    assert library.counts()["pending_photos"] == 0
    ids = {f.id for f in library.faces()}
    assert kept in ids and dropped not in ids and set(strong) <= ids
    gone = before - ids
    assert said.reread == 0 and said.narrowed_faces == len(gone) >= 1
    assert said.narrowed_photos == len({photo_of[f] for f in gone})
    assert (f"removes {len(gone)} face{'s' if len(gone) > 1 else ''} under it from "
            f"{said.narrowed_photos} photo") in question and "without reading" in question
    assert [f.id for f in library.faces(person_id=mark)] == [kept]
    assert library.index(library.settings.pack).ids() == ids  # the index followed

    folder.with_name("unplugged").rename(folder)
    result = scan(library)
    assert result.done == 0  # nothing to analyse once the drive is back
    assert {f.id for f in library.faces()} == ids


def test_an_upgraded_library_keeps_the_old_default_threshold(tmp_path, datasets):
    """A library with no settings.json, analysed under the old default (0.60), keeps it when
    this version (default 0.70) opens it: an upgrade drops no face by itself. A library this
    version analysed keeps 0.70 the same way when a later default changes."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in LOW + OTHERS:
        shutil.copy(datasets / "deepface-unit" / name, folder / name)
    old = tmp_path / "old"
    with Library(old) as library:
        set_threshold(library, 0.6)
        library.add_folder(folder)
        scan(library)
        faces = len(library.faces())
    (old / "settings.json").unlink()  # as the old version left it: defaults, never saved
    with Library(old) as library:
        assert library.settings.det_threshold == 0.6
        assert library.counts()["pending_photos"] == 0
        assert scan(library).done == 0 and len(library.faces()) == faces
    assert '"det_threshold": 0.6' in (old / "settings.json").read_text()

    new = tmp_path / "new"
    with Library(new) as library:
        assert library.settings.det_threshold == 0.7
        library.add_folder(folder)
        scan(library)
        assert len(library.faces()) == faces - len(LOW)
    with Library(new) as library:
        assert library.settings.det_threshold == 0.7
    assert '"det_threshold": 0.7' in (new / "settings.json").read_text()
