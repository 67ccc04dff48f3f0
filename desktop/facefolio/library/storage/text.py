"""Text that crosses the library's boundary: names typed or read from files, and what is
printed or exported.

- Names typed by the user (CLI, app) with a control character (ESC, newline, tab, ...) or a
  bidirectional override (U+202E and its kin) are refused with a message; the same characters
  are stripped from names read from files (XMP sidecars). A name is at most NAME_MAX
  characters: refused when typed, cut when read (a 50 MB region name is not stored whole).
- Whatever is printed to a terminal (names, paths) has those characters escaped (`shown`),
  so a file name cannot move the cursor, recolour the terminal, reorder a line or break the
  one-result-per-line output; `--json` is the exact, safe interface.
- A CSV cell that a spreadsheet would run as a formula (starting with = + - @, tab or CR) is
  prefixed with a single quote, as OWASP recommends for CSV injection (`csv_cell`).
"""
from __future__ import annotations

import re
import unicodedata

from .errors import LibraryError

NAME_MAX = 200  # characters: longer than any real name, short enough for every view

# Bidirectional formatting characters (Unicode's Bidi_Control): embeddings, overrides,
# isolates and marks. They reorder what follows them on screen.
_BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Terminal escape sequences (CSI "ESC [ ... letter", OSC "ESC ] ... BEL or ESC \\", and the
# two-character ones): dropped whole from names read from files, not just their ESC.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b.?"
                      r"|\x9b[0-?]*[ -/]*[@-~]")


def unsafe(ch: str) -> bool:
    """A control character (C0, DEL, C1), a line or paragraph separator, or a bidi control."""
    return ch in _BIDI or unicodedata.category(ch) in ("Cc", "Zl", "Zp")


def check_name(name: str | None) -> str:
    """A name typed by the user, cleaned of extra spaces; LibraryError when it is empty, too
    long or holds characters a name cannot hold."""
    bad = sorted({ch for ch in (name or "") if unsafe(ch)})
    if bad:
        listed = ", ".join(f"U+{ord(ch):04X}" for ch in bad[:4])
        raise LibraryError(f"a name cannot hold control or text-direction characters "
                           f"({listed})")
    clean = " ".join((name or "").split())
    if not clean:
        raise LibraryError("a person's name cannot be empty")
    if len(clean) > NAME_MAX:
        raise LibraryError(f"a name can be at most {NAME_MAX} characters "
                           f"(this one has {len(clean)})")
    return clean


def clean_name(name: object) -> str:
    """A name read from a file: unsafe characters dropped, spaces collapsed, at most NAME_MAX
    characters ("" when nothing is left)."""
    text = _ESCAPES.sub(" ", str(name)[:NAME_MAX * 4])  # never work through a huge value
    text = "".join(" " if unsafe(ch) else ch for ch in text)
    return " ".join(text.split())[:NAME_MAX].strip()


# What `shown` escapes, as one class: `unsafe` (Cc is U+0000-001F and U+007F-009F, Zl and Zp
# are U+2028 and U+2029, and the bidi controls), plus lone surrogates (undecodable bytes).
_SHOWN = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029" + "".join(sorted(_BIDI))
                    + "\ud800-\udfff]")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    if 0xD800 <= code <= 0xDFFF:  # an undecodable byte (surrogateescape)
        return "\ufffd"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def shown(text: object) -> str:
    """Text fit for a terminal line: unsafe characters as visible escapes (\\x1b, \\u202e).
    One regular expression, not a loop per character: views call it for every tile."""
    return _SHOWN.sub(_escape, str(text))


def csv_cell(value: object) -> object:
    """A value for a CSV export that no spreadsheet runs as a formula (OWASP: prefix a
    single quote to cells starting with = + - @ tab or CR). Numbers pass unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
