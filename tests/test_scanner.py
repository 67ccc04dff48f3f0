"""Scanning: incremental rescans, bad input, kill-and-resume, progress, pause and cancel."""
from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from facefolio.library import CancelToken, Library, Scanner

PHOTOS = ["img1.jpg", "img2.jpg", "img3.jpg", "couple.jpg", "img11.jpg", "img20.jpg"]


def scan(library: Library, folder_ids=None, token=None):
    last = None
    for last in Scanner(library).scan(folder_ids, token):
        pass
    return last


def photo_faces(library: Library) -> dict[str, list[tuple]]:
    """Path -> sorted rounded boxes: what a scan stored, independent of ids."""
    out: dict[str, list[tuple]] = {}
    for face in library.faces():
        out.setdefault(face.photo_path, []).append(tuple(round(v) for v in face.box))
    return {k: sorted(v) for k, v in out.items()}


@pytest.fixture
def photos(tmp_path, datasets) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in PHOTOS:
        shutil.copy(datasets / "deepface-unit" / name, folder / name)
    return folder


@pytest.fixture
def library(tmp_path) -> Library:
    with Library(tmp_path / "lib") as lib:
        yield lib


def test_scan_then_rescan_is_incremental(library, photos, datasets):
    folder = library.add_folder(photos)
    first = scan(library)
    assert first.phase == "done"
    assert first.done == len(PHOTOS) and first.errors == 0
    assert first.faces >= len(PHOTOS)  # couple.jpg alone has two
    assert len(library.faces(photo_id=library.photo_by_path(photos / "couple.jpg").id)) >= 2
    before = photo_faces(library)
    ids_before = {f.id for f in library.faces()}

    again = scan(library)
    assert again.done == 0 and again.skipped == len(PHOTOS)
    assert {f.id for f in library.faces()} == ids_before

    # add
    shutil.copy(datasets / "deepface-unit" / "img22.jpg", photos / "new.jpg")
    # modify: same name, other picture
    shutil.copy(datasets / "deepface-unit" / "img4.jpg", photos / "img1.jpg")
    # move: same content, new name (and a sub-folder)
    (photos / "sub").mkdir()
    couple_ids = {f.id for f in library.faces(
        photo_id=library.photo_by_path(photos / "couple.jpg").id)}
    os.rename(photos / "couple.jpg", photos / "sub" / "couple-moved.jpg")
    # delete
    gone_ids = {f.id for f in library.faces(
        photo_id=library.photo_by_path(photos / "img3.jpg").id)}
    os.remove(photos / "img3.jpg")

    result = scan(library)
    assert result.done == 2  # new and modified analysed; the move is recognised, not analysed
    assert result.moved == 1 and result.missing == 1
    moved = library.photo_by_path(photos / "sub" / "couple-moved.jpg")
    assert {f.id for f in library.faces(photo_id=moved.id)} == couple_ids
    # A deleted file's photo is kept, marked missing, until the user removes missing photos.
    gone = library.photo_by_path(photos / "img3.jpg")
    assert gone.missing and {f.id for f in library.faces(photo_id=gone.id)} == gone_ids
    assert library.prune_missing() == 1
    assert library.photo_by_path(photos / "img3.jpg") is None
    assert library.photo_by_path(photos / "new.jpg").face_count >= 1
    after = photo_faces(library)
    assert after[str(photos / "img1.jpg")] != before[str(photos / "img1.jpg")]
    remaining = {f.id for f in library.faces()}
    assert not gone_ids & remaining
    # The index follows the database: deleted faces are never found again.
    index_ids = library.index().ids()
    assert index_ids == remaining
    assert library.folder(folder.id).photo_count == len(PHOTOS)


def test_bad_input_is_recorded_and_scan_goes_on(library, photos, datasets, tmp_path):
    from PIL import Image

    bad = photos
    (bad / "zero.jpg").write_bytes(b"")
    data = (datasets / "deepface-unit" / "img2.jpg").read_bytes()
    (bad / "truncated.jpg").write_bytes(data[: len(data) * 2 // 5])
    (bad / "text.png").write_text("this is not a picture\n")
    (bad / "random.jpg").write_bytes(os.urandom(5000))
    (bad / "bomb.png").write_bytes(_png_header(60000, 60000))
    (bad / "dangling.jpg").symlink_to(bad / "does-not-exist.jpg")
    (bad / "loop-a.jpg").symlink_to(bad / "loop-b.jpg")
    (bad / "loop-b.jpg").symlink_to(bad / "loop-a.jpg")
    (bad / "dirloop").mkdir()
    (bad / "dirloop" / "up").symlink_to(bad, target_is_directory=True)
    os.mkfifo(bad / "fifo.jpg")
    shutil.copy(datasets / "deepface-unit" / "img5.jpg", bad / "Zoë – 東京 'quote' ;$x.jpg")
    shutil.copy(datasets / "deepface-unit" / "img6.jpg", bad / "line\nbreak.jpg")
    img = Image.open(datasets / "deepface-unit" / "img7.jpg")
    img.convert("L").save(bad / "grey.jpg")
    img.convert("CMYK").save(bad / "cmyk.jpg")
    img.convert("RGBA").save(bad / "alpha.png")
    rotated = img.rotate(90, expand=True)  # lying on its side until EXIF turns it upright
    exif = Image.Exif()
    exif[0x0112] = 6
    rotated.save(bad / "exif-rotated.jpg", exif=exif)

    library.add_folder(bad)
    result = scan(library)
    assert result.phase == "done"
    failed = {Path(p.path).name: p.error for p in library.failed_photos()}
    expected_bad = {"zero.jpg", "truncated.jpg", "text.png", "random.jpg", "bomb.png",
                    "dangling.jpg", "loop-a.jpg", "loop-b.jpg", "fifo.jpg"}
    assert set(failed) == expected_bad, failed
    for name, reason in failed.items():
        assert reason and "\n" not in reason and "Traceback" not in reason, (name, reason)
    assert "symbolic link" in failed["dangling.jpg"]
    assert "loop" in failed["loop-a.jpg"]
    assert "60000" in failed["bomb.png"]
    for name in ["grey.jpg", "cmyk.jpg", "alpha.png", "exif-rotated.jpg",
                 "Zoë – 東京 'quote' ;$x.jpg", "line\nbreak.jpg"]:
        photo = library.photo_by_path(bad / name)
        assert photo is not None and photo.status == "done", name
        assert photo.face_count >= 1, name
    # The upright frame: EXIF 6 swaps width and height back.
    rotated_photo = library.photo_by_path(bad / "exif-rotated.jpg")
    assert (rotated_photo.width, rotated_photo.height) == img.size
    assert library.integrity_ok()

    # Failed files are tried again on every scan (a permission fixed, an engine that loads
    # now); the good ones are not touched.
    faces = {f.id for f in library.faces()}
    again = scan(library)
    assert again.done == again.errors == len(library.failed_photos()) > 0
    assert {f.id for f in library.faces()} == faces


def test_files_and_folders_vanishing_mid_scan(library, photos, datasets, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    for name in ["img8.jpg", "img9.jpg", "img10.jpg"]:
        shutil.copy(datasets / "deepface-unit" / name, other / name)
    library.add_folder(photos)
    library.add_folder(other)
    scan(library)
    known_other = {f.id for f in library.faces() if f.photo_path.startswith(str(other))}
    assert known_other
    # Change files so the next scan has work, then pull the rug out during it.
    for name in ["img8.jpg", "img9.jpg", "img10.jpg"]:
        os.utime(other / name, ns=(1, 1))
    shutil.copy(datasets / "deepface-unit" / "img12.jpg", photos / "late.jpg")
    shutil.copy(datasets / "deepface-unit" / "img13.jpg", photos / "replaced.jpg")

    calls = {"n": 0}
    from facefolio.engine import FaceEngine

    def engine_factory():
        engine = FaceEngine(library.settings.pack)
        analyze = engine.analyze

        def sabotaging(image):
            calls["n"] += 1
            if calls["n"] == 1:
                shutil.rmtree(other, ignore_errors=True)
                (photos / "late.jpg").unlink(missing_ok=True)
                shutil.copy(datasets / "deepface-unit" / "img14.jpg", photos / "replaced.jpg")
            return analyze(image)
        engine.analyze = sabotaging
        return engine

    last = None
    for last in Scanner(library, workers=1, engine_factory=engine_factory).scan():
        pass
    assert last.phase == "done"
    assert library.integrity_ok()
    # A folder that disappeared is an unplugged drive, not a deletion: its faces stay.
    assert known_other <= {f.id for f in library.faces()}
    # The next scan picks up the replaced file's new content; the vanished one is missing
    # (if the first scan got to store it at all), kept until the user removes it.
    scan(library)
    late = library.photo_by_path(photos / "late.jpg")
    assert late is None or late.missing
    assert library.photo_by_path(photos / "replaced.jpg").status == "done"
    status = {f.path: f.scan_error for f in library.folders()}
    assert "not found" in status[str(other)]


def test_progress_pause_resume_cancel(library, photos):
    library.add_folder(photos)
    token = CancelToken()
    seen = []
    token.pause()
    t = threading.Timer(0.5, token.resume)
    t.start()
    started = time.monotonic()
    for progress in Scanner(library, workers=1).scan(None, token):
        seen.append(progress)
        if progress.phase == "scanning" and progress.done >= 2:
            token.cancel()
    t.join()
    assert time.monotonic() - started >= 0.5  # it waited while paused
    assert seen[-1].phase == "cancelled"
    scanning = [p for p in seen if p.phase == "scanning" and p.done]
    assert scanning and scanning[-1].total == len(PHOTOS)
    assert all(p.rate > 0 and p.current for p in scanning)
    done_before = seen[-1].done
    assert 2 <= done_before < len(PHOTOS)
    assert len(library.photos()) == done_before
    # Resume: the rest are scanned, nothing twice.
    result = scan(library)
    assert result.done == len(PHOTOS) - done_before
    assert len(library.photos()) == len(PHOTOS)


def test_scan_killed_mid_way_resumes_to_same_result(tmp_path, datasets):
    folder = tmp_path / "many"
    folder.mkdir()
    # Enough photos that the scan is still writing them when it is killed.
    names = sorted(p.name for p in (datasets / "deepface-unit").glob("img*.jpg"))
    for name in names:
        shutil.copy(datasets / "deepface-unit" / name, folder / name)
    killed_lib, clean_lib = tmp_path / "killed", tmp_path / "clean"
    cmd = [sys.executable, "-m", "facefolio.cli", "--library", str(killed_lib), "scan",
           str(folder)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = killed_lib / "library.sqlite3"
    deadline = time.monotonic() + 240
    done = 0
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
        if db.exists():
            try:
                with sqlite3.connect(db, timeout=1) as con:
                    done = con.execute("SELECT COUNT(*) FROM photos").fetchone()[0]
            except sqlite3.Error:
                continue
            if done >= 3:
                break
    assert proc.poll() is None, "scan finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with Library(killed_lib) as lib:
        assert lib.integrity_ok()
        partial = len(lib.photos())
        assert 3 <= partial < len(names)
        resumed = scan(lib)
        assert resumed.done == len(names) - partial  # finished photos are not redone
        killed_faces = photo_faces(lib)
        killed_total = len(lib.faces())
    with Library(clean_lib) as lib:
        lib.add_folder(folder)
        scan(lib)
        assert photo_faces(lib) == killed_faces
        assert len(lib.faces()) == killed_total


def test_cli_scan_status_export_search(tmp_path, photos):
    lib = tmp_path / "clilib"
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    run = lambda *a: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "facefolio.cli", "--library", str(lib), *a],
        capture_output=True, text=True, timeout=600)
    scanned = run("scan", str(photos))
    assert scanned.returncode == 0, scanned.stderr
    assert "1 failed" in scanned.stdout
    status = json.loads(run("status", "--json").stdout)
    assert status["failed"] == [{"path": str(photos / "broken.jpg"),
                                 "reason": status["failed"][0]["reason"]}]
    assert status["failed"][0]["reason"]
    faces = json.loads(run("export", "--json").stdout)["faces"]
    assert faces and set(faces[0]) == {"face_id", "photo", "box", "score", "person_id",
                                       "person_name", "taken_at", "date_source", "video",
                                       "time_s", "age", "gender"}
    assert not any(f["video"] or f["time_s"] is not None for f in faces)
    assert all(len(f["box"]) == 4 and os.path.isabs(f["photo"]) for f in faces)
    found = json.loads(run("search", "--face", str(faces[0]["face_id"]), "--top", "3",
                           "--json").stdout)["results"]
    assert len(found) == 3 and all(r["face_id"] != faces[0]["face_id"] for r in found)
    assert [r["similarity"] for r in found] == sorted((r["similarity"] for r in found),
                                                      reverse=True)
    # Usage errors and bad ids: non-zero with a one-line reason, nothing changed.
    missing = run("scan", str(tmp_path / "nope"))
    assert missing.returncode != 0 and "does not exist" in missing.stderr
    bad_face = run("search", "--face", "999999")
    assert bad_face.returncode == 1 and "no face with id 999999" in bad_face.stderr
    not_image = run("search", str(photos / "broken.jpg"))
    assert not_image.returncode == 1 and len(not_image.stderr.strip().splitlines()) == 1
    assert json.loads(run("export", "--json").stdout)["faces"] == faces


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims width x height, with a valid CRC and no real pixels."""
    import struct
    import zlib
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk +
            struct.pack(">I", zlib.crc32(chunk) & 0xFFFFFFFF) +
            struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND")))


def test_a_crashing_reader_fails_one_file_not_the_scan(library, photos, monkeypatch):
    """Whatever breaks inside the per-file work (here the XMP reader) is that file's error.
    (Scan work on threads of this process, where the monkeypatches reach it.)"""
    from facefolio.library.interop import xmp

    def broken(*args, **kwargs):
        raise OSError("libexiv2.so: cannot open shared object file")
    monkeypatch.setenv("FACEFOLIO_SCAN_PROCESSES", "0")
    monkeypatch.setattr(xmp, "read_regions", broken)
    import facefolio.library.scan.work as scanner_module
    real_fingerprint = scanner_module.fingerprint

    def flaky_fingerprint(path):
        if path.endswith("img2.jpg"):
            raise RuntimeError("disk on fire")
        return real_fingerprint(path)
    monkeypatch.setattr(scanner_module, "fingerprint", flaky_fingerprint)
    library.add_folder(photos)
    result = scan(library)
    assert result.phase == "done" and result.errors == 1
    assert "disk on fire" in library.failed_photos()[0].error
    warned = library.photo_warnings()
    assert warned and all("XMP not read" in p.error for p in warned)
    assert len(library.photos(status="done")) == len(PHOTOS) - 1
