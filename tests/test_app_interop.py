"""The app's interop actions: XMP sidecars (menu and setting), forget, export a person's photos.

Each test works on its own copy of the photos (sidecars and exports must not leak into the
shared photo folder other tests scan), with the scanned library pointed at that copy.
"""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import shutil  # noqa: E402
import sqlite3  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from app_fixtures import no_dangling_pools, open_window, photo_folder, scanned_template  # noqa: E402,F401
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox  # noqa: E402

from facefolio.library import Library  # noqa: E402
from facefolio.library.interop.pairs import sidecar_path  # noqa: E402
from facefolio.library.storage.store import DB_NAME  # noqa: E402

WAIT = 30000


@pytest.fixture
def own_library(scanned_template: Path, photo_folder: Path, tmp_path: Path
                ) -> tuple[Path, Path]:
    """(library, photos): a copy of the scanned library over a private copy of the photos."""
    photos = tmp_path / "Photos"
    shutil.copytree(photo_folder, photos)
    library = tmp_path / "library"
    shutil.copytree(scanned_template, library)
    con = sqlite3.connect(library / DB_NAME)
    with con:
        for table in ("folders", "photos"):
            con.execute(f"UPDATE {table} SET path = replace(path, ?, ?)",
                        (str(photo_folder), str(photos)))
    con.close()
    return library, photos


def person_photos(library_path: Path, person_id: int) -> list[Path]:
    with Library(library_path) as library:
        return sorted({Path(f.photo_path) for f in library.faces(person_id=person_id)})


def sidecar_text(photo: Path) -> str:
    sidecar = sidecar_path(photo)
    return sidecar.read_text(encoding="utf-8") if sidecar.is_file() else ""


def status(window) -> str:
    return window.statusBar().currentMessage()


def ask_forget(qtbot, window, monkeypatch, button=QMessageBox.StandardButton.Yes) -> str:
    """Trigger "Delete all face data", answer `button`; the question it asked."""
    asked = []

    def answer(*args, **_kw):
        asked.append(args[2])
        return button
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(answer))
    window.forget_action.trigger()
    qtbot.waitUntil(lambda: len(asked) == 1, timeout=WAIT)  # after counting sidecars
    return asked[0]


def open_with_people(qtbot, open_window, library: Path):
    window = open_window(library)
    qtbot.waitUntil(lambda: len(window.people.model.rows) == 3, timeout=WAIT)
    return window


def name_first_person(qtbot, window, name: str) -> int:
    person = window.people.model.rows[0]
    window.actions.name_person(person.id, name)
    qtbot.waitUntil(lambda: any(p.name == name for p in window.people.model.rows),
                    timeout=WAIT)
    return person.id


def test_write_face_names_to_xmp_from_the_menu(qtbot, open_window, own_library):
    library, photos = own_library
    window = open_with_people(qtbot, open_window, library)
    pid = name_first_person(qtbot, window, "Ada Lovelace")
    assert not any(photos.glob("*.xmp"))  # the setting is off: naming alone writes nothing
    window.write_xmp_action.trigger()
    assert status(window).startswith("Writing face names")  # busy while it runs
    qtbot.waitUntil(lambda: status(window).startswith("Wrote"), timeout=WAIT)
    assert status(window) == "Wrote 5 sidecars; 0 failed"
    for photo in person_photos(library, pid):
        assert "Ada Lovelace" in sidecar_text(photo)
    assert len(list(photos.glob("*.xmp"))) == 5


def test_xmp_errors_are_listed(qtbot, open_window, own_library, monkeypatch):
    library, _photos = own_library
    window = open_with_people(qtbot, open_window, library)
    pid = name_first_person(qtbot, window, "Ada Lovelace")
    broken = person_photos(library, pid)[0]
    sidecar_path(broken).mkdir()  # a directory where the sidecar should go
    shown = []
    monkeypatch.setattr(QMessageBox, "warning",
                        staticmethod(lambda *a, **k: shown.append(a[2])))
    window.write_xmp_action.trigger()
    qtbot.waitUntil(lambda: status(window).startswith("Wrote"), timeout=WAIT)
    assert status(window) == "Wrote 4 sidecars; 1 failed"
    assert len(shown) == 1 and shown[0].startswith(f"{broken}: ")


def test_read_face_names_from_xmp(qtbot, open_window, own_library):
    library, _photos = own_library
    window = open_with_people(qtbot, open_window, library)
    name_first_person(qtbot, window, "Grace Hopper")
    window.write_xmp_action.trigger()
    qtbot.waitUntil(lambda: status(window).startswith("Wrote"), timeout=WAIT)
    window.close()
    # A fresh copy of the unnamed library learns the names from the sidecars.
    fresh = library.parent / "fresh"
    shutil.copytree(library, fresh)
    with Library(fresh) as lib:
        lib.con.execute("UPDATE people SET name = NULL")
        lib.con.commit()
    window = open_with_people(qtbot, open_window, fresh)
    window.read_xmp_action.trigger()
    qtbot.waitUntil(lambda: status(window).startswith("Named"), timeout=WAIT)
    qtbot.waitUntil(lambda: any(p.name == "Grace Hopper" for p in window.people.model.rows),
                    timeout=WAIT)


def test_setting_on_keeps_sidecars_in_step_with_renames(qtbot, open_window, own_library):
    library, photos = own_library
    with Library(library) as lib:
        lib.settings.write_xmp = True
        lib.save_settings()
    window = open_with_people(qtbot, open_window, library)
    pid = name_first_person(qtbot, window, "Ada Lovelace")
    mine = person_photos(library, pid)
    qtbot.waitUntil(lambda: all("Ada Lovelace" in sidecar_text(p) for p in mine), timeout=WAIT)
    assert len(list(photos.glob("*.xmp"))) == len(mine)  # only the photos affected
    window.actions.name_person(pid, "Ada King")
    qtbot.waitUntil(lambda: all("Ada King" in sidecar_text(p) for p in mine), timeout=WAIT)
    assert not any("Ada Lovelace" in sidecar_text(p) for p in mine)
    window.session.undo()  # undo is a people change too
    qtbot.waitUntil(lambda: all("Ada Lovelace" in sidecar_text(p) for p in mine),
                    timeout=WAIT)


def test_settings_dialog_binds_write_xmp(qtbot, tmp_path):
    from facefolio.app.main import make_app
    from facefolio.app.settings_dialog import SettingsDialog
    from facefolio.library import Settings
    make_app()
    dialog = SettingsDialog(Settings(), tmp_path / "library")
    qtbot.addWidget(dialog)
    assert not dialog.write_xmp.isChecked()
    dialog.write_xmp.setChecked(True)
    assert dialog.settings().write_xmp is True
    assert SettingsDialog(Settings(write_xmp=True), tmp_path).write_xmp.isChecked()


def test_forget_deletes_face_data_and_keeps_photos(qtbot, open_window, own_library,
                                                   monkeypatch):
    library, photos = own_library
    before = sorted(p.name for p in photos.iterdir())
    window = open_with_people(qtbot, open_window, library)
    name_first_person(qtbot, window, "Ada Lovelace")
    asked = ask_forget(qtbot, window, monkeypatch)
    assert "embedding" in asked and "photos" in asked
    assert "without names" in asked and "sidecar" not in asked  # there are none
    qtbot.waitUntil(lambda: status(window).startswith("Deleted"), timeout=WAIT)
    qtbot.waitUntil(lambda: window.people.model.rowCount() == 0, timeout=WAIT)
    assert window.current_page() is window.people
    assert window.people.stack.currentWidget() is window.people.empty
    with Library(library) as lib:
        counts = lib.counts()
    assert counts["faces"] == 0 and counts["people"] == 0 and counts["folders"] == 1
    assert sorted(p.name for p in photos.iterdir()) == before  # photos untouched
    assert window.thumbnails.cache.bytes == 0 or all(
        key[0] != "face" for key in window.thumbnails.cache._items)


def test_forget_cancelled_keeps_everything(qtbot, open_window, own_library, monkeypatch):
    library, _photos = own_library
    window = open_with_people(qtbot, open_window, library)
    ask_forget(qtbot, window, monkeypatch, QMessageBox.StandardButton.Cancel)
    qtbot.wait(200)  # a writer task, had one been started, would have run by now
    assert window.session.writer.pending == 0
    with Library(library) as lib:
        assert lib.counts()["faces"] == 17


def test_forget_says_names_in_sidecars_come_back(qtbot, open_window, own_library, monkeypatch):
    """A rescan reads names from XMP sidecars: the question must say so, not "without names"."""
    library, photos = own_library
    window = open_with_people(qtbot, open_window, library)
    name_first_person(qtbot, window, "Ada Lovelace")
    window.write_xmp_action.trigger()
    qtbot.waitUntil(lambda: status(window).startswith("Wrote"), timeout=WAIT)
    sidecars = len(list(photos.glob("*.xmp")))
    asked = ask_forget(qtbot, window, monkeypatch)
    assert f"{sidecars} photos have XMP sidecars" in asked
    assert "reads back the face names" in asked and "without names" not in asked
    qtbot.waitUntil(lambda: status(window).startswith("Deleted"), timeout=WAIT)
    # And it is true: the rescan brings the name back from the sidecars.
    window.session.start_scan(None)
    qtbot.waitUntil(lambda: not window.session.scanning, timeout=120000)
    with Library(library) as lib:
        assert "Ada Lovelace" in {p.name for p in lib.people()}


@pytest.mark.parametrize("choice", ["Copy the photos",
                                    "Symbolic links (point to the originals)"])
def test_export_a_persons_photos_from_the_person_page(qtbot, open_window, own_library,
                                                      monkeypatch, tmp_path, choice):
    library, _photos = own_library
    out = tmp_path / "export"
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        staticmethod(lambda *a, **k: str(out)))
    monkeypatch.setattr(QInputDialog, "getItem", staticmethod(lambda *a, **k: (choice, True)))
    window = open_with_people(qtbot, open_window, library)
    person = window.people.model.rows[0]
    window.show_person(person.id)
    qtbot.waitUntil(lambda: window.person.person is not None, timeout=WAIT)
    qtbot.mouseClick(window.person.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: status(window).startswith("Exported"), timeout=WAIT)
    assert status(window) == f"Exported 5 photos to {out}"
    files = sorted(out.iterdir())
    assert [f.name for f in files] == [p.name for p in person_photos(library, person.id)]
    assert all(f.is_symlink() == choice.startswith("Symbolic") for f in files)


def test_export_from_the_gallery_menu(qtbot, open_window, own_library, monkeypatch, tmp_path):
    library, _photos = own_library
    out = tmp_path / "export"
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        staticmethod(lambda *a, **k: str(out)))
    monkeypatch.setattr(QInputDialog, "getItem",
                        staticmethod(lambda *a, **k: ("Copy the photos", True)))
    window = open_with_people(qtbot, open_window, library)
    view = window.people.view
    index = view.model().index(0, 0)
    window.people._context(index, view.visualRect(index).center())
    menu = window.actions.last_menu
    export = next(a for a in menu.actions() if a.text() == "Export photos…")
    menu.close()
    export.trigger()
    qtbot.waitUntil(lambda: status(window).startswith("Exported"), timeout=WAIT)
    assert len(list(out.iterdir())) == 5


def test_forget_during_a_scan_waits_for_the_scan_to_stop(qtbot, open_window, own_library,
                                                         monkeypatch):
    library, photos = own_library
    for old in photos.glob("Hugh*"):  # new files, so the rescan has faces to write
        shutil.copy(old, photos / f"again_{old.name}")
    window = open_with_people(qtbot, open_window, library)
    assert window.session.start_scan(None)
    ask_forget(qtbot, window, monkeypatch)
    qtbot.waitUntil(lambda: status(window).startswith("Deleted"), timeout=120000)
    assert not window.session.scanning
    with Library(library) as lib:
        assert lib.counts()["faces"] == 0 and lib.counts()["photos"] == 0
