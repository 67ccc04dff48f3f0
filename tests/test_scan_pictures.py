"""The scan's workers cut each face's crop and each photo's tile from the pixels they
analysed, and the writer caches them: the window's process then shows a scanned folder
without decoding a photo again (issue 25: thumbnail pixels in the workers)."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from facefolio.library import Library, Scanner  # noqa: E402
from facefolio.library.storage.thumbcache import FACES, THUMBNAILS, photo_tile_path  # noqa: E402

PHOTOS = ["img1.jpg", "couple.jpg", "img11.jpg"]


@pytest.fixture
def scanned(tmp_path, datasets) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in PHOTOS:
        shutil.copy(datasets / "deepface-unit" / name, folder / name)
    with Library(tmp_path / "lib", create=True) as library:
        library.add_folder(folder)
        for _ in Scanner(library, workers=1).scan():
            pass
    return tmp_path / "lib"


def test_a_scan_caches_every_face_crop_and_photo_tile_owner_only(scanned):
    with Library(scanned) as library:
        faces = library.faces()
        photos = library.photos()
        assert len(faces) >= len(PHOTOS) + 1  # couple.jpg holds two
        cache = scanned / THUMBNAILS
        for face in faces:
            crop = cache / FACES / f"{face.id}.jpg"
            assert crop.is_file(), face
            assert crop.stat().st_mode & 0o077 == 0  # biometric: owner only
            assert cv2.imread(str(crop)).shape == (160, 160, 3)
        for photo in photos:
            assert photo_tile_path(cache, photo.id, photo.path).is_file(), photo.path


def test_the_scans_crop_is_the_one_the_app_would_cut(scanned):
    """Same pixels as the app's own cut (app/thumbnails.py, from load_still): a crop of the
    wrong box, or of channels swapped, fails here."""
    from facefolio.app.thumbnails import face_crop
    from facefolio.engine import load_still
    with Library(scanned) as library:
        for face in library.faces():
            image = load_still(face.photo_path)
            own = face_crop(image.pixels, image.scale, face.box).astype(np.float32)
            cached = cv2.imread(str(scanned / THUMBNAILS / FACES / f"{face.id}.jpg"))
            # Both JPEG-encoded once at quality 88: only the encoding's loss differs.
            assert np.abs(own - cached.astype(np.float32)).mean() < 4.0, face.photo_path


def test_the_window_shows_a_scanned_folder_without_decoding_a_photo(scanned, monkeypatch,
                                                                    qtbot):
    from facefolio.app import thumbnails
    from facefolio.engine import video

    def no_decode(*args, **kwargs):
        raise AssertionError("the window's process decoded a photo for a thumbnail")
    monkeypatch.setattr(video, "load_still", no_decode)
    with Library(scanned) as library:
        keys = [("face", f.id) for f in library.faces()] + \
            [("photo", p.id) for p in library.photos()]
    task = thumbnails.ThumbnailTask(scanned, scanned / THUMBNAILS, keys)
    made = task._make()
    assert len(made) == len(keys)
    assert all(image is not None and not image.isNull() for _key, image in made)
    with Library(scanned) as library:
        assert thumbnails.keep_face_crops(library, scanned / THUMBNAILS) == 0


def test_forget_leaves_no_crop_the_scan_made(scanned):
    """The crops are biometric data like the embeddings: 'forget' takes them too."""
    from facefolio.library.upkeep.forget import forget_all
    with Library(scanned) as library:
        forget_all(library)
    crops = list((scanned / THUMBNAILS / FACES).glob("*.jpg"))
    assert crops == []


def test_a_forget_while_the_scan_writes_its_crops_leaves_none(scanned, monkeypatch):
    """'forget' in another process lands between the writer's commit and its crops: what
    was written is taken back (the crop of a forgotten face never stays on disk)."""
    from facefolio.library.storage import privacy, thumbcache
    from facefolio.library.upkeep.forget import forget_all
    thumbcache.clear_cache(scanned)
    real_write = privacy.write_private
    forgot = []

    def write(path, data, **kwargs):
        if not forgot:  # forget erases the cache just before this write lands
            forgot.append(path)
            with Library(scanned) as other:  # another connection, as another process
                forget_all(other)
        Path(path).parent.mkdir(parents=True, exist_ok=True)  # (forget took the folders)
        real_write(path, data, **kwargs)
    with Library(scanned) as library:
        photo = library.photo_by_path(Path(library.faces()[0].photo_path))
        face_ids = [f.id for f in library.faces(photo_id=photo.id)]
        monkeypatch.setattr(privacy, "write_private", write)
        made = thumbcache.keep_scan_pictures(library, photo.id, photo.path, face_ids,
                                             [b"crop"] * len(face_ids), b"tile")
    assert forgot and made == 0
    assert [p for p in (scanned / THUMBNAILS).rglob("*.jpg")] == []
