"""The age pass (people/ages.py `fill`) in a process of its own, for the app.

Like the scan's workers it forks from the scan's fork server (pool.py), so the window's
process never loads the face engine, and it runs at a lower priority. It opens the library
itself and writes its batches through SQLite's lock, as the command line beside the app
does; the app sees them as another process's change. `stop` asks it to stop after the photo
it is on (the next scan, quitting): what it wrote stays, the rest is done next time.
"""
from __future__ import annotations

import logging
import os
import signal
from pathlib import Path

log = logging.getLogger(__name__)

NICE = 10  # below the window and the scan's workers: the pass is never in the way


def _fill_main(library_path: str, stop, nice: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent ends it
    try:
        os.nice(nice)
    except (AttributeError, OSError):
        pass
    from ..library import Library  # noqa: PLC0415
    from ..people import ages  # noqa: PLC0415
    try:
        with Library(Path(library_path), create=False) as library:
            for _ in ages.fill(library, cancel=stop):
                pass
    except Exception:  # a damaged library, a model that cannot load: the app scans on
        log.exception("the age pass stopped")


class BackgroundFill:
    """At most one age pass of one library at a time."""

    def __init__(self, library_path: Path, nice: int = NICE) -> None:
        self.path = Path(library_path)
        self.nice = nice
        self._process = None
        self._stop = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def start(self) -> bool:
        """Start a pass unless one runs; False when one already does."""
        if self.running:
            return False
        from .pool import _context, _main_hidden  # noqa: PLC0415
        ctx = _context()
        self._stop = ctx.Event()
        self._process = ctx.Process(target=_fill_main, name="facefolio-ages",
                                    args=(str(self.path), self._stop, self.nice), daemon=True)
        with _main_hidden():
            self._process.start()
        return True

    def stop(self, wait_s: float | None = 5.0) -> None:
        """Ask the pass to stop after its photo; wait that long for it (then end it), or,
        with None, let it finish writing on its own."""
        process, self._process = self._process, None
        if process is None:
            return
        self._stop.set()
        if wait_s is None:
            return
        process.join(wait_s)
        if process.is_alive():  # stuck in one huge decode: its unwritten batch is lost only
            process.terminate()
            process.join(5)
