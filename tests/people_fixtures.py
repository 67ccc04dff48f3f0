"""Libraries for the people tests: scanned from the shared crops, or built from vectors.

Scanned ones go through the real Scanner (real embeddings); synthetic ones put chosen unit
vectors straight into a real library, for cases real crops cannot reach on demand (a stranger
who is just similar enough, a group of exactly this size).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np

from facefolio.library import Library, Scanner


def make_photos(datasets: Path, out: Path, people: list[str], crops: slice) -> Path:
    """Celebrity crops upscaled into photos the detector finds (see bench_people.py)."""
    for person in people:
        (out / person).mkdir(parents=True, exist_ok=True)
        for crop in sorted((datasets / "celebrity-dev" / person).iterdir())[crops]:
            image = cv2.resize(cv2.imread(str(crop)), None, fx=3, fy=3,
                               interpolation=cv2.INTER_CUBIC)
            image = cv2.copyMakeBorder(image, 60, 60, 60, 60, cv2.BORDER_CONSTANT,
                                       value=(127, 127, 127))
            cv2.imwrite(str(out / person / f"{crop.stem}.jpg"), image)
    return out


def twins_photo(datasets: Path, out: Path, person: str, crops: slice) -> Path:
    """One photo holding two different crops of one person side by side."""
    faces = []
    for crop in sorted((datasets / "celebrity-dev" / person).iterdir())[crops]:
        image = cv2.resize(cv2.imread(str(crop)), None, fx=3, fy=3,
                           interpolation=cv2.INTER_CUBIC)
        faces.append(cv2.copyMakeBorder(image, 60, 60, 60, 60, cv2.BORDER_CONSTANT,
                                        value=(127, 127, 127)))
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), np.hstack(faces))
    return out


def scan(lib: Library, folder: Path) -> None:
    lib.add_folder(folder)
    for _ in Scanner(lib).scan():
        pass


def scanned_template(datasets: Path, root: Path, people: list[str], crops: slice) -> Path:
    """A library of these people's crops, scanned and grouped; copy it per test."""
    photos = make_photos(datasets, root / "photos", people, crops)
    with Library(root / "template") as lib:
        scan(lib, photos)
    return root / "template"


def copy_library(template: Path, dest: Path) -> Library:
    shutil.copytree(template, dest)
    return Library(dest)


def label_of(lib: Library, people: list[str]) -> dict[int, str]:
    """face id -> person folder, for the faces of the celebrity photos."""
    return {f.id: Path(f.photo_path).parent.name for f in lib.faces()
            if Path(f.photo_path).parent.name in people}


def state(lib: Library) -> tuple:
    """Everything a people operation may change, for exact comparisons."""
    con = lib.con
    return ([tuple(r) for r in con.execute("SELECT * FROM people ORDER BY id")],
            [tuple(r) for r in con.execute("SELECT id, person_id, assigned_by, ignored "
                                           "FROM faces ORDER BY id")],
            [tuple(r) for r in con.execute("SELECT * FROM rejections ORDER BY 1, 2")],
            [tuple(r) for r in con.execute("SELECT person_a, person_b FROM not_same "
                                           "ORDER BY 1, 2")])


# -- synthetic -------------------------------------------------------------------------------

def identity(rng: np.random.Generator, centre: np.ndarray, count: int, r: float = 0.8
             ) -> np.ndarray:
    """`count` unit faces at cosine ~r from `centre` (unit), spread in random directions."""
    noise = rng.standard_normal((count, len(centre)))
    noise -= np.outer(noise @ centre, centre)
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    return (r * centre + np.sqrt(1 - r * r) * noise).astype(np.float32)


def near(rng: np.random.Generator, centre: np.ndarray, cosine: float) -> np.ndarray:
    """A unit vector at exactly this cosine from `centre`."""
    return identity(rng, centre, 1, cosine)[0]


def synthetic_library(path: Path, vectors: np.ndarray, photos: list[int] | None = None,
                      quality: list[float] | None = None) -> Library:
    """A real library whose faces (ids 1..n, one photo each unless `photos` says) carry these
    embeddings; nothing is grouped."""
    n = len(vectors)
    photos = photos if photos is not None else list(range(1, n + 1))
    quality = quality if quality is not None else [0.9] * n
    lib = Library(path)
    con = lib.con
    con.execute("BEGIN")
    con.execute("INSERT INTO folders(id, path, added_at) VALUES (1, '/synthetic', 0)")
    con.executemany("INSERT INTO photos(id, folder_id, path, size, mtime_ns, status, "
                    "scanned_at) VALUES (?, 1, ?, 0, 0, 'done', 0)",
                    [(p, f"/synthetic/{p}.jpg") for p in sorted(set(photos))])
    con.executemany("INSERT INTO faces(id, photo_id, x, y, w, h, landmarks, score, quality, "
                    "pack, embedding, created_at) VALUES (?, ?, 0, 0, 100, 100, x'', 1, ?, "
                    "'yunet-sface', ?, 0)",
                    [(i + 1, photos[i], quality[i], np.asarray(v, np.float32).tobytes())
                     for i, v in enumerate(vectors)])
    con.execute("COMMIT")
    return lib


def put(lib: Library, face_ids, person_id: int | None = None, name: str | None = None,
        how: str = "cluster") -> int:
    """Faces into a (new, unless given) person, as clustering or auto-assign would."""
    con = lib.con
    if person_id is None:
        person_id = con.execute("INSERT INTO people(name, hidden, created_at) VALUES (?, 0, 0)",
                                (name,)).lastrowid
    con.executemany("UPDATE faces SET person_id = ?, assigned_by = ? WHERE id = ?",
                    [(person_id, how, int(f)) for f in face_ids])
    con.execute("UPDATE people SET cover_face_id = ? WHERE id = ?",
                (int(list(face_ids)[0]), person_id))
    return person_id
