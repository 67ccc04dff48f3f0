"""Browsing photos by date and by people together (library/photos/browse.py, `facefolio photos`),
on the album: real photos with EXIF dates written the way a camera does, scanned and grouped."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from app_fixtures import album_folder, album_library, album_template  # noqa: F401
from facefolio.library import Library, LibraryError, NotFoundError, PhotoStatus
from facefolio.library.photos import browse


def names(photos) -> list[str]:
    return [Path(p.path).name for p in photos]


def person_id(lib: Library, name: str) -> int:
    return next(p.id for p in lib.people() if p.name == name)


def test_natural_order_reads_numbers_as_numbers():
    files = ["img10.jpg", "IMG2.jpg", "img1.jpg", "img11.jpg", "a.jpg", "img2b.jpg"]
    assert sorted(files, key=browse.natural_key) == [
        "a.jpg", "img1.jpg", "IMG2.jpg", "img2b.jpg", "img10.jpg", "img11.jpg"]


def test_photos_newest_first_then_by_name(album_library):
    with Library(album_library) as lib:
        newest = browse.photos(lib)
        oldest = browse.photos(lib, order="oldest")
        by_name = browse.photos(lib, order="name")
    assert len(newest) == 18
    dated = [p.taken_at for p in newest]
    assert dated == sorted(dated, reverse=True)
    assert names(newest)[:2] == ["together_3.jpg", "together_2.jpg"]
    # No EXIF date: the file's time stands in, marked as a guess ('file').
    guessed = [p for p in newest if p.taken_at_source == "file"]
    assert names(guessed) == ["Barack_Obama_11.jpg", "Jennifer_Aniston_11.jpg"]
    assert all(p.taken_at == "2016-06-15T12:00:00" for p in guessed)
    assert {p.taken_at_source for p in newest if p not in guessed} == {"exif"}
    # Photos of one instant keep natural name order, whichever way the dates run.
    assert names(newest)[-2:] == ["Barack_Obama_11.jpg", "Jennifer_Aniston_11.jpg"]
    same_instant = [n for n in names(newest) if n in ("Hugh_Laurie_1.jpg", "Hugh_Laurie_2.jpg")]
    assert same_instant == ["Hugh_Laurie_1.jpg", "Hugh_Laurie_2.jpg"]
    assert names(oldest)[:2] == ["Barack_Obama_11.jpg", "Jennifer_Aniston_11.jpg"]
    assert names(oldest)[-1] == "together_3.jpg"
    assert names(by_name)[:5] == ["Barack_Obama_1.jpg", "Barack_Obama_2.jpg",
                                  "Barack_Obama_3.jpg", "Barack_Obama_10.jpg",
                                  "Barack_Obama_11.jpg"]


def test_undated_photos_sort_last_both_ways():
    from facefolio.library import PhotoRecord

    def photo(i: int, name: str, when: str | None) -> PhotoRecord:
        return PhotoRecord(id=i, folder_id=1, path=f"/p/{name}", width=10, height=10,
                           taken_at=when, status=PhotoStatus.DONE, error=None, face_count=0)
    photos = [photo(1, "b10.jpg", None), photo(2, "b2.jpg", None),
              photo(3, "a.jpg", "2019-01-01T00:00:00"), photo(4, "c.jpg", "2020-01-01T00:00:00")]
    assert names(browse.sort_photos(photos, "newest")) == ["c.jpg", "a.jpg", "b2.jpg",
                                                           "b10.jpg"]
    assert names(browse.sort_photos(photos, "oldest")) == ["a.jpg", "c.jpg", "b2.jpg",
                                                           "b10.jpg"]
    assert browse.year_starts([p.taken_at for p in browse.sort_photos(photos)]) == [
        ("2020", 0), ("2019", 1), ("No date", 2)]
    with pytest.raises(LibraryError, match="unknown order 'random'"):
        browse.sort_photos(photos, "random")


def test_people_together_and_one_person(album_library):
    with Library(album_library) as lib:
        obama, hugh, jen = (person_id(lib, n) for n in
                            ("Barack Obama", "Hugh Laurie", "Jennifer Aniston"))
        assert names(browse.photos(lib, with_people=[obama, hugh])) == [
            "together_2.jpg", "together_1.jpg"]
        assert names(browse.photos(lib, with_people=[jen, obama])) == ["together_3.jpg"]
        assert browse.photos(lib, with_people=[obama, hugh, jen]) == []
        alone = browse.photos(lib, with_people=[hugh])
        assert len(alone) == 7 and all(
            n.startswith(("Hugh_Laurie", "together_1", "together_2")) for n in names(alone))
        with pytest.raises(NotFoundError, match="no person with id 999"):
            browse.photos(lib, with_people=[obama, 999])


def test_ignored_faces_do_not_put_a_person_in_a_photo(album_library):
    with Library(album_library) as lib:
        obama, hugh = person_id(lib, "Barack Obama"), person_id(lib, "Hugh Laurie")
        together = lib.photo_by_path(Path(lib.folders()[0].path) / "together_1.jpg")
        face = next(f for f in lib.faces(photo_id=together.id) if f.person_id == hugh)
        lib.con.execute("UPDATE faces SET ignored = 1 WHERE id = ?", (face.id,))
        assert names(browse.photos(lib, with_people=[obama, hugh])) == ["together_2.jpg"]
        tags = browse.people_in(lib, [together.id])[together.id]
        assert [t.name for t in tags] == ["Barack Obama"]


def test_date_ranges_are_inclusive_and_checked(album_library):
    with Library(album_library) as lib:
        in_2018 = browse.photos(lib, since="2018", until="2018")
        assert len(in_2018) == 5 and all(p.taken_at.startswith("2018") for p in in_2018)
        spring = browse.photos(lib, since="2017-05", until="2017-07-03", order="oldest")
        assert names(spring) == ["Barack_Obama_2.jpg", "Barack_Obama_3.jpg"]
        for bad in ("2018-5", "last year", "20180101"):
            with pytest.raises(LibraryError, match="is not a date"):
                browse.photos(lib, since=bad)


def test_person_span_and_year_marks(album_library):
    with Library(album_library) as lib:
        hugh = person_id(lib, "Hugh Laurie")
        assert browse.person_span(lib, hugh) == ("2018-01-05T09:00:00", "2021-01-02T12:00:00")
        photos = browse.photos(lib)
    marks = browse.year_starts([p.taken_at for p in photos])
    assert [m[0] for m in marks] == ["2021", "2020", "2019", "2018", "2017", "2016"]
    assert marks[0][1] == 0 and marks[-1][1] == 16
    assert photos[marks[3][1]].taken_at.startswith("2018")


def test_find_person_by_id_or_unique_name(album_library):
    with Library(album_library) as lib:
        hugh = person_id(lib, "Hugh Laurie")
        assert browse.find_person(lib, str(hugh)) == hugh
        assert browse.find_person(lib, " hugh laurie ") == hugh
        with pytest.raises(NotFoundError, match="no person called 'Nobody'"):
            browse.find_person(lib, "Nobody")
        lib.con.execute("UPDATE people SET name = 'Hugh Laurie' WHERE id != ?", (hugh,))
        with pytest.raises(LibraryError, match="3 people are called"):
            browse.find_person(lib, "Hugh Laurie")


def run_cli(library: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "facefolio.cli", "--library", str(library),
                           *args], capture_output=True, text=True, timeout=120)


def test_cli_photos_with_people_contract(album_library):
    with Library(album_library) as lib:
        obama, hugh = person_id(lib, "Barack Obama"), person_id(lib, "Hugh Laurie")
        before = lib.counts()
    run = run_cli(album_library, "photos", "--with", str(obama), "--with", str(hugh), "--json")
    assert run.returncode == 0, run.stderr
    answer = json.loads(run.stdout)
    assert list(answer) == ["photos"]
    assert [Path(p["photo"]).name for p in answer["photos"]] == ["together_2.jpg",
                                                                "together_1.jpg"]
    first = answer["photos"][0]
    assert set(first) == {"photo_id", "photo", "taken_at", "people", "video", "duration_s"}
    assert (first["video"], first["duration_s"]) == (False, None)
    assert Path(first["photo"]).is_absolute() and first["taken_at"] == "2021-01-02T12:00:00"
    assert sorted(p["person_id"] for p in first["people"]) == sorted([obama, hugh])
    assert {p["person_name"] for p in first["people"]} == {"Barack Obama", "Hugh Laurie"}
    # A name works as well as an id; plain text lists date, path and people.
    text = run_cli(album_library, "photos", "--with", "hugh laurie", "--with", str(obama))
    assert text.returncode == 0 and len(text.stdout.splitlines()) == 2
    assert text.stdout.startswith("2021-01-02 ") and "Barack Obama, Hugh Laurie" in text.stdout
    every = json.loads(run_cli(album_library, "photos", "--json", "--order", "name").stdout)
    assert len(every["photos"]) == 18 and every["photos"][0]["photo"].endswith("Obama_1.jpg")
    with Library(album_library) as lib:
        assert lib.counts() == before  # reading changes nothing


def test_cli_photos_bad_input_is_one_clear_line(album_library):
    for args, message in ((["--with", "999"], "no person with id 999"),
                          (["--with", "Nobody"], "no person called 'Nobody'"),
                          (["--since", "May"], "--since 'May' is not a date")):
        run = run_cli(album_library, "photos", *args)
        assert run.returncode == 1 and run.stdout == ""
        assert run.stderr.strip() == f"facefolio: {message}: use YYYY, YYYY-MM or YYYY-MM-DD" \
            if "date" in message else run.stderr.strip() == f"facefolio: {message}"


def test_a_photo_dated_only_by_datetime_is_dated_the_same_when_analysed_and_refreshed(
        tmp_path, datasets):
    """Many tools write only EXIF DateTime: analysing the photo and reading its metadata
    again (a retag) give it the same date, from EXIF, not the file time."""
    import os

    from facefolio.library import Scanner
    from PIL import Image
    folder = tmp_path / "photos"
    folder.mkdir()
    photo = folder / "dated.jpg"
    with Image.open(datasets / "deepface-unit" / "img1.jpg") as im:
        exif = Image.Exif()
        exif[0x0132] = "2011:05:06 07:08:09"  # DateTime only
        im.save(photo, exif=exif)
    with Library(tmp_path / "lib") as lib:
        lib.add_folder(folder)
        for _ in Scanner(lib).scan():
            pass
        first = lib.photo_by_path(photo)
        assert (first.taken_at, first.taken_at_source) == ("2011-05-06T07:08:09", "exif")
        os.utime(photo, (1e9, 1e9))  # touched by another tool: only the metadata is read
        for _ in Scanner(lib).scan():
            pass
        again = lib.photo_by_path(photo)
        assert (again.taken_at, again.taken_at_source) == ("2011-05-06T07:08:09", "exif")
