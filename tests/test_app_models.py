"""Qt item models, the delegate's data, thumbnails and the bool-signal guard, without windows."""
from __future__ import annotations

import os
from dataclasses import replace

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from app_fixtures import no_dangling_pools, photo_folder, scanned_library, scanned_template  # noqa: E402,F401
from facefolio.app.models import (  # noqa: E402
    FaceItem,
    FaceListModel,
    PeopleFilterProxy,
    PeopleListModel,
    PhotoListModel,
    SimilarityFilterProxy,
)
from facefolio.app.roles import PERSON_MIME, PersonIdRole, SubtitleRole  # noqa: E402
from facefolio.app.table_models import error_table_model, folder_table_model  # noqa: E402
from facefolio.app.thumbnails import face_crop  # noqa: E402
from facefolio.app.pixmap_cache import PixmapCache
from facefolio.library import (  # noqa: E402
    FolderRecord,
    PersonRecord,
    PhotoRecord,
    PhotoStatus,
)
from PySide6.QtCore import QObject, Qt, Signal  # noqa: E402


def people(n: int = 5) -> list[PersonRecord]:
    return [PersonRecord(id=i, name=f"P{i}" if i % 2 else None, hidden=i == 4,
                         cover_face_id=None, face_count=10 - i)
            for i in range(1, n + 1)]


def faces(n: int = 4, similarity: bool = False) -> list[FaceItem]:
    return [FaceItem(i, f"/p/{i}.jpg", (1, 2, 3, 4), i % 2 or None, "Ann" if i % 2 else None,
                     1 - i / 10 if similarity else None) for i in range(1, n + 1)]


def test_people_model_passes_modeltester(qtmodeltester):
    model = PeopleListModel(None)
    model.set_rows(people())
    qtmodeltester.check(model)
    proxy = PeopleFilterProxy()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy)
    assert proxy.rowCount() == 4  # person 4 is hidden
    proxy.set_show_hidden(True)
    assert proxy.rowCount() == 5
    proxy.setFilterFixedString("p3")
    assert [proxy.index(r, 0).data(PersonIdRole) for r in range(proxy.rowCount())] == [3]


def test_people_model_updates_in_place_then_resets():
    model = PeopleListModel(None)
    model.set_rows(people())
    resets, changes = [], []
    model.modelReset.connect(lambda: resets.append(1))
    model.dataChanged.connect(lambda a, b, roles=(): changes.append((a.row(), b.row())))
    renamed = people()
    renamed[1] = PersonRecord(id=2, name="Bea", hidden=False, cover_face_id=None, face_count=8)
    model.set_rows(renamed)
    assert changes == [(1, 1)] and not resets
    model.set_rows(renamed[:3])
    assert resets
    assert model.index(1).data() == "Bea"
    assert model.index(2).data(SubtitleRole) == "7 photos"


def test_merging_rows_keeps_the_order_shown(qtmodeltester):
    """Issue 21, point 8: a view updated while the user looks (a scan adds and groups faces)
    keeps every tile it shows in its place: gone ones leave, new ones come at the end."""
    model = FaceListModel(None)
    model.set_rows(faces(4))
    resets = []
    model.modelReset.connect(lambda: resets.append(1))
    fresh = faces(6)
    newer = [fresh[5], fresh[3], fresh[0], fresh[4], fresh[2]]  # 2 went; 5, 6 new; resorted
    model.merge_rows(newer)
    assert [r.face_id for r in model.rows] == [1, 3, 4, 6, 5] and not resets
    qtmodeltester.check(model)


def test_dropping_people_on_a_person_asks_to_merge():
    model = PeopleListModel(None)
    model.set_rows(people())
    asked = []
    model.mergeRequested.connect(lambda target, sources: asked.append((target, sources)))
    data = model.mimeData([model.index(2), model.index(3)])
    assert data.hasFormat(PERSON_MIME)
    assert model.dropMimeData(data, Qt.DropAction.CopyAction, -1, -1, model.index(0)) is False
    assert asked == [(1, [3, 4])]
    assert not model.canDropMimeData(data, Qt.DropAction.CopyAction, -1, -1, model.index(-1))


def test_face_and_photo_models_pass_modeltester(qtmodeltester):
    model = FaceListModel(None)
    model.set_rows(faces(6, similarity=True))
    qtmodeltester.check(model)
    proxy = SimilarityFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_min_similarity(0.65)
    qtmodeltester.check(proxy)
    assert proxy.rowCount() == 3
    assert model.index(0).data() == "90% similar"
    photos = PhotoListModel(None)
    photos.set_rows([PhotoRecord(id=1, folder_id=1, path="/a/b.jpg", width=10, height=10,
                                 taken_at=None, status=PhotoStatus.DONE, error=None,
                                 face_count=2)])
    qtmodeltester.check(photos)
    assert photos.index(0).data() == "b.jpg"


def test_table_models_pass_modeltester(qtmodeltester):
    folders = folder_table_model()
    folders.set_rows([FolderRecord(id=1, path="/photos", added_at=0.0, last_scan_at=None,
                                   scan_error=None, photo_count=3, face_count=4,
                                   error_count=1)])
    qtmodeltester.check(folders)
    assert folders.index(0, 4).data() == "never"
    assert folders.index(0, 1).data() == "3"
    folders.set_rows([FolderRecord(id=1, path="/photos", added_at=0.0, last_scan_at=None,
                                   scan_error=None, photo_count=3, face_count=4,
                                   error_count=1, video_count=1)])
    assert folders.index(0, 1).data() == "3 + 1 video"  # videos counted apart
    errors = error_table_model()
    errors.set_rows([PhotoRecord(id=2, folder_id=1, path="/photos/x.jpg", width=None,
                                 height=None, taken_at=None, status=PhotoStatus.ERROR,
                                 error="empty file (0 bytes)", face_count=0)])
    qtmodeltester.check(errors)
    assert errors.index(0, 1).data() == "empty file (0 bytes)"


def test_face_crop_is_square_and_survives_edges():
    pixels = np.zeros((100, 80, 3), np.uint8)
    crop = face_crop(pixels, 2.0, (0, 0, 60, 80), size=32)  # box at the corner, image halved
    assert crop.shape == (32, 32, 3)
    # A face at the edge of a bigger photo: the square slides inside, no invented pixels.
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 255, (400, 300, 3), dtype=np.uint8)
    crop = face_crop(photo, 1.0, (0, 100, 40, 40), size=54)  # side 54 px, 20 px off the left
    assert np.array_equal(crop, photo[93:147, 0:54])
    # A tightly cropped photo (the face fills it): the tile is the photo's own pixels, no
    # grey bands (a 120 x 100 photo gives a 100 px square, scaled).
    tight = rng.integers(0, 255, (120, 100, 3), dtype=np.uint8)
    crop = face_crop(tight, 1.0, (5, 10, 90, 100), size=100)
    assert np.array_equal(crop, tight[10:110, 0:100])


def test_pixmap_cache_is_capped_by_bytes(qapp):
    from PySide6.QtGui import QPixmap
    cache = PixmapCache(max_bytes=3 * 10 * 10 * 4)
    for i in range(5):
        pixmap = QPixmap(10, 10)
        cache.put(("face", i), pixmap)
    assert cache.bytes <= cache.max_bytes
    assert ("face", 4) in cache and ("face", 0) not in cache


class _Emitter(QObject):
    flag = Signal(bool)


def test_bool_signal_survives_thousands_of_emits(qapp):
    """PySide6 6.12.0 on Python 3.11 corrupts True/False refcounts per Signal(bool) emit."""
    emitter = _Emitter()
    seen = []
    emitter.flag.connect(seen.append)
    for i in range(5000):
        emitter.flag.emit(i % 2 == 0)
    assert len(seen) == 5000 and seen[:2] == [True, False]


def test_thumbnails_are_made_off_thread_and_cached_on_disk(qtbot, scanned_library,
                                                           no_dangling_pools):
    from facefolio.app.tasks import TaskPools
    from facefolio.app.thumbnails import ThumbnailProvider
    from facefolio.library import Library
    with Library(scanned_library) as library:
        face_id = library.faces(limit=1)[0].id
    pools = TaskPools()
    provider = ThumbnailProvider(scanned_library, pools)
    assert provider.pixmap(("face", face_id)) is None  # a miss never blocks
    with qtbot.waitSignal(provider.ready, timeout=20000):
        pass
    pixmap = provider.pixmap(("face", face_id))
    assert pixmap is not None and pixmap.width() == 160
    assert (scanned_library / "thumbnails" / "faces" / f"{face_id}.jpg").is_file()
    pools.shutdown()


@pytest.mark.parametrize("n", [10000])
def test_people_model_with_ten_thousand_people_is_quick(qtbot, n):
    import time

    from facefolio.app.tile_view import TileGridView
    model = PeopleListModel(None)
    rows = [PersonRecord(id=i, name=None, hidden=False, cover_face_id=None, face_count=3)
            for i in range(1, n + 1)]
    view = TileGridView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.resize(900, 700)
    view.show()
    started = time.perf_counter()
    model.set_rows(rows)
    qtbot.wait(50)
    for step in range(20):
        view.verticalScrollBar().setValue(step * view.verticalScrollBar().maximum() // 20)
        view.viewport().repaint()
    assert time.perf_counter() - started < 5.0


def test_photo_thumbnails_come_back_from_the_disk_cache(qtbot, scanned_library,
                                                        no_dangling_pools):
    from facefolio.app.tasks import TaskPools
    from facefolio.app.thumbnails import ThumbnailProvider
    from facefolio.library import Library
    with Library(scanned_library) as library:
        photo_id = library.photos()[0].id
    for _round in range(2):  # made, then read back from disk by a fresh provider
        pools = TaskPools()
        provider = ThumbnailProvider(scanned_library, pools)
        assert provider.pixmap(("photo", photo_id)) is None
        with qtbot.waitSignal(provider.ready, timeout=20000):
            pass
        assert provider.pixmap(("photo", photo_id)).width() > 1
        pools.shutdown()
    assert len(list((scanned_library / "thumbnails" / "photos").glob(f"{photo_id}-*.jpg"))) == 1


class OnePicture:
    """A thumbnail provider with one picture for every key, of one colour."""

    def __init__(self, colour: str) -> None:
        from PySide6.QtGui import QColor, QPixmap
        self.p = QPixmap(160, 160)
        self.p.fill(QColor(colour))

    def pixmap(self, key):
        return self.p


def test_tiles_are_drawn_round_from_a_cached_picture(qtbot):
    """The delegate cuts each thumbnail to a circle once and reuses it (a paint per tile
    then is one blit); the corners stay the background, the centre is the picture."""
    from PySide6.QtGui import QColor, QImage, QPainter
    from PySide6.QtWidgets import QStyleOptionViewItem

    from facefolio.app.delegates import FaceTileDelegate

    model = FaceListModel(None)
    model.thumbnails = OnePicture("red")
    model.set_rows(faces(1))
    delegate = FaceTileDelegate(100)
    image = QImage(200, 260, QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    option = QStyleOptionViewItem()
    option.rect = image.rect()
    for _ in range(2):
        painter = QPainter(image)
        delegate.paint(painter, option, model.index(0))
        painter.end()
    assert len(delegate._cache) == 1  # made once, drawn twice
    left, top = (200 - 100) // 2, delegate.pad
    assert QColor(image.pixel(left + 50, top + 50)).name() == "#ff0000"
    assert QColor(image.pixel(left + 2, top + 2)).name() == "#ffffff"  # outside the circle


def test_a_tile_is_drawn_again_when_its_look_changes(qtbot):
    """Whole tiles are kept and blitted (one call into Qt per paint while a scan holds the
    interpreter lock): a new thumbnail, a new subtitle or a selection must never show the
    kept tile of the old look, and a tile lands where its rect says."""
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QColor, QImage, QPainter
    from PySide6.QtWidgets import QStyle, QStyleOptionViewItem

    from facefolio.app.delegates import FaceTileDelegate

    pictures = OnePicture("red")
    model = FaceListModel(None)
    model.thumbnails = pictures
    model.set_rows(faces(1))
    delegate = FaceTileDelegate(100)
    image = QImage(400, 300, QImage.Format.Format_ARGB32)
    option = QStyleOptionViewItem()
    option.rect = QRect(150, 20, 200, 260)
    left, top = 150 + (200 - 100) // 2, 20 + delegate.pad

    def paint() -> str:
        image.fill(QColor("white"))
        painter = QPainter(image)
        delegate.paint(painter, option, model.index(0))
        painter.end()
        return QColor(image.pixel(left + 50, top + 50)).name()
    assert paint() == "#ff0000" and paint() == "#ff0000"
    assert len(delegate._tiles) == 1  # drawn once, blitted twice
    assert QColor(image.pixel(60, 60)).name() == "#ffffff"  # nothing outside its rect
    pictures.p = OnePicture("blue").p  # the worker made a new thumbnail
    assert paint() == "#0000ff"
    option.state |= QStyle.StateFlag.State_Selected
    assert paint() == "#0000ff" and len(delegate._tiles) == 3
    # Its text changed (a rename): another look, drawn anew.
    before = len(delegate._tiles)
    model.set_rows([replace(faces(1)[0], person_name="Someone Else")])
    paint()
    assert len(delegate._tiles) == before + 1


def test_photo_tiles_are_cut_around_the_faces():
    """Issue 21, point 10: a 970 x 2204 portrait's tile showed a suit with no head."""
    from facefolio.app.thumbnails import photo_square
    pixels = np.zeros((2204, 970, 3), np.uint8)
    pixels[200:400, 400:600] = 255  # the head, near the top
    tile = photo_square(pixels, 1.0, [(400, 200, 200, 200)], size=97)
    assert tile.shape == (97, 97, 3)
    assert tile[30:40, 45:50].mean() == 255  # the head is in the tile
    # Read reduced (scale 2): the same box in original pixels lands in the same place.
    half = np.ascontiguousarray(pixels[::2, ::2])
    assert (photo_square(half, 2.0, [(400, 200, 200, 200)], size=97)[30:40, 45:50]
            .mean() == 255)
    # Faces wider apart than the square: the biggest one is kept whole.
    wide = photo_square(pixels, 1.0, [(400, 200, 200, 200), (10, 2000, 40, 40)], size=97)
    assert wide[30:40, 45:50].mean() == 255


def test_a_reload_keeps_the_selection_by_what_each_tile_stands_for(qtbot):
    """Issue 21, point 6, in every grid: a photo grid's tiles carry no face id, so the photo
    id is what is found again (and no key never selects every row)."""
    from facefolio.app.roles import PhotoIdRole
    from facefolio.app.tile_view import TileGridView
    def photo(i: int) -> PhotoRecord:
        return PhotoRecord(id=i, folder_id=1, path=f"/p/{i}.jpg", width=10, height=10,
                           taken_at=None, status="done", error=None, face_count=0)
    rows = [photo(i) for i in range(1, 6)]
    model = PhotoListModel(None)
    model.set_rows(rows)
    view = TileGridView()
    qtbot.addWidget(view)
    view.setModel(model)
    updates = []
    view.selectionUpdated.connect(lambda: updates.append(1))
    view.selectionModel().select(model.index(2), view.selectionModel().SelectionFlag.Select)
    view.key_role = PhotoIdRole
    model.set_rows(list(reversed(rows)) + [photo(9)])
    assert [i.data(PhotoIdRole) for i in view.selected_rows()] == [3] and updates
    view.key_role = 0x0100 + 99  # a role no tile answers: nothing found again or selected
    model.set_rows(rows)
    assert view.selected_rows() == []
