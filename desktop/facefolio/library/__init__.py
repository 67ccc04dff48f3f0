"""The user's data: SQLite + hnswlib. No Qt here (tests/test_layers.py checks)."""
from __future__ import annotations

from . import write_queue
from .library import Library, default_library_dir
from .records import (
    AssignedBy,
    FaceRecord,
    FolderRecord,
    PersonRecord,
    PhotoRecord,
    PhotoStatus,
    SearchResult,
)
from .scanner import CancelToken, Scanner, ScanProgress
from .search import faces_in_image, search_image
from .settings import Settings
from .store import LibraryError, NotFoundError

__all__ = [
    "AssignedBy", "CancelToken", "FaceRecord", "FolderRecord", "Library", "LibraryError",
    "NotFoundError", "PersonRecord", "PhotoRecord", "PhotoStatus", "ScanProgress", "Scanner",
    "SearchResult", "Settings", "default_library_dir", "faces_in_image", "search_image",
]
