"""More of what a user does with the mouse: drops, folders, hiding, photos, the menu."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app_fixtures import (  # noqa: E402,F401
    album_folder,
    album_library,
    album_template,
    click_tile,
    dialogs,
    no_dangling_pools,
    open_window,
    photo_folder,
    scanned_library,
    scanned_template,
    unsure_library,
    unsure_template,
)
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl  # noqa: E402
from PySide6.QtGui import QDropEvent  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

WAIT = 30000


def drop_urls(window, paths) -> None:
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(QPointF(300, 300), Qt.DropAction.CopyAction, data,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)


def test_dropping_a_photo_finds_the_people_in_it(qtbot, open_window, album_library,
                                                 album_folder):
    """Find people in a photo: one group per face of the photo, left to right, each headed
    by that face, with counts that say what they count and file names on the tiles."""
    from facefolio.app.roles import SubtitleRole
    window = open_window(album_library)
    search = window.search
    search.slider.setValue(75)  # left over from an earlier search...
    drop_urls(window, [album_folder / "together_1.jpg"])
    assert window.current_page() is search
    assert search.slider.value() == 40  # ...a new search starts from the default
    qtbot.waitUntil(lambda: len(search.groups) == 2, timeout=WAIT)
    assert search.heading.text() == "2 faces in together_1.jpg"
    left, right = search.groups
    assert left.title.full.startswith("Face 1 of 2: looks like Barack Obama (")
    assert right.title.full.startswith("Face 2 of 2: looks like Hugh Laurie (")
    for group in (left, right):
        assert group.head.isVisibleTo(group) and group.head.pixmap().width() > 1  # the query face
        total, shown = group.model.rowCount(), group.proxy.rowCount()
        assert group.count.text() == f"{shown} of the {total} closest matches shown"
    # The photo itself is in the library: its own face leads each group.
    assert left.model.rows[0].similarity > 0.95
    assert left.model.rows[0].person_name == "Barack Obama"
    assert left.model.index(0).data(SubtitleRole) == "Barack Obama · together_1.jpg"
    assert search.slider_label.text().startswith("40%: ")
    search.slider.setValue(99)
    assert left.proxy.rowCount() < left.model.rowCount()
    assert left.count.text().startswith(f"{left.proxy.rowCount()} of the ")


def test_dropping_a_folder_adds_and_scans_it(qtbot, open_window, photo_folder, tmp_path):
    window = open_window(tmp_path / "lib")
    with qtbot.waitSignal(window.session.scanFinished, timeout=120000):
        drop_urls(window, [photo_folder])
    qtbot.waitUntil(lambda: len(window.people.model.rows) == 3, timeout=WAIT)


def test_remove_a_folder_keeps_named_people(qtbot, open_window, scanned_library,
                                            monkeypatch):
    window = open_window(scanned_library)
    qtbot.waitUntil(lambda: len(window.people.model.rows) == 3, timeout=WAIT)
    pid = window.people.model.rows[0].id
    window.session.people_write(lambda p: p.name(pid, "Anna"))
    qtbot.waitUntil(lambda: any(p.name == "Anna" for p in window.people.model.rows),
                    timeout=WAIT)
    window.sidebar.setCurrentRow(0)
    folders = window.folders
    qtbot.waitUntil(lambda: folders.folders.rowCount() == 1, timeout=WAIT)
    folders.table.selectRow(0)
    monkeypatch.setattr(QMessageBox, "question",
                        staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes))
    qtbot.mouseClick(folders.remove_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: folders.empty is True, timeout=WAIT)  # back to the welcome
    qtbot.waitUntil(lambda: [p.name for p in window.people.model.rows] == ["Anna"],
                    timeout=WAIT)


def test_rescan_one_folder_from_the_folders_view(qtbot, open_window, scanned_library):
    window = open_window(scanned_library)
    window.sidebar.setCurrentRow(0)
    folders = window.folders
    qtbot.waitUntil(lambda: folders.folders.rowCount() == 1, timeout=WAIT)
    folders.table.selectRow(0)
    with qtbot.waitSignal(window.session.scanFinished, timeout=WAIT) as done:
        qtbot.mouseClick(folders.rescan_button, Qt.MouseButton.LeftButton)
    assert done.args[0].phase == "done" and done.args[0].skipped == 16


def test_hide_a_person_and_show_hidden(qtbot, open_window, scanned_library):
    window = open_window(scanned_library)
    qtbot.waitUntil(lambda: len(window.people.model.rows) == 3, timeout=WAIT)
    person = window.people.model.rows[0]
    window.people.set_hidden(person, True)
    qtbot.waitUntil(lambda: window.people.proxy.rowCount() == 2, timeout=WAIT)
    window.hidden_action.trigger()  # View > Show hidden people
    assert window.people.show_hidden.isChecked()
    assert window.people.proxy.rowCount() == 3


def test_filter_people_by_name(qtbot, open_window, scanned_library):
    window = open_window(scanned_library)
    qtbot.waitUntil(lambda: len(window.people.model.rows) == 3, timeout=WAIT)
    pid = window.people.model.rows[1].id
    window.session.people_write(lambda p: p.name(pid, "Zoe"))
    qtbot.waitUntil(lambda: any(p.name == "Zoe" for p in window.people.model.rows),
                    timeout=WAIT)
    qtbot.keyClicks(window.people.filter, "zo")
    assert window.people.proxy.rowCount() == 1
    qtbot.keyClicks(window.people.filter, "x")
    assert window.people.proxy.rowCount() == 0
    assert window.people.empty.text() == "No one matches this filter."


def test_suggestions_can_be_confirmed(qtbot, open_window, unsure_library):
    """Two faces of Barack Obama are in no person: his page asks about them; Yes and No are
    pressed for real and the library follows."""
    from facefolio.library import Library
    window = open_window(unsure_library)
    qtbot.waitUntil(lambda: len(window.people.model.rows) == 3, timeout=WAIT)
    obama = next(p for p in window.people.model.rows if p.name == "Barack Obama")
    window.show_person(obama.id)
    page = window.person
    qtbot.waitUntil(lambda: page.suggestions.rowCount() == 2, timeout=WAIT)
    assert page.faces.rowCount() == 6 and page.suggest_box.isVisible()
    assert page.suggest_label.full == "Is this also Barack Obama? Select faces and answer."
    yes_face, no_face = (f.face_id for f in page.suggestions.rows)
    assert not page.yes_button.isEnabled()  # nothing selected yet
    click_tile(qtbot, page.suggest_view, 0)
    qtbot.mouseClick(page.yes_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.faces.rowCount() == 7 and page.suggestions.rowCount() == 1,
                    timeout=WAIT)
    click_tile(qtbot, page.suggest_view, 0)
    qtbot.mouseClick(page.no_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.suggestions.rowCount() == 0, timeout=WAIT)
    assert not page.suggest_box.isVisible()
    with Library(unsure_library) as lib:
        assert lib.face(yes_face).person_id == obama.id
        assert lib.face(yes_face).assigned_by == "suggestion"
        assert lib.face(no_face).person_id is None
        assert [r[0] for r in lib.con.execute(
            "SELECT person_id FROM rejections WHERE face_id = ?", (no_face,))] == [obama.id]
    assert window.statusBar().currentMessage().startswith("The face is not Barack Obama")



def test_files_that_fail_are_listed_with_a_reason(qtbot, open_window, tmp_path):
    photos = tmp_path / "broken"
    photos.mkdir()
    (photos / "empty.jpg").write_bytes(b"")
    (photos / "junk.png").write_bytes(b"not a picture at all")
    window = open_window(tmp_path / "lib")
    with qtbot.waitSignal(window.session.scanFinished, timeout=WAIT) as done:
        window.session.add_folders([str(photos)])
    assert done.args[0].errors == 2
    window.sidebar.setCurrentRow(0)
    errors = window.folders.errors
    qtbot.waitUntil(lambda: errors.rowCount() == 2, timeout=WAIT)
    reasons = {errors.index(r, 0).data().rsplit("/", 1)[-1]: errors.index(r, 1).data()
               for r in range(2)}
    assert "empty" in reasons["empty.jpg"]
    assert reasons["junk.png"]
    assert window.folders.error_label.text() == "2 files could not be read:"


def test_a_folder_added_during_a_scan_is_scanned_next(qtbot, open_window, photo_folder,
                                                      tmp_path):
    import shutil
    second = tmp_path / "more"
    second.mkdir()
    shutil.copy(photo_folder / "couple.jpg", second / "couple.jpg")
    window = open_window(tmp_path / "lib")
    session = window.session
    finished = []
    session.scanFinished.connect(finished.append)
    session.add_folders([str(photo_folder)])
    qtbot.waitUntil(lambda: session.scanning, timeout=WAIT)
    session.add_folders([str(second)])
    qtbot.waitUntil(lambda: len(finished) == 2, timeout=120000)
    assert [p.phase for p in finished] == ["done", "done"]
    assert finished[1].total == 1  # only the new folder's photo


def test_switching_library_opens_a_new_window(qtbot, open_window, scanned_library, tmp_path):
    from facefolio.app import main_window
    window = open_window(scanned_library)
    window.switch_library(tmp_path / "other")
    new = main_window._windows[-1]
    qtbot.addWidget(new)
    assert new.session.path == tmp_path / "other"
    assert not window.isVisible()
    qtbot.waitUntil(lambda: new.folders.empty is True, timeout=WAIT)
    new.close()


def test_a_photo_without_faces_says_so(qtbot, open_window, scanned_library, tmp_path):

    from PySide6.QtGui import QImage
    blank = tmp_path / "wall.png"
    image = QImage(640, 480, QImage.Format.Format_RGB888)
    image.fill(0x808080)
    image.save(str(blank))
    window = open_window(scanned_library)
    window.show_photo_search(str(blank))
    qtbot.waitUntil(lambda: "no face found" in window.search.heading.text().lower(),
                    timeout=WAIT)
    assert window.search.model.rowCount() == 0


def test_quitting_during_a_scan_cancels_it_and_drains_the_pools(qtbot, open_window,
                                                                 photo_folder, tmp_path):
    window = open_window(tmp_path / "lib")
    session = window.session
    session.add_folders([str(photo_folder)])
    qtbot.waitUntil(lambda: session.scanning, timeout=WAIT)
    task = session.scan_task
    window.close()  # no_dangling_pools checks that every pool is idle afterwards
    assert task.token.cancelled
    assert all(pool.activeThreadCount() == 0 for pool in session.pools.all_pools())


def test_settings_are_saved_through_the_writer(qtbot, open_window, scanned_library,
                                               monkeypatch):
    from facefolio.app.settings_dialog import SettingsDialog
    from facefolio.library import Library

    def accept(dialog) -> int:
        dialog.min_face.setValue(48)
        dialog.threshold.setValue(0.75)
        return SettingsDialog.DialogCode.Accepted
    monkeypatch.setattr(SettingsDialog, "exec", accept)
    asked = []
    # A re-analysis is said before the settings are saved (issue 21): answer "keep".
    monkeypatch.setattr("facefolio.app.main_window.ask_reanalysis",
                        lambda parent, found, old, new: asked.append(found) or "keep")
    window = open_window(scanned_library)
    window.settings_dialog()

    def saved() -> bool:
        with Library(scanned_library) as library:
            return (library.settings.min_face, library.settings.det_threshold) == (48, 0.75)
    qtbot.waitUntil(saved, timeout=WAIT)
    assert len(asked) == 1 and asked[0].photos > 0


def test_run_opens_the_window_on_the_given_library(qtbot, scanned_library, monkeypatch,
                                                   no_dangling_pools):
    from facefolio.app import main
    from facefolio.app.main_window import MainWindow
    from PySide6.QtWidgets import QApplication
    shown = []

    def fake_exec() -> int:
        windows = [w for w in QApplication.topLevelWidgets()
                   if isinstance(w, MainWindow) and w.isVisible()]
        shown.extend(w.session.path for w in windows)
        for w in windows:
            w.close()
        return 0
    monkeypatch.setattr(QApplication, "exec", staticmethod(fake_exec))
    assert main.run(str(scanned_library)) == 0
    assert shown == [scanned_library]
    assert main.choose_library(str(scanned_library)) == scanned_library
