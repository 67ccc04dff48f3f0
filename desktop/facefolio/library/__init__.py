"""The user's data: SQLite + hnswlib. No Qt here (tests/test_layers.py checks)."""
from __future__ import annotations

# Each name loads when first asked for (PEP 562): a scan worker's process imports this
# package for its scan code and needs none of SQLite, hnswlib or the search (60-100 ms of the
# fork server's start, on every scan's critical path).
_LAZY = {
    "Library": ".library", "default_library_dir": ".storage.settings",
    "faces_in_image": ".photos.search", "search_image": ".photos.search",
    "CancelToken": ".scan.progress", "Phase": ".scan.progress", "ScanProgress": ".scan.progress",
    "Scanner": ".scan.scanner",
    "LibraryError": ".storage.errors", "NotFoundError": ".storage.errors",
    "AssignedBy": ".storage.records", "FaceRecord": ".storage.records",
    "FolderRecord": ".storage.records", "PersonRecord": ".storage.records",
    "PhotoRecord": ".storage.records", "PhotoStatus": ".storage.records",
    "SearchResult": ".storage.records",
    "Settings": ".storage.settings",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module  # noqa: PLC0415
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
