"""One run on a real X server (Xvfb, Qt's xcb platform, not offscreen): the main window opens
on a scanned library, shows its people, and a screenshot of it is not blank.

Skipped where Xvfb or Qt's xcb libraries are missing (see packaging/screenshots.py)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from app_fixtures import photo_folder, scanned_library, scanned_template  # noqa: F401

CHILD = r"""
import sys, time
from PySide6.QtWidgets import QApplication
from facefolio.app.main import make_app
from facefolio.app.main_window import MainWindow
app = make_app()
assert app.platformName() == "xcb", app.platformName()
window = MainWindow(sys.argv[1])
window.setGeometry(0, 0, 1024, 700)
window.show()
end = time.monotonic() + 60
def ready():
    cache = window.thumbnails.cache
    rows = window.people.model.rows
    return len(rows) == 3 and all(("face", r.cover_face_id) in cache for r in rows)
while time.monotonic() < end and not ready():
    app.processEvents()
    time.sleep(0.02)
for _ in range(20):
    app.processEvents()
    time.sleep(0.02)
shot = app.primaryScreen().grabWindow(0)
shot.save(sys.argv[2])
print(len(window.people.model.rows))
window.close()
"""


def _start_xvfb() -> tuple[subprocess.Popen, str]:
    for number in range(140, 180):
        if not Path(f"/tmp/.X{number}-lock").exists():
            proc = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "1024x700x24",
                                     "-nolisten", "tcp"], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            for _ in range(50):
                if Path(f"/tmp/.X11-unix/X{number}").exists():
                    return proc, f":{number}"
                time.sleep(0.1)
            proc.kill()
    pytest.skip("could not start Xvfb")


@pytest.mark.skipif(not shutil.which("Xvfb"), reason="Xvfb is not installed")
def test_main_window_on_a_real_x_server(scanned_library, tmp_path):
    xvfb, display = _start_xvfb()
    shot = tmp_path / "window.png"
    env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb")
    try:
        run = subprocess.run([sys.executable, "-c", CHILD, str(scanned_library), str(shot)],
                             env=env, capture_output=True, text=True, timeout=120)
    finally:
        xvfb.terminate()
        xvfb.wait(10)
    if "Could not load the Qt platform plugin" in run.stderr:
        pytest.skip("Qt's xcb platform libraries are missing")
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "3"
    from PySide6.QtGui import QImage
    image = QImage(str(shot))
    assert image.width() == 1024
    colours = {image.pixel(x, y) for x in range(0, 1024, 16) for y in range(0, 700, 16)}
    assert len(colours) > 50  # faces and text, not an empty or black screen
