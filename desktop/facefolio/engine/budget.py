"""How much memory decoding may take: per decode, and for all decodes of the process at once.

A 1 MB PNG can claim 14000 x 14000 pixels (784 MB once Pillow holds it); with one decode per
scan worker, a folder of them would get the process killed. Each decode states its peak need
first: above `PER_DECODE` it is refused with a message, otherwise it waits until the decodes
already running leave room in `PROCESS_WIDE`, so large decodes run one after another while
ordinary photos (a 12 MP JPEG decoded at 1/4 needs 5 MB) never wait.

Scan workers are processes (library/scan/pool.py): there the budget is one for all of them,
kept in shared memory (`shared_state`, then `DecodeBudget.share` in each worker). Each worker
books its bytes in its own slot, so when a worker dies mid-decode the parent frees exactly
what it held (`release_slot`) and nothing leaks.
"""
from __future__ import annotations

import ctypes
import os
import sys
import threading
from contextlib import contextmanager

MIB = 1 << 20


def _env_mib(name: str, default: int) -> int:
    try:
        return max(64, int(os.environ.get(name, ""))) * MIB  # never under 64 MiB
    except ValueError:
        return default * MIB


# 1 GiB: a 14000 x 14000 RGB PNG (784 MB in Pillow) still decodes, alone; with the process's
# own ~0.4 GB (models, interpreter) that keeps a scan of such files under 1.5 GB of RSS
# (tests/test_engine_memory.py). Overridable for small machines.
PER_DECODE = _env_mib("FACEFOLIO_DECODE_BUDGET_MB", 1024)
PROCESS_WIDE = max(PER_DECODE, _env_mib("FACEFOLIO_DECODE_POOL_MB", 1024))


class DecodeBudget:
    """A counting semaphore over bytes: ``reserve(n)`` blocks while n would not fit."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.used = 0
        self.peak = 0  # the most ever reserved at once (tests read it)
        self._cond = threading.Condition()
        self._shared = None  # (condition, per-slot bytes, peak) once shared across processes
        self._slot = 0

    def share(self, cond, slots, peak, *, slot: int) -> None:
        """From now on reserve from the budget of every scan worker (see shared_state)."""
        self._shared, self._slot = (cond, slots, peak), slot

    @contextmanager
    def reserve(self, nbytes: int):
        nbytes = min(max(0, int(nbytes)), self.capacity)
        if self._shared is not None:
            with self._reserve_shared(nbytes):
                yield
            return
        with self._cond:
            # An oversized request (capped above) still runs, alone: used == 0.
            self._cond.wait_for(lambda: self.used == 0 or self.used + nbytes <= self.capacity)
            self.used += nbytes
            self.peak = max(self.peak, self.used)
        try:
            yield
        finally:
            with self._cond:
                self.used -= nbytes
                self._cond.notify_all()


    @contextmanager
    def _reserve_shared(self, nbytes: int):
        cond, slots, peak = self._shared
        with cond:
            cond.wait_for(lambda: sum(slots) == 0 or sum(slots) + nbytes <= self.capacity)
            slots[self._slot] += nbytes
            peak.value = max(peak.value, sum(slots))
        try:
            yield
        finally:
            with cond:
                slots[self._slot] = max(0, slots[self._slot] - nbytes)
                cond.notify_all()


BUDGET = DecodeBudget(PROCESS_WIDE)


def shared_state(ctx, workers: int) -> tuple:
    """The cross-process budget of `workers` scan workers: pass it to each, whole."""
    return ctx.Condition(), ctx.Array("q", workers, lock=False), ctx.Value("q", 0, lock=False)


def release_slot(shared: tuple, slot: int) -> None:
    """A worker died: whatever it had reserved is free again (called by the parent)."""
    cond, slots, _peak = shared
    with cond:
        slots[slot] = 0
        cond.notify_all()


def return_large_frees_to_the_os(threshold: int = 4 * MIB) -> bool:
    """Make glibc map every allocation >= ``threshold`` on its own and unmap it when freed.

    Otherwise glibc raises its mmap threshold (up to 32 MB) the first time a large block is
    freed, later large blocks come from per-thread heaps and stay there once freed: after a
    784 MB decode in one scan worker and another in the second, the process held both:
    tests/test_engine_memory.py (ten 14000 x 14000 PNGs) peaked at 2.07 GB without this call
    and 1.14 GB with it.
    A fixed threshold also switches that adjustment off. Linux with glibc only.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(-3, threshold))  # -3: M_MMAP_THRESHOLD
    except (OSError, AttributeError):  # musl and others: nothing to tune
        return False


def fmt_bytes(n: float) -> str:
    return f"{n / (1 << 30):.1f} GB" if n >= 1 << 30 else f"{n / MIB:.0f} MB"
