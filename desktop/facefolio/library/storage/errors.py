"""The library's exceptions: each message is one line for the user."""
from __future__ import annotations


class LibraryError(Exception):
    """A library cannot be opened or used; the message is one line for the user."""


class NotFoundError(LibraryError):
    """An id (person, face, photo, folder) that does not exist."""


class DamagedLibraryError(LibraryError):
    """The database file is there but cannot be used as it is (empty, truncated, damaged)."""
