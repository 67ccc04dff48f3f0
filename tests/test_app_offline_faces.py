"""Faces stay visible while their photos are offline (issue 21, point 8): every face gets its
crop while its photo can be read, not only when first shown, and keeps it."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

from app_fixtures import datasets_dir, no_dangling_pools, open_window  # noqa: E402,F401
from facefolio.library import Library, Scanner  # noqa: E402
from PySide6.QtGui import QPixmap  # noqa: E402

WAIT = 30000
PHOTOS = ["img1.jpg", "img2.jpg", "couple.jpg", "img26.jpg"]


def test_faces_never_shown_keep_their_crops_when_the_drive_goes(qtbot, open_window, tmp_path):
    drive = tmp_path / "drive" / "photos"
    drive.mkdir(parents=True)
    for name in PHOTOS:
        shutil.copy(datasets_dir() / "deepface-unit" / name, drive / name)
    path = tmp_path / "lib"
    with Library(path) as library:
        library.add_folder(drive)
        for _ in Scanner(library).scan():
            pass
        face_ids = [f.id for f in library.faces()]
    assert len(face_ids) >= len(PHOTOS)
    window = open_window(path)
    provider = window.thumbnails
    task = provider.keep_face_crops()
    with qtbot.waitSignal(task.signals.finished, timeout=WAIT):
        pass
    assert sorted(int(p.stem) for p in (path / "thumbnails" / "faces").glob("*.jpg")) == \
        sorted(face_ids)

    # The drive is unplugged: no photo can be decoded now. No face was shown before.
    drive.rename(tmp_path / "drive" / "elsewhere")
    provider.cache.clear()
    got: dict[int, QPixmap] = {}

    def arrived(keys) -> None:
        for key in keys:
            got[key[1]] = provider.cache.get(key)
    provider.ready.connect(arrived)
    for face_id in face_ids:
        provider.pixmap(("face", face_id))
    qtbot.waitUntil(lambda: len(got) == len(face_ids), timeout=WAIT)
    assert all(p is not None and p.width() > 1 for p in got.values()), \
        [f for f, p in got.items() if p is None or p.width() <= 1]
