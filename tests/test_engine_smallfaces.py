"""Small faces (issue 10 part 1) on a few generated 12 MP group photos (tests/benchmarks/
groupset.py): found down to 32 px, embedded from full-resolution pixels, and no closer look
at a photo that shows no sign of small faces."""
from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from facefolio.engine import FaceEngine, LoadedImage, load_image

sys.path.insert(0, str(Path(__file__).resolve().parent / "benchmarks"))
import groupset  # noqa: E402

UNIT = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "deepface-unit"
# Layouts of seed 0 (celebrities only): photo 2 has faces 35-41 px wide, photo 16 32-36 px,
# photo 3 53-74 px.
PHOTOS = (2, 16, 3)


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> dict[str, list]:
    d = tmp_path_factory.mktemp("groups")
    return {str(d / f"g{i}.jpg"): groupset.group_photo(d / f"g{i}.jpg", i) for i in PHOTOS}


@pytest.fixture(scope="module")
def engines() -> tuple[FaceEngine, FaceEngine]:
    return FaceEngine(), FaceEngine(small_faces=False)


def _found(engine, path, faces):
    image = load_image(path)
    dets, finer = engine.find(image)
    pairs, _, false = groupset.match(faces, [d[0] for d in dets])
    return image, dets, finer, pairs, false


def test_small_faces_are_found(photos, engines):
    engine, first_pass = engines
    widths = {"32-48": [0, 0], "48+": [0, 0]}
    first_found = 0
    for path, faces in photos.items():
        image, dets, finer, pairs, false = _found(engine, path, faces)
        assert len(false) <= 1, f"{path}: {len(false)} false detections"
        assert finer.scale == 1.0 and image.scale == 4.0  # looked closer, at full resolution
        for i, t in enumerate(faces):
            key = "32-48" if t.width < 48 else "48+"
            widths[key][1] += 1
            widths[key][0] += any(i == a for a, _ in pairs)
        first_found += len(_found(first_pass, path, faces)[3])
    print(widths, "first pass alone:", first_found)
    assert widths["32-48"][1] >= 10 and widths["48+"][1] >= 5
    assert widths["32-48"][0] >= 0.8 * widths["32-48"][1]
    assert widths["48+"][0] >= 0.95 * widths["48+"][1]
    assert first_found < 0.5 * sum(n for _, n in widths.values())  # the 640 px view alone


def test_small_faces_embed_from_full_resolution(photos, engines):
    engine = engines[0]
    path, faces = next(iter(photos.items()))  # photo 2: faces 35-41 px
    image = load_image(path)
    dets, finer = engine.find(image)
    crops = engine.crops(image, dets, finer)
    coarse = np.stack([_crop_from(image, d) for d in dets])
    # The crops come from the full-resolution decode, not from the 1/4 one the detector used.
    sharp = [cv2.Laplacian(cv2.cvtColor(c, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var() for c in crops]
    blurry = [cv2.Laplacian(cv2.cvtColor(c, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var()
              for c in coarse]
    assert np.median(sharp) > 2 * np.median(blurry)


def _crop_from(image: LoadedImage, det) -> np.ndarray:
    from facefolio.engine.align import align

    return align(image.pixels, det[1] / image.scale)


def test_no_closer_look_without_evidence(engines, tmp_path):
    engine = engines[0]
    img = cv2.imread(str(UNIT / "img1.jpg"))
    big = cv2.resize(img, (4000, int(4000 * img.shape[0] / img.shape[1])),
                     interpolation=cv2.INTER_CUBIC)
    path = tmp_path / "portrait.jpg"
    cv2.imwrite(str(path), big, [cv2.IMWRITE_JPEG_QUALITY, 90])
    image = load_image(path)
    dets, finer = engine.find(image)
    assert len(dets) == 1 and finer is image
