"""Screenshots of the real app under Xvfb (real X11, not offscreen), for the README.

    python packaging/screenshots.py [--out resources/screenshots] [--library DIR]

Starts Xvfb, builds a demo library from ../shared/datasets (celebrity-dev crops upscaled into
portraits with EXIF dates over ten years, photos of two people together, deepface-unit's
couple.jpg and selfie-many-people.jpg), scans it, names people, leaves a few faces for the
review queue, puts a second folder on an "unplugged drive" and deletes one photo, then runs
the app in a child process on that display and saves a PNG of each view.
Needs: Xvfb and ImageMagick's `import` (apt-get install xvfb imagemagick), and the xcb
libraries Qt loads (libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxkbcommon-x11-0).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZE = (1280, 800)
PEOPLE = ("Barack_Obama", "Hugh_Laurie", "Jennifer_Aniston", "Kate_Winslet", "Keanu_Reeves",
          "Tina_Fey", "Tom_Hanks", "Will_Smith")
NAMED = ("Barack_Obama", "Jennifer_Aniston", "Keanu_Reeves", "Tom_Hanks", "Will_Smith",
         "Hugh_Laurie")
PAIRS = (("Barack_Obama", "Tom_Hanks"), ("Jennifer_Aniston", "Will_Smith"),
         ("Barack_Obama", "Tom_Hanks"), ("Keanu_Reeves", "Jennifer_Aniston"))


def datasets() -> Path:
    return Path(os.environ.get("FACEFOLIO_DATASETS", ROOT.parent / "shared" / "datasets"))


def _portrait(crop: Path):
    """The crop upscaled (the detector needs that) on a blurred copy of itself, so the
    screenshots show photos rather than the streaks of replicated edge pixels."""
    import cv2
    img = cv2.resize(cv2.imread(str(crop)), None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)
    h, w = img.shape[:2]
    canvas = cv2.GaussianBlur(cv2.resize(img, (w + 120, h + 120)), (0, 0), 25)
    canvas[60:60 + h, 60:60 + w] = img
    return canvas


def _save(path: Path, bgr, taken: str | None) -> None:
    """A JPEG with EXIF DateTimeOriginal, as a camera writes it."""
    import cv2
    from PIL import Image
    exif = Image.Exif()
    if taken:
        exif.get_ifd(0x8769)[0x9003] = taken
    Image.fromarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)).save(path, quality=92, exif=exif)


def make_photos(photos: Path) -> None:
    import numpy as np
    photos.mkdir(parents=True)
    crops = {p: sorted((datasets() / "celebrity-dev" / p).glob("*.png"))[:7] for p in PEOPLE}
    for i, person in enumerate(PEOPLE):
        for j, crop in enumerate(crops[person]):
            year, month = 2014 + (i + j * 3) % 10, 1 + (i * 5 + j * 7) % 12
            _save(photos / f"{person}_{j + 1}.jpg", _portrait(crop),
                  f"{year}:{month:02d}:{1 + j * 3:02d} 1{j}:00:00")
    for k, (a, b) in enumerate(PAIRS):
        pair = np.hstack([_portrait(crops[a][k % 3]), _portrait(crops[b][k % 3])])
        _save(photos / f"together_{k + 1}.jpg", pair, f"{2020 + k}:0{k + 3}:1{k} 18:30:00")
    for name in ("couple.jpg", "selfie-many-people.jpg"):
        shutil.copy(datasets() / "deepface-unit" / name, photos / name)


def build_library(work: Path) -> Path:
    from facefolio.library import Library, Scanner
    from facefolio.library.people.people import People
    photos, old_drive = work / "Photos", work / "Old drive" / "Holidays 2012"
    make_photos(photos)
    old_drive.mkdir(parents=True)
    for crop in sorted((datasets() / "celebrity-dev" / "Tina_Fey").glob("*.png"))[7:11]:
        _save(old_drive / f"IMG_{crop.stem}.jpg", _portrait(crop), "2012:08:14 16:00:00")
    library_dir = work / "library"
    with Library(library_dir) as library:
        for folder in (photos, old_drive):
            folder_id = library.add_folder(folder).id
            for progress in Scanner(library).scan([folder_id]):
                print(f"\rscanning {progress.done}/{progress.total}", end="", file=sys.stderr)
        print(file=sys.stderr)
        people = People(library)
        for person in library.people():
            faces = library.faces(person_id=person.id)
            label, _n = Counter(Path(f.photo_path).stem.rsplit("_", 1)[0]
                                for f in faces).most_common(1)[0]
            if label in NAMED:
                people.name(person.id, label.replace("_", " "))
        couple = [f for f in library.faces() if f.photo_path.endswith("couple.jpg")]
        if couple:
            left = min(couple, key=lambda f: f.box[0])
            people.create_person([left.id], name="Angelina Jolie")
        # Faces the user once took out into a group of their own, then deleted: unknown
        # again, and like someone named, so the review queue has questions to ask.
        by_name = {p.name: p.id for p in library.people()}
        unsure: list[int] = []
        for name, n in (("Keanu Reeves", 2), ("Will Smith", 1)):
            unsure += [f.id for f in library.faces(person_id=by_name[name])
                       if "together" not in f.photo_path][:n]
        people.delete_person(people.create_person(unsure))
    # The old drive is unplugged (its mount point stays, empty); a photo was deleted.
    shutil.rmtree(old_drive)
    old_drive.mkdir()
    (photos / "Hugh_Laurie_7.jpg").unlink()
    with Library(library_dir) as library:
        for _ in Scanner(library).scan():
            pass
    return library_dir


def start_xvfb() -> tuple[subprocess.Popen, str]:
    for number in range(91, 120):
        if not Path(f"/tmp/.X{number}-lock").exists():
            display = f":{number}"
            proc = subprocess.Popen(["Xvfb", display, "-screen", "0",
                                     f"{SIZE[0]}x{SIZE[1]}x24", "-nolisten", "tcp"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(50):
                if Path(f"/tmp/.X11-unix/X{number}").exists():
                    return proc, display
                time.sleep(0.1)
            proc.kill()
    raise SystemExit("could not start Xvfb")


# -- the child: runs the app on the Xvfb display and captures the screen -------------------
class Shooter:
    def __init__(self, app, out: Path) -> None:
        self.app, self.out = app, out

    def pump(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.app.processEvents()
            time.sleep(0.01)

    def until(self, condition, timeout: float = 30.0) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end and not condition():
            self.pump(0.05)
        self.pump(0.4)

    def shoot(self, name: str) -> None:
        self.pump(0.3)
        path = self.out / f"{name}.png"
        subprocess.run(["import", "-window", "root", str(path)], check=True)
        print(f"saved {path}")


def pictures_ready(window, model) -> bool:
    cache = window.thumbnails.cache
    return all(model.key(r) is None or model.key(r) in cache for r in model.rows[:40])


def child(library: Path, empty_library: Path, out: Path) -> int:
    from PySide6.QtWidgets import QApplication

    from facefolio.app.main import make_app
    from facefolio.app.main_window import MainWindow
    from facefolio.app.person_picker import PersonPickerDialog
    app = make_app()
    app.setStyle("Fusion")
    # Modal questions would stop this script: they are shown (and shot) on their own below.
    PersonPickerDialog.exec = lambda self: PersonPickerDialog.DialogCode.Rejected
    s = Shooter(app, out)

    def open_window(path: Path, size=SIZE) -> MainWindow:
        window = MainWindow(path)
        window.setGeometry(0, 0, *size)
        window.show()
        return window

    first = open_window(empty_library)
    s.until(lambda: first.folders.empty is True)
    s.shoot("welcome")
    first.close()

    w = open_window(library)
    s.until(lambda: len(w.people.model.rows) >= 8 and pictures_ready(w, w.people.model))
    s.shoot("people")
    shoot_people(s, w)
    shoot_photos(s, w)
    shoot_review(s, w)
    shoot_viewer(s, w)
    w.sidebar.setCurrentRow(0)
    s.until(lambda: w.folders.folders.rowCount() > 0)
    w.folders.table.selectRow(next(i for i, f in enumerate(w.folders.folders.rows)
                                   if f.missing_count))
    s.shoot("folders")
    photos_dir = next(f.path for f in w.folders.folders.rows if f.photo_count > 20)
    w.close()

    small = open_window(library, (760, 500))
    s.until(lambda: len(small.people.model.rows) >= 8 and
            pictures_ready(small, small.people.model))
    s.shoot("small-window")
    small.close()
    shoot_scanning(s, open_window(empty_library), photos_dir)
    QApplication.processEvents()
    return 0


def shoot_people(s: Shooter, w) -> None:
    view = w.people.view
    names = [view.model().index(r, 0).data() for r in range(view.model().rowCount())]
    obama = names.index("Barack Obama")
    rect = view.visualRect(view.model().index(obama, 0))
    view.setCurrentIndex(view.model().index(obama, 0))
    view.customContextMenuRequested.emit(rect.center())
    menu = w.actions.last_menu
    s.until(lambda: menu.isVisible(), 5)
    s.shoot("face-menu")
    find = next(a for a in menu.actions() if a.text() == "Find this face")
    menu.close()
    find.trigger()
    s.until(lambda: w.search.model.rowCount() > 0 and pictures_ready(w, w.search.model))
    s.shoot("find-this-face")
    rows = {p.name: p for p in w.people.model.rows}
    # As "Merge selected" opens it: each side's faces load while it is shown.
    dialog = w.actions._merge_dialog([rows["Keanu Reeves"], rows["Will Smith"]])
    dialog.show()
    s.until(lambda: all(label.pixmap() is not None and not label.pixmap().isNull()
                        for labels in dialog.face_labels.values()
                        for label in labels if label.isVisible()) and
            len(dialog.face_ids[rows["Will Smith"].id]) > 1, 20)
    s.shoot("merge")
    dialog.close()
    w.show_person(rows["Barack Obama"].id)
    s.until(lambda: w.person.faces.rowCount() > 0 and pictures_ready(w, w.person.faces))
    s.shoot("person")


def shoot_photos(s: Shooter, w) -> None:
    w.sidebar.setCurrentRow(3)
    s.until(lambda: w.photos.model.rowCount() > 0 and pictures_ready(w, w.photos.model))
    s.shoot("all-photos")
    rows = {p.name: p.id for p in w.people.model.rows}
    w.show_photos_with([rows["Barack Obama"], rows["Tom Hanks"]])
    s.until(lambda: w.photos.model.rowCount() == 2 and pictures_ready(w, w.photos.model))
    s.shoot("photos-together")
    w.photos.set_people([])
    folder = Path(w.photos.model.rows[0].path).parent
    w.show_photo_search(str(folder / "together_1.jpg"))
    s.until(lambda: len(w.search.groups) == 2 and all(
        pictures_ready(w, g.model) for g in w.search.groups), 60)
    s.shoot("find-in-photo")


def shoot_review(s: Shooter, w) -> None:
    from facefolio.app.person_picker import PersonPickerDialog, load_choices
    from facefolio.library import Library
    w.sidebar.setCurrentRow(4)
    s.until(lambda: w.review.current() is not None and
            w.review.pictures[0].pixmap() is not None and
            not w.review.pictures[0].pixmap().isNull())
    s.shoot("review")
    face = w.review.current().face.face_id
    with Library(w.session.path) as library:
        choices = load_choices(library, [face])
    picker = PersonPickerDialog(choices, 1, w.thumbnails, w)
    picker.show()
    s.until(lambda: not picker.list.item(0).icon().isNull(), 10)
    s.shoot("this-is")
    picker.close()


def shoot_viewer(s: Shooter, w) -> None:
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtTest import QTest
    selfie = next(Path(f.path) for f in w.folders.folders.rows
                  if (Path(f.path) / "selfie-many-people.jpg").exists()) / \
        "selfie-many-people.jpg"
    w.show_photo(str(selfie))
    canvas = w.viewer.canvas
    s.until(lambda: not canvas.pixmap.isNull())
    s.shoot("photo-viewer")
    # Drawing the face the detector missed (bottom left), caught mid-drag.
    origin, k = canvas.view()
    a = QPointF(origin.x() - 10, origin.y() + 392 / canvas.scale * k).toPoint()
    b = QPointF(origin.x() + 58 / canvas.scale * k,
                origin.y() + 568 / canvas.scale * k).toPoint()
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, pos=a)
    QTest.mouseMove(canvas, (a + b) / 2)
    QTest.mouseMove(canvas, b)
    s.pump(0.3)
    s.shoot("draw-face")
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=b)
    s.until(lambda: len(canvas.faces) >= 7, 30)
    QTest.mouseMove(canvas, QPoint(5, 5))


def shoot_scanning(s: Shooter, scan, photos_dir: str) -> None:
    """A first scan, held part-way so the picture shows people appearing while it runs."""
    session = scan.session
    held: list[bool] = []

    def hold(progress) -> None:
        if progress.done >= 36 and not held:
            held.append(True)
            session.pause_scan(True)
    session.scanProgress.connect(hold)
    scan.add_folders([photos_dir])
    s.until(lambda: bool(held) and len(scan.people.model.rows) >= 2
            and pictures_ready(scan, scan.people.model), 120)
    scan.scan_status.pause_button.setChecked(True)  # the status says "Paused"
    s.shoot("scanning")
    scan.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "resources" / "screenshots")
    parser.add_argument("--library", type=Path, help="use this scanned library as it is")
    parser.add_argument("--child", nargs=3, metavar=("LIBRARY", "EMPTY", "OUT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(*(Path(p) for p in args.child))

    work = Path(tempfile.mkdtemp(prefix="facefolio-shots-"))
    args.out.mkdir(parents=True, exist_ok=True)
    library = args.library or build_library(work)
    xvfb, display = start_xvfb()
    env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb",
               XDG_CONFIG_HOME=str(work / "config"), FACEFOLIO_LIBRARY=str(library))
    try:
        done = subprocess.run([sys.executable, __file__, "--child", str(library),
                               str(work / "empty-library"), str(args.out)], env=env,
                              timeout=900)
    finally:
        xvfb.terminate()
        xvfb.wait(10)
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
