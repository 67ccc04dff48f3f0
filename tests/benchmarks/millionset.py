#!/usr/bin/env python
"""A library as a family archive grows it: N faces (1M by default), written with SQL.

Shape (issue 20), for N faces:
- N * 0.3 photos (300k at 1M), 1 + Poisson(2.33) faces each, capped at 10 (3.3 on average);
- N / 20 people sized by a Zipf law (searchset.owners, zipf 1: at 1M the first has ~88k faces,
  at 200k ~20k), embeddings from searchset's model fitted to real SFace faces;
- the 2,000 biggest people named; every other person with 3 or more faces an unnamed group;
- 30% of the faces in no person (the rest of the smallest people's faces, then random faces
  of everyone): what a scan leaves for clustering;
- named people's faces mostly 'cluster' (grouped, then the group named), 10% 'user'; quality
  uniform in [0.5, 1.0) (so the quality floor matters); photos dated over 20 years.

Embeddings are drawn and written with numpy in blocks of 100k (one executemany per block).
The database is built once per (N, seed, VERSION) under $FACEFOLIO_BENCH_CACHE (default
$TMPDIR/facefolio-bench-million) as `lib-<N>-<seed>/`, then its index is built by opening
it (that time is the "rebuild of a lost index" figure, kept in build.json). Runs work on a
copy (`working_copy`): edits, clustering and new photos never change the cached one.

    python tests/benchmarks/millionset.py --faces 200000   # build (or show) the cached set
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from searchset import DIM, FaceModel, fitted_model, owners  # noqa: E402

VERSION = "m1"  # bump when the shape changes, so caches are rebuilt
CACHE = Path(os.environ.get("FACEFOLIO_BENCH_CACHE")
             or Path(tempfile.gettempdir()) / "facefolio-bench-million")
NAMED = 2000
UNASSIGNED = 0.30
BLOCK = 100_000


def log(msg: str) -> None:
    print(f"[millionset] {msg}", file=sys.stderr, flush=True)


def library_dir(n: int, seed: int) -> Path:
    return CACHE / f"lib-{VERSION}-{n}-{seed}"


class People:
    """The true people of the set (for drawing new faces of them later)."""

    def __init__(self, model: FaceModel, n: int, seed: int) -> None:
        self.model = model
        self.rng = np.random.default_rng(seed)
        self.n_people = max(1, n // 20)
        self.owner = owners(n, self.n_people, 1.0, self.rng)
        self.centres, self.scales = model.people(self.rng.standard_normal((self.n_people, DIM)),
                                                 self.rng.standard_normal(self.n_people))

    def faces(self, who: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self.model.faces(self.centres[who], self.scales[who],
                                rng.standard_normal((len(who), DIM)),
                                rng.standard_normal(len(who)))


def build(path: Path, n: int, seed: int) -> dict:
    """Write the database of the set into `path` (which must not exist); no index."""
    from facefolio.library import Library  # noqa: PLC0415

    model = fitted_model()[0]
    truth = People(model, n, seed)
    rng = np.random.default_rng(seed + 1)
    owner = truth.owner
    counts = np.bincount(owner, minlength=truth.n_people)
    by_size = np.argsort(-counts, kind="stable")
    named = np.zeros(truth.n_people, bool)
    named[by_size[:NAMED]] = True
    grouped = counts >= 3
    # Unassigned: faces of people too small to group, then random faces up to the share.
    free = ~grouped[owner]
    extra = max(0.0, UNASSIGNED - free.mean()) / max(1e-9, 1 - free.mean())
    free |= rng.random(n) < extra
    # A person (people row) for every true person that still has an assigned face.
    kept = np.bincount(owner[~free], minlength=truth.n_people) > 0
    person_id = np.zeros(truth.n_people, np.int64)
    person_id[kept] = np.arange(1, int(kept.sum()) + 1)
    sizes = np.minimum(1 + rng.poisson(2.33, size=n), 10)
    photo_of = np.repeat(np.arange(n), sizes)[:n]
    n_photos = int(photo_of[-1]) + 1
    t0 = time.perf_counter()
    with Library(path) as lib:
        pack, analysis = lib.settings.pack, lib.analysis_key()
        con, now = lib.con, time.time()
        con.execute("BEGIN IMMEDIATE")
        con.execute("INSERT INTO folders(id, path, added_at, last_scan_at) "
                    "VALUES (1, '/bench/photos', ?, ?)", (now, now))
        con.executemany(
            "INSERT INTO people(id, name, hidden, created_at) VALUES (?, ?, 0, ?)",
            ((int(person_id[p]), f"Person {int(person_id[p])}" if named[p] else None, now)
             for p in np.flatnonzero(kept)))
        base = np.datetime64("2005-01-01T00:00:00")
        taken = base + (rng.random(n_photos) * 20 * 365.25 * 86400).astype("timedelta64[s]")
        taken_text = np.datetime_as_string(taken, unit="s")
        con.executemany(
            "INSERT INTO photos(id, folder_id, path, size, mtime_ns, width, height, taken_at, "
            "taken_at_source, date_source, status, pack, analysis, scanned_at) VALUES "
            "(?, 1, ?, 3000000, 0, 4000, 3000, ?, 'exif', 'EXIF', 'done', ?, ?, ?)",
            ((i + 1, f"/bench/photos/{i // 1000:04d}/IMG_{i:07d}.jpg", str(taken_text[i]),
              pack, analysis, now) for i in range(n_photos)))
        landmarks = np.zeros((5, 2), np.float32).tobytes()
        quality = rng.uniform(0.5, 1.0, size=n)
        user = rng.random(n) < 0.1
        for start in range(0, n, BLOCK):
            stop = min(n, start + BLOCK)
            emb = truth.faces(owner[start:stop], rng)
            pid = np.where(free[start:stop], 0, person_id[owner[start:stop]])
            how = np.where(pid == 0, None,
                           np.where(named[owner[start:stop]] & user[start:stop], "user",
                                    "cluster"))
            con.executemany(
                "INSERT INTO faces(id, photo_id, x, y, w, h, landmarks, score, quality, pack, "
                "embedding, person_id, assigned_by, created_at) VALUES "
                "(?, ?, 100, 100, 200, 200, ?, 0.9, ?, ?, ?, ?, ?, ?)",
                ((start + j + 1, int(photo_of[start + j]) + 1, landmarks,
                  float(quality[start + j]), pack, emb[j].tobytes(),
                  int(pid[j]) or None, how[j], now) for j in range(stop - start)))
            log(f"  {stop}/{n} faces written")
        con.execute("UPDATE people SET cover_face_id = (SELECT f.id FROM faces f WHERE "
                    "f.person_id = people.id ORDER BY f.quality DESC, f.id LIMIT 1)")
        con.execute("COMMIT")
    assigned_counts = np.bincount(owner[~free], minlength=truth.n_people)
    return {"faces": n, "photos": n_photos, "people": int(kept.sum()),
            "named": int((named & kept).sum()), "unassigned_faces": int(free.sum()),
            "largest_person_faces": int(assigned_counts.max()),
            "db_seconds": round(time.perf_counter() - t0, 1)}


def ensure(n: int, seed: int = 0) -> tuple[Path, dict]:
    """The cached set (built on first use, index included) and its build figures."""
    path = library_dir(n, seed)
    meta = path.parent / f"{path.name}.json"
    if meta.exists() and path.exists():
        return path, json.loads(meta.read_text())
    if path.exists():
        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    log(f"building {n} faces in {path}")
    info = build(path, n, seed)
    log(f"database written in {info['db_seconds']} s; building the index")
    from facefolio.library import Library  # noqa: PLC0415
    t0 = time.perf_counter()
    with Library(path) as lib:
        index = lib.index()
        info["index_faces"] = len(index)
    info["index_rebuild_seconds"] = round(time.perf_counter() - t0, 1)
    log(f"index of {info['index_faces']} faces built and saved in "
        f"{info['index_rebuild_seconds']} s")
    meta.write_text(json.dumps(info))
    return path, info


def working_copy(source: Path, into: Path) -> Path:
    """A copy of the cached library folder that a run may change."""
    target = into / "library"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
    return target


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--faces", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    print(json.dumps(ensure(args.faces, args.seed)[1]))
