"""What the index checksum costs at open: sha256 of the file against hnswlib's own load.

    python tests/benchmarks/bench_index_checksum.py --faces 20000

Prints one JSON line: file size, seconds to hash it, to load it with hnswlib, and to load it
through FaceIndex.load (hash + load), medians of --repeat runs, side by side.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import hnswlib
import numpy as np

from facefolio.library.storage.index import FaceIndex


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--faces", type=int, default=20000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((args.faces, args.dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "index-bench.hnsw"
        index = FaceIndex(args.dim, capacity=args.faces + 16)
        index.add(np.arange(1, args.faces + 1), vectors)
        index.save(path, 1)
        hashing, loading, full = [], [], []
        for _ in range(args.repeat):
            t = time.perf_counter()
            with open(path, "rb") as fh:
                hashlib.file_digest(fh, "sha256")
            hashing.append(time.perf_counter() - t)
            t = time.perf_counter()
            raw = hnswlib.Index(space="cosine", dim=args.dim)
            raw.load_index(str(path), allow_replace_deleted=True)
            loading.append(time.perf_counter() - t)
            t = time.perf_counter()
            FaceIndex.load(path, args.dim)
            full.append(time.perf_counter() - t)
        print(json.dumps({"faces": args.faces, "bytes": path.stat().st_size,
                          "sha256_s": round(statistics.median(hashing), 4),
                          "hnswlib_load_s": round(statistics.median(loading), 4),
                          "face_index_load_s": round(statistics.median(full), 4),
                          "load_average": os.getloadavg()[0]}))


if __name__ == "__main__":
    main()
