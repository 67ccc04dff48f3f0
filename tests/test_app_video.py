"""Faces in videos, in the app: tiles of videos and of their faces carry a play badge, the viewer
opens a video face at its frame (decoded there), the face menu plays the video in the system's
player, and thumbnails of video faces are cut from their frame; a face drawn on a frame is
stored at that frame's time."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from app_fixtures import no_dangling_pools, open_window  # noqa: E402,F401
from facefolio.library import Library, Scanner  # noqa: E402

import video_fixtures as vf  # noqa: E402

WAIT = 30000


@pytest.fixture(scope="module")
def video_template(tmp_path_factory) -> tuple[Path, Path]:
    """A library of one video (two scenes of person01) and two photos, scanned."""
    root = tmp_path_factory.mktemp("videolib")
    folder = root / "Media"
    folder.mkdir()
    vf.make_video(folder / "clip.mp4")
    for name in vf.PERSON_PHOTOS[:2]:
        shutil.copy(vf.DEEPFACE / name, folder / name)
    with Library(root / "lib") as lib:
        lib.add_folder(folder)
        for _ in Scanner(lib).scan():
            pass
    return root / "lib", folder


@pytest.fixture
def video_library(video_template, tmp_path) -> tuple[Path, Path]:
    lib, folder = video_template
    shutil.copytree(lib, tmp_path / "lib")
    return tmp_path / "lib", folder


def _video_face(library_path: Path, folder: Path):
    """The video's record, its one face, and a face of a photo."""
    with Library(library_path) as lib:
        photo = lib.photo_by_path(folder / "clip.mp4")
        (face,) = lib.faces(photo_id=photo.id)
        return photo, face, next(f for f in lib.faces() if f.frame_ms is None)


def test_tiles_of_videos_and_their_faces_carry_a_play_badge(video_library):
    from facefolio.app.models import FaceListModel, PhotoListModel, face_items
    from facefolio.app import words
    from facefolio.app.roles import SubtitleRole, VideoRole
    from PySide6.QtCore import Qt

    path, folder = video_library
    with Library(path) as lib:
        faces = FaceListModel(None)
        faces.set_rows(face_items(lib, lib.faces()))
        badges = {Path(faces.rows[i].photo_path).name: faces.index(i).data(VideoRole)
                  for i in range(faces.rowCount())}
        assert badges == {"clip.mp4": True, **{n: False for n in vf.PERSON_PHOTOS[:2]}}
        video_row = next(i for i in range(faces.rowCount())
                         if faces.rows[i].frame_ms is not None)
        tip = faces.index(video_row).data(Qt.ItemDataRole.ToolTipRole)
        assert "From a video, at 0:0" in tip
        assert faces.index(video_row).data(SubtitleRole).endswith(
            words.clock(faces.rows[video_row].frame_ms))
        photos = PhotoListModel(None)
        photos.set_rows(lib.photos())
        assert sorted(photos.index(i).data(VideoRole) for i in range(photos.rowCount())) == \
            [False, False, True]


def test_thumbnails_of_a_video_face_are_cut_from_its_frame(video_library):
    from facefolio.app.thumbnails import ThumbnailTask, face_crop
    from facefolio.engine.video import read_frame_at

    path, folder = video_library
    photo, face, still = _video_face(path, folder)
    task = ThumbnailTask(path, path / "thumbnails", [("face", face.id), ("photo", photo.id)])
    got = []
    task.signals.done.connect(got.extend)
    task.run()
    made = dict(got)
    assert made[("face", face.id)] is not None and made[("photo", photo.id)] is not None
    image = made[("face", face.id)].convertToFormat(made[("face", face.id)].Format.Format_BGR888)
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(
        image.height(), image.bytesPerLine())[:, :image.width() * 3].reshape(
        image.height(), image.width(), 3)
    frame = read_frame_at(folder / "clip.mp4", face.time_ms)
    expected = face_crop(frame.pixels, frame.scale, face.box)
    other = read_frame_at(folder / "clip.mp4", 10_000 - face.time_ms)  # the other scene
    elsewhere = face_crop(other.pixels, other.scale, face.box)
    diff = np.abs(pixels.astype(int) - expected.astype(int)).mean()
    assert diff < 4 < np.abs(pixels.astype(int) - elsewhere.astype(int)).mean()


def test_the_viewer_opens_a_video_face_at_its_frame_and_plays_it_outside(
        qtbot, open_window, video_library, monkeypatch):
    from facefolio.app.face_actions import FaceAction, action_with
    from facefolio.app.models import FaceItem
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QDesktopServices

    path, folder = video_library
    photo, face, still = _video_face(path, folder)
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl",
                        staticmethod(lambda url: opened.append(url.toLocalFile()) or True))
    window = open_window(path)
    assert "clip.mp4" not in window.viewer.open_button.text()
    window.show_photo(str(folder / "clip.mp4"), face.id)
    viewer = window.viewer
    qtbot.waitUntil(lambda: viewer.photo is not None and not viewer.canvas.pixmap.isNull(),
                    timeout=WAIT)
    assert viewer.photo.frame_ms == face.time_ms
    assert (viewer.canvas.pixmap.width(), viewer.canvas.pixmap.height()) == (640, 480)
    assert [f.face_id for f in viewer.photo.faces] == [face.id]
    seconds = int(face.time_ms // 1000)
    assert f"video, frame at 0:{seconds:02d} of 0:10" in viewer.info_label.full
    assert viewer.open_button.text() == "Play video"
    qtbot.mouseClick(viewer.open_button, Qt.MouseButton.LeftButton)
    assert opened == [str(folder / "clip.mp4")]

    item = FaceItem.from_record(face)
    menu = window.actions.build_menu([item])
    play = action_with(menu, FaceAction.PLAY_VIDEO)
    assert play is not None and f"0:{seconds:02d}" in play.text()
    play.trigger()
    assert opened == [str(folder / "clip.mp4")] * 2
    photo_item = FaceItem.from_record(still)
    assert action_with(window.actions.build_menu([photo_item]),
                       FaceAction.PLAY_VIDEO) is None


def test_a_face_drawn_on_a_video_frame_is_stored_at_that_frame(video_library):
    from facefolio.library.people import drawn

    path, folder = video_library
    photo, face, still = _video_face(path, folder)
    with Library(path) as lib:
        made = drawn.embed_drawn_face(lib, photo.id, face.box, time_ms=face.time_ms)
        assert made.time_ms == face.time_ms
        new_id = drawn.add_drawn_face(lib, made)
        new = lib.face(new_id)
        assert new.in_video and new.frame_ms == face.time_ms
        assert float(made.embedding @ lib.embedding(face.id)[1]) > 0.5  # the same person


def test_a_person_page_counts_their_videos_apart(qtbot, open_window, video_library):
    path, folder = video_library
    photo, face, still = _video_face(path, folder)
    with Library(path) as lib:
        from facefolio.library.people.people import People
        person = People(lib).create_person([face.id, still.id], name="Clip Person")
    window = open_window(path)
    window.show_person(person)
    page = window.person
    qtbot.waitUntil(lambda: page.count.text().startswith("1 photo, 1 video"), timeout=WAIT)
