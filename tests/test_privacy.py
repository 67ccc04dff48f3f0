"""Privacy by proof: an owner-only library, and a forget that reaches every file and process.

Also the index's safety when several processes save it (issue 8): unique temp files, and
metadata that cannot be paired with the wrong index file.
"""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import json  # noqa: E402
import stat  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from app_fixtures import make_photos, photo_folder, scanned_library, scanned_template  # noqa: E402,F401

from facefolio.library import Library, Scanner  # noqa: E402
from facefolio.library import indexes as library_module  # noqa: E402
from facefolio.library.storage import privacy
from facefolio.library.storage.index import FaceIndex, index_path  # noqa: E402
from facefolio.library.storage.thumbcache import prune_thumbnails  # noqa: E402
from facefolio.library.upkeep.forget import forget_all  # noqa: E402

DIM = 128
WAIT = 60000
FACEFOLIO = Path(sys.executable).parent / "facefolio"


def unit_vectors(n: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def stored(index: FaceIndex, face_ids) -> list[bytes]:
    """The bytes hnswlib keeps for these faces (cosine space: its own normalised copy)."""
    return [v.astype(np.float32).tobytes()
            for v in index._index.get_items(list(face_ids), return_type="numpy")]


def files_holding(folder: Path, needles: list[bytes]) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                  if p.is_file() and any(n in p.read_bytes() for n in needles))


# -- the index: removed faces leave the file --------------------------------------------------
@pytest.mark.parametrize("removed", [5, 100], ids=["overwritten", "compacted"])
def test_removed_faces_leave_the_index_file(tmp_path, removed):
    ids = np.arange(1, 301)
    index = FaceIndex(DIM, capacity=400)
    index.add(ids, unit_vectors(300))
    path = tmp_path / "index-test.hnsw"
    gone = list(range(1, removed + 1))
    needles = stored(index, gone)
    index.save(path, 1)
    assert len(files_holding(tmp_path, needles)) == 1  # the check can see them

    index.remove(gone)
    assert index.save(path, 2)
    assert files_holding(tmp_path, needles) == []
    kept = stored(index, [300])[0]
    assert kept in path.read_bytes()  # the live faces are still there
    # 5 of 300 are overwritten and marked; 100 pass the compaction fraction: a rebuild.
    assert index.deleted_marks() == (5 if removed == 5 else 0)
    reloaded = FaceIndex.load(path, DIM)
    assert reloaded.ids() == set(range(removed + 1, 301))
    hits = {n.face_id for n in reloaded.query(unit_vectors(300)[0], 20)}
    assert hits and not hits & set(gone)


# -- the index: forget, from another process, wins ---------------------------------------------
def bump_epoch(library_dir: Path) -> None:
    """What `forget` does first, from another connection (another process)."""
    with Library(library_dir) as other:
        forget_all(other)


def test_an_index_built_before_forget_is_never_saved(tmp_path):
    with Library(tmp_path / "lib") as lib:
        index = FaceIndex(DIM, epoch=lib.epoch)
        index.add([1, 2, 3], unit_vectors(3))
        path = index_path(lib.path, "test")
        bump_epoch(lib.path)
        assert index.save(path, 1) is False
        assert not list(lib.path.glob("*index-*"))


def test_a_save_racing_forget_is_taken_back(tmp_path):
    """Forget runs while hnswlib writes the temp file: the rename and the metadata land after
    forget deleted the index files. The saver notices and deletes what it wrote."""
    lib_dir = tmp_path / "lib"
    with Library(lib_dir) as lib:
        index = FaceIndex(DIM, epoch=lib.epoch)
    index.add([1, 2, 3], unit_vectors(3))
    hnsw = index._index

    class ForgetWhileSaving:
        def __getattr__(self, name):
            return getattr(hnsw, name)

        def save_index(self, tmp):
            bump_epoch(lib_dir)
            hnsw.save_index(tmp)
    index._index = ForgetWhileSaving()
    assert index.save(index_path(lib_dir, "test"), 1) is False
    assert not list(lib_dir.glob("*index-*"))


def test_open_index_drops_a_file_from_before_forget(tmp_path):
    """A file left by a process that died between its save and its second look."""
    from facefolio.library.storage.index import open_index
    with Library(tmp_path / "lib") as lib:
        old = FaceIndex(DIM, epoch=lib.epoch)
        old.add([1, 2], unit_vectors(2))
        path = index_path(lib.path, "test")
        assert old.save(path, 1)
        needles = stored(old, [1, 2])
        # Worst case: the generation even matches, so no catch-up would notice.
        lib.con.execute("UPDATE meta SET value = '7' WHERE key = 'epoch'")
        lib.con.execute("UPDATE meta SET value = '1' WHERE key = 'faces_generation'")
        fresh = open_index(lib.con, lib.path, "test", DIM)
        assert fresh.ids() == set() and fresh.epoch == 7
        assert files_holding(lib.path, needles) == []


# -- the index: two processes, one file ----------------------------------------------------------
# Writer w saves, over and over, an index of the same 300 faces with 40 others removed: writer 0
# keeps 1..260, writer 1 keeps 41..300. Same count, so only the deleted marks tell them apart.
WRITER = r'''
import sys, time
from pathlib import Path
import numpy as np
from facefolio.library.storage.index import FaceIndex
path, which, rounds = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
v = np.random.default_rng(0).standard_normal((300, 128)).astype(np.float32)
index = FaceIndex(128, capacity=400)
index.add(np.arange(1, 301), v / np.linalg.norm(v, axis=1, keepdims=True))
index.remove(range(261, 301) if which == 0 else range(1, 41))
while not (path.parent / "go").exists():
    time.sleep(0.001)
for _ in range(rounds):
    assert index.save(path, which)
'''
WRITER_SETS = {0: set(range(1, 261)), 1: set(range(41, 301))}


def test_two_processes_save_one_index_and_readers_never_mix_them(tmp_path):
    path = tmp_path / "index-test.hnsw"
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(w), "150"],
                                stderr=subprocess.PIPE, text=True) for w in (0, 1)]
    (tmp_path / "go").touch()
    loads, caught_up = 0, 0
    while any(w.poll() is None for w in writers) or loads == 0:
        if not _meta_exists(path):
            time.sleep(0.001)
            continue
        index = FaceIndex.load(path, DIM)
        loads += 1
        assert index.ids() == live_in_file(index)  # never a face the file has deleted
        assert index.ids() in WRITER_SETS.values()
        if index.generation >= 0:  # metadata trusted: it must be the file's own
            assert index.ids() == WRITER_SETS[index.generation]
        else:
            caught_up += 1
    for w in writers:
        assert w.wait() == 0, w.stderr.read()
    assert loads > 10
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    final = FaceIndex.load(path, DIM)
    assert final.ids() in WRITER_SETS.values()
    print(f"{loads} loads, {caught_up} read the marks from the file")


def live_in_file(index: FaceIndex) -> set[int]:
    """The truth, from hnswlib itself: labels whose vector it still hands out."""
    live = set()
    for label in index._index.get_ids_list():
        try:
            index._index.get_items([label])
        except RuntimeError:  # marked deleted
            continue
        live.add(int(label))
    return live


def _meta_exists(path: Path) -> bool:
    return path.exists() and path.with_suffix(".json").exists()


# -- an owner-only library ------------------------------------------------------------------------
def test_a_library_made_under_umask_022_is_owner_only(qtbot, tmp_path, monkeypatch):
    from facefolio.app.tasks import TaskPools
    from facefolio.app.thumbnails import ThumbnailProvider
    from facefolio.library.people.people import People
    # Library() tightens what it finds on open: off, so every writer must get it right itself.
    monkeypatch.setattr(privacy, "tighten", lambda folder, **_: [])
    photos = make_photos(tmp_path / "Photos", per_person=2)
    lib_dir = tmp_path / "library"
    old = os.umask(0o022)
    try:
        with Library(lib_dir) as lib:
            lib.add_folder(photos)
            for _ in Scanner(lib).scan():
                pass
            People(lib).cluster()
            lib.save_indexes()
            lib.settings.min_face = lib.settings.min_face + 1
            lib.save_settings()
            keys = [("face", f.id) for f in lib.faces()[:4]] + \
                   [("photo", p.id) for p in lib.photos()[:2]]
            counts = len(lib.faces()), len(lib.photos())
        pools = TaskPools()
        provider = ThumbnailProvider(lib_dir, pools)
        for key in keys:
            provider.pixmap(key)
        qtbot.waitUntil(lambda: all(provider.pixmap(k) is not None for k in keys), timeout=WAIT)
        pools.shutdown()
    finally:
        os.umask(old)
    made = {p.relative_to(lib_dir).parts[0] for p in lib_dir.rglob("*")}
    assert {"library.sqlite3", "settings.json", "thumbnails"} <= made
    assert any(p.name.startswith("index-") for p in lib_dir.iterdir())
    # The scan's workers cut every face's crop and every photo's tile (test_scan_pictures.py)
    assert len(list((lib_dir / "thumbnails" / "faces").iterdir())) == counts[0]
    assert len(list((lib_dir / "thumbnails" / "photos").iterdir())) == counts[1]
    assert loose_entries(lib_dir) == []


def loose_entries(folder: Path) -> list[str]:
    return [f"{p.relative_to(folder)} {stat.filemode(p.stat().st_mode)}"
            for p in [folder, *folder.rglob("*")] if p.stat().st_mode & 0o077]


def test_an_old_loose_library_is_tightened_on_open(tmp_path):
    """A library from before files were private (schema 1, umask 022): opening it migrates it
    (with a backup) and leaves every file owner-only, the backup included."""
    import sqlite3

    from facefolio.library.storage.schema import MIGRATIONS
    from facefolio.library.storage.store import DB_NAME
    lib_dir = tmp_path / "old"
    old = os.umask(0o022)
    try:
        (lib_dir / "thumbnails" / "faces").mkdir(parents=True)
        (lib_dir / "thumbnails" / "faces" / "1.jpg").write_bytes(b"a crop")
        (lib_dir / "index-yunet-sface.hnsw").write_bytes(b"an index")
        con = sqlite3.connect(lib_dir / DB_NAME)
        con.executescript(MIGRATIONS[0])
        con.execute("PRAGMA user_version = 1")
        con.close()
        assert len(loose_entries(lib_dir)) == 6
        with Library(lib_dir) as lib:
            assert lib.permission_problems == []
        assert (lib_dir / f"{DB_NAME}.v1.bak").exists()
        assert loose_entries(lib_dir) == []
        # Opened again in the same process: the folder's own entries are looked at again.
        (lib_dir / DB_NAME).chmod(0o644)
        (lib_dir / "exports").mkdir()
        with Library(lib_dir):
            pass
        assert loose_entries(lib_dir) == []
    finally:
        os.umask(old)


def _open_in_another_process(lib_dir: Path) -> None:
    code = "import sys; from facefolio.library import Library; Library(sys.argv[1]).close()"
    subprocess.run([sys.executable, "-c", code, str(lib_dir)], check=True, timeout=60)


def test_a_library_is_walked_in_full_once_then_by_its_own_entries(tmp_path):
    """Every process opens the library, and a full walk grows with its thumbnails (170 ms at
    20,000): the first clean walk is recorded, later opens look at the folder's own entries and
    their sub-folders, and anything loose there (an unzip, a copy under a loose umask) makes
    the walk go on in full. `check --repair` always walks in full."""
    from facefolio.library.storage import store
    from facefolio.library.upkeep.check import check_library
    lib_dir = tmp_path / "lib"
    with Library(lib_dir, create=True) as lib:
        assert store.walked_private(lib.con)
    crops = lib_dir / "thumbnails" / "faces"
    privacy.private_dir(crops.parent)
    privacy.private_dir(crops)
    crop = crops / "1.jpg"
    crop.write_bytes(b"a crop")
    crop.chmod(0o644)  # as by hand, deep inside: later opens do not look there
    _open_in_another_process(lib_dir)
    assert loose_entries(lib_dir) == ["thumbnails/faces/1.jpg -rw-r--r--"]
    # Loosened wholesale, the sub-folder with it: the walk goes on in full.
    crops.chmod(0o755)
    _open_in_another_process(lib_dir)
    assert loose_entries(lib_dir) == []
    crop.chmod(0o644)
    (lib_dir / "settings.json").write_text("{}")
    (lib_dir / "settings.json").chmod(0o644)
    _open_in_another_process(lib_dir)
    assert loose_entries(lib_dir) == []
    crop.chmod(0o644)
    check_library(lib_dir, repair=True)
    assert loose_entries(lib_dir) == []


def test_a_file_gone_between_listing_and_looking_is_no_problem(tmp_path, monkeypatch):
    """Another thread's save renames its temp file while an open looks at the folder (seen in
    CI: FileNotFoundError out of Library()): an entry gone since the listing is skipped, in
    the shallow look and the full walk alike, and is no permission problem."""
    lib_dir = tmp_path / "lib"
    Library(lib_dir, create=True).close()
    real = os.fwalk

    def listing_with_a_vanished_file(*args, **kwargs):
        for root, dirs, files, fd in real(*args, **kwargs):
            yield root, dirs, [*files, ".settings.json.ff1-gone.tmp"], fd
    monkeypatch.setattr(privacy.os, "fwalk", listing_with_a_vanished_file)
    for deep in (False, True):
        assert privacy.tighten(lib_dir, deep=deep) == []
    with Library(lib_dir) as lib:
        assert lib.permission_problems == []


# -- forget reaches the open app ---------------------------------------------------------------------
def test_forget_from_another_process_leaves_nothing_of_the_open_app(qtbot, scanned_library,
                                                                   tmp_path):
    from facefolio.app.session import LibrarySession
    from facefolio.app.thumbnails import ThumbnailProvider
    from facefolio.library.storage.store import DB_NAME
    lib_dir = scanned_library
    with Library(lib_dir) as lib:
        faces = lib.faces()
        face = faces[0]
        blob = lib.embedding(face.id)[1].tobytes()
    session = LibrarySession(lib_dir)
    provider = ThumbnailProvider(lib_dir, session.pools)
    try:
        # The app searches (this process now holds the index) and draws every face.
        found = []
        session.read(lambda library: library.search_face(face.id), found.append)
        keys = [("face", f.id) for f in faces] + [("photo", face.photo_id)]
        for key in keys:
            provider.pixmap(key)
        qtbot.waitUntil(lambda: bool(found) and all(provider.pixmap(k) is not None for k in keys),
                        timeout=WAIT)
        index = next(i for (lib, _), i in library_module._INDEXES.items()
                     if lib == str(lib_dir))
        in_index = stored(index, [face.id])[0]
        crop = (lib_dir / "thumbnails" / "faces" / f"{face.id}.jpg").read_bytes()
        needles = [blob, blob[:64], blob[-64:], in_index, in_index[:64], crop]
        assert files_holding(lib_dir, needles)  # the grep below can find them

        done = subprocess.run([str(FACEFOLIO), "--library", str(lib_dir), "forget", "--yes"],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr

        # The app's next moves: it saves its indexes, scans a new folder (the scan ends with
        # a save), and its views ask for the faces they showed again.
        saved = []
        session.write(lambda library: library.save_indexes(), on_result=saved.append)
        empty = tmp_path / "more photos"
        empty.mkdir()
        finished = []
        session.scanFinished.connect(finished.append)
        session.add_folders([str(empty)])
        qtbot.waitUntil(lambda: bool(saved and finished), timeout=WAIT)
        provider.cache.clear()
        for key in keys:
            provider.pixmap(key)
        qtbot.waitUntil(lambda: all(provider.pixmap(k) is not None for k in keys),
                        timeout=WAIT)
        assert all(provider.pixmap(k).width() <= 1 for k in keys)  # blank tiles: all gone
    finally:
        session.shutdown()
    assert files_holding(lib_dir, needles) == []
    assert (lib_dir / DB_NAME).exists()


@pytest.mark.parametrize("moment", ["decoding", "writing"])
def test_a_thumbnail_task_never_keeps_a_crop_after_forget(scanned_library, monkeypatch, moment):
    import facefolio.engine as engine
    from facefolio.app.thumbnails import ThumbnailTask
    from facefolio.library.storage import thumbcache
    lib_dir = scanned_library
    thumbcache.clear_cache(lib_dir)  # the scan cut them: the app cuts them again here
    with Library(lib_dir) as lib:
        face = lib.faces()[0]
    keys = [("face", face.id), ("photo", face.photo_id)]
    if moment == "decoding":  # forget runs while the task decodes the photo
        real_load = engine.load_still  # a photo's pixels, or a video face's frame

        def load(path, time_ms=None):
            image = real_load(path, time_ms)
            bump_epoch(lib_dir)
            return image
        monkeypatch.setattr(engine, "load_still", load)
    else:  # forget runs just before the write lands: the crop is written after the erase
        from facefolio.library.storage import privacy as privacy_module
        real_write = privacy_module.write_private

        def write(path, data, **kwargs):
            if not (lib_dir / "forgotten").exists():
                (lib_dir / "forgotten").touch()
                bump_epoch(lib_dir)
                Path(path).parent.mkdir(parents=True, exist_ok=True)  # forget took it
            real_write(path, data, **kwargs)
        monkeypatch.setattr(privacy_module, "write_private", write)
    out = ThumbnailTask(lib_dir, lib_dir / "thumbnails", keys)._make()
    assert [image for _key, image in out] == [None, None]
    crops = [p for p in (lib_dir / "thumbnails").rglob("*") if p.is_file()] \
        if (lib_dir / "thumbnails").exists() else []
    assert crops == []


def test_thumbnails_of_faces_and_photos_that_are_gone_are_pruned(qtbot, scanned_library):
    from facefolio.app.tasks import TaskPools
    from facefolio.app.thumbnails import ThumbnailProvider, ThumbnailTask
    lib_dir = scanned_library
    with Library(lib_dir) as lib:
        faces = lib.faces()
        keys = [("face", f.id) for f in faces] + [("photo", p.id) for p in lib.photos()]
        ThumbnailTask(lib_dir, lib_dir / "thumbnails", keys)._make()
        victim = faces[0]
        doomed = {f.id for f in faces if f.photo_id == victim.photo_id}
        lib.con.execute("DELETE FROM photos WHERE id = ?", (victim.photo_id,))
    thumbs = lib_dir / "thumbnails"
    photo_files = sorted((thumbs / "photos").iterdir())
    stale = photo_files[0].with_name(photo_files[0].name.split("-")[0] + "-00.jpg")
    stale.write_bytes(b"an older thumbnail of the same photo")
    os.utime(stale, ns=(1, 1))
    (thumbs / "faces" / ".12.jpg.x1y2.tmp").write_bytes(b"left by a crash")
    before = {p.name for p in (thumbs / "faces").iterdir()}
    assert {f"{i}.jpg" for i in doomed} <= before

    pools = TaskPools()
    ThumbnailProvider(lib_dir, pools)  # prunes on open
    qtbot.waitUntil(lambda: pools.running == 0, timeout=WAIT)
    pools.shutdown()
    left = {p.name for p in (thumbs / "faces").iterdir()}
    assert left == before - {f"{i}.jpg" for i in doomed} - {".12.jpg.x1y2.tmp"}
    photo_ids = {int(p.name.split("-")[0]) for p in (thumbs / "photos").iterdir()}
    assert victim.photo_id not in photo_ids and not stale.exists()
    assert len(photo_ids) == len(photo_files) - 1
    with Library(lib_dir) as lib:
        assert prune_thumbnails(lib) == 0  # nothing left to do


def test_forget_deletes_temp_files_of_interrupted_index_saves(scanned_library):
    with Library(scanned_library) as lib:
        lib.index()
        leftover = lib.path / ".index-yunet-sface.hnsw.abc123.tmp"
        leftover.write_bytes(lib.embedding(lib.faces()[0].id)[1].tobytes())
        forget_all(lib)
        assert not leftover.exists()
        assert not [p for p in lib.path.iterdir() if "index" in p.name]


def test_index_metadata_is_json_of_the_file_it_names(tmp_path):
    index = FaceIndex(DIM)
    index.add([1, 2], unit_vectors(2))
    path = tmp_path / "index-test.hnsw"
    index.save(path, 3)
    meta = json.loads(path.with_suffix(".json").read_text())
    st = path.stat()
    assert meta["file"] == [st.st_ino, st.st_size, st.st_mtime_ns]
    assert meta["generation"] == 3 and meta["count"] == 2
