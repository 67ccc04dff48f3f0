"""Export (a person's photos, CSV) and "delete all face data"."""
from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from facefolio.cli import main
from facefolio.library import Library, LibraryError, Scanner
from facefolio.library.photos.export import export_faces_csv, export_person_photos
from facefolio.library.upkeep.forget import forget_all
from facefolio.library.people.people import People

PHOTOS = ["img1.jpg", "img2.jpg", "img3.jpg", "couple.jpg"]


def scan(library: Library) -> None:
    for _ in Scanner(library).scan():
        pass


@pytest.fixture(scope="module")
def scanned_template(tmp_path_factory, datasets) -> tuple[Path, Path]:
    """One scan for the module: (photos folder, closed library folder to copy)."""
    root = tmp_path_factory.mktemp("export")
    folder = root / "photos"
    folder.mkdir()
    for name in PHOTOS:
        shutil.copy(datasets / "deepface-unit" / name, folder / name)
    with Library(root / "lib") as lib:
        lib.add_folder(folder)
        scan(lib)
    return folder, root / "lib"


@pytest.fixture
def photos(scanned_template) -> Path:
    return scanned_template[0]  # shared: tests only read it


@pytest.fixture
def scanned(tmp_path, scanned_template):
    shutil.copytree(scanned_template[1], tmp_path / "lib")
    with Library(tmp_path / "lib") as lib:
        yield lib


def largest(library: Library, photo: Path):
    faces = library.faces(photo_id=library.photo_by_path(photo).id)
    return max(faces, key=lambda f: f.box[2] * f.box[3])


@pytest.fixture
def anna(scanned, photos) -> int:
    """img1 and img2 show the same person (identities.csv): make her a named person."""
    faces = [largest(scanned, photos / n).id for n in ("img1.jpg", "img2.jpg")]
    return People(scanned).create_person(faces, name="Anna")


@pytest.mark.parametrize("mode", ["copy", "link", "symlink"])
def test_export_person_photos(scanned, anna, photos, tmp_path, mode):
    dest = tmp_path / "out" / "anna"
    clash = dest / "img1.jpg"
    dest.mkdir(parents=True)
    clash.write_bytes(b"someone else's file")
    assert export_person_photos(scanned, anna, dest, mode) == 2
    assert clash.read_bytes() == b"someone else's file"  # never overwritten
    names = sorted(p.name for p in dest.iterdir())
    assert names == ["img1 (2).jpg", "img1.jpg", "img2.jpg"]
    assert (dest / "img2.jpg").read_bytes() == (photos / "img2.jpg").read_bytes()
    assert (dest / "img2.jpg").is_symlink() == (mode == "symlink")
    # Again: the photos are already there, nothing is added.
    assert export_person_photos(scanned, anna, dest, mode) == 0
    assert len(list(dest.iterdir())) == 3


def test_export_person_errors(scanned, anna, tmp_path):
    with pytest.raises(LibraryError, match="no person with id 999"):
        export_person_photos(scanned, 999, tmp_path / "x")
    with pytest.raises(LibraryError, match="unknown export mode"):
        export_person_photos(scanned, anna, tmp_path / "x", "move")


def test_csv_matches_json(scanned, anna, tmp_path, capsys):
    out = io.StringIO()
    assert export_faces_csv(scanned, out) == len(scanned.faces())
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert main(["--library", str(scanned.path), "export", "--json"]) == 0
    faces = json.loads(capsys.readouterr().out)["faces"]
    assert len(rows) == len(faces)
    for row, face in zip(rows, faces):
        assert int(row["face_id"]) == face["face_id"] and row["photo"] == face["photo"]
        assert [float(row[k]) for k in "xywh"] == face["box"]
        assert float(row["score"]) == face["score"]
        assert (int(row["person_id"]) if row["person_id"] else None) == face["person_id"]
        assert (row["person_name"] or None) == face["person_name"]
        assert (row["taken_at"] or None) == face["taken_at"]
        assert (row["date_source"] or None) == face["date_source"]
        assert row["video"] == str(int(face["video"]))
        age = face["age"] or {}
        assert (float(row["age"]) if row["age"] else None) == age.get("estimate")
        assert (float(row["age_low"]) if row["age_low"] else None) == age.get("low")
        gender = face["gender"] or {}
        assert (row["gender"] or None) == gender.get("estimate")
    assert any(r["person_name"] == "Anna" for r in rows)


def test_forget_leaves_no_embedding_on_disk(scanned, anna, photos):
    lib_dir = scanned.path
    faces = scanned.faces()
    # A few faces' embeddings, and a shorter piece of each (in case a page split one).
    needles = []
    for face in faces[:3]:
        blob = scanned.embedding(face.id)[1].tobytes()
        needles += [blob, blob[:64], blob[-64:]]
    scanned.save_indexes()
    (scanned.thumbnail_dir / "ab").mkdir(parents=True)
    (scanned.thumbnail_dir / "ab" / "face.png").write_bytes(b"png")
    photo_bytes = {p.name: p.read_bytes() for p in photos.iterdir()}
    before = b"".join(p.read_bytes() for p in lib_dir.glob("library.sqlite3*"))
    assert all(n in before for n in needles)  # the search below would find them

    report = forget_all(scanned)
    assert report["faces"] == len(faces) and report["people"] >= 1
    counts = scanned.counts()
    assert counts["faces"] == counts["people"] == counts["photos"] == 0
    assert counts["folders"] == 1  # folders stay remembered
    assert not scanned.thumbnail_dir.exists() and not list(lib_dir.glob("index-*"))
    assert {p.name: p.read_bytes() for p in photos.iterdir()} == photo_bytes
    for path in lib_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(n in data for n in needles), f"embedding bytes left in {path.name}"
    assert scanned.integrity_ok()

    # A rescan finds the faces again, with fresh ids (ids are never reused).
    scan(scanned)
    again = scanned.faces()
    assert len(again) == len(faces)
    assert min(f.id for f in again) > max(f.id for f in faces)


def test_forget_refuses_while_another_reader_holds_the_wal(scanned, anna):
    other = sqlite3.connect(scanned.path / "library.sqlite3")
    other.execute("BEGIN")
    other.execute("SELECT COUNT(*) FROM faces").fetchone()
    try:
        with pytest.raises(LibraryError, match="still has the library"):
            forget_all(scanned)
    finally:
        other.close()
    assert scanned.counts()["faces"] == 0


@pytest.fixture
def cli():
    from facefolio import cli as cli_module

    return cli_module.main


def test_cli_forget_needs_yes(cli, scanned, capsys):
    faces = len(scanned.faces())
    assert cli(["--library", str(scanned.path), "forget"]) == 1
    err = capsys.readouterr().err
    assert "forget --yes" in err and err.count("\n") == 1
    assert len(scanned.faces()) == faces
    assert cli(["forget", "--yes", "--library", str(scanned.path)]) == 0
    assert "folders are still remembered" in capsys.readouterr().out
    assert scanned.counts()["faces"] == 0


def test_cli_export_person_and_csv(cli, scanned, anna, tmp_path, capsys):
    lib = ["--library", str(scanned.path)]
    assert cli([*lib, "export-person", "anna", str(tmp_path / "a"), "--symlink"]) == 0
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["img1.jpg", "img2.jpg"]
    assert cli([*lib, "export-person", str(anna), str(tmp_path / "b")]) == 0
    assert not (tmp_path / "b" / "img1.jpg").is_symlink()
    assert cli([*lib, "export-person", "Nobody", str(tmp_path / "c")]) == 1
    assert "no person named 'Nobody'" in capsys.readouterr().err

    capsys.readouterr()
    assert cli([*lib, "export", "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == len(scanned.faces())
