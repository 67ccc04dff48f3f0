"""The user's work survives real libraries: unplugged drives, unreadable folders, re-tagged,
renamed, cropped and copied photos, and the settings changing under them (issue 8).

Every test names people and says "not this person" first, then does what real libraries do,
then checks that every decision is still there, on the same ids where the image is the same.
"""
from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image

from facefolio.library import Library, Scanner
from facefolio.library.people.people import People

ANNA = ["img1.jpg", "img2.jpg", "img4.jpg", "img5.jpg", "img6.jpg", "img7.jpg"]
BEN = ["img26.jpg", "img27.jpg", "img28.jpg", "img42.jpg", "img43.jpg", "img44.jpg"]


def scan(library: Library, folder_ids=None):
    last = None
    for last in Scanner(library).scan(folder_ids):
        pass
    return last


def state(library: Library) -> dict:
    """Everything the user decided, by id: people, who each face is, rejections, covers."""
    con = library.con
    return {
        "people": {p.id: (p.name, p.hidden, p.cover_face_id) for p in library.people()},
        "faces": {f.id: (os.path.basename(f.photo_path), f.person_id, f.assigned_by)
                  for f in library.faces()},
        "rejections": {tuple(r) for r in con.execute("SELECT face_id, person_id FROM rejections")},
    }


def face_of(library: Library, path: Path):
    photo = library.photo_by_path(path)
    assert photo is not None, path
    faces = library.faces(photo_id=photo.id)
    assert faces, path
    return max(faces, key=lambda f: f.box[2] * f.box[3])


@pytest.fixture
def drive(tmp_path, datasets) -> Path:
    """A folder as on an external drive: two people, six photos each."""
    root = tmp_path / "mnt" / "photos"
    root.mkdir(parents=True)
    for name in ANNA + BEN:
        shutil.copy(datasets / "deepface-unit" / name, root / name)
    return root


@pytest.fixture
def named(tmp_path, drive):
    """A scanned library where the user named Anna and Ben and took one face out of Anna."""
    with Library(tmp_path / "lib") as library:
        library.add_folder(drive)
        scan(library)
        people = People(library)
        anna = people.create_person([face_of(library, drive / n).id for n in ANNA[:5]],
                                    name="Anna")
        ben = people.create_person([face_of(library, drive / n).id for n in BEN], name="Ben")
        # "Not Anna" for the sixth photo's face: a decision that must never be undone.
        refused = face_of(library, drive / ANNA[5]).id
        people.move_faces([refused], anna)
        people.remove_faces([refused])
        yield library, anna, ben, refused


def test_unplugged_drive_keeps_everything_and_comes_back_identical(named, drive):
    library, anna, ben, refused = named
    before = state(library)
    assert (refused, anna) in before["rejections"]
    hidden = drive.with_name("unplugged")
    drive.rename(hidden)
    drive.mkdir()  # the mount point stays behind, empty

    result = scan(library)
    assert result.phase == "done" and result.offline == len(ANNA + BEN)
    assert state(library) == before  # nothing removed, nothing regrouped away
    folder = library.folders()[0]
    assert folder.offline and "empty" in folder.scan_error
    assert not folder.scan_incomplete  # not scanned, not half-scanned either
    assert folder.offline_count == len(ANNA + BEN)
    assert all(p.offline for p in library.photos())
    # Search still finds the faces of the offline drive.
    found = library.search_face(face_of(library, drive / ANNA[0]).id, top=5)
    assert found and all(library.photo_by_path(r.photo).offline for r in found)

    # The mount point itself can vanish too: still offline, still nothing lost.
    drive.rmdir()
    scan(library)
    assert state(library) == before and library.folders()[0].offline

    hidden.rename(drive)  # plugged back in
    result = scan(library)
    assert result.done == 0 and result.offline == 0
    assert state(library) == before
    assert not library.folders()[0].offline
    assert not any(p.offline for p in library.photos())


def test_unreadable_subfolder_is_offline_not_deleted(named, drive, monkeypatch):
    library, anna, ben, refused = named
    sub = drive / "2019"
    sub.mkdir()
    for name in BEN:
        (drive / name).rename(sub / name)
    scan(library)  # the move into a sub-folder is recognised: same photos, same faces
    before = state(library)
    assert before["faces"] and {v[0] for v in before["faces"].values()} >= set(BEN)

    _make_unreadable(sub, monkeypatch)
    result = scan(library)
    assert result.phase == "done" and result.offline == len(BEN) and result.missing == 0
    assert state(library) == before
    assert {Path(p.path).name for p in library.photos() if p.offline} == set(BEN)
    monkeypatch.undo()
    result = scan(library)
    assert result.offline == 0 and state(library) == before


def _make_unreadable(folder: Path, monkeypatch) -> None:
    """EACCES on listing `folder` and on stat'ing anything in it (as chmod 000 does; the
    tests may run as root, which chmod does not stop)."""
    inside = str(folder) + os.sep
    real_scandir, real_stat, real_lstat = os.scandir, os.stat, os.lstat

    def denied(path) -> OSError:
        return PermissionError(errno.EACCES, "Permission denied", os.fspath(path))

    def scandir(path="."):
        if not isinstance(path, int) and os.fspath(path) == str(folder):  # int: os.fwalk's fd
            raise denied(path)
        return real_scandir(path)

    def stat(path, *args, **kwargs):
        if isinstance(path, (str, os.PathLike)) and os.fspath(path).startswith(inside):
            raise denied(path)
        return real_stat(path, *args, **kwargs)

    def lstat(path, *args, **kwargs):
        if isinstance(path, (str, os.PathLike)) and os.fspath(path).startswith(inside):
            raise denied(path)
        return real_lstat(path, *args, **kwargs)
    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(os, "stat", stat)
    monkeypatch.setattr(os, "lstat", lstat)


def test_metadata_edits_keep_faces_ids_names_and_rejections(named, drive):
    library, anna, ben, refused = named
    before = state(library)
    # 1. A raw APP segment (a rating tool) inserted after SOI: new bytes, same image.
    target = drive / ANNA[5]
    data = target.read_bytes()
    segment = b"Rating: 5 stars, written by another tool"
    target.write_bytes(data[:2] + b"\xff\xe9" + (len(segment) + 2).to_bytes(2, "big")
                       + segment + data[2:])
    # 2. An EXIF rating, keyword and GPS tag written by exiv2 (what digiKam uses).
    import pyexiv2
    with pyexiv2.Image(str(drive / ANNA[0])) as image:
        image.modify_exif({"Exif.Image.Rating": "4", "Exif.Image.Artist": "someone",
                           "Exif.GPSInfo.GPSLatitudeRef": "N"})
        image.modify_xmp({"Xmp.dc.subject": ["holiday"], "Xmp.xmp.Rating": "4"})
    # 3. exiftool itself, where it is installed.
    if shutil.which("exiftool"):
        import subprocess
        subprocess.run(["exiftool", "-overwrite_original", "-Rating=3", "-Keywords=beach",
                        str(drive / BEN[0])], check=True, capture_output=True)
    assert target.read_bytes() != data
    result = scan(library)
    assert result.done >= 2 and result.errors == 0
    assert state(library) == before
    assert face_of(library, target).person_id is None  # still "not Anna"


def test_ring_rename_of_three_photos_keeps_ids(named, drive):
    library, anna, ben, refused = named
    before = state(library)
    a, b, c = drive / ANNA[0], drive / BEN[0], drive / ANNA[5]
    ids = {p: face_of(library, p).id for p in (a, b, c)}
    tmp = drive / "tmp.jpg"
    a.rename(tmp)
    c.rename(a)  # c -> a
    b.rename(c)  # b -> c
    tmp.rename(b)  # a -> b
    result = scan(library)
    assert result.moved == 3 and result.done == 0 and result.missing == 0
    assert face_of(library, b).id == ids[a]
    assert face_of(library, c).id == ids[b]
    assert face_of(library, a).id == ids[c]
    after = state(library)
    assert after["people"] == before["people"] and after["rejections"] == before["rejections"]
    assert {k: v[1:] for k, v in after["faces"].items()} == \
        {k: v[1:] for k, v in before["faces"].items()}


def test_moves_and_copies_keep_names(named, drive, tmp_path):
    library, anna, ben, refused = named
    moved_face = face_of(library, drive / BEN[1]).id
    other = drive / "sorted" / "ben"
    other.mkdir(parents=True)
    (drive / BEN[1]).rename(other / "renamed.jpg")
    shutil.copy(drive / ANNA[1], drive / "copy of anna.jpg")
    shutil.copy(drive / ANNA[5], drive / "copy of refused.jpg")
    result = scan(library)
    assert result.moved == 1 and result.errors == 0
    moved = face_of(library, other / "renamed.jpg")
    assert moved.id == moved_face and moved.person_id == ben
    copy = face_of(library, drive / "copy of anna.jpg")
    assert copy.person_id == anna and copy.assigned_by == "user"
    refused_copy = face_of(library, drive / "copy of refused.jpg").id
    assert (refused_copy, anna) in state(library)["rejections"]


def test_deleted_photo_is_missing_until_pruned(named, drive):
    library, anna, ben, refused = named
    # A face marked "not a face" is never a search answer, nor counted as a face.
    ignored = face_of(library, drive / BEN[3])
    People(library).set_ignored([ignored.id], True)
    assert ignored.id not in {r.face_id for r in library.search_face(
        face_of(library, drive / BEN[2]).id, top=50)}
    assert library.photo_by_path(drive / BEN[3]).face_count == 0
    gone = face_of(library, drive / ANNA[2]).id
    (drive / ANNA[2]).unlink()
    result = scan(library)
    assert result.missing == 1 and gone in {f.id for f in library.faces(person_id=anna)}
    photo = library.photo_by_path(drive / ANNA[2])
    assert photo.missing and library.folders()[0].missing_count == 1
    assert library.prune_missing() == 1
    assert gone not in {f.id for f in library.faces()}
    assert library.person(anna).name == "Anna"  # the person stays


def test_restored_photo_takes_its_faces_back(named, drive, datasets):
    library, anna, ben, refused = named
    face = face_of(library, drive / ANNA[2]).id
    (drive / ANNA[2]).unlink()
    scan(library)
    shutil.copy(datasets / "deepface-unit" / ANNA[2], drive / "restored.jpg")
    result = scan(library)
    assert result.moved == 1
    assert face_of(library, drive / "restored.jpg").id == face
    assert not library.photo_by_path(drive / "restored.jpg").missing


def test_cropped_photo_keeps_its_name_through_redetection(named, drive):
    library, anna, ben, refused = named
    target = drive / ANNA[0]
    old = face_of(library, target)
    assert old.person_id == anna
    with Image.open(target) as im:
        w, h = im.size
        im.crop((w // 10, h // 10, w - w // 10, h - h // 10)).save(target, quality=92)
    result = scan(library)
    assert result.done == 1 and result.notes == 0
    new = face_of(library, target)
    assert new.id != old.id  # detected again...
    assert new.person_id == anna and new.assigned_by == "user"  # ...the decision carried


def test_rotated_by_exif_and_refused_face_carried(named, drive):
    library, anna, ben, refused = named
    import pyexiv2
    with pyexiv2.Image(str(drive / ANNA[5])) as image:
        image.modify_exif({"Exif.Image.Orientation": "6"})
    result = scan(library)
    assert result.done == 1 and result.notes == 0
    face = face_of(library, drive / ANNA[5])
    assert face.id != refused and (face.id, anna) in state(library)["rejections"]
    assert face.person_id is None


def test_new_settings_reanalyse_and_carry_decisions(named, drive):
    library, anna, ben, refused = named
    names_before = {os.path.basename(f.photo_path): f.person_id for f in library.faces()
                    if f.assigned_by == "user"}
    library.settings.det_threshold = 0.65  # lower than before: every photo is read again
    library.save_settings()
    assert library.counts()["pending_photos"] == len(ANNA + BEN)
    assert library.folders()[0].pending_count == len(ANNA + BEN)
    result = scan(library)
    assert result.done == len(ANNA + BEN) and result.notes == 0
    assert library.counts()["pending_photos"] == 0
    names_after = {os.path.basename(f.photo_path): f.person_id for f in library.faces()
                   if f.assigned_by == "user"}
    assert names_after == names_before
    face = face_of(library, drive / ANNA[5])
    assert (face.id, anna) in state(library)["rejections"]


def test_failed_photo_is_retried_when_fixed(tmp_path, datasets):
    folder = tmp_path / "photos"
    folder.mkdir()
    good = (datasets / "deepface-unit" / "img1.jpg").read_bytes()
    (folder / "partial.jpg").write_bytes(good[:4000])  # a copy still in progress
    with Library(tmp_path / "lib") as library:
        library.add_folder(folder)
        assert scan(library).errors == 1
        (folder / "partial.jpg").write_bytes(good)
        os.utime(folder / "partial.jpg", ns=(1, 1))
        result = scan(library)
        assert result.errors == 0
        assert library.photo_by_path(folder / "partial.jpg").face_count == 1


def test_a_photo_that_cannot_be_stored_fails_alone(tmp_path, datasets, monkeypatch):
    from facefolio.library.scan import write as scan_write

    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ANNA[:4]:
        shutil.copy(datasets / "deepface-unit" / name, folder / name)
    real = scan_write.write_result

    def failing(con, r, *args):
        if r.job.entry.path.endswith(ANNA[1]) and r.kind == "analysed":
            raise ValueError("the disk said no")
        return real(con, r, *args)
    monkeypatch.setattr(scan_write, "write_result", failing)  # run by the writer thread
    with Library(tmp_path / "lib") as library:
        library.add_folder(folder)
        result = scan(library)
        assert result.phase == "done"
        assert [Path(p.path).name for p in library.failed_photos()] == [ANNA[1]]
        assert len(library.photos(status="done")) == 3
        monkeypatch.undo()
        scan(library)
        assert not library.failed_photos() and len(library.photos(status="done")) == 4


def test_library_inside_a_scanned_folder_is_never_scanned(tmp_path, datasets):
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(datasets / "deepface-unit" / "img1.jpg", folder / "img1.jpg")
    with Library(folder / "Facefolio library") as library:
        thumbs = library.thumbnail_dir / "faces"
        thumbs.mkdir(parents=True)
        shutil.copy(datasets / "deepface-unit" / "img2.jpg", thumbs / "1.jpg")
        library.add_folder(folder)
        scan(library)
        assert [Path(p.path).name for p in library.photos()] == ["img1.jpg"]


def test_a_file_that_cannot_be_looked_at_is_not_taken_for_gone(tmp_path, monkeypatch):
    """The last check before a photo is marked missing: only "does not exist" means gone; an
    I/O error or a refused permission (a dying drive, a stale NFS handle) means "don't know"."""
    from facefolio.library.scan.walk import gone
    present = tmp_path / "here.jpg"
    present.write_bytes(b"x")
    assert gone(str(tmp_path / "nothing.jpg")) is True
    assert gone(str(tmp_path / "nothing" / "deeper.jpg")) is True
    assert gone(str(present)) is False
    for code in (errno.EIO, errno.EACCES, errno.ESTALE):
        def failing(path, *args, code=code, **kwargs):
            raise OSError(code, os.strerror(code), path)
        monkeypatch.setattr(os, "lstat", failing)
        assert gone(str(present)) is None, errno.errorcode[code]
        monkeypatch.undo()


def test_undo_reaches_a_face_detected_again_after_a_crop(named, drive):
    """A move, then the photo is cropped in another tool and rescanned (new face id, the
    decision carried): Undo and Redo still act on that face."""
    library, anna, ben, refused = named
    people = People(library)
    target = drive / BEN[0]
    people.move_faces([face_of(library, target).id], anna)  # a slip of the hand
    old = face_of(library, target)
    with Image.open(target) as im:
        w, h = im.size
        im.crop((w // 10, h // 10, w - w // 10, h - h // 10)).save(target, quality=92)
    scan(library)
    new = face_of(library, target)
    assert new.id != old.id and new.person_id == anna
    assert people.undo().startswith("Move")
    assert (face_of(library, target).person_id, face_of(library, target).assigned_by) == (
        ben, "user")
    assert people.redo().startswith("Move")
    assert face_of(library, target).person_id == anna


def test_undo_of_not_this_person_reaches_a_face_rotated_since(named, drive):
    """"Not Anna", then the photo is turned by its EXIF tag and rescanned: undoing the
    refusal puts the new face back in Anna and lifts the refusal from it."""
    library, anna, ben, refused = named
    import pyexiv2
    with pyexiv2.Image(str(drive / ANNA[5])) as image:
        image.modify_exif({"Exif.Image.Orientation": "6"})
    scan(library)
    face = face_of(library, drive / ANNA[5])
    assert face.id != refused and face.person_id is None
    assert People(library).undo().startswith("Remove")
    face = face_of(library, drive / ANNA[5])
    assert face.person_id == anna
    assert (face.id, anna) not in state(library)["rejections"]


def test_undo_never_hands_a_lost_face_decision_to_a_stranger_beside_it(tmp_path, datasets):
    """The face an operation left undecided is lost by a rescan while a new face appears in
    the same photo: undo must not give the stranger the old face's person."""
    folder = tmp_path / "photos"
    folder.mkdir()
    photo = folder / "pair.jpg"
    shutil.copy(datasets / "deepface-unit" / "couple.jpg", photo)
    with Library(tmp_path / "lib") as library:
        library.add_folder(folder)
        scan(library)
        faces = library.faces(photo_id=library.photo_by_path(photo).id)
        assert len(faces) == 2
        people = People(library)
        left, right = sorted(faces, key=lambda f: f.box[0])
        pid = people.create_person([left.id], name="Left")
        people.delete_person(pid)  # the face is left undecided: nobody's, no refusal
        # Another tool keeps only the right half: the left face is gone, the right one is
        # detected again (a new id).
        with Image.open(photo) as im:
            w, h = im.size
            im.crop((int(right.box[0]) - 20, 0, w, h)).save(photo, quality=92)
        scan(library)
        after = library.faces(photo_id=library.photo_by_path(photo).id)
        assert len(after) == 1 and after[0].id != right.id
        assert people.undo().startswith("Delete")  # "Left" is back, with no face to get
        assert any(p.name == "Left" for p in library.people())
        assert library.faces(photo_id=library.photo_by_path(photo).id)[0].person_id is None


def test_a_photo_moved_over_another_takes_its_path_and_keeps_its_names(named, drive):
    """`mv -f img26.jpg img1.jpg`: Ben's photo now sits where Anna's was. The scan (and
    every later one) goes through; Ben's face keeps its id and name at the new path, and
    Anna's photo is missing, kept until pruned."""
    library, anna, ben, refused = named
    bens = face_of(library, drive / BEN[0])
    os.replace(drive / BEN[0], drive / ANNA[0])
    for _ in range(2):
        scan(library)
    moved = face_of(library, drive / ANNA[0])
    assert (moved.id, moved.person_id) == (bens.id, ben)
    assert library.counts()["missing_photos"] == 1


def test_remove_missing_removes_what_it_counted_and_only_where_asked(named, drive, tmp_path):
    """"Remove missing photos" of one folder (and `scan PATH --prune`) removes exactly the
    photos the question counted, in that folder, and never one marked offline."""
    from facefolio.library.photos.browse import missing_summary
    library, anna, ben, refused = named
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(drive / BEN[1], other / "copy.jpg")
    shutil.copy(drive / BEN[2], other / "keep.jpg")  # not empty after: not an unplugged drive
    library.add_folder(other)
    scan(library)
    (drive / BEN[0]).unlink()
    (drive / ANNA[1]).unlink()
    (other / "copy.jpg").unlink()
    scan(library)
    first, second = (f.id for f in sorted(library.folders(), key=lambda f: f.path != str(drive)))
    # A missing photo also marked offline (kept for good until its drive is read again).
    library.con.execute("UPDATE photos SET offline = 1 WHERE path = ?",
                        (str(drive / ANNA[1]),))
    library.con.commit()
    assert missing_summary(library, first).photos == 1
    assert library.prune_missing([first]) == 1
    assert missing_summary(library, first).photos == 0
    assert library.photo_by_path(drive / ANNA[1]) is not None  # the offline one stays
    assert missing_summary(library, second).photos == 1  # not asked: kept


def test_a_photo_replaced_by_a_folder_or_pipe_is_missing(named, drive):
    """Where a photo was there is now a folder (or a pipe) of that name: the photo is
    missing (kept, with its names, until removed), not present or offline for good."""
    library, anna, ben, refused = named
    for name, replace in ((BEN[0], os.mkdir), (BEN[1], os.mkfifo)):
        face = face_of(library, drive / name)
        (drive / name).unlink()
        replace(drive / name)
        scan(library)
        photo = library.photo_by_path(drive / name)
        assert photo.missing and not photo.offline, name
        assert library.face(face.id).person_id == ben
