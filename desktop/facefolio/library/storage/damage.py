"""A damaged database found while working (by `facefolio check`, or by a command that hit
"database disk image is malformed") leaves a note, `library.damaged`, in the folder: while it
is there the library opens read-only, so nothing more is written into a broken file."""
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
    from ..storage.privacy import write_private  # noqa: PLC0415

    try:
        write_private(library_dir / DAMAGE_NAME, json.dumps(
            {"reason": reason, "at": time.time()}).encode("utf-8"))
    except OSError:
        return False
    return True


def clear_damage(library_dir: Path) -> None:
    (library_dir / DAMAGE_NAME).unlink(missing_ok=True)
