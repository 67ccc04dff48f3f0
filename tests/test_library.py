"""The library folder: schema, the derived index, search, and the no-Qt rule."""
from __future__ import annotations

import csv
import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from facefolio.library import Library, LibraryError, NotFoundError, Scanner
from facefolio.library.storage.index import FaceIndex, index_path
from facefolio.library.storage.schema import SCHEMA_VERSION


def test_engine_and_library_never_import_qt():
    code = ("import sys; import facefolio.engine, facefolio.library, facefolio.cli; "
            "import facefolio.library.scan.scanner, facefolio.library.photos.search; "
            "bad = [m for m in sys.modules if m.startswith(('PySide6', 'shiboken6', "
            "'facefolio.app'))]; print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def scanned(tmp_path_factory, datasets):
    """The deepface-unit photos scanned once, through the real pipeline."""
    root = tmp_path_factory.mktemp("scanned")
    photos = root / "photos"
    shutil.copytree(datasets / "deepface-unit", photos,
                    ignore=shutil.ignore_patterns("*.csv"))
    with Library(root / "lib") as lib:
        lib.add_folder(photos)
        for _ in Scanner(lib).scan():
            pass
    return root / "lib", photos


def test_schema_and_pragmas(tmp_path):
    with Library(tmp_path / "lib") as lib:
        assert lib.con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert lib.con.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert lib.con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    # A database from a newer Facefolio is refused, not damaged.
    con = sqlite3.connect(tmp_path / "lib" / "library.sqlite3")
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(LibraryError, match="newer Facefolio"):
        Library(tmp_path / "lib")


def test_unusable_library_paths(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(LibraryError, match="is a file"):
        Library(tmp_path / "file")
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "library.sqlite3").write_bytes(b"not a database at all" * 100)
    with pytest.raises(LibraryError, match="is not an SQLite database"):
        Library(garbage)
    with pytest.raises(LibraryError, match="no library"):
        Library(tmp_path / "absent", create=False)
    with Library(tmp_path / "ok") as lib:
        with pytest.raises(LibraryError, match="does not exist"):
            lib.add_folder(tmp_path / "no-such-folder")
        with pytest.raises(NotFoundError):
            lib.face(12345)


def test_search_finds_the_same_person_first(scanned, datasets):
    lib_dir, photos = scanned
    identities = {}
    with open(datasets / "deepface-unit" / "identities.csv") as fh:
        for row in csv.DictReader(fh):
            identities[row["file"]] = row["person"]
    with Library(lib_dir) as lib:
        hits = 0
        queries = 0
        for name, person in identities.items():
            photo = lib.photo_by_path(photos / name)
            faces = sorted(lib.faces(photo_id=photo.id), key=lambda f: -f.box[2] * f.box[3])
            others = [n for n, p in identities.items() if p == person and n != name]
            if not faces or not others:
                continue
            results = lib.search_face(faces[0].id, top=1)
            queries += 1
            hits += identities.get(Path(results[0].photo).name) == person
            assert all(r.face_id != faces[0].id for r in results)
        # Top-1 of "find this face" is the same person for nearly every query.
        assert queries >= 50
        assert hits / queries >= 0.95, (hits, queries)


def test_search_by_image_and_threshold(scanned, datasets, tmp_path):
    from facefolio.library import search_image

    lib_dir, photos = scanned
    with Library(lib_dir) as lib:
        outside = tmp_path / "query.jpg"
        shutil.copy(datasets / "deepface-unit" / "img1.jpg", outside)
        results = search_image(lib, outside, top=5)
        assert results[0].photo == str(photos / "img1.jpg")
        assert results[0].similarity > 0.99
        sims = [r.similarity for r in results]
        assert sims == sorted(sims, reverse=True)
        strict = search_image(lib, outside, top=50, min_similarity=0.5)
        assert strict and all(r.similarity >= 0.5 for r in strict)
        noface = tmp_path / "blank.png"
        from PIL import Image
        Image.new("RGB", (300, 300), "white").save(noface)
        with pytest.raises(LibraryError, match="no face found"):
            search_image(lib, noface)


def test_faces_of_an_outside_photo_left_to_right_with_typed_errors(scanned, datasets,
                                                                    tmp_path, monkeypatch):
    """"Find people in a photo": every face, in reading order, each matched; what goes wrong
    comes as a type the app can word (no face, a pack not installed)."""
    from facefolio.library.photos.search import (
        NoFaceError,
        PackNotInstalledError,
        detect_faces,
        search_faces,
    )
    lib_dir, photos = scanned
    with Library(lib_dir) as lib:
        found = detect_faces(lib, datasets / "deepface-unit" / "couple.jpg")
        assert len(found.faces) == 2
        assert found.faces[0].box[0] < found.faces[1].box[0]
        assert found.pixels.ndim == 3 and found.scale >= 1
        matches = search_faces(lib, found.faces, top=3)
        assert [m[0].photo for m in matches] == [str(photos / "couple.jpg")] * 2
        assert matches[0][0].face_id != matches[1][0].face_id
        blank = tmp_path / "wall.png"
        from PIL import Image
        Image.new("RGB", (300, 300), "grey").save(blank)
        with pytest.raises(NoFaceError) as no_face:
            detect_faces(lib, blank)
        assert no_face.value.path == str(blank)
        monkeypatch.setenv("INSIGHTFACE_HOME", str(tmp_path / "no-models"))
        lib.settings.pack = "buffalo_l"
        with pytest.raises(PackNotInstalledError) as missing:
            detect_faces(lib, blank)
        assert missing.value.pack == "buffalo_l" and "no-models" in missing.value.folder


def test_index_recall_against_exact_search():
    """recall@10 >= 0.99 at the shipped ef on an index big and alike enough for ef to matter:
    20,000 faces of 1,000 people with SFace-like statistics (same person ~0.6 cosine, two
    people ~0.15). The same queries at ef = 10 lose recall: the check has teeth."""
    from facefolio.library.storage.index import EF_SEARCH
    rng = np.random.default_rng(7)
    dim, people, per = 128, 1000, 20
    shared = _unit(rng.standard_normal(dim))
    centres = _unit(_unit(rng.standard_normal((people, dim))) + 0.42 * shared)
    faces = _unit(np.repeat(centres, per, axis=0)
                  + 0.82 * _unit(rng.standard_normal((people * per, dim))))
    index = FaceIndex(dim, capacity=len(faces))
    index.add(np.arange(len(faces)), faces)
    queries = _unit(centres[:300] + 0.82 * _unit(rng.standard_normal((300, dim))))
    exact = np.argsort(-(queries @ faces.T), axis=1)[:, :10]

    def recall(ef: int) -> float:
        got, _ = index.query_many(queries, 10, ef=ef, num_threads=1)
        return float(np.mean([len(set(g) & set(e)) / 10 for g, e in zip(got, exact)]))
    assert recall(EF_SEARCH) >= 0.99
    assert recall(10) < recall(EF_SEARCH)


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


def test_index_is_rebuilt_when_missing_stale_or_corrupt(scanned, tmp_path):
    lib_dir, _ = scanned
    copy = tmp_path / "copy"
    shutil.copytree(lib_dir, copy)
    import facefolio.library.indexes as library_module

    def fresh_index(lib: Library) -> FaceIndex:
        library_module._INDEXES.clear()  # as a new process would see it
        return lib.index()

    with Library(copy) as lib:
        ids = {f.id for f in lib.faces()}
        path = index_path(copy, lib.settings.pack)
        assert fresh_index(lib).ids() == ids
        # corrupt
        path.write_bytes(b"\0" * 100)
        assert fresh_index(lib).ids() == ids
        # missing
        path.unlink()
        assert fresh_index(lib).ids() == ids
        assert path.exists()  # and saved again
        # stale: faces deleted behind the index's back (another process)
        victim = lib.faces()[0]
        lib.con.execute("DELETE FROM photos WHERE id = ?", (victim.photo_id,))
        remaining = {f.id for f in lib.faces()}
        assert fresh_index(lib).ids() == remaining
        meta = json.loads(path.with_suffix(".json").read_text())
        assert meta["count"] == len(remaining)


def test_remove_folder_keeps_people(scanned, tmp_path):
    lib_dir, _ = scanned
    copy = tmp_path / "copy2"
    shutil.copytree(lib_dir, copy)
    with Library(copy) as lib:
        lib.con.execute("INSERT INTO people(name, created_at) VALUES ('Ann', 0)")
        folder = lib.folders()[0]
        removed = lib.remove_folder(folder.id)
        assert removed > 0
        assert lib.faces() == [] and lib.folders() == []
        assert [p.name for p in lib.people()] == ["Ann"]
        assert len(lib.index()) == 0
