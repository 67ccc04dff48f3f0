"""The CLI contract (DESIGN.md "The CLI"), command by command, as a whole process: exit code,
stdout shape, stderr for progress and errors, and the effect on the library."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from facefolio.library import Library

PEOPLE = {"img1.jpg": "a", "img2.jpg": "a", "img4.jpg": "a", "img26.jpg": "b",
          "img27.jpg": "b", "img28.jpg": "b", "couple.jpg": None}
A_PHOTOS = {"img1.jpg", "img2.jpg", "img4.jpg", "couple.jpg"}  # person a is in the couple too
RESULT_KEYS = {"face_id", "photo", "box", "similarity", "person_id", "person_name"}


def run(lib: Path, *args, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "facefolio.cli", "--library", str(lib),
                           *map(str, args)], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def scanned(tmp_path_factory, datasets):
    root = tmp_path_factory.mktemp("cli")
    photos = root / "photos"
    photos.mkdir()
    for name in PEOPLE:
        shutil.copy(datasets / "deepface-unit" / name, photos / name)
    lib = root / "lib"
    done = run(lib, "scan", photos)
    assert done.returncode == 0, done.stderr
    return lib, photos, done


def test_scan_prints_a_summary_and_progress_goes_to_stderr(scanned):
    lib, photos, done = scanned
    assert done.stdout.count("\n") == 1
    assert done.stdout.startswith(f"scanned {len(PEOPLE)} photos") and "0 failed" in done.stdout
    assert "photos/s" in done.stderr  # progress lines
    status = json.loads(run(lib, "status", "--json").stdout)
    assert status["counts"]["photos"] == len(PEOPLE)
    assert status["counts"]["faces"] >= len(PEOPLE) + 1  # the couple has two


def test_rescan_is_incremental_and_prune_removes_only_missing(scanned, tmp_path, datasets):
    lib, photos, _ = scanned
    copy_lib = tmp_path / "lib"
    shutil.copytree(lib, copy_lib)
    again = run(copy_lib, "rescan")
    assert again.returncode == 0 and again.stdout.startswith("scanned 0 photos")
    (photos / "img28.jpg").rename(tmp_path / "img28.jpg")  # deleted, for this library
    try:
        kept = run(copy_lib, "rescan")
        assert "1 missing" in kept.stdout
        assert json.loads(run(copy_lib, "status", "--json").stdout)["counts"][
            "missing_photos"] == 1
        pruned = run(copy_lib, "rescan", "--prune")
        assert pruned.returncode == 0 and "removed 1 missing photos" in pruned.stdout
        counts = json.loads(run(copy_lib, "status", "--json").stdout)["counts"]
        assert counts["missing_photos"] == 0 and counts["photos"] == len(PEOPLE) - 1
    finally:
        (tmp_path / "img28.jpg").rename(photos / "img28.jpg")
    empty = run(tmp_path / "empty", "rescan")
    assert empty.returncode == 1 and "no folders to rescan" in empty.stderr


def test_search_by_image_json_shape_order_top_and_threshold(scanned, tmp_path, datasets):
    lib, photos, _ = scanned
    query = tmp_path / "query.jpg"
    shutil.copy(datasets / "deepface-unit" / "img5.jpg", query)  # person a, not in the library
    out = run(lib, "search", query, "--top", "3", "--json")
    assert out.returncode == 0, out.stderr
    results = json.loads(out.stdout)["results"]
    assert len(results) == 3 and all(set(r) == RESULT_KEYS for r in results)
    sims = [r["similarity"] for r in results]
    assert sims == sorted(sims, reverse=True)
    # The three most similar faces are person a's.
    assert {Path(r["photo"]).name for r in results} <= A_PHOTOS
    assert all(len(r["box"]) == 4 and os.path.isabs(r["photo"]) for r in results)
    strict = json.loads(run(lib, "search", query, "--min-similarity", "0.45",
                            "--json").stdout)["results"]
    assert strict and all(r["similarity"] >= 0.45 for r in strict)
    assert {Path(r["photo"]).name for r in strict} <= A_PHOTOS
    text = run(lib, "search", query, "--top", "2")
    lines = text.stdout.strip().splitlines()
    assert len(lines) == 2 and all("face" in line and "img" in line for line in lines)
    none = run(lib, "search", query, "--min-similarity", "0.999")
    assert none.returncode == 0 and none.stdout.strip() == "no similar faces found"


def test_the_command_line_loads_the_library_only_to_open_one():
    """`--version`, `--help` and argument errors answer without SQLite's library code, hnswlib
    or numpy (half of every command's start-up before); `search IMAGE` starts its models on
    a thread before the library is imported at all."""
    code = ("import sys, facefolio.cli; print(sorted(m for m in ('facefolio.library.library', "
            "'facefolio.library.indexes', 'hnswlib', 'numpy', 'cv2', 'onnxruntime') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_search_uses_its_head_start_only_for_the_settings_the_library_opens_with(tmp_path,
                                                                                datasets):
    from facefolio.cli import _SearchHeadStart
    from facefolio.library import Settings
    strict = tmp_path / "strict"
    with Library(strict, create=True) as lib:
        lib.settings = Settings.from_json({"det_threshold": 0.8})
        lib.save_settings()
    head = _SearchHeadStart(strict)
    with Library(strict) as lib:
        engine = head.engine_for(lib)
    assert engine is not None and engine._detector.det_threshold == 0.8
    # Read before the library changed its settings (another window saved them meanwhile):
    # the library's own settings win, and the search makes its engine again.
    (strict / "settings.json").write_text(json.dumps({"det_threshold": 0.75}))
    with Library(strict) as lib:
        assert head.engine_for(lib) is None
    query = tmp_path / "query.jpg"
    shutil.copy(datasets / "deepface-unit" / "img5.jpg", query)
    # No library there: one line, exit 1, and the head start's thread does not hold it up.
    gone = subprocess.run([sys.executable, "-m", "facefolio.cli", "--library",
                           str(tmp_path / "none"), "search", str(query)],
                          capture_output=True, text=True, timeout=60)
    assert gone.returncode == 1 and gone.stderr.startswith("facefolio: "), gone.stderr
    missing = run(strict, "search", tmp_path / "nothing.jpg")
    assert missing.returncode == 1 and "no such file" in missing.stderr


def test_search_by_face_excludes_itself(scanned):
    lib, photos, _ = scanned
    faces = json.loads(run(lib, "export", "--json").stdout)["faces"]
    first = next(f for f in faces if Path(f["photo"]).name == "img26.jpg")
    found = json.loads(run(lib, "search", "--face", first["face_id"], "--top", "2",
                           "--json").stdout)["results"]
    assert len(found) == 2 and first["face_id"] not in {r["face_id"] for r in found}
    assert {Path(r["photo"]).name for r in found} == {"img27.jpg", "img28.jpg"}


def test_export_json_and_csv_agree(scanned):
    lib, photos, _ = scanned
    faces = json.loads(run(lib, "export", "--json").stdout)["faces"]
    assert all(set(f) == {"face_id", "photo", "box", "score", "person_id", "person_name",
                          "taken_at", "date_source", "video", "time_s", "age",
                          "gender"}
               for f in faces)
    rows = run(lib, "export", "--csv").stdout.strip().splitlines()
    assert rows[0] == ("face_id,photo,x,y,w,h,score,person_id,person_name,taken_at,date_source,"
                       "video,time_s,age,age_low,age_high,gender,gender_confidence")
    assert len(rows) == len(faces) + 1
    assert sorted(int(r.split(",")[0]) for r in rows[1:]) == sorted(f["face_id"] for f in faces)


def test_status_text_names_folders_and_failures(scanned, tmp_path):
    lib, photos, _ = scanned
    copy_lib = tmp_path / "lib"
    shutil.copytree(lib, copy_lib)
    (photos / "not-a-photo.jpg").write_bytes(b"\xff\xd8\xff\xe0 nothing")
    try:
        run(copy_lib, "rescan")
        text = run(copy_lib, "status")
    finally:
        (photos / "not-a-photo.jpg").unlink()
    assert text.returncode == 0
    assert f"{len(PEOPLE)} photos" in text.stdout and str(photos) in text.stdout
    assert "failed files:" in text.stdout and "not-a-photo.jpg" in text.stdout


def test_usage_errors_exit_2_and_library_errors_exit_1(scanned, tmp_path):
    lib, photos, _ = scanned
    assert run(lib, "search").returncode == 2
    assert run(lib, "search", "x.jpg", "--top", "0").returncode == 2
    assert run(lib, "bogus").returncode == 2
    missing = run(tmp_path / "nowhere", "people")
    assert missing.returncode == 1 and "no library" in missing.stderr
    gone = run(lib, "search", tmp_path / "nope.jpg")
    assert gone.returncode == 1 and "no such file" in gone.stderr


def test_ctrl_c_during_a_scan_exits_130_and_the_next_scan_resumes(tmp_path, datasets):
    folder = tmp_path / "photos"
    folder.mkdir()
    names = sorted(p.name for p in (datasets / "deepface-unit").glob("img*.jpg"))
    for name in names:
        shutil.copy(datasets / "deepface-unit" / name, folder / name)
    lib = tmp_path / "lib"
    # As in a terminal: a test runner started in the background (CI) may pass SIGINT on
    # ignored, and Python then leaves it ignored.
    proc = subprocess.Popen([sys.executable, "-m", "facefolio.cli", "--library", str(lib),
                             "scan", str(folder)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
        if (lib / "library.sqlite3").exists():
            with Library(lib, create=False) as library:
                if len(library.photos()) >= 3:
                    break
    assert proc.poll() is None, "the scan ended before Ctrl+C"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "facefolio: interrupted"
    with Library(lib) as library:
        partial = len(library.photos())
    assert 3 <= partial < len(names)
    resumed = run(lib, "rescan")
    assert resumed.returncode == 0
    assert resumed.stdout.startswith(f"scanned {len(names) - partial} photos")
