"""Pillow reads a photo only through the formats Facefolio allows (engine/images.py): a file
named .jpg that holds another format is refused by every reader (the header, the dates, the
decode), and Pillow never loads its whole list of plugins to parse it."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from PIL import Image

PROBE = """
import json, sys
from PIL import Image
from facefolio.engine import images
from facefolio.engine.errors import ImageError
from facefolio.library.interop import pairs
from facefolio.library.scan import photo_meta
out = {}
for path in sys.argv[1:]:
    got = {}
    try:
        got["header"] = list(photo_meta.header(path)[:2])
    except OSError as exc:
        got["header"] = "refused: " + str(exc)
    got["date"] = pairs.capture_time(path)
    try:
        got["decode"] = list(images.load_image(path).pixels.shape[:2])
    except ImageError as exc:
        got["decode"] = "refused: " + str(exc)
    out[path.rsplit("/", 1)[-1]] = got
out["all_plugins_loaded"] = Image._initialized >= 2
print(json.dumps(out))
"""


def test_a_foreign_format_named_jpg_is_refused_by_every_reader(tmp_path: Path):
    picture = Image.new("RGB", (64, 48), (200, 120, 40))
    picture.save(tmp_path / "real.jpg", "JPEG", exif=_dated())
    picture.save(tmp_path / "gif.jpg", "GIF")  # Pillow's first plugins know GIF
    picture.save(tmp_path / "tga.jpg", "TGA")  # only a full Image.init() knows TGA
    picture.save(tmp_path / "pcx.jpg", "PCX")
    run = subprocess.run([sys.executable, "-c", PROBE, *(str(tmp_path / n) for n in (
        "real.jpg", "gif.jpg", "tga.jpg", "pcx.jpg"))], capture_output=True, text=True,
        timeout=120)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["real.jpg"] == {"header": [64, 48], "date": "2019-04-23T10:00:00",
                               "decode": [48, 64]}
    for name in ("gif.jpg", "tga.jpg", "pcx.jpg"):
        got = out[name]
        assert got["header"].startswith("refused: not an image"), (name, got)
        assert got["date"] is None, (name, got)
        assert got["decode"] == "refused: not an image (unrecognised file contents)", name
    assert out["all_plugins_loaded"] is False


def _dated() -> Image.Exif:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "2019:04:23 10:00:00"
    return exif
