"""People sub-commands of `facefolio`: cluster, people, name, merge, move, ... undo, redo.

`cli.py` calls `register(sub, common)`. Each handler takes (library, args) and returns the exit
code; failures raise LibraryError, which cli.py prints as one line (exit 1). Data goes to
stdout, as JSON with --json.
"""
from __future__ import annotations

import argparse
import json

from .library import Library


def _people(library: Library):
    # Imported on use: clustering loads scikit-learn (~1 s), which --help need not wait for.
    from .library.people import People  # noqa: PLC0415
    return People(library)


def register(sub, common: argparse.ArgumentParser) -> None:
    def add(name: str, help_text: str, func, *, json_flag: bool = False):
        p = sub.add_parser(name, parents=[common], help=help_text)
        if json_flag:
            p.add_argument("--json", action="store_true", help="print JSON")
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
    p = add("move", "move faces to a person (your decision: clustering keeps it)", cmd_move)
    p.add_argument("faces", type=int, nargs="+", metavar="FACE")
    p.add_argument("--to", type=int, required=True, metavar="PERSON", dest="person")
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
    for name, func in (("accept", cmd_accept), ("reject", cmd_reject)):
        p = add(name, f"{name} a suggestion: FACE is (not) PERSON", func)
        p.add_argument("face", type=int, metavar="FACE")
        p.add_argument("person", type=int, metavar="PERSON")
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
        print(f"{p.id:>7}  {p.face_count:>6}  {p.name or '(unnamed)'}{hidden}")
    return 0


def cmd_name(library: Library, args: argparse.Namespace) -> int:
    _people(library).name(args.person, args.name)
    person = library.person(args.person)
    print(f"person {person.id} is now {person.name!r}")
    twins = [p.id for p in library.people() if p.name == person.name and p.id != person.id]
    if twins:
        # Allowed (two people can share a name), but usually the user wants a merge.
        print(f"note: person {', '.join(map(str, twins))} has the same name; "
              f"'facefolio merge {person.id} {twins[0]}' if they are the same person")
    return 0


def cmd_merge(library: Library, args: argparse.Namespace) -> int:
    _people(library).merge(args.target, args.sources)
    person = library.person(args.target)
    print(f"merged into person {person.id} ({person.name or 'unnamed'}): "
          f"{person.face_count} faces")
    return 0


def cmd_move(library: Library, args: argparse.Namespace) -> int:
    _people(library).move_faces(args.faces, args.person)
    print(f"moved {len(args.faces)} face(s) to person {args.person}")
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


def cmd_suggest(library: Library, args: argparse.Namespace) -> int:
    suggestions = _people(library).suggestions(args.person, args.limit)
    if args.json:
        print(json.dumps({"suggestions": [s.to_json() for s in suggestions]}))
        return 0
    if not suggestions:
        print("no suggestions")
    faces = library.faces_by_ids([s.face_id for s in suggestions])
    for s in suggestions:
        face = faces.get(s.face_id)
        print(f"{s.similarity:6.3f}  face {s.face_id:<7} {face.photo_path if face else ''}")
    return 0


def cmd_accept(library: Library, args: argparse.Namespace) -> int:
    _people(library).accept_suggestion(args.face, args.person)
    print(f"face {args.face} is person {args.person}")
    return 0


def cmd_reject(library: Library, args: argparse.Namespace) -> int:
    _people(library).reject_suggestion(args.face, args.person)
    print(f"face {args.face} is not person {args.person}")
    return 0


def cmd_undo(library: Library, args: argparse.Namespace) -> int:
    done = _people(library).undo()
    print(f"undid: {done}" if done else "nothing to undo")
    return 0


def cmd_redo(library: Library, args: argparse.Namespace) -> int:
    done = _people(library).redo()
    print(f"redid: {done}" if done else "nothing to redo")
    return 0
