#!/usr/bin/env python
"""SFace-like embeddings at any scale, fitted to real SFace faces (for bench_search.py).

Real statistics: every crop of shared/datasets/celebrity-dev (8 people x 40 aligned 112x112
crops), upscaled 3x (INTER_CUBIC, lossless PNG) so the detector finds it, through the project's
engine: `FaceEngine().analyze(load_image(png))`, largest face. Their cosine similarities, pair by
pair, split into same-person and different-person pairs, are what the generator must match.

The generator (all vectors 128-d, unit length at the end):

    face = normalise(m + sigma_b * L z_person
                       + sigma_w * exp(tau_id g_person) * exp(tau_q g_face) * L z_face)

- m: the real faces' mean direction with a fitted length a (real SFace embeddings share a
  common component: two different people are ~0.08 alike on average, not 0, as
  `python tests/benchmarks/searchset.py` prints);
- L: the square root of a shape matrix, the real within-person covariance shrunk towards the
  identity by a fitted alpha (real embeddings are not isotropic: that sets how spread out
  different people are, i.e. how many dimensions a search really works in);
- sigma_b, sigma_w: how far people sit from each other and faces from their person;
- tau_id, tau_q: how much tightness varies between people and from face to face (pose, blur:
  some faces sit far from their person, which widens the same-person distribution).

The six parameters are fitted (Nelder-Mead, fixed random draws so the objective is
deterministic) to the 5/10/25/50/75/90/95th percentiles of both real distributions, then
checked on draws the fit never saw: the same percentiles on 400 people x 20 faces, and what
makes a search hard (local intrinsic dimensionality, how isolated faces are, how many
dimensions a person's faces spread over) on 8 people x 40 faces, the real set's shape.
Everything is cached under the bench cache dir.

    python tests/benchmarks/searchset.py          # real vs fitted statistics, one JSON line
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

VERSION = "s1"  # bump when the model or its fit changes, so caches are rebuilt
DIM = 128
QUANTILES = (5, 10, 25, 50, 75, 90, 95)
DATASETS = Path(os.environ.get("FACEFOLIO_DATASETS")
                or Path(__file__).resolve().parents[3] / "shared" / "datasets")
CACHE = Path(os.environ.get("FACEFOLIO_BENCH_CACHE")
             or Path(tempfile.gettempdir()) / "facefolio-bench-search")


def log(msg: str) -> None:
    print(f"[bench_search] {msg}", file=sys.stderr, flush=True)


# -- real faces -------------------------------------------------------------------------------
def real_faces() -> tuple[np.ndarray, np.ndarray]:
    """(embeddings, person labels) of celebrity-dev through the engine; cached."""
    crops = sorted((DATASETS / "celebrity-dev").glob("*/*.png"))
    if not crops:
        raise SystemExit(f"bench_search: no celebrity-dev crops under {DATASETS}")
    key = hashlib.sha256("\n".join(f"{p.relative_to(DATASETS)}:{p.stat().st_size}"
                                   for p in crops).encode()).hexdigest()[:12]
    cached = CACHE / f"real-{key}.npz"
    if cached.exists():
        data = np.load(cached)
        return data["embeddings"], data["labels"]
    import cv2  # noqa: PLC0415 - only for the first run

    from facefolio.engine import FaceEngine, load_image  # noqa: PLC0415
    engine = FaceEngine()
    people = sorted({p.parent.name for p in crops})
    embeddings, labels, missed = [], [], 0
    up_dir = CACHE / "upscaled"
    up_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    for crop in crops:
        up = cv2.resize(cv2.imread(str(crop)), None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)
        png = up_dir / f"{crop.parent.name}-{crop.stem}.png"
        cv2.imwrite(str(png), up)
        faces = engine.analyze(load_image(png))
        if not faces:
            missed += 1
            continue
        face = max(faces, key=lambda f: f.box[2] * f.box[3])
        embeddings.append(np.asarray(face.embedding, np.float32))
        labels.append(people.index(crop.parent.name))
    log(f"embedded {len(embeddings)} of {len(crops)} celebrity-dev crops in "
        f"{time.perf_counter() - t0:.0f} s ({missed} without a face)")
    emb, lab = np.vstack(embeddings), np.array(labels)
    np.savez(cached, embeddings=emb, labels=lab)
    return emb, lab


def pair_similarities(emb: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cosine similarities of every pair: (same person, different people)."""
    sims = emb @ emb.T
    upper = np.triu_indices(len(emb), 1)
    same = (labels[:, None] == labels[None, :])[upper]
    values = sims[upper]
    return values[same], values[~same]


def describe(emb: np.ndarray, labels: np.ndarray) -> dict:
    """The statistics reported side by side for real and generated faces."""
    same, diff = pair_similarities(emb, labels)
    per_person = [float(pair_similarities(emb[labels == p], labels[labels == p])[0].mean())
                  for p in np.unique(labels) if (labels == p).sum() > 1]
    out = {}
    for name, values in (("same", same), ("different", diff)):
        out[name] = {"mean": round(float(values.mean()), 3), "std": round(float(values.std()), 3),
                     "percentiles": [round(float(v), 3)
                                     for v in np.percentile(values, QUANTILES)]}
    out["same_person_mean_spread"] = round(float(np.std(per_person)), 3)
    out["faces"], out["people"] = len(emb), int(len(np.unique(labels)))
    return out


def geometry(emb: np.ndarray, labels: np.ndarray) -> dict:
    """What makes a nearest-neighbour search hard, comparable only between sets of the same
    size and shape: local intrinsic dimensionality (the MLE of Levina and Bickel over each
    face's k nearest, k = 10 and 20), how isolated faces are, and the participation ratio of
    the within-person covariance (how many dimensions faces of one person spread over)."""
    sims = emb @ emb.T
    np.fill_diagonal(sims, -np.inf)
    out = {}
    for k in (10, 20):
        nearest = -np.sort(-sims, axis=1)[:, :k]
        dist = np.sqrt(np.clip(2 - 2 * nearest, 1e-12, None))
        out[f"lid_k{k}"] = round(float(np.mean(
            -1 / np.mean(np.log(dist[:, :-1] / dist[:, -1:]), axis=1))), 1)
    # How isolated faces are (a blurred or turned face far from its own person is what a
    # graph index reaches worst): percentiles 1/5/10/50 of each face's most similar face.
    nearest = np.percentile(sims.max(axis=1), (1, 5, 10, 50))
    out["nearest_face_similarity_p1_p5_p10_p50"] = [round(float(v), 3) for v in nearest]
    people = np.unique(labels)
    centres = np.vstack([emb[labels == p].mean(axis=0) for p in people])
    values = np.linalg.eigvalsh(np.cov((emb - centres[np.searchsorted(people, labels)]).T))
    out["within_person_dims"] = round(float(values.sum() ** 2 / (values ** 2).sum()), 1)
    return out


# -- the generator ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Params:
    a: float
    sigma_b: float
    sigma_w: float
    tau_id: float
    tau_q: float
    alpha: float


class FaceModel:
    """Draws people and their faces with real SFace statistics (see the module doc)."""

    def __init__(self, params: Params, mean_dir: np.ndarray, shape_cov: np.ndarray) -> None:
        self.params = params
        self.mean_dir = mean_dir.astype(np.float64)
        self.shape_cov = shape_cov.astype(np.float64)
        values, vectors = np.linalg.eigh(shape_cov)
        shrunk = (1 - params.alpha) * np.clip(values, 0, None) + params.alpha / DIM
        self._lt = (vectors * np.sqrt(shrunk)).T  # z @ _lt has covariance `shrunk` (trace 1)

    def people(self, z: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(centres, noise scales) of people from standard normal draws z (n, DIM), g (n,)."""
        p = self.params
        return (p.a * self.mean_dir + p.sigma_b * (z @ self._lt),
                p.sigma_w * np.exp(p.tau_id * g))

    def faces(self, centres: np.ndarray, scales: np.ndarray, z: np.ndarray, g: np.ndarray
              ) -> np.ndarray:
        """Unit float32 faces of people (their centres and scales, one row per face)."""
        x = centres + (scales * np.exp(self.params.tau_q * g))[:, None] * (z @ self._lt)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        return x.astype(np.float32)

    def sample(self, n_people: int, per_person: int, seed: int
               ) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(seed)
        centres, scales = self.people(rng.standard_normal((n_people, DIM)),
                                      rng.standard_normal(n_people))
        labels = np.repeat(np.arange(n_people), per_person)
        faces = self.faces(centres[labels], scales[labels],
                           rng.standard_normal((len(labels), DIM)),
                           rng.standard_normal(len(labels)))
        return faces, labels

    def to_json(self) -> dict:
        return {"params": asdict(self.params), "mean_dir": self.mean_dir.tolist(),
                "shape_cov": self.shape_cov.tolist()}

    @classmethod
    def from_json(cls, data: dict) -> FaceModel:
        return cls(Params(**data["params"]), np.array(data["mean_dir"]),
                   np.array(data["shape_cov"]))


def fit(emb: np.ndarray, labels: np.ndarray, seed: int = 0) -> FaceModel:
    """The model whose pair-similarity percentiles best match the real faces'."""
    from scipy.optimize import minimize  # noqa: PLC0415

    mean = emb.mean(axis=0)
    centres = np.vstack([emb[labels == p].mean(axis=0) for p in np.unique(labels)])
    within = np.cov((emb - centres[np.searchsorted(np.unique(labels), labels)]).T)
    within /= np.trace(within)
    same, diff = pair_similarities(emb, labels)
    target = np.concatenate([np.percentile(same, QUANTILES), np.percentile(diff, QUANTILES)])
    rng = np.random.default_rng(seed)  # the same draws for every evaluation
    n_people, per = 150, 12
    draws = (rng.standard_normal((n_people, DIM)), rng.standard_normal(n_people),
             rng.standard_normal((n_people * per, DIM)), rng.standard_normal(n_people * per))
    sim_labels = np.repeat(np.arange(n_people), per)
    mean_dir = mean / np.linalg.norm(mean)

    def loss(x: np.ndarray) -> float:
        if not (0 <= x[5] <= 1 and x[3] >= 0 and x[4] >= 0 and min(x[:3]) > 0):
            return 1e3
        model = FaceModel(Params(*map(float, x)), mean_dir, within)
        c, s = model.people(draws[0], draws[1])
        faces = model.faces(c[sim_labels], s[sim_labels], draws[2], draws[3])
        s_same, s_diff = pair_similarities(faces, sim_labels)
        got = np.concatenate([np.percentile(s_same, QUANTILES),
                              np.percentile(s_diff, QUANTILES)])
        return float(((got - target) ** 2).sum())

    t0 = time.perf_counter()
    best = minimize(loss, [0.3, 0.7, 0.7, 0.1, 0.3, 0.5], method="Nelder-Mead",
                    options={"maxiter": 600, "xatol": 1e-3, "fatol": 1e-7})
    log(f"fitted {np.round(best.x, 3).tolist()} (loss {best.fun:.2e}) in "
        f"{time.perf_counter() - t0:.0f} s")
    return FaceModel(Params(*map(float, best.x)), mean_dir, within)


def fitted_model() -> tuple[FaceModel, dict]:
    """(model, {"real": stats, "fitted": stats of an independent generated sample}); cached."""
    emb, labels = real_faces()
    key = hashlib.sha256(emb.tobytes() + VERSION.encode()).hexdigest()[:12]
    cached = CACHE / f"model-{key}.json"
    if cached.exists():
        data = json.loads(cached.read_text())
        model = FaceModel.from_json(data["model"])
    else:
        model = fit(emb, labels)
        # Checked on draws the fit never saw.
        faces, fake_labels = model.sample(400, 20, seed=99)
        data = {"model": model.to_json(),
                "stats": {"real": describe(emb, labels), "fitted": describe(faces, fake_labels),
                          "params": {k: round(v, 4) for k, v in asdict(model.params).items()}}}
    if "nearest_face_similarity_p1_p5_p10_p50" not in data["stats"].get("geometry", {}).get(
            "real", {}):
        # At the real set's shape (8 people x 40 faces), mean of five independent draws.
        people, per = len(np.unique(labels)), int(np.bincount(labels).max())
        draws = [geometry(*model.sample(people, per, seed=s)) for s in range(5)]
        data["stats"]["geometry"] = {
            "real": geometry(emb, labels),
            "fitted": {k: np.round(np.mean([d[k] for d in draws], axis=0), 3).tolist()
                       for k in draws[0]}}
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_text(json.dumps(data))
    return model, data["stats"]


# -- a library holding N of them -------------------------------------------------------------
def owners(n: int, n_people: int, zipf: float, rng: np.random.Generator) -> np.ndarray:
    """The person of each of n faces, in library order. Person r (from 1) gets a share of
    faces proportional to r ** -zipf: a personal library is mostly a few people (zipf 1 at
    1M faces and 50k people: the first gets 1M / H(50000) ~ 88k faces, 87,361 in the library
    of `bench_search.py --faces 1000000`, the 10,000th ~9); zipf 0: equal."""
    weights = np.arange(1, n_people + 1, dtype=np.float64) ** -zipf
    return rng.choice(n_people, size=n, p=weights / weights.sum())


def library_owners(n: int, *, seed: int, zipf: float, per_person: int = 20) -> np.ndarray:
    """The true person of each face of the library build_library writes (face id i + 1)."""
    return owners(n, max(1, n // per_person), zipf, np.random.default_rng(seed))


def build_library(path: Path, n: int, model: FaceModel, *, seed: int, zipf: float,
                  per_person: int = 20) -> dict:
    """A library folder whose database holds n faces (rows written with SQL: photos of 1-6
    faces, people named or not for everyone with >= 10 faces), no index yet. Returns what
    was built; `path` must not exist."""
    from facefolio.library import Library  # noqa: PLC0415

    rng = np.random.default_rng(seed)
    n_people = max(1, n // per_person)
    owner = owners(n, n_people, zipf, rng)  # first draw: library_owners repeats it
    centres, scales = model.people(rng.standard_normal((n_people, DIM)),
                                   rng.standard_normal(n_people))
    counts = np.bincount(owner, minlength=n_people)
    with Library(path) as lib:
        pack, analysis = lib.settings.pack, lib.analysis_key()
        con, now = lib.con, time.time()
        person_of = np.where(counts >= 10, np.arange(n_people) + 1, 0)
        con.execute("BEGIN IMMEDIATE")
        con.execute("INSERT INTO folders(id, path, added_at) VALUES (1, '/bench/photos', ?)",
                    (now,))
        con.executemany(
            "INSERT INTO people(id, name, created_at) VALUES (?, ?, ?)",
            ((int(p), f"Person {p}" if p <= 50 else None, now) for p in person_of if p))
        # Photos of 1-6 faces (1 + Poisson(1.5), capped), their faces consecutive.
        sizes = np.minimum(1 + rng.poisson(1.5, size=n), 6)
        photo_of = np.repeat(np.arange(n), sizes)[:n]
        n_photos = int(photo_of[-1]) + 1
        con.executemany(
            "INSERT INTO photos(id, folder_id, path, size, mtime_ns, width, height, taken_at, "
            "taken_at_source, status, pack, analysis, scanned_at) VALUES "
            "(?, 1, ?, 3000000, 0, 4000, 3000, '2020-01-01T00:00:00', 'exif', 'done', ?, ?, ?)",
            ((i + 1, f"/bench/photos/{i // 1000:04d}/IMG_{i:07d}.jpg", pack, analysis, now)
             for i in range(n_photos)))
        landmarks = np.zeros((5, 2), np.float32).tobytes()
        for start in range(0, n, 100_000):
            part = owner[start:start + 100_000]
            emb = model.faces(centres[part], scales[part],
                              rng.standard_normal((len(part), DIM)),
                              rng.standard_normal(len(part)))
            rows = []
            for j, (who, vec) in enumerate(zip(part, emb)):
                i = start + j
                person = int(person_of[who]) or None
                rows.append((i + 1, int(photo_of[i]) + 1, landmarks, pack, vec.tobytes(),
                             person, "cluster" if person else None, now))
            con.executemany(
                "INSERT INTO faces(id, photo_id, x, y, w, h, landmarks, score, quality, pack, "
                "embedding, person_id, assigned_by, created_at) VALUES "
                "(?, ?, 100, 100, 200, 200, ?, 0.9, 0.8, ?, ?, ?, ?, ?)", rows)
            log(f"  {min(n, start + 100_000)}/{n} faces written")
        con.execute("COMMIT")
    return {"faces": n, "people": n_people, "photos": n_photos,
            "largest_person_faces": int(counts.max()),
            "people_with_faces": int((counts > 0).sum())}


if __name__ == "__main__":
    print(json.dumps(fitted_model()[1]))
