"""Fixtures for the desktop app tests: a small real photo library, windows, pool checks.

Photos: 3 celebrity-dev people x 5 aligned crops, upscaled 3x (the detector needs that) with a
border, as JPEGs, plus deepface-unit's couple.jpg (two faces). One library is scanned and
grouped once per session; each test gets its own copy.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import cv2  # noqa: E402
import pytest  # noqa: E402

PEOPLE = ("Barack_Obama", "Hugh_Laurie", "Jennifer_Aniston")
PER_PERSON = 5


def datasets_dir() -> Path:
    env = os.environ.get("FACEFOLIO_DATASETS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "shared" / "datasets"


def make_photos(out: Path, people: tuple[str, ...] = PEOPLE, per_person: int = PER_PERSON,
                couple: bool = True) -> Path:
    src = datasets_dir() / "celebrity-dev"
    out.mkdir(parents=True, exist_ok=True)
    for person in people:
        for crop in sorted((src / person).glob("*.png"))[:per_person]:
            img = cv2.imread(str(crop))
            img = cv2.resize(img, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)
            img = cv2.copyMakeBorder(img, 60, 60, 60, 60, cv2.BORDER_REPLICATE)
            cv2.imwrite(str(out / f"{person}_{crop.stem}.jpg"), img)
    if couple:
        shutil.copy(datasets_dir() / "deepface-unit" / "couple.jpg", out / "couple.jpg")
    return out


@pytest.fixture(scope="session")
def photo_folder(tmp_path_factory) -> Path:
    # Missing data is a broken checkout, not a reason to pass quietly.
    assert (datasets_dir() / "celebrity-dev").is_dir(), \
        f"shared datasets not found at {datasets_dir()} (set FACEFOLIO_DATASETS)"
    return make_photos(tmp_path_factory.mktemp("photos") / "Photos")


@pytest.fixture(scope="session")
def scanned_template(photo_folder: Path, tmp_path_factory) -> Path:
    from facefolio.library import Library, Scanner
    path = tmp_path_factory.mktemp("template") / "library"
    with Library(path) as library:
        folder = library.add_folder(photo_folder)
        for _ in Scanner(library).scan([folder.id]):
            pass
    return path


@pytest.fixture
def scanned_library(scanned_template: Path, tmp_path: Path) -> Path:
    """A private copy of the scanned, grouped library (3 unnamed people)."""
    path = tmp_path / "library"
    shutil.copytree(scanned_template, path)
    return path


@pytest.fixture
def no_dangling_pools() -> Iterator[None]:
    """Fail a test that leaves a task pool with work running (napari's dangling checks)."""
    import shiboken6

    from facefolio.app import tasks
    yield
    # A deleted QThreadPool waited for its threads in its destructor: only live ones count.
    busy = [p for p in tasks.live_pools() if shiboken6.isValid(p) and (p.running or any(
        q.activeThreadCount() for q in p.all_pools() if shiboken6.isValid(q)))]
    assert not busy, f"{len(busy)} TaskPools still running after the test"


@pytest.fixture
def open_window(qtbot, no_dangling_pools, tmp_path):
    """Factory: a MainWindow on a library; closed (pools drained) at teardown."""
    from PySide6.QtCore import QSettings

    from facefolio.app.main import make_app
    from facefolio.app.main_window import MainWindow
    make_app()
    # Window geometry goes to this test's folder, never the developer's config.
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope,
                      str(tmp_path / "qsettings"))
    windows = []

    def open_(path: Path) -> MainWindow:
        window = MainWindow(path)
        qtbot.addWidget(window)
        window.resize(1100, 750)
        window.show()
        windows.append(window)
        return window
    yield open_
    for window in windows:
        window.close()
