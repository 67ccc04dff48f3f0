"""Every file a photographer keeps, on the Immich photo manager's test assets (public domain):
AVIF and JPEG XL read, nothing silently skipped, and each photo dated from where its tags say.

The expected dates were written from exiftool 12.57's view of each file
(`exiftool -a -G1 -s -time:all FILE`; for the UTF-16 sidecars, which exiftool 12.57 reads only
after `iconv -f utf-16 -t utf-8`, `XMP-xmp CreateDate 2000:09:27 14:35:33+02:00`), and checked
by hand against the order engine/dates.py documents.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from facefolio.engine import dates
from facefolio.engine.images import load_image
from facefolio.engine.motion import motion_video, motion_video_date
from facefolio.library import Library, Scanner

# path -> (taken_at, date source), from exiftool's view (see the module docstring).
EXPECTED = {
    # DateTimeOriginal 02-02 beats CreateDate 04-04, IPTC TimeCreated, XMP GPSDateTime 08-08,
    # XMP-pdf CreationDate 05-05 and GPSDateStamp 10-10.
    "metadata/dates/date-priority-test.jpg": ("2023-02-02T02:00:00", "EXIF DateTimeOriginal"),
    "metadata/dates/datetimeoriginal-gps.jpg": ("2025-12-01T11:30:00",
                                                "EXIF DateTimeOriginal"),
    # XMP exif:GPSTimeStamp only (exiftool: XMP-exif GPSDateTime 2023:11:15 12:30:00Z).
    "metadata/dates/gps-datetime.jpg": ("2023-11-15T12:30:00+00:00", "GPS date-time"),
    # XMP-photoshop DateCreated 15:15:44.31 (no zone) first; IPTC 15:15:44-04:00 gives the zone.
    "metadata/gps-position/thompson-springs.jpg": ("2022-01-10T15:15:44-04:00",
                                                   "XMP photoshop:DateCreated"),
    # EXIF DateTimeOriginal without a zone; XMP photoshop:DateCreated of the same time: +09:00.
    "albums/nature/cyclamen_persicum.jpg": ("2007-12-06T14:33:18+09:00",
                                            "EXIF DateTimeOriginal"),
    # EXIF DateTimeOriginal with OffsetTimeOriginal -08:00 (Samsung motion photo in HEIC).
    "formats/motionphoto/samsung-one-ui-6.heic": ("2024-01-12T21:38:53-08:00",
                                                  "EXIF DateTimeOriginal"),
    "formats/heic/IMG_2682.heic": ("2019-03-21T11:04:22", "EXIF DateTimeOriginal"),
    # IPTC's TimeCreated +00:00 is what tools write for "zone unknown": not borrowed.
    "formats/jpg/el_torcal_rocks.jpg": ("2012-08-05T11:39:59", "EXIF DateTimeOriginal"),
    "formats/webp/denali.webp": ("2010-08-13T21:00:01", "EXIF DateTimeOriginal"),
    "formats/png/density_plot.png": ("2007-02-13T06:34:38", "PNG Creation Time"),
}
# IPTC TimeCreated 14:30:00+00:00 alone: a time without a date dates nothing.
FILE_TIME = ["metadata/dates/time-created.jpg", "formats/avif/8bit-sRGB.avif",
             "formats/jxl/8bit-sRGB.jxl", "metadata/faces/portrait.jpg"]
NEW_FORMATS = ["formats/avif/10bit-HDR-P3-nclx.avif", "formats/avif/8bit-sRGB.avif",
               "formats/jxl/16bit-HDR-P3-nclx.jxl", "formats/jxl/8bit-sRGB.jxl"]


@pytest.fixture(scope="module")
def immich(datasets) -> Path:
    root = datasets / "immich-assets"
    if not root.is_dir():
        pytest.skip("immich-assets not in the shared data sets")
    return root


@pytest.fixture(scope="module")
def scanned(immich, tmp_path_factory):
    """The whole asset folder, scanned once through the CLI as a user would."""
    lib = tmp_path_factory.mktemp("immich-lib")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    run = subprocess.run([sys.executable, "-m", "facefolio.cli", "--library", str(lib), "scan",
                          str(immich)], capture_output=True, text=True, env=env, timeout=1200)
    assert run.returncode == 0, run.stderr
    export = subprocess.run([sys.executable, "-m", "facefolio.cli", "--library", str(lib),
                             "export", "--json"], capture_output=True, text=True, env=env)
    status = subprocess.run([sys.executable, "-m", "facefolio.cli", "--library", str(lib),
                             "status", "--json"], capture_output=True, text=True, env=env)
    with Library(lib) as library:
        photos = {os.path.relpath(p.path, immich): p for p in library.photos()}
        sources = dict(library.con.execute("SELECT path, date_source FROM photos"))
    return photos, sources, json.loads(export.stdout), json.loads(status.stdout)


def test_every_file_is_read_or_reported(immich, scanned):
    photos, _, _, status = scanned
    files = {str(p.relative_to(immich)) for p in immich.rglob("*") if p.is_file()}
    sidecars = {f for f in files if f.endswith(".xmp")}  # read with the photo named after them
    assert set(photos) == files - sidecars  # AVIF and JPEG XL too: 33 photos, none skipped
    assert all(p.status == "done" and not p.error for p in photos.values()), \
        {k: p.error for k, p in photos.items() if p.error}
    assert status["folders"][0]["unread_files"] == {}  # nothing here is left unread


def test_avif_and_jxl_decode_with_their_faces_or_none(immich, scanned):
    photos, *_ = scanned
    for name in NEW_FORMATS:
        image = load_image(immich / name)
        assert image.pixels.ndim == 3 and image.pixels.std() > 10, name  # a real picture
        assert photos[name].status == "done" and photos[name].width == image.width
    # A fort with two far-off people (backs turned, heads of a few pixels), mountains, a shore,
    # a vase: no face to find, and each is a photo with status done, not silence.
    assert all(photos[name].face_count == 0 for name in NEW_FORMATS)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_dates_as_the_tags_say(immich, scanned, name):
    photos, sources, _, _ = scanned
    when, source = EXPECTED[name]
    photo = photos[name]
    assert (photo.taken_at, photo.taken_at_source) == (when, "exif")
    assert sources[str(immich / name)] == source


def test_no_date_tag_means_the_file_time_marked(immich, scanned):
    photos, sources, _, _ = scanned
    for name in FILE_TIME:
        assert photos[name].taken_at_source == "file", name
        assert sources[str(immich / name)] == "file time"


def test_export_json_says_where_each_date_came_from(immich, scanned):
    photos, sources, export, _ = scanned
    faces = export["faces"]
    assert faces, "the face photos of metadata/faces have faces"
    for face in faces:
        assert face["date_source"] == sources[face["photo"]]
        assert face["taken_at"] == photos[os.path.relpath(face["photo"], immich)].taken_at


def test_a_lightroom_utf16_sidecar_dates_the_photo_named_after_it(immich, datasets, tmp_path):
    folder = tmp_path / "scans"
    folder.mkdir()
    # A scanned print without any date of its own, and Lightroom's sidecar for it (UTF-16).
    shutil.copy(datasets / "deepface-unit" / "img2.jpg", folder / "2000.jpg")
    shutil.copy(immich / "metadata/xmp/dates/2000.xmp", folder / "2000.xmp")
    # A photo with a camera date (2023-02-02) that the user corrected in Lightroom: 2010.
    shutil.copy(immich / "metadata/dates/date-priority-test.jpg", folder / "2010.JPG")
    shutil.copy(immich / "metadata/xmp/dates/2010.xmp", folder / "2010.xmp")
    # digiKam's name for a sidecar, in UTF-8.
    shutil.copy(datasets / "deepface-unit" / "img5.jpg", folder / "2020.jpg")
    text = (immich / "metadata/xmp/dates/2020.xmp").read_bytes().decode("utf-16")
    (folder / "2020.jpg.xmp").write_text(text.lstrip("\ufeff"), encoding="utf-8")
    with Library(tmp_path / "lib") as lib:
        lib.add_folder(folder)
        for _ in Scanner(lib).scan():
            pass
        got = {Path(p).name: (t, s) for p, t, s in lib.con.execute(
            "SELECT path, taken_at, date_source FROM photos")}
    assert got == {
        "2000.jpg": ("2000-09-27T14:35:33+02:00", "XMP xmp:CreateDate (sidecar 2000.xmp)"),
        "2010.JPG": ("2010-09-27T14:35:33+02:00", "XMP xmp:CreateDate (sidecar 2010.xmp)"),
        "2020.jpg": ("2020-09-27T14:35:33+02:00",
                     "XMP xmp:CreateDate (sidecar 2020.jpg.xmp)"),
    }


def test_files_not_read_are_counted_by_type(datasets, tmp_path):
    folder = tmp_path / "mixed"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(datasets / "deepface-unit" / "img1.jpg", folder / "a.jpg")
    for name in ("one.psd", "two.PSD", "sub/three.psd", "layers.xcf", "notes", "a.jpg.xmp",
                 ".DS_Store"):
        (folder / name).write_bytes(b"not an image")
    lib_dir = tmp_path / "lib"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    cli = [sys.executable, "-m", "facefolio.cli", "--library", str(lib_dir)]
    run = subprocess.run([*cli, "scan", str(folder)], capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    status = json.loads(subprocess.run([*cli, "status", "--json"], capture_output=True,
                                       text=True, env=env).stdout)
    assert status["folders"][0]["unread_files"] == {".psd": 3, ".xcf": 1, "no extension": 1}
    text = subprocess.run([*cli, "status"], capture_output=True, text=True, env=env).stdout
    assert "5 files Facefolio does not read: .psd x3, .xcf x1, no extension x1" in text
    # The count is of the last listing: gone files leave it.
    (folder / "layers.xcf").unlink()
    subprocess.run([*cli, "rescan"], capture_output=True, text=True, env=env, check=True)
    with Library(lib_dir) as lib:
        assert lib.folders()[0].unread_files == {".psd": 3, "no extension": 1}


def test_motion_photo_video_is_found_and_dated_not_a_photo(immich, scanned):
    photos, *_ = scanned
    path = immich / "formats/motionphoto/samsung-one-ui-6.heic"
    video = motion_video(path)
    # exiftool: [QuickTime] MotionPhotoVideo (Binary data 3226469 bytes); extracted with
    # `exiftool -b -MotionPhotoVideo`, its QuickTime CreateDate is 2024:01:13 05:38:55 (UTC).
    assert video is not None and video.length == 3226469
    assert motion_video_date(path).when == "2024-01-13T05:38:55+00:00"
    assert [k for k in photos if "motionphoto" in k] == ["formats/motionphoto/samsung-one-ui-6.heic"]
    assert motion_video(immich / "formats/heic/IMG_2682.heic") is None


def test_date_order_and_zones_unit():
    d = [dates.Dated("2020-01-01T10:00:00", "EXIF DateTime"),
         dates.Dated("2019-05-05T09:00:00", "IPTC DateCreated"),
         dates.Dated("2019-05-05T09:00:00+02:00", "XMP xmp:CreateDate", "IMG.xmp")]
    assert dates.best(d).label == "XMP xmp:CreateDate (sidecar IMG.xmp)"
    assert dates.best(d[:2]).when == "2019-05-05T09:00:00"
    assert dates.iptc_date(b"20040615", b"101500-0500") == "2004-06-15T10:15:00-05:00"
    assert dates.xmp_dates('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf='
                           '"http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
                           'xmlns:p="http://ns.adobe.com/photoshop/1.0/" p:DateCreated="2004"/>'
                           '</rdf:RDF></x:xmpmeta>')[0].when == "2004-01-01T00:00:00"
    assert dates.quicktime_date(b"\0\0\0\x6cmvhd\0\0\0\0" + b"\0" * 8) is None  # unset: none


def test_live_photo_video_is_part_of_its_still(immich, datasets, tmp_path):
    """An Apple Live Photo: IMG_0042.JPG and IMG_0042.MOV. One photo; the MOV is neither a
    photo, a video nor an unread file, and dates the still that has no date of its own; a
    MOV of another name is a video of its own."""
    folder = tmp_path / "iphone"
    folder.mkdir()
    shutil.copy(datasets / "deepface-unit" / "img2.jpg", folder / "IMG_0042.JPG")
    motion = immich / "formats/motionphoto/samsung-one-ui-6.heic"
    video = motion_video(motion)
    with open(motion, "rb") as fh:
        fh.seek(video.offset)
        (folder / "IMG_0042.MOV").write_bytes(fh.read(video.length))
    (folder / "clip.mov").write_bytes((folder / "IMG_0042.MOV").read_bytes())  # a video
    with Library(tmp_path / "lib") as lib:
        lib.add_folder(folder)
        for _ in Scanner(lib).scan():
            pass
        photo, clip = sorted(lib.photos(), key=lambda p: p.is_video)
        assert Path(photo.path).name == "IMG_0042.JPG" and not photo.is_video
        assert Path(clip.path).name == "clip.mov" and clip.is_video  # a video of its own
        # A phone's own video (HEVC, 1080x1440, 3.1 s): decoded, dated by its QuickTime date.
        assert (clip.status, clip.error, clip.width, clip.height) == ("done", None, 1080, 1440)
        assert clip.taken_at == "2024-01-13T05:38:55+00:00" and clip.duration_ms > 3000
        assert lib.folders()[0].unread_files == {}
        source = lib.con.execute("SELECT date_source FROM photos WHERE id = ?",
                                 (photo.id,)).fetchone()[0]
    assert (photo.taken_at, source) == ("2024-01-13T05:38:55+00:00", "QuickTime CreationDate")


def test_a_sidecar_written_later_redates_the_photo_at_the_next_scan(immich, datasets,
                                                                    tmp_path):
    """Lightroom writes the corrected date into IMG.xmp long after the photo was scanned: the
    photo's file does not change, its sidecar does, and the rescan reads the date again
    (a metadata refresh: same faces, same ids)."""
    folder = tmp_path / "scans"
    folder.mkdir()
    shutil.copy(datasets / "deepface-unit" / "img2.jpg", folder / "2000.jpg")  # no date
    with Library(tmp_path / "lib") as lib:
        lib.add_folder(folder)
        for _ in Scanner(lib).scan():
            pass
        before = lib.photos()[0]
        faces = [f.id for f in lib.faces()]
        assert before.taken_at_source == "file"
        shutil.copy(immich / "metadata/xmp/dates/2000.xmp", folder / "2000.xmp")
        st = os.stat(folder / "2000.jpg")
        os.utime(folder / "2000.xmp", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
        for _ in Scanner(lib).scan():
            pass
        after = lib.photos()[0]
        assert (after.id, after.taken_at, after.taken_at_source) == \
            (before.id, "2000-09-27T14:35:33+02:00", "exif")
        assert [f.id for f in lib.faces()] == faces  # not analysed again
        assert lib.con.execute("SELECT date_source FROM photos").fetchone()[0] == \
            "XMP xmp:CreateDate (sidecar 2000.xmp)"


def _video_of(immich: Path) -> bytes:
    path = immich / "formats/motionphoto/samsung-one-ui-6.heic"
    video = motion_video(path)
    with open(path, "rb") as fh:
        fh.seek(video.offset)
        return fh.read(video.length)


def _google_motion_photo(still: bytes, mp4: bytes) -> bytes:
    """A JPEG in Google's motion photo format: XMP saying how long the trailing MP4 is."""
    xmp = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/'
           '02/22-rdf-syntax-ns#"><rdf:Description xmlns:GCamera="http://ns.google.com/photos/'
           f'1.0/camera/" GCamera:MicroVideo="1" GCamera:MicroVideoVersion="1" '
           f'GCamera:MicroVideoOffset="{len(mp4)}"/></rdf:RDF></x:xmpmeta>').encode()
    body = b"http://ns.adobe.com/xap/1.0/\x00" + xmp
    app1 = b"\xff\xe1" + (len(body) + 2).to_bytes(2, "big") + body
    return still[:2] + app1 + still[2:] + mp4


@pytest.mark.parametrize("kind", ["Google motion photo", "Samsung motion photo"])
def test_motion_photos_in_jpeg_are_one_photo_dated_by_their_video(immich, datasets, tmp_path,
                                                                  kind):
    mp4 = _video_of(immich)
    still = (datasets / "deepface-unit" / "img2.jpg").read_bytes()  # no date of its own
    data = _google_motion_photo(still, mp4) if kind.startswith("Google") else \
        still + b"MotionPhoto_Data" + mp4
    folder = tmp_path / "phone"
    folder.mkdir()
    (folder / "PXL_0001.MP.jpg").write_bytes(data)
    video = motion_video(folder / "PXL_0001.MP.jpg")
    assert (video.kind, video.length) == (kind, len(mp4))
    assert data[video.offset:video.offset + video.length] == mp4
    with Library(tmp_path / "lib") as lib:
        lib.add_folder(folder)
        for _ in Scanner(lib).scan():
            pass
        (photo,) = lib.photos()
        source = lib.con.execute("SELECT date_source FROM photos WHERE id = ?",
                                 (photo.id,)).fetchone()[0]
        assert photo.status == "done" and photo.face_count == 1  # the still, its face once
    assert (photo.taken_at, source) == ("2024-01-13T05:38:55+00:00", "QuickTime CreationDate")
