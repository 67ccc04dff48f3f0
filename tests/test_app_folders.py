"""Folders and scans as the user sees them: an interrupted scan (resume), an unplugged drive
(offline, everything kept, marked where the photos show), missing photos (removed only when
asked, after saying what goes), and the pause button (the ETA stands still)."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from app_fixtures import album_folder, no_dangling_pools, open_window, photo_folder, scan_and_name  # noqa: E402,F401
from facefolio.app.roles import SubtitleRole  # noqa: E402
from facefolio.library import CancelToken, Library, Scanner  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

WAIT = 60000


@pytest.fixture
def drive(album_folder, tmp_path) -> tuple[Path, Path]:
    """A copy of the album on its own "drive", scanned, people named; (photos, library)."""
    photos = tmp_path / "drive" / "Album"
    shutil.copytree(album_folder, photos)
    scan_and_name(tmp_path / "library", photos)
    return photos, tmp_path / "library"


def folder_row(window):
    return window.folders.folders.rows[0]


def select_folder(qtbot, window) -> None:
    window.sidebar.setCurrentRow(0)
    qtbot.waitUntil(lambda: window.folders.folders.rowCount() == 1, timeout=WAIT)
    window.folders.table.selectRow(0)


def state_text(window) -> str:
    return window.folders.folders.index(0, 5).data()


def test_an_interrupted_scan_says_so_and_resumes(qtbot, open_window, album_folder, tmp_path):
    library = tmp_path / "library"
    with Library(library) as lib:
        folder = lib.add_folder(album_folder)
        token = CancelToken()
        for progress in Scanner(lib).scan([folder.id], token):
            if progress.phase == "scanning" and progress.done >= 5:
                token.cancel()  # as when the app was quit mid-scan
    window = open_window(library)
    select_folder(qtbot, window)
    f = folder_row(window)
    assert f.scan_incomplete
    done = f.photo_count + f.error_count
    assert 5 <= done < 18
    assert state_text(window) == f"Scanned {done} of 18: rescan to resume"
    assert window.folders.folders.index(0, 4).data().startswith("interrupted ")
    button = window.folders.rescan_button
    assert button.text() == "Resume scan"
    assert "rescan to resume" in window.folders.state_label.text()
    with qtbot.waitSignal(window.session.scanFinished, timeout=WAIT) as finished:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert finished.args[0].phase == "done" and finished.args[0].total == 18 - done
    qtbot.waitUntil(lambda: state_text(window) == "Up to date", timeout=WAIT)
    window.folders.table.selectRow(0)
    assert window.folders.rescan_button.text() == "Rescan"


def test_an_unplugged_drive_is_offline_everything_kept_and_marked(qtbot, open_window, drive,
                                                                  tmp_path):
    photos, library = drive
    with Library(library) as lib:
        before = sorted((p.id, p.name, p.face_count) for p in lib.people())
    # Unplugged: the mount point stays behind as an empty folder.
    away = tmp_path / "unplugged"
    photos.rename(away)
    photos.mkdir()
    window = open_window(library)
    select_folder(qtbot, window)
    with qtbot.waitSignal(window.session.scanFinished, timeout=WAIT) as finished:
        qtbot.mouseClick(window.folders.rescan_button, Qt.MouseButton.LeftButton)
    assert "18 offline, kept" in window.statusBar().currentMessage() or \
        finished.args[0].offline == 18
    qtbot.waitUntil(lambda: folder_row(window).offline, timeout=WAIT)
    assert state_text(window).startswith("Offline since ")
    # Why: the lead's scanner says what it saw (an empty folder where photos were).
    assert state_text(window).startswith("Offline since ") and ": 18 photos kept; " in \
        state_text(window) and "is its drive mounted?" in state_text(window)
    assert "resume" not in state_text(window)
    qtbot.waitUntil(lambda: sorted((p.id, p.name, p.face_count) for p in
                                   window.people.model.rows) == before, timeout=WAIT)
    # Photos and faces are marked where they show, and the viewer says why it is blank.
    window.sidebar.setCurrentRow(3)
    qtbot.waitUntil(lambda: window.photos.model.rowCount() == 18, timeout=WAIT)
    assert all(window.photos.model.index(r).data(SubtitleRole).startswith("offline")
               for r in range(18))
    window.show_face_search(window.people.model.rows[0].cover_face_id)
    qtbot.waitUntil(lambda: window.search.model.rowCount() > 1, timeout=WAIT)
    assert window.search.model.index(1).data(SubtitleRole).endswith(" · offline")
    photo = window.search.model.rows[0].photo_path
    window.show_photo(photo)
    qtbot.waitUntil(lambda: window.viewer.photo is not None, timeout=WAIT)
    assert window.viewer.hint.text().startswith("This photo is offline")
    assert window.viewer.info_label.full.startswith("offline")
    # Plugged back in: everything as it was, same ids and names.
    photos.rmdir()
    away.rename(photos)
    with qtbot.waitSignal(window.session.scanFinished, timeout=WAIT):
        window.session.start_scan(None)
    window.sidebar.setCurrentRow(0)
    qtbot.waitUntil(lambda: not folder_row(window).offline and state_text(window) ==
                    "Up to date", timeout=WAIT)
    with Library(library) as lib:
        assert sorted((p.id, p.name, p.face_count) for p in lib.people()) == before


def test_missing_photos_are_removed_only_when_asked(qtbot, open_window, drive, monkeypatch):
    photos, library = drive
    (photos / "Hugh_Laurie_3.jpg").unlink()
    window = open_window(library)
    select_folder(qtbot, window)
    with qtbot.waitSignal(window.session.scanFinished, timeout=WAIT):
        qtbot.mouseClick(window.folders.rescan_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: folder_row(window).missing_count == 1, timeout=WAIT)
    assert state_text(window) == "1 photo missing"
    window.folders.table.selectRow(0)
    button = window.folders.missing_button
    assert button.isVisible() and button.isEnabled()
    asked = []

    def answer(parent, title, text, *a, **k):
        asked.append(text)
        return QMessageBox.StandardButton.No if len(asked) == 1 else \
            QMessageBox.StandardButton.Yes
    monkeypatch.setattr(QMessageBox, "question", staticmethod(answer))
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(asked) == 1, timeout=WAIT)
    assert asked[0].startswith(f"1 photo is no longer in {photos}.")
    assert "Their 1 face will leave the library, 1 of them named (Hugh Laurie)" in asked[0]
    assert "not affected: they are offline, not missing" in asked[0]
    qtbot.wait(300)
    assert folder_row(window).missing_count == 1  # "No" removed nothing
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: folder_row(window).missing_count == 0 and
                    state_text(window) == "Up to date", timeout=WAIT)
    assert folder_row(window).photo_count == 17
    assert not window.folders.missing_button.isVisible()
    with Library(library) as lib:
        hugh = next(p for p in lib.people() if p.name == "Hugh Laurie")
        assert hugh.face_count == 6  # the person stays with their other photos


def test_pause_stops_the_clock_and_resume_finishes(qtbot, open_window, photo_folder,
                                                   tmp_path):
    window = open_window(tmp_path / "lib")
    session, status = window.session, window.scan_status
    seen = []
    session.scanProgress.connect(seen.append)
    session.add_folders([str(photo_folder)])
    qtbot.waitUntil(lambda: any(p.phase == "scanning" and p.done >= 2 for p in seen),
                    timeout=WAIT)
    qtbot.mouseClick(status.pause_button, Qt.MouseButton.LeftButton)
    assert session.scan_task.token.paused
    assert status.pause_button.text() == "Resume"
    text = status.label.text()
    assert text.startswith("Paused: ") and "photos/s" not in text and "left" not in text
    clock = status.clock.seconds()
    qtbot.wait(1200)  # progress of photos already in flight may still arrive
    assert status.clock.seconds() == clock  # the clock stood still
    assert status.label.text().startswith("Paused: ")
    with qtbot.waitSignal(session.scanFinished, timeout=WAIT) as finished:
        qtbot.mouseClick(status.pause_button, Qt.MouseButton.LeftButton)
        assert not session.scan_task.token.paused
    assert finished.args[0].phase == "done" and finished.args[0].done == 16


def test_the_folder_being_scanned_says_so_and_a_cancel_says_interrupted(qtbot, open_window,
                                                                      photo_folder, tmp_path):
    """While the window's own scan runs, its folder is "Scanning", never "interrupted";
    cancelled, it is interrupted (the cancel writes nothing the page would reload for)."""
    window = open_window(tmp_path / "lib")
    session, status = window.session, window.scan_status
    seen = []
    session.scanProgress.connect(seen.append)
    session.add_folders([str(photo_folder)])
    qtbot.waitUntil(lambda: any(p.phase == "scanning" and p.done >= 2 for p in seen),
                    timeout=WAIT)
    qtbot.mouseClick(status.pause_button, Qt.MouseButton.LeftButton)
    window.folders.reload()
    qtbot.waitUntil(lambda: window.folders.folders.rowCount() == 1
                    and state_text(window).startswith("Scanning: "), timeout=WAIT)
    assert state_text(window).endswith(" of 16 so far")
    assert window.folders.folders.index(0, 4).data() == "scanning now"
    with qtbot.waitSignal(session.scanFinished, timeout=WAIT):
        session.cancel_scan()
    qtbot.waitUntil(lambda: state_text(window).endswith(": rescan to resume"), timeout=WAIT)
    assert window.folders.folders.index(0, 4).data().startswith("interrupted ")


def test_new_settings_leave_photos_waiting_for_re_analysis(qtbot, open_window, drive):
    photos, library = drive
    with Library(library) as lib:
        lib.settings.min_face = 48  # a new smallest face: every photo is analysed again
        lib.save_settings()
    window = open_window(library)
    select_folder(qtbot, window)
    qtbot.waitUntil(lambda: state_text(window) == "18 photos to re-analyse", timeout=WAIT)
    with qtbot.waitSignal(window.session.scanFinished, timeout=WAIT):
        qtbot.mouseClick(window.folders.rescan_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: state_text(window) == "Up to date", timeout=WAIT)


def test_a_file_name_that_is_not_utf8_shows_readably(qtbot, open_window, album_folder,
                                                    tmp_path):
    """Latin-1 bytes in a name (an old camera, a zip): shown with a visible escape for the
    byte that is not UTF-8 (issue 21, point 16: not "caf\ufffd"), opened for real."""
    folder = tmp_path / "old camera"
    folder.mkdir()
    odd = os.fsdecode(b"caf\xe9_Hugh.jpg")
    shutil.copy(album_folder / "Hugh_Laurie_1.jpg", folder / odd)
    window = open_window(tmp_path / "library")
    with qtbot.waitSignal(window.session.scanFinished, timeout=WAIT) as done:
        window.session.add_folders([str(folder)])
    assert done.args[0].errors == 0
    window.sidebar.setCurrentRow(3)
    qtbot.waitUntil(lambda: window.photos.model.rowCount() == 1, timeout=WAIT)
    tile = window.photos.model.index(0)
    assert tile.data() == "caf\\xe9_Hugh.jpg"
    assert "caf\\xe9_Hugh.jpg" in tile.data(Qt.ItemDataRole.ToolTipRole)
    window.show_photo(window.photos.model.rows[0].path)
    qtbot.waitUntil(lambda: window.viewer.photo is not None and
                    not window.viewer.canvas.pixmap.isNull(), timeout=WAIT)
    assert window.viewer.title_label.full == "caf\\xe9_Hugh.jpg"
    assert len(window.viewer.canvas.faces) == 1
