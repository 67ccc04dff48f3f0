"""The main window driven like a user would, on a real library (pytest-qt, offscreen)."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from app_fixtures import (  # noqa: E402,F401
    dialogs,
    no_dangling_pools,
    open_window,
    photo_folder,
    scanned_library,
    scanned_template,
)
from facefolio.app.person_picker import PickedPerson  # noqa: E402
from facefolio.app.roles import PersonIdRole, RecordRole  # noqa: E402
from PySide6.QtCore import QPoint, Qt  # noqa: E402
from PySide6.QtWidgets import QFileDialog  # noqa: E402

WAIT = 30000


def people_rows(window) -> list:
    return window.people.model.rows


def wait_people(qtbot, window, n: int) -> None:
    qtbot.waitUntil(lambda: len(people_rows(window)) == n, timeout=WAIT)


def click(qtbot, view, row: int, modifier=Qt.KeyboardModifier.NoModifier, double=False):
    rect = view.visualRect(view.model().index(row, 0))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, modifier, rect.center())
    if double:  # Qt treats a double click as a press unless a press on the item came first
        qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, modifier, rect.center())


def test_first_run_add_folder_scans_in_background_and_people_appear(
        qtbot, open_window, photo_folder, tmp_path, monkeypatch):
    window = open_window(tmp_path / "new-library")
    qtbot.waitUntil(lambda: window.folders.empty is True, timeout=WAIT)
    assert window.current_page() is window.folders
    assert window.folders.welcome.isVisible()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        staticmethod(lambda *a, **k: str(photo_folder)))
    progress = []
    window.session.scanProgress.connect(progress.append)
    with qtbot.waitSignal(window.session.scanFinished, timeout=120000) as finished:
        qtbot.mouseClick(window.folders.welcome.button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: window.scan_status.isVisible(), timeout=WAIT)
    assert finished.args[0].phase == "done"
    assert any(p.phase == "scanning" and p.total == 16 for p in progress)
    assert window.current_page() is window.people  # the user watches people appear
    wait_people(qtbot, window, 3)
    assert all(p.face_count == 5 for p in people_rows(window))
    qtbot.waitUntil(lambda: [f.face_count for f in window.folders.folders.rows] == [17],
                    timeout=WAIT)


def test_people_appear_while_the_scan_runs(qtbot, open_window, photo_folder, tmp_path,
                                           monkeypatch):
    import threading

    from facefolio.app import session as session_module
    from facefolio.library.scan import scanner
    monkeypatch.setattr(session_module, "_FIRST_GROUP_FACES", 4)
    # Pause the scan right after it hands its first grouping to the writer, as a user would
    # press Pause: no new photo starts, progress keeps coming, and people must show up while
    # the scan is still running, whatever the machine's speed and however answers batch.
    paused = threading.Event()
    original = scanner.Scanner._maybe_group

    def gate(self, new_face_ids):
        original(self, new_face_ids)
        if self._grouped and not paused.is_set():
            paused.set()
            session.scan_task.token.pause()
    monkeypatch.setattr(scanner.Scanner, "_maybe_group", gate)
    window = open_window(tmp_path / "lib")
    session = window.session
    try:
        session.add_folders([str(photo_folder)])
        qtbot.waitUntil(paused.is_set, timeout=60000)
        qtbot.waitUntil(lambda: len(window.people.model.rows) > 0, timeout=60000)
        assert session.scanning
    finally:
        session.pause_scan(False)
    qtbot.waitUntil(lambda: not session.scanning, timeout=120000)
    wait_people(qtbot, window, 3)


def test_cancel_a_scan(qtbot, open_window, photo_folder, tmp_path):
    window = open_window(tmp_path / "lib")
    session = window.session
    # Pause the moment it starts, so the cancel lands mid-scan whatever the machine's speed.
    session.scanStarted.connect(lambda: session.pause_scan(True))
    with qtbot.waitSignal(session.scanFinished, timeout=WAIT) as finished:
        session.add_folders([str(photo_folder)])
        qtbot.waitUntil(lambda: session.scanning, timeout=WAIT)
        qtbot.mouseClick(window.scan_status.cancel_button, Qt.MouseButton.LeftButton)
    last = finished.args[0]
    assert last.phase == "cancelled" and last.done < 16
    assert not session.scanning and not window.scan_status.isVisible()


def test_rename_a_person_in_place(qtbot, open_window, scanned_library):
    window = open_window(scanned_library)
    wait_people(qtbot, window, 3)
    click(qtbot, window.people.view, 0, double=True)
    assert window.current_page() is window.person
    qtbot.waitUntil(lambda: window.person.faces.rowCount() == 5, timeout=WAIT)
    edit = window.person.name_edit
    edit.setFocus()
    qtbot.keyClicks(edit, "Hugh Laurie")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: any(p.name == "Hugh Laurie" for p in people_rows(window)),
                    timeout=WAIT)
    assert people_rows(window)[0].name == "Hugh Laurie"  # named people come first


def test_merge_two_people_then_undo_and_redo(qtbot, open_window, scanned_library, dialogs):
    window = open_window(scanned_library)
    wait_people(qtbot, window, 3)
    view = window.people.view
    click(qtbot, view, 0)
    click(qtbot, view, 1, Qt.KeyboardModifier.ControlModifier)
    assert window.people.merge_button.isEnabled()
    qtbot.mouseClick(window.people.merge_button, Qt.MouseButton.LeftButton)
    wait_people(qtbot, window, 2)
    assert sorted(p.face_count for p in people_rows(window)) == [5, 10]
    qtbot.waitUntil(window.undo_action.isEnabled, timeout=WAIT)
    window.undo_action.trigger()  # Ctrl+Z
    wait_people(qtbot, window, 3)
    qtbot.waitUntil(window.redo_action.isEnabled, timeout=WAIT)
    window.redo_action.trigger()  # Ctrl+Shift+Z
    wait_people(qtbot, window, 2)


def test_drag_a_person_onto_another_merges(qtbot, open_window, scanned_library, dialogs):
    window = open_window(scanned_library)
    wait_people(qtbot, window, 3)
    model = window.people.model
    data = model.mimeData([model.index(2)])
    model.dropMimeData(data, Qt.DropAction.CopyAction, -1, -1, model.index(0))
    wait_people(qtbot, window, 2)


def test_right_click_find_this_face_shows_same_person_first(qtbot, open_window,
                                                            scanned_library):
    window = open_window(scanned_library)
    wait_people(qtbot, window, 3)
    view = window.people.view
    person = people_rows(window)[0]
    rect = view.visualRect(view.model().index(0, 0))
    view.customContextMenuRequested.emit(rect.center())
    menu = window.actions.last_menu
    find = next(a for a in menu.actions() if a.text() == "Find this face")
    menu.close()
    find.trigger()
    assert window.current_page() is window.search
    qtbot.waitUntil(lambda: window.search.model.rowCount() >= 5, timeout=WAIT)
    top = window.search.model.rows[:5]  # the face itself, then the person's 4 other faces
    assert top[0].face_id == person.cover_face_id and top[0].similarity == 1.0
    assert all(r.person_id == person.id for r in top), top
    assert top[1].similarity >= top[-1].similarity
    # The slider hides weak matches; "Assign to person…" needs a selection.
    window.search.slider.setValue(99)
    assert window.search.proxy.rowCount() == 1  # only the face itself
    window.search.slider.setValue(0)
    assert not window.search.assign_button.isEnabled()
    click(qtbot, window.search.view, 0)
    assert window.search.assign_button.isEnabled()


def test_face_menu_this_is_and_not_this_person(qtbot, open_window, scanned_library):
    window = open_window(scanned_library)
    wait_people(qtbot, window, 3)
    window.sidebar.setCurrentRow(2)  # Unknown faces: the two faces of couple.jpg
    qtbot.waitUntil(lambda: window.unknown.model.rowCount() == 2, timeout=WAIT)
    ids = [f.face_id for f in window.unknown.model.rows]
    window.actions.assign(ids[:1], PickedPerson(None, "Angelina"))
    wait_people(qtbot, window, 4)
    qtbot.waitUntil(lambda: window.unknown.model.rowCount() == 1, timeout=WAIT)
    angelina = next(p for p in people_rows(window) if p.name == "Angelina")
    window.actions.assign(ids[1:], PickedPerson(angelina.id, "Angelina"))
    qtbot.waitUntil(lambda: window.unknown.model.rowCount() == 0, timeout=WAIT)
    window.actions.not_this_person(ids[1:])
    qtbot.waitUntil(lambda: window.unknown.model.rowCount() == 1, timeout=WAIT)


def test_photo_viewer_boxes_open_the_face_menu(qtbot, open_window, scanned_library,
                                               photo_folder):
    window = open_window(scanned_library)
    window.show_photo(str(photo_folder / "couple.jpg"))
    canvas = window.viewer.canvas
    qtbot.waitUntil(lambda: len(canvas.faces) == 2 and not canvas.pixmap.isNull(),
                    timeout=WAIT)
    centre = canvas.face_rect(canvas.faces[0]).center().toPoint()
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=centre)
    menu = window.actions.last_menu
    texts = [a.text() for a in menu.actions()]
    menu.close()
    assert "Find this face" in texts and "This is…" in texts
    assert not canvas.face_at(QPoint(1, 1).toPointF())


def test_person_page_remove_faces_and_sidebar_pages(qtbot, open_window, scanned_library):
    window = open_window(scanned_library)
    wait_people(qtbot, window, 3)
    person_id = window.people.view.model().index(0, 0).data(PersonIdRole)
    window.show_person(person_id)
    page = window.person
    qtbot.waitUntil(lambda: page.faces.rowCount() == 5, timeout=WAIT)
    click(qtbot, page.view, 0)
    qtbot.mouseClick(page.remove_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.faces.rowCount() == 4, timeout=WAIT)
    window.sidebar.setCurrentRow(3)
    qtbot.waitUntil(lambda: window.photos.model.rowCount() == 16, timeout=WAIT)
    record = window.photos.view.model().index(0, 0).data(RecordRole)
    assert Path(record.path).suffix == ".jpg"
    # From a person's page, a click on the section still highlighted leads back to it.
    window.show_person(person_id)
    assert window.current_page() is window.person
    item = window.sidebar.item(3)
    rect = window.sidebar.visualItemRect(item)
    qtbot.mouseClick(window.sidebar.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.current_page() is window.photos


def test_settings_cannot_pick_a_pack_that_is_not_installed(qtbot, scanned_library,
                                                           monkeypatch, tmp_path):
    from facefolio.app.settings_dialog import SettingsDialog
    from facefolio.library import Settings
    monkeypatch.setenv("INSIGHTFACE_HOME", str(tmp_path / "insightface"))
    installed = tmp_path / "insightface" / "models" / "buffalo_s"
    installed.mkdir(parents=True)
    (installed / "det_500m.onnx").write_bytes(b"x")
    dialog = SettingsDialog(Settings(), scanned_library)
    qtbot.addWidget(dialog)
    dialog.show()
    assert "non-commercial" not in dialog.pack_info.text()
    items = dialog.pack.model()
    row = dialog.pack.findData("buffalo_l")
    assert not items.item(row).isEnabled()
    assert dialog.pack.itemText(row) == "buffalo_l (not installed)"
    assert str(tmp_path / "insightface" / "models" / "buffalo_l") in \
        items.item(row).toolTip()
    buffalo_s = dialog.pack.findData("buffalo_s")
    assert items.item(buffalo_s).isEnabled() and dialog.pack.itemText(buffalo_s) == "buffalo_s"
    dialog.pack.setCurrentIndex(buffalo_s)
    assert "non-commercial" in dialog.pack_info.text()
    qtbot.wait(50)
    info = dialog.pack_info  # the longer text shows whole, at once: nothing cut off
    assert info.height() >= info.heightForWidth(info.width())
    assert "Not installed" not in dialog.pack_info.text()
    # The greyed-out packs say where their files go (issue 21, point 14).
    assert f"{tmp_path / 'insightface' / 'models'}/&lt;pack name&gt;" in dialog.pack_info.text()
    dialog.threshold.setValue(0.7)
    assert dialog.settings().pack == "buffalo_s" and dialog.settings().det_threshold == 0.7
    # A library already set to a pack that is gone says so at once, and all of it shows.
    gone = SettingsDialog(Settings(pack="buffalo_l"), scanned_library)
    qtbot.addWidget(gone)
    gone.show()
    qtbot.waitExposed(gone)
    info = gone.pack_info
    assert "Not installed: put the pack's .onnx files in" in info.text()
    assert info.wordWrap() and info.height() >= info.heightForWidth(info.width())


def test_search_with_a_pack_that_is_not_installed_says_what_to_do(qtbot, open_window,
                                                                   scanned_library,
                                                                   photo_folder, monkeypatch,
                                                                   tmp_path):
    from facefolio.library import Library
    monkeypatch.setenv("INSIGHTFACE_HOME", str(tmp_path / "insightface"))
    with Library(scanned_library) as lib:
        lib.settings.pack = "buffalo_l"
        lib.save_settings()
    window = open_window(scanned_library)
    window.show_photo_search(str(photo_folder / "couple.jpg"))
    heading = window.search.heading
    qtbot.waitUntil(lambda: "not installed" in heading.text(), timeout=WAIT)
    assert heading.text().startswith("The face model 'buffalo_l' chosen in Settings is not "
                                     "installed. Put its .onnx files in ")
    assert "choose 'yunet-sface' (built in) in File > Settings" in heading.text()
    assert "download" not in heading.text().replace("never downloads", "")


def test_window_geometry_is_remembered(qtbot, open_window, scanned_library):
    window = open_window(scanned_library)
    window.resize(780, 540)  # within the offscreen 800x600 screen, above the minimum
    window.close()
    from facefolio.app.main_window import MainWindow
    again = MainWindow(scanned_library)
    qtbot.addWidget(again)
    assert (again.width(), again.height()) == (780, 540)
    again.close()


@pytest.mark.usefixtures("open_window")  # QSettings in this test's folder: nothing saved
def test_the_first_window_fits_a_small_screen(qtbot, scanned_library):
    """Nothing saved yet: 1200 x 800, or 90% of a smaller screen (the offscreen one is 800 x
    600), never below the window's minimum."""
    from facefolio.app.main import make_app
    from facefolio.app.main_window import MainWindow
    make_app()
    window = MainWindow(scanned_library)
    qtbot.addWidget(window)
    screen = window.screen().availableGeometry()
    assert window.width() == max(min(1200, int(screen.width() * 0.9)), window.minimumWidth())
    assert window.height() == max(min(800, int(screen.height() * 0.9)), window.minimumHeight())
    if screen.width() < 1300:
        assert window.width() < 1200  # the test proves something on this screen
    window.close()


def test_naming_someone_like_an_existing_person_offers_a_merge(qtbot, open_window,
                                                               scanned_library, monkeypatch):
    from PySide6.QtWidgets import QMessageBox
    window = open_window(scanned_library)
    wait_people(qtbot, window, 3)
    first, second = people_rows(window)[:2]
    window.actions.name_person(first.id, "Sam")
    qtbot.waitUntil(lambda: any(p.name == "Sam" for p in people_rows(window)), timeout=WAIT)
    monkeypatch.setattr(QMessageBox, "question",
                        staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes))
    window.actions.name_person(second.id, "sam")
    wait_people(qtbot, window, 2)
    assert sorted(p.face_count for p in people_rows(window)) == [5, 10]


def test_view_menu_switches_pages(qtbot, open_window, scanned_library):
    window = open_window(scanned_library)
    view_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    by_text = {a.text(): a for a in view_menu.actions()}
    by_text["All photos"].trigger()
    assert window.current_page() is window.photos
    by_text["Unknown faces"].trigger()
    assert window.current_page() is window.unknown
    assert by_text["Folders"].shortcut().toString() == "Ctrl+1"


def test_renaming_on_the_person_page_to_an_existing_name_follows_the_merge(
        qtbot, open_window, scanned_library, monkeypatch):
    from PySide6.QtWidgets import QMessageBox
    window = open_window(scanned_library)
    wait_people(qtbot, window, 3)
    first, second = people_rows(window)[:2]
    window.actions.name_person(first.id, "Kim")
    qtbot.waitUntil(lambda: any(p.name == "Kim" for p in people_rows(window)), timeout=WAIT)
    monkeypatch.setattr(QMessageBox, "question",
                        staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes))
    window.show_person(second.id)
    page = window.person
    qtbot.waitUntil(lambda: page.faces.rowCount() == 5, timeout=WAIT)
    page.name_edit.setText("Kim")
    page.name_edit.editingFinished.emit()
    qtbot.waitUntil(lambda: page.person_id == first.id and page.faces.rowCount() == 10,
                    timeout=WAIT)
    assert window.current_page() is page
