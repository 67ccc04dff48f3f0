"""Estimated ages and genders of faces: made, stored, read.

An estimate is the model's guess (engine/agegender.py), never a fact: it is stored with the
model that made it (`face_estimates`, one row per face, age and gender each with a source)
and always shown as "about 30". People's dates of birth are in birthdays.py.

The scan's workers (scan/work.py) estimate the gender of each face they find (SCAN_TASKS:
what fits the scan's cost target) and send it as arrays per photo (`EstimateArrays`); the
age, five times dearer, comes from `fill`, a background pass over the photos whose faces
have none (also: libraries scanned before estimates existed, faces drawn by the user), which
decodes each photo again and runs the age network only. The setting `age_gender` (off:
nothing is estimated, shown, exported or searched by estimate) is checked by `enabled`.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from ..storage import store
from ..storage.store import Transaction

log = logging.getLogger(__name__)

GENDERS = ("female", "male")
NO_GENDER = 255  # EstimateArrays.genders for a face the model gave no answer for
# What the scan's workers estimate: the gender network costs 1-2 ms a face, the age network
# 5x that, over the scan's 5% budget (README: what is estimated; bench_scan_estimates.py).
SCAN_TASKS: tuple[str, ...] = ("gender",)
FILL_BATCH = 20  # photos estimated between two writes of the fill pass


def enabled(settings) -> bool:
    """The `age_gender` setting: False hides every estimate and stops estimating."""
    return bool(getattr(settings, "age_gender", True))


def scan_tasks(settings) -> tuple[str, ...]:
    """What the scan's workers estimate under these settings."""
    return SCAN_TASKS if enabled(settings) else ()


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
                   np.array([NO_GENDER if e.gender is None else GENDERS.index(e.gender)
                             for e in estimates], np.uint8),
                   np.array([e.gender_confidence for e in estimates], f32), source)


def estimate_image(estimator, image, boxes: np.ndarray, landmarks: np.ndarray,
                   tasks: tuple[str, ...] = ("age", "gender")) -> EstimateArrays:
    """Estimates for faces given in original pixels (n x 4 boxes, n x 5 x 2 landmarks) of a
    decoded `LoadedImage` (its pixels may be reduced by `image.scale`)."""
    scale = float(getattr(image, "scale", 1.0) or 1.0)
    faces = [(np.asarray(b, np.float64) / scale, np.asarray(k, np.float64) / scale)
             for b, k in zip(boxes, landmarks)]
    return EstimateArrays.of(estimator.estimate(image.pixels, faces, tasks),
                             estimator.source)


def estimator_for(pack: str, threads: int = 1):
    """The engine's estimator for a pack (one per process; ModelError when it cannot load)."""
    from ...engine.agegender import get_estimator  # noqa: PLC0415 - ONNX Runtime
    return get_estimator(pack, threads=threads)


# -- storing --------------------------------------------------------------------------------
def write(con, face_ids: Sequence[int], arrays: EstimateArrays, when: float | None = None
          ) -> None:
    """Store each face's estimates in the caller's transaction: what `arrays` holds replaces
    the older value, what it does not hold (NaN age, NO_GENDER) keeps it (the fill pass adds
    an age to the scan's gender)."""
    when = store.now() if when is None else when
    rows = []
    for i, face_id in enumerate(face_ids):
        age = float(arrays.ages[i])
        g = int(arrays.genders[i])
        has_age, has_gender = bool(np.isfinite(age)), g != NO_GENDER
        rows.append((int(face_id),
                     age if has_age else None,
                     float(arrays.lows[i]) if has_age else None,
                     float(arrays.highs[i]) if has_age else None,
                     arrays.source if has_age else None,
                     GENDERS[g] if has_gender else None,
                     float(arrays.confidence[i]) if has_gender else None,
                     arrays.source if has_gender else None, when, int(face_id)))
    con.executemany(
        "INSERT INTO face_estimates(face_id, age, age_low, age_high, age_source, gender, "
        "gender_confidence, gender_source, made_at) "
        "SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM faces WHERE id = ?) "
        "ON CONFLICT(face_id) DO UPDATE SET " + ", ".join(
            f"{c} = CASE WHEN excluded.{src} IS NULL THEN {c} ELSE excluded.{c} END"
            for c, src in (("age", "age_source"), ("age_low", "age_source"),
                           ("age_high", "age_source"), ("age_source", "age_source"),
                           ("gender", "gender_source"),
                           ("gender_confidence", "gender_source"),
                           ("gender_source", "gender_source")))
        + ", unreadable = 0, made_at = excluded.made_at", rows)


def copy_estimates(con, from_face: int, to_face: int) -> None:
    """A copy of a photo gets its faces' estimates too (the same pixels)."""
    con.execute("INSERT OR REPLACE INTO face_estimates(face_id, age, age_low, age_high, "
                "age_source, gender, gender_confidence, gender_source, unreadable, made_at) "
                "SELECT ?, age, age_low, age_high, age_source, gender, gender_confidence, "
                "gender_source, unreadable, made_at FROM face_estimates WHERE face_id = ?",
                (to_face, from_face))


def write_unreadable(con, face_ids: Sequence[int], when: float | None = None) -> None:
    """Faces the fill pass could not estimate (their photo unreadable now): marked so the
    pass does not retry them forever; a rescan that analyses the photo again clears it."""
    when = store.now() if when is None else when
    con.executemany("INSERT INTO face_estimates(face_id, unreadable, made_at) SELECT ?, 1, ? "
                    "WHERE EXISTS (SELECT 1 FROM faces WHERE id = ?) "
                    "ON CONFLICT(face_id) DO UPDATE SET unreadable = 1",
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
    """The estimates of these faces that have any, by face id."""
    rows = store.in_chunks(con, "SELECT face_id, age, age_low, age_high, age_source, gender, "
                           "gender_confidence, gender_source FROM face_estimates "
                           "WHERE face_id IN ({}) AND (age_source IS NOT NULL OR "
                           "gender_source IS NOT NULL)", list(face_ids))
    return {r[0]: FaceEstimate(*r) for r in rows}


def about(age: float | None) -> str:
    """An estimated age in words: never a fact. 'about 30'; a baby 'about 1' at least."""
    if age is None:
        return ""
    return f"about {max(1, int(round(age)))}"


# -- the fill pass ---------------------------------------------------------------------------
_PENDING = ("FROM faces f JOIN photos p ON p.id = f.photo_id "
            "LEFT JOIN face_estimates e ON e.face_id = f.id "
            "WHERE (e.face_id IS NULL OR (e.age_source IS NULL AND e.unreadable = 0)) "
            "AND f.ignored = 0 AND p.offline = 0 AND p.missing_since IS NULL")


@dataclass
class Pending:
    """One photo with faces that have no age yet (`genders`: some have no gender either)."""
    photo_id: int
    path: str
    face_ids: list[int]
    genders: bool = False


def pending(con, limit: int | None = None) -> list[Pending]:
    """The photos the fill pass has to read, by id."""
    out: dict[int, Pending] = {}
    for photo_id, path, face_id, gender in con.execute(
            f"SELECT p.id, p.path, f.id, e.gender_source {_PENDING} ORDER BY p.id, f.id"):
        if photo_id not in out:
            if limit is not None and len(out) >= limit:
                break
            out[photo_id] = Pending(photo_id, store.fs_path(path), [])
        out[photo_id].face_ids.append(face_id)
        out[photo_id].genders |= gender is None
    return list(out.values())


def count_pending(con) -> int:
    """Faces the fill pass would estimate."""
    return con.execute(f"SELECT COUNT(*) {_PENDING}").fetchone()[0]


def count_aged(con) -> int:
    """Faces that have an estimated age."""
    return con.execute("SELECT COUNT(*) FROM face_estimates WHERE age_source IS NOT NULL"
                       ).fetchone()[0]


def estimate_photo(con, estimator, todo: Pending) -> EstimateArrays | None:
    """Decode one photo and estimate what its faces lack (a read: no writes); None when
    the photo cannot be read now. `arrays.face_ids` says which faces, in order."""
    from ...engine import ImageError  # noqa: PLC0415
    from ...engine.video import load_still  # noqa: PLC0415 - a photo, or a video's frame
    rows = store.in_chunks(con, "SELECT id, x, y, w, h, landmarks, time_ms FROM faces "
                           "WHERE id IN ({})", todo.face_ids)
    by_id = {r[0]: r for r in rows}
    kept = [f for f in todo.face_ids if f in by_id]
    if not kept:
        return None
    # A video's faces come from frames of their own: one decode per frame (a photo: one).
    frames: dict[float | None, list[int]] = {}
    for f in kept:
        frames.setdefault(by_id[f][6], []).append(f)
    tasks = ("age", "gender") if todo.genders else ("age",)
    parts, order = [], []
    for time_ms, faces in frames.items():
        try:
            image = load_still(todo.path, time_ms)
        except (ImageError, OSError) as exc:
            log.info("no age estimates for %s: %s", store.display_path(todo.path), exc)
            return None
        boxes = np.array([by_id[f][1:5] for f in faces], np.float64)
        kps = np.stack([np.frombuffer(by_id[f][5], np.float32).reshape(5, 2) for f in faces])
        parts.append(estimate_image(estimator, image, boxes, kps, tasks))
        order += faces
    arrays = parts[0] if len(parts) == 1 else EstimateArrays(
        *(np.concatenate([getattr(a, name) for a in parts])
          for name in ("ages", "lows", "highs", "genders", "confidence")), parts[0].source)
    arrays.face_ids = order  # type: ignore[attr-defined]
    return arrays


def fill(library, *, estimator=None, cancel: threading.Event | None = None,
         submit: Callable[[Callable], object] | None = None) -> Iterator[tuple[int, int]]:
    """Estimate the age (and the gender where missing) of every face that has none yet;
    yields (photos done, photos total). Nothing when the setting is off.

    Reads and decodes on the caller's thread (its own connection: `library`); each batch of
    FILL_BATCH photos is written by `submit(work)` (the app's writer: `work(library)`, on its
    background lane so edits go first), or directly in a transaction of this library."""
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
                        write_unreadable(lib.con, face_ids)
                    else:
                        write(lib.con, arrays.face_ids, arrays)
        if submit is not None:
            submit(work)
        else:
            work(library)

    batch: list = []
    try:
        for done, item in enumerate(todo, 1):
            if cancel is not None and cancel.is_set():
                break
            batch.append((item.face_ids, estimate_photo(library.con, estimator, item)))
            if len(batch) >= FILL_BATCH:
                write_batch(batch)
                batch = []
            yield done, len(todo)
    finally:  # stopped (Ctrl+C, the generator closed) or done: what was estimated stays
        if batch:
            write_batch(batch)
