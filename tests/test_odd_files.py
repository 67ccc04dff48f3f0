"""Odd file names, a second scanning process, old libraries, other tools' XMP (issue 8)."""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from facefolio.library import Library, Scanner
from facefolio.library.people.people import People
from facefolio.library.storage.scanlock import ScanBusyError, ScanLock
from facefolio.library.storage.schema import SCHEMA_VERSION

LATIN1 = os.fsdecode(b"caf\xe9 \xe0 Paris.jpg")  # Latin-1 bytes, not UTF-8


def scan(library: Library):
    last = None
    for last in Scanner(library).scan():
        pass
    return last


def cli(library: Path, *args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "facefolio.cli", "--library", str(library),
                           *map(str, args)], capture_output=True, timeout=600, **kwargs)


@pytest.mark.skipif(sys.platform == "win32", reason="Windows file names are UTF-16")
def test_a_file_name_that_is_not_utf8_is_scanned_searched_exported_and_named(
        tmp_path, datasets):
    folder = tmp_path / "photos"
    folder.mkdir()
    odd = folder / LATIN1
    shutil.copy(datasets / "deepface-unit" / "img1.jpg", odd)
    for name in ("img2.jpg", "img4.jpg"):  # the same person, so the search has company
        shutil.copy(datasets / "deepface-unit" / name, folder / name)
    lib = tmp_path / "lib"
    done = cli(lib, "scan", folder)
    assert done.returncode == 0, done.stderr
    again = cli(lib, "rescan")  # and every later scan too (it used to die here)
    assert again.returncode == 0 and b"0 failed" in again.stdout, again.stderr
    with Library(lib) as library:
        photo = library.photo_by_path(odd)
        assert photo is not None and photo.status == "done" and photo.face_count == 1
        assert os.fsencode(photo.path) == os.fsencode(str(odd))  # byte for byte
        face = library.faces(photo_id=photo.id)[0]
        People(library).create_person([face.id], name="Zoë")
    # Search: JSON keeps the exact name (\udcXX escapes), text shows a readable one.
    found = json.loads(cli(lib, "search", folder / "img2.jpg", "--json").stdout)["results"]
    assert os.fsdecode(os.fsencode(str(odd))) in [r["photo"] for r in found]
    text = cli(lib, "search", "--face", face.id)
    assert text.returncode == 0 and "img2.jpg".encode() in text.stdout
    # Shown as a file manager shows it: the undecodable byte as a visible escape, not U+FFFD.
    shown = cli(lib, "search", folder / "img2.jpg").stdout
    assert b"caf\\xe9 \\xe0 Paris.jpg" in shown and "\ufffd".encode() not in shown
    exported = json.loads(cli(lib, "export", "--json").stdout)["faces"]
    assert str(odd) in [f["photo"] for f in exported]
    csv = cli(lib, "export", "--csv")
    assert csv.returncode == 0 and os.fsencode(str(odd)) in csv.stdout  # bytes unchanged
    status = cli(lib, "status")
    assert status.returncode == 0 and "caf\ufffd".encode() not in status.stderr
    # A sidecar beside it, under the matching (non-UTF-8) name, readable again.
    written = cli(lib, "xmp", "write")
    assert written.returncode == 0, written.stderr
    sidecar = Path(str(odd) + ".xmp")
    assert sidecar.exists() and b"Zo\xc3\xab" in sidecar.read_bytes()
    from facefolio.library.interop.xmp import read_regions
    assert [r.name for r in read_regions(odd, photo.width, photo.height)] == ["Zoë"]
    people = cli(lib, "export-person", "Zoë", tmp_path / "out")
    assert people.returncode == 0, people.stderr
    assert (tmp_path / "out" / LATIN1).exists()


def test_two_processes_get_one_scan_and_one_clear_refusal(tmp_path, datasets):
    folder = tmp_path / "photos"
    folder.mkdir()
    for p in sorted((datasets / "deepface-unit").glob("img*.jpg")):
        shutil.copy(p, folder / p.name)
    lib = tmp_path / "lib"
    first = subprocess.Popen([sys.executable, "-m", "facefolio.cli", "--library", str(lib),
                              "scan", str(folder)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (lib / "scan.lock.json").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert first.poll() is None, "the first scan ended before the second could start"
    second = cli(lib, "rescan")
    assert second.returncode == 1
    message = second.stderr.decode().strip()
    assert "another Facefolio scan is already running" in message
    assert f"process {first.pid}" in message and len(message.splitlines()) == 1
    out, err = first.communicate(timeout=600)
    assert first.returncode == 0, err
    # Reading and editing while a scan runs is fine; after it, a scan runs again.
    assert cli(lib, "status").returncode == 0
    assert cli(lib, "rescan").returncode == 0


def test_a_scan_lock_is_per_library_and_released(tmp_path):
    with Library(tmp_path / "a") as a, Library(tmp_path / "b") as b:
        with ScanLock(a.path):
            with pytest.raises(ScanBusyError):
                next(Scanner(a).scan())
            next(Scanner(b).scan())  # another library: fine
        assert next(Scanner(a).scan()).phase == "listing"


def test_an_old_library_migrates_with_every_decision(tmp_path, datasets):
    """A schema-1 library (as the first release wrote it) opens, is backed up, keeps names,
    rejections, hidden people and covers, and its next scan re-analyses nothing."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("img1.jpg", "img2.jpg", "img4.jpg", "couple.jpg"):
        shutil.copy(datasets / "deepface-unit" / name, folder / name)
    with Library(tmp_path / "new") as library:
        library.add_folder(folder)
        scan(library)
        people = People(library)
        faces = library.faces()
        anna = people.create_person([faces[0].id, faces[1].id], name="Anna")
        people.remove_faces([faces[1].id])
        hidden = people.create_person([faces[2].id], name="Hidden")
        people.set_hidden(hidden, True)
        expected = _decisions(library.con)
    old = tmp_path / "old"
    _downgrade_to_v1(tmp_path / "new" / "library.sqlite3", old / "library.sqlite3")
    with Library(old) as library:
        assert library.con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert _decisions(library.con) == expected
        assert (old / "library.sqlite3.v1.bak").exists()
        assert library.person(anna).name == "Anna" and library.person(hidden).hidden
        result = scan(library)
        assert result.errors == 0 and result.faces == 0  # fingerprints only, no analysis
        assert _decisions(library.con, user_only=True) == _user_only(expected)


def _decisions(con: sqlite3.Connection, user_only: bool = False) -> dict:
    out = {
        "people": sorted(tuple(r) for r in con.execute(
            "SELECT id, name, hidden, cover_face_id FROM people")),
        "faces": sorted(tuple(r) for r in con.execute(
            "SELECT id, photo_id, person_id, assigned_by FROM faces")),
        "rejections": sorted(tuple(r) for r in con.execute("SELECT * FROM rejections")),
    }
    return _user_only(out) if user_only else out


def _user_only(decisions: dict) -> dict:
    """What the user decided (a scan may regroup the rest): named people, placed faces."""
    return {"people": [p for p in decisions["people"] if p[1] is not None],
            "faces": [f for f in decisions["faces"] if f[3] in ("user", "suggestion")],
            "rejections": decisions["rejections"]}


def _downgrade_to_v1(source: Path, target: Path) -> None:
    """Write the same data in the first release's schema (store._SCHEMA_V1)."""
    from facefolio.library.storage.schema import _SCHEMA_V1, _split_sql
    target.parent.mkdir()
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    for statement in _split_sql(_SCHEMA_V1):
        dst.execute(statement)
    for table in ("folders", "photos", "people", "faces", "rejections", "operations"):
        cols = [r[1] for r in dst.execute(f"PRAGMA table_info({table})")]
        rows = src.execute(f"SELECT {', '.join(cols)} FROM {table}").fetchall()
        if table == "photos":  # v1 had a whole-file hash where v2 has a fingerprint
            rows = [tuple("0" * 32 if c == "content_hash" else v for c, v in zip(cols, r))
                    for r in rows]
        dst.executemany(f"INSERT INTO {table}({', '.join(cols)}) VALUES "
                        f"({', '.join('?' * len(cols))})", rows)
    dst.execute("PRAGMA user_version = 1")
    dst.commit()
    dst.close()
    src.close()


def test_xmp_write_keeps_other_tools_microsoft_regions(tmp_path, datasets):
    import pyexiv2

    from facefolio.library.interop.xmp import Region, write_regions
    photo = tmp_path / "img1.jpg"
    shutil.copy(datasets / "deepface-unit" / "img1.jpg", photo)
    sidecar = Path(str(photo) + ".xmp")
    sidecar.write_text(
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
        'rdf:about="" xmlns:MP="http://ns.microsoft.com/photo/1.2/" '
        'xmlns:MPRI="http://ns.microsoft.com/photo/1.2/t/RegionInfo#" '
        'xmlns:MPReg="http://ns.microsoft.com/photo/1.2/t/Region#"><MP:RegionInfo '
        'rdf:parseType="Resource"><MPRI:Regions><rdf:Bag><rdf:li '
        'MPReg:PersonDisplayName="Grandma" MPReg:Rectangle="0.05, 0.05, 0.1, 0.1"/>'
        '</rdf:Bag></MPRI:Regions></MP:RegionInfo></rdf:Description></rdf:RDF>'
        '</x:xmpmeta>\n<?xpacket end="w"?>', encoding="utf-8")
    write_regions(photo, [Region("Anna", (400, 400, 500, 600))], 1363, 2048)
    with pyexiv2.Image(str(sidecar)) as image:
        names = {v for k, v in image.read_xmp().items() if k.endswith("PersonDisplayName")}
    assert names == {"Anna", "Grandma"}


def test_embedding_names_in_a_photo_is_durable_and_keeps_links(tmp_path, datasets):
    from facefolio.library.interop.xmp import Region, XmpError, read_regions, write_regions
    real = tmp_path / "real.jpg"
    shutil.copy(datasets / "deepface-unit" / "img1.jpg", real)
    os.chmod(real, 0o640)
    link = tmp_path / "link.jpg"
    link.symlink_to(real)
    write_regions(link, [Region("Anna", (400, 400, 500, 600))], 1363, 2048, embed=True)
    assert link.is_symlink() and os.readlink(link) == str(real)  # the link stays a link
    assert oct(os.stat(real).st_mode & 0o777) == oct(0o640)  # and the mode is kept
    with open(real, "rb") as fh:
        assert b"Anna" in fh.read()
    hard = tmp_path / "hard.jpg"
    os.link(real, tmp_path / "other-name.jpg")
    os.rename(tmp_path / "other-name.jpg", hard)
    before = real.read_bytes()
    with pytest.raises(XmpError, match="hard links"):
        write_regions(real, [Region("Ben", (400, 400, 500, 600))], 1363, 2048, embed=True)
    assert real.read_bytes() == before and os.path.samefile(real, hard)
    # The sidecar got Ben; the photo itself still holds only Anna.
    assert {r.name for r in read_regions(real, 1363, 2048)} == {"Ben", "Anna"}
