"""The faces' indexes as a `Library` reaches them: one hnswlib index per library folder and
model pack in this process, shared by every `Library` of that folder (`_INDEXES`), guarded by its
own lock, kept in line with the database by the writer; and search through them."""
from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np

from .storage import store, write_queue
from .storage.errors import LibraryError
from .storage.index import FaceIndex, catch_up, index_path, open_index
from .storage.records import SearchResult
from .storage.thumbcache import prune_thumbnails

log = logging.getLogger(__name__)

_INDEXES: dict[tuple[str, str], FaceIndex] = {}
_INDEXES_LOCK = threading.Lock()


def forget_cached_indexes(library_path: Path) -> None:
    """Drop this process's in-memory indexes of a library (after "forget")."""
    with _INDEXES_LOCK:
        for key in [k for k in _INDEXES if k[0] == str(library_path)]:
            del _INDEXES[key]


class IndexedSearch:
    """What a `Library` can do with its faces' indexes (library.py: `class Library`)."""

    # -- the derived index -----------------------------------------------------------------
    def index(self, pack: str | None = None) -> FaceIndex:
        """The pack's shared index, in line with the database as this connection sees it.

        Only the writer changes the index: when it is behind and this process has a writer
        running (the app), the catch-up is the writer's job, and this read waits for it
        (behind at most one photo's commit); with no writer here (a CLI command) this
        library is the only user and catches up itself."""
        pack = pack or self.settings.pack
        key = (str(self.path), pack)
        self._drop_caches_after_forget()
        index = _INDEXES.get(key)
        if (index is not None and index.library_id == self.library_id
                and index.generation == store.faces_generation(self.con)):
            return index  # current, and this database's own (a new one may reuse generations)
        queue = write_queue.running(self.path)
        if queue is not None and not queue.on_writer():
            return queue.call(lambda writer: writer.index(pack))
        with _INDEXES_LOCK:
            index = _INDEXES.get(key)
            if index is not None and index.library_id != self.library_id:
                index = None  # built from another database once in this folder
            if index is None:
                index = open_index(self.con, self.path, pack, self._dim(pack))
                _INDEXES[key] = index
                return index
        generation = store.faces_generation(self.con)
        if index.generation != generation:
            with index._lock:
                catch_up(self.con, index, pack)
                index.generation = generation
        return index

    def index_took(self, pack: str, before: int, after: int, removed: list[int],
                   added: list[int], vectors: np.ndarray | None) -> None:
        """The writer's commit moved the faces from generation `before` to `after`: a loaded
        index that was current takes the same change, without a catch-up (a pass over every
        face id); one that was behind waits for the next catch-up."""
        index = _INDEXES.get((str(self.path), pack))
        if index is None:
            return
        with index._lock:
            if index.generation != before:
                return
            index.remove(removed)
            if added:
                if vectors is None:  # copies: their vectors are in the database
                    added, vectors = self.embeddings(added, pack=pack)
                if len(added):
                    index.add(added, vectors)
            index.generation = after

    def sync_indexes(self, *, removed: bool = True) -> None:
        """Bring every open index in line with the database, and after faces or photos were
        removed, delete their thumbnails (a sweep of every id: not after a mere addition)."""
        for pack in set(self.packs_in_use()) | {self.settings.pack}:
            if (str(self.path), pack) in _INDEXES:
                self.index(pack)
        if removed:
            prune_thumbnails(self)

    def save_indexes(self) -> None:
        if self._drop_caches_after_forget():
            return  # what this process held was forgotten: nothing of it may be written
        generation = store.faces_generation(self.con)
        for (lib, pack), index in list(_INDEXES.items()):
            if lib == str(self.path):
                self.index(pack)
                try:
                    index.save(index_path(self.path, pack), generation, con=self.con)
                except OSError as exc:
                    # The old file stays whole (index.save checks before it renames); it is
                    # caught up from the database at the next open, so nothing is lost.
                    log.warning("cannot save index of %s: %s", pack, exc)

    def _drop_caches_after_forget(self) -> bool:
        """If "forget" ran (in any process) since this library was opened, drop the indexes
        this process holds for it. True when it did."""
        current = store.epoch(self.con)
        if current == self.epoch:
            return False
        self.epoch = current
        forget_cached_indexes(self.path)
        return True

    def _dim(self, pack: str) -> int:
        row = self.con.execute("SELECT embedding FROM faces WHERE pack = ? LIMIT 1",
                               (pack,)).fetchone()
        if row is not None:
            return len(row[0]) // 4
        from ..engine import PACKS  # noqa: PLC0415 - the engine is only needed for empty packs
        if pack not in PACKS:
            raise LibraryError(f"unknown model pack {pack!r}")
        return PACKS[pack].dim

    # -- search ----------------------------------------------------------------------------
    def search_face(self, face_id: int, *, top: int = 20, min_similarity: float | None = None
                    ) -> list[SearchResult]:
        """Faces most like this one (itself excluded), most similar first."""
        pack, vector = self.embedding(face_id)
        results = self.search_vector(vector, pack=pack, top=top + 1,
                                     min_similarity=min_similarity)
        return [r for r in results if r.face_id != face_id][:top]

    def search_vector(self, vector: np.ndarray, *, pack: str, top: int = 20,
                      min_similarity: float | None = None) -> list[SearchResult]:
        """Faces most like `vector`, most similar first; faces the user marked "not a face"
        or ignored are never answers."""
        if top <= 0:
            return []
        # A few more than asked, so that ignored faces dropped below still leave `top`.
        neighbours = self.index(pack).query(vector, top + max(8, top // 10))
        if min_similarity is not None:
            neighbours = [n for n in neighbours if n.similarity >= min_similarity]
        rows = self._search_rows([n.face_id for n in neighbours])
        results = []
        for n in neighbours:
            row = rows.get(n.face_id)
            if row is None or row[7]:  # removed since the index answered, or ignored
                continue
            results.append(SearchResult(face_id=n.face_id, photo=store.fs_path(row[0]),
                                        box=row[1:5], similarity=n.similarity,
                                        person_id=row[5], person_name=row[6]))
        return results[:top]

    def _search_rows(self, face_ids: list[int]) -> dict[int, tuple]:
        """Only what a search result shows, as plain tuples: at a million faces the full
        FaceRecord look-up was most of a search's time (bench_search.py --faces 1000000:
        3.9 ms of CPU against 1.4 ms for the index query)."""
        out: dict[int, tuple] = {}
        for start in range(0, len(face_ids), 900):
            part = face_ids[start:start + 900]
            cur = self.con.cursor()
            cur.row_factory = None
            for r in cur.execute(
                    "SELECT f.id, p.path, f.x, f.y, f.w, f.h, f.person_id, pe.name, f.ignored "
                    "FROM faces f JOIN photos p ON p.id = f.photo_id LEFT JOIN people pe "
                    f"ON pe.id = f.person_id WHERE f.id IN ({','.join('?' * len(part))})",
                    part):
                out[r[0]] = r[1:]
        return out
