"""Clustering quality and cost; prints ONE JSON line.

    python tests/benchmarks/bench_people.py [--quick]

Quality: BCubed precision / recall / F of the people found after scanning through the real
pipeline (Library + Scanner + People.after_scan), on
  - celebrity-dev: 8 people x 40 crops, upscaled 3x (INTER_CUBIC) with a grey border, as JPEG;
  - deepface-unit: the largest face of every photo listed in identities.csv;
  - both in one library (21 identities; deepface's person02 is celebrity-dev's Jennifer Aniston);
  - synthetic: many identities drawn from a model fitted to the real embeddings' within- and
    between-person similarity, the "more people" case where plain DBSCAN chains.
Only labelled faces are scored; a face left unknown (no person) counts as a singleton.
Each is compared with plain DBSCAN (no refinement) at the best eps of a grid, for reference.

Cost: time and peak memory of People.cluster() on 10,000 and 100,000 synthetic 128-d faces
stored in a real library (the hnswlib index is built first and timed apart: scans build it).
Scanned libraries are cached in $FACEFOLIO_BENCH_CACHE (default: the temp dir).
"""
from __future__ import annotations

import csv
import json
import os
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import cv2
import numpy as np

from facefolio.library import Library, Scanner
from facefolio.library.clustering import (ClusterParams, bcubed, candidate_groups,
                                          group_faces, knn_graph)
from facefolio.library.people import People

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


def real_set(name: str, folders: list[Path]) -> dict:
    path = scanned(name, folders)
    with Library(path) as lib:
        truth = labels(lib)
        # Start from "everything unknown", as after a first scan, then the real after-scan step.
        lib.con.execute("UPDATE faces SET person_id = NULL, assigned_by = NULL")
        lib.con.execute("DELETE FROM people")
        started = time.monotonic()
        People(lib).after_scan([])
        seconds = time.monotonic() - started
        result = score(lib, truth)
        ids, vectors = lib.embeddings()
        keep = np.isin(ids, list(truth))
        y = [truth[int(i)] for i in ids[keep]]
        result["plain_dbscan_best"] = plain_dbscan(vectors[keep], y)
        result.update(faces=len(ids), scored=len(truth), people=len(lib.people()),
                      seconds=round(seconds, 3))
    shutil.rmtree(path.parent, ignore_errors=True)
    return result, (ids[keep], vectors[keep], y)


def plain_dbscan(vectors: np.ndarray, y: list, min_faces: int = 3) -> dict:
    best = None
    for eps in np.arange(0.40, 0.71, 0.05):
        found = cluster_vectors(vectors, np.arange(len(y)), ClusterParams(eps, eps, 3),
                                min_faces, plain=True)
        p, r, f = bcubed(y, found)
        if best is None or f > best["f"]:
            best = {"eps": round(float(eps), 2), "precision": round(p, 4),
                    "recall": round(r, 4), "f": round(f, 4)}
    return best


def cluster_vectors(vectors, photos, params, min_faces, plain=False) -> list:
    sims = vectors @ vectors.T
    k = min(30, len(vectors))
    nn = np.argsort(-sims, axis=1)[:, :k]
    nn_sims = np.take_along_axis(sims, nn, 1)
    if plain:
        groups = candidate_groups(knn_graph(nn, nn_sims, params.eps), params)
    else:
        groups = group_faces(vectors, nn, nn_sims, photos, params)
    found: list = [None] * len(vectors)
    for gi, g in enumerate(groups):
        if len(g) >= min_faces:
            for i in g:
                found[i] = gi
    return found


def fit_synthetic(vectors: np.ndarray, y: list, seed: int = 0):
    """A generator of identities whose within / between similarities match the real ones."""
    y = np.array(y)
    sims = vectors @ vectors.T
    same = (y[:, None] == y[None, :]) & ~np.eye(len(y), dtype=bool)
    target_within, target_between = sims[same].mean(), sims[~same & (y[:, None] != y)].mean()
    per_id = [sims[np.ix_(y == l, y == l)][~np.eye((y == l).sum(), dtype=bool)].mean()
              for l in np.unique(y) if (y == l).sum() > 2]
    spread = float(np.std(per_id))
    dim = vectors.shape[1]
    mean = vectors.mean(axis=0)
    rng = np.random.default_rng(seed)

    def make(n_ids: int, sizes: tuple[int, int], shared: float, noise: float):
        centres = mean * shared + rng.standard_normal((n_ids, dim)) / np.sqrt(dim)
        centres /= np.linalg.norm(centres, axis=1, keepdims=True)
        counts = rng.integers(sizes[0], sizes[1] + 1, n_ids)
        label = np.repeat(np.arange(n_ids), counts)
        scale = np.clip(noise + spread * 2 * rng.standard_normal(n_ids), 0.3, None)[label]
        x = centres[label] + scale[:, None] * rng.standard_normal((len(label), dim)) / np.sqrt(dim)
        return x / np.linalg.norm(x, axis=1, keepdims=True), label

    # Calibrate the two knobs on a small draw (coarse grid: it only needs to be close).
    best = None
    for shared in (0.0, 0.5, 1.0, 1.5, 2.0):
        for noise in np.arange(0.6, 1.6, 0.05):
            x, lab = make(40, (10, 10), shared, noise)
            s = x @ x.T
            eq = (lab[:, None] == lab[None, :]) & ~np.eye(len(lab), dtype=bool)
            err = abs(s[eq].mean() - target_within) + abs(s[lab[:, None] != lab].mean()
                                                          - target_between)
            if best is None or err < best[0]:
                best = (err, shared, noise)
    _, shared, noise = best
    return (lambda n_ids, sizes: make(n_ids, sizes, shared, noise)), {
        "within": round(float(target_within), 3), "between": round(float(target_between), 3),
        "shared": shared, "noise": round(float(noise), 2)}


def synthetic_quality(make, fitted: dict, match_threshold: float) -> dict:
    vectors, lab = make(400, (3, 40))
    lab = lab.tolist()
    found = cluster_vectors(vectors.astype(np.float32), np.arange(len(lab)),
                            ClusterParams.for_threshold(match_threshold), 3)
    p, r, f = bcubed(lab, found)
    return {"identities": 400, "faces": len(lab), "fitted": fitted, "precision": round(p, 4),
            "recall": round(r, 4), "f": round(f, 4),
            "plain_dbscan_best": plain_dbscan(vectors.astype(np.float32), lab)}


def timing(make, n: int) -> dict:
    vectors, _ = make(max(1, n // 25), (5, 45))
    vectors = vectors[:n].astype(np.float32)
    root = Path(tempfile.mkdtemp(prefix="bench-people-timing-"))
    with Library(root / "lib") as lib:
        con = lib.con
        con.execute("BEGIN")
        con.execute("INSERT INTO folders(id, path, added_at) VALUES (1, '/synthetic', 0)")
        con.executemany("INSERT INTO photos(id, folder_id, path, size, mtime_ns, status, "
                        "scanned_at) VALUES (?, 1, ?, 0, 0, 'done', 0)",
                        [(i + 1, f"/synthetic/{i}.jpg") for i in range(len(vectors))])
        con.executemany("INSERT INTO faces(photo_id, x, y, w, h, landmarks, score, quality, "
                        "pack, embedding, created_at) VALUES (?, 0, 0, 1, 1, x'', 1, 1, "
                        "'yunet-sface', ?, 0)",
                        [(i + 1, v.tobytes()) for i, v in enumerate(vectors)])
        con.execute("COMMIT")
        started = time.monotonic()
        lib.index()
        index_s = time.monotonic() - started
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        tracemalloc.start()
        report = People(lib).cluster()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    shutil.rmtree(root, ignore_errors=True)
    return {"faces": n, "cluster_seconds": round(report.seconds, 2),
            "index_build_seconds": round(index_s, 2),
            "peak_traced_mb": round(peak / 2**20, 1),
            "maxrss_growth_mb": round((rss_after - rss_before) / 1024, 1),
            "people": report.people_created, "unknown": report.faces_unknown}


def main() -> None:
    quick = "--quick" in sys.argv
    CACHE.mkdir(parents=True, exist_ok=True)
    from facefolio.engine import PACKS

    threshold = PACKS["yunet-sface"].match_threshold
    out: dict = {"params": ClusterParams.for_threshold(threshold).__dict__}
    celeb = celebrity_photos()
    deepface = DATASETS / "deepface-unit"
    out["celebrity_dev"], (_, cv, cy) = real_set("celebrity", [celeb])
    out["deepface_unit"], _ = real_set("deepface", [deepface])
    out["both"], _ = real_set("both", [celeb, deepface])
    make, fitted = fit_synthetic(cv, cy)
    out["synthetic_400_ids"] = synthetic_quality(make, fitted, threshold)
    out["timing"] = [timing(make, n) for n in ((10_000,) if quick else (10_000, 100_000))]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
