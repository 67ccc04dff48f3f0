"""Estimated ages and genders of faces, and people's birthdays: stored, read, searched.

An estimate is the model's guess (engine/agegender.py), never a fact: it is stored with the
model that made it (`face_estimates`, one row per face, age and gender each with a source)
and always shown as "about 30". A person's date of birth is the user's (people.birth_date);
with it, the age at each photo is exact when the photo's date comes from its metadata, and
there is none when the date is only the file's time (`taken_at_source = 'file'`).

Faces get their estimates from the scan's workers (scan/work.py) as arrays per photo
(`EstimateArrays`); faces that have none (a library scanned before estimates existed, a face
drawn by the user, a copy) get them from `fill`, a pass over the photos that have such faces,
without rescanning anything else. The setting `age_gender` (off: nothing is estimated,
shown, exported or searched by estimate) is checked by `enabled`.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from ..storage import store
from ..storage.errors import LibraryError
from ..storage.store import Transaction

log = logging.getLogger(__name__)

GENDERS = ("female", "male")
NO_GENDER = 255  # EstimateArrays.genders for a face the model gave no answer for
# A face is offered in Review instead of being joined to a person automatically when its
# estimated age is this far from the person's age at that photo: YEARS, or FRACTION of the
# true age when that is larger (a 40-year-old guessed 52 is not alarming; a 4-year-old
# guessed 16 is). The networks err by 4-6 years on adults (README: what is estimated).
FAR_YEARS = 12.0
FAR_FRACTION = 0.5
FILL_BATCH = 20  # photos estimated between two writes of the fill pass


def enabled(settings) -> bool:
    """The `age_gender` setting: False hides every estimate and stops estimating."""
    return bool(getattr(settings, "age_gender", True))


# -- what a worker sends -------------------------------------------------------------------
@dataclass
class EstimateArrays:
    """One photo's estimates, in the order of its faces: float32 arrays and one source."""
    ages: np.ndarray  # n, years (NaN: none)
    lows: np.ndarray  # n, the model's 10th-90th percentile span
    highs: np.ndarray
    genders: np.ndarray  # n uint8: 0 female, 1 male, NO_GENDER
    confidence: np.ndarray  # n, the model's probability of that gender
    source: str

    def __len__(self) -> int:
        return len(self.ages)

    @classmethod
    def of(cls, estimates: Sequence, source: str) -> EstimateArrays:
        f32 = np.float32
        return cls(np.array([e.age for e in estimates], f32),
                   np.array([e.age_low for e in estimates], f32),
                   np.array([e.age_high for e in estimates], f32),
                   np.array([GENDERS.index(e.gender) for e in estimates], np.uint8),
                   np.array([e.gender_confidence for e in estimates], f32), source)


def estimate_image(estimator, image, boxes: np.ndarray, landmarks: np.ndarray
                   ) -> EstimateArrays:
    """Estimates for faces given in original pixels (n x 4 boxes, n x 5 x 2 landmarks) of a
    decoded `LoadedImage` (its pixels may be reduced by `image.scale`)."""
    scale = float(getattr(image, "scale", 1.0) or 1.0)
    faces = [(np.asarray(b, np.float64) / scale, np.asarray(k, np.float64) / scale)
             for b, k in zip(boxes, landmarks)]
    return EstimateArrays.of(estimator.estimate(image.pixels, faces), estimator.source)


_estimators: dict[str, object] = {}
_lock = threading.Lock()


def estimator_for(pack: str):
    """The engine's estimator for a pack (one per process), or None when it cannot load:
    the scan goes on without estimates, the fill pass says why."""
    from ...engine.agegender import get_estimator  # noqa: PLC0415 - ONNX Runtime
    return get_estimator(pack)


# -- storing --------------------------------------------------------------------------------
def write(con, face_ids: Sequence[int], arrays: EstimateArrays, when: float | None = None
          ) -> None:
    """Store one estimate per face (replacing an older one), in the caller's transaction."""
    when = store.now() if when is None else when
    rows = []
    for i, face_id in enumerate(face_ids):
        age = float(arrays.ages[i])
        g = int(arrays.genders[i])
        has_age, has_gender = np.isfinite(age), g != NO_GENDER
        rows.append((int(face_id),
                     age if has_age else None,
                     float(arrays.lows[i]) if has_age else None,
                     float(arrays.highs[i]) if has_age else None,
                     arrays.source if has_age else None,
                     GENDERS[g] if has_gender else None,
                     float(arrays.confidence[i]) if has_gender else None,
                     arrays.source if has_gender else None, when))
    con.executemany(
        "INSERT OR REPLACE INTO face_estimates(face_id, age, age_low, age_high, age_source, "
        "gender, gender_confidence, gender_source, made_at) "
        "SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM faces WHERE id = ?)",
        [(*r, r[0]) for r in rows])


def write_none(con, face_ids: Sequence[int], when: float | None = None) -> None:
    """Faces the fill pass tried and could not estimate (their photo unreadable): marked so
    the pass does not retry them forever; a rescan that analyses the photo again estimates."""
    when = store.now() if when is None else when
    con.executemany("INSERT OR IGNORE INTO face_estimates(face_id, made_at) SELECT ?, ? "
                    "WHERE EXISTS (SELECT 1 FROM faces WHERE id = ?)",
                    [(int(f), when, int(f)) for f in face_ids])


@dataclass(frozen=True)
class FaceEstimate:
    face_id: int
    age: float | None
    age_low: float | None
    age_high: float | None
    age_source: str | None
    gender: str | None
    gender_confidence: float | None
    gender_source: str | None

    @property
    def about(self) -> str:
        """'about 30', or '' without an age."""
        return about(self.age)

    def to_json(self) -> dict:
        """The export's `age` and `gender`, each with its source (None when not estimated)."""
        age = None if self.age is None else {
            "estimate": round(self.age, 1), "low": round(self.age_low, 1),
            "high": round(self.age_high, 1), "source": self.age_source}
        gender = None if self.gender is None else {
            "estimate": self.gender, "confidence": round(self.gender_confidence, 3),
            "source": self.gender_source}
        return {"age": age, "gender": gender}


def estimates(con, face_ids: Sequence[int]) -> dict[int, FaceEstimate]:
    rows = store.in_chunks(con, "SELECT face_id, age, age_low, age_high, age_source, gender, "
                           "gender_confidence, gender_source FROM face_estimates "
                           "WHERE face_id IN ({})", list(face_ids))
    return {r[0]: FaceEstimate(*r) for r in rows}


def about(age: float | None) -> str:
    """An estimated age in words: never a fact. 'about 30'; a baby 'about 1' at least."""
    if age is None:
        return ""
    return f"about {max(1, int(round(age)))}"


# -- birthdays -----------------------------------------------------------------------------
def parse_birth_date(text: str) -> str:
    """'YYYY-MM-DD' checked (a real day, not in the future, not before 1850)."""
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError:
        raise LibraryError(f"{text!r} is not a date: give it as YYYY-MM-DD, e.g. 2019-04-23"
                           ) from None
    if day > dt.date.today():
        raise LibraryError(f"{day.isoformat()} is in the future")
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
    """The estimate disagrees with the known age (see FAR_YEARS): a question, not a join."""
    if estimated is None or true_years is None:
        return False
    return abs(estimated - true_years) > max(FAR_YEARS, FAR_FRACTION * true_years)


# -- the fill pass ---------------------------------------------------------------------------
def pending(con, limit: int | None = None) -> list[tuple[int, str, list[int]]]:
    """(photo id, path, face ids) of readable photos with faces that have no estimate row."""
    sql = ("SELECT p.id, p.path, f.id FROM faces f JOIN photos p ON p.id = f.photo_id "
           "LEFT JOIN face_estimates e ON e.face_id = f.id WHERE e.face_id IS NULL "
           "AND f.ignored = 0 AND p.offline = 0 AND p.missing_since IS NULL "
           "ORDER BY p.id, f.id")
    out: dict[int, tuple[int, str, list[int]]] = {}
    for photo_id, path, face_id in con.execute(sql):
        if photo_id not in out:
            if limit is not None and len(out) >= limit:
                break
            out[photo_id] = (photo_id, store.fs_path(path), [])
        out[photo_id][2].append(face_id)
    return list(out.values())


def count_pending(con) -> int:
    return con.execute("SELECT COUNT(*) FROM faces f LEFT JOIN face_estimates e ON "
                       "e.face_id = f.id WHERE e.face_id IS NULL AND f.ignored = 0"
                       ).fetchone()[0]


def estimate_photo(library, estimator, photo_id: int, path: str, face_ids: list[int]
                   ) -> EstimateArrays | None:
    """Decode one photo and estimate the given faces (a read step: no writes); None when
    the photo cannot be read now."""
    from ...engine import ImageError, load_image  # noqa: PLC0415
    rows = store.in_chunks(library.con, "SELECT id, x, y, w, h, landmarks FROM faces "
                           "WHERE id IN ({})", face_ids)
    by_id = {r[0]: r for r in rows}
    kept = [f for f in face_ids if f in by_id]
    if not kept:
        return None
    try:
        image = load_image(path)
    except (ImageError, OSError) as exc:
        log.info("no estimates for %s: %s", store.display_path(path), exc)
        return None
    boxes = np.array([by_id[f][1:5] for f in kept], np.float64)
    kps = np.stack([np.frombuffer(by_id[f][5], np.float32).reshape(5, 2) for f in kept])
    arrays = estimate_image(estimator, image, boxes, kps)
    arrays.face_ids = kept  # type: ignore[attr-defined] - which faces, for the writer
    return arrays


def fill(library, *, estimator=None, cancel: threading.Event | None = None,
         submit: Callable[[Callable], object] | None = None) -> Iterator[tuple[int, int]]:
    """Estimate every face that has no estimate yet; yields (photos done, photos total).

    Reads and decodes on the caller's thread; each batch is written by `submit(work)` (the
    app's writer: `work(library)`), or directly in a transaction of this library."""
    if not enabled(library.settings):
        return
    todo = pending(library.con)
    if not todo:
        return
    estimator = estimator or estimator_for(library.settings.pack)

    def write_batch(batch: list) -> None:
        def work(lib) -> None:
            with Transaction(lib.con):
                for face_ids, arrays in batch:
                    if arrays is None:
                        write_none(lib.con, face_ids)
                    else:
                        write(lib.con, arrays.face_ids, arrays)
        if submit is not None:
            submit(work)
        else:
            work(library)

    batch: list = []
    for done, (photo_id, path, face_ids) in enumerate(todo, 1):
        if cancel is not None and cancel.is_set():
            break
        batch.append((face_ids, estimate_photo(library, estimator, photo_id, path, face_ids)))
        if len(batch) >= FILL_BATCH:
            write_batch(batch)
            batch = []
        yield done, len(todo)
    if batch:
        write_batch(batch)
