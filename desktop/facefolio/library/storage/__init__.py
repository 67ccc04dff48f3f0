"""The library folder on disk: the SQLite database, the face index, owner-only files, the one writer, settings."""
