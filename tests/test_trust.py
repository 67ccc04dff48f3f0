"""The library folder as a trust boundary: links never followed, forget complete even when cut
short, derived files tied to their database, damaged or foreign databases refused, and
`facefolio check` finding and repairing what is wrong (issue 18)."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from people_fixtures import put, synthetic_library

import facefolio
from facefolio.library import Library, LibraryError
from facefolio.library.indexes import forget_cached_indexes
from facefolio.library.people.people import People
from facefolio.library.storage.index import FaceIndex, index_path
from facefolio.library.upkeep.forget import forget_all

SECRET = "Secret Name"
# The code under test, also for the commands run as separate processes.
DESKTOP = str(Path(facefolio.__file__).resolve().parents[1])


def unit(n: int, seed: int = 0, dim: int = 128) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture
def lib_dir(tmp_path) -> Path:
    """A library of 12 faces: a named person (in people, the undo log and a scan note), an
    unnamed one, a saved index and a face crop in the thumbnail cache."""
    path = tmp_path / "lib"
    with synthetic_library(path, unit(12)) as lib:
        put(lib, [1, 2, 3])
        put(lib, [4, 5, 6])
        People(lib).name(1, SECRET)
        People(lib).reject_proposal(1, 2)
        lib.con.execute("INSERT INTO scan_notes(at, path, note) VALUES (0, '/synthetic/1.jpg', "
                        f"'the face at (1, 2, 3, 4) was not found again; not carried over: "
                        f"named ''{SECRET}''')")
        lib.index()
        lib.save_indexes()
    crops = path / "thumbnails" / "faces"
    crops.mkdir(parents=True, mode=0o700)
    os.chmod(crops.parent, 0o700)
    (crops / "1.jpg").write_bytes(b"crop of face 1")
    os.chmod(crops / "1.jpg", 0o600)
    return path


def run(*args: str) -> tuple[int, str, str]:
    proc = subprocess.run([sys.executable, "-m", "facefolio.cli", *args], capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": DESKTOP}, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def outside_files(tmp_path: Path) -> Path:
    other = tmp_path / "elsewhere"
    other.mkdir()
    for name in ("taxes.pdf", "holiday.jpg", "999.jpg", "1.jpg"):
        (other / name).write_bytes(name.encode())
        os.chmod(other / name, 0o644)
    return other


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mode & 0o777) for p in folder.iterdir()}


# -- links -----------------------------------------------------------------------------------
@pytest.mark.parametrize("link", ["thumbnails/faces", "thumbnails/photos", "thumbnails"])
def test_a_link_in_the_thumbnail_cache_is_never_followed(lib_dir, tmp_path, link):
    other = outside_files(tmp_path)
    before = snapshot(other)
    target = lib_dir / link
    if target.exists():
        import shutil
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(other, target_is_directory=True)
    with Library(lib_dir) as lib:  # tightening walks the folder: no chmod through the link
        assert any("link" in p for p in lib.problems)
        lib.remove_folder(1)  # faces leave: thumbnails are pruned
        lib.prune_missing()
    assert snapshot(other) == before
    code, out, err = run("--library", str(lib_dir), "forget", "--yes")
    assert code == 1 and "nothing was deleted" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert snapshot(other) == before
    code, out, _ = run("--library", str(lib_dir), "check")
    assert code == 1 and "link" in out
    code, out, _ = run("--library", str(lib_dir), "check", "--repair")
    assert "removed the link" in out and snapshot(other) == before
    assert not (lib_dir / link).is_symlink()


def test_forget_with_the_cache_a_link_deletes_nothing(lib_dir, tmp_path):
    other = outside_files(tmp_path)
    import shutil
    shutil.move(lib_dir / "thumbnails", other / "thumbnails")
    (lib_dir / "thumbnails").symlink_to(other / "thumbnails")
    with Library(lib_dir) as lib:
        faces = lib.counts()["faces"]
        with pytest.raises(LibraryError, match="nothing was deleted"):
            forget_all(lib)
        assert lib.counts()["faces"] == faces  # refused whole, before any change
    assert (other / "thumbnails" / "faces" / "1.jpg").exists()


def test_a_library_folder_that_is_itself_a_link_works(lib_dir, tmp_path):
    link = tmp_path / "linked-library"
    link.symlink_to(lib_dir, target_is_directory=True)
    os.chmod(lib_dir / "library.sqlite3", 0o644)
    with Library(link) as lib:
        assert lib.counts()["faces"] == 12 and not lib.problems
        assert lib.search_face(1, top=3)
        forget_all(lib)
    assert os.stat(lib_dir / "library.sqlite3").st_mode & 0o777 == 0o600
    assert not (lib_dir / "thumbnails").exists()


def test_a_database_that_is_a_link_is_refused(lib_dir, tmp_path):
    moved = tmp_path / "elsewhere.sqlite3"
    db = lib_dir / "library.sqlite3"
    db.rename(moved)
    db.symlink_to(moved)
    before = moved.read_bytes()
    code, out, err = run("--library", str(lib_dir), "status")
    assert code == 1 and "is a link" in err and "Traceback" not in err
    assert moved.read_bytes() == before and not Path(f"{moved}-wal").exists()


# -- forget ----------------------------------------------------------------------------------
def every_file_holding(folder: Path, needles: list[bytes]) -> list[str]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            found += [f"{path.name}: {n[:20]!r}" for n in needles if n in data]
    return found


def needles_of(lib_dir: Path) -> list[bytes]:
    with Library(lib_dir) as lib:
        blobs = [lib.embedding(i)[1].tobytes() for i in (1, 5, 12)]
    return [SECRET.encode(), SECRET.encode("utf-16-le")] + [b[:64] for b in blobs] + \
        [b[-64:] for b in blobs]


def test_a_settings_file_that_is_a_link_a_pipe_or_huge_is_not_read(lib_dir, tmp_path):
    """settings.json is read only as a plain file of the library's own: a link out of the
    folder is not followed, a pipe (which would block the open for ever) and a device are
    not opened for reading, a huge file is not read whole; each is one clear line, and the
    library opens with the default settings."""
    settings = lib_dir / "settings.json"
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(json.dumps({"det_threshold": 0.9}))
    cases = {"link": lambda: settings.symlink_to(elsewhere),
             "pipe": lambda: os.mkfifo(settings),
             "huge": lambda: settings.write_bytes(b" " * (2 << 20) + b"{}")}
    said = {"link": "is a link to another place", "pipe": "is not a plain file",
            "huge": "is larger than 1 MB"}
    for name, make in cases.items():
        settings.unlink(missing_ok=True)
        make()
        with Library(lib_dir) as lib:
            assert lib.settings.det_threshold == 0.7, name  # not the link's 0.9
            assert any(said[name] in p for p in lib.problems), (name, lib.problems)
    assert json.loads(elsewhere.read_text()) == {"det_threshold": 0.9}  # left alone


def test_forget_leaves_no_name_and_no_embedding_in_any_file(lib_dir):
    needles = needles_of(lib_dir)
    assert every_file_holding(lib_dir, needles)  # the search below can find them
    code, out, err = run("--library", str(lib_dir), "forget", "--yes")
    assert code == 0, err
    assert every_file_holding(lib_dir, needles) == []
    code, out, _ = run("--library", str(lib_dir), "status")
    assert SECRET not in out and "decisions a scan could not carry over" not in out


def test_every_table_is_listed_as_forgotten_or_kept(tmp_path):
    """Fails when a table is added to the schema without saying what forget does with it."""
    from facefolio.library.upkeep.forget import FORGOTTEN_TABLES, KEPT_TABLES
    with Library(tmp_path / "lib") as lib:
        tables = {r[0] for r in lib.con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
    listed = set(FORGOTTEN_TABLES) | set(KEPT_TABLES)
    assert tables - listed == set(), "list these tables in forget.FORGOTTEN_TABLES or KEPT"
    assert not set(FORGOTTEN_TABLES) & set(KEPT_TABLES)


def test_an_interrupted_forget_finishes_at_the_next_open(lib_dir):
    """Killed at its first unlink (the rows are gone, the files not yet): the next open,
    even a read of `status`, finishes the job before anything else runs."""
    needles = needles_of(lib_dir)
    script = textwrap.dedent(f"""
        import os, pathlib
        from facefolio.library import Library
        from facefolio.library.upkeep import forget
        real = pathlib.Path.unlink
        def killed(self, *a, **k):
            os._exit(9)
        pathlib.Path.unlink = killed
        forget.shutil.rmtree = lambda *a, **k: os._exit(9)
        with Library({str(lib_dir)!r}) as lib:
            forget.forget_all(lib)
    """)
    proc = subprocess.run([sys.executable, "-c", script], env={**os.environ,
                          "PYTHONPATH": DESKTOP}, capture_output=True, timeout=120)
    assert proc.returncode == 9, proc.stderr
    assert index_path(lib_dir, "yunet-sface").exists()  # cut short: the files are still there
    code, out, err = run("--library", str(lib_dir), "status")
    assert code == 0, err
    assert every_file_holding(lib_dir, needles) == []
    assert not index_path(lib_dir, "yunet-sface").exists()
    assert not (lib_dir / "thumbnails").exists()
    with Library(lib_dir) as lib:
        assert lib.counts()["faces"] == 0
        assert lib.con.execute("SELECT value FROM meta WHERE key = 'forget_pending'"
                               ).fetchone()[0] == "0"


# -- the database and its derived files ------------------------------------------------------
def true_similarity(lib: Library, a: int, b: int) -> float:
    return float(lib.embedding(a)[1] @ lib.embedding(b)[1])


def assert_search_is_the_faces_own(lib: Library) -> None:
    results = lib.search_face(3, top=11)
    assert len(results) == 11
    for r in results:
        assert r.similarity == pytest.approx(true_similarity(lib, 3, r.face_id), abs=1e-4)


def test_a_new_database_beside_an_old_index_rebuilds_it(lib_dir):
    for suffix in ("", "-wal", "-shm"):
        Path(f"{lib_dir / 'library.sqlite3'}{suffix}").unlink(missing_ok=True)
    with synthetic_library(lib_dir, unit(12, seed=7)) as lib:  # other faces, same ids
        assert_search_is_the_faces_own(lib)
    assert not (lib_dir / "thumbnails" / "faces" / "1.jpg").exists()  # another face 1's crop


def test_an_emptied_database_beside_its_index_is_refused(lib_dir):
    db = lib_dir / "library.sqlite3"
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    db.write_bytes(b"")
    index_before = index_path(lib_dir, "yunet-sface").read_bytes()
    code, out, err = run("--library", str(lib_dir), "status")
    assert code == 1 and "is empty (0 bytes)" in err and "check --repair" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert db.stat().st_size == 0
    assert index_path(lib_dir, "yunet-sface").read_bytes() == index_before
    code, out, err = run("--library", str(lib_dir), "check", "--repair")
    assert "new database" in out
    with Library(lib_dir) as lib:
        assert lib.counts()["faces"] == 0 and lib.integrity_ok()


def test_a_truncated_database_is_refused(lib_dir):
    db = lib_dir / "library.sqlite3"
    with Library(lib_dir) as lib:
        lib.con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = db.read_bytes()
    db.write_bytes(data[:len(data) // 2])
    with pytest.raises(LibraryError, match="is truncated"):
        Library(lib_dir)
    assert db.read_bytes() == data[:len(data) // 2]


def test_a_changed_index_file_is_rebuilt_not_trusted(lib_dir):
    path = index_path(lib_dir, "yunet-sface")
    forget_cached_indexes(lib_dir)  # as a new process would
    st = path.stat()
    data = bytearray(path.read_bytes())
    # Swap the vectors of two faces inside the file: same size, same mtime.
    saved = FaceIndex.load(path, 128)
    a, b = (saved._index.get_items([i], return_type="numpy")[0].astype(np.float32).tobytes()
            for i in (3, 4))
    i, j = bytes(data).find(a), bytes(data).find(b)
    assert i > 0 and j > 0
    data[i:i + len(a)], data[j:j + len(b)] = b, a
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    with Library(lib_dir) as lib:
        assert_search_is_the_faces_own(lib)


def test_an_index_from_before_library_ids_is_kept_when_it_is_this_librarys(lib_dir):
    """No rebuild on upgrade: metadata without an id is trusted once its vectors are checked."""
    meta_path = index_path(lib_dir, "yunet-sface").with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    del meta["library_id"]
    meta_path.write_text(json.dumps(meta))
    forget_cached_indexes(lib_dir)
    with Library(lib_dir) as lib:
        index = lib.index()
        assert index.generation == meta["generation"]  # loaded, not rebuilt
        assert_search_is_the_faces_own(lib)
    for suffix in ("", "-wal", "-shm"):  # ... but not beside another database
        Path(f"{lib_dir / 'library.sqlite3'}{suffix}").unlink(missing_ok=True)
    forget_cached_indexes(lib_dir)
    with synthetic_library(lib_dir, unit(12, seed=9)) as lib:
        assert_search_is_the_faces_own(lib)


def test_another_programs_database_is_refused_untouched(tmp_path):
    folder = tmp_path / "lib"
    folder.mkdir()
    db = folder / "library.sqlite3"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE contacts (name TEXT)")
    con.execute("INSERT INTO contacts VALUES ('someone')")
    con.commit()
    con.close()
    before = db.read_bytes()
    for command in (["status"], ["scan", str(tmp_path)], ["check", "--repair"]):
        code, out, err = run("--library", str(folder), *command)
        assert code == 1, command
        assert "not a Facefolio library" in (err + out) and "Traceback" not in err
    assert db.read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == ["library.sqlite3"]


def overwrite_a_faces_page(lib_dir: Path, face_id: int = 200) -> None:
    """Random bytes over the page of the faces table that holds this face's embedding."""
    with Library(lib_dir) as lib:
        needle = lib.embedding(face_id)[1].tobytes()
        lib.con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = lib.con.execute("PRAGMA page_size").fetchone()[0]
    data = (lib_dir / "library.sqlite3").read_bytes()
    at = data.find(needle)
    assert at > 0
    with open(lib_dir / "library.sqlite3", "r+b") as fh:
        fh.seek(at // page_size * page_size)
        fh.write(np.random.default_rng(1).bytes(page_size))


def test_a_damaged_faces_table_is_found_and_writes_stop(tmp_path):
    lib_dir = tmp_path / "lib"
    with synthetic_library(lib_dir, unit(400)) as lib:
        put(lib, range(1, 20))
        People(lib).name(1, "Anna")
    overwrite_a_faces_page(lib_dir)
    code, out, _ = run("--library", str(lib_dir), "check")
    assert code == 1 and "damaged" in out
    db_before = (lib_dir / "library.sqlite3").read_bytes()
    code, out, err = run("--library", str(lib_dir), "name", "1", "Bea")
    assert code == 1 and "damaged" in err and "check --repair" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert (lib_dir / "library.sqlite3").read_bytes() == db_before  # nothing written
    code, out, err = run("--library", str(lib_dir), "people")  # reading still works
    assert code == 0 and "Anna" in out
    code, out, err = run("--library", str(lib_dir), "check", "--repair")
    assert "salvaged into a new database" in out and "1 people" in out, out
    assert "lost (unreadable):" in out and "faces" in out  # the broken page's rows, said
    assert list(lib_dir.glob("library.sqlite3.damaged-*"))
    with Library(lib_dir) as lib:
        assert lib.integrity_ok() and not lib.readonly
        assert [p.name for p in lib.people()] == ["Anna"]
        faces = lib.counts()["faces"]
        assert 300 < faces < 400  # all but the faces of one page
        assert len(lib.faces(person_id=1)) == 19
    assert run("--library", str(lib_dir), "check")[0] == 0


def test_a_faces_table_broken_at_its_root_is_salvaged_from_its_leaves(tmp_path):
    lib_dir = tmp_path / "lib"
    with synthetic_library(lib_dir, unit(400)) as lib:
        put(lib, range(1, 20))
        People(lib).name(1, "Anna")
        lib.con.execute("DELETE FROM faces WHERE id > 390")  # deleted rows stay deleted
        faces = {f.id: lib.embedding(f.id)[1].tobytes() for f in lib.faces()}
        lib.con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = lib.con.execute("PRAGMA page_size").fetchone()[0]
        root = lib.con.execute("SELECT rootpage FROM sqlite_master WHERE name = 'faces'"
                               ).fetchone()[0]
    with open(lib_dir / "library.sqlite3", "r+b") as fh:
        fh.seek((root - 1) * page_size)
        fh.write(np.random.default_rng(3).bytes(page_size))
    code, out, err = run("--library", str(lib_dir), "check", "--repair")
    assert "390 faces" in out, out + err
    with Library(lib_dir) as lib:
        assert lib.integrity_ok()
        assert {f.id: lib.embedding(f.id)[1].tobytes() for f in lib.faces()} == faces
        assert {f.id for f in lib.faces(person_id=1)} == set(range(1, 20))
        assert lib.person(1).name == "Anna"


def test_corruption_met_by_a_command_stops_later_writes(tmp_path):
    lib_dir = tmp_path / "lib"
    with synthetic_library(lib_dir, unit(400)) as lib:
        put(lib, range(1, 20))
    overwrite_a_faces_page(lib_dir)
    code, out, err = run("--library", str(lib_dir), "export", "--json")
    assert code == 1 and "damaged" in err and "Traceback" not in err
    code, out, err = run("--library", str(lib_dir), "hide", "1")
    assert code == 1 and "damaged" in err


def test_check_finds_and_repairs_derived_files(lib_dir):
    from facefolio.library.upkeep.check import check_library
    assert check_library(lib_dir).ok
    index_path(lib_dir, "yunet-sface").write_bytes(b"junk")
    (lib_dir / ".index-yunet-sface.hnsw.ff999999-abcdefgh.tmp").write_bytes(b"half a save")
    (lib_dir / "thumbnails" / "faces" / "777.jpg").write_bytes(b"crop of a face that is gone")
    os.chmod(lib_dir / "library.sqlite3", 0o644)
    report = check_library(lib_dir)
    text = "\n".join(report.findings)
    assert "index-yunet-sface.hnsw" in text and ".tmp" in text and "thumbnails" in text
    assert "other accounts can read" in text
    report = check_library(lib_dir, repair=True)
    assert report.ok, report.findings
    assert check_library(lib_dir).ok
    with Library(lib_dir) as lib:
        assert_search_is_the_faces_own(lib)
