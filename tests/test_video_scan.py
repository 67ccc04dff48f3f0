"""Faces in videos, the scan side: a video of a person named from photos joins that person
once, keeps its faces and the user's decisions through a rename and a metadata edit, and a
video that cannot be read says why; `status` counts videos apart; no sidecar for videos."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from facefolio.library import Library, Scanner
from facefolio.library.interop.xmp_library import export_library_xmp
from facefolio.library.people.people import People

import video_fixtures as vf


def scan(library: Library):
    last = None
    for last in Scanner(library).scan():
        pass
    assert last.phase == "done"
    return last


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """10 s, two scenes (two photos of person01 of deepface-unit), MP4 written by OpenCV."""
    return vf.make_video(tmp_path_factory.mktemp("clip") / "two scenes.mp4")


@pytest.fixture
def named(tmp_path) -> tuple[Library, Path, int]:
    """A library of four photos of person01, named "Anna" by the user."""
    folder = tmp_path / "media"
    folder.mkdir()
    for name in vf.PERSON_PHOTOS:
        shutil.copy(vf.DEEPFACE / name, folder / name)
    with Library(tmp_path / "lib") as lib:
        lib.add_folder(folder)
        scan(lib)
        (anna,) = {f.person_id for f in lib.faces()}
        assert anna is not None
        People(lib).name(anna, "Anna")
        yield lib, folder, anna


def video_faces(lib: Library, path: Path):
    photo = lib.photo_by_path(path)
    assert photo is not None and photo.is_video, photo
    return lib.faces(photo_id=photo.id)


def test_a_video_joins_the_person_named_from_photos_once(named, clip):
    lib, folder, anna = named
    shutil.copy(clip, folder / "clip.mp4")
    result = scan(lib)
    assert result.done == 1 and result.errors == 0
    assert result.videos == 1  # the progress lines say "photos and videos", not "photos"
    from facefolio.app.scan_status import describe
    assert describe(result).startswith("Scan finished: 1 file analysed, 1 face found")
    from dataclasses import replace
    from facefolio.library.scan.progress import Phase
    running = describe(replace(result, phase=Phase.SCANNING, done=1, total=3), rate=2.0)
    assert running.startswith("1/3 photos and videos, 1 face, 2.0 files/s")
    (face,) = video_faces(lib, folder / "clip.mp4")  # two scenes, one person: one face
    assert face.person_id == anna and face.person_name == "Anna"
    assert face.in_video and 0 < face.time_ms < 10_000
    photo = lib.photo(face.photo_id)
    assert (photo.width, photo.height, photo.duration_ms) == (640, 480, 10_000.0)
    exported = {f["face_id"]: f for f in lib.export_faces()}
    assert exported[face.id]["video"] is True
    assert exported[face.id]["time_s"] == round(face.time_ms / 1000, 3)
    assert not any(f["video"] for i, f in exported.items() if i != face.id)
    from facefolio.library.photos.browse import dated_photos
    listed = {Path(p.photo.path).name: p.to_json() for p in dated_photos(lib)}
    assert (listed["clip.mp4"]["video"], listed["clip.mp4"]["duration_s"]) == (True, 10.0)
    assert listed["clip.mp4"]["people"] == [{"person_id": anna, "person_name": "Anna"}]
    assert not listed[vf.PERSON_PHOTOS[0]]["video"]


def test_a_renamed_and_retagged_video_keeps_its_face_and_decisions(named, clip, tmp_path):
    lib, folder, anna = named
    shutil.copy(clip, folder / "clip.mp4")
    scan(lib)
    (face,) = video_faces(lib, folder / "clip.mp4")
    # The user's decisions: this face is not Anna (remembered), it is Ben.
    People(lib).remove_faces([face.id])
    ben = People(lib).create_person([face.id], name="Ben")
    before = lib.face(face.id)
    assert (before.person_id, before.person_name, before.assigned_by) == (ben, "Ben", "user")

    os.rename(folder / "clip.mp4", folder / "holiday.mp4")
    moved = scan(lib)
    assert moved.moved == 1 and moved.done == 0
    (after,) = video_faces(lib, folder / "holiday.mp4")
    assert after.id == face.id and after.person_id == before.person_id
    assert lib.photo_by_path(folder / "clip.mp4") is None

    vf.add_tag(folder / "holiday.mp4", "Summer 2024")  # what a phone's editor writes
    vf.append_free(folder / "holiday.mp4")
    retagged = scan(lib)
    assert retagged.done == 1 and retagged.errors == 0  # a refresh, not an analysis
    (again,) = video_faces(lib, folder / "holiday.mp4")
    assert again.id == face.id and again.person_id == before.person_id
    assert again.time_ms == face.time_ms
    rejected = lib.con.execute("SELECT person_id FROM rejections WHERE face_id = ?",
                               (face.id,)).fetchall()
    assert [r[0] for r in rejected] == [anna]


def test_unreadable_videos_get_reasons_and_status_counts_videos_apart(named, clip, tmp_path):
    lib, folder, _ = named
    shutil.copy(clip, folder / "clip.mp4")
    shutil.copy(clip, folder / "cut.mp4")
    vf.truncate(folder / "cut.mp4", 0.5)
    (folder / "notes.mp4").write_text("shopping list\n")
    scan(lib)
    reasons = {Path(p.path).name: p.error for p in lib.failed_photos()}
    assert reasons["notes.mp4"] == "not a video: the file holds text"
    assert reasons["cut.mp4"].startswith("truncated video")
    assert len(reasons) == 2
    counts = lib.counts()
    assert (counts["photos"], counts["videos"], counts["failed_videos"],
            counts["video_faces"]) == (4, 1, 2, 1)
    (f,) = lib.folders()
    assert (f.photo_count, f.video_count, f.error_count) == (4, 1, 2)

    run = subprocess.run([sys.executable, "-m", "facefolio.cli", "--library", str(lib.path),
                          "status"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "4 photos, 1 video (1 face)," in run.stdout
    assert "cut.mp4: truncated video" in run.stdout
    status = json.loads(subprocess.run(
        [sys.executable, "-m", "facefolio.cli", "--library", str(lib.path), "status",
         "--json"], capture_output=True, text=True, timeout=300).stdout)
    assert status["counts"]["videos"] == 1 and status["folders"][0]["videos"] == 1


def test_a_named_video_face_never_gets_a_sidecar(named, clip):
    lib, folder, anna = named
    shutil.copy(clip, folder / "clip.mp4")
    scan(lib)
    (face,) = video_faces(lib, folder / "clip.mp4")
    assert face.person_name == "Anna"
    written, errors = export_library_xmp(lib)
    assert (written, errors) == (len(vf.PERSON_PHOTOS), [])
    assert not [p for p in folder.iterdir() if p.name.startswith("clip")
                and p.suffix.lower() == ".xmp"]


def test_a_video_analysed_again_carries_the_decisions_to_its_new_face(named, clip):
    """Another detection setting re-analyses the video: the new face of the same person
    takes the old one's name and "not this person" (paired by the recogniser: the two
    analyses need not pick the same frame)."""
    lib, folder, anna = named
    shutil.copy(clip, folder / "clip.mp4")
    scan(lib)
    (face,) = video_faces(lib, folder / "clip.mp4")
    People(lib).remove_faces([face.id])
    ben = People(lib).create_person([face.id], name="Ben")
    lib.settings.det_threshold = 0.65
    lib.save_settings()
    result = scan(lib)
    assert result.done == len(vf.PERSON_PHOTOS) + 1 and result.notes == 0
    (new,) = video_faces(lib, folder / "clip.mp4")
    assert new.id != face.id  # analysed again, not kept
    assert (new.person_id, new.assigned_by) == (ben, "user")
    rejected = lib.con.execute("SELECT person_id FROM rejections WHERE face_id = ?",
                               (new.id,)).fetchall()
    assert [r[0] for r in rejected] == [anna]


def test_video_faces_pair_by_the_recogniser_not_by_where_they_were():
    """A new analysis may show a person at another frame, elsewhere in the picture: the same
    person is paired whatever the boxes; without comparable embeddings (another pack), only
    the same frame and place pair."""
    import numpy as np

    from facefolio.library.scan.results import FaceRow
    from facefolio.library.scan.video_scan import match_video_faces

    def unit(v):
        v = np.asarray(v, np.float32)
        return v / np.linalg.norm(v)

    a, b = unit([1, 0, 0, 0]), unit([0, 1, 0, 0])
    old = [{"x": 10, "y": 10, "w": 50, "h": 50, "pack": "p", "embedding": a.tobytes(),
            "time_ms": 1000.0},
           {"x": 300, "y": 10, "w": 50, "h": 50, "pack": "p", "embedding": b.tobytes(),
            "time_ms": 1000.0}]
    lm = np.zeros((5, 2), np.float32)
    new = [FaceRow(np.array([400, 200, 60, 60]), lm, 0.9, 0.9, unit(b + 0.3 * a), 7000.0),
           FaceRow(np.array([200, 300, 40, 40]), lm, 0.9, 0.9, unit(a + 0.9 * b), 5000.0),
           FaceRow(np.array([0, 0, 40, 40]), lm, 0.9, 0.9, unit([0, 0, 1, 0]), 1000.0)]
    assert match_video_faces(old, new, "p") == {1: 0, 0: 1}  # sim 0.96 first, then 0.74
    assert match_video_faces(old, new[2:], "p") == {}  # someone else entirely
    other_pack = [dict(f, pack="q") for f in old]
    assert match_video_faces(other_pack, new, "p") == {}  # other frames, other places
    same_spot = FaceRow(np.array([12, 11, 50, 48]), lm, 0.9, 0.9, unit([0, 0, 1, 0]), 1100.0)
    assert match_video_faces(other_pack, [same_spot], "p") == {0: 0}


def test_a_date_written_later_into_a_videos_sidecar_redates_it(named, clip, datasets):
    """Lightroom or digiKam corrects a video's date in `clip.mp4.xmp`: the next scan reads it
    (a refresh: the same face), though Facefolio never writes a video's sidecar itself."""
    lib, folder, _ = named
    shutil.copy(clip, folder / "clip.mp4")
    scan(lib)
    (face,) = video_faces(lib, folder / "clip.mp4")
    assert lib.photo(face.photo_id).taken_at_source == "file"  # OpenCV wrote no date
    shutil.copy(datasets / "immich-assets/metadata/xmp/dates/2000.xmp",
                folder / "clip.mp4.xmp")
    scan(lib)
    (again,) = video_faces(lib, folder / "clip.mp4")
    photo = lib.photo(again.photo_id)
    assert again.id == face.id
    assert (photo.taken_at, photo.taken_at_source) == ("2000-09-27T14:35:33+02:00", "exif")
