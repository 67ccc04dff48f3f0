"""The estimated age as a check on who a face is: a face whose estimate is far from the
person's age in that photo (birthdays.far_from: their date of birth and the photo's
metadata date) is not joined to them silently.

Automatic assignment (assign.py) skips such a face (it stays a suggestion the user sees);
a face that joined a person before its age was estimated (the age comes from the background
pass, after the scan's grouping) or by grouping is asked about in Review
(questions.QuestionKind.AGE) until the user says yes (it stays, confirmed) or no (it
leaves, remembered). Nothing is checked while estimates are off (the age_gender setting).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..storage import store
from . import ages, birthdays

if TYPE_CHECKING:
    from ..library import Library


@dataclass(frozen=True)
class AgeDoubt:
    """A face of a person whose estimated age disagrees with their age in that photo."""

    face_id: int
    person_id: int
    estimated: float  # years: the estimate
    known: tuple[int, int]  # (years, months): from the date of birth

    @property
    def words(self) -> str:
        """'looks about 41; was 6 years, 2 months then'."""
        return (f"looks {ages.about(self.estimated)}; was "
                f"{birthdays.age_words(self.known)} then")


_ROWS = """
    SELECT f.id, f.person_id, pe.birth_date, p.taken_at, p.taken_at_source, e.age
    FROM faces f JOIN people pe ON pe.id = f.person_id
    JOIN photos p ON p.id = f.photo_id JOIN face_estimates e ON e.face_id = f.id
    WHERE pe.birth_date IS NOT NULL AND f.ignored = 0 AND e.age IS NOT NULL
      AND p.taken_at_source = 'exif'
"""


def _doubt(row) -> AgeDoubt | None:
    face_id, person_id, birth, taken, source, age = row
    known = birthdays.age_at(birth, taken, source)
    if known is None or not birthdays.far_from(age, birthdays.exact_years(known)):
        return None
    return AgeDoubt(face_id, person_id, float(age), known)


def doubts(library: Library, person_id: int | None = None) -> list[AgeDoubt]:
    """Faces joined to a person by Facefolio (auto-assigned, grouped), not confirmed by the
    user, whose estimate is far from the person's age there; visible people only."""
    if not ages.enabled(library.settings):
        return []
    sql = _ROWS + (" AND pe.hidden = 0 AND (f.assigned_by IS NULL OR f.assigned_by IN "
                   "('auto', 'cluster'))")
    params: tuple = ()
    if person_id is not None:
        sql += " AND f.person_id = ?"
        params = (int(person_id),)
    found = (_doubt(r) for r in library.con.execute(sql + " ORDER BY f.id", params))
    return [d for d in found if d is not None]


def far_pairs(library: Library, pairs: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
    """Of (person, face) pairs, those where the face's estimate is far from the person's
    age in its photo: not to be joined without asking."""
    wanted = {(int(p), int(f)) for p, f in pairs}
    if not wanted or not ages.enabled(library.settings):
        return set()
    out: set[tuple[int, int]] = set()
    rows = store.in_chunks(
        library.con, "SELECT f.id, pe.id, pe.birth_date, p.taken_at, p.taken_at_source, "
        "e.age FROM faces f JOIN photos p ON p.id = f.photo_id "
        "JOIN face_estimates e ON e.face_id = f.id JOIN people pe ON pe.birth_date IS NOT "
        "NULL WHERE e.age IS NOT NULL AND f.id IN ({})", sorted({f for _, f in wanted}))
    for face_id, person_id, *rest in rows:
        if (person_id, face_id) in wanted and _doubt((face_id, person_id, *rest)):
            out.add((person_id, face_id))
    return out
