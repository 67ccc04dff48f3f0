"""People's dates of birth, and the age in each photo that follows from one.

A date of birth is the user's (people.birth_date, 'YYYY-MM-DD'), set and removed as a logged,
undoable edit (People.set_birth_date). With it the age in a photo is exact when the photo's
date comes from its metadata (taken_at_source 'exif': EXIF, XMP, IPTC, QuickTime), and there
is none when the date is only the file's time: a copied or downloaded file's mtime says when
it was copied, not when it was taken.

The estimated age (ages.py) is then a check: a face whose estimate is far from the person's
age at that photo (`far_from`) is asked about in Review (questions.py) rather than joined to
the person silently.
"""
from __future__ import annotations

import datetime as dt

from ..storage.errors import LibraryError

# An estimate is "far" from the known age when it is off by more than YEARS, or by more than
# FRACTION of the true age when that is larger: a 4-year-old guessed 16 is worth a question, a
# 40-year-old guessed 52 is not, nor a 55-year-old guessed 38 (the age network does that: one
# of Barack Obama's 2017 portraits in tests/test_age_check.py).
FAR_YEARS = 10.0
FAR_FRACTION = 0.5


def parse_birth_date(text: str) -> str:
    """'YYYY-MM-DD' checked (a real day, not in the future, not before 1850); else a
    LibraryError of one line saying what to type."""
    try:
        day = dt.date.fromisoformat(str(text).strip())
        if len(str(text).strip()) != 10:
            raise ValueError(text)  # 20190423 parses too: ask for the one spelling shown
    except ValueError:
        raise LibraryError(f"{str(text)!r} is not a date: give it as YYYY-MM-DD, e.g. "
                           "2019-04-23") from None
    if day > dt.date.today():
        raise LibraryError(f"{day.isoformat()} is in the future: a date of birth is a day "
                           "that has been")
    if day.year < 1850:
        raise LibraryError(f"{day.isoformat()} is too long ago for a photo library")
    return day.isoformat()


def age_at(birth: str | None, taken_at: str | None, taken_source: str | None
           ) -> tuple[int, int] | None:
    """(years, months) of a person born on `birth` in a photo taken at `taken_at`, when that
    date comes from the photo's metadata; None when it is only the file's time, unknown, or
    before the birth."""
    if not birth or not taken_at or taken_source != "exif":
        return None
    try:
        born = dt.date.fromisoformat(birth)
        taken = dt.date.fromisoformat(taken_at[:10])
    except ValueError:
        return None
    if taken < born:
        return None
    months = (taken.year - born.year) * 12 + taken.month - born.month
    if taken.day < born.day:
        months -= 1
    return months // 12, months % 12


def age_words(age: tuple[int, int] | None) -> str:
    """'4 years, 2 months', '1 year', '3 months', 'under a month'; '' for None."""
    if age is None:
        return ""
    years, months = age
    parts = [f"{years} year{'s' if years != 1 else ''}"] if years else []
    if months or not years:
        parts.append(f"{months} month{'s' if months != 1 else ''}" if months
                     else "under a month")
    return ", ".join(parts)


def exact_years(age: tuple[int, int] | None) -> float | None:
    return None if age is None else age[0] + age[1] / 12


def far_from(estimated: float | None, true_years: float | None) -> bool:
    """The estimate disagrees with the known age (FAR_YEARS): a question, not a join."""
    if estimated is None or true_years is None:
        return False
    return abs(estimated - true_years) > max(FAR_YEARS, FAR_FRACTION * true_years)


def parse_age_range(text: str) -> tuple[float, float]:
    """'0-10' (from 0 up to, not including, 11), '30' (that year of age), '40-' (40 on):
    whole years of age, for `photos --age`."""
    raw = str(text).strip()
    low, dash, high = raw.partition("-")
    try:
        lo = int(low) if low.strip() else 0
        hi = (int(high) if high.strip() else 200) if dash else lo
    except ValueError:
        raise LibraryError(f"{raw!r} is not an age range: give it as 0-10, 30 or 40-"
                           ) from None
    if lo < 0 or hi < lo:
        raise LibraryError(f"{raw!r} is not an age range: the first age must be 0 or more "
                           "and not above the second")
    return float(lo), float(hi + 1)  # ages in [lo, hi + 1): 10 years and 11 months is 10
