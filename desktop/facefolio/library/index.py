"""The hnswlib index over face embeddings: a derived cache of the faces table.

One index per model pack (embeddings of different packs are never compared), keyed by face id,
cosine space. It is saved beside the database together with the faces generation it matches.
On open a stale index is caught up (faces added or removed since it was saved) and a missing
or unreadable one is rebuilt from SQLite, so losing it never loses data.

Threads: hnswlib's own README warns that saving while adding is unsafe, so every call takes
the index's lock; only the library's writer adds, removes or saves.
"""
from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

import hnswlib
import numpy as np

from .store import faces_generation

log = logging.getLogger(__name__)

M = 16
EF_CONSTRUCTION = 200
# ef_search chosen so recall@10 >= 0.99 against exact search (tests/benchmarks/bench_search.py):
# ef 96 gave 0.9998 at 200k faces but 0.9845 at 1M; ef 128 gave 0.9926 at 1M (p99 5.3 ms).
EF_SEARCH = 128
_GROW_STEP = 4096


@dataclass(frozen=True)
class Neighbour:
    face_id: int
    similarity: float


class FaceIndex:
    """Nearest-neighbour search over one pack's face embeddings."""

    def __init__(self, dim: int, capacity: int = _GROW_STEP) -> None:
        self.dim = dim
        self._lock = threading.RLock()
        self._index = hnswlib.Index(space="cosine", dim=dim)
        self._index.init_index(max_elements=max(capacity, 16), ef_construction=EF_CONSTRUCTION,
                               M=M, allow_replace_deleted=True)
        self._index.set_ef(EF_SEARCH)
        self._ids: set[int] = set()
        self._deleted: set[int] = set()  # labels marked deleted, kept for save/load
        self.generation = -1

    # -- building -------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, face_id: int) -> bool:
        return face_id in self._ids

    def ids(self) -> set[int]:
        with self._lock:
            return set(self._ids)

    def add(self, face_ids: np.ndarray | list[int], vectors: np.ndarray) -> None:
        face_ids = np.asarray(face_ids, dtype=np.int64)
        if len(face_ids) == 0:
            return
        with self._lock:
            needed = len(self._ids) + len(face_ids)
            if needed > self._index.get_max_elements():
                self._index.resize_index(needed + _GROW_STEP + needed // 4)
            self._index.add_items(np.asarray(vectors, dtype=np.float32), face_ids,
                                  replace_deleted=True)
            added = {int(i) for i in face_ids}
            self._ids.update(added)
            self._deleted -= added

    def remove(self, face_ids) -> None:
        with self._lock:
            for face_id in face_ids:
                face_id = int(face_id)
                if face_id in self._ids:
                    self._index.mark_deleted(face_id)
                    self._ids.discard(face_id)
                    self._deleted.add(face_id)

    # -- queries --------------------------------------------------------------------------
    def query(self, vector: np.ndarray, k: int, *, ef: int | None = None) -> list[Neighbour]:
        """The k nearest faces to one vector, most similar first."""
        with self._lock:
            k = min(k, len(self._ids))
            if k <= 0:
                return []
            self._index.set_ef(max(ef or EF_SEARCH, k))
            labels, distances = self._index.knn_query(
                np.asarray(vector, dtype=np.float32).reshape(1, -1), k=k)
        return [Neighbour(int(f), float(1.0 - d)) for f, d in zip(labels[0], distances[0])]

    def query_many(self, vectors: np.ndarray, k: int, *, ef: int | None = None,
                   num_threads: int = -1) -> tuple[np.ndarray, np.ndarray]:
        """(labels, similarities), each shape (n, k'), for a batch of vectors."""
        with self._lock:
            k = min(k, len(self._ids))
            if k <= 0 or len(vectors) == 0:
                return np.empty((len(vectors), 0), np.int64), np.empty((len(vectors), 0))
            self._index.set_ef(max(ef or EF_SEARCH, k))
            labels, distances = self._index.knn_query(
                np.asarray(vectors, dtype=np.float32), k=k, num_threads=num_threads)
        return labels.astype(np.int64), 1.0 - distances

    # -- persistence ----------------------------------------------------------------------
    def save(self, path: Path, generation: int) -> None:
        tmp = path.with_suffix(".tmp")
        with self._lock:
            self._index.save_index(str(tmp))
            os.replace(tmp, path)
            self.generation = generation
            meta = {"generation": generation, "dim": self.dim, "count": len(self._ids),
                    "deleted": sorted(self._deleted)}
        _meta_path(path).write_text(json.dumps(meta))

    @classmethod
    def load(cls, path: Path, dim: int) -> FaceIndex:
        """Load a saved index; raises on anything missing, mismatched or unreadable."""
        meta = json.loads(_meta_path(path).read_text())
        if meta.get("dim") != dim:
            raise ValueError("dimension mismatch")
        self = cls.__new__(cls)
        self.dim = dim
        self._lock = threading.RLock()
        self._index = hnswlib.Index(space="cosine", dim=dim)
        self._index.load_index(str(path), allow_replace_deleted=True)
        self._index.set_ef(EF_SEARCH)
        # get_ids_list includes labels marked deleted: the meta file lists those.
        self._deleted = {int(i) for i in meta.get("deleted", [])}
        self._ids = {int(i) for i in self._index.get_ids_list()} - self._deleted
        if len(self._ids) != meta.get("count"):
            raise ValueError("count mismatch")
        self.generation = int(meta["generation"])
        return self


def _meta_path(path: Path) -> Path:
    return path.with_suffix(".json")


def index_path(library_dir: Path, pack: str) -> Path:
    return library_dir / f"index-{pack}.hnsw"


def open_index(con: sqlite3.Connection, library_dir: Path, pack: str, dim: int) -> FaceIndex:
    """The pack's index, brought in line with the faces table (caught up or rebuilt)."""
    path = index_path(library_dir, pack)
    generation = faces_generation(con)
    index: FaceIndex | None = None
    if path.exists():
        try:
            index = FaceIndex.load(path, dim)
        except Exception as exc:  # unreadable for any reason: it is only a cache
            log.warning("index %s unreadable (%s): rebuilding", path, exc)
    if index is not None and index.generation == generation:
        return index
    if index is None:
        index = FaceIndex(dim, capacity=_count(con, pack) + _GROW_STEP)
    catch_up(con, index, pack)
    try:
        index.save(path, generation)
    except OSError as exc:  # a read-only library still answers searches
        log.warning("cannot save index %s: %s", path, exc)
    return index


def catch_up(con: sqlite3.Connection, index: FaceIndex, pack: str) -> None:
    """Add faces the index lacks and drop those the database no longer has."""
    in_db = {row[0] for row in con.execute("SELECT id FROM faces WHERE pack = ?", (pack,))}
    in_index = index.ids()
    index.remove(in_index - in_db)
    missing = sorted(in_db - in_index)
    for start in range(0, len(missing), 10_000):
        chunk = missing[start:start + 10_000]
        marks = ",".join("?" * len(chunk))
        rows = con.execute(f"SELECT id, embedding FROM faces WHERE id IN ({marks})", chunk)
        ids, vectors = [], []
        for face_id, blob in rows:
            ids.append(face_id)
            vectors.append(np.frombuffer(blob, dtype=np.float32))
        if ids:
            index.add(ids, np.vstack(vectors))


def _count(con: sqlite3.Connection, pack: str) -> int:
    return con.execute("SELECT COUNT(*) FROM faces WHERE pack = ?", (pack,)).fetchone()[0]
