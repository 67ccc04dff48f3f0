"""Scan work in worker processes: a decoder that crashes costs one file, never the scan, the
window or the next scan; and the library has one writer, whatever runs at the same time."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import json  # noqa: E402
import multiprocessing  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from app_fixtures import no_dangling_pools, open_window  # noqa: E402,F401
from facefolio.library import Library, Scanner  # noqa: E402
from facefolio.library.scan import pool as scan_pool
from facefolio.library.storage import store
from facefolio.library.storage import write_queue

GOOD = ["img1.jpg", "img2.jpg", "couple.jpg"]
BOOM = "boom.jpg"

# Installed in every new Python process through PYTHONPATH (sitecustomize runs at start-up):
# opening the named file kills the process with a signal, as a decoder's segfault would.
# Only processes that read photo bytes can hit it: the scan's parent never should.
SHIM = '''
import builtins, os, signal
_target = os.environ.get("FACEFOLIO_TEST_CRASH_ON")
if _target:
    _open = builtins.open
    def _crashing_open(file, *args, **kwargs):
        if isinstance(file, (str, bytes, os.PathLike)) and os.fsdecode(file).endswith(_target):
            with _open(os.environ["FACEFOLIO_TEST_CRASH_LOG"], "a") as fh:
                fh.write(f"{os.getpid()}\\n")
            os.kill(os.getpid(), getattr(signal, os.environ["FACEFOLIO_TEST_CRASH_SIGNAL"]))
        return _open(file, *args, **kwargs)
    builtins.open = _crashing_open
'''


@pytest.fixture
def crashing(tmp_path, datasets) -> dict:
    """A folder of good photos and one that crashes whoever opens it; the shim's env."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in GOOD:
        shutil.copy(datasets / "deepface-unit" / name, folder / name)
    shutil.copy(datasets / "deepface-unit" / "img3.jpg", folder / BOOM)
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(SHIM)
    log = tmp_path / "crashes.log"
    env = {"PYTHONPATH": os.pathsep.join([str(shim), os.environ.get("PYTHONPATH", "")]),
           "FACEFOLIO_TEST_CRASH_ON": BOOM, "FACEFOLIO_TEST_CRASH_LOG": str(log),
           "FACEFOLIO_TEST_CRASH_SIGNAL": "SIGSEGV"}
    return {"folder": folder, "env": env, "log": log}


def crashes(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def test_a_segfaulting_decoder_costs_one_file_and_is_not_retried_blindly(crashing, tmp_path):
    env = {**os.environ, **crashing["env"]}
    lib = tmp_path / "lib"

    def cli(*args: str) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-m", "facefolio.cli", "--library", str(lib),
                               *args], capture_output=True, text=True, env=env, timeout=600)
        assert done.returncode == 0, done.stderr  # a scan with a crash still finished
        return done

    def failed() -> dict[str, str]:
        status = json.loads(cli("status", "--json").stdout)
        return {Path(f["path"]).name: f["reason"] for f in status["failed"]}

    cli("scan", str(crashing["folder"]))
    assert crashes(crashing["log"]) == 1
    reason = failed()[BOOM]
    assert "the image decoder crashed on this file (signal 11" in reason, reason
    with Library(lib) as library:
        done = {Path(p.path).name: p for p in library.photos(status="done")}
        assert sorted(done) == sorted(GOOD)
        assert all(p.face_count >= 1 for p in done.values())

    cli("rescan")  # tried once more: it may have been a worker's bad moment
    assert crashes(crashing["log"]) == 2
    assert "crashed the decoder twice" in failed()[BOOM]
    cli("rescan")  # unchanged since: left alone
    assert crashes(crashing["log"]) == 2
    assert "crashed the decoder twice" in failed()[BOOM]
    cli("rescan", "--retry-failed")  # the user asks
    assert crashes(crashing["log"]) == 3
    boom = crashing["folder"] / BOOM
    os.utime(boom, ns=(time.time_ns(), time.time_ns() + 10**9))  # the file changed
    cli("rescan")
    assert crashes(crashing["log"]) == 4
    with Library(lib) as library:  # and the good photos were never touched again
        assert sorted(Path(p.path).name for p in library.photos(status="done")) == sorted(GOOD)


def test_the_window_stays_up_when_a_worker_aborts(qtbot, open_window, crashing, tmp_path,
                                                  monkeypatch):
    # Spawned workers start with this process's environment as it is now (the fork server,
    # shared by the whole test session, would not): the shim reaches them.
    monkeypatch.setattr(scan_pool, "_context", lambda: multiprocessing.get_context("spawn"))
    for key, value in {**crashing["env"], "FACEFOLIO_TEST_CRASH_SIGNAL": "SIGABRT"}.items():
        monkeypatch.setenv(key, value)
    lib = tmp_path / "lib"
    with Library(lib) as library:
        folder = library.add_folder(crashing["folder"]).id
    window = open_window(lib)
    finished = []
    window.session.scanFinished.connect(finished.append)
    assert window.session.start_scan([folder])
    qtbot.waitUntil(lambda: bool(finished), timeout=300_000)
    last = finished[0]
    assert last is not None and last.phase == "done" and last.crashed == 1
    assert window.isVisible() and crashes(crashing["log"]) == 1
    with Library(lib) as library:
        [bad] = library.failed_photos()
        assert Path(bad.path).name == BOOM and "signal 6" in bad.error
        assert len(library.photos(status="done")) == len(GOOD)


# -- one writer ----------------------------------------------------------------------------
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "BEGIN IMMEDIATE", "CREATE", "DROP")


def test_every_write_during_a_scan_with_edits_is_made_by_the_one_writer(tmp_path, datasets,
                                                                        monkeypatch):
    """A recorder on every SQLite connection opened during the test: which thread ran each
    writing statement. A scan and a stream of user edits at the same time must all be on the
    library's writer thread, and each edit waits behind at most one photo's commit."""
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    for name in ["img1.jpg", "img2.jpg", "img4.jpg"]:
        shutil.copy(datasets / "deepface-unit" / name, first / name)
    for i, name in enumerate(["img5.jpg", "img6.jpg", "img7.jpg", "img10.jpg", "img11.jpg",
                              "img15.jpg", "img17.jpg", "img22.jpg", "couple.jpg"]):
        shutil.copy(datasets / "deepface-unit" / name, second / f"{i}-{name}")
    lib_dir = tmp_path / "lib"
    with Library(lib_dir) as library:
        library.add_folder(first)
        for _ in Scanner(library).scan():
            pass
        person = library.people()[0].id
        second_id = library.add_folder(second).id

    writes: list[tuple[int, str]] = []
    real_connect = store.connect

    def recording_connect(*args, **kwargs):
        con = real_connect(*args, **kwargs)

        def trace(sql: str) -> None:
            if sql.lstrip().upper().startswith(_WRITES):
                writes.append((threading.get_ident(), sql.split()[0].upper()))
        con.set_trace_callback(trace)
        return con
    monkeypatch.setattr(store, "connect", recording_connect)

    from facefolio.library.scan import write as scan_write
    order: list[str] = []  # what the writer ran, in order
    real_commit = scan_write.commit_photo

    def commit(*args, **kwargs):
        order.append("photo")
        return real_commit(*args, **kwargs)
    monkeypatch.setattr("facefolio.library.scan.scanner.commit_photo", commit)

    from facefolio.library.people.people import People
    scanned = threading.Event()

    def run_scan() -> None:
        with Library(lib_dir) as library:
            for _ in Scanner(library).scan([second_id]):
                pass
        scanned.set()
    with write_queue.writer(lib_dir, Library) as queue:
        scan_thread = threading.Thread(target=run_scan)
        scan_thread.start()
        edits = 0
        while not scanned.is_set() and edits < 200:
            if not order:  # edits interleaved with the photos, not before them
                time.sleep(0.02)
                continue
            mark = len(order)
            order.append(f"edit {edits} queued")

            def edit(library, i=edits, mark=mark):
                behind = order[mark + 1:].count("photo")
                order.append(f"edit {i} ran behind {behind}")
                People(library).name(person, f"Anna {i}")
                return behind
            assert queue.submit(edit).result(timeout=120) <= 1
            edits += 1
            time.sleep(0.05)
        scan_thread.join(300)
        writer_thread = queue.ident
    assert edits >= 2 and order.count("photo") == 9
    threads = {t for t, _ in writes}
    assert threads == {writer_thread}, f"{len(threads)} threads wrote: {writes[:5]}"
    assert sum(1 for _, sql in writes if sql == "INSERT") >= 9  # the photos and faces
    with Library(lib_dir) as library:
        assert library.person(person).name.startswith("Anna ")
        assert len(library.photos(status="done")) == 12


def test_the_folders_page_offers_to_retry_files_left_alone(qtbot, open_window, tmp_path,
                                                           datasets):
    """A photo that crashed the decoder twice shows with its reason and a button that scans
    it once more (the workers are not asked: the button's scan is what is checked)."""
    from facefolio.library.scan.scanner import CRASHED_TWICE
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(datasets / "deepface-unit" / "img1.jpg", folder / BOOM)
    lib = tmp_path / "lib"
    with Library(lib) as library:
        library.add_folder(folder)
        st = (folder / BOOM).stat()
        with store.Transaction(library.con):
            library.con.execute(
                "INSERT INTO photos(folder_id, path, size, mtime_ns, status, error, scanned_at) "
                "VALUES (1, ?, ?, ?, 'error', ?, 0)",
                (str(folder / BOOM), st.st_size, st.st_mtime_ns,
                 f"the image decoder crashed on this file (signal 11, SIGSEGV); {CRASHED_TWICE}"))
    window = open_window(lib)
    page = window.folders
    page.reload()
    qtbot.waitUntil(lambda: not page.retry_button.isHidden(), timeout=30_000)
    finished = []
    window.session.scanFinished.connect(finished.append)
    page.retry_button.click()
    qtbot.waitUntil(lambda: bool(finished), timeout=300_000)
    with Library(lib) as library:  # scanned again, for real this time (no shim here)
        assert not library.failed_photos() and len(library.photos(status="done")) == 1


def test_ctrl_c_ends_the_scan_and_every_worker(tmp_path, datasets):
    """Ctrl+C (SIGINT to the terminal's process group): the CLI stops with 130, what was
    committed stays, and no worker process outlives it; the next scan finishes the job."""
    import signal
    folder = tmp_path / "photos"
    folder.mkdir()
    names = sorted(p.name for p in (datasets / "deepface-unit").glob("img*.jpg"))[:24]
    for name in names:
        shutil.copy(datasets / "deepface-unit" / name, folder / name)
    lib = tmp_path / "lib"
    cli = [sys.executable, "-m", "facefolio.cli", "--library", str(lib)]
    proc = subprocess.Popen(cli + ["scan", str(folder)], stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with Library(lib, create=False) as library:
                if library.counts()["photos"] >= 2:
                    break
        except Exception:
            pass  # not created yet
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    gone = time.monotonic() + 30
    while time.monotonic() < gone:
        try:
            os.killpg(proc.pid, 0)  # anyone left of its process group: a worker, the server
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        pytest.fail("a scan worker outlived the interrupted scan")
    again = subprocess.run(cli + ["rescan"], capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    with Library(lib) as library:
        assert len(library.photos(status="done")) == len(names)


def test_a_photo_without_faces_is_scanned_not_failed(tmp_path, datasets):
    """The workers' compact answer holds zero faces as well as several."""
    import cv2
    import numpy as np
    folder = tmp_path / "photos"
    folder.mkdir()
    cv2.imwrite(str(folder / "wall.jpg"), np.full((480, 640, 3), 128, np.uint8))
    shutil.copy(datasets / "deepface-unit" / "couple.jpg", folder / "couple.jpg")
    with Library(tmp_path / "lib") as library:
        library.add_folder(folder)
        last = None
        for last in Scanner(library).scan():
            pass
        assert last.phase == "done" and last.errors == 0
        done = {Path(p.path).name: p.face_count for p in library.photos(status="done")}
        assert done["wall.jpg"] == 0 and done["couple.jpg"] == 2


def test_a_rescan_with_nothing_new_loads_no_grouping_code(tmp_path, datasets):
    """Nothing to analyse, nothing to group: the rescan never waits for scipy's imports
    (0.5 s of the 1.0 s such a rescan took), and a new photo still gets grouped."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("img1.jpg", "img2.jpg"):
        shutil.copy(datasets / "deepface-unit" / name, folder / name)
    lib = tmp_path / "lib"
    probe = (
        "import json, sys\n"
        "from facefolio.library import Library, Scanner\n"
        f"with Library({str(lib)!r}) as library:\n"
        f"    if not library.folders(): library.add_folder({str(folder)!r})\n"
        "    last = [p for p in Scanner(library).scan()][-1]\n"
        "    print(json.dumps({'phase': str(last.phase), 'faces': library.counts()['faces'],\n"
        "                      'people': len(library.people()),\n"
        "                      'scipy': 'scipy' in sys.modules}))\n")

    def scan() -> dict:
        run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                             timeout=300)
        assert run.returncode == 0, run.stderr
        return json.loads(run.stdout.strip().splitlines()[-1])
    first = scan()
    assert first["faces"] == 2 and first["scipy"] is True  # the probe sees the import
    again = scan()
    assert again["faces"] == 2 and again["scipy"] is False
    assert again["phase"] == first["phase"]
    shutil.copy(datasets / "deepface-unit" / "couple.jpg", folder / "couple.jpg")
    more = scan()
    assert more["faces"] == 4 and more["scipy"] is True and more["people"] >= 1
