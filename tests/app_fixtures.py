"""Fixtures for the desktop app tests: a small real photo library, windows, pool checks.

Photos: 3 celebrity-dev people x 5 aligned crops, upscaled 3x (the detector needs that) with a
border, as JPEGs, plus deepface-unit's couple.jpg (two faces). One library is scanned and
grouped once per session; each test gets its own copy.
"""
from __future__ import annotations

import os
import shutil
import time
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


# The album: dated portraits and photos of two people together, for browsing by date and by
# people (EXIF DateTimeOriginal written with Pillow, as a camera would). File numbers 1, 2, 3,
# 10, 11 check natural name order (2 before 10). Two portraits carry no EXIF date: the
# scanner falls back to their file time, set to ALBUM_FILE_TIME (local time) here.
ALBUM_DATES = {
    "Barack_Obama": ["2017:03:01 10:00:00", "2017:05:02 11:00:00", "2017:07:03 12:00:00",
                     "2017:09:04 13:00:00", None],
    "Hugh_Laurie": ["2018:01:05 09:00:00", "2018:01:05 09:00:00", "2018:04:06 09:00:00",
                    "2018:08:07 09:00:00", "2018:12:08 09:00:00"],
    "Jennifer_Aniston": ["2019:02:09 08:00:00", "2019:06:10 08:00:00", "2019:10:11 08:00:00",
                         "2019:11:12 08:00:00", None],
}
ALBUM_NUMBERS = (1, 2, 3, 10, 11)
ALBUM_FILE_TIME = (2016, 6, 15, 12, 0, 0)
# (file, people, date): each pair reuses portraits 1 and 2 of its people, side by side.
ALBUM_PAIRS = (("together_1.jpg", ("Barack_Obama", "Hugh_Laurie"), "2020:06:01 12:00:00"),
               ("together_2.jpg", ("Barack_Obama", "Hugh_Laurie"), "2021:01:02 12:00:00"),
               ("together_3.jpg", ("Barack_Obama", "Jennifer_Aniston"), "2021:03:04 12:00:00"))


def _portrait(crop: Path):
    img = cv2.resize(cv2.imread(str(crop)), None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)
    return cv2.copyMakeBorder(img, 60, 60, 60, 60, cv2.BORDER_REPLICATE)


def save_jpeg(path: Path, bgr, taken_at: str | None) -> None:
    """A JPEG with EXIF DateTimeOriginal (when given), the way a camera writes it."""
    from PIL import Image
    image = Image.fromarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    exif = Image.Exif()
    if taken_at:
        exif.get_ifd(0x8769)[0x9003] = taken_at
    image.save(path, quality=92, exif=exif)


def make_album(out: Path) -> Path:
    import numpy as np
    src = datasets_dir() / "celebrity-dev"
    out.mkdir(parents=True, exist_ok=True)
    crops = {p: sorted((src / p).glob("*.png"))[:5] for p in ALBUM_DATES}
    file_time = time.mktime((*ALBUM_FILE_TIME, 0, 0, -1))
    for person, dates in ALBUM_DATES.items():
        for number, crop, taken in zip(ALBUM_NUMBERS, crops[person], dates):
            path = out / f"{person}_{number}.jpg"
            save_jpeg(path, _portrait(crop), taken)
            if taken is None:
                os.utime(path, (file_time, file_time))
    for i, (name, (a, b), taken) in enumerate(ALBUM_PAIRS):
        left, right = _portrait(crops[a][i % 2]), _portrait(crops[b][i % 2])
        save_jpeg(out / name, np.hstack([left, right]), taken)
    return out


@pytest.fixture(scope="session")
def album_folder(tmp_path_factory) -> Path:
    assert (datasets_dir() / "celebrity-dev").is_dir(), \
        f"shared datasets not found at {datasets_dir()} (set FACEFOLIO_DATASETS)"
    return make_album(tmp_path_factory.mktemp("album") / "Album")


def scan_and_name(library_path: Path, folder: Path) -> None:
    """Scan a folder into a library, then name each person after the files their faces are
    mostly in (Barack_Obama_2.jpg: "Barack Obama"), as a user who knows them would."""
    from collections import Counter

    from facefolio.library import Library, Scanner
    from facefolio.library.people.people import People
    with Library(library_path) as library:
        folder_id = library.add_folder(folder).id
        for _ in Scanner(library).scan([folder_id]):
            pass
        fill_ages(library)
        people = People(library)
        for person in library.people():
            labels = Counter(Path(f.photo_path).stem.rsplit("_", 1)[0]
                             for f in library.faces(person_id=person.id))
            label = labels.most_common(1)[0][0]
            if label in ALBUM_DATES:
                people.name(person.id, label.replace("_", " "))
        # ... and puts right a face the grouping left out or put elsewhere: at its edges the
        # grouping follows the order the scan's workers finished in, and every test should
        # start from the same album.
        put_album_right(library)


def put_album_right(library) -> int:
    """Each album face to its person, as the user would move it; how many moved."""
    from facefolio.library.people.people import People
    named = {p.name: p.id for p in library.people() if p.name}
    moved = 0
    for face in library.faces():
        who = album_person(library, face)
        pid = named.get(who.replace("_", " ")) if who else None
        if pid is not None and face.person_id != pid:
            People(library).move_faces([face.id], pid)
            moved += 1
    return moved


def album_person(library, face) -> str | None:
    """Whose face this is in the album (make_album): by file name, or by side in a pair."""
    name = Path(face.photo_path).name
    label = Path(name).stem.rsplit("_", 1)[0]
    if label in ALBUM_DATES:
        return label
    pair = next((people for file, people, _ in ALBUM_PAIRS if file == name), None)
    if pair is None:
        return None
    x, _, w, _ = face.box
    return pair[0] if x + w / 2 < library.photo_by_path(face.photo_path).width / 2 else pair[1]


def fill_ages(library) -> None:
    """The ages the app's background pass gives a scanned library (app/age_pass.py), so a
    window opened on a copy has nothing left to estimate and no change from outside."""
    from facefolio.library.people import ages
    for _ in ages.fill(library):
        pass


def click_tile(qtbot, view, row: int, modifier=None) -> None:
    """A mouse click on a tile of a grid, as the user does it (Ctrl for more)."""
    from PySide6.QtCore import Qt
    rect = view.visualRect(view.model().index(row, 0))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                     modifier or Qt.KeyboardModifier.NoModifier, rect.center())


@pytest.fixture(scope="session")
def album_template(album_folder: Path, tmp_path_factory) -> Path:
    """The album scanned and grouped, each person named after the files their faces are in."""
    path = tmp_path_factory.mktemp("album-template") / "library"
    scan_and_name(path, album_folder)
    return path


# The unsure album's three unknown faces: each is asked about, by 0.67 to 0.91 (0.36 is the
# floor) and ahead of every rival.
UNSURE_FILES = ("Barack_Obama_1.jpg", "Barack_Obama_2.jpg", "Hugh_Laurie_1.jpg")


@pytest.fixture(scope="session")
def unsure_template(album_template: Path, tmp_path_factory) -> Path:
    """The album where three faces are unknown again (the user grouped two portraits of Barack
    Obama and one of Hugh Laurie into a person of their own, then deleted that person): they
    look like named people, so Facefolio has suggestions to ask about."""
    from facefolio.library import Library
    from facefolio.library.people.people import People
    from facefolio.library.people.suggest import all_suggestions
    path = tmp_path_factory.mktemp("unsure") / "library"
    shutil.copytree(album_template, path)
    with Library(path) as library:
        people = People(library)
        # Chosen by file, not by face id: ids follow the order the scan's workers finished
        # in, and some portraits (Barack_Obama_10 with _2, Hugh_Laurie_10) are too far
        # from their person's other faces to be asked about (stop 31's failed landing).
        faces = [f.id for f in library.faces() if Path(f.photo_path).name in UNSURE_FILES]
        people.delete_person(people.create_person(faces))
        assert len(library.faces(unassigned=True)) == 3
        asked = all_suggestions(library, 50)
        assert len(asked) == 3, f"the unsure album asks {len(asked)} questions, not 3"
    return path


@pytest.fixture
def unsure_library(unsure_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "unsure-library"
    shutil.copytree(unsure_template, path)
    return path


@pytest.fixture
def album_library(album_template: Path, tmp_path: Path) -> Path:
    """A private copy of the scanned album, people named (Barack Obama, Hugh Laurie, ...)."""
    path = tmp_path / "album-library"
    shutil.copytree(album_template, path)
    return path


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
        fill_ages(library)
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
    from facefolio.app.main import make_app
    from facefolio.app.main_window import MainWindow
    from PySide6.QtCore import QSettings
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


@pytest.fixture
def dialogs(monkeypatch):
    """Modal dialogs answered the way a test says, instead of blocking the test forever.

    `dialogs.merge = "Anna"` accepts the merge dialog keeping that name (True: its default,
    False: cancel); `dialogs.pick = PickedPerson(...)` answers "This is…" (None: cancel).
    Each dialog shown is kept in `dialogs.seen` so the test can read what it said."""
    from facefolio.app.merge_dialog import MergeDialog
    from facefolio.app.person_picker import PersonPickerDialog

    class Answers:
        merge: bool | str = True
        pick = None
        seen: list = []
    answers = Answers()
    answers.seen = []

    def merge_exec(dialog) -> int:
        answers.seen.append(dialog)
        if answers.merge is False:
            return MergeDialog.DialogCode.Rejected
        if isinstance(answers.merge, str):
            dialog.choose_name(answers.merge)
        return MergeDialog.DialogCode.Accepted

    def pick_exec(dialog) -> int:
        answers.seen.append(dialog)
        if answers.pick is None:
            return PersonPickerDialog.DialogCode.Rejected
        if callable(answers.pick):
            answers.pick(dialog)
            return PersonPickerDialog.DialogCode.Accepted
        monkeypatch.setattr(dialog, "picked", lambda: answers.pick)
        return PersonPickerDialog.DialogCode.Accepted
    monkeypatch.setattr(MergeDialog, "exec", merge_exec)
    monkeypatch.setattr(PersonPickerDialog, "exec", pick_exec)
    return answers

