"""Folders: what the library watches, scan state, files that failed; the first-run welcome."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QSplitter,
    QStackedLayout,
    QStyledItemDelegate,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..library import FolderRecord, Library, PhotoRecord
from ..library.storage.records import unread_summary
from ..library.scan.scanner import CRASHED_TWICE
from . import words
from .page import Page
from .roles import RecordRole
from .session import LibrarySession
from .table_models import error_table_model, folder_state, folder_table_model


class _OneLine(QStyledItemDelegate):
    """The path keeps to one line, cut in its middle (the table wraps for the state)."""

    def initStyleOption(self, option, index) -> None:
        super().initStyleOption(option, index)
        option.features &= ~option.ViewItemFeature.WrapText
        option.textElideMode = Qt.TextElideMode.ElideMiddle


class _Wrapped(QStyledItemDelegate):
    """A state is read whole ("cannot read …/locked: Permission denied"): it wraps onto
    more lines (the row grows), and a word longer than the column breaks anywhere."""

    def initStyleOption(self, option, index) -> None:
        super().initStyleOption(option, index)
        option.features |= option.ViewItemFeature.WrapText
        option.textElideMode = Qt.TextElideMode.ElideNone


def _add_counts(counts) -> dict[str, int]:
    total: dict[str, int] = {}
    for c in counts:
        for kind, n in c.items():
            total[kind] = total.get(kind, 0) + n
    return total


def load_folders(library: Library) -> tuple[list[FolderRecord], list[PhotoRecord]]:
    return library.folders(), library.failed_photos()


class WelcomePanel(QWidget):
    """First run: one obvious thing to do."""

    addFolder = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = QLabel("Welcome to Facefolio", alignment=Qt.AlignmentFlag.AlignCenter)
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 2.2)
        font.setBold(True)
        title.setFont(font)
        text = QLabel("Pick a folder of photos. Facefolio finds the faces in them, groups the "
                      "people it sees often, and lets you name them.\nEverything stays on this "
                      "computer.", alignment=Qt.AlignmentFlag.AlignCenter, wordWrap=True)
        self.button = QPushButton("Add a folder of photos…")
        self.button.setDefault(True)
        self.button.setMinimumSize(320, 64)
        bfont = self.button.font()
        bfont.setPointSizeF(bfont.pointSizeF() * 1.4)
        self.button.setFont(bfont)
        self.button.clicked.connect(self.addFolder)
        hint = QLabel("…or drop a folder onto this window.",
                      alignment=Qt.AlignmentFlag.AlignCenter)
        hint.setStyleSheet("color: palette(placeholder-text);")
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        layout.addWidget(title)
        layout.addSpacing(12)
        layout.addWidget(text)
        layout.addSpacing(24)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.button)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addWidget(hint)
        layout.addStretch(3)


class FoldersPage(Page):
    title = "Folders"
    addFolderRequested = Signal()
    emptinessChanged = Signal(bool)  # True while the library has no folder

    def __init__(self, session: LibrarySession, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.empty: bool | None = None
        self.welcome = WelcomePanel()
        self.welcome.addFolder.connect(self.addFolderRequested)

        self.folders = folder_table_model(self, session.scans_folder)
        # A cancelled scan writes nothing at its end: its folder is "interrupted" again.
        session.scanFinished.connect(lambda _last: self.reload())
        self.table = self._table(self.folders)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update())
        add = QPushButton("Add folder…")
        add.clicked.connect(self.addFolderRequested)
        self.rescan_button = QPushButton("Rescan")
        self.rescan_button.clicked.connect(self._rescan_selected)
        self.rescan_all = QPushButton("Rescan all")
        self.rescan_all.clicked.connect(lambda: self.session.start_scan(None))
        self.missing_button = QPushButton("Remove missing photos…")
        self.missing_button.setToolTip("Forget the photos whose files are gone from this "
                                       "folder (photos on an unplugged drive are kept)")
        self.missing_button.clicked.connect(self._remove_missing)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Forget this folder and its faces (named people stay)")
        self.remove_button.clicked.connect(self._remove_selected)
        bar = QHBoxLayout()
        for b in (add, self.rescan_button, self.rescan_all):
            bar.addWidget(b)
        bar.addStretch(1)
        bar.addWidget(self.missing_button)
        bar.addWidget(self.remove_button)
        self.state_label = QLabel(wordWrap=True)

        self.errors = error_table_model(self)
        self.error_table = self._table(self.errors)
        self.error_label = QLabel()
        # Files that crashed the image decoder twice are left alone until they change.
        self.retry_button = QPushButton("Try those files again")
        self.retry_button.setToolTip("Scan once more the files that crashed the image decoder "
                                     "twice (they are skipped until they change)")
        self.retry_button.clicked.connect(
            lambda: self.session.start_scan(None, retry_failed=True))
        self.retry_button.setVisible(False)
        lower = QWidget()
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        self.unread_label = QLabel(wordWrap=True)  # files no scan reads, by type (issue 24)
        lower_layout.addWidget(self.unread_label)
        error_bar = QHBoxLayout()
        error_bar.addWidget(self.error_label, 1)
        error_bar.addWidget(self.retry_button)
        lower_layout.addLayout(error_bar)
        lower_layout.addWidget(self.error_table)
        upper = QWidget()
        upper_layout = QVBoxLayout(upper)
        upper_layout.setContentsMargins(0, 0, 0, 0)
        upper_layout.addLayout(bar)
        upper_layout.addWidget(self.table)
        upper_layout.addWidget(self.state_label)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(upper)
        split.addWidget(lower)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 1)

        outer = QVBoxLayout(self)
        self.stack = QStackedLayout()
        outer.addLayout(self.stack)
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(split)
        self._update()

    @staticmethod
    def _table(model) -> QTableView:
        table = QTableView()
        table.setModel(model)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.verticalHeader().hide()
        # Word wrap on, so rows are as tall as their wrapped state needs; only the state
        # column wraps (_Wrapped), the others keep to one line (_OneLine).
        table.setWordWrap(True)
        table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        for column in range(model.columnCount() - 1):
            table.setItemDelegateForColumn(column, _OneLine(table))
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        if model.columnCount() > 2:
            # Path and state share what the counts leave: the path elides (with a tooltip),
            # the state wraps, so a long state never squeezes the path to "/…".
            header.setSectionResizeMode(model.columnCount() - 1,
                                        QHeaderView.ResizeMode.Stretch)
            table.setItemDelegateForColumn(model.columnCount() - 1, _Wrapped(table))
        table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        return table

    def reload(self) -> None:
        super().reload()
        self.load(load_folders, self._apply)

    def _apply(self, answer: tuple[list[FolderRecord], list[PhotoRecord]]) -> None:
        folders, failed = answer
        self.folders.set_rows(folders)
        self.errors.set_rows(failed)
        self.error_label.setText(
            f"{words.plural(len(failed), 'file')} could not be read:" if failed
            else "Every file was read without problems.")
        self.error_table.setVisible(bool(failed))
        self.retry_button.setVisible(any(p.error and CRASHED_TWICE in p.error for p in failed))
        unread = unread_summary(_add_counts(f.unread_files for f in folders))
        self.unread_label.setText(unread)
        self.unread_label.setVisible(bool(unread))
        empty = not folders
        self.stack.setCurrentIndex(0 if empty else 1)
        if empty != self.empty:
            self.empty = empty
            self.emptinessChanged.emit(empty)
        self._update()

    def selected_folder(self) -> FolderRecord | None:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].data(RecordRole) if rows else None

    def _update(self) -> None:
        folder = self.selected_folder()
        chosen = folder is not None
        self.rescan_button.setEnabled(chosen)
        self.remove_button.setEnabled(chosen)
        resume = chosen and folder.scan_incomplete
        self.rescan_button.setText("Resume scan" if resume else "Rescan")
        missing = folder.missing_count if chosen else sum(
            f.missing_count for f in self.folders.rows)
        self.missing_button.setEnabled(missing > 0)
        self.missing_button.setVisible(any(f.missing_count for f in self.folders.rows))
        self.state_label.setText(
            f"{words.shown_path(folder.path)}: "
            f"{folder_state(folder, self.session.scans_folder(folder.id))}" if chosen else "")

    def _rescan_selected(self) -> None:
        folder = self.selected_folder()
        if folder is not None:
            self.session.start_scan([folder.id])

    def _remove_missing(self) -> None:
        """Ask, saying how many photos and named faces would go, then prune."""
        from ..library.photos.browse import missing_summary  # noqa: PLC0415
        folder = self.selected_folder()
        fid = folder.id if folder is not None else None
        self.session.read(lambda library: missing_summary(library, fid),
                          lambda summary: self._confirm_missing(folder, summary))

    def _confirm_missing(self, folder: FolderRecord | None, summary) -> None:
        if summary.photos == 0:
            self.session.message.emit("No photo is missing")
            return
        where = words.shown_path(folder.path) if folder is not None else "their folders"
        gone = (f"{words.plural(summary.photos, 'photo')} {words.noun(summary.photos, 'is')} "
                f"no longer in {where}.")
        faces = f"Their {words.plural(summary.faces, 'face')} will leave the library"
        if summary.named_faces:
            names = ", ".join(summary.names[:5]) + (" and others" if len(summary.names) > 5
                                                    else "")
            faces += (f", {summary.named_faces} of them named ({names}). The people stay "
                      "with their other photos.")
        else:
            faces += "; none of them is named."
        text = (f"{gone}\n\n{faces}\n\nPhotos on a drive that is not plugged in are not "
                "affected: they are offline, not missing. Remove the missing photos?")
        answer = QMessageBox.question(self, "Remove missing photos", text)
        if answer != QMessageBox.StandardButton.Yes:
            return
        fids = [folder.id] if folder is not None else None
        self.session.write(lambda library: library.prune_missing(fids),
                           f"Removed {words.plural(summary.photos, 'missing photo')}")

    def _remove_selected(self) -> None:
        folder = self.selected_folder()
        if folder is None:
            return
        answer = QMessageBox.question(
            self, "Remove folder",
            f"Forget {words.shown_path(folder.path)}?\n\nIts "
            f"{words.plural(folder.face_count, 'face')} "
            f"{'leaves' if folder.face_count == 1 else 'leave'} the library; your photos stay "
            "on disk and named people stay.")
        if answer == QMessageBox.StandardButton.Yes:
            if self.session.scanning:
                self.session.cancel_scan()
            self.session.remove_folder(folder.id)
