"""The PySide6 desktop app. Everything it shows comes from `facefolio.library` objects,
read and written from worker threads (see `tasks.py`); the GUI thread never touches SQLite."""
