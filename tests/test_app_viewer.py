"""The photo viewer driven with keys and the mouse: walk through a list, go back, zoom, pan,
name a face from its box, open the photo outside the app (and say so when that fails)."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

from app_fixtures import (  # noqa: E402,F401
    album_folder,
    album_library,
    album_template,
    dialogs,
    no_dangling_pools,
    open_window,
)
from facefolio.app.models import FaceItem  # noqa: E402
from facefolio.app.person_picker import PickedPerson  # noqa: E402
from facefolio.library import Library  # noqa: E402
from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QPixmap, QWheelEvent  # noqa: E402

WAIT = 30000


def shown(window) -> str:
    return Path(window.viewer.path).name if window.viewer.path else ""


def open_photos(qtbot, window) -> None:
    window.sidebar.setCurrentRow(3)
    qtbot.waitUntil(lambda: window.photos.model.rowCount() == 18, timeout=WAIT)


def double_click(qtbot, view, row: int) -> None:
    rect = view.visualRect(view.model().index(row, 0))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def loaded(window, name: str) -> bool:
    photo = window.viewer.photo
    return photo is not None and Path(photo.path).name == name and \
        not window.viewer.canvas.pixmap.isNull()


def test_arrows_walk_through_all_photos_and_esc_goes_back(qtbot, open_window, album_library):
    window = open_window(album_library)
    open_photos(qtbot, window)
    double_click(qtbot, window.photos.view, 0)  # newest first: together_3
    assert window.current_page() is window.viewer
    qtbot.waitUntil(lambda: loaded(window, "together_3.jpg"), timeout=WAIT)
    canvas = window.viewer.canvas
    assert canvas.hasFocus()
    assert "1 of 18" in window.viewer.info_label.full
    assert "4 Mar 2021, 12:00" in window.viewer.info_label.full  # its EXIF date
    assert "Album" in window.viewer.info_label.full  # and its folder
    qtbot.keyClick(canvas, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: loaded(window, "together_2.jpg"), timeout=WAIT)
    qtbot.keyClick(canvas, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: loaded(window, "together_1.jpg"), timeout=WAIT)
    qtbot.keyClick(canvas, Qt.Key.Key_Left)
    qtbot.waitUntil(lambda: loaded(window, "together_2.jpg"), timeout=WAIT)
    assert window.viewer.prev_button.isEnabled()  # not at the first any more
    qtbot.keyClick(canvas, Qt.Key.Key_Escape)
    assert window.current_page() is window.photos
    # Backspace and Alt+Left go back too; the first photo has no "previous".
    double_click(qtbot, window.photos.view, 0)
    qtbot.waitUntil(lambda: loaded(window, "together_3.jpg"), timeout=WAIT)
    assert not window.viewer.prev_button.isEnabled()
    qtbot.keyClick(canvas, Qt.Key.Key_Left)  # nothing before the first: stays
    assert shown(window) == "together_3.jpg"
    qtbot.keyClick(canvas, Qt.Key.Key_Backspace)
    assert window.current_page() is window.photos
    double_click(qtbot, window.photos.view, 17)
    qtbot.waitUntil(lambda: loaded(window, "Jennifer_Aniston_11.jpg"), timeout=WAIT)
    assert not window.viewer.next_button.isEnabled()
    assert "15 Jun 2016, 12:00 (file date" in window.viewer.info_label.full  # a guess, said so
    qtbot.keyClick(canvas, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    assert window.current_page() is window.photos


def test_a_persons_faces_are_walked_through_in_date_order(qtbot, open_window, album_library):
    window = open_window(album_library)
    qtbot.waitUntil(lambda: len(window.people.model.rows) == 3, timeout=WAIT)
    hugh = next(p for p in window.people.model.rows if p.name == "Hugh Laurie")
    window.show_person(hugh.id)
    page = window.person
    qtbot.waitUntil(lambda: page.faces.rowCount() == 7, timeout=WAIT)
    double_click(qtbot, page.view, 0)
    qtbot.waitUntil(lambda: loaded(window, "together_2.jpg"), timeout=WAIT)
    # The face of Hugh Laurie in the photo is the one highlighted.
    assert window.viewer.canvas.focus_face == page.faces.rows[0].face_id
    names = []
    for _ in range(6):
        qtbot.keyClick(window.viewer.canvas, Qt.Key.Key_Right)
        qtbot.waitUntil(lambda n=len(names): window.viewer.position == n + 1, timeout=WAIT)
        names.append(shown(window))
    assert names == ["together_1.jpg", "Hugh_Laurie_11.jpg", "Hugh_Laurie_10.jpg",
                     "Hugh_Laurie_3.jpg", "Hugh_Laurie_1.jpg", "Hugh_Laurie_2.jpg"]
    qtbot.keyClick(window.viewer.canvas, Qt.Key.Key_Escape)
    assert window.current_page() is window.person


def test_zoom_with_keys_and_wheel_and_pan_with_ctrl_drag(qtbot, open_window, album_library,
                                                        album_folder):
    window = open_window(album_library)
    window.show_photo(str(album_folder / "together_1.jpg"))
    qtbot.waitUntil(lambda: loaded(window, "together_1.jpg"), timeout=WAIT)
    canvas = window.viewer.canvas
    fitted = canvas.photo_rect()
    assert canvas.rect().toRectF().contains(fitted.adjusted(1, 1, -1, -1))
    qtbot.keyClick(canvas, Qt.Key.Key_Plus)
    qtbot.keyClick(canvas, Qt.Key.Key_Plus)
    assert abs(canvas.zoom - 1.5625) < 1e-6
    assert canvas.photo_rect().width() > fitted.width() * 1.5
    qtbot.keyClick(canvas, Qt.Key.Key_0)
    assert canvas.zoom == 1.0 and canvas.photo_rect() == fitted
    # The wheel zooms at the cursor: the photo point under it stays under it.
    at = QPointF(fitted.left() + fitted.width() * 0.25, fitted.center().y())
    before = canvas.to_photo_point(at)
    wheel = QWheelEvent(at, canvas.mapToGlobal(at), QPoint(), QPoint(0, 240),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    canvas.wheelEvent(wheel)
    assert abs(canvas.zoom - 1.5625) < 1e-6
    after = canvas.to_photo_point(at)
    assert abs(after.x() - before.x()) < 1.5 and abs(after.y() - before.y()) < 1.5
    # Ctrl+drag pans; the photo never leaves a gap at its edge.
    centre = canvas.centre
    start = canvas.rect().center()
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier,
                     start)
    qtbot.mouseMove(canvas, start + QPoint(60, 0))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier,
                       start + QPoint(60, 0))
    assert canvas.centre.x() < centre.x()
    assert canvas.photo_rect().left() <= 0.5
    qtbot.keyClick(canvas, Qt.Key.Key_Minus)
    assert canvas.zoom == 1.25
    # No face was drawn by any of this.
    assert len(canvas.faces) == 2


def test_boxes_past_the_edge_are_clipped_to_the_photo(qtbot):
    from facefolio.app.photo_canvas import PhotoCanvas
    canvas = PhotoCanvas()
    qtbot.addWidget(canvas)
    canvas.resize(400, 400)
    pixmap = QPixmap(200, 100)
    pixmap.fill(Qt.GlobalColor.gray)
    # A detector box that overhangs the right and bottom edges (x 350..450 of 400 wide).
    face = FaceItem(1, "/p.jpg", (350.0, 150.0, 100.0, 100.0), None, None)
    canvas.set_photo(pixmap, 2.0, [face], None)
    photo = canvas.photo_rect()
    rect = canvas.face_rect(face)
    assert photo.contains(rect) and rect.width() < canvas.to_widget(face.box).width()
    assert rect.right() == photo.right() and rect.bottom() == photo.bottom()
    canvas.grab()  # paints the tag inside the photo too, without error


def test_naming_a_face_from_the_viewer(qtbot, open_window, album_library, album_folder,
                                       dialogs):
    window = open_window(album_library)
    window.show_photo(str(album_folder / "together_3.jpg"))
    qtbot.waitUntil(lambda: loaded(window, "together_3.jpg"), timeout=WAIT)
    canvas = window.viewer.canvas
    right = max(canvas.faces, key=lambda f: f.box[0])
    assert right.person_name == "Jennifer Aniston"
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton,
                     pos=canvas.face_rect(right).center().toPoint())
    menu = window.actions.last_menu
    this_is = next(a for a in menu.actions() if a.text() == "This is…")
    menu.close()
    dialogs.pick = PickedPerson(None, "Jen")
    this_is.trigger()
    qtbot.waitUntil(lambda: any(f.person_name == "Jen" for f in canvas.faces), timeout=WAIT)
    assert len(dialogs.seen) == 1 and dialogs.seen[0].windowTitle() == "Who is this?"
    with Library(album_library) as lib:
        assert lib.face(right.face_id).person_name == "Jen"
    assert window.current_page() is window.viewer  # the user stays on the photo


def test_open_in_viewer_and_show_in_folder_say_when_they_fail(qtbot, open_window,
                                                             album_library, album_folder,
                                                             monkeypatch, tmp_path):
    from PySide6.QtGui import QDesktopServices
    from PySide6.QtWidgets import QMessageBox
    warnings, opened = [], []
    monkeypatch.setattr(QMessageBox, "warning",
                        staticmethod(lambda parent, title, text, *a: warnings.append(text)))
    monkeypatch.setattr(QDesktopServices, "openUrl",
                        staticmethod(lambda url: opened.append(url.toLocalFile()) or False))
    window = open_window(album_library)
    window.show_photo(str(album_folder / "together_1.jpg"))
    qtbot.waitUntil(lambda: loaded(window, "together_1.jpg"), timeout=WAIT)
    qtbot.mouseClick(window.viewer.open_button, Qt.MouseButton.LeftButton)
    assert opened == [str(album_folder / "together_1.jpg")]
    assert warnings[-1].startswith("Cannot open this photo: no application")
    qtbot.mouseClick(window.viewer.folder_button, Qt.MouseButton.LeftButton)
    assert opened[-1] == str(album_folder)
    assert warnings[-1].startswith("Cannot show its folder: no application")
    # A photo whose file is gone (an unplugged drive): said so before asking the desktop.
    gone = tmp_path / "gone.jpg"
    window.viewer.path = str(gone)
    qtbot.mouseClick(window.viewer.open_button, Qt.MouseButton.LeftButton)
    assert len(opened) == 2 and "is not there now" in warnings[-1]
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: True))
    window.viewer.path = str(album_folder / "together_1.jpg")
    n = len(warnings)
    qtbot.mouseClick(window.viewer.open_button, Qt.MouseButton.LeftButton)
    assert len(warnings) == n  # success says nothing


def test_name_tags_never_overlap_on_a_16_face_photo():
    """Issue 21, point 9: at Fit zoom a group photo's tags read "Unnamed Keira / Who is
    th…" over each other. 16 faces in a 4 x 4 grid, long names: no two tags overlap."""
    from facefolio.app.photo_canvas import place_labels
    from PySide6.QtCore import QRectF
    bounds = QRectF(0, 0, 640, 480)
    boxes = [QRectF(20 + 150 * c, 10 + 115 * r, 56, 70) for r in range(4) for c in range(4)]
    widths = [180.0 if i % 3 else 90.0 for i in range(16)]
    tags = place_labels(boxes, widths, 20, bounds, 60)
    shown = [t for t in tags if t is not None]
    assert len(shown) == 16  # room under every box here, names shortened to fit
    assert all(bounds.contains(t) for t in shown)
    assert not any(a.intersects(b) for i, a in enumerate(shown) for b in shown[i + 1:])
    # Packed tighter than any tag fits: some names wait for the pointer, none overlaps.
    tight = [QRectF(10 + 40 * c, 10 + 30 * r, 36, 26) for r in range(4) for c in range(4)]
    tags = [t for t in place_labels(tight, [120.0] * 16, 20, bounds, 60) if t is not None]
    assert tags and not any(a.intersects(b) for i, a in enumerate(tags) for b in tags[i + 1:])
