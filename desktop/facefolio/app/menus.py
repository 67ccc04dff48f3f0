"""The main window's menu bar: File, Edit (undo / redo that say what they undo), View.

`window` is main_window.py's MainWindow; its slots are what the actions call."""
from __future__ import annotations

from functools import partial
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow


def build_menus(window: QMainWindow) -> None:
    bar = window.menuBar()
    file = bar.addMenu("&File")
    add = partial(_add, window)
    add(file, "&Add folder…", window.add_folder_dialog, QKeySequence.StandardKey.Open)
    add(file, "&Find people in a photo…", window.find_in_photo_dialog, "Ctrl+Shift+F")
    add(file, "&Rescan all folders", lambda: window.session.start_scan(None), "F5")
    file.addSeparator()
    window.write_xmp_action = add(file, "&Write face names to XMP sidecars",
                                  window.interop.write_xmp)
    window.read_xmp_action = add(file, "Read face &names from XMP", window.interop.read_xmp)
    window.forget_action = add(file, "&Delete all face data…", window.interop.forget)
    file.addSeparator()
    add(file, "&Settings…", window.settings_dialog, "Ctrl+,")
    file.addSeparator()
    add(file, "&Quit", window.close, QKeySequence.StandardKey.Quit)

    edit = bar.addMenu("&Edit")
    window.undo_action = add(edit, "&Undo", window.session.undo, QKeySequence.StandardKey.Undo)
    window.redo_action = add(edit, "&Redo", window.session.redo, "Ctrl+Shift+Z")
    window.undo_action.setEnabled(False)
    window.redo_action.setEnabled(False)
    window.session.undoLabels.connect(lambda u, r: set_undo_labels(window, u, r))

    view = bar.addMenu("&View")
    for row, page in enumerate(window.sections):
        # triggered(bool) would fill a defaulted lambda argument: bind the row instead.
        add(view, page.title, partial(window.sidebar.setCurrentRow, row), f"Ctrl+{row + 1}")
    view.addSeparator()
    window.hidden_action = QAction("Show &hidden people", window, checkable=True)
    window.hidden_action.toggled.connect(window.people.show_hidden.setChecked)
    window.people.show_hidden.toggled.connect(window.hidden_action.setChecked)
    view.addAction(window.hidden_action)


def set_undo_labels(window: QMainWindow, undo: str, redo: str) -> None:
    """"Undo Rename 'Ann' to 'Anna'": the menu says what Ctrl+Z would do."""
    window.undo_action.setText(f"&Undo {_short(undo)}" if undo else "&Undo")
    window.redo_action.setText(f"&Redo {_short(redo)}" if redo else "&Redo")
    window.undo_action.setEnabled(bool(undo))
    window.redo_action.setEnabled(bool(redo))


def _short(text: str, limit: int = 60) -> str:
    text = text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _add(window: QMainWindow, menu, text: str, slot, shortcut=None) -> QAction:
    action = QAction(text, window)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    action.triggered.connect(slot)
    menu.addAction(action)
    return action
