"""The user's data: SQLite + hnswlib. No Qt here (tests/test_layers.py checks)."""
from __future__ import annotations

from .library import Library, default_library_dir
from .photos.search import faces_in_image, search_image
from .scan.progress import CancelToken, Phase, ScanProgress
from .scan.scanner import Scanner
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
