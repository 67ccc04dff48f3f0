"""`facefolio status`: what the library holds, each folder's scan state, the files that failed."""
from __future__ import annotations

import argparse
import json
import time
from typing import TYPE_CHECKING

from .library.storage.store import display_path
from .library.storage.text import shown

if TYPE_CHECKING:  # the library loads when a command opens one, not on import
    from .library import Library


def cmd_status(library: Library, args: argparse.Namespace) -> int:
    counts = library.counts()
    folders = library.folders()
    failed = library.failed_photos()
    warnings = library.photo_warnings()
    notes = library.scan_notes()
    problems = library.permission_problems
    if args.json:
        print(json.dumps({
            "library": str(library.path),
            "counts": counts,
            "folders": [{"folder_id": f.id, "path": f.path, "photos": f.photo_count,
                         "videos": f.video_count,
                         "faces": f.face_count, "errors": f.error_count,
                         "last_scan_at": f.last_scan_at, "error": f.scan_error,
                         "offline": f.offline, "offline_since": f.offline_since,
                         "offline_photos": f.offline_count, "missing_photos": f.missing_count,
                         "pending_photos": f.pending_count,
                         "scan_incomplete": f.scan_incomplete, "listed_files": f.listed_files,
                         "unread_files": f.unread_files}
                        for f in folders],
            "failed": [{"path": p.path, "reason": p.error} for p in failed],
            "warnings": [{"path": p.path, "reason": p.error} for p in warnings],
            "notes": [{"at": at, "path": path, "note": note} for at, path, note in notes],
            "permission_problems": problems,
            "problems": library.problems,
            "read_only": library.readonly,
        }))
        return 0
    print(f"library: {display_path(library.path)}")
    for problem in library.problems:
        print(f"warning: {shown(problem)}")
    videos = (f"{_n(counts['videos'], 'video')} ({_n(counts['video_faces'], 'face')}), "
              if counts["videos"] or counts["failed_videos"] else "")
    print(f"{_n(counts['folders'], 'folder')}, {_n(counts['photos'], 'photo')}, {videos}"
          f"{_n(counts['faces'], 'face')}, "
          f"{_n(counts['people'], 'person', 'people')} ({counts['named_people']} named), "
          f"{_n(counts['unassigned_faces'], 'face')} not in a group, "
          f"{_n(counts['failed'], 'failed file')}")
    kept = [f"{counts[k]} {what}" for k, what in (
        ("offline_photos", "photos offline (kept until their drive is back)"),
        ("missing_photos", "photos missing (kept; 'facefolio rescan --prune' removes them)"),
        ("pending_photos", "photos waiting to be analysed again ('facefolio rescan')"))
        if counts[k]]
    if kept:
        print("; ".join(kept))
    unread = _unread_total(folders)
    if unread:
        print(unread)
    for f in folders:
        print(f"  {display_path(f.path)}: {_folder_state(f)}")
    sections = (("failed files:", [(p.path, p.error) for p in failed]),
                ("scanned, with a problem:", [(p.path, p.error) for p in warnings]),
                ("decisions a scan could not carry over:", [(p, n) for _, p, n in notes]),
                ("library files other accounts can read (could not be made private):",
                 [(p, "") for p in problems]))
    for title, items in sections:
        if items:
            print(title)
            for path, why in items:
                print(f"  {display_path(path)}" + (f": {shown(why)}" if why else ""))
    return 0


def _n(count: int, noun: str, many: str | None = None) -> str:
    """'1 photo', '2 photos'."""
    return f"{count} {noun if count == 1 else many or noun + 's'}"


def _unread_total(folders) -> str:
    """Files no folder's scan reads, by type, over the whole library (issue 24)."""
    from .library.storage.records import unread_summary  # noqa: PLC0415

    total: dict[str, int] = {}
    for f in folders:
        for kind, n in f.unread_files.items():
            total[kind] = total.get(kind, 0) + n
    return unread_summary(total)


def _folder_state(f) -> str:
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(f.last_scan_at)) \
        if f.last_scan_at else "never"
    videos = f"{f.video_count} videos, " if f.video_count else ""
    parts = [f"{f.photo_count} photos, {videos}{f.face_count} faces, {f.error_count} errors, "
             f"last scan {when}"]
    if f.offline:
        since = time.strftime("%Y-%m-%d %H:%M", time.localtime(f.offline_since))
        parts.append(f"OFFLINE since {since}: {f.scan_error}; {f.offline_count} photos kept")
    elif f.scan_error:
        parts.append(f.scan_error)
    if f.scan_incomplete:
        done = f.scanned_count
        total = f"{done} of {f.listed_files}" if f.listed_files else f"{done}"
        parts.append(f"last scan did not finish (scanned {total}; 'facefolio rescan' resumes)")
    if f.missing_count:
        parts.append(f"{f.missing_count} missing")
    if f.unread_files:
        parts.append(f.unread_summary)
    if f.pending_count:
        parts.append(f"{f.pending_count} to analyse again")
    return "; ".join(parts)
