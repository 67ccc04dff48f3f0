"""The user's data: SQLite + hnswlib. No Qt here (tests/test_layers.py checks)."""
from __future__ import annotations

from .library import Library, default_library_dir
from .photos.search import faces_in_image, search_image
from .scan.progress import CancelToken, Phase, ScanProgress
from .storage.errors import LibraryError, NotFoundError
from .storage.records import (
    AssignedBy,
    FaceRecord,
    FolderRecord,
    PersonRecord,
    PhotoRecord,
    PhotoStatus,
    SearchResult,
)
from .storage.settings import Settings

__all__ = [
    "AssignedBy", "CancelToken", "FaceRecord", "FolderRecord", "Library", "LibraryError",
    "NotFoundError", "PersonRecord", "Phase", "PhotoRecord", "PhotoStatus", "ScanProgress",
    "Scanner",
    "SearchResult", "Settings", "default_library_dir", "faces_in_image", "search_image",
]


def __getattr__(name: str):
    # The scanner (its writer, planner and workers' code: 0.1-0.15 s of imports) loads when
    # a scan starts, not with every command: `facefolio search` and the CLI's reads skip it.
    if name == "Scanner":
        from .scan.scanner import Scanner  # noqa: PLC0415
        return Scanner
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
