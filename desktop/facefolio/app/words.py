"""How the app says things: counts with the right plural, dates, people, paths.

One place, so "1 face" / "2 faces", "Unnamed" and a date read the same on every page.
"""
from __future__ import annotations

import os
from datetime import datetime

from ..library.storage.store import display_path


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_IRREGULAR = {"person": "people", "is": "are", "this": "these", "was": "were", "has": "have"}


def plural(n: int, noun: str, many: str | None = None) -> str:
    """"1 face", "3 faces", "2 people"; `many` for a plural the table does not know."""
    if n == 1:
        return f"1 {noun}"
    return f"{n} {many or _IRREGULAR.get(noun) or noun + 's'}"


def noun(n: int, word: str) -> str:
    """Only the word, agreeing with n: noun(2, "face") == "faces"."""
    return word if n == 1 else _IRREGULAR.get(word, word + "s")


def parse_when(taken_at: str | None) -> datetime | None:
    if not taken_at:
        return None
    try:
        return datetime.fromisoformat(taken_at)
    except ValueError:
        return None


def day(taken_at: str | None, source: str | None = None) -> str:
    """"5 Aug 2019"; a date that is only the file's time is marked with "~" (a guess)."""
    when = parse_when(taken_at)
    if when is None:
        return ""
    text = f"{when.day} {_MONTHS[when.month - 1]} {when.year}"
    return f"~{text}" if source == "file" else text


def moment(taken_at: str | None, source: str | None = None) -> str:
    """"5 Aug 2019, 06:10", with where the date comes from when it is a guess."""
    when = parse_when(taken_at)
    if when is None:
        return "no date"
    text = f"{when.day} {_MONTHS[when.month - 1]} {when.year}, {when:%H:%M}"
    return f"{text} (file date: the photo has none of its own)" if source == "file" else text


def span(first: str | None, last: str | None) -> str:
    """A person's photos from first to last: "2017 – 2021", "May 2019", or ""."""
    a, b = parse_when(first), parse_when(last)
    if a is None or b is None:
        return ""
    if (a.year, a.month) == (b.year, b.month):
        return f"{_MONTHS[a.month - 1]} {a.year}"
    if a.year == b.year:
        return f"{_MONTHS[a.month - 1]} – {_MONTHS[b.month - 1]} {a.year}"
    return f"{_MONTHS[a.month - 1]} {a.year} – {_MONTHS[b.month - 1]} {b.year}"


def shown_path(path: str | os.PathLike) -> str:
    """A path fit for a Qt string, as a file manager shows it (the library's display_path,
    the one rule for the CLI too): "caf\\xe9.jpg" for Latin-1 bytes on a UTF-8 system, never
    a bare U+FFFD that hides which byte it was."""
    return display_path(path)


def file_name(path: str) -> str:
    # Split before escaping: an escape's backslash is not a Windows separator.
    return shown_path(os.path.basename(path))


def folder_name(path: str) -> str:
    return shown_path(os.path.basename(os.path.dirname(path)))


def folder_of(path: str) -> str:
    return shown_path(os.path.dirname(path))


def clock(ms: float | None) -> str:
    """A time in a video as players show it: '0:03', '12:40', '1:02:03'."""
    seconds = int(max(0.0, ms or 0.0) // 1000)
    h, m, sec = seconds // 3600, seconds // 60 % 60, seconds % 60
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"
