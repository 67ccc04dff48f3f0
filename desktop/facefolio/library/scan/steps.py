"""The writer's side of a scan: each step runs on the library's one writer (write_queue.py), `w`
its Library, in a transaction of its own: folders marked started, the plan applied (moves, missing,
offline), new faces grouped, the scan finished."""
from __future__ import annotations

from ..library import Library
from ..storage import store
from ..storage.store import Transaction
from .narrow import Narrowed, narrow as narrow_photos, narrowable
from .write import apply_plan


def set_started(w: Library, rows: list[tuple[float, int]]) -> None:
    with Transaction(w.con):
        w.con.executemany("UPDATE folders SET scan_started_at = ? WHERE id = ?", rows)


def narrow(w: Library, key: str) -> Narrowed:
    """Photos analysed under a laxer setting of the same pack lose their faces under `key`
    (the scan's analysis key), without being read again (narrow.py)."""
    if not narrowable(w.con, key):
        return Narrowed()
    with Transaction(w.con):
        return narrow_photos(w.con, key)


def apply(w: Library, plan, sv, offline: list[tuple[float | None, int]]) -> None:
    with Transaction(w.con):
        apply_plan(w.con, plan, sv, store.now())
        record_unread(w.con, sv)
        # An offline folder was not scanned: it keeps the scan state it had.
        w.con.executemany("UPDATE folders SET scan_started_at = ? WHERE id = ?", offline)


def group(w: Library, face_ids: list[int]) -> None:
    from ..people.people import People  # noqa: PLC0415 - clustering loads scipy: only now
    w.sync_indexes(removed=False)
    People(w).after_scan(face_ids)


def finish(w: Library, online_folders: list[int], ungrouped: list[int]) -> None:
    """The end of a scan: folders marked scanned, the index caught up, the new faces not
    grouped yet assigned and grouped (once), the index saved. The grouping code (scipy) is
    imported only when there are faces to group."""
    with Transaction(w.con):
        w.prune_empty_people()
        w.con.executemany("UPDATE folders SET last_scan_at = ? WHERE id = ?",
                          [(store.now(), fid) for fid in online_folders])
    w.sync_indexes()
    if ungrouped:
        from ..people.people import People  # noqa: PLC0415
        People(w).after_scan(ungrouped)
    w.save_indexes()


def record_unread(con, sv) -> None:
    """Files the listing met and Facefolio does not read, by type, per folder listed: `status`
    and the Folders page say so ("12 files Facefolio does not read: .psd x10, .xcf x2")."""
    import json  # noqa: PLC0415

    con.executemany("UPDATE folders SET unread_files = ? WHERE id = ?",
                    [(json.dumps(dict(sorted(sv.unread.get(fid, {}).items()))), fid)
                     for fid in sv.online_folders])
