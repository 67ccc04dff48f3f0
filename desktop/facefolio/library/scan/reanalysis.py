"""What new detection settings or another model pack would do to the user's named faces,
said before the re-analysis runs (the app asks before saving such settings).

A re-analysis of an unchanged picture keeps every face the user decided about that the new
analysis does not find (write._carry): a "Not a face" always, names, "not this person"
and covers unless the user agreed, for exactly that setting, to let them go
(`agree_to_drop`). Faces of a named person that only grouping put there are not kept: they
are what this preview warns about.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..library import Library
from .narrow import floors, going
from .write import DROP_UNFOUND_KEY
from ..storage.settings import Settings
from ..storage.store import Transaction


@dataclass(frozen=True)
class PersonImpact:
    person_id: int
    name: str
    faces: int  # faces of this named person the new analysis may not find
    confirmed: int  # of them, faces the user confirmed (named, accepted) or covers: kept


@dataclass(frozen=True)
class ReanalysisImpact:
    photos: int  # photos the next scan analyses again
    new_pack: bool  # another pack: every face is detected again, none can be predicted
    people: tuple[PersonImpact, ...]
    # Of `photos`, those whose files must be read again; the others are narrowed (a stricter
    # setting of the same pack: their weaker faces go without decoding, narrow.py).
    reread: int = 0
    # What narrowing removes (faces, and the photos they are in) when decided faces stay.
    narrowed_faces: int = 0
    narrowed_photos: int = 0

    @property
    def faces(self) -> int:
        return sum(p.faces for p in self.people)

    @property
    def confirmed(self) -> int:
        return sum(p.confirmed for p in self.people)


def impact(library: Library, settings: Settings) -> ReanalysisImpact:
    """Named people's faces that a re-analysis under `settings` may drop, by person.

    Same pack: a face is at risk when its detection score is under the new threshold or its
    smaller side under the new minimum (what the detector filters on). Another pack: every
    face is found again or not, so every named face is counted."""
    key = settings.analysis_key()
    con = library.con
    keys = con.execute("SELECT analysis, COUNT(*) FROM photos WHERE status = 'done' AND "
                       "(analysis IS NULL OR analysis != ?) GROUP BY analysis", (key,)).fetchall()
    photos = sum(n for _, n in keys)
    reread = sum(n for old, n in keys if floors(old, key) is None)
    new_pack = settings.pack != library.settings.pack
    risk = "1" if new_pack else "(f.score < :thr OR MIN(f.w, f.h) < :min_face)"
    rows = con.execute(f"""
        SELECT pe.id, pe.name, COUNT(*) AS n,
               SUM(f.assigned_by IN ('user', 'suggestion') OR f.id = pe.cover_face_id) AS confirmed
        FROM faces f JOIN photos p ON p.id = f.photo_id JOIN people pe ON pe.id = f.person_id
        WHERE pe.name IS NOT NULL AND f.ignored = 0 AND f.source != 'user'
          AND p.status = 'done' AND (p.analysis IS NULL OR p.analysis != :key) AND {risk}
        GROUP BY pe.id ORDER BY n DESC, pe.name""",
                       {"key": key, "thr": float(settings.det_threshold),
                        "min_face": float(settings.min_face)}).fetchall()
    people = tuple(PersonImpact(r[0], r[1], int(r[2]), int(r[3] or 0)) for r in rows)
    gone, gone_photos = going(con, key)
    return ReanalysisImpact(int(photos), new_pack, people, int(reread), gone, gone_photos)


def agree_to_drop(library: Library, settings: Settings | None) -> None:
    """The user's answer for the re-analysis into `settings`: let it drop the confirmed faces
    it does not find (a Settings), or keep them (None, the default)."""
    with Transaction(library.con):
        if settings is None:
            library.con.execute("DELETE FROM meta WHERE key = ?", (DROP_UNFOUND_KEY,))
        else:
            library.con.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                                (DROP_UNFOUND_KEY, settings.analysis_key()))
