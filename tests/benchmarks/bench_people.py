"""Clustering quality and cost; prints ONE JSON line.

    python tests/benchmarks/bench_people.py [--quick]
    python tests/benchmarks/bench_people.py --ablate [N]    # one knob changed at a time

Target (exit 1 when missed): BCubed precision >= 0.99 and F >= 0.98 on celebrity-dev, on
deepface-unit and on both in one library, all with the shipped defaults (nothing changes
between the sets).

Quality: BCubed precision / recall / F of the people found after scanning through the real
pipeline (Library + Scanner + People.after_scan), on
  - celebrity-dev: 8 people x 40 crops, upscaled 3x (INTER_CUBIC) with a grey border, as JPEG;
  - deepface-unit: the largest face of every photo listed in identities.csv;
  - both in one library (21 identities; deepface's person02 is celebrity-dev's Jennifer Aniston);
  - realistic synthetic libraries, a held-out proxy for "a library with more people": nothing
    in clustering.py was tuned on them (the generator is fitted to celebrity-dev only, and the
    evaluated draws use their own seeds). See `realistic_library`.
Only labelled faces are scored; a face left unknown (no person) counts as a singleton.
Each is compared with plain DBSCAN (no refinement) at the best eps of a grid, for reference.

"low_quality": per real set, faces below regroup.QUALITY_FLOOR, labelled (a real main face) or
not (background faces), and their qualities: how the floor was checked.

`--ablate N`: the real sets and a realistic synthetic library of N faces (default 30,000,
seed 2) clustered with the shipped knobs and with each variant of VARIANTS: the figures quoted
in clustering.py and regroup.py come from it (`--ablate 0`: the real sets only).

Cost and quality at scale: People.cluster() on ~10,000 and ~100,000 realistic synthetic 128-d
faces stored in a real library (the hnswlib index is built first and timed apart: scans build
it): seconds, peak traced memory, RSS growth, BCubed against the generator's identities.
Scanned libraries are cached in $FACEFOLIO_BENCH_CACHE (default: the temp dir).
"""
from __future__ import annotations

import csv
import dataclasses
import json
import os
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np

from facefolio.library import Library, Scanner
from facefolio.library.people import regroup
from facefolio.library.people.clustering import ClusterParams
from facefolio.library.people.people import People

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clustering_reference import bcubed, candidate_groups, knn_graph  # noqa: E402

DATASETS = Path(os.environ.get("FACEFOLIO_DATASETS")
                or Path(__file__).resolve().parents[3] / "shared" / "datasets")
CACHE = Path(os.environ.get("FACEFOLIO_BENCH_CACHE")
             or Path(tempfile.gettempdir()) / "facefolio-bench-people")
ALIASES = {"person02": "Jennifer_Aniston"}  # the same woman in both data sets


def celebrity_photos() -> Path:
    out = CACHE / "celebrity-photos"
    if out.is_dir():
        return out
    tmp = out.with_suffix(".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    for person in sorted(p for p in (DATASETS / "celebrity-dev").iterdir() if p.is_dir()):
        (tmp / person.name).mkdir(parents=True)
        for crop in sorted(person.iterdir()):
            image = cv2.imread(str(crop))
            big = cv2.resize(image, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)
            big = cv2.copyMakeBorder(big, 60, 60, 60, 60, cv2.BORDER_CONSTANT,
                                     value=(127, 127, 127))
            cv2.imwrite(str(tmp / person.name / f"{crop.stem}.jpg"), big,
                        [cv2.IMWRITE_JPEG_QUALITY, 95])
    tmp.rename(out)
    return out


def scanned(name: str, folders: list[Path]) -> Path:
    """A scanned library (cached), copied so each run clusters from the same start."""
    cached = CACHE / f"lib-{name}"
    if not (cached / "done").exists():
        shutil.rmtree(cached, ignore_errors=True)
        with Library(cached) as lib:
            for folder in folders:
                lib.add_folder(folder)
            for _ in Scanner(lib).scan():
                pass
        (cached / "done").touch()
    work = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    shutil.copytree(cached, work / "lib")
    return work / "lib"


def labels(lib: Library) -> dict[int, str]:
    """face id -> identity, for the largest face of each labelled photo."""
    listed = dict(csv.reader(open(DATASETS / "deepface-unit" / "identities.csv")))
    largest: dict[int, tuple[float, int, str]] = {}
    for r in lib.con.execute("SELECT f.id, f.photo_id, f.w * f.h AS area, p.path FROM faces f "
                             "JOIN photos p ON p.id = f.photo_id"):
        path = Path(r["path"])
        label = listed.get(path.name) if path.parent.name == "deepface-unit" \
            else path.parent.name
        if label and (r["photo_id"] not in largest or largest[r["photo_id"]][0] < r["area"]):
            largest[r["photo_id"]] = (r["area"], r["id"], ALIASES.get(label, label))
    return {face_id: label for _, face_id, label in largest.values()}


def score(lib: Library, truth: dict[int, str]) -> dict:
    person = {r[0]: r[1] for r in lib.con.execute("SELECT id, person_id FROM faces")}
    ids = sorted(truth)
    p, r, f = bcubed([truth[i] for i in ids], [person.get(i) for i in ids])
    return {"precision": round(p, 4), "recall": round(r, 4), "f": round(f, 4)}


def low_quality(lib: Library, truth: dict[int, str]) -> dict:
    rows = lib.con.execute("SELECT id, quality FROM faces WHERE quality < ?",
                           (regroup.QUALITY_FLOOR,)).fetchall()
    return {"floor": regroup.QUALITY_FLOOR,
            "labelled": sorted(round(q, 2) for f, q in rows if f in truth),
            "unlabelled": sorted(round(q, 2) for f, q in rows if f not in truth)}


def real_set(name: str, folders: list[Path]) -> dict:
    path = scanned(name, folders)
    with Library(path) as lib:
        truth = labels(lib)
        # Start from "everything unknown", as after a first scan, then the real after-scan step.
        lib.con.execute("UPDATE faces SET person_id = NULL, assigned_by = NULL")
        lib.con.execute("DELETE FROM people")
        started = time.monotonic()
        People(lib).cluster()
        seconds = time.monotonic() - started
        result = score(lib, truth)
        ids, vectors = lib.embeddings()
        keep = np.isin(ids, list(truth))
        y = [truth[int(i)] for i in ids[keep]]
        result["plain_dbscan_best"] = plain_dbscan(vectors[keep], y)
        result.update(faces=len(ids), scored=len(truth), people=len(lib.people()),
                      seconds=round(seconds, 3), low_quality=low_quality(lib, truth))
    shutil.rmtree(path.parent, ignore_errors=True)
    return result, (ids[keep], vectors[keep], y)


def plain_dbscan(vectors: np.ndarray, y: list, min_faces: int = 3, nn=None) -> dict:
    """Plain DBSCAN (min_samples 3, like Immich) at the best eps of a grid: the reference."""
    best = None
    if nn is None:
        nn, nn_sims = exact_knn(vectors, 30)
    else:
        nn, nn_sims = nn
    for eps in np.arange(0.40, 0.71, 0.05):
        params = ClusterParams(eps, eps, 3)
        groups = candidate_groups(knn_graph(nn, nn_sims, params.eps), params)
        p, r, f = bcubed(y, found_labels(len(y), groups, min_faces))
        if best is None or f > best["f"]:
            best = {"eps": round(float(eps), 2), "precision": round(p, 4),
                    "recall": round(r, 4), "f": round(f, 4)}
    return best


def exact_knn(vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    sims = vectors @ vectors.T
    k = min(k, len(vectors))
    nn = np.argsort(-sims, axis=1)[:, :k]
    return nn, np.take_along_axis(sims, nn, 1)


def found_labels(n: int, groups: list, min_faces: int) -> list:
    found: list = [None] * n
    for gi, g in enumerate(groups):
        if len(g) >= min_faces:
            for i in g:
                found[i] = gi
    return found


# -- the realistic synthetic library ---------------------------------------------------------

def realistic_library(n_faces: int, seed: int, *, shared: float, r_mu: float, r_sd_face: float,
                      r_sd_id: float, dim: int = 128):
    """(vectors, identity, photo) of a synthetic library shaped like a family photo collection.

    - Sizes Zipf-like (1 + zipf(2.0), at most 800): most people have 2-10 faces, a few have
      hundreds; plus 5% one-off strangers (single faces). ~1,900 identities per 10k faces.
    - Identity centres share a common direction (`shared`, as real SFace embeddings do: their
      mean has norm ~0.41), so different people sit at cosine ~0.1, not 0.
    - 10% of identities come in sibling pairs whose centres are at cosine 0.30-0.45 (the
      largest real celebrity-dev/deepface centre cosine is 0.38).
    - A face is r * centre + sqrt(1 - r^2) * noise, r per identity ~ N(r_mu, r_sd_id) plus per
      face N(0, r_sd_face) (quality: blur, pose); noise is anisotropic, 35% of its variance along
      4 directions of the identity's own (pose / light / age modes: real per-identity residuals
      put ~31% of their variance in their top 4 directions).
    - 25% of faces sit in group photos of 2-5 different people.
    """
    rng = np.random.default_rng(seed)
    common = rng.standard_normal(dim)
    common /= np.linalg.norm(common)
    n_strangers = int(0.05 * n_faces)
    sizes: list[int] = []
    while sum(sizes) < n_faces - n_strangers:
        sizes.append(int(min(1 + rng.zipf(2.0), 800)))
    sizes = np.array(sizes + [1] * n_strangers)
    n_ids = len(sizes)
    centres = shared * common + rng.standard_normal((n_ids, dim)) / np.sqrt(dim)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    n_pairs = int(0.1 * n_ids / 2)
    pairs = rng.choice(np.flatnonzero(sizes >= 2), 2 * n_pairs, replace=False).reshape(-1, 2)
    for a, b in pairs:
        t = rng.uniform(0.30, 0.45)
        u = centres[b] - (centres[b] @ centres[a]) * centres[a]
        centres[b] = t * centres[a] + np.sqrt(1 - t * t) * u / np.linalg.norm(u)
    label = np.repeat(np.arange(n_ids), sizes)
    n = len(label)
    r_id = r_mu + r_sd_id * rng.standard_normal(n_ids)
    r = np.clip(r_id[label] + r_sd_face * rng.standard_normal(n), 0.25, 0.97)
    iso = rng.standard_normal((n, dim))
    iso /= np.linalg.norm(iso, axis=1, keepdims=True)
    modes = rng.standard_normal((n_ids, 4, dim))
    modes /= np.linalg.norm(modes, axis=2, keepdims=True)
    aniso = np.einsum("nk,nkd->nd", rng.standard_normal((n, 4)), modes[label]) / 2.0
    noise = np.sqrt(0.65) * iso + np.sqrt(0.35) * aniso
    c = centres[label]
    noise -= (noise * c).sum(axis=1, keepdims=True) * c
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    x = r[:, None] * c + np.sqrt(1 - r ** 2)[:, None] * noise
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    order = rng.permutation(n)
    x, label = x[order].astype(np.float32), label[order]
    photo = np.arange(n)
    grouped = np.flatnonzero(rng.random(n) < 0.25)
    pos = 0
    while pos < len(grouped):
        members = grouped[pos:pos + int(rng.integers(2, 6))]
        pos += len(members)
        if len(set(label[members].tolist())) == len(members):
            photo[members] = photo[members[0]]
    return x, label, photo


def _moments(x: np.ndarray, y: np.ndarray) -> dict:
    s = x @ x.T
    same = (y[:, None] == y[None, :]) & ~np.eye(len(y), dtype=bool)
    diff = y[:, None] != y[None, :]
    return {"same_mean": float(s[same].mean()), "same_sd": float(s[same].std()),
            "same_q05": float(np.quantile(s[same], 0.05)), "diff_mean": float(s[diff].mean()),
            "diff_sd": float(s[diff].std()), "diff_q999": float(np.quantile(s[diff], 0.999))}


def fit_realistic(vectors: np.ndarray, y: list):
    """Fit the generator's knobs to celebrity-dev's same- and different-person cosines."""
    y = np.array(y)
    vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    real = _moments(vectors, y)
    per_id = [vectors[y == label] for label in np.unique(y)]
    r_means = [float((v @ (v.mean(0) / np.linalg.norm(v.mean(0)))).mean()) for v in per_id]
    r_sd_id = float(np.std(r_means))
    best = None
    for shared in (0.40, 0.45, 0.50, 0.55):
        for r_mu in np.arange(0.70, 0.82, 0.02):
            for r_sd_face in (0.06, 0.08, 0.10, 0.12):
                knobs = dict(shared=shared, r_mu=float(r_mu), r_sd_face=r_sd_face,
                             r_sd_id=r_sd_id)
                x, lab, _ = realistic_library(2500, 0, **knobs)
                pick = np.random.default_rng(0).choice(len(lab), 1500, replace=False)
                m = _moments(x[pick], lab[pick])
                err = sum(abs(m[key] - real[key]) for key in
                          ("same_mean", "same_sd", "diff_mean", "same_q05"))
                if best is None or err < best[0]:
                    best = (err, knobs, m)
    _, knobs, synth = best
    return knobs, {"real": {k: round(v, 3) for k, v in real.items()},
                   "synthetic": {k: round(v, 3) for k, v in synth.items()},
                   "knobs": {k: round(v, 3) for k, v in knobs.items()}}


def synthetic_library(vectors: np.ndarray, photo: np.ndarray, root: Path) -> Library:
    lib = Library(root / "lib")
    con = lib.con
    con.execute("BEGIN")
    con.execute("INSERT INTO folders(id, path, added_at) VALUES (1, '/synthetic', 0)")
    con.executemany("INSERT INTO photos(id, folder_id, path, size, mtime_ns, status, "
                    "scanned_at) VALUES (?, 1, ?, 0, 0, 'done', 0)",
                    [(int(p) + 1, f"/synthetic/{p}.jpg") for p in np.unique(photo)])
    con.executemany("INSERT INTO faces(id, photo_id, x, y, w, h, landmarks, score, quality, "
                    "pack, embedding, created_at) VALUES (?, ?, 0, 0, 1, 1, x'', 1, 1, "
                    "'yunet-sface', ?, 0)",
                    [(i + 1, int(photo[i]) + 1, v.tobytes()) for i, v in enumerate(vectors)])
    con.execute("COMMIT")
    return lib


def at_scale(knobs: dict, n: int, seed: int, plain: bool = True) -> dict:
    """People.cluster() on a realistic synthetic library: time, memory and quality."""
    vectors, label, photo = realistic_library(n, seed, **knobs)
    root = Path(tempfile.mkdtemp(prefix="bench-people-scale-"))
    try:
        with synthetic_library(vectors, photo, root) as lib:
            started = time.monotonic()
            index = lib.index()
            index_s = time.monotonic() - started
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            tracemalloc.start()
            report = People(lib).cluster()
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            person = dict(lib.con.execute("SELECT id, person_id FROM faces").fetchall())
            found = [person.get(i + 1) for i in range(len(label))]
            p, r, f = bcubed(label.tolist(), found)
            out = {"faces": len(label), "identities": int(label.max()) + 1,
                   "identities_3plus": int((np.bincount(label) >= 3).sum()),
                   "precision": round(p, 4), "recall": round(r, 4), "f": round(f, 4),
                   "cluster_seconds": round(report.seconds, 2),
                   "index_build_seconds": round(index_s, 2),
                   "peak_traced_mb": round(peak / 2**20, 1),
                   "maxrss_growth_mb": round((rss_after - rss_before) / 1024, 1),
                   "people": report.people_created, "unknown": report.faces_unknown}
            # tracemalloc slows Python-heavy steps a lot: time a second, untraced run from the
            # same starting point (no people) for the speed figure.
            lib.con.execute("UPDATE faces SET person_id = NULL, assigned_by = NULL")
            lib.con.execute("DELETE FROM people")
            out["cluster_seconds_untraced"] = round(People(lib).cluster().seconds, 2)
            if plain:
                ids = np.arange(1, len(label) + 1)
                found_ids, sims = index.query_many(vectors, 30, ef=40)
                out["plain_dbscan_best"] = plain_dbscan(vectors, label.tolist(),
                                                        nn=(found_ids - 1, sims))
                del ids
    finally:
        shared_rm(root)
    return out


def shared_rm(root: Path) -> None:
    shutil.rmtree(root, ignore_errors=True)


# One knob changed at a time (ClusterParams fields, or regroup's module settings).
VARIANTS: dict[str, dict] = {
    "graph_floor_0.25": {"floor": 0.25},
    "merge_margin_0": {"merge_margin": 0.0},
    "merge_margin_0.2": {"merge_margin": 0.2},
    "attach_margin_0": {"attach_margin": 0.0},
    "attach_margin_0.10": {"attach_margin": 0.10},
    "attach_lead_0.05": {"attach_lead": 0.05},
    "k_30": {"k": 30},
    "no_pairs": {"PAIRS": False},
    "quality_floor_0": {"QUALITY_FLOOR": 0.0},
    "quality_floor_0.70": {"QUALITY_FLOOR": 0.70},
}


@contextmanager
def variant(changes: dict):
    """Clustering with these knobs changed (ClusterParams fields or regroup settings)."""
    fields = {k: v for k, v in changes.items() if k in ClusterParams.__dataclass_fields__}
    module = {k: v for k, v in changes.items() if k not in fields}
    shipped = ClusterParams.for_threshold.__func__
    saved = {k: getattr(regroup, k) for k in module}
    ClusterParams.for_threshold = classmethod(
        lambda cls, t: dataclasses.replace(shipped(cls, t), **fields))
    for k, v in module.items():
        setattr(regroup, k, v)
    try:
        yield
    finally:
        ClusterParams.for_threshold = classmethod(shipped)
        for k, v in saved.items():
            setattr(regroup, k, v)


def ablate(n: int) -> dict:
    celeb, deepface = celebrity_photos(), DATASETS / "deepface-unit"
    sets = {"celebrity_dev": [celeb], "deepface_unit": [deepface], "both": [celeb, deepface]}
    _, (_, cv, cy) = real_set("celebrity", [celeb])
    knobs, _ = fit_realistic(cv, cy)
    out: dict = {"synthetic_faces": n}
    for name, changes in {"shipped": {}, **VARIANTS}.items():
        with variant(changes):
            row = {}
            for set_name, folders in sets.items():
                r, _ = real_set(set_name.split("_")[0], folders)
                row[set_name] = [r["precision"], r["recall"], r["f"]]
            if n:  # --ablate 0: the real sets only
                r = at_scale(knobs, n, seed=2, plain=False)
                row["synthetic"] = [r["precision"], r["recall"], r["f"]]
                row["synthetic_seconds"] = r["cluster_seconds_untraced"]
        out[name] = row
        print(name, json.dumps(row), file=sys.stderr)
    return out


def meets_target(out: dict) -> bool:
    return all(out[k]["precision"] >= 0.99 and out[k]["f"] >= 0.98
               for k in ("celebrity_dev", "deepface_unit", "both"))


def main() -> int:
    CACHE.mkdir(parents=True, exist_ok=True)
    if "--ablate" in sys.argv:
        rest = sys.argv[sys.argv.index("--ablate") + 1:]
        print(json.dumps(ablate(int(rest[0]) if rest else 30_000)))
        return 0
    quick = "--quick" in sys.argv
    from facefolio.engine import PACKS

    threshold = PACKS["yunet-sface"].match_threshold
    out: dict = {"params": ClusterParams.for_threshold(threshold).__dict__}
    celeb = celebrity_photos()
    deepface = DATASETS / "deepface-unit"
    out["celebrity_dev"], (_, cv, cy) = real_set("celebrity", [celeb])
    out["deepface_unit"], _ = real_set("deepface", [deepface])
    out["both"], _ = real_set("both", [celeb, deepface])
    knobs, out["realistic_fit"] = fit_realistic(cv, cy)
    # Seeds 1 and 2 are the held-out draws (seed 0 only fits the generator's knobs).
    out["realistic_10k"] = at_scale(knobs, 10_000, seed=1)
    if not quick:
        out["realistic_100k"] = at_scale(knobs, 100_000, seed=2)
    out["target"] = "BCubed precision >= 0.99 and F >= 0.98 on each real set, same defaults"
    out["target_met"] = meets_target(out)
    print(json.dumps(out))
    return 0 if out["target_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
