"""The app and a library that cannot be trusted blindly (issue 18): a read-only library is
browsed with edits saying why they cannot be saved, settings.json problems are shown, and after
an unclean shutdown the library is checked in the background."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from facefolio.library import Library
from facefolio.library.people.people import People

from app_fixtures import open_window  # noqa: F401 - fixtures
from app_fixtures import no_dangling_pools  # noqa: F401
from people_fixtures import put, synthetic_library


def small_library(path: Path) -> Path:
    v = np.random.default_rng(0).standard_normal((12, 128)).astype(np.float32)
    with synthetic_library(path, v / np.linalg.norm(v, axis=1, keepdims=True)) as lib:
        put(lib, range(1, 7))
        People(lib).name(1, "Anna")
    return path


@pytest.fixture
def read_only_library(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs to make a read-only disk: {proc.stderr.strip()}")
    small_library(disk / "lib")
    proc = subprocess.run(["mount", "-o", "remount,ro", str(disk)], capture_output=True,
                          text=True)
    try:
        if proc.returncode != 0:
            pytest.skip(f"cannot remount the tmpfs read-only: {proc.stderr.strip()}")
        yield disk / "lib"
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def test_a_read_only_library_is_browsed_and_an_edit_says_why_not(qtbot, open_window,
                                                               read_only_library):
    from facefolio.app.startup import library_notes

    notes = library_notes(read_only_library)
    assert any("read-only" in n for n in notes)
    window = open_window(read_only_library)
    people = []
    window.session.read(lambda lib: [p.name for p in lib.people()], people.append)
    qtbot.waitUntil(lambda: bool(people), timeout=20000)
    assert people[0] == ["Anna"]
    messages = []
    window.session.message.connect(messages.append)
    window.session.people_write(lambda p: p.name(1, "Bea"))
    qtbot.waitUntil(lambda: any("read-only" in m for m in messages), timeout=20000)
    assert all("\n" not in m and "Traceback" not in m for m in messages)
    with Library(read_only_library) as lib:
        assert lib.person(1).name == "Anna"


def test_settings_problems_are_shown_when_the_window_opens(qtbot, open_window, tmp_path):
    from facefolio.app.startup import after_open, library_notes

    path = small_library(tmp_path / "lib")
    (path / "settings.json").write_text(json.dumps({"min_face": "abc"}))
    notes = library_notes(path)
    window = open_window(path)
    after_open(window, path, notes)
    assert "min_face" in window.statusBar().currentMessage()


def test_after_an_unclean_shutdown_the_library_is_checked_in_the_background(
        qtbot, open_window, tmp_path):
    from facefolio.app.startup import after_open, library_notes

    path = small_library(tmp_path / "lib")
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    (path / "app.running").write_text(json.dumps({"pid": int(gone)}))  # a crashed session
    (path / f".index-yunet-sface.hnsw.ff{gone}-abcdefgh.tmp").write_bytes(b"half a save")
    window = open_window(path)
    after_open(window, path, library_notes(path))
    qtbot.waitUntil(lambda: getattr(window, "_check_box", None) is not None, timeout=30000)
    assert "temp file" in window._check_box.text()
    window._check_box.close()
    assert json.loads((path / "app.running").read_text())["pid"] != int(gone)
