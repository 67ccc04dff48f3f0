"""Camera RAW on real RAW data made here: a deepface-unit photo's pixels written as a Bayer
mosaic into a DNG (pidng), developed by LibRaw (rawpy); and RAW+JPEG pairs as one photo with
two files, the names written to the sidecars digiKam and Lightroom read."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facefolio.engine import ImageError
from facefolio.engine.images import load_image
from facefolio.library import Library, Scanner
from facefolio.library.interop.pairs import companions, photo_names
from facefolio.library.people.people import People
from facefolio.library.interop.xmp import read_regions
from facefolio.library.interop.xmp_library import export_library_xmp

pytest.importorskip("rawpy")

_XYZ_TO_SRGB = [[3.2406, -1.5372, -0.4986], [-0.9689, 1.8758, 0.0415],
                [0.0557, -0.2040, 1.0570]]


def make_dng(source: Path, dest: Path, taken: str | None = None, scale: int = 1) -> Path:
    """The photo's pixels as a camera would record them: linear light, one colour per photosite
    (RGGB), 12 bits; camera colour = linear sRGB, said by the DNG's ColorMatrix1."""
    pytest.importorskip("pidng")
    from pidng.core import RAW2DNG, DNGTags, Tag
    from pidng.defs import CalibrationIlluminant, CFAPattern, DNGVersion, PhotometricInterpretation

    im = Image.open(source).convert("RGB")
    if scale > 1:
        im = im.resize((im.width * scale, im.height * scale))
    rgb = np.asarray(im).astype(np.float32) / 255
    h, w = (rgb.shape[0] // 2) * 2, (rgb.shape[1] // 2) * 2
    rgb = rgb[:h, :w]
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    mosaic = np.empty((h, w), np.float32)
    mosaic[0::2, 0::2] = linear[0::2, 0::2, 0]
    mosaic[0::2, 1::2] = linear[0::2, 1::2, 1]
    mosaic[1::2, 0::2] = linear[1::2, 0::2, 1]
    mosaic[1::2, 1::2] = linear[1::2, 1::2, 2]
    tags = DNGTags()
    for tag, value in ((Tag.ImageWidth, w), (Tag.ImageLength, h), (Tag.TileWidth, w),
                       (Tag.TileLength, h), (Tag.Orientation, 1), (Tag.SamplesPerPixel, 1),
                       (Tag.PhotometricInterpretation,
                        PhotometricInterpretation.Color_Filter_Array),
                       (Tag.BitsPerSample, 16), (Tag.CFARepeatPatternDim, [2, 2]),
                       (Tag.CFAPattern, CFAPattern.RGGB), (Tag.BlackLevel, 0),
                       (Tag.WhiteLevel, 4095),
                       (Tag.ColorMatrix1, [[round(v * 10000), 10000]
                                           for row in _XYZ_TO_SRGB for v in row]),
                       (Tag.CalibrationIlluminant1, CalibrationIlluminant.D65),
                       (Tag.AsShotNeutral, [[1, 1], [1, 1], [1, 1]]),
                       (Tag.BaselineExposure, [[0, 1]]), (Tag.Make, "Facefolio"),
                       (Tag.Model, "Bayer test"), (Tag.DNGVersion, DNGVersion.V1_4),
                       (Tag.DNGBackwardVersion, DNGVersion.V1_2)):
        tags.set(tag, value)
    if taken:
        tags.set(Tag.DateTimeOriginal, taken)
    converter = RAW2DNG()
    converter.options(tags, path="", compress=False)
    dest.write_bytes(bytes(converter.convert(np.round(mosaic * 4095).astype(np.uint16))))
    return dest


def make_dng_with_preview(source: Path, dest: Path, preview: Image.Image) -> Path:
    """A DNG as Adobe's converter lays one out: IFD0 the camera's JPEG preview (NewSubfileType
    1) with the DNG tags, its SubIFD the 12-bit RGGB mosaic. pidng writes one IFD only, so
    this TIFF is written here, tag by tag (TIFF 6.0, DNG 1.4)."""
    import struct

    rgb = np.asarray(Image.open(source).convert("RGB")).astype(np.float32) / 255
    h, w = (rgb.shape[0] // 2) * 2, (rgb.shape[1] // 2) * 2
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)[:h, :w]
    mosaic = np.empty((h, w), np.float32)
    mosaic[0::2, 0::2] = linear[0::2, 0::2, 0]
    mosaic[0::2, 1::2] = linear[0::2, 1::2, 1]
    mosaic[1::2, 0::2] = linear[1::2, 0::2, 1]
    mosaic[1::2, 1::2] = linear[1::2, 1::2, 2]
    raw = np.round(mosaic * 4095).astype("<u2").tobytes()
    buf = __import__("io").BytesIO()
    preview.convert("RGB").save(buf, "JPEG", quality=90)
    jpeg = buf.getvalue() + (b"\0" if len(buf.getvalue()) % 2 else b"")
    matrix = [(round(v * 10000), 10000) for row in _XYZ_TO_SRGB for v in row]
    ifd0 = [(254, 4, [1]), (256, 4, [preview.width]), (257, 4, [preview.height]),
            (258, 3, [8, 8, 8]), (259, 3, [7]), (262, 3, [6]), (271, 2, b"Facefolio\0"),
            (272, 2, b"Bayer test\0"), (273, 4, ["preview"]), (274, 3, [1]), (277, 3, [3]),
            (278, 4, [preview.height]), (279, 4, [len(jpeg)]), (330, 13, ["sub"]),
            (50706, 1, [1, 4, 0, 0]), (50707, 1, [1, 2, 0, 0]),
            (50708, 2, b"Bayer test\0"), (50721, 10, matrix), (50728, 5, [(1, 1)] * 3),
            (50778, 3, [21])]
    sub = [(254, 4, [0]), (256, 4, [w]), (257, 4, [h]), (258, 3, [16]), (259, 3, [1]),
           (262, 3, [32803]), (273, 4, ["raw"]), (277, 3, [1]), (278, 4, [h]),
           (279, 4, [len(raw)]), (33421, 3, [2, 2]), (33422, 1, [0, 1, 1, 2]),
           (50714, 4, [0]), (50717, 4, [4095])]
    fmt = {1: "<B", 3: "<H", 4: "<I", 13: "<I", 5: "<II", 10: "<ii"}
    sub_at = 8 + 2 + 12 * len(ifd0) + 4
    small_at = sub_at + 2 + 12 * len(sub) + 4

    def encode(entries, where, at):
        head, small = struct.pack("<H", len(entries)), bytearray()
        for tag, kind, values in entries:
            data = values if kind == 2 else b"".join(
                struct.pack(fmt[kind], *(v if isinstance(v, tuple) else
                                         (where.get(v, v),))) for v in values)
            if len(data) <= 4:
                head += struct.pack("<HHI", tag, kind, len(values)) + data.ljust(4, b"\0")
            else:
                head += struct.pack("<HHII", tag, kind, len(values), at + len(small))
                small += data + (b"\0" if len(data) % 2 else b"")
        return head + b"\0\0\0\0", bytes(small)

    where = {"sub": sub_at, "preview": 0, "raw": 0}
    for _ in range(2):  # once to size the small values, once with the blobs' offsets
        head0, small0 = encode(ifd0, where, small_at)
        head1, small1 = encode(sub, where, small_at + len(small0))
        where["preview"] = small_at + len(small0) + len(small1)
        where["raw"] = where["preview"] + len(jpeg)
    dest.write_bytes(b"II*\0" + struct.pack("<I", 8) + head0 + head1 + small0 + small1 +
                     jpeg + raw)
    return dest


def with_exif_date(source: Path, dest: Path, taken: str) -> Path:
    """A copy of a JPEG with the camera's DateTimeOriginal (pixels untouched: exiv2 edits)."""
    import pyexiv2

    shutil.copy(source, dest)
    with pyexiv2.Image(str(dest)) as image:
        image.modify_exif({"Exif.Photo.DateTimeOriginal": taken})
    return dest


def scan(library: Library) -> None:
    for _ in Scanner(library).scan():
        pass


@pytest.fixture
def shot(tmp_path, datasets) -> Path:
    """IMG_0001.JPG and IMG_0001.DNG of the same moment, as a camera in RAW+JPEG mode."""
    folder = tmp_path / "card"
    folder.mkdir()
    src = datasets / "deepface-unit" / "img1.jpg"
    with_exif_date(src, folder / "IMG_0001.JPG", "2021:06:05 14:03:07")
    make_dng(src, folder / "IMG_0001.DNG", "2021:06:05 14:03:07")
    return folder


def test_dng_develops_into_the_photo_with_its_face(shot, datasets):
    from facefolio.engine import FaceEngine

    raw = load_image(shot / "IMG_0001.DNG")
    jpeg = load_image(datasets / "deepface-unit" / "img1.jpg")
    assert raw.format == "RAW" and (raw.width, raw.height) == (jpeg.width - jpeg.width % 2,
                                                                jpeg.height - jpeg.height % 2)
    assert raw.taken_at == "2021-06-05T14:03:07"
    engine = FaceEngine()
    (face,) = engine.analyze(raw)
    (twin,) = engine.analyze(jpeg)
    assert np.allclose(face.box, twin.box, atol=6)  # the same face, in original pixels
    assert float(np.dot(face.embedding, twin.embedding)) > 0.9


def test_raw_over_the_memory_budget_is_refused_with_a_reason(shot, monkeypatch):
    import facefolio.engine.raw as raw

    monkeypatch.setattr(raw, "PER_DECODE", 4 << 20)
    with pytest.raises(ImageError, match="too large to decode: .* RAW needs"):
        load_image(shot / "IMG_0001.DNG")


def test_not_a_raw_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "broken.CR2"
    bad.write_bytes(b"II*\x00" + b"\x00" * 200)
    with pytest.raises(ImageError, match="RAW"):
        load_image(bad)


def test_raw_and_jpeg_are_one_photo_with_two_files(shot, tmp_path):
    assert photo_names(str(shot), ["IMG_0001.DNG", "IMG_0001.JPG"]) == ["IMG_0001.JPG"]
    assert [(Path(c.path).name, c.kind) for c in companions(shot / "IMG_0001.JPG")] == \
        [("IMG_0001.DNG", "raw")]
    with Library(tmp_path / "lib") as lib:
        lib.add_folder(shot)
        scan(lib)
        photos = lib.photos()
        assert [Path(p.path).name for p in photos] == ["IMG_0001.JPG"]
        (face,) = lib.faces(photo_id=photos[0].id)  # found once
        assert lib.folders()[0].unread_files == {}  # the RAW is read, as the photo's file
        _name(lib, face.id, "Angelina")
        written, errors = export_library_xmp(lib)
        assert errors == [] and written == 1
    # digiKam's names for both files (no sidecar existed), each with the name.
    for name in ("IMG_0001.JPG.xmp", "IMG_0001.DNG.xmp"):
        regions = read_regions(shot / name.removesuffix(".xmp"), photos[0].width,
                               photos[0].height)
        assert [r.name for r in regions] == ["Angelina"], name


def test_pair_names_go_to_the_shared_lightroom_sidecar(shot, tmp_path, datasets):
    # Lightroom keeps one IMG_0001.xmp (UTF-16) for the shot: names go there, and only there.
    lightroom = datasets / "immich-assets/metadata/xmp/dates/2020.xmp"
    if not lightroom.is_file():
        pytest.skip("immich-assets not in the shared data sets")
    shutil.copy(lightroom, shot / "IMG_0001.xmp")
    with Library(tmp_path / "lib") as lib:
        lib.add_folder(shot)
        scan(lib)
        (photo,) = lib.photos()
        assert photo.taken_at == "2020-09-27T14:35:33+02:00"  # the sidecar's date wins
        (face,) = lib.faces(photo_id=photo.id)
        _name(lib, face.id, "Angelina")
        written, errors = export_library_xmp(lib)
        assert errors == [] and written == 1
    assert sorted(p.name for p in shot.iterdir()) == ["IMG_0001.DNG", "IMG_0001.JPG",
                                                      "IMG_0001.xmp"]
    text = (shot / "IMG_0001.xmp").read_text(encoding="utf-8")
    assert "Angelina" in text and "2020-09-27T14:35:33+02:00" in text  # the rest kept
    # A fresh library reads the name back from that sidecar.
    with Library(tmp_path / "lib2") as lib:
        lib.add_folder(shot)
        scan(lib)
        (face,) = lib.faces()
        assert face.person_id is not None
        assert lib.person(face.person_id).name == "Angelina"


def test_same_name_other_moment_is_two_photos(tmp_path, datasets):
    folder = tmp_path / "card"
    folder.mkdir()
    src = datasets / "deepface-unit" / "img1.jpg"
    with_exif_date(src, folder / "IMG_0001.JPG", "2019:01:01 10:00:00")  # counter wrapped
    make_dng(src, folder / "IMG_0001.DNG", "2021:06:05 14:03:07")
    with Library(tmp_path / "lib") as lib:
        lib.add_folder(folder)
        scan(lib)
        assert sorted(Path(p.path).name for p in lib.photos()) == ["IMG_0001.DNG",
                                                                  "IMG_0001.JPG"]
        assert [(p.status, p.error, p.face_count) for p in lib.photos()] == [("done", None, 1)] * 2


def _name(lib: Library, face_id: int, name: str) -> None:
    """Give the face a person of this name the way the app's "This is…" does."""
    person_id = lib.con.execute("SELECT person_id FROM faces WHERE id = ?",
                                (face_id,)).fetchone()[0]
    if person_id is None:
        People(lib).create_person([face_id], name=name)
    else:
        People(lib).name(person_id, name)


def test_raw_uses_the_cameras_preview_when_it_is_large_enough(tmp_path, datasets):
    from PIL import ImageDraw

    src = datasets / "deepface-unit" / "img1.jpg"
    shot = Image.open(src).convert("RGB")
    shot = shot.crop((0, 0, shot.width // 2 * 2, shot.height // 2 * 2))
    marked = shot.copy()  # the preview carries a mark the mosaic does not: which one was read
    ImageDraw.Draw(marked).rectangle((0, 0, 99, 99), fill=(255, 0, 255))
    big = make_dng_with_preview(src, tmp_path / "big.dng", marked)
    small = make_dng_with_preview(src, tmp_path / "small.dng", marked.resize(
        (marked.width // 4, marked.height // 4)))
    corner = load_image(big).pixels[10:40, 10:40].reshape(-1, 3).mean(axis=0)  # BGR
    assert corner[0] > 200 and corner[1] < 60 and corner[2] > 200  # magenta: the preview
    developed = load_image(small)  # a 467 px preview would lose small faces: demosaiced
    assert developed.pixels[10:40, 10:40, 1].mean() > 100  # no magenta: the mosaic's pixels
    assert (developed.width, developed.height) == shot.size



def test_a_large_raw_preview_is_decoded_reduced_then_finer(tmp_path, datasets):
    from facefolio.engine.images import load_finer

    src = datasets / "deepface-unit" / "img1.jpg"
    shot = Image.open(src).convert("RGB")
    big = shot.resize((shot.width * 2, shot.height * 2))
    big.save(tmp_path / "big.png")
    dng = make_dng_with_preview(tmp_path / "big.png", tmp_path / "big.dng", big)  # 10 MP
    first = load_image(dng)
    assert first.format == "RAW preview" and first.scale > 1 and first.refinable
    finer = load_finer(first, 1)
    assert finer.scale < first.scale and finer.pixels.shape[0] > first.pixels.shape[0]


def test_a_jpeg_that_turns_up_beside_a_known_raw_joins_it(tmp_path, datasets):
    """The RAW was scanned and named; later a JPEG of it is exported beside it (same name,
    same capture time): the RAW stays the photo, with its id and names; the JPEG is its
    second file and gets the names in its sidecar too."""
    folder = tmp_path / "card"
    folder.mkdir()
    src = datasets / "deepface-unit" / "img1.jpg"
    make_dng(src, folder / "IMG_0007.DNG", "2021:06:05 14:03:07")
    with Library(tmp_path / "lib") as lib:
        lib.add_folder(folder)
        scan(lib)
        (raw_photo,) = lib.photos()
        (face,) = lib.faces()
        _name(lib, face.id, "Angelina")
        with_exif_date(src, folder / "IMG_0007.JPG", "2021:06:05 14:03:07")
        scan(lib)
        (photo,) = lib.photos()
        assert (photo.id, Path(photo.path).name) == (raw_photo.id, "IMG_0007.DNG")
        (again,) = lib.faces()
        assert again.id == face.id and lib.person(again.person_id).name == "Angelina"
        assert [(Path(c.path).name, c.kind) for c in companions(photo.path)] == \
            [("IMG_0007.JPG", "jpeg")]
        written, errors = export_library_xmp(lib)
        assert errors == [] and written == 1
    for name in ("IMG_0007.DNG", "IMG_0007.JPG"):
        assert [r.name for r in read_regions(folder / name, photo.width, photo.height)] == \
            ["Angelina"], name


def test_names_are_never_embedded_into_a_raw_file(shot):
    from facefolio.library.interop.xmp import Region, XmpError, write_regions

    raw = shot / "IMG_0001.DNG"
    before = raw.read_bytes()
    with pytest.raises(XmpError, match="camera RAW file"):
        write_regions(raw, [Region("Angelina", (400, 200, 200, 250))], 1382, 1868, embed=True)
    assert raw.read_bytes() == before
    assert [r.name for r in read_regions(raw, 1382, 1868)] == ["Angelina"]  # in IMG_0001.DNG.xmp


def test_the_viewer_names_both_files_of_the_shot(shot, tmp_path, qtbot):
    from facefolio.app.photo_viewer import load_photo

    with Library(tmp_path / "lib") as lib:
        lib.add_folder(shot)
        scan(lib)
        shown = load_photo(lib, str(shot / "IMG_0001.JPG"))
        alone = load_photo(lib, str(shot / "IMG_0001.DNG"))
    assert shown.also == ("also IMG_0001.DNG (raw)",) and len(shown.faces) == 1
    assert alone.also == ("also IMG_0001.JPG (jpeg)",)  # the RAW names its JPEG likewise
