"""The hnswlib index over face embeddings: a derived cache of the faces table.

One index per model pack (embeddings of different packs are never compared), keyed by face id,
cosine space. It is saved beside the database together with the faces generation it matches.
On open a stale index is caught up (faces added or removed since it was saved) and a missing
or unreadable one is rebuilt from SQLite, so losing it never loses data.

Privacy: a removed face's vector is overwritten before it is marked deleted (hnswlib's
mark_deleted alone keeps the vector, in memory and in every later save), and an index built
before a "forget" (the database's epoch moved) is never written and never loaded.

Several processes (the app, `facefolio cluster`) may save the same index: each writes its own
temp file (mkstemp: unique, 0600) and renames it into place, then writes the metadata
atomically. The metadata names the file it describes (inode, size, mtime); a reader that finds
the other one (a save in between, or a crash) reads the deleted marks from the file itself and
catches up with the database instead of trusting the wrong metadata.

Threads: hnswlib's own README warns that saving while adding is unsafe, so every call takes
the index's lock; only the library's writer adds, removes or saves.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import hnswlib
import numpy as np

from .store import pathname2url
from . import privacy
from . import store
from .store import faces_generation

log = logging.getLogger(__name__)

M = 16
EF_CONSTRUCTION = 200
# ef_search, measured on faces fitted to real SFace statistics at 1M faces (M 16,
# ef_construction 200; python tests/benchmarks/bench_search.py --faces 1000000 --ef 400,1600):
# recall@10 0.838 at ef 128, 0.885 at 400 (bare query p50 1.3 ms), 0.928 at 1600 (8.6 ms).
# 400: most of the recall ef can buy for little time; the same-person share of the first 10
# results was 0.873 against exact search's 0.881 already at 128. ef alone does not reach 0.99.
EF_SEARCH = 400
_GROW_STEP = 4096
# Removing a face overwrites its vector (hnswlib repairs the links around it: 3.4 ms a face)
# where a rebuild costs 0.73 ms per face kept, so a rebuild pays once more than ~22% of the
# faces go at once (`python tests/benchmarks/bench_index_removal.py --faces 100000 --remove
# 1000`; 7.6% at --faces 10000). Rebuild from the live vectors past this fraction of deleted
# marks: it also stops the file from growing with marks that new faces have not reused.
COMPACT_FRACTION = 0.2


class ForgottenIndex(Exception):
    """The index was built before "forget" ran: none of it may be used or written."""


class ForeignIndex(Exception):
    """The index file was saved by another library (another database in this folder)."""


@dataclass(frozen=True)
class Neighbour:
    face_id: int
    similarity: float


class FaceIndex:
    """Nearest-neighbour search over one pack's face embeddings."""

    def __init__(self, dim: int, capacity: int = _GROW_STEP, *, epoch: int | None = None,
                 library_id: str | None = None) -> None:
        self.dim = dim
        self._lock = threading.RLock()
        self._index = _new_hnsw(dim, capacity)
        self._ids: set[int] = set()
        self._deleted: set[int] = set()  # labels marked deleted (vectors overwritten)
        self.generation = -1
        self.epoch = epoch  # the library's "forget" epoch it was built in (None: no library)
        self.library_id = library_id  # the database it was built from (None: no library)

    # -- building -------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, face_id: int) -> bool:
        return face_id in self._ids

    def ids(self) -> set[int]:
        with self._lock:
            return set(self._ids)

    def deleted_marks(self) -> int:
        with self._lock:
            return len(self._deleted)

    def add(self, face_ids: np.ndarray | list[int], vectors: np.ndarray) -> None:
        face_ids = np.asarray(face_ids, dtype=np.int64)
        if len(face_ids) == 0:
            return
        with self._lock:
            needed = len(self._ids) + len(self._deleted) + len(face_ids)
            if needed > self._index.get_max_elements():
                self._index.resize_index(needed + _GROW_STEP + needed // 4)
            self._index.add_items(np.asarray(vectors, dtype=np.float32), face_ids,
                                  replace_deleted=True)
            added = {int(i) for i in face_ids}
            self._ids.update(added)
            self._deleted -= added

    def remove(self, face_ids) -> None:
        """Take faces out so that their vectors are gone from memory and the next save."""
        with self._lock:
            gone = sorted({int(f) for f in face_ids} & self._ids)
            if not gone:
                return
            keep = self._ids.difference(gone)
            if len(self._deleted) + len(gone) > COMPACT_FRACTION * len(keep):
                self._rebuild(keep)
                return
            noise = np.random.default_rng().standard_normal((len(gone), self.dim))
            noise /= np.linalg.norm(noise, axis=1, keepdims=True)
            # add_items on a live label replaces its vector in place (and repairs its links).
            self._index.add_items(noise.astype(np.float32), np.asarray(gone, np.int64))
            for face_id in gone:
                self._index.mark_deleted(face_id)
            self._ids = keep
            self._deleted.update(gone)

    def _rebuild(self, keep: set[int]) -> None:
        labels = np.array(sorted(keep), dtype=np.int64)
        index = _new_hnsw(self.dim, len(labels) + _GROW_STEP)
        if len(labels):
            vectors = self._index.get_items(labels, return_type="numpy")
            index.add_items(vectors.astype(np.float32), labels)
        self._index, self._ids, self._deleted = index, keep, set()

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
    def save(self, path: Path, generation: int, *, con: sqlite3.Connection | None = None
             ) -> bool:
        """Write the index and its metadata atomically, owner-only. False, writing nothing,
        when "forget" ran since this index was built (its faces must not come back).

        The index goes to a temp file that is fsynced and checked to hold every byte hnswlib
        meant to write (on a full disk it writes a short file and says nothing) before it
        replaces the old one, so a failed save keeps the old index and raises OSError. The
        metadata carries the library's id and the file's sha256: a file that is not this
        library's, or whose bytes changed, is rebuilt, never used."""
        with self._lock:
            if not _same_epoch(path, self.epoch, con):
                return False
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=privacy.temp_prefix(path.name),
                                       suffix=".tmp")
            os.close(fd)
            try:
                self._index.save_index(tmp)
                # hnswlib recreates the file if something removed it meanwhile: umask mode.
                os.chmod(tmp, privacy.FILE_MODE)
                with open(tmp, "rb") as fh:
                    privacy.check_size(fh.fileno(), self._index.index_file_size(), tmp)
                    os.fsync(fh.fileno())
                    digest = hashlib.file_digest(fh, "sha256").hexdigest()
                meta = {"generation": generation, "dim": self.dim, "count": len(self._ids),
                        "deleted": sorted(self._deleted), "epoch": self.epoch,
                        "library_id": self.library_id, "sha256": digest,
                        "file": _identity(Path(tmp))}  # a rename keeps all three
                os.replace(tmp, path)
            finally:
                Path(tmp).unlink(missing_ok=True)
            privacy.write_private(_meta_path(path), json.dumps(meta).encode())
            # "forget" deletes the files after bumping the epoch: if it ran while we wrote, what
            # we wrote may have landed after its deletion. Look again, and take it back.
            if not _same_epoch(path, self.epoch, con):
                _take_back(path, meta["file"])
                return False
            self.generation = generation
            return True

    @classmethod
    def load(cls, path: Path, dim: int, *, epoch: int | None = None,
             library_id: str | None = None) -> FaceIndex:
        """Load a saved index; raises on anything missing, mismatched or unreadable, and
        ForgottenIndex when it was saved before the library's current epoch. With a
        library_id, an index saved by another library raises ForeignIndex: its labels name
        other faces."""
        meta = json.loads(_meta_path(path).read_text())
        if not isinstance(meta, dict) or meta.get("dim") != dim:
            raise ValueError("dimension mismatch")
        # Metadata from before libraries had ids names none: such an index is used only if
        # its vectors are the database's own (open_index checks a sample), then re-signed.
        if library_id is not None and meta.get("library_id") not in (None, library_id):
            raise ForeignIndex(f"saved by library {meta.get('library_id')}, "
                               f"this is {library_id}")
        if epoch is not None and meta.get("epoch") not in (None, epoch):
            raise ForgottenIndex(f"saved in epoch {meta.get('epoch')}, library is at {epoch}")
        self = cls.__new__(cls)
        self.dim, self.epoch, self.library_id = dim, epoch, library_id
        self._lock = threading.RLock()
        before = _identity(path)
        described = meta.get("file") == before
        if described:
            with open(path, "rb") as fh:
                st = os.fstat(fh.fileno())
                # Another process may rename its own save over the path between the stat
                # above and this open: that is a newer save the metadata does not describe
                # (caught up below), not damage. Only the described file's bytes must match.
                described = [st.st_ino, st.st_size, st.st_mtime_ns] == before
                if described and hashlib.file_digest(fh, "sha256").hexdigest() != meta.get("sha256"):
                    raise ValueError("checksum mismatch: the file changed since it was saved")
        self._index = hnswlib.Index(space="cosine", dim=dim)
        self._index.load_index(str(path), allow_replace_deleted=True)
        self._index.set_ef(EF_SEARCH)
        labels = {int(i) for i in self._index.get_ids_list()}  # deleted marks included
        if described and before == _identity(path):
            self._deleted = {int(i) for i in meta.get("deleted", [])}
            self.generation = int(meta["generation"])
        else:
            # The metadata describes another save: ask the file itself, and let the caller
            # catch up with the database (generation -1 is never current).
            log.info("index %s and its metadata differ: reading deleted marks", path)
            self._deleted = {i for i in labels if not _live(self._index, i)}
            self.generation = -1
        self._ids = labels - self._deleted
        if self.generation >= 0 and len(self._ids) != meta.get("count"):
            raise ValueError("count mismatch")
        return self

    def matches(self, con: sqlite3.Connection, pack: str, sample: int = 32) -> bool:
        """Whether the vectors of a sample of faces are the database's own (a last guard
        against an index of other faces: a copied or restored file)."""
        with self._lock:
            ids = sorted(self._ids)
            if not ids:
                return True
            step = max(1, len(ids) // sample)
            picked = ids[::step][:sample]
            rows = store.in_chunks(con, "SELECT id, embedding FROM faces WHERE id IN ({}) "
                                   "AND pack = ?", picked, pack)
            if not rows:
                return True  # none of them is left: catch_up removes them
            stored = self._index.get_items([r[0] for r in rows], return_type="numpy")
        truth = np.vstack([np.frombuffer(r[1], dtype=np.float32) for r in rows])
        truth = truth / np.maximum(np.linalg.norm(truth, axis=1, keepdims=True), 1e-12)
        stored = stored / np.maximum(np.linalg.norm(stored, axis=1, keepdims=True), 1e-12)
        return bool(np.all(np.einsum("ij,ij->i", truth, stored) > 0.999))


def _new_hnsw(dim: int, capacity: int) -> hnswlib.Index:
    index = hnswlib.Index(space="cosine", dim=dim)
    index.init_index(max_elements=max(capacity, 16), ef_construction=EF_CONSTRUCTION, M=M,
                     allow_replace_deleted=True)
    index.set_ef(EF_SEARCH)
    return index


def _live(index: hnswlib.Index, label: int) -> bool:
    try:
        index.get_items([label])  # raises for a label marked deleted
    except RuntimeError:
        return False
    return True


def _identity(path: Path) -> list[int]:
    st = os.stat(path)
    return [st.st_ino, st.st_size, st.st_mtime_ns]


def _take_back(path: Path, identity: list[int] | None) -> None:
    """Delete the index file and its metadata if they are the save `identity` names (None:
    whatever is there); a newer save by another process stays."""
    meta = _meta_path(path)
    for victim, ident in ((path, lambda: _identity(path)),
                          (meta, lambda: json.loads(meta.read_text()).get("file"))):
        try:
            if identity is None or ident() == identity:
                victim.unlink()
        except (OSError, ValueError):
            pass  # already gone, or not ours


def _same_epoch(path: Path, epoch: int | None, con: sqlite3.Connection | None) -> bool:
    """Whether the library beside `path` is still in `epoch` (no library: nothing to check)."""
    if epoch is None:
        return True
    if con is not None:
        return store.epoch(con) == epoch
    db = path.parent / store.DB_NAME
    try:  # mode=rw never creates a database; one SELECT takes no write lock
        other = sqlite3.connect(f"file:{pathname2url(str(db))}?mode=rw", uri=True, timeout=10)
        try:
            return store.epoch(other) == epoch
        finally:
            other.close()
    except sqlite3.Error:
        return not db.exists()


def _meta_path(path: Path) -> Path:
    return path.with_suffix(".json")


def index_path(library_dir: Path, pack: str) -> Path:
    return library_dir / f"index-{pack}.hnsw"


def open_index(con: sqlite3.Connection, library_dir: Path, pack: str, dim: int) -> FaceIndex:
    """The pack's index, brought in line with the faces table (caught up or rebuilt)."""
    path = index_path(library_dir, pack)
    generation = faces_generation(con)
    epoch = store.epoch(con)
    library_id = store.library_id(con)
    index: FaceIndex | None = None
    if path.exists():
        try:
            index = FaceIndex.load(path, dim, epoch=epoch, library_id=library_id)
            if not index.matches(con, pack):
                raise ValueError("its vectors are not the faces' own")
        except ForgottenIndex as exc:  # left by a process that died mid-forget
            log.warning("index %s predates 'forget' (%s): deleting it", path, exc)
            _take_back(path, None)
            index = None
        except Exception as exc:  # another library's, changed, unreadable: it is only a cache
            log.warning("index %s not used (%s): rebuilding", path, exc)
            index = None
    if index is not None and index.generation == generation:
        return index
    if index is None:
        index = FaceIndex(dim, capacity=_count(con, pack) + _GROW_STEP, epoch=epoch,
                          library_id=library_id)
    catch_up(con, index, pack)
    try:
        index.save(path, generation, con=con)
    except OSError as exc:  # a read-only or full disk: the index still answers searches
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
        rows = store.in_chunks(con, "SELECT id, embedding FROM faces WHERE id IN ({})", chunk)
        if rows:
            index.add([r[0] for r in rows],
                      np.vstack([np.frombuffer(r[1], dtype=np.float32) for r in rows]))


def _count(con: sqlite3.Connection, pack: str) -> int:
    return con.execute("SELECT COUNT(*) FROM faces WHERE pack = ?", (pack,)).fetchone()[0]
