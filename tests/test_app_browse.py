"""Browsing in the app: All photos by date with a year scrubber, photos of people together
(from the People page and from the filter field), a person's dates."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

from app_fixtures import (  # noqa: E402,F401
    album_folder,
    album_library,
    album_template,
    click_tile,
    no_dangling_pools,
    open_window,
)
from facefolio.app.roles import SubtitleRole  # noqa: E402
from PySide6.QtCore import QPoint, Qt  # noqa: E402

WAIT = 30000


def names(model) -> list[str]:
    return [Path(r.path).name for r in model.rows]



def test_all_photos_newest_first_with_dates_and_a_year_scrubber(qtbot, open_window,
                                                                album_library):
    window = open_window(album_library)
    window.sidebar.setCurrentRow(3)
    page = window.photos
    qtbot.waitUntil(lambda: page.model.rowCount() == 18, timeout=WAIT)
    assert names(page.model)[:3] == ["together_3.jpg", "together_2.jpg", "together_1.jpg"]
    assert page.model.index(0).data(SubtitleRole) == "4 Mar 2021 · 2 faces"
    # A date that is only the file's time is marked as a guess.
    last = page.model.index(17)
    assert last.data(SubtitleRole) == "~15 Jun 2016 · 1 face"
    assert "file date" in last.data(Qt.ItemDataRole.ToolTipRole)
    assert page.info.full.startswith("18 photos")
    scrubber = page.scrubber
    assert scrubber.isVisible()
    years = [scrubber.item(i).text() for i in range(scrubber.count())]
    assert years == ["2021", "2020", "2019", "2018", "2017", "2016"]
    # A click on a year scrolls the grid to its first photo.
    window.resize(900, 560)  # small enough that the grid scrolls
    qtbot.waitUntil(lambda: page.view.verticalScrollBar().maximum() > 0, timeout=WAIT)
    item = scrubber.item(years.index("2017"))
    qtbot.mouseClick(scrubber.viewport(), Qt.MouseButton.LeftButton,
                     pos=scrubber.visualItemRect(item).center())
    first_2017 = next(i for i, r in enumerate(page.model.rows) if r.taken_at.startswith("2017"))
    assert page.view.currentIndex().row() == first_2017
    top = page.view.indexAt(QPoint(8, 8)).row()
    assert page.model.rows[top].taken_at[:4] in ("2017", "2018")  # its row is on top
    assert page.view.verticalScrollBar().value() > 0
    # Oldest first, then by name (natural order; the scrubber goes away).
    page.order.setCurrentIndex(page.order.findData("oldest"))
    qtbot.waitUntil(lambda: names(page.model)[0] == "Barack_Obama_11.jpg", timeout=WAIT)
    page.order.setCurrentIndex(page.order.findData("name"))
    qtbot.waitUntil(lambda: names(page.model)[0] == "Barack_Obama_1.jpg", timeout=WAIT)
    assert names(page.model)[1:4] == ["Barack_Obama_2.jpg", "Barack_Obama_3.jpg",
                                      "Barack_Obama_10.jpg"]
    assert not scrubber.isVisible()


def test_photos_of_people_together_from_the_people_page(qtbot, open_window, album_library):
    window = open_window(album_library)
    qtbot.waitUntil(lambda: len(window.people.model.rows) == 3, timeout=WAIT)
    view = window.people.view
    rows = [p.name for p in window.people.model.rows]
    click_tile(qtbot, view, rows.index("Barack Obama"))
    click_tile(qtbot, view, rows.index("Hugh Laurie"), Qt.KeyboardModifier.ControlModifier)
    button = window.people.together_button
    assert button.isEnabled() and button.text() == "Photos together"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    page = window.photos
    assert window.current_page() is page
    qtbot.waitUntil(lambda: names(page.model) == ["together_2.jpg", "together_1.jpg"],
                    timeout=WAIT)
    assert page.info.full == "2 photos with Barack Obama and Hugh Laurie together"
    chips = [page.chips.itemAt(i).widget() for i in range(page.chips.count())]
    assert [c.text() for c in chips] == ["Barack Obama  ✕", "Hugh Laurie  ✕"]
    # Removing a person widens the filter: every photo of Hugh Laurie.
    qtbot.mouseClick(chips[0], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.model.rowCount() == 7, timeout=WAIT)
    assert page.info.full == "7 photos with Hugh Laurie"
    # The filter field adds a person by name.
    box = page.person_box
    row = box.findText("Jennifer Aniston")
    assert row >= 0 and box.findText("Hugh Laurie") == -1  # already in the filter
    box.activated.emit(row)
    qtbot.waitUntil(lambda: page.model.rowCount() == 0, timeout=WAIT)
    assert page.info.full == "0 photos with Hugh Laurie and Jennifer Aniston together"
    qtbot.mouseClick(page.chips.itemAt(0).widget(), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.model.rowCount() == 6, timeout=WAIT)
    assert "together_3.jpg" in names(page.model)


def test_a_persons_page_shows_their_dates_newest_first(qtbot, open_window, album_library,
                                                      monkeypatch):
    window = open_window(album_library)
    qtbot.waitUntil(lambda: len(window.people.model.rows) == 3, timeout=WAIT)
    obama = next(p for p in window.people.model.rows if p.name == "Barack Obama")
    window.show_person(obama.id)
    page = window.person
    qtbot.waitUntil(lambda: page.faces.rowCount() == 8, timeout=WAIT)
    assert page.count.full == "8 photos · Jun 2016 – Mar 2021"
    files = [Path(f.photo_path).name for f in page.faces.rows]
    assert files[:3] == ["together_3.jpg", "together_2.jpg", "together_1.jpg"]
    assert files[-1] == "Barack_Obama_11.jpg"
    assert page.faces.index(0).data(SubtitleRole) == "4 Mar 2021"
    # Another order sorts the faces on the page again: nothing is read from the library.
    from facefolio.app import person_page
    reads = []
    monkeypatch.setattr(person_page, "load_person", lambda *a, **k: reads.append(a))
    page.order.setCurrentIndex(page.order.findData("oldest"))
    qtbot.waitUntil(lambda: Path(page.faces.rows[0].photo_path).name ==
                    "Barack_Obama_11.jpg", timeout=WAIT)
    assert sorted(Path(f.photo_path).name for f in page.faces.rows) == sorted(files)
    assert reads == [] and page.count.full == "8 photos · Jun 2016 – Mar 2021"
    monkeypatch.undo()
    # "Photos" shows every photo of the person, with who else is in them.
    qtbot.mouseClick(page.photos_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.photos.model.rowCount() == 8, timeout=WAIT)
    assert window.current_page() is window.photos
