"""Layout at the smallest window the app allows: every page's buttons, boxes and sidebar
entries show their whole text (or elide it with the full text as a tooltip); nothing clips."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app_fixtures import (  # noqa: E402,F401
    album_folder,
    album_template,
    no_dangling_pools,
    open_window,
    unsure_library,
    unsure_template,
)
from facefolio.app.widgets import ElidedLabel  # noqa: E402
from PySide6.QtWidgets import (  # noqa: E402
    QAbstractButton,
    QCheckBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

WAIT = 30000


def clipped(page: QWidget) -> list[str]:
    """Visible widgets narrower than their text needs, and labels cut without an ellipsis."""
    bad = []
    for w in page.findChildren(QWidget):
        if not w.isVisibleTo(page) or w.width() == 0:
            continue
        if isinstance(w, (QPushButton, QCheckBox)) or (
                isinstance(w, QAbstractButton) and w.text()):
            need = w.sizeHint().width()
            if w.width() < need - 1:
                bad.append(f"{type(w).__name__} {w.text()!r}: {w.width()} < {need}")
        elif isinstance(w, QLineEdit):
            need = w.fontMetrics().horizontalAdvance(w.placeholderText()[:10] or "x" * 10)
            if w.width() < need:
                bad.append(f"line edit {w.placeholderText()!r}: {w.width()} < {need}")
        elif isinstance(w, QComboBox):
            if w.width() < w.minimumSizeHint().width() - 1:
                bad.append(f"combo {w.currentText()!r}: {w.width()}")
        elif isinstance(w, ElidedLabel):
            if w.text_shown() != w.full and w.toolTip() != w.full:
                bad.append(f"elided label {w.full!r} without its tooltip")
        elif isinstance(w, QLabel) and w.text() and not w.wordWrap() and w.pixmap().isNull():
            need = w.fontMetrics().horizontalAdvance(w.text().split("\n")[0])
            if "<" not in w.text() and w.width() < need - 1:
                bad.append(f"label {w.text()!r}: {w.width()} < {need}")
    return bad


def test_every_page_fits_the_smallest_window(qtbot, open_window, unsure_library,
                                             album_folder):
    window = open_window(unsure_library)
    minimum = window.minimumSize()
    assert minimum.width() <= 800 and minimum.height() <= 520, minimum
    # The pages' own layouts fit inside it (else Qt squeezes them below what they need).
    need = window.centralWidget().minimumSizeHint()
    assert need.width() <= minimum.width() and need.height() <= minimum.height() - 60, need
    window.resize(minimum)
    qtbot.waitUntil(lambda: len(window.people.model.rows) == 3, timeout=WAIT)
    qtbot.waitUntil(lambda: window.sidebar.item(4).text() == "Review  (3)", timeout=WAIT)
    sidebar = window.sidebar
    window.splitter.setSizes([30, 2000])  # the user drags the sidebar as narrow as it goes
    for row in range(sidebar.count()):
        item = sidebar.item(row)
        text = sidebar.fontMetrics().horizontalAdvance(item.text())
        room = sidebar.visualItemRect(item).width() - sidebar.iconSize().width() - 8
        assert text <= room, f"sidebar {item.text()!r} cut: {text} > {room}"
    problems = {}
    for row, page in enumerate(window.sections):
        window.sidebar.setCurrentRow(row)
        qtbot.wait(150)
        problems[page.title] = clipped(page)
    hugh = next(p for p in window.people.model.rows if p.name == "Hugh Laurie")
    window.show_person(hugh.id)
    qtbot.waitUntil(lambda: window.person.faces.rowCount() == 6, timeout=WAIT)
    problems["person"] = clipped(window.person)
    window.show_photo_search(str(album_folder / "together_1.jpg"))
    qtbot.waitUntil(lambda: len(window.search.groups) == 2, timeout=WAIT)
    problems["search"] = clipped(window.search)
    window.show_photo(str(album_folder / "together_1.jpg"))
    qtbot.waitUntil(lambda: window.viewer.photo is not None, timeout=WAIT)
    problems["viewer"] = clipped(window.viewer)
    assert not any(problems.values()), problems
