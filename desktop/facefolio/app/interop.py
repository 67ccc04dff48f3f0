"""Taking face data in and out from the app: XMP sidecars, a person's photos, forgetting.

Every library call runs in a task: XMP and forgetting change the library, so they go to the
one writer; exporting photos only reads it, so it runs on the read pool. The GUI thread asks
the questions (dialogs) and shows the answers (status bar, an error list).
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QStatusBar, QWidget

from ..library import Library, PersonRecord
from .session import LibrarySession
from .thumbnails import ThumbnailProvider
from .widgets import last_folder, remember_folder

# The export choices, as the user reads them, and export_person_photos's mode for each.
EXPORT_MODES = {
    "Copy the photos": "copy",
    "Hard links (same drive, take no extra space)": "link",
    "Symbolic links (point to the originals)": "symlink",
}
_MAX_LISTED = 25  # errors shown in the dialog; the rest are counted



def forget_text(sidecars: int) -> str:
    """The question before "delete all face data", true to what a rescan will do: every scan
    reads face names from XMP sidecars and from the photos' own XMP, so names kept there
    come back (forget does not touch files beside or inside the photos)."""
    if sidecars:
        have = "photo has an XMP sidecar" if sidecars == 1 else "photos have XMP sidecars"
        rescan = (f"{sidecars} {have} beside it: a rescan finds the faces again and reads back "
                  "the face names stored in sidecars (and in the photos' own XMP). Delete "
                  "those sidecars too if the names should go.")
    else:
        rescan = ("A rescan finds the faces again, without names, except names that another "
                  "program wrote into the photos themselves (a scan reads those).")
    return ("Delete all face data from this library?\n\n"
            "Deleted: every detected face and its embedding, all names and people, the "
            "thumbnails and the face search index. This cannot be undone.\n\n"
            f"Kept: your photos (they are never touched) and the list of folders. {rescan}")


def count_sidecars(library: Library) -> int:
    """Photos of the library with an XMP sidecar beside them (any content)."""
    from ..library.interop.pairs import sidecar_path  # noqa: PLC0415 - loads exiv2 lazily anyway
    return sum(1 for photo in library.photos() if sidecar_path(Path(photo.path)).is_file())


class InteropActions:
    def __init__(self, session: LibrarySession, thumbnails: ThumbnailProvider,
                 status: QStatusBar, parent: QWidget,
                 after_forget: Callable[[], None] | None = None) -> None:
        self.session = session
        self.thumbnails = thumbnails
        self.status = status
        self.parent = parent
        self.after_forget = after_forget

    def _busy(self, text: str) -> None:
        self.status.showMessage(text)  # no timeout: the task's answer replaces it

    # -- XMP -----------------------------------------------------------------------------
    def write_xmp(self) -> None:
        def export(library: Library) -> tuple[int, list[tuple[str, str]]]:
            from ..library.interop.xmp_library import export_library_xmp  # noqa: PLC0415 - exiv2
            return export_library_xmp(library)
        self._busy("Writing face names to XMP sidecars…")
        self.session.write(export, on_result=self._xmp_written)

    def _xmp_written(self, answer: tuple[int, list[tuple[str, str]]]) -> None:
        written, errors = answer
        self.status.showMessage(f"Wrote {written} sidecar{'s' if written != 1 else ''}; "
                                f"{len(errors)} failed", 10000)
        self._show_errors("Some sidecars were not written", errors)

    def read_xmp(self) -> None:
        def read(library: Library) -> tuple[int, list[tuple[str, str]]]:
            from ..library.interop.xmp_library import import_library_xmp  # noqa: PLC0415
            return import_library_xmp(library)
        self._busy("Reading face names from XMP…")
        # The write ends with `changed`: People and the other pages reload with the names.
        self.session.write(read, on_result=self._xmp_read)

    def _xmp_read(self, answer: tuple[int, list[tuple[str, str]]]) -> None:
        named, errors = answer
        self.status.showMessage(f"Named {named} face{'s' if named != 1 else ''} from XMP; "
                                f"{len(errors)} file{'s' if len(errors) != 1 else ''} "
                                "unreadable", 10000)
        self._show_errors("Some XMP could not be read", errors)

    def _show_errors(self, title: str, errors: list[tuple[str, str]]) -> None:
        if not errors:
            return
        lines = [f"{path}: {reason}" for path, reason in errors[:_MAX_LISTED]]
        if len(errors) > _MAX_LISTED:
            lines.append(f"… and {len(errors) - _MAX_LISTED} more")
        QMessageBox.warning(self.parent, title, "\n".join(lines))

    # -- forget --------------------------------------------------------------------------
    def forget(self) -> None:
        """Ask (after counting sidecars on the read pool, so the question is true), then
        erase on the writer."""
        self.session.read(count_sidecars, self._ask_forget)

    def _ask_forget(self, sidecars: int) -> None:
        answer = QMessageBox.warning(
            self.parent, "Delete all face data", forget_text(sidecars),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel)
        if answer != QMessageBox.StandardButton.Yes:
            return
        self.thumbnails.cache.clear()
        self._busy("Deleting all face data…")
        self.session.forget_all(self._forgotten)

    def _forgotten(self, gone: dict[str, int]) -> None:
        # Thumbnails that arrived while the erase ran show faces that no longer exist.
        self.thumbnails.cache.clear()
        self.status.showMessage(f"Deleted {gone.get('faces', 0)} faces and "
                                f"{gone.get('people', 0)} people; photos untouched", 10000)
        if self.after_forget is not None:
            self.after_forget()

    # -- export --------------------------------------------------------------------------
    def export_person(self, person: PersonRecord) -> None:
        dest = QFileDialog.getExistingDirectory(
            self.parent, f"Export the photos of {person.display_name} to",
            last_folder("export"))
        if not dest:
            return
        remember_folder("export", dest)
        choice, ok = QInputDialog.getItem(
            self.parent, "Export photos", "Put the photos there as:", list(EXPORT_MODES),
            0, False)
        if not ok or choice not in EXPORT_MODES:
            return
        mode, pid = EXPORT_MODES[choice], person.id

        def export(library: Library) -> int:
            from ..library.photos.export import export_person_photos  # noqa: PLC0415
            return export_person_photos(library, pid, Path(dest), mode)

        def exported(n: int) -> None:
            self.status.showMessage(f"Exported {n} photo{'s' if n != 1 else ''} to {dest}",
                                    10000)
        self._busy(f"Exporting photos of {person.display_name}…")
        # Only reads the library (and writes files elsewhere): the read pool, not the writer.
        self.session.read(export, exported)
