"""Browsing photos: by date, by the people in them ("Anna and Ben together"), in the order
people read file names (img2 before img10).

Read-only queries over the library; the app calls them from read tasks, the CLI's `photos`
command prints them. Dates are the photos' `taken_at` (ISO 8601, from EXIF, else the file's
time with `taken_at_source` 'file'); photos without one sort after every dated photo.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..library import Library
from ..reads import gone_photos_where
from ..storage import store
from ..storage.errors import LibraryError, NotFoundError
from ..storage.records import PhotoRecord

ORDERS = ("newest", "oldest", "name")
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
_DIGITS = re.compile(r"(\d+)")


@dataclass(frozen=True)
class PersonTag:
    """A person seen in a photo."""

    person_id: int
    name: str | None

    def to_json(self) -> dict:
        return {"person_id": self.person_id, "person_name": self.name}


@dataclass(frozen=True)
class DatedPhoto:
    """A photo with the people in it, for listings that show both."""

    photo: PhotoRecord
    people: tuple[PersonTag, ...]

    def to_json(self) -> dict:
        p = self.photo
        return {"photo_id": p.id, "photo": p.path, "taken_at": p.taken_at,
                "people": [t.to_json() for t in self.people],
                # A video (its length in seconds; null for a photo).
                "video": p.is_video,
                "duration_s": round(p.duration_ms / 1000, 3)
                if p.is_video and p.duration_ms is not None else None}


def natural_key(text: str) -> tuple:
    """Sort key that reads runs of digits as numbers and ignores case: img2 < img10."""
    parts = _DIGITS.split(text.casefold())
    # Alternate (0, text) and (1, number) so str and int are never compared with each other.
    return tuple((1, int(p)) if i % 2 else (0, p) for i, p in enumerate(parts))


def check_date(text: str | None, what: str = "date") -> str | None:
    """A YYYY, YYYY-MM or YYYY-MM-DD bound, or a clear one-line error."""
    if text is None:
        return None
    clean = text.strip()
    if not _DATE.match(clean):
        raise LibraryError(f"{what} {text!r} is not a date: use YYYY, YYYY-MM or YYYY-MM-DD")
    return clean


def sort_photos(photos: Iterable[PhotoRecord], order: str = "newest") -> list[PhotoRecord]:
    """Newest or oldest first (undated last, then by name), or by name alone."""
    if order not in ORDERS:
        raise LibraryError(f"unknown order {order!r} (use {', '.join(ORDERS)})")
    by_name = sorted(photos, key=lambda p: natural_key(p.path))
    if order == "name":
        return by_name
    dated = [p for p in by_name if p.taken_at]
    undated = [p for p in by_name if not p.taken_at]
    # sort() is stable, reverse=True included: photos of one instant keep their name order.
    dated.sort(key=lambda p: p.taken_at, reverse=order == "newest")
    return dated + undated


def photos(library: Library, *, with_people: Sequence[int] = (), order: str = "newest",
           since: str | None = None, until: str | None = None) -> list[PhotoRecord]:
    """Scanned photos (offline and missing ones included: they are marked), optionally only
    those where every person of `with_people` appears, within [since, until] (inclusive,
    each YYYY, YYYY-MM or YYYY-MM-DD; an undated photo is outside any range)."""
    since, until = check_date(since, "--since"), check_date(until, "--until")
    wanted = list(dict.fromkeys(int(p) for p in with_people))
    for pid in wanted:
        library.person(pid)  # NotFoundError names the id
    clauses, params = ["ph.status = 'done'"], []
    if wanted:
        # Ignored faces ("not a face") are no evidence that someone is in the photo.
        clauses.append(f"""ph.id IN (
            SELECT f.photo_id FROM faces f
            WHERE f.ignored = 0 AND f.person_id IN ({','.join('?' * len(wanted))})
            GROUP BY f.photo_id HAVING COUNT(DISTINCT f.person_id) = ?)""")
        params += [*wanted, len(wanted)]
    if since:
        clauses.append("substr(ph.taken_at, 1, ?) >= ?")
        params += [len(since), since]
    if until:
        clauses.append("substr(ph.taken_at, 1, ?) <= ?")
        params += [len(until), until]
    found = library._photos("WHERE " + " AND ".join(clauses), tuple(params))
    return sort_photos(found, order)


def people_in(library: Library, photo_ids: Sequence[int]) -> dict[int, tuple[PersonTag, ...]]:
    """The people in each photo (named first, then by id), ignored faces left out."""
    rows = store.in_chunks(library.con, """
        SELECT DISTINCT f.photo_id, pe.id, pe.name FROM faces f JOIN people pe
            ON pe.id = f.person_id
        WHERE f.ignored = 0 AND f.photo_id IN ({})""", list(photo_ids))
    out: dict[int, list[PersonTag]] = {}
    for photo_id, pid, name in rows:
        out.setdefault(photo_id, []).append(PersonTag(pid, name))
    return {k: tuple(sorted(v, key=lambda t: (t.name is None, (t.name or "").casefold(),
                                              t.person_id)))
            for k, v in out.items()}


def dated_photos(library: Library, **kwargs) -> list[DatedPhoto]:
    """`photos(...)` with the people in each (what `facefolio photos` prints)."""
    found = photos(library, **kwargs)
    people = people_in(library, [p.id for p in found])
    return [DatedPhoto(p, people.get(p.id, ())) for p in found]


def person_span(library: Library, person_id: int) -> tuple[str | None, str | None]:
    """The dates of a person's first and last dated photos (None, None when undated)."""
    library.person(person_id)
    row = library.con.execute("""
        SELECT MIN(ph.taken_at), MAX(ph.taken_at) FROM faces f
        JOIN photos ph ON ph.id = f.photo_id
        WHERE f.person_id = ? AND f.ignored = 0 AND ph.taken_at IS NOT NULL""",
                              (int(person_id),)).fetchone()
    return row[0], row[1]


@dataclass(frozen=True)
class PhotoState:
    """What a face tile or a viewer shows about the photo a face is in."""

    taken_at: str | None
    taken_at_source: str | None  # 'exif', or 'file' when the date is the file's time
    offline: bool  # its drive or folder cannot be read now: kept, not shown
    missing: bool  # its folder was read and the file is gone


def photo_states(library: Library, photo_ids: Sequence[int]) -> dict[int, PhotoState]:
    rows = store.in_chunks(library.con, """
        SELECT id, taken_at, taken_at_source, offline, missing_since FROM photos
        WHERE id IN ({})""", list(dict.fromkeys(photo_ids)))
    return {r[0]: PhotoState(r[1], r[2], bool(r[3]), r[4] is not None) for r in rows}


def year_starts(taken: Sequence[str | None]) -> list[tuple[str, int]]:
    """(label, first row) of each year in a list already sorted by date: the scrubber's
    marks. Undated rows, at the end, get the label "No date"."""
    marks: list[tuple[str, int]] = []
    for row, when in enumerate(taken):
        label = when[:4] if when else "No date"
        if not marks or marks[-1][0] != label:
            marks.append((label, row))
    return marks


def find_person(library: Library, text: str) -> int:
    """A person id from an id or a (case-insensitive, unique) name, for filters and the CLI."""
    clean = text.strip()
    if clean.isdigit():
        return library.person(int(clean)).id
    matches = [p for p in library.people() if p.name and p.name.casefold() == clean.casefold()]
    if not matches:
        raise NotFoundError(f"no person called {clean!r}")
    if len(matches) > 1:
        ids = ", ".join(str(p.id) for p in matches)
        raise LibraryError(f"{len(matches)} people are called {clean!r} (ids {ids}): "
                           "give an id")
    return matches[0].id


@dataclass(frozen=True)
class MissingSummary:
    """What "Remove missing photos" would take away, so the question can say it."""

    photos: int
    faces: int
    named_faces: int
    names: tuple[str, ...]  # the people who lose a face, by name


def missing_summary(library: Library, folder_id: int | None = None) -> MissingSummary:
    """Photos whose file is gone from a folder that was read (not offline ones)."""
    where = gone_photos_where("ph.")
    params: tuple = ()
    if folder_id is not None:
        where += " AND ph.folder_id = ?"
        params = (int(folder_id),)
    photos = library.con.execute(f"SELECT COUNT(*) FROM photos ph WHERE {where}",
                                 params).fetchone()[0]
    faces, named = library.con.execute(f"""
        SELECT COUNT(f.id), COUNT(pe.name) FROM photos ph JOIN faces f ON f.photo_id = ph.id
        LEFT JOIN people pe ON pe.id = f.person_id WHERE {where}""", params).fetchone()
    names = [r[0] for r in library.con.execute(f"""
        SELECT DISTINCT pe.name FROM photos ph JOIN faces f ON f.photo_id = ph.id
        JOIN people pe ON pe.id = f.person_id WHERE pe.name IS NOT NULL AND {where}
        ORDER BY lower(pe.name)""", params)]
    return MissingSummary(photos, faces, named, tuple(names))
