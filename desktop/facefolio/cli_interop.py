"""Interop sub-commands of `facefolio`: xmp write / xmp read, forget, export-person, CSV.

`cli.py` calls `register(sub, common)`. Handlers take (library, args) and return the exit code;
failures raise LibraryError, which cli.py prints as one line (exit 1). Like a scan, `xmp`
commands succeed when they ran to the end: files they could not handle are listed on stderr.
"""
from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from .library import LibraryError
from .library.storage.store import display_path
from .library.storage.text import shown

if TYPE_CHECKING:  # the library loads when a command opens one, not on import
    from .library import Library


def register(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("xmp", parents=[common], help="face names in XMP sidecars (digiKam, Lightroom, ...)")
    xmp = p.add_subparsers(title="xmp commands", metavar="COMMAND", required=True)
    w = xmp.add_parser("write", parents=[common],
                       help="write named faces as MWG regions to photo.jpg.xmp sidecars")
    w.add_argument("--embed", action="store_true",
                   help="also write them into the photos themselves (JPEG; rewrites files)")
    w.set_defaults(func=cmd_xmp_write)
    r = xmp.add_parser("read", parents=[common],
                       help="name detected faces from the regions in sidecars and photos")
    r.set_defaults(func=cmd_xmp_read)

    p = sub.add_parser("forget", parents=[common],
                       help="delete all face data (faces, people, index, thumbnails)")
    p.add_argument("--yes", action="store_true", help="really delete it (required)")
    p.set_defaults(func=cmd_forget)

    p = sub.add_parser("export-person", parents=[common],
                       help="copy (or link) a person's photos into a folder")
    p.add_argument("person", metavar="PERSON", help="person id, or a name only one person has")
    p.add_argument("dest", metavar="DEST")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--link", dest="mode", action="store_const", const="link",
                     help="hard links instead of copies (same drive only)")
    how.add_argument("--symlink", dest="mode", action="store_const", const="symlink",
                     help="symbolic links instead of copies")
    p.set_defaults(func=cmd_export_person, mode="copy")


def cmd_xmp_write(library: Library, args: argparse.Namespace) -> int:
    from .library.interop.xmp_library import export_library_xmp  # noqa: PLC0415 - loads exiv2

    if args.embed:
        written, embedded, errors = export_library_xmp(library, embed=True)
        _report_errors(errors)
        print(f"wrote face names to {written} sidecars and into {embedded} photos, "
              f"{len(errors)} failed")
    else:
        written, errors = export_library_xmp(library)
        _report_errors(errors)
        print(f"wrote face names to {written} sidecars, {len(errors)} failed")
    return 0


def cmd_xmp_read(library: Library, args: argparse.Namespace) -> int:
    from .library.interop.xmp_library import import_library_xmp  # noqa: PLC0415

    named, errors = import_library_xmp(library)
    _report_errors(errors)
    print(f"named {named} faces from XMP regions, {len(errors)} files unreadable")
    return 0


def cmd_forget(library: Library, args: argparse.Namespace) -> int:
    if not args.yes:
        raise LibraryError(f"this deletes every face, person and name in {library.path} "
                           "(photos are not touched); run 'facefolio forget --yes' to do it")
    from .library.upkeep.forget import forget_all  # noqa: PLC0415

    report = forget_all(library)
    print(f"deleted {report['faces']} faces, {report['people']} people and the scan records "
          f"of {report['photos']} photos from {display_path(library.path)}; folders are "
          "still remembered "
          "(run 'facefolio rescan' to find faces again). Your photos were not touched.")
    return 0


def cmd_export_person(library: Library, args: argparse.Namespace) -> int:
    from .library.photos.export import export_person_photos, person_photos  # noqa: PLC0415

    person_id = resolve_person(library, args.person)
    added = export_person_photos(library, person_id, args.dest, args.mode)
    total = len(person_photos(library, person_id))
    verb = {"copy": "copied", "link": "linked", "symlink": "symlinked"}[args.mode]
    print(f"{verb} {added} photos to {display_path(args.dest)} ({total - added} already there "
          "or missing)")
    return 0


def cmd_export_csv(library: Library, args: argparse.Namespace) -> int:
    """`export --csv`: every face, the columns of `export --json` (box as x, y, w, h)."""
    from .library.photos.export import export_faces_csv  # noqa: PLC0415

    export_faces_csv(library, sys.stdout)
    return 0


def resolve_person(library: Library, text: str) -> int:
    """A person id, or the id of the one person with this name."""
    if text.strip().isdigit():
        return library.person(int(text)).id
    matches = [p.id for p in library.people() if p.name and p.name.casefold() ==
               " ".join(text.split()).casefold()]
    if not matches:
        raise LibraryError(f"no person named '{shown(text)}': see 'facefolio people'")
    if len(matches) > 1:
        raise LibraryError(f"{len(matches)} people are named '{shown(text)}' "
                           f"(ids {', '.join(map(str, matches))}): give the id")
    return matches[0]


def _report_errors(errors: list[tuple[str, str]]) -> None:
    for path, reason in errors:
        print(f"facefolio: {display_path(path)}: {shown(reason)}", file=sys.stderr)
