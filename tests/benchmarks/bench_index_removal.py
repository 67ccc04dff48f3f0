#!/usr/bin/env python
"""Benchmark removing faces from the index so that their vectors leave it (issue 9, forget).

hnswlib's mark_deleted keeps a removed vector in memory and in every saved file. FaceIndex
overwrites the vector before marking it (`FaceIndex.remove`), and rebuilds from the live
vectors once the marks pass COMPACT_FRACTION of the live faces. This measures, on one index of
N seeded clustered 128-d faces (bench_search's generator), in one run:
- `remove`: FaceIndex.remove of R faces (overwrite + mark), per face;
- `mark_only`: hnswlib mark_deleted alone, the plainest thing (it leaves the vectors behind);
- `rebuild`: building a fresh index of the N - R live vectors, what compaction costs;
and checks the saved file holds none of the removed vectors' bytes.

    python tests/benchmarks/bench_index_removal.py --faces 100000 --remove 1000

Prints ONE JSON line. Target: removing is cheaper per face than rebuilding (so overwriting
is the right default) and no removed vector is left in the file; exits 1 when either fails.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_search import Identities, log  # noqa: E402

from facefolio.library.storage.index import FaceIndex  # noqa: E402

DIM = 128


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=100_000)
    parser.add_argument("--remove", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    n, r = args.faces, args.remove
    gen = Identities(max(1, n // 20), args.seed)
    vectors = gen.faces(np.arange(n) % max(1, n // 20)).astype(np.float32)
    labels = np.arange(1, n + 1, dtype=np.int64)
    rng = np.random.default_rng(args.seed)
    victims = np.sort(rng.choice(labels, r, replace=False))

    t = time.perf_counter()
    index = FaceIndex(DIM, capacity=n + 16)
    index.add(labels, vectors)
    build_s = time.perf_counter() - t
    log(f"built {n} faces in {build_s:.1f}s")
    stored = index._index.get_items(victims, return_type="numpy")  # as hnswlib keeps them

    tmp = tempfile.TemporaryDirectory()
    path = Path(tmp.name) / "index-bench.hnsw"

    def left_in_file() -> int:
        index.save(path, 0)
        data = path.read_bytes()
        return sum(1 for v in stored if v.astype(np.float32).tobytes() in data)

    t = time.perf_counter()
    for face_id in victims:  # the plain way, then undone to measure ours on the same graph
        index._index.mark_deleted(int(face_id))
    mark_s = time.perf_counter() - t
    left_mark_only = left_in_file()
    for face_id in victims:
        index._index.unmark_deleted(int(face_id))

    t = time.perf_counter()
    index.remove(victims)
    remove_s = time.perf_counter() - t
    log(f"removed {r} in {remove_s:.2f}s (mark only {mark_s * 1000:.1f} ms)")

    keep = np.setdiff1d(labels, victims)
    t = time.perf_counter()
    rebuilt = FaceIndex(DIM, capacity=len(keep) + 16)
    rebuilt.add(keep, vectors[keep - 1])
    rebuild_s = time.perf_counter() - t
    log(f"rebuilt {len(keep)} in {rebuild_s:.1f}s")

    left = left_in_file()
    tmp.cleanup()

    per_face_ms = remove_s / r * 1000
    result = {
        "faces": n, "removed": r, "build_s": round(build_s, 2),
        "remove_s": round(remove_s, 3), "remove_per_face_ms": round(per_face_ms, 3),
        "mark_only_s": round(mark_s, 4), "rebuild_s": round(rebuild_s, 2),
        "rebuild_per_kept_face_ms": round(rebuild_s / len(keep) * 1000, 3),
        "break_even_removed_fraction": round(rebuild_s / remove_s * r / len(keep), 3),
        "removed_vectors_left_in_file": left, "left_with_mark_only": left_mark_only,
        "target": "remove per face < rebuild; no removed vector left in the file",
    }
    ok = remove_s < rebuild_s and left == 0
    result["ok"] = ok
    print(json.dumps(result))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
