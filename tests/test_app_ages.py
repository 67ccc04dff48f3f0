"""Ages in the app: the background pass estimates the faces of a library scanned without
ages (in its own process); a person's page shows their age range per year and the date of
birth set from its Birthday… button (undoable); face tiles and the viewer say "looks about
38 (an estimate)" or "55 years, 6 months old"; the setting off hides every estimate."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

from app_fixtures import (  # noqa: E402,F401
    album_folder,
    album_library,
    album_template,
    no_dangling_pools,
    open_window,
)
from PySide6.QtCore import Qt  # noqa: E402

WAIT = 60000


def _tip(page, name: str) -> str:
    row = next(i for i, f in enumerate(page.faces.rows) if Path(f.photo_path).name == name)
    return page.faces.index(row).data(Qt.ItemDataRole.ToolTipRole)


def test_ages_and_a_birthday_on_the_persons_page(qtbot, open_window, album_library,
                                                 monkeypatch):
    from facefolio.app import person_page
    from facefolio.library import Library
    with Library(album_library) as lib:  # as a library scanned before ages existed
        lib.con.execute("DELETE FROM face_estimates")
        lib.con.commit()
    window = open_window(album_library)
    qtbot.waitUntil(lambda: len(window.people.model.rows) == 3, timeout=WAIT)
    obama = next(p for p in window.people.model.rows if p.name == "Barack Obama")
    window.show_person(obama.id)
    page = window.person
    # The background pass gives the faces their ages; the page shows them when it lands.
    qtbot.waitUntil(lambda: page.ages.full.startswith("Ages (estimated): 2016: about "),
                    timeout=WAIT)
    assert "2017: about " in page.ages.full and "years old" not in page.ages.full
    assert "Looks about " in _tip(page, "Barack_Obama_1.jpg")
    assert ", male (estimates)" in _tip(page, "Barack_Obama_1.jpg")

    answers = iter([("1961-08-04", True), ("1961-13-04", True)])
    monkeypatch.setattr(person_page.QInputDialog, "getText",
                        staticmethod(lambda *a, **k: next(answers)))
    page.birthday_button.click()
    qtbot.waitUntil(lambda: page.ages.full.startswith("Born 1961-08-04"), timeout=WAIT)
    assert "2017: 55-56 years old" in page.ages.full
    tips = {page.scrubber.item(i).text(): page.scrubber.item(i).toolTip()
            for i in range(page.scrubber.count())}
    assert tips["2017"] == "55-56 years old" and tips["2016"].startswith("about ")
    assert "2016: about " in page.ages.full  # the file-dated photo: no exact age
    qtbot.waitUntil(lambda: "55 years, 6 months old; looks male (an estimate)" in
                    _tip(page, "Barack_Obama_1.jpg"), timeout=WAIT)
    assert "estimates" in _tip(page, "Barack_Obama_11.jpg")  # dated by its file only
    messages = []
    window.session.message.connect(messages.append)
    page.birthday_button.click()  # a bad date: one line, nothing changed
    qtbot.waitUntil(lambda: any("is not a date" in m for m in messages), timeout=WAIT)
    assert page.person.birth_date == "1961-08-04"
    # Undo takes the date of birth back.
    window.session.undo()
    qtbot.waitUntil(lambda: page.ages.full.startswith("Ages (estimated)"), timeout=WAIT)

    # The viewer says the age of each face it knows one of.
    from facefolio.app.photo_viewer import load_photo
    from facefolio.library import Library
    with Library(album_library) as lib:
        photo = next(f.photo_path for f in lib.faces(person_id=obama.id)
                     if Path(f.photo_path).name == "Barack_Obama_1.jpg")
        faces = load_photo(lib, photo).faces
    assert [f.age for f in faces] and all("about" in f.age for f in faces)


def test_the_setting_off_hides_every_estimate(qtbot, open_window, album_library):
    from facefolio.library import Library
    with Library(album_library) as lib:
        lib.settings.age_gender = False
        lib.settings.save(lib.path)
    window = open_window(album_library)
    qtbot.waitUntil(lambda: len(window.people.model.rows) == 3, timeout=WAIT)
    obama = next(p for p in window.people.model.rows if p.name == "Barack Obama")
    window.show_person(obama.id)
    page = window.person
    qtbot.waitUntil(lambda: page.faces.rowCount() == 8, timeout=WAIT)
    assert page.ages.full == "" and not page.ages.isVisible()
    assert "about" not in _tip(page, "Barack_Obama_1.jpg")
    assert "male" not in _tip(page, "Barack_Obama_1.jpg")


def test_the_settings_dialog_binds_the_switch(qtbot, tmp_path):
    from facefolio.app.settings_dialog import SettingsDialog
    from facefolio.library import Settings
    dialog = SettingsDialog(Settings(age_gender=False), tmp_path / "library")
    qtbot.addWidget(dialog)
    assert not dialog.age_gender.isChecked() and dialog.settings().age_gender is False
    dialog.age_gender.setChecked(True)
    assert dialog.settings().age_gender is True
