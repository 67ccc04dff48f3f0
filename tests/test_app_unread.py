"""The Folders page says which files Facefolio does not read, by type (issue 24)."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import shutil  # noqa: E402

from app_fixtures import no_dangling_pools, open_window  # noqa: E402,F401
from facefolio.library import Library, Scanner  # noqa: E402

WAIT = 60000


def test_folders_page_names_the_files_it_does_not_read(qtbot, open_window, datasets,
                                                       tmp_path):
    folder = tmp_path / "Shoot"
    folder.mkdir()
    shutil.copy(datasets / "deepface-unit" / "img2.jpg", folder / "a.jpg")
    for i in range(10):
        (folder / f"layer{i}.psd").write_bytes(b"8BPS")
    for name in ("x.xcf", "y.xcf", "a.jpg.xmp"):
        (folder / name).write_bytes(b"gimp")
    with Library(tmp_path / "library") as lib:
        lib.add_folder(folder)
        for _ in Scanner(lib).scan():
            pass
    window = open_window(tmp_path / "library")
    window.sidebar.setCurrentRow(0)
    label = window.folders.unread_label
    qtbot.waitUntil(lambda: label.text() != "", timeout=WAIT)
    assert label.text() == "12 files Facefolio does not read: .psd x10, .xcf x2"
    assert label.isVisibleTo(window.folders)
