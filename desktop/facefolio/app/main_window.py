"""`MainWindow`: sidebar, page stack, menus, status bar, drops, geometry, quit."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import QSettings, QSize, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QIcon
from PySide6.QtWidgets import (
    QFileDialog,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QSplitter,
    QStackedWidget,
    QStyle,
    QWidget,
)

from ..engine import IMAGE_EXTENSIONS
from ..library import Library, Settings
from ..library.scan.reanalysis import ReanalysisImpact, agree_to_drop, impact
from .age_pass import AgePass
from .face_actions import FaceActions
from .folders_page import FoldersPage
from .grid_pages import UnknownFacesPage
from .interop import InteropActions
from .menus import build_menus
from .page import Page
from .people_page import PeoplePage
from .person_page import PersonPage
from .photo_viewer import PhotoViewerPage
from .photos_page import PhotosPage
from .review_page import ReviewPage
from .scan_status import ScanStatusWidget
from .search_page import SearchPage
from .session import LibrarySession, people_api
from .settings_dialog import SettingsDialog, ask_reanalysis
from .thumbnails import ThumbnailProvider
from .widgets import last_folder, remember_folder

_windows: list[MainWindow] = []  # keeps a window opened by "switch library" alive


def app_icon() -> QIcon:
    # Source tree: <repo>/resources; a PyInstaller bundle: <bundle>/resources.
    roots = [Path(__file__).resolve().parents[3], Path(getattr(sys, "_MEIPASS", "."))]
    for root in roots:
        path = root / "resources" / "facefolio.svg"
        if path.exists():
            return QIcon(str(path))
    return QIcon()


def sidebar_counts(library: Library) -> dict[str, int]:
    """The library's counts, with "unknown" as the Unknown faces page shows them (ignored
    faces and, by default, low-quality ones left out)."""
    counts = dict(library.counts())
    # As the People page shows them: hidden people and emptied groups are not counted.
    counts["people"] = sum(1 for p in library.people(include_hidden=False)
                           if p.face_count or p.name)
    counts["unknown"] = people_api(library).count_unknown()
    return counts


class MainWindow(QMainWindow):
    def __init__(self, library_path: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Facefolio")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        # Below this the sidebar, toolbars and tiles stop fitting (checked at 640x420 under
        # Xvfb: names cut, buttons clipped); a smaller screen still gets every page.
        self.setMinimumSize(760, 500)
        self.session = LibrarySession(library_path, self)
        self.thumbnails = ThumbnailProvider(library_path, self.session.pools, parent=self)
        self.actions = FaceActions(self.session, self, lambda: self.people.model.rows, self,
                                   self.thumbnails)
        self.history: list[QWidget] = []
        self._folders_given = False

        self.folders = FoldersPage(self.session)
        self.people = PeoplePage(self.session, self.thumbnails, self.actions)
        self.unknown = UnknownFacesPage(self.session, self.thumbnails, self.actions)
        self.photos = PhotosPage(self.session, self.thumbnails)
        self.review = ReviewPage(self.session, self.thumbnails, self.actions)
        self.person = PersonPage(self.session, self.thumbnails, self.actions)
        self.search = SearchPage(self.session, self.thumbnails, self.actions)
        self.viewer = PhotoViewerPage(self.session, self.actions)
        self.stack = QStackedWidget()
        self.sections: list[Page] = [self.folders, self.people, self.unknown, self.photos,
                                     self.review]
        for page in self.sections + [self.person, self.search, self.viewer]:
            self.stack.addWidget(page)

        self.sidebar = QListWidget()
        self.sidebar.setIconSize(QSize(20, 20))
        self.sidebar.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.sidebar.setMaximumWidth(240)
        # Wide enough for "Unknown faces (1234)" whatever the font: never "Unkno".
        self.sidebar.setMinimumWidth(
            self.sidebar.fontMetrics().horizontalAdvance("Unknown faces  (99999)") + 48)
        icons = [QStyle.StandardPixmap.SP_DirIcon, QStyle.StandardPixmap.SP_FileDialogContentsView,
                 QStyle.StandardPixmap.SP_MessageBoxQuestion,
                 QStyle.StandardPixmap.SP_FileDialogDetailedView,
                 QStyle.StandardPixmap.SP_DialogApplyButton]
        for page, icon in zip(self.sections, icons):
            item = QListWidgetItem(self.style().standardIcon(icon), page.title)
            item.setSizeHint(QSize(160, 36))
            self.sidebar.addItem(item)
        self.sidebar.currentRowChanged.connect(self._section_chosen)
        # The section stays highlighted on a person, search or photo page; a click on it
        # must still lead back there (currentRowChanged alone does not fire then).
        self.sidebar.itemClicked.connect(
            lambda item: self._section_chosen(self.sidebar.row(item)))
        split = QSplitter()
        split.addWidget(self.sidebar)
        split.addWidget(self.stack)
        split.setStretchFactor(1, 1)
        split.setCollapsible(0, False)
        split.setCollapsible(1, False)
        split.setSizes([190, 900])
        self.splitter = split
        self.setCentralWidget(split)

        self.scan_status = ScanStatusWidget(self.session)
        self.statusBar().addPermanentWidget(self.scan_status)
        self.interop = InteropActions(self.session, self.thumbnails, self.statusBar(), self,
                                      self._after_forget)
        self.review_count = 0
        self.counts: dict[str, int] | None = None  # the sidebar's, once loaded
        build_menus(self)
        self._connect()
        self._restore_geometry()
        self.sidebar.setCurrentRow(1)
        self.folders.reload()
        self.session.refresh_undo_state()
        self.warm_up = self.session.warm_up()
        self.age_pass = AgePass(self.session, self.warm_up)  # ages of faces without one
        self._load_counts()
        self.review.reload()  # its count goes to the sidebar
        self.session.watch()
        # Crops of faces never shown yet, while their photos can still be read (a drive may
        # go offline later); a moment after opening, so the first pages load first.
        QTimer.singleShot(3000, self, self._keep_face_crops)

    # -- wiring --------------------------------------------------------------------------
    def _connect(self) -> None:
        s = self.session
        s.changed.connect(self._library_changed)
        s.message.connect(lambda m: self.statusBar().showMessage(m, 8000))
        s.scanStarted.connect(lambda: self.people.reload())
        s.scanFinished.connect(lambda _last: self._keep_face_crops())
        self.folders.addFolderRequested.connect(self.add_folder_dialog)
        self.folders.emptinessChanged.connect(self._emptiness)
        self.people.personActivated.connect(self.show_person)
        self.people.togetherRequested.connect(self.show_photos_with)
        self.person.back.connect(self.go_back)
        self.person.gone.connect(self._person_gone)
        self.person.photosRequested.connect(self.show_photos_with)
        self.photos.photoActivated.connect(lambda path, stops: self.show_photo(path, None, stops))
        self.people.exportRequested.connect(self.interop.export_person)
        self.person.exportRequested.connect(self.interop.export_person)
        self.review.countChanged.connect(self._review_counted)

    def _keep_face_crops(self) -> None:
        if not self.thumbnails.closed and not self.session.scanning:
            self.thumbnails.keep_face_crops()

    # -- navigation ----------------------------------------------------------------------
    def current_page(self) -> Page:
        return self.stack.currentWidget()

    def _show(self, page: Page, remember: bool = True) -> None:
        current = self.stack.currentWidget()
        if remember and current is not None and current is not page:
            self.history.append(current)
            del self.history[:-20]
        self.stack.setCurrentWidget(page)
        if page.dirty:
            page.reload()

    def _section_chosen(self, row: int) -> None:
        if 0 <= row < len(self.sections) and self.current_page() is not self.sections[row]:
            self.history.clear()
            self._show(self.sections[row], remember=False)

    def go_back(self) -> None:
        page = self.history.pop() if self.history else self.people
        self._show(page, remember=False)
        if page in self.sections:
            self.sidebar.setCurrentRow(self.sections.index(page))

    def show_person(self, person_id: int) -> None:
        self._show(self.person, remember=self.current_page() is not self.person)
        self.person.show_person(person_id)

    def show_face_search(self, face_id: int) -> None:
        self._show(self.search)
        self.search.search_face(face_id)

    def show_photo_search(self, path: str) -> None:
        self._show(self.search)
        self.search.search_photo(path)

    def show_photo(self, photo_path: str, face_id: int | None = None,
                   stops: list | None = None) -> None:
        if photo_path:
            self._show(self.viewer, remember=self.current_page() is not self.viewer)
            self.viewer.show_photo(photo_path, face_id, stops)

    def show_photos_with(self, person_ids: list[int]) -> None:
        """All photos, only those where all these people appear."""
        self.history.clear()
        self.sidebar.setCurrentRow(self.sections.index(self.photos))
        self.photos.set_people(person_ids)

    def _person_gone(self) -> None:
        if self.current_page() is self.person:
            self.statusBar().showMessage("That person was merged or removed", 5000)
            self.sidebar.setCurrentRow(1)
            self._section_chosen(1)

    def _emptiness(self, empty: bool) -> None:
        # First run: the welcome (on the Folders page) is the one thing to see, unless the
        # user already gave a folder (the first load may answer after that).
        if empty and not self.session.scanning and not self._folders_given:
            self.sidebar.setCurrentRow(0)

    def _library_changed(self) -> None:
        for index in range(self.stack.count()):
            page = self.stack.widget(index)
            page.dirty = True
        self.current_page().reload()
        # Cheap pages that feed others stay current: first-run state (folders), the
        # "This is…" names (people) and the sidebar's review count.
        for page in (self.folders, self.people, self.review):
            if self.current_page() is not page:
                page.reload()
        self._load_counts()

    def _load_counts(self) -> None:
        self.session.read(sidebar_counts, self._show_counts)

    def _show_counts(self, counts: dict[str, int]) -> None:
        self.counts = counts
        texts = [("Folders", counts["folders"]), ("People", counts["people"]),
                 ("Unknown faces", counts["unknown"]),
                 ("All photos", counts["photos"] + counts["videos"]),
                 ("Review", self.review_count)]
        for row, (text, n) in enumerate(texts):
            item = self.sidebar.item(row)
            item.setText(f"{text}  ({n})" if n else text)
            item.setToolTip(item.text())

    def _review_counted(self, n: int) -> None:
        self.review_count = n
        if self.counts is not None:
            self._show_counts(self.counts)

    def _after_forget(self) -> None:
        # Every page reloads through `changed`; show People, now empty, not a stale person.
        self.history.clear()
        self.sidebar.setCurrentRow(1)
        self._section_chosen(1)

    # -- files in ------------------------------------------------------------------------
    def add_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Add a folder of photos",
                                                last_folder("add-folder"))
        if path:
            # Next time, start beside it: the next folder to add is usually a sibling.
            remember_folder("add-folder", os.path.dirname(path.rstrip("/")) or path)
            self.add_folders([path])

    def add_folders(self, paths: list[str]) -> None:
        self._folders_given = True
        self.session.add_folders(paths)
        self.sidebar.setCurrentRow(1)  # watch people appear

    def find_in_photo_dialog(self) -> None:
        pattern = " ".join(f"*{e}" for e in sorted(IMAGE_EXTENSIONS))
        path, _ = QFileDialog.getOpenFileName(self, "Find people in a photo",
                                              last_folder("find-in-photo"),
                                              f"Images ({pattern})")
        if path:
            remember_folder("find-in-photo", path)
            self.show_photo_search(path)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        folders = [str(p) for p in paths if p.is_dir()]
        images = [str(p) for p in paths if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS]
        if folders:
            self.add_folders(folders)
        elif images:
            self.show_photo_search(images[0])
        else:
            return
        event.acceptProposedAction()

    # -- settings ------------------------------------------------------------------------
    def settings_dialog(self) -> None:
        self.session.read(lambda library: library.settings, self._open_settings)

    def _open_settings(self, settings: Settings) -> None:
        dialog = SettingsDialog(settings, self.session.path, self)
        if dialog.exec() != SettingsDialog.DialogCode.Accepted:
            return
        new = dialog.settings()
        location = dialog.library_path()
        if new.analysis_key() != settings.analysis_key():
            # Say what the re-analysis may take from named people before saving (issue 21).
            self.session.read(lambda library: impact(library, new),
                              lambda found: self._confirm_settings(settings, new, location,
                                                                   found))
            return
        self._save_settings(settings, new, location)

    def _confirm_settings(self, old: Settings, new: Settings, location: Path,
                          found: ReanalysisImpact) -> None:
        answer = ask_reanalysis(self, found, old, new) if found.photos else "keep"
        if answer is None:
            return
        self._save_settings(old, new, location, drop=answer == "drop")

    def _save_settings(self, settings: Settings, new: Settings, location: Path,
                       drop: bool = False) -> None:
        if new != settings:
            def save(library) -> None:
                if new.analysis_key() != settings.analysis_key():
                    agree_to_drop(library, new if drop else None)
                library.settings = new
                library.save_settings()
            self.session.write(save, "Settings saved")
            if new.write_xmp and not settings.write_xmp:
                self.interop.write_xmp()  # from now on sidecars follow changes: start in step
        if location != self.session.path:
            QSettings().setValue("library/path", str(location))
            self.switch_library(location)

    def switch_library(self, path: Path) -> None:
        window = MainWindow(path)
        _windows.append(window)
        window.show()
        self.close()

    # -- geometry and quit ---------------------------------------------------------------
    def _restore_geometry(self) -> None:
        settings = QSettings()
        key = type(self).__name__
        geometry = settings.value(f"{key}/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:  # first run: 1200 x 800, or most of a smaller screen
            screen = self.screen().availableGeometry() if self.screen() else None
            w, h = 1200, 800
            if screen is not None and screen.width() > 0 and screen.height() > 0:
                w, h = min(w, int(screen.width() * 0.9)), min(h, int(screen.height() * 0.9))
            self.resize(max(w, self.minimumWidth()), max(h, self.minimumHeight()))
        state = settings.value(f"{key}/splitter")
        if state is not None:
            self.splitter.restoreState(state)

    def closeEvent(self, event: QCloseEvent) -> None:
        settings = QSettings()
        key = type(self).__name__
        settings.setValue(f"{key}/geometry", self.saveGeometry())
        settings.setValue(f"{key}/splitter", self.splitter.saveState())
        self.thumbnails.closed = True
        self.age_pass.stop()
        self.session.shutdown()
        super().closeEvent(event)
        if self in _windows:
            _windows.remove(self)

