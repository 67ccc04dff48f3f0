"""A person by age: their age in each photo, their photos at an age, an age range per year.

The age in a photo is exact when the person has a date of birth and the photo a metadata
date (people/birthdays.py); else, when estimates are on (the `age_gender` setting), it is
the estimate of their face there (people/ages.py), always worded "about 30". Read-only
queries: the app calls them from read tasks, the CLI's `photos --with NAME --age 0-10`
prints them.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..library import Library
from ..people import ages, birthdays
from ..people.ages import FaceEstimate
from ..storage import store


@dataclass(frozen=True)
class FaceAge:
    """One face of a person, with what is known of their age in that photo."""

    face_id: int
    photo_id: int
    photo_path: str
    taken_at: str | None
    exact: tuple[int, int] | None  # (years, months) from the date of birth
    estimate: FaceEstimate | None  # None: not estimated yet, or estimates are off

    @property
    def words(self) -> str:
        """'4 years, 2 months' from the date of birth, else ''."""
        return birthdays.age_words(self.exact)

    @property
    def years(self) -> float | None:
        """The age used to browse: exact when known, else the estimate, else None."""
        if self.exact is not None:
            return birthdays.exact_years(self.exact)
        return self.estimate.age if self.estimate is not None else None

    @property
    def shown(self) -> str:
        """What a listing shows: '4 years, 2 months', 'about 30', or ''."""
        return self.words or (self.estimate.about if self.estimate is not None else "")

    @property
    def phrase(self) -> str:
        """A sentence's worth, estimates said to be ones: '4 years, 2 months old; looks
        female (an estimate)', 'looks about 30, male (estimates)', or ''."""
        e = self.estimate
        gender = e.gender if e is not None else None
        if self.words:
            return f"{self.words} old" + (f"; looks {gender} (an estimate)" if gender else "")
        age = e.about if e is not None and e.age is not None else ""
        if age and gender:
            return f"looks {age}, {gender} (estimates)"
        return f"looks {age or gender} (an estimate)" if age or gender else ""

    @property
    def far(self) -> bool:
        """The estimate is far from the exact age: worth a question (questions.py)."""
        return self.estimate is not None and birthdays.far_from(
            self.estimate.age, birthdays.exact_years(self.exact))

    def to_json(self) -> dict:
        return {"face_id": self.face_id, "photo_id": self.photo_id,
                "photo": self.photo_path, "taken_at": self.taken_at,
                "age": None if self.exact is None else
                {"years": self.exact[0], "months": self.exact[1], "source": "date of birth"},
                "estimate": None if self.estimate is None else self.estimate.to_json()}


_SELECT = ("SELECT f.id, f.photo_id, p.path, p.taken_at, p.taken_at_source, pe.birth_date "
           "FROM faces f JOIN photos p ON p.id = f.photo_id "
           "LEFT JOIN people pe ON pe.id = f.person_id ")


def _ages(library: Library, rows) -> list[FaceAge]:
    shown = ages.estimates(library.con, [r[0] for r in rows]) \
        if ages.enabled(library.settings) else {}
    return [FaceAge(face_id=r[0], photo_id=r[1], photo_path=store.fs_path(r[2]),
                    taken_at=r[3], exact=birthdays.age_at(r[5], r[3], r[4]),
                    estimate=shown.get(r[0])) for r in rows]


def ages_of(library: Library, person_id: int) -> list[FaceAge]:
    """Every face of the person (not ignored), by photo date, with its age there."""
    library.person(person_id)  # NotFoundError names the id
    return _ages(library, library.con.execute(
        _SELECT + "WHERE f.person_id = ? AND f.ignored = 0 "
        "ORDER BY p.taken_at IS NULL, p.taken_at, f.id", (person_id,)).fetchall())


def face_ages(library: Library, face_ids: Sequence[int]) -> dict[int, FaceAge]:
    """These faces' ages in their photos (their person's date of birth, else estimated)."""
    rows = store.in_chunks(library.con, _SELECT + "WHERE f.id IN ({})", list(face_ids))
    return {a.face_id: a for a in _ages(library, rows)}


def photos_at_age(library: Library, person_id: int, low: float, high: float) -> list[int]:
    """Ids of the photos where the person is `low` <= age < `high` years old (exact where
    the date of birth tells it, else estimated), in ages_of's order."""
    out: list[int] = []
    for a in ages_of(library, person_id):
        years = a.years
        if years is not None and low <= years < high and a.photo_id not in out:
            out.append(a.photo_id)
    return out


@dataclass(frozen=True)
class YearAges:
    """A calendar year of a person's photos and their age in them."""

    year: str  # 'YYYY'
    photos: int
    exact: tuple[int, int] | None  # lowest and highest whole years, from the date of birth
    estimated: tuple[float, float] | None  # lowest and highest estimate

    @property
    def words(self) -> str:
        """'4-5 years old', or 'about 30-34' from estimates, or ''."""
        if self.exact is not None:
            lo, hi = self.exact
            return f"{lo} years old" if lo == hi else f"{lo}-{hi} years old"
        if self.estimated is not None:
            lo, hi = (max(1, round(v)) for v in self.estimated)
            return f"about {lo}" if lo == hi else f"about {lo}-{hi}"
        return ""


def ages_by_year(library: Library, person_id: int,
                 faces: Sequence[FaceAge] | None = None) -> list[YearAges]:
    """One row per year of dated photos (oldest first): what the person's page shows."""
    years: dict[str, list[FaceAge]] = {}
    for a in faces if faces is not None else ages_of(library, person_id):
        if a.taken_at:
            years.setdefault(a.taken_at[:4], []).append(a)
    out = []
    for year, faces_in in sorted(years.items()):
        exact = [a.exact[0] for a in faces_in if a.exact is not None]
        est = [a.estimate.age for a in faces_in
               if a.estimate is not None and a.estimate.age is not None]
        out.append(YearAges(year=year, photos=len({a.photo_id for a in faces_in}),
                            exact=(min(exact), max(exact)) if exact else None,
                            estimated=(min(est), max(est)) if est else None))
    return out
