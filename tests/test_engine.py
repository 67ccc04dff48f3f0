"""Engine tests on the real photos in shared/datasets; nothing is downloaded."""
from __future__ import annotations

import csv
import io
import os
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from facefolio.engine import (
    DEFAULT_PACK, PACKS, FaceEngine, ImageError, LoadedImage, ModelError, load_image,
)
from facefolio.engine import images, models


def _datasets() -> Path:
    env = os.environ.get("FACEFOLIO_DATASETS")
    root = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "datasets"
    assert (root / "deepface-unit" / "master.csv").is_file(), f"datasets missing at {root}"
    return root


# insightface's norm_crop calls a deprecated scikit-image API once per face.
pytestmark = pytest.mark.filterwarnings("ignore:`estimate` is deprecated:FutureWarning")

DATA = _datasets()
DESKTOP = Path(__file__).resolve().parents[1] / "desktop"
UNIT = DATA / "deepface-unit"


@pytest.fixture(scope="module")
def engine() -> FaceEngine:
    return FaceEngine(DEFAULT_PACK)


@pytest.fixture(scope="module")
def face_photo() -> np.ndarray:
    """A single-face BGR photo, shrunk so format round-trips stay fast."""
    img = cv2.imread(str(UNIT / "img1.jpg"))
    return cv2.resize(img, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)


def test_public_api_has_no_qt():
    # In a fresh interpreter: this one may hold PySide6 from the app tests. (The set of
    # facefolio.engine modules' first parts could only ever be {"facefolio"}.)
    code = ("import sys, facefolio.engine as e; e.FaceEngine, e.load_image; print(sorted("
            "m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONPATH": str(DESKTOP)})
    assert out.stdout.strip() == "[]"
    assert set(PACKS) >= {"yunet-sface", "buffalo_l", "buffalo_s", "buffalo_sc", "antelopev2"}
    assert PACKS[DEFAULT_PACK].dim == 128


def test_group_photos(engine):
    many = engine.analyze(load_image(UNIT / "selfie-many-people.jpg"))
    couple = engine.analyze(load_image(UNIT / "couple.jpg"))
    assert len(many) >= 4
    assert len(couple) == 2
    f = many[0]
    assert f.landmarks.shape == (5, 2) and f.landmarks.dtype == np.float32
    assert f.embedding.shape == (128,) and abs(np.linalg.norm(f.embedding) - 1) < 1e-4
    assert 0 <= f.quality <= 1
    areas = [g.box[2] * g.box[3] for g in many]
    assert areas == sorted(areas, reverse=True)


@pytest.fixture(scope="module")
def celebrity_pairs() -> tuple[np.ndarray, np.ndarray]:
    """(cosine, same person) for every pair of celebrity-dev crops the detector finds
    (3x upscaled; 316 of 320: 6,085 same-person and 43,685 different-person pairs) at the
    detection threshold the recogniser's threshold was calibrated under, 0.60 (the shipped
    0.70 finds 311: five tight crops score 0.61-0.69)."""
    engine = FaceEngine(DEFAULT_PACK, det_threshold=0.6)
    embs, labels = [], []
    for person in sorted(p for p in (DATA / "celebrity-dev").iterdir() if p.is_dir()):
        for crop in sorted(person.glob("*.png")):
            up = cv2.resize(cv2.imread(str(crop)), None, fx=3, fy=3,
                            interpolation=cv2.INTER_CUBIC)
            faces = engine.analyze(LoadedImage(up, 1.0, up.shape[1], up.shape[0]))
            if faces:
                embs.append(faces[0].embedding)
                labels.append(person.name)
    e, lab = np.array(embs), np.array(labels)
    iu = np.triu_indices(len(e), 1)
    return (e @ e.T)[iu], (lab[:, None] == lab[None, :])[iu]


def fmr_threshold(sims: np.ndarray, same: np.ndarray, fmr: float) -> float:
    """The lowest cut-off at which at most ``fmr`` of the different-person pairs match."""
    impostors = np.sort(sims[~same])[::-1]
    return float(impostors[int(np.floor(fmr * len(impostors)))])


def test_match_threshold_calibrated_on_celebrities_checked_on_master(engine, celebrity_pairs):
    """Calibrate on one labelled set, check on another.

    Calibration (celebrity-dev): the cut-off where 1 in 10,000 different-person pairs still
    match, the operating point of face verification benchmarks (TAR at FAR 1e-4); merging
    two people is worse than splitting one when a whole library is grouped. The shipped
    threshold must lie between that and the 1-in-1,000 point. Check (deepface-unit
    master.csv, 300 pairs of real photos): every pair right at both.
    """
    sims, same = celebrity_pairs
    assert same.sum() == 6085 and (~same).sum() == 43685
    t4, t3 = fmr_threshold(sims, same, 1e-4), fmr_threshold(sims, same, 1e-3)
    shipped = engine.info.match_threshold
    fmr = float((sims[~same] > shipped).mean())
    tmr = float((sims[same] > shipped).mean())
    print(f"celebrity-dev: FMR 1e-4 at {t4:.4f}, 1e-3 at {t3:.4f}; at {shipped}: "
          f"FMR {fmr:.5f}, TMR {tmr:.4f}")
    # The properties that matter, not a dependency's last digit: the shipped threshold lies
    # between the two operating points, lets through at most 1 in 1,000 different-person pairs,
    # and keeps the true-match rate where it was measured (0.8422 with OpenCV 4.14 and 0.8419
    # with 5.0 here, whose warpAffine moves the aligned crops by a grey level; 0.837 was seen
    # on another machine: tests/benchmarks/opencv_compare.py). A real regression (BGR fed for
    # RGB, a wrong alignment template) costs far more than the margin.
    assert 0.33 <= t3 <= shipped <= t4 <= 0.45
    assert fmr <= 1e-3 and tmr >= 0.82

    rows = list(csv.DictReader(open(UNIT / "master.csv", newline="")))
    files = sorted({r["file_x"] for r in rows} | {r["file_y"] for r in rows})
    emb = {}
    for name in files:
        faces = engine.analyze(load_image(UNIT / name))
        assert faces, f"no face in {name}"
        emb[name] = faces[0].embedding
    yes = np.array([r["Decision"] == "Yes" for r in rows])
    pair_sims = np.array([float(emb[r["file_x"]] @ emb[r["file_y"]]) for r in rows])
    print(f"master.csv: hardest genuine {pair_sims[yes].min():.3f}, "
          f"hardest impostor {pair_sims[~yes].max():.3f}")
    for th in (t4, shipped):
        assert int(((pair_sims > th) == yes).sum()) == 300


@pytest.mark.parametrize("orientation", [6, 8])
def test_exif_rotation(engine, face_photo, tmp_path, orientation):
    h, w = face_photo.shape[:2]
    # Orientation 6 means "rotate 90 CW to view": store the pixels rotated CCW, and v.v.
    code = cv2.ROTATE_90_COUNTERCLOCKWISE if orientation == 6 else cv2.ROTATE_90_CLOCKWISE
    stored = cv2.rotate(face_photo, code)
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif.get_ifd(0x8769)[0x9003] = "2021:06:05 14:03:02"
    path = tmp_path / "rotated.jpg"
    Image.fromarray(stored[:, :, ::-1]).save(path, exif=exif, quality=92)
    img = load_image(path)
    assert (img.width, img.height) == (w, h)  # upright frame, not the stored one
    assert img.pixels.shape[:2] == (h, w)
    assert img.taken_at == "2021-06-05T14:03:02"
    upright = engine.analyze(LoadedImage(face_photo, 1.0, w, h, None))[0]
    faces = engine.analyze(img)
    assert faces
    assert np.allclose(faces[0].box, upright.box, atol=0.05 * w)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_all_exif_orientations_match_pillow(tmp_path, orientation):
    from PIL import ImageOps

    a = np.zeros((64, 96, 3), np.uint8)  # quadrants of distinct colours: any flip shows
    a[:32, :48] = (255, 0, 0)
    a[:32, 48:] = (0, 255, 0)
    a[32:, :48] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "o.jpg"
    Image.fromarray(a).save(path, exif=exif, quality=95)
    want = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))[:, :, ::-1]
    img = load_image(path)
    assert img.pixels.shape == want.shape and (img.height, img.width) == want.shape[:2]
    assert np.abs(img.pixels.astype(int) - want).mean() < 3


def _save(tmp: Path, rgb: np.ndarray, name: str, mode: str | None = None, **kw) -> Path:
    im = Image.fromarray(rgb)
    if mode == "I;16":
        im = Image.fromarray((np.asarray(im.convert("L")).astype(np.uint16) * 257))
    elif mode is not None:
        im = im.convert(mode)
    path = tmp / name
    im.save(path, **kw)
    return path


@pytest.mark.parametrize("name,mode", [
    ("grey.jpg", "L"), ("cmyk.jpg", "CMYK"), ("grey16.png", "I;16"), ("rgba.png", "RGBA"),
    ("palette.png", "P"), ("photo.tif", None), ("photo.webp", None), ("photo.bmp", None),
    ("la.png", "LA"),
])
def test_formats_and_modes(engine, face_photo, tmp_path, name, mode):
    path = _save(tmp_path, face_photo[:, :, ::-1].copy(), name, mode)
    img = load_image(path)
    assert img.pixels.dtype == np.uint8 and img.pixels.shape[2] == 3
    assert img.pixels.shape[:2] == face_photo.shape[:2]
    # Colour must survive (not inverted CMYK, not clipped 16-bit): compare to the source.
    ref = face_photo if mode not in ("L", "I;16", "LA") else np.repeat(
        cv2.cvtColor(face_photo, cv2.COLOR_BGR2GRAY)[:, :, None], 3, axis=2)
    assert np.abs(img.pixels.astype(int) - ref).mean() < 25
    assert engine.analyze(img)


def test_heic(engine, face_photo, tmp_path):
    import pillow_heif

    path = tmp_path / "photo.heic"
    pillow_heif.from_pillow(Image.fromarray(face_photo[:, :, ::-1].copy())).save(path, quality=90)
    img = load_image(path)
    assert img.pixels.shape[:2] == face_photo.shape[:2]
    assert engine.analyze(img)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def test_bad_inputs(tmp_path):
    jpeg = (UNIT / "img1.jpg").read_bytes()
    cases = {
        "empty.jpg": b"",
        "truncated.jpg": jpeg[: int(len(jpeg) * 0.4)],
        "random.jpg": np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes(),
        "text.png": b"hello, this is not a picture\n" * 10,
        "bomb.png": b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0))
        + _png_chunk(b"IDAT", zlib.compress(b"\0" * 100)) + _png_chunk(b"IEND", b""),
    }
    messages = {}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        t = time.perf_counter()
        with pytest.raises(ImageError) as err:
            load_image(tmp_path / name)
        assert time.perf_counter() - t < 1.0
        messages[name] = str(err.value)
    with pytest.raises(ImageError) as err:
        load_image(tmp_path / "missing.jpg")
    messages["missing"] = str(err.value)
    print(messages)
    assert messages["empty.jpg"] == "empty file (0 bytes)"
    assert "truncated" in messages["truncated.jpg"]
    assert messages["random.jpg"].startswith("not an image")
    assert messages["text.png"].startswith("not an image")
    assert messages["bomb.png"].startswith("image too large")
    assert messages["missing"] == "file not found"
    for m in messages.values():
        assert "\n" not in m and "Traceback" not in m and len(m) < 200


def test_pixel_budget_before_decode(tmp_path):
    path = tmp_path / "big.png"
    Image.new("RGB", (2000, 1000)).save(path)
    with pytest.raises(ImageError, match="2000x1000 pixels exceeds the 1-megapixel limit"):
        load_image(path, max_pixels=1_000_000)


def test_reduced_decode_maps_to_original(engine, tmp_path):
    img = cv2.imread(str(UNIT / "couple.jpg"))
    big = cv2.resize(img, (4000, 3000), interpolation=cv2.INTER_CUBIC)
    path = tmp_path / "12mp.jpg"
    cv2.imwrite(str(path), big, [cv2.IMWRITE_JPEG_QUALITY, 90])
    t0 = time.perf_counter()
    reduced = load_image(path)
    t1 = time.perf_counter()
    dets = engine.detect(reduced)
    t2 = time.perf_counter()
    faces = engine.analyze(reduced)
    t3 = time.perf_counter()
    print(f"12 MP: decode {1e3*(t1-t0):.0f} ms, detect {1e3*(t2-t1):.0f} ms, "
          f"analyze {1e3*(t3-t2):.0f} ms, {len(dets)} faces, decoded {reduced.pixels.shape}")
    assert reduced.scale > 1 and (reduced.width, reduced.height) == (4000, 3000)
    assert max(reduced.pixels.shape[:2]) >= images.DETECT_SIDE
    full = engine.analyze(LoadedImage(big, 1.0, 4000, 3000, None))
    assert len(faces) == len(full) == 2
    for a, b in zip(faces, full):
        assert np.allclose(a.box, b.box, atol=0.03 * b.box[2])
        assert float(a.embedding @ b.embedding) > 0.8


def test_conversion_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FACEFOLIO_CACHE_DIR", str(tmp_path))
    first = models.converted_model(models.YUNET_FILE, models.YUNET_SHA)
    assert first.is_relative_to(tmp_path) and models.YUNET_SHA in str(first)
    mtime = first.stat().st_mtime_ns
    assert models.converted_model(models.YUNET_FILE, models.YUNET_SHA) == first
    assert first.stat().st_mtime_ns == mtime  # reused, not rewritten
    first.write_bytes(first.read_bytes()[:1000])  # a truncated cache file
    again = models.converted_model(models.YUNET_FILE, models.YUNET_SHA)
    assert again == first and again.stat().st_size > 1000
    with pytest.raises(ModelError, match="damaged"):
        models.converted_model(models.YUNET_FILE, "0" * 64)


def test_missing_insightface_pack_is_not_downloaded(tmp_path, monkeypatch):
    monkeypatch.setenv("INSIGHTFACE_HOME", str(tmp_path))
    with pytest.raises(ModelError, match="not installed"):
        FaceEngine("buffalo_l")
    assert not any(tmp_path.iterdir())
    with pytest.raises(ModelError, match="unknown model pack"):
        FaceEngine("nope")


def test_celebrity_crops_upscaled(engine):
    people = sorted(p for p in (DATA / "celebrity-dev").iterdir() if p.is_dir())
    assert people
    for person in people:
        crop = cv2.imread(str(sorted(person.glob("*.png"))[0]))
        up = cv2.resize(crop, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)
        h, w = up.shape[:2]
        assert engine.analyze(LoadedImage(up, 1.0, w, h, None)), person.name


def test_what_is_not_surely_a_face_is_low_quality(engine):
    """A detection scored under quality.SURE_SCORE (a pattern, a hand, half a face at the
    edge) is capped under the grouping's quality floor, so Unknown faces keeps it behind
    "Show low-quality faces" and it never starts a person; a box the user drew is not."""
    from facefolio.engine import quality
    from facefolio.library.people import regroup

    assert quality.UNSURE_QUALITY < regroup.QUALITY_FLOOR
    photo = load_image(UNIT / "img1.jpg")
    face = engine.analyze(photo)[0]
    assert face.score >= quality.SURE_SCORE and face.quality >= regroup.QUALITY_FLOOR
    crop = engine.crops(photo, [(np.array(face.box, np.float32), face.landmarks,
                                 face.score)])[0]
    w, h = face.box[2], face.box[3]
    sure = quality.face_quality(w, h, crop, face.landmarks, face.score)
    assert sure == pytest.approx(face.quality)
    assert quality.face_quality(w, h, crop, face.landmarks, 0.7) <= quality.UNSURE_QUALITY
    assert quality.face_quality(w, h, crop, face.landmarks, None) == pytest.approx(sure)
    drawn = engine.embed_box(photo, face.box)
    assert drawn.quality >= regroup.QUALITY_FLOOR  # the user's box: surely a face
