#!/usr/bin/env python
"""Benchmark "find this face": the library's own hnswlib index (FaceIndex) at scale.

Builds `facefolio.library.index.FaceIndex` (its M / EF_CONSTRUCTION / EF_SEARCH) from N
synthetic, seeded, CLUSTERED 128-d unit embeddings -- N/20 identities, each a random unit
centre plus per-identity noise so that same-identity cosine similarity is about 0.5-0.8 like
real SFace faces, different identities about 0 +- 0.09 -- then times Q single queries
`index.query(vec, 10)` with new faces of existing identities and measures recall@10 against
exact (numpy brute-force, batched) search.

    python tests/benchmarks/bench_search.py --faces 200000 --json
    python tests/benchmarks/bench_search.py --faces 1000000 --ef 96,128,160,200,256

Prints ONE JSON line on stdout (progress on stderr):
    {"faces", "build_s", "p50_ms", "p99_ms", "recall_at_10", "peak_rss_mb", "ef", ...}
(p50/p99 are wall clock per query; cpu_p99_ms is the same tail in thread CPU time.)
`ef` is the ef the headline figures were measured with (the library's EF_SEARCH unless a
single --ef is given). With several --ef values, "sweep" lists every ef and
"min_ef_recall_0_99" names the smallest swept ef reaching recall@10 >= 0.99.
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time

import numpy as np

from facefolio.library import index as index_mod
from facefolio.library.index import FaceIndex

DIM = 128
K = 10
FACES_PER_ID = 20
# Per-identity noise: cos(two faces of one identity) ~ 1 / (1 + sigma^2), so 0.5 .. 0.8.
SIGMA_RANGE = (0.5, 1.0)


def log(msg: str) -> None:
    print(f"[bench_search] {msg}", file=sys.stderr, flush=True)


def rss_mb() -> float:
    """Peak resident set size of this process so far (Linux ru_maxrss is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def current_rss_mb() -> float:
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
        return pages * resource.getpagesize() / 2**20
    except OSError:
        return float("nan")


def _normalise(a: np.ndarray) -> np.ndarray:
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    return a


class Identities:
    """Seeded clustered embedding generator."""

    def __init__(self, n_ids: int, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.centres = _normalise(self.rng.standard_normal((n_ids, DIM), dtype=np.float32))
        self.sigma = self.rng.uniform(*SIGMA_RANGE, size=n_ids).astype(np.float32)

    def faces(self, ids: np.ndarray) -> np.ndarray:
        # noise ~ N(0, I/DIM): ||noise|| ~ 1, so sigma is the noise-to-centre length ratio
        noise = self.rng.standard_normal((len(ids), DIM), dtype=np.float32)
        noise *= (self.sigma[ids] / np.sqrt(DIM))[:, None]
        return _normalise(self.centres[ids] + noise)


def exact_topk(data: np.ndarray, queries: np.ndarray, k: int, chunk: int = 131072
               ) -> np.ndarray:
    """Exact k nearest (cosine, unit vectors) labels per query, batched over the data."""
    best_sim = np.full((len(queries), k), -np.inf, np.float32)
    best_idx = np.zeros((len(queries), k), np.int64)
    for start in range(0, len(data), chunk):
        sims = queries @ data[start:start + chunk].T  # (Q, chunk)
        kk = min(k, sims.shape[1])
        part = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
        cand_sim = np.concatenate([best_sim, np.take_along_axis(sims, part, 1)], axis=1)
        cand_idx = np.concatenate([best_idx, part + start], axis=1)
        order = np.argsort(-cand_sim, axis=1)[:, :k]
        best_sim = np.take_along_axis(cand_sim, order, 1)
        best_idx = np.take_along_axis(cand_idx, order, 1)
    return best_idx


def time_queries(index: FaceIndex, queries: np.ndarray, ef: int) -> dict:
    """Q single `index.query(vec, 10)` calls (the app's path) with EF_SEARCH = ef."""
    saved = index_mod.EF_SEARCH
    index_mod.EF_SEARCH = ef  # query() reads the module constant on every call
    try:
        for q in queries[:20]:  # warm caches
            index.query(q, K)
        times = np.empty(len(queries))
        cpu = np.empty(len(queries))  # this thread's CPU time: excludes preemption
        found = np.empty((len(queries), K), np.int64)
        for i, q in enumerate(queries):
            c0 = time.thread_time()
            t0 = time.perf_counter()
            res = index.query(q, K)
            times[i] = time.perf_counter() - t0
            cpu[i] = time.thread_time() - c0
            found[i] = [n.face_id for n in res]
    finally:
        index_mod.EF_SEARCH = saved
    return {"times": times * 1000.0, "cpu": cpu * 1000.0, "found": found}


def recall(found: np.ndarray, exact: np.ndarray) -> float:
    hits = sum(len(set(f.tolist()) & set(e.tolist())) for f, e in zip(found, exact))
    return hits / exact.size


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--faces", type=int, default=200_000, help="index size N (default 200000)")
    ap.add_argument("--queries", type=int, default=1000, help="single queries Q (default 1000)")
    ap.add_argument("--ef", default=None,
                    help="ef_search value, or comma list to sweep (default: library EF_SEARCH)")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--json", action="store_true", help="JSON output (always; kept for symmetry)")
    args = ap.parse_args(argv)

    n = args.faces
    efs = [int(e) for e in args.ef.split(",")] if args.ef else [index_mod.EF_SEARCH]
    headline_ef = efs[0] if len(efs) == 1 else index_mod.EF_SEARCH
    if headline_ef not in efs:
        efs.insert(0, headline_ef)

    rss0 = current_rss_mb()
    n_ids = max(1, n // FACES_PER_ID)
    gen = Identities(n_ids, args.seed)
    # Every identity gets FACES_PER_ID faces (the remainder spread at random).
    owner = np.concatenate([np.repeat(np.arange(n_ids), FACES_PER_ID),
                            gen.rng.integers(0, n_ids, n - n_ids * FACES_PER_ID)])[:n]
    data = np.empty((n, DIM), np.float32)
    for s in range(0, n, 100_000):
        data[s:s + 100_000] = gen.faces(owner[s:s + 100_000])
    queries = gen.faces(gen.rng.integers(0, n_ids, args.queries))
    face_ids = np.arange(1, n + 1, dtype=np.int64)  # face ids as SQLite gives them
    log(f"{n} faces of {n_ids} identities generated; building FaceIndex "
        f"(M={index_mod.M}, ef_construction={index_mod.EF_CONSTRUCTION})")

    rss_before_index = current_rss_mb()
    t0 = time.perf_counter()
    index = FaceIndex(DIM, capacity=n + 16)
    step = 50_000
    for s in range(0, n, step):
        index.add(face_ids[s:s + step], data[s:s + step])
        if (s // step) % 4 == 3:
            log(f"  added {min(n, s + step)}/{n} ({time.perf_counter() - t0:.0f} s)")
    build_s = time.perf_counter() - t0
    index_mb = current_rss_mb() - rss_before_index
    log(f"built in {build_s:.1f} s; index adds ~{index_mb:.0f} MB RSS")

    t0 = time.perf_counter()
    exact = exact_topk(data, queries, K) + 1  # rows -> face ids
    log(f"exact search for {len(queries)} queries in {time.perf_counter() - t0:.1f} s")
    # How hard is the set? (similarity of the 1st and 10th true neighbour)
    sims_true = np.einsum("qd,qkd->qk", queries, data[exact - 1])

    sweep = []
    for ef in efs:
        r = time_queries(index, queries, ef)
        row = {"ef": ef, "p50_ms": round(float(np.percentile(r["times"], 50)), 4),
               "p99_ms": round(float(np.percentile(r["times"], 99)), 4),
               "recall_at_10": round(recall(r["found"], exact), 4),
               "cpu_p99_ms": round(float(np.percentile(r["cpu"], 99)), 4)}
        sweep.append(row)
        log(f"  ef={ef}: {row}")
    head = next(r for r in sweep if r["ef"] == headline_ef)
    out = {
        "faces": n,
        "build_s": round(build_s, 2),
        "p50_ms": head["p50_ms"],
        "p99_ms": head["p99_ms"],
        "recall_at_10": head["recall_at_10"],
        # p99 of CPU time per query: the same tail without the OS preempting the process
        # (on a loaded shared machine wall-clock p99 mostly measures scheduling).
        "cpu_p99_ms": head["cpu_p99_ms"],
        "peak_rss_mb": round(rss_mb(), 1),
        "ef": headline_ef,
        "queries": len(queries),
        "identities": n_ids,
        "index_rss_mb": round(index_mb, 1),
        "base_rss_mb": round(rss0, 1),
        "M": index_mod.M,
        "ef_construction": index_mod.EF_CONSTRUCTION,
        "true_sim_1st_10th_mean": [round(float(sims_true[:, 0].mean()), 3),
                                   round(float(sims_true[:, -1].mean()), 3)],
    }
    if len(sweep) > 1:
        out["sweep"] = sweep
        ok = [r["ef"] for r in sorted(sweep, key=lambda r: r["ef"]) if r["recall_at_10"] >= 0.99]
        out["min_ef_recall_0_99"] = ok[0] if ok else None
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
