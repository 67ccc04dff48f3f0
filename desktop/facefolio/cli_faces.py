"""Face sub-commands of `facefolio`: what the app does with one face that the people commands
do not cover: `cover PERSON FACE`, `add-face PHOTO X Y W H` (a face the detector missed),
`adjust-face FACE X Y W H` (a better box), `not-a-face FACE...`.

`cli.py` calls `register(sub, common)`. Handlers take (library, args) and return the exit
code; failures raise LibraryError, which cli.py prints as one line (exit 1).
"""
from __future__ import annotations

import argparse
import os
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

    p = add("cover", "make FACE the cover of PERSON (the app's \"Set as cover\")", cmd_cover)
    p.add_argument("person", type=int, metavar="PERSON")
    p.add_argument("face", type=int, metavar="FACE")
    p = add("add-face", "add a face the detector missed: a box on a photo, in its pixels "
            "(the app's \"Add a face here\")", cmd_add_face)
    p.add_argument("photo", metavar="PHOTO", help="the photo's path, or its id")
    _box_arguments(p)
    p.add_argument("--name", metavar="NAME",
                   help="and say who it is (a new person, or the person of that name)")
    p = add("adjust-face", "give a face a better box (its person, answers and cover follow; "
            "undo puts the old box back)", cmd_adjust_face)
    p.add_argument("face", type=int, metavar="FACE")
    _box_arguments(p)
    p = add("not-a-face", "mark faces as not a face (kept and hidden everywhere, so a rescan "
            "does not bring them back; 'unignore' undoes it)", cmd_not_a_face)
    p.add_argument("faces", type=int, nargs="+", metavar="FACE")


def _box_arguments(p: argparse.ArgumentParser) -> None:
    for name in ("x", "y", "w", "h"):
        p.add_argument(name, type=float, metavar=name.upper())


def _people(library: Library):
    from .library.people.people import People  # noqa: PLC0415 - scipy: not for --help
    return People(library)


def cmd_cover(library: Library, args: argparse.Namespace) -> int:
    _people(library).set_cover(args.person, args.face)
    person = library.person(args.person)
    print(f"face {args.face} is now the cover of person {person.id} "
          f"({shown(person.name or 'unnamed')})")
    return 0


def _photo(library: Library, text: str):
    """A library photo by path (as typed), else by id."""
    found = library.photo_by_path(os.path.abspath(text))
    if found is None and text.isdigit() and not os.path.exists(text):
        found = library.photo(int(text))  # NotFoundError names the id
    if found is None:
        raise LibraryError(f"{shown(text)} is not a photo of this library (scan its folder "
                           "first)")
    return found


def cmd_add_face(library: Library, args: argparse.Namespace) -> int:
    from .library.people import drawn as manual  # noqa: PLC0415 - loads the engine
    photo = _photo(library, args.photo)
    drawn = manual.embed_drawn_face(library, photo.id, (args.x, args.y, args.w, args.h))
    face_id = manual.add_drawn_face(library, drawn)
    x, y, w, h = (round(v) for v in drawn.box)
    line = f"face {face_id} added to {shown(display_path(photo.path))} at {x},{y} {w}x{h}"
    if args.name is not None:
        people = _people(library)
        wanted = " ".join(args.name.split()).casefold()
        named = [p for p in library.people() if p.name and p.name.casefold() == wanted]
        if len(named) > 1:
            raise LibraryError(f"face {face_id} added; {len(named)} people are named "
                               f"{args.name!r}: use 'facefolio move {face_id} --to PERSON'")
        pid = people.name_faces([face_id], name=None if named else args.name,
                                person_id=named[0].id if named else None, whole_group=False)
        line += f": person {pid} ({shown(library.person(pid).name)})"
    print(line)
    library.save_indexes()
    return 0


def cmd_adjust_face(library: Library, args: argparse.Namespace) -> int:
    from .library.people import drawn as manual  # noqa: PLC0415
    old = library.face(args.face)
    drawn = manual.embed_drawn_face(library, old.photo_id, (args.x, args.y, args.w, args.h))
    face_id = manual.replace_face(library, args.face, drawn)
    library.save_indexes()
    print(f"face {args.face} is now face {face_id} with the new box; 'facefolio undo' puts "
          "the old one back")
    return 0


def cmd_not_a_face(library: Library, args: argparse.Namespace) -> int:
    _people(library).set_ignored(args.faces, True)
    print(f"{len(set(args.faces))} face(s) marked as not a face")
    return 0
