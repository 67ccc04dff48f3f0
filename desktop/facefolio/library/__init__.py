"""The user's data: SQLite + hnswlib. No Qt here (tests/test_layers.py checks)."""
from __future__ import annotations

from .storage import write_queue
from .library import Library, default_library_dir
from .storage.records import (
    AssignedBy,
    FaceRecord,
    FolderRecord,
    PersonRecord,
    PhotoRecord,
    PhotoStatus,
    SearchResult,
)
from .scan.scanner import CancelToken, Scanner, ScanProgress
from .photos.search import faces_in_image, search_image
from .storage.settings import Settings
from .storage.store import LibraryError, NotFoundError

__all__ = [
    "AssignedBy", "CancelToken", "FaceRecord", "FolderRecord", "Library", "LibraryError",
    "NotFoundError", "PersonRecord", "PhotoRecord", "PhotoStatus", "ScanProgress", "Scanner",
    "SearchResult", "Settings", "default_library_dir", "faces_in_image", "search_image",
]
