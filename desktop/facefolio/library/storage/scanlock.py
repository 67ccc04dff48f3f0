"""One scan at a time per library, across processes (the app and the CLI, two windows).

An OS file lock (filelock: fcntl on POSIX, msvcrt on Windows), so a crashed scan never leaves
a stale lock behind. Beside it, a small note says who holds it, for the second one's message.
Reading and editing the library while a scan runs is fine (SQLite WAL): only scans exclude
each other.
"""
from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

from filelock import FileLock, Timeout

from .errors import LibraryError
from .privacy import write_private

LOCK_NAME = "scan.lock"
_INFO_NAME = "scan.lock.json"


class ScanBusyError(LibraryError):
    """Another scan of this library is running."""


class ScanLock:
    def __init__(self, library_dir: Path) -> None:
        self.dir = Path(library_dir)
        self._lock = FileLock(str(self.dir / LOCK_NAME), timeout=0, mode=0o600,
                              thread_local=False)

    def __enter__(self) -> ScanLock:
        try:
            self._lock.acquire()
        except Timeout:
            raise ScanBusyError(
                f"another Facefolio scan is already running on this library{self._holder()}: "
                "wait for it to finish (or stop it), then scan again") from None
        try:
            write_private(self.dir / _INFO_NAME, json.dumps(
                {"pid": os.getpid(), "host": platform.node(),
                 "since": time.time()}).encode())
        except OSError:
            pass  # only the message of a second scan would miss it
        return self

    def __exit__(self, *exc) -> None:
        (self.dir / _INFO_NAME).unlink(missing_ok=True)
        self._lock.release()

    def _holder(self) -> str:
        try:
            info = json.loads((self.dir / _INFO_NAME).read_text())
            since = time.strftime("%H:%M", time.localtime(info["since"]))
            return f" (process {info['pid']} on {info['host']}, since {since})"
        except (OSError, ValueError, KeyError, TypeError):
            return ""
