"""What a scan has to do: list the folders, compare with what the library knows, and decide for
every file and every known photo. No SQLite here; `Scanner` reads the rows and applies the plan.

The rules that keep the user's work:
- A folder that cannot be read, or that lists no image at all while the library knows photos
  in it (an unmounted drive's empty mount point), is *offline*: its photos keep everything.
- A sub-folder that cannot be listed, or a file that cannot be stat'ed for a reason other than
  "it does not exist", is offline too.
- A photo whose file is really gone from a folder that was listed becomes *missing*: it keeps
  its faces and names until the user removes missing photos (`Library.prune_missing`), and if
  its image shows up elsewhere (a move, a rename, a ring of renames) the row follows it.
- Identity is the fingerprint of the image data (identity.py), so a re-tagged photo keeps its
  faces; a changed image is analysed again and the old decisions are carried over.
"""
from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from .walk import FileEntry, folder_problem, gone, walk_folder

EMPTY_FOLDER = "folder is empty while the library knows photos in it (is its drive mounted?)"


class JobKind(StrEnum):
    """What a scan does with one file (see `Job`)."""
    NEW = "new"
    COPY = "copy"
    CHANGED = "changed"
    REANALYSE = "reanalyse"
    RETRY = "retry"
    REFRESH = "refresh"
    FINGERPRINT = "fingerprint"
    ERROR = "error"


@dataclass(frozen=True)
class Known:
    """A photo row as the scan found it."""
    id: int
    folder_id: int
    path: str
    size: int
    mtime_ns: int
    inode: int | None
    fingerprint: str | None
    content_hash: str | None
    status: str
    analysis: str | None
    offline: bool
    missing: bool


@dataclass(frozen=True)
class Job:
    """Work for a scan worker, and what the writer does with its result.

    kinds: 'new' (insert), 'copy' (a new path holding the image of `source`: its faces and
    decisions are copied, nothing is analysed), 'changed' (the image at `row`'s path changed:
    analyse, carry decisions), 'reanalyse' (same image, other settings: same), 'retry' (a photo
    that failed before), 'refresh' (only metadata changed: dates, XMP names), 'fingerprint'
    (a photo from before fingerprints: compute it), 'error' (a file the walk could not read).
    """
    kind: JobKind
    entry: FileEntry
    row: Known | None = None
    fingerprint: str | None = None
    source: Known | None = None


@dataclass
class Survey:
    """The listing of the folders in scope, compared with the known rows."""
    candidates: list[FileEntry] = field(default_factory=list)  # new or changed: need identity
    jobs: list[Job] = field(default_factory=list)  # decided without fingerprints
    gone: list[Known] = field(default_factory=list)  # files really gone from listed folders
    offline_ids: set[int] = field(default_factory=set)
    back_online: list[tuple[Known, FileEntry]] = field(default_factory=list)  # stat changes only
    unchanged: int = 0
    offline_folders: dict[int, str] = field(default_factory=dict)  # folder id -> reason
    online_folders: dict[int, tuple[str | None, int]] = field(default_factory=dict)
    unread: dict[int, Counter] = field(default_factory=dict)  # folder -> files not read, by type

    def needs_fingerprints(self, known: dict[str, Known], missing: list[Known]) -> bool:
        """Must candidates be fingerprinted before deciding (a move, a ring, a changed
        image)? Not when every candidate is a new path and no photo left its place."""
        return bool(self.candidates) and bool(
            self.gone or missing or any(e.path in known for e in self.candidates))


@dataclass
class Plan:
    jobs: list[Job] = field(default_factory=list)
    moves: list[tuple[Known, FileEntry, str]] = field(default_factory=list)  # row, to, fp
    missing: list[Known] = field(default_factory=list)


def survey(folders: Iterable, known: dict[str, Known], analysis: str,
           skip: frozenset[str], skip_dirs: frozenset[tuple[int, int]],
           cancelled=lambda: False) -> Survey:
    """List every folder and sort each file and known photo into the survey."""
    s = Survey()
    by_folder: dict[int, list[Known]] = {}
    for row in known.values():
        by_folder.setdefault(row.folder_id, []).append(row)
    for folder in folders:
        if cancelled():
            break
        rows = by_folder.get(folder.id, [])
        problem = folder_problem(folder.path)
        entries: list[FileEntry] = []
        if problem is None:
            nested = frozenset(p for p in skip if p != folder.path)
            unread = s.unread[folder.id] = Counter()
            entries = list(walk_folder(folder.path, folder.id, nested, skip_dirs, unread,
                                       known))
            if rows and not any(e.error is None for e in entries):
                problem = EMPTY_FOLDER
        if problem is not None:
            s.offline_folders[folder.id] = problem
            s.offline_ids.update(r.id for r in rows)
            continue
        unreadable = [e.path for e in entries if e.error]
        files = [e for e in entries if e.error is None]
        s.online_folders[folder.id] = (entries[-1].error if unreadable else None, len(files))
        seen = {_sort(s, e, known.get(e.path), analysis, folder.id) for e in files}
        for row in rows:
            if row.id in seen:
                continue
            if any(_inside(row.path, d) for d in unreadable):
                s.offline_ids.add(row.id)
                continue
            state = gone(row.path)
            if state is None:
                s.offline_ids.add(row.id)
            elif state:
                s.gone.append(row)
    return s


def _sort(s: Survey, e: FileEntry, row: Known | None, analysis: str, folder_id: int
          ) -> int | None:
    """Put one listed file in its place; returns the id of the known row it accounts for."""
    if e.problem:
        if row is not None and row.status == "done":
            if e.transient:
                s.offline_ids.add(row.id)  # unreadable now: keep it all, try again next time
            else:
                s.gone.append(row)  # no longer a photo there: missing, kept until removed
        else:
            s.jobs.append(Job(JobKind.ERROR, e, row))
        return row.id if row else None
    if row is None:
        s.candidates.append(e)
        return None
    if row.status != "done":
        s.jobs.append(Job(JobKind.RETRY, e, row))
        return row.id
    same = row.size == e.size and row.mtime_ns == e.mtime_ns and row.inode in (None, e.inode)
    if not same:
        s.candidates.append(e)
    elif row.fingerprint is None:
        s.jobs.append(Job(JobKind.FINGERPRINT, e, row))
    elif row.analysis != analysis:
        s.jobs.append(Job(JobKind.REANALYSE, e, row, fingerprint=row.fingerprint))
    elif row.offline or row.missing or row.inode is None or row.folder_id != folder_id:
        s.back_online.append((row, e))
    else:
        s.unchanged += 1
    return row.id


def _inside(path: str, folder: str) -> bool:
    return path.startswith(folder.rstrip(os.sep) + os.sep)


def resolve(s: Survey, known: dict[str, Known], missing: list[Known],
            prints: dict[str, tuple[str, str | None]], analysis: str) -> Plan:
    """Decide every candidate once its fingerprint is known: `prints` maps a candidate path to
    (fingerprint, whole-file hash or None). Candidates without one become 'new' jobs that
    fingerprint themselves (and may turn out to be copies)."""
    plan = Plan(jobs=list(s.jobs))
    # Rows whose image is no longer where the row says: they may have moved to a candidate.
    free: dict[int, Known] = {r.id: r for r in [*s.gone, *missing]
                              if r.id not in s.offline_ids}
    stays: dict[str, Known] = {}
    todo: list[tuple[FileEntry, str | None, str | None]] = []
    for e in s.candidates:
        fp, whole = prints.get(e.path, (None, None))
        row = known.get(e.path)
        if row is not None and fp is not None and fp == row.fingerprint:
            plan.jobs.append(Job(JobKind.REFRESH, e, row, fingerprint=fp))
            continue
        if row is not None:
            free[row.id] = row
            stays[e.path] = row
        todo.append((e, fp, whole))
    by_print: dict[str, list[Known]] = {}
    for row in free.values():
        for key in (row.fingerprint, row.content_hash):
            if key:
                by_print.setdefault(key, []).append(row)
    moved: set[int] = set()
    taken: set[str] = set()
    for e, fp, whole in todo:
        pool = [r for key in (fp, whole) if key for r in by_print.get(key, [])
                if r.id not in moved]
        if not pool:
            continue
        row = min(pool, key=lambda r: (os.path.basename(r.path) != os.path.basename(e.path),
                                       os.path.dirname(r.path) != os.path.dirname(e.path),
                                       r.id))
        moved.add(row.id)
        taken.add(e.path)
        plan.moves.append((row, e, fp))
    copies = {r.fingerprint: r for r in known.values()
              if r.fingerprint and r.id not in free and r.status == "done"}
    for e, fp, _ in todo:
        if e.path in taken:
            continue
        row = stays.get(e.path)
        if row is not None and row.id not in moved:
            plan.jobs.append(Job(JobKind.CHANGED, e, row, fingerprint=fp))
            free.pop(row.id, None)
        elif fp is not None and fp in copies:
            plan.jobs.append(Job(JobKind.COPY, e, fingerprint=fp, source=copies[fp]))
        else:
            plan.jobs.append(Job(JobKind.NEW, e, fingerprint=fp))
    plan.missing = [r for r in free.values() if r.id not in moved and not r.missing]
    return plan


def still_missing(missing: list[Known], plan) -> int:
    """Photos missing before this scan that it did not find again (a restored file is)."""
    found = {row.id for row, _e, _fp in plan.moves}
    return sum(1 for r in missing if r.id not in found)
