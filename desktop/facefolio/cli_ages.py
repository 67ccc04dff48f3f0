"""Age sub-commands of `facefolio`: `birthday PERSON YYYY-MM-DD` (or `--remove`), `ages
PERSON` (their age in each photo, and per year), `estimate-ages` (the background pass that
gives faces their estimated age, run now).

`cli.py` calls `register(sub, common)`. Handlers take (library, args) and return the exit
code; failures raise LibraryError, which cli.py prints as one line (exit 1).
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from .library import LibraryError
from .library.storage.store import display_path
from .library.storage.text import shown

if TYPE_CHECKING:  # the library loads when a command opens one, not on import
    from .library import Library


def register(sub, common: argparse.ArgumentParser) -> None:
    def add(name: str, help_text: str, func):
        p = sub.add_parser(name, parents=[common], help=help_text)
        p.set_defaults(func=func)
        return p

    p = add("birthday", "set a person's date of birth (their age in each dated photo "
            "follows); undoable", cmd_birthday)
    p.add_argument("person", metavar="PERSON", help="a person id or exact name")
    p.add_argument("date", nargs="?", metavar="YYYY-MM-DD")
    p.add_argument("--remove", action="store_true", help="remove the date of birth")
    p = add("ages", "a person's age in each photo (exact from a date of birth, else "
            "estimated: 'about 30') and per year", cmd_ages)
    p.add_argument("person", metavar="PERSON", help="a person id or exact name")
    p.add_argument("--json", action="store_true", help="print JSON")
    add("estimate-ages", "estimate the age of every face that has none yet (the app does "
        "it in the background after each scan); Ctrl+C stops, keeping what is done",
        cmd_estimate_ages)


def _person(library: Library, text: str) -> int:
    from .library.photos.browse import find_person  # noqa: PLC0415
    return find_person(library, text)


def cmd_birthday(library: Library, args: argparse.Namespace) -> int:
    from .library.people.people import People  # noqa: PLC0415 - scipy: not for --help
    if args.remove == (args.date is not None):
        raise LibraryError("give a date of birth as YYYY-MM-DD, or --remove")
    pid = _person(library, args.person)
    People(library).set_birth_date(pid, None if args.remove else args.date)
    person = library.person(pid)
    who = shown(person.name or f"person {pid}")
    if person.birth_date:
        print(f"{who} was born on {person.birth_date} ('facefolio undo' takes it back)")
    else:
        print(f"{who} has no date of birth now ('facefolio undo' puts it back)")
    return 0


def cmd_ages(library: Library, args: argparse.Namespace) -> int:
    from .library.photos import by_age  # noqa: PLC0415
    pid = _person(library, args.person)
    faces = by_age.ages_of(library, pid)
    years = by_age.ages_by_year(library, pid, faces)
    if args.json:
        print(json.dumps({"person_id": pid, "birth_date": library.person(pid).birth_date,
                          "faces": [a.to_json() for a in faces],
                          "years": [{"year": y.year, "photos": y.photos, "age": y.words}
                                    for y in years]}))
        return 0
    for y in years:
        print(f"{y.year}  {y.photos} photo(s)  {y.words or 'age unknown'}")
    for a in faces:
        when = (a.taken_at or "no date")[:10]
        print(f"{when}  {a.shown or '-'}\t{display_path(a.photo_path)}")
    return 0


def say_pending(library: Library) -> None:
    """After a scan (on stderr, with the progress): faces still waiting for their age."""
    from .library.people import ages  # noqa: PLC0415
    if ages.enabled(library.settings):
        n = ages.count_pending(library.con)
        if n:
            print(f"{n} face(s) have no estimated age yet: 'facefolio estimate-ages' gives "
                  "them one (the app does it in the background)", file=sys.stderr)


def cmd_estimate_ages(library: Library, args: argparse.Namespace) -> int:
    from .library.people import ages  # noqa: PLC0415
    if not ages.enabled(library.settings):
        print("estimates are off (settings.json: age_gender false): nothing to do")
        return 0
    before, aged = ages.count_pending(library.con), ages.count_aged(library.con)
    done = total = 0
    try:
        for done, total in ages.fill(library):
            if done % 20 == 0 or done == total:
                print(f"\r{done}/{total} photos", end="", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        print(f"stopped after {done} of {total} photos; the rest next time")
        return 1
    if total:
        print(file=sys.stderr)
    made = ages.count_aged(library.con) - aged
    print(f"{made} face(s) estimated" + (f"; {before - made} could not be (their photo "
                                          "cannot be read now)" if before > made else ""))
    return 0
