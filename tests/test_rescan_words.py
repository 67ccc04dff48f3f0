"""What a rescan says (issue 21, points 11 and 13): by what changed, files that cannot be read
as files, and a photo put back no longer missing."""
from __future__ import annotations

import os
import shutil

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from facefolio.app.scan_status import describe  # noqa: E402
from facefolio.library import Library, Scanner  # noqa: E402


def scan(library: Library):
    last = None
    for last in Scanner(library).scan():
        pass
    return last


def test_a_rescan_says_what_changed_and_a_restored_photo_is_not_missing(tmp_path, datasets):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("img1.jpg", "img2.jpg"):
        shutil.copy(datasets / "deepface-unit" / name, folder / name)
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.jpg").write_text("not a photo")
    with Library(tmp_path / "lib") as library:
        library.add_folder(folder)
        first = scan(library)
        assert describe(first).startswith("Scan finished: 2 photos analysed, 2 faces found")
        assert "2 files could not be read" in describe(first)
        again = scan(library)  # nothing changed: the two bad files are tried again
        assert describe(again) == ("Scan finished: nothing new or changed "
                                   "(2 files could not be read: see Folders)")
        assert library.folders()[0].pending_count == 0  # not "2 photos to re-analyse"
        (folder / "img2.jpg").rename(tmp_path / "img2.jpg")
        assert scan(library).missing == 1
        (tmp_path / "img2.jpg").rename(folder / "img2.jpg")
        assert scan(library).missing == 0  # put back: not "1 photo missing" any more
