"""Browsing sub-commands of `facefolio`: photos by person, date and people together.

`cli.py` calls `register(sub, common)`. Handlers take (library, args) and return the exit code;
failures raise LibraryError, which cli.py prints as one line (exit 1).
"""
from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from .library import LibraryError
from .library.storage.store import display_path

if TYPE_CHECKING:  # the library loads when a command opens one, not on import
    from .library import Library


def register(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "photos", parents=[common], help="photos by date, or where people appear together",
        description="Scanned photos, newest first. With --with, only the photos where every "
                    "one of those people appears.")
    p.add_argument("--with", dest="people", action="append", default=[], metavar="PERSON",
                   help="a person id (or exact name) who must be in the photo; repeat it "
                        "for people together")
    p.add_argument("--since", metavar="DATE", help="taken on or after YYYY[-MM[-DD]]")
    p.add_argument("--until", metavar="DATE", help="taken on or before YYYY[-MM[-DD]]")
    p.add_argument("--order", choices=("newest", "oldest", "name"), default="newest",
                   help="newest first (default), oldest first, or by file name")
    p.add_argument("--age", metavar="A-B",
                   help="with one --with: where that person is A to B years old (0-10, 30, "
                        "40-): from their date of birth, else estimated")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_photos)


def cmd_photos(library: Library, args: argparse.Namespace) -> int:
    from .library.photos import browse  # noqa: PLC0415
    people = [browse.find_person(library, text) for text in args.people]
    found = browse.dated_photos(library, with_people=people, order=args.order,
                                since=args.since, until=args.until)
    ages = _ages(library, people, args.age)
    if args.age is not None:
        found = [item for item in found if item.photo.id in ages]
    if args.json:
        print(json.dumps({"photos": [{**p.to_json(), **({"age": ages[p.photo.id].to_json()}
                                                         if p.photo.id in ages else {})}
                                     for p in found]}))
        return 0
    if not found:
        print("no photos" + (" with all of these people" if people else ""))
    for item in found:
        when = (item.photo.taken_at or "no date")[:10]
        guess = "~" if item.photo.taken_at_source == "file" else " "
        who = ", ".join(t.name or f"person {t.person_id}" for t in item.people)
        age = ages[item.photo.id].shown if item.photo.id in ages else ""
        print(f"{when}{guess} {display_path(item.photo.path)}" + (f"  [{who}]" if who else "")
              + (f"  {age}" if age else ""))
    return 0


def _ages(library: Library, people: list[int], age: str | None) -> dict:
    """photo id -> FaceAge of the one --with person, in the --age range when given."""
    from .library.photos import by_age  # noqa: PLC0415
    from .library.people.birthdays import parse_age_range  # noqa: PLC0415
    if age is not None and len(people) != 1:
        raise LibraryError("--age goes with exactly one --with PERSON")
    if len(people) != 1:
        return {}
    low, high = parse_age_range(age) if age is not None else (None, None)
    known = by_age.ages_of(library, people[0])
    if age is not None and all(a.years is None for a in known):
        raise LibraryError("no age is known for that person: give their date of birth "
                           "('facefolio birthday PERSON YYYY-MM-DD') or estimate ages "
                           "('facefolio estimate-ages')")
    out = {}
    for a in known:
        years = a.years
        if a.photo_id in out or (age is not None and (years is None
                                                      or not low <= years < high)):
            continue
        out[a.photo_id] = a
    return out
