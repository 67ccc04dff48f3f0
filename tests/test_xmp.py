"""XMP face regions: Facefolio -> sidecar -> a fresh library, digiKam's layout, bad files."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from facefolio.library import Library, Scanner
from facefolio.library.interop.pairs import sidecar_path
from facefolio.library.interop.xmp import Region, XmpError, iou, read_regions, write_regions
from facefolio.library.interop.xmp_library import (export_library_xmp, import_library_xmp,
                                                 import_regions)
from facefolio.library.people.people import People

PHOTOS = ["img1.jpg", "img3.jpg", "couple.jpg"]


def scan(library: Library) -> None:
    for _ in Scanner(library).scan():
        pass


@pytest.fixture
def photos(tmp_path, datasets) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in PHOTOS:
        shutil.copy(datasets / "deepface-unit" / name, folder / name)
    return folder


@pytest.fixture
def scanned(tmp_path, photos):
    with Library(tmp_path / "lib") as lib:
        lib.add_folder(photos)
        scan(lib)
        yield lib


def largest_face(library: Library, photo: Path):
    faces = library.faces(photo_id=library.photo_by_path(photo).id)
    return max(faces, key=lambda f: f.box[2] * f.box[3])


def digikam_sidecar(name: str, box, width: int, height: int, extra: str = "") -> str:
    """A sidecar as digiKam 8 writes it (MWG + Microsoft regions), by hand."""
    x, y, w, h = box
    cx, cy, nw, nh = (x + w / 2) / width, (y + h / 2) / height, w / width, h / height
    return f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:digiKam="http://www.digikam.org/ns/1.0/"
    xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/"
    xmlns:stDim="http://ns.adobe.com/xap/1.0/sType/Dimensions#"
    xmlns:stArea="http://ns.adobe.com/xmp/sType/Area#"
    xmlns:MP="http://ns.microsoft.com/photo/1.2/"
    xmlns:MPRI="http://ns.microsoft.com/photo/1.2/t/RegionInfo#"
    xmlns:MPReg="http://ns.microsoft.com/photo/1.2/t/Region#"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
   xmp:Rating="4">
   <digiKam:TagsList>
    <rdf:Seq>
     <rdf:li>People/{name}</rdf:li>
    </rdf:Seq>
   </digiKam:TagsList>
   <mwg-rs:Regions rdf:parseType="Resource">
    <mwg-rs:AppliedToDimensions stDim:w="{width}" stDim:h="{height}" stDim:unit="pixel"/>
    <mwg-rs:RegionList>
     <rdf:Bag>
      <rdf:li>
       <rdf:Description mwg-rs:Name="{name}" mwg-rs:Type="Face">
        <mwg-rs:Area stArea:x="{cx:.6f}" stArea:y="{cy:.6f}" stArea:w="{nw:.6f}"
         stArea:h="{nh:.6f}" stArea:unit="normalized"/>
       </rdf:Description>
      </rdf:li>{extra}
     </rdf:Bag>
    </mwg-rs:RegionList>
   </mwg-rs:Regions>
   <MP:RegionInfo rdf:parseType="Resource">
    <MPRI:Regions>
     <rdf:Bag>
      <rdf:li MPReg:PersonDisplayName="{name}"
       MPReg:Rectangle="{x / width:.6f}, {y / height:.6f}, {nw:.6f}, {nh:.6f}"/>
     </rdf:Bag>
    </MPRI:Regions>
   </MP:RegionInfo>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>
"""


PET = """
      <rdf:li>
       <rdf:Description mwg-rs:Name="Rex" mwg-rs:Type="Pet">
        <mwg-rs:Area stArea:x="0.1" stArea:y="0.1" stArea:w="0.05" stArea:h="0.05"
         stArea:unit="normalized"/>
       </rdf:Description>
      </rdf:li>"""


def test_sidecar_path_prefers_an_existing_short_name(tmp_path):
    photo = tmp_path / "a.jpg"
    assert sidecar_path(photo) == tmp_path / "a.jpg.xmp"
    (tmp_path / "a.xmp").write_text("x")
    assert sidecar_path(photo) == tmp_path / "a.xmp"


def test_write_then_read_keeps_boxes_names_and_other_xmp(tmp_path):
    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"not touched")
    sidecar = tmp_path / "p.jpg.xmp"
    sidecar.write_text(digikam_sidecar("Old Name", (100, 100, 50, 50), 1000, 800, PET))
    regions = [Region("Zoë Ångström", (100.0, 110.0, 52.0, 48.0)),
               Region("Bob", (600.0, 300.0, 80.0, 100.0))]
    assert write_regions(photo, regions, 1000, 800) == sidecar
    assert photo.read_bytes() == b"not touched"
    text = sidecar.read_text(encoding="utf-8")
    # The overlapped old face was replaced; the pet, the rating and digiKam's tags stay.
    assert "Old Name</rdf:li>" not in text.replace("People/Old Name</rdf:li>", "")
    assert 'mwg-rs:Name="Rex"' in text and 'xmp:Rating="4"' in text and "People/Old" in text
    assert 'stDim:w="1000"' in text and 'stArea:unit="normalized"' in text
    assert "MPReg:PersonDisplayName" in text
    back = read_regions(photo, 1000, 800)
    assert sorted(r.name for r in back) == ["Bob", "Zoë Ångström"]  # the pet is no face
    for r in regions:
        match = next(b for b in back if b.name == r.name)
        assert iou(match.box, r.box) > 0.99
    assert not list(tmp_path.glob(".*tmp"))  # the atomic write left no temp file


def test_embed_writes_into_a_copy_of_the_photo(tmp_path, datasets):
    photo = tmp_path / "img1.jpg"
    shutil.copy(datasets / "deepface-unit" / "img1.jpg", photo)
    write_regions(photo, [Region("Anna", (10, 20, 30, 40))], 1382, 1000, embed=True)
    (tmp_path / "img1.jpg.xmp").unlink()
    back = read_regions(photo, 1382, 1000)
    assert [r.name for r in back] == ["Anna"]
    assert iou(back[0].box, (10, 20, 30, 40)) > 0.99


def test_facefolio_names_round_trip_through_a_fresh_library(tmp_path, scanned, photos):
    face = largest_face(scanned, photos / "img1.jpg")
    couple = sorted(scanned.faces(photo_id=scanned.photo_by_path(photos / "couple.jpg").id),
                    key=lambda f: f.box[0])
    people = People(scanned)
    people.create_person([face.id], name="Anna")
    people.create_person([couple[0].id], name="Bea")
    written, errors = export_library_xmp(scanned)
    assert (written, errors) == (2, [])
    assert (photos / "img1.jpg.xmp").is_file() and not (photos / "img3.jpg.xmp").exists()

    with Library(tmp_path / "fresh") as fresh:
        fresh.add_folder(photos)
        scan(fresh)  # the scan reads the sidecars itself
        assert largest_face(fresh, photos / "img1.jpg").person_name == "Anna"
        fresh_couple = sorted(fresh.faces(
            photo_id=fresh.photo_by_path(photos / "couple.jpg").id), key=lambda f: f.box[0])
        assert [f.person_name for f in fresh_couple][:2] == ["Bea", None]
        assert sorted(p.name for p in fresh.people() if p.name) == ["Anna", "Bea"]
        # Importing again changes nothing.
        assert import_library_xmp(fresh) == (0, [])


def test_a_digikam_sidecar_names_the_matching_face(scanned, photos):
    photo = scanned.photo_by_path(photos / "img3.jpg")
    face = largest_face(scanned, photos / "img3.jpg")
    x, y, w, h = face.box
    # digiKam's box is drawn by hand: a bit larger and offset, still the same face.
    box = (x - 0.1 * w, y - 0.05 * h, 1.15 * w, 1.2 * h)
    sidecar_path(photos / "img3.jpg").write_text(
        digikam_sidecar("Carla", box, photo.width, photo.height, PET))
    regions = read_regions(photos / "img3.jpg", photo.width, photo.height)
    assert [r.name for r in regions] == ["Carla"]
    assert import_regions(scanned, photo.id, regions) == 1
    assert scanned.face(face.id).person_name == "Carla"
    assert scanned.face(face.id).assigned_by == "user"


def test_import_never_overrides_a_user_decision(scanned, photos):
    photo = scanned.photo_by_path(photos / "img1.jpg")
    face = largest_face(scanned, photos / "img1.jpg")
    people = People(scanned)
    people.create_person([face.id], name="Dora")
    dan = people.create_person([largest_face(scanned, photos / "img3.jpg").id], name="Dan")
    assert import_regions(scanned, photo.id, [Region("Dan", face.box)]) == 0
    assert scanned.face(face.id).person_name == "Dora"
    # "Not Dan" is remembered too.
    people.remove_faces([face.id])
    people.reject_suggestion(face.id, dan)
    assert import_regions(scanned, photo.id, [Region("Dan", face.box)]) == 0
    # A region far from any face names nothing.
    assert import_regions(scanned, photo.id, [Region("Eve", (0, 0, 5, 5))]) == 0


@pytest.mark.parametrize("content, expected", [
    (b"\x00\xffgarbage\x13" * 40, "unreadable XMP"),
    (None, "unreadable XMP"),  # truncated: filled in below
    (b"", "unreadable XMP"),
])
def test_corrupt_sidecars_raise_a_clear_error(tmp_path, datasets, content, expected):
    photo = tmp_path / "img1.jpg"
    shutil.copy(datasets / "deepface-unit" / "img1.jpg", photo)
    if content is None:
        content = digikam_sidecar("Anna", (10, 10, 50, 50), 100, 100).encode()[:700]
    sidecar_path(photo).write_bytes(content)
    with pytest.raises(XmpError) as info:
        read_regions(photo, 1382, 1000)
    message = str(info.value)
    assert expected in message and "img1.jpg.xmp" in message and "\n" not in message
    with pytest.raises(XmpError):  # and a write refuses to replace the user's broken file
        write_regions(photo, [Region("Anna", (1, 1, 5, 5))], 1382, 1000)
    assert sidecar_path(photo).read_bytes() == content


def test_foreign_xmp_and_bad_areas(tmp_path):
    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xd9")  # a stub JPEG: no embedded XMP
    sidecar_path(photo).write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
        'rdf:about="" xmlns:foo="http://example.com/foo/" foo:bar="1"/></rdf:RDF></x:xmpmeta>')
    assert read_regions(photo, 100, 100) == []
    sidecar_path(photo).write_text(digikam_sidecar("Anna", (1, 1, 5, 5), 100, 100)
                                   .replace('stArea:w="0.050000"', 'stArea:w="wide"'))
    with pytest.raises(XmpError, match="face region 1 .'Anna'. has no valid area"):
        read_regions(photo, 100, 100)


def test_library_import_reports_bad_files_and_goes_on(scanned, photos):
    sidecar_path(photos / "img1.jpg").write_bytes(b"garbage" * 20)
    photo = scanned.photo_by_path(photos / "img3.jpg")
    face = largest_face(scanned, photos / "img3.jpg")
    sidecar_path(photos / "img3.jpg").write_text(
        digikam_sidecar("Fay", face.box, photo.width, photo.height))
    named, errors = import_library_xmp(scanned)
    assert named == 1 and scanned.face(face.id).person_name == "Fay"
    assert [Path(p).name for p, _ in errors] == ["img1.jpg"]
    assert "img1.jpg.xmp" in errors[0][1]


def test_cli_xmp_write_and_read(tmp_path, scanned, photos, capsys):
    from facefolio import cli

    People(scanned).create_person([largest_face(scanned, photos / "img3.jpg").id], name="Gil")
    People(scanned).create_person([largest_face(scanned, photos / "couple.jpg").id], name="Hal")
    sidecar_path(photos / "couple.jpg").write_bytes(b"garbage" * 10)
    assert cli.main(["--library", str(scanned.path), "xmp", "write"]) == 0
    out, err = capsys.readouterr()
    assert "wrote face names to 1 sidecars" in out and "1 failed" in out
    assert "couple.jpg.xmp" in err  # the broken sidecar is named, and left alone
    assert (photos / "couple.jpg.xmp").read_bytes() == b"garbage" * 10
    fresh = tmp_path / "fresh"
    assert cli.main(["--library", str(fresh), "scan", str(photos)]) == 0
    assert cli.main(["xmp", "read", "--library", str(fresh)]) == 0
    out, err = capsys.readouterr()
    # The scan already took the names; reading again finds nothing new, names the bad file.
    assert "named 0 faces" in out and "couple.jpg" in err
    with Library(fresh) as lib:
        assert sorted(p.name for p in lib.people() if p.name) == ["Gil"]
    with Library(fresh) as lib:
        assert [p.name for p in lib.people() if p.name] == ["Gil"]


def test_scan_imports_digikam_names_and_survives_bad_xmp(tmp_path, photos, datasets):
    """The scanner reads sidecars as it goes: names arrive, a broken sidecar is a warning."""
    from PIL import Image

    img1 = photos / "img1.jpg"
    with Library(tmp_path / "probe") as probe:  # where the detector puts the face
        probe.add_folder(photos)
        scan(probe)
        box = largest_face(probe, img1).box
    width, height = Image.open(img1).size
    (photos / "img1.jpg.xmp").write_text(digikam_sidecar("Dora Digikam", box, width, height))
    sidecar_path(photos / "img3.jpg").write_bytes(b"\x00garbage<x:xmpmeta")
    with Library(tmp_path / "fresh") as lib:
        lib.add_folder(photos)
        scan(lib)
        assert largest_face(lib, img1).person_name == "Dora Digikam"
        assert [p.name for p in lib.people() if p.name] == ["Dora Digikam"]
        warned = {Path(p.path).name: p.error for p in lib.photo_warnings()}
        assert set(warned) == {"img3.jpg"} and "img3.jpg.xmp" in warned["img3.jpg"]
        # The photo itself is fine: its faces are stored, and it is not a failed file.
        assert lib.photo_by_path(photos / "img3.jpg").face_count >= 1
        assert lib.failed_photos() == []


def test_regions_of_an_exif_rotated_photo_are_in_displayed_coordinates(tmp_path, datasets):
    """A photo stored sideways with EXIF orientation 6: the region Facefolio writes sits on
    the face in the upright picture (as digiKam places it), and a fresh library reads it back
    onto the same face."""
    from PIL import Image
    folder = tmp_path / "photos"
    folder.mkdir()
    with Image.open(datasets / "deepface-unit" / "img1.jpg") as upright:
        width, height = upright.size
        exif = Image.Exif()
        exif[0x0112] = 6  # "turn 90 degrees clockwise to display"
        upright.rotate(90, expand=True).save(folder / "sideways.jpg", exif=exif, quality=95)
    with Library(tmp_path / "lib") as lib:
        lib.add_folder(folder)
        scan(lib)
        photo = lib.photo_by_path(folder / "sideways.jpg")
        assert (photo.width, photo.height) == (width, height)  # the displayed frame
        face = largest_face(lib, folder / "sideways.jpg")
        People(lib).create_person([face.id], name="Anna")
        assert export_library_xmp(lib) == (1, [])
    [region] = read_regions(folder / "sideways.jpg", width, height)
    assert region.name == "Anna" and iou(region.box, face.box) > 0.95
    # The face is in the upper part of the upright portrait, not where the stored pixels are.
    assert region.box[1] + region.box[3] / 2 < height / 2
    with Library(tmp_path / "fresh") as fresh:
        fresh.add_folder(folder)
        scan(fresh)
        assert largest_face(fresh, folder / "sideways.jpg").person_name == "Anna"


def test_a_user_decision_made_while_names_are_imported_wins(scanned, photos, monkeypatch):
    """Forced interleaving: the user names the face after the XMP import read the faces and
    before it writes. The import must see the decision inside its transaction and keep it."""
    from facefolio.library.interop import xmp_library
    face = largest_face(scanned, photos / "img1.jpg")
    photo = scanned.photo_by_path(photos / "img1.jpg")
    regions = [Region("Anna", face.box)]
    real = xmp_library.iou_matrix

    def user_acts_meanwhile(a, b):
        with Library(scanned.path) as other:  # another connection: the app's writer
            People(other).create_person([face.id], name="Ben")
        return real(a, b)
    monkeypatch.setattr(xmp_library, "iou_matrix", user_acts_meanwhile)
    assert import_regions(scanned, photo.id, regions) == 0
    assert scanned.face(face.id).person_name == "Ben"
    assert [p.name for p in scanned.people() if p.name] == ["Ben"]
