"""`facefolio check [--repair]`: is every file of the library what it should be?

Looked at: the database (SQLite quick_check, foreign keys), each index against the database
(library id, checksum, the faces it holds), the thumbnail cache against the faces (owner,
links, orphans), permissions (owner-only), and temp files left by saves that were cut short.
`--repair` rebuilds what is derived (indexes, thumbnails), deletes leftovers, tightens modes,
and for a damaged database salvages what SQLite can still read into a new one (the old file
is kept beside it as library.sqlite3.damaged-<time>), saying what was kept.

A damaged database found while working (by this check, or by a command that hit
"database disk image is malformed") leaves a note, `library.damaged`, in the folder: while it
is there the library opens read-only, so nothing more is written into a broken file.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

DAMAGE_NAME = "library.damaged"


def damage_note(library_dir: Path) -> str | None:
    """Why the library was found damaged, or None."""
    try:
        note = json.loads((library_dir / DAMAGE_NAME).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return "found damaged earlier"
    return str(note.get("reason", "found damaged earlier")) if isinstance(note, dict) \
        else "found damaged earlier"


def mark_damaged(library_dir: Path, reason: str) -> bool:
    """Stop writes to this library until a repair (or a check that finds it sound)."""
    from .privacy import write_private  # noqa: PLC0415

    try:
        write_private(library_dir / DAMAGE_NAME, json.dumps(
            {"reason": reason, "at": time.time()}).encode("utf-8"))
    except OSError:
        return False
    return True


def clear_damage(library_dir: Path) -> None:
    (library_dir / DAMAGE_NAME).unlink(missing_ok=True)
