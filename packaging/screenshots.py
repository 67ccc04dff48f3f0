"""Screenshots of the real app under Xvfb (real X11, not offscreen), for the README.

    python packaging/screenshots.py [--out resources/screenshots] [--library DIR]

Starts Xvfb, builds a demo library from ../shared/datasets (celebrity-dev crops upscaled into
photos, plus deepface-unit's couple.jpg), scans it, names a few people, then runs the app in
a child process on that display and saves PNGs of the welcome screen, the people gallery, a
person, the right-click menu, "Find this face" results, the photo viewer and the folders view.
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
NAMED = ("Barack_Obama", "Jennifer_Aniston", "Keanu_Reeves", "Tom_Hanks", "Will_Smith")


def datasets() -> Path:
    return Path(os.environ.get("FACEFOLIO_DATASETS", ROOT.parent / "shared" / "datasets"))


def build_library(work: Path) -> Path:
    import cv2

    from facefolio.library import Library, Scanner
    from facefolio.library.people import People
    photos = work / "Photos"
    photos.mkdir(parents=True)
    for person in PEOPLE:
        for crop in sorted((datasets() / "celebrity-dev" / person).glob("*.png"))[:7]:
            img = cv2.resize(cv2.imread(str(crop)), None, fx=3, fy=3,
                             interpolation=cv2.INTER_CUBIC)
            img = cv2.copyMakeBorder(img, 60, 60, 60, 60, cv2.BORDER_REPLICATE)
            cv2.imwrite(str(photos / f"{person}_{crop.stem}.jpg"), img)
    shutil.copy(datasets() / "deepface-unit" / "couple.jpg", photos / "couple.jpg")
    library_dir = work / "library"
    with Library(library_dir) as library:
        folder = library.add_folder(photos)
        for progress in Scanner(library).scan([folder.id]):
            print(f"\rscanning {progress.done}/{progress.total}", end="", file=sys.stderr)
        print(file=sys.stderr)
        people = People(library)
        for person in library.people():
            faces = library.faces(person_id=person.id)
            label, _n = Counter(Path(f.photo_path).name.rsplit("_", 1)[0]
                                for f in faces).most_common(1)[0]
            if label in NAMED:
                people.name(person.id, label.replace("_", " "))
        couple = [f for f in library.faces() if f.photo_path.endswith("couple.jpg")]
        if couple:
            left = min(couple, key=lambda f: f.box[0])
            people.create_person([left.id], name="Angelina Jolie")
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
def child(library: Path, empty_library: Path, out: Path) -> int:
    from PySide6.QtWidgets import QApplication

    from facefolio.app.main import make_app
    from facefolio.app.main_window import MainWindow
    app = make_app()
    app.setStyle("Fusion")

    def pump(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)

    def until(condition, timeout: float = 30.0) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end and not condition():
            pump(0.05)
        pump(0.4)

    def shoot(name: str) -> None:
        pump(0.3)
        path = out / f"{name}.png"
        subprocess.run(["import", "-window", "root", str(path)], check=True)
        print(f"saved {path}")

    def pictures_ready(window, model) -> bool:
        cache = window.thumbnails.cache
        return all(model.key(r) is None or model.key(r) in cache for r in model.rows[:40])

    def open_window(path: Path) -> MainWindow:
        window = MainWindow(path)
        window.setGeometry(0, 0, *SIZE)
        window.show()
        return window

    first = open_window(empty_library)
    until(lambda: first.folders.empty is True)
    shoot("welcome")
    first.close()

    w = open_window(library)
    until(lambda: len(w.people.model.rows) >= 8 and pictures_ready(w, w.people.model))
    shoot("people")

    view = w.people.view
    obama = next(r for r in range(view.model().rowCount())
                 if view.model().index(r, 0).data() == "Barack Obama")
    rect = view.visualRect(view.model().index(obama, 0))
    view.setCurrentIndex(view.model().index(obama, 0))
    view.customContextMenuRequested.emit(rect.center())
    menu = w.actions.last_menu
    until(lambda: menu.isVisible(), 5)
    shoot("face-menu")
    find = next(a for a in menu.actions() if a.text() == "Find this face")
    menu.close()
    find.trigger()
    until(lambda: w.search.model.rowCount() > 0 and pictures_ready(w, w.search.model))
    w.search.slider.setValue(30)
    shoot("find-this-face")

    w.show_person(w.people.model.rows[obama].id)
    until(lambda: w.person.faces.rowCount() > 0 and pictures_ready(w, w.person.faces))
    shoot("person")

    couple = next(p for p in Path(w.folders.folders.rows[0].path).glob("couple.jpg"))
    w.show_photo(str(couple))
    until(lambda: not w.viewer.canvas.pixmap.isNull())
    shoot("photo-viewer")

    w.sidebar.setCurrentRow(0)
    until(lambda: w.folders.folders.rowCount() > 0)
    shoot("folders")
    photos_dir = w.folders.folders.rows[0].path
    w.close()

    # A first scan, held half-way so the picture shows people appearing while it runs.
    scan = open_window(empty_library)
    session = scan.session
    held: list[bool] = []

    def hold(progress) -> None:
        if progress.done >= 36 and not held:
            held.append(True)
            session.pause_scan(True)
    session.scanProgress.connect(hold)
    scan.add_folders([photos_dir])
    until(lambda: bool(held) and len(scan.people.model.rows) >= 2
          and pictures_ready(scan, scan.people.model), 120)
    scan.scan_status.pause_button.setChecked(False)  # show "Pause", as while running
    session.pause_scan(True)
    shoot("scanning")
    scan.close()
    QApplication.processEvents()
    return 0


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
                              timeout=600)
    finally:
        xvfb.terminate()
        xvfb.wait(10)
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
