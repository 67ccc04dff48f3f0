"""People sub-commands of `facefolio`: cluster, people, name, merge, move, ... undo, redo;
merge proposals (`proposals`, `same A B`, `not-same A B`), `ignore` / `unignore`, `unknown`.

`cli.py` calls `register(sub, common)`. Each handler takes (library, args) and returns the exit
code; failures raise LibraryError, which cli.py prints as one line (exit 1). Data goes to
stdout, as JSON with --json.
"""
from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from .library import LibraryError
from .library.storage.store import display_path
from .library.storage.text import shown

if TYPE_CHECKING:  # the library loads when a command opens one, not on import
    from .library import Library


# Text output is for people: one line per result, control and text-direction characters of
# names and paths escaped (library/storage/text.py).
JSON_NOTE = ("Text output shows one result per line, with control and text-direction "
             "characters in names and paths escaped; --json gives them exactly (use it from "
             "scripts).")


def _people(library: Library):
    # Imported on use: the people code loads scipy (0.45 s: python -X importtime -c
    # "import facefolio.library.people.people"), which --help need not wait for.
    from .library.people.people import People  # noqa: PLC0415
    return People(library)


def register(sub, common: argparse.ArgumentParser) -> None:
    def add(name: str, help_text: str, func, *, json_flag: bool = False):
        p = sub.add_parser(name, parents=[common], help=help_text,
                           epilog=JSON_NOTE if json_flag else None)
        if json_flag:
            p.add_argument("--json", action="store_true",
                           help="print JSON: exact names and paths, for scripts")
        p.set_defaults(func=func)
        return p

    add("cluster", "group unassigned faces into unnamed people", cmd_cluster, json_flag=True)
    add("people", "people with face counts", cmd_people, json_flag=True)
    p = add("name", "name or rename a person", cmd_name)
    p.add_argument("person", type=int, metavar="PERSON")
    p.add_argument("name", metavar="NAME")
    p = add("merge", "merge people into the first one", cmd_merge)
    p.add_argument("target", type=int, metavar="PERSON")
    p.add_argument("sources", type=int, nargs="+", metavar="PERSON")
    p = add("move", "move faces to a person, or to a new one (your decision: clustering "
            "keeps it)", cmd_move)
    p.add_argument("faces", type=int, nargs="+", metavar="FACE")
    to = p.add_mutually_exclusive_group(required=True)
    to.add_argument("--to", type=int, metavar="PERSON", dest="person")
    to.add_argument("--to-new", action="store_true",
                    help="a new person made of these faces (the app's \"This is... New "
                         "person\")")
    p.add_argument("--name", metavar="NAME", help="with --to-new: the new person's name")
    p = add("name-face", "FACE is NAME: names its unnamed group too (all of its faces), "
            "or joins it to the person of that name", cmd_name_face)
    p.add_argument("face", type=int, metavar="FACE")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--only-this-face", action="store_true",
                   help="name only this face, not the rest of its unnamed group")
    p = add("remove-face", "take faces out of their person (remembered)", cmd_remove_face)
    p.add_argument("faces", type=int, nargs="+", metavar="FACE")
    for name, hidden in (("hide", True), ("unhide", False)):
        p = add(name, f"{name} a person", cmd_hide)
        p.add_argument("person", type=int, metavar="PERSON")
        p.set_defaults(hidden=hidden)
    p = add("delete-person", "delete a person; their faces become unknown", cmd_delete)
    p.add_argument("person", type=int, metavar="PERSON")
    p = add("suggest", "faces that may be this person", cmd_suggest, json_flag=True)
    p.add_argument("person", type=int, metavar="PERSON")
    p.add_argument("--limit", type=int, default=50, metavar="N")
    for name, func, what in (("accept", cmd_accept, "FACE is PERSON"),
                             ("reject", cmd_reject, "FACE is not PERSON (remembered)")):
        p = add(name, f"{name} a suggestion: {what}", func)
        p.add_argument("face", type=int, metavar="FACE")
        p.add_argument("person", type=int, metavar="PERSON")
    p = add("proposals", "pairs of people that may be one person, best first", cmd_proposals,
            json_flag=True)
    p.add_argument("--limit", type=int, default=50, metavar="N")
    p = add("same", "A and B are one person: merge B into A (A's name stays, else B's)",
            cmd_same)
    p.add_argument("target", type=int, metavar="A")
    p.add_argument("source", type=int, metavar="B")
    p = add("not-same", "A and B are different people: never proposed or merged again",
            cmd_not_same)
    p.add_argument("person_a", type=int, metavar="A")
    p.add_argument("person_b", type=int, metavar="B")
    for name, ignored in (("ignore", True), ("unignore", False)):
        p = add(name, "not a face / ignore it (kept, hidden everywhere)" if ignored else
                "show ignored faces again", cmd_ignore)
        p.add_argument("faces", type=int, nargs="+", metavar="FACE")
        p.set_defaults(ignored=ignored)
    p = add("unknown", "faces in no person", cmd_unknown, json_flag=True)
    p.add_argument("--low-quality", action="store_true",
                   help="include tiny or blurred faces (hidden by default)")
    p.add_argument("--limit", type=int, default=None, metavar="N")
    add("undo", "undo the last people operation", cmd_undo)
    add("redo", "redo the last undone operation", cmd_redo)


def cmd_cluster(library: Library, args: argparse.Namespace) -> int:
    report = _people(library).cluster()
    library.save_indexes()
    if args.json:
        print(json.dumps(report.to_json()))
    else:
        print(f"{report.faces_grouped} faces in groups, {report.faces_unknown} unknown; "
              f"{report.people_created} new people, {report.people_updated} changed "
              f"({report.seconds:.1f}s)")
    return 0


def cmd_people(library: Library, args: argparse.Namespace) -> int:
    people = library.people()
    if args.json:
        print(json.dumps({"people": [
            {"person_id": p.id, "name": p.name, "face_count": p.face_count,
             "hidden": p.hidden, "cover_face_id": p.cover_face_id} for p in people]}))
        return 0
    if not people:
        print("no people yet: scan a folder, or run 'facefolio cluster'")
        return 0
    print(f"{'PERSON':>7}  {'FACES':>6}  NAME")
    for p in people:
        hidden = "  (hidden)" if p.hidden else ""
        print(f"{p.id:>7}  {p.face_count:>6}  {shown(p.name or '(unnamed)')}{hidden}")
    return 0


def cmd_name(library: Library, args: argparse.Namespace) -> int:
    _people(library).name(args.person, args.name)
    person = library.person(args.person)
    print(f"person {person.id} is now '{shown(person.name)}'")
    twins = [p.id for p in library.people() if p.name == person.name and p.id != person.id]
    if twins:
        # Allowed (two people can share a name), but usually the user wants a merge.
        print(f"note: person {', '.join(map(str, twins))} has the same name; "
              f"'facefolio merge {person.id} {twins[0]}' if they are the same person")
    return 0


def cmd_merge(library: Library, args: argparse.Namespace) -> int:
    _people(library).merge(args.target, args.sources)
    person = library.person(args.target)
    print(f"merged into person {person.id} ({shown(person.name or 'unnamed')}): "
          f"{person.face_count} faces")
    return 0


def cmd_move(library: Library, args: argparse.Namespace) -> int:
    if args.name is not None and not args.to_new:
        raise LibraryError("--name goes with --to-new (to name an existing person: "
                           "'facefolio name PERSON NAME')")
    if args.to_new:
        pid = _people(library).create_person(args.faces, args.name)
        name = library.person(pid).name
        who = f"'{shown(name)}'" if name else "unnamed"
        print(f"moved {len(set(args.faces))} face(s) to new person {pid} ({who})")
        return 0
    _people(library).move_faces(args.faces, args.person)
    print(f"moved {len(args.faces)} face(s) to person {args.person}")
    return 0


def cmd_name_face(library: Library, args: argparse.Namespace) -> int:
    people = _people(library)
    wanted = " ".join(args.name.split()).casefold()
    named = [p for p in library.people() if p.name and p.name.casefold() == wanted]
    if len(named) > 1:
        ids = ", ".join(str(p.id) for p in named)
        raise LibraryError(f"{len(named)} people are named {args.name!r} (persons {ids}): "
                           f"use 'facefolio move {args.face} --to PERSON'")
    group = people.group_of([args.face])
    whole = group is not None and not args.only_this_face
    target = named[0].id if named else None
    pid = people.name_faces([args.face], name=None if named else args.name,
                            person_id=target, whole_group=not args.only_this_face)
    person = library.person(pid)
    if whole:
        print(f"named all {group[1]} faces of the group of face {args.face}: person {pid} is "
              f"{person.name!r} ({person.face_count} faces; --only-this-face names one)")
    else:
        print(f"face {args.face} is person {pid}, {person.name!r} ({person.face_count} faces)")
    return 0


def cmd_remove_face(library: Library, args: argparse.Namespace) -> int:
    _people(library).remove_faces(args.faces)
    print(f"removed {len(args.faces)} face(s) from their person")
    return 0


def cmd_hide(library: Library, args: argparse.Namespace) -> int:
    _people(library).set_hidden(args.person, args.hidden)
    print(f"person {args.person} {'hidden' if args.hidden else 'shown'}")
    return 0


def cmd_delete(library: Library, args: argparse.Namespace) -> int:
    _people(library).delete_person(args.person)
    print(f"deleted person {args.person}; their faces are unknown again")
    return 0


def _listing(args: argparse.Namespace, key: str, items: list, to_json, empty: str,
             line) -> int:
    """A list on stdout: {key: [...]} with --json, else one line each (or `empty`)."""
    if args.json:
        print(json.dumps({key: [to_json(item) for item in items]}))
        return 0
    if not items:
        print(empty)
    for item in items:
        print(line(item))
    return 0


def cmd_suggest(library: Library, args: argparse.Namespace) -> int:
    suggestions = _people(library).suggestions(args.person, args.limit)
    faces = library.faces_by_ids([s.face_id for s in suggestions])

    def line(s) -> str:
        face = faces.get(s.face_id)
        return (f"{s.similarity:6.3f}  face {s.face_id:<7} "
                f"{display_path(face.photo_path) if face else ''}")

    return _listing(args, "suggestions", suggestions, lambda s: s.to_json(), "no suggestions",
                    line)


def cmd_accept(library: Library, args: argparse.Namespace) -> int:
    _people(library).accept_suggestion(args.face, args.person)
    print(f"face {args.face} is person {args.person}")
    return 0


def cmd_reject(library: Library, args: argparse.Namespace) -> int:
    _people(library).reject_suggestion(args.face, args.person)
    print(f"face {args.face} is not person {args.person}")
    return 0


def cmd_proposals(library: Library, args: argparse.Namespace) -> int:
    found = _people(library).proposals(args.limit)

    def line(p) -> str:
        a, b = library.person(p.person_a), library.person(p.person_b)
        return (f"{p.score:6.3f}  person {a.id} ({shown(a.name or 'unnamed')}, {p.faces_a} "
                f"faces) and person {b.id} ({shown(b.name or 'unnamed')}, {p.faces_b} faces): "
                f"'facefolio same {a.id} {b.id}' or 'facefolio not-same {a.id} {b.id}'")

    return _listing(args, "proposals", found, lambda p: p.to_json(), "no proposals", line)


def cmd_same(library: Library, args: argparse.Namespace) -> int:
    _people(library).merge(args.target, [args.source])
    person = library.person(args.target)
    print(f"person {args.source} merged into person {person.id} "
          f"({shown(person.name or 'unnamed')}): {person.face_count} faces")
    return 0


def cmd_not_same(library: Library, args: argparse.Namespace) -> int:
    _people(library).reject_proposal(args.person_a, args.person_b)
    print(f"person {args.person_a} and person {args.person_b} are different people")
    return 0


def cmd_ignore(library: Library, args: argparse.Namespace) -> int:
    _people(library).set_ignored(args.faces, args.ignored)
    verb = "ignored" if args.ignored else "shown again"
    print(f"{len(set(args.faces))} face(s) {verb}")
    return 0


def cmd_unknown(library: Library, args: argparse.Namespace) -> int:
    if args.limit is not None and args.limit < 0:
        raise LibraryError("--limit must be 0 or more")
    faces = _people(library).unknown_faces(args.low_quality, args.limit)
    return _listing(
        args, "faces", faces,
        lambda f: {"face_id": f.id, "photo": display_path(f.photo_path), "box": list(f.box),
                   "quality": round(f.quality, 4), "source": f.source},
        "no unknown faces",
        lambda f: f"face {f.id:<7} {f.quality:5.2f}  {display_path(f.photo_path)}")


def cmd_undo(library: Library, args: argparse.Namespace) -> int:
    done = _people(library).undo()
    print(f"undid: {shown(done)}" if done else "nothing to undo")
    return 0


def cmd_redo(library: Library, args: argparse.Namespace) -> int:
    done = _people(library).redo()
    print(f"redid: {shown(done)}" if done else "nothing to redo")
    return 0
