"""The user's data: SQLite + hnswlib. No Qt here (tests/test_layers.py checks)."""
from __future__ import annotations

from .library import Library, default_library_dir
from .photos.search import faces_in_image, search_image
from .scan.scanner import CancelToken, Scanner, ScanProgress
from .storage import write_queue
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
    "NotFoundError", "PersonRecord", "PhotoRecord", "PhotoStatus", "ScanProgress", "Scanner",
    "SearchResult", "Settings", "default_library_dir", "faces_in_image", "search_image",
]
