"""What a scan reports and how it is steered: `ScanProgress` (one per step, for a progress bar and
`facefolio scan`'s lines), `CancelToken` (pause, resume, cancel between photos) and how many worker
processes a scan runs."""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from enum import StrEnum

PREPARING = "Preparing the face models, first run only"


class Phase(StrEnum):
    """Where a scan is: listing the folders, preparing the models (a first run), checking
    fingerprints for moves, scanning the photos, finishing (grouping), then done or cancelled."""
    LISTING = "listing"
    PREPARING = "preparing"
    CHECKING = "checking"
    SCANNING = "scanning"
    FINISHING = "finishing"
    DONE = "done"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class ScanProgress:
    phase: Phase
    done: int = 0
    total: int = 0
    videos: int = 0  # of `total`, the videos: the counts then say "photos and videos"
    current: str = ""
    faces: int = 0  # faces found in this scan so far
    errors: int = 0  # files that failed in this scan so far
    skipped: int = 0  # unchanged files (and files left alone after crashing twice)
    moved: int = 0  # photos found under another name (moves, renames)
    missing: int = 0  # photos whose files are gone, kept until the user removes them
    offline: int = 0  # photos in folders (or files) that cannot be read now, kept
    notes: int = 0  # decisions that could not be carried over (see `facefolio status`)
    crashed: int = 0  # files a worker died on in this scan
    elapsed: float = 0.0
    rate: float = 0.0  # photos per second
    eta: float | None = None  # seconds
    message: str = ""  # what is happening, when it is worth saying (a first run)
    new_face_ids: tuple[int, ...] = field(default=(), repr=False)

    @property
    def files(self) -> str:
        """What `done` and `total` count: "photos", or "photos and videos" when some are."""
        return "photos and videos" if self.videos else "photos"

    @property
    def rate_unit(self) -> str:
        return "files/s" if self.videos else "photos/s"


class CancelToken:
    """Cooperative cancel and pause, checked by the scan between photos."""

    def __init__(self) -> None:
        self._cancel = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def cancel(self) -> None:
        self._cancel.set()
        self._running.set()  # wake a paused scan so it can stop

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_if_paused(self, timeout: float | None = None) -> None:
        self._running.wait(timeout)


def allowed_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def default_workers(setting: int = 0, *, spare_one: bool = False) -> int:
    """Worker processes: the user's setting, else one per core this process may use, less
    one for the window when the app scans (`spare_one`)."""
    if setting and setting > 0:
        return int(setting)
    return max(1, allowed_cores() - (1 if spare_one else 0))
