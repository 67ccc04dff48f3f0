"""The `facefolio` command: no sub-command opens the window; sub-commands work headless.

Results go to stdout, progress to stderr. Exit 0 when a command did its job (a scan that
finished is a success even if some files failed: `status` lists them); 1 with a one-line
reason when it could not; 2 for a usage error (argparse's own convention).
"""
from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .cli_status import cmd_status
from .library.scan.progress import CancelToken, Phase, ScanProgress
from .library.storage.errors import LibraryError
from .library.storage.failures import describe
from .library.storage.settings import default_library_dir
from .library.storage.store import display_path
from .library.storage.text import shown

if TYPE_CHECKING:  # the library (SQLite, hnswlib, numpy) loads in main(), not on import
    from .library import Library


def main(argv: list[str] | None = None) -> int:
    # File names are bytes: one that is not UTF-8 must never crash an output line. Text output
    # shows such names with U+FFFD (display_path); CSV passes the bytes through unchanged.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="surrogateescape")
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        return _open_app(args)
    library_dir = Path(args.library).expanduser().absolute() if args.library else \
        default_library_dir()
    if args.func is cmd_search and args.image is not None:
        args.head_start = _SearchHeadStart(library_dir)
        args.head_start.imported.wait()
    try:
        return _run(library_dir, args)
    finally:
        if getattr(args, "head_start", None) is not None:
            args.head_start.join()


def _run(library_dir: Path, args: argparse.Namespace) -> int:
    from .library import Library  # noqa: PLC0415 - after the head start (_SearchHeadStart)
    try:
        if getattr(args, "raw_folder", False):  # `check`: works on a library it may refuse
            return args.func(library_dir, args)
        with Library(args.library, create=getattr(args, "creates", False)) as library:
            try:
                return args.func(library, args)
            except (OSError, sqlite3.Error) as exc:
                # One line, never a traceback: disk full, read-only, permissions, I/O, damage.
                raise LibraryError(describe(
                    exc, library.path, partial=getattr(args, "partial", False),
                    readonly_reason=library.readonly_reason)) from exc
    except LibraryError as exc:
        print(f"facefolio: {shown(exc)}", file=sys.stderr)
        return 1
    except (OSError, sqlite3.Error) as exc:  # opening or closing the library
        print(f"facefolio: {shown(describe(exc, library_dir))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("facefolio: interrupted", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--library", metavar="DIR", default=argparse.SUPPRESS,
                        help="library folder (default: $FACEFOLIO_LIBRARY or the user data dir)")
    parser = argparse.ArgumentParser(
        prog="facefolio",
        description="A private face organizer for your photo library. Nothing leaves "
                    "this machine. With no command, opens the desktop app.")
    # Not through `parents`: argparse shares action objects with parents, and a default set
    # here would then override a --library given before the sub-command.
    parser.add_argument("--library", metavar="DIR", default=None,
                        help="library folder (default: $FACEFOLIO_LIBRARY or the user data dir)")
    parser.set_defaults(func=None)
    parser.add_argument("--version", action="version", version=f"facefolio {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    prune = argparse.ArgumentParser(add_help=False)
    prune.add_argument("--prune", action="store_true",
                       help="afterwards remove photos whose files are gone (their faces and "
                            "the names on them go too; offline folders are never touched)")
    p = sub.add_parser("scan", parents=[common, prune], help="remember folders and scan them")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.set_defaults(func=cmd_scan, creates=True, partial=True)

    p = sub.add_parser("rescan", parents=[common, prune],
                       help="rescan every remembered folder")
    p.add_argument("--retry-failed", action="store_true",
                   help="also try again the files that crashed the image decoder twice")
    p.set_defaults(func=cmd_rescan, creates=True, partial=True)

    p = sub.add_parser("search", parents=[common], help="find faces like a face or a photo",
                       epilog=_JSON_NOTE)
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("image", nargs="?", metavar="IMAGE")
    target.add_argument("--face", type=int, metavar="ID")
    p.add_argument("--top", type=_positive_int, default=20, metavar="K")
    p.add_argument("--min-similarity", type=float, default=None, metavar="S")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("export", parents=[common], help="every face in the library",
                       epilog=_JSON_NOTE)
    fmt = p.add_mutually_exclusive_group(required=True)
    fmt.add_argument("--json", action="store_true")
    fmt.add_argument("--csv", action="store_true")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("status", parents=[common], help="counts, scan state, failed files",
                       epilog=_JSON_NOTE)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser(
        "check", parents=[common], help="verify every file of the library (and repair it)",
        description="Checks the database (SQLite quick_check, foreign keys), each index "
                    "against the database, thumbnails against the faces, links, permissions "
                    "and temp files left by saves that were cut short. Exit 0 when all is "
                    "well, 1 when something is wrong.")
    p.add_argument("--repair", action="store_true",
                   help="rebuild what is derived (index, thumbnails), delete leftovers, "
                        "tighten permissions, salvage a damaged database into a new one "
                        "(the old file is kept beside it)")
    p.set_defaults(func=cmd_check, raw_folder=True)

    # Sub-commands kept in their own modules, each with register(sub, common).
    from . import cli_ages, cli_browse, cli_faces, cli_interop, cli_people  # noqa: PLC0415
    for module in (cli_people, cli_faces, cli_ages, cli_interop, cli_browse):
        module.register(sub, common)
    return parser


# Said in --help: text output is for people (one line per result, odd characters escaped).
_JSON_NOTE = ("Text output shows one result per line, with control and text-direction "
              "characters in names and paths escaped (\\x1b, \\u202e); for scripts use --json, "
              "which gives every name and path exactly. CSV cells that a spreadsheet would "
              "run as a formula (= + - @) start with a ' (OWASP).")


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive whole number")
    return value


def _open_app(args: argparse.Namespace) -> int:
    try:
        from .app.main import run  # noqa: PLC0415 - Qt is only loaded for the window
    except ImportError as exc:
        print(f"facefolio: the desktop app cannot start: {exc}", file=sys.stderr)
        return 1
    return run(args.library)


# -- commands ------------------------------------------------------------------------------
def cmd_scan(library: Library, args: argparse.Namespace) -> int:
    folders = [library.add_folder(path) for path in args.paths]  # clear errors first
    if any(f.has_new_photos for f in folders):
        # Photos to analyse: the workers' fork server imports (numpy, OpenCV, ONNX Runtime)
        # while this process imports the scanner and lists the folders.
        from .library.scan.pool import start_server_soon  # noqa: PLC0415
        start_server_soon()
    return _run_scan(library, [f.id for f in folders], args.prune)


def cmd_rescan(library: Library, args: argparse.Namespace) -> int:
    if not library.folders():
        raise LibraryError("no folders to rescan: add one with 'facefolio scan PATH'")
    return _run_scan(library, None, args.prune, retry_failed=args.retry_failed)


def _run_scan(library: Library, folder_ids: list[int] | None, prune: bool = False, *,
              retry_failed: bool = False) -> int:
    token = CancelToken()
    reporter = _ProgressReporter()
    last: ScanProgress | None = None
    from .library import Scanner  # noqa: PLC0415 - its imports: only for a scan
    scan = Scanner(library).scan(folder_ids, token, retry_failed=retry_failed)
    try:
        for last in scan:
            reporter.show(last)
    except KeyboardInterrupt:
        # Finished photos are already committed; the next scan resumes from here.
        token.cancel()
        raise
    finally:
        scan.close()  # the worker processes end now, not when the generator is collected
    reporter.close()
    if last is not None:
        kept = "".join(f", {n} {what}" for n, what in (
            (last.missing, "missing (kept: 'facefolio rescan --prune' removes them)"),
            (last.offline, "offline (kept)")) if n)
        print(f"scanned {last.done} photos ({last.skipped} unchanged, {last.moved} moved"
              f"{kept}): {last.faces} faces found, {last.errors} failed"
              + (" - see 'facefolio status'" if last.errors or last.notes else ""))
    from .cli_ages import say_pending  # noqa: PLC0415
    say_pending(library)
    if prune:
        print(f"removed {library.prune_missing(folder_ids)} missing photos")
    for folder in library.folders():
        if folder.scan_error and (folder_ids is None or folder.id in folder_ids):
            print(f"facefolio: {display_path(folder.path)}: {shown(folder.scan_error)}",
                  file=sys.stderr)
    return 0


class _ProgressReporter:
    """One updating line on a terminal, a line every few seconds otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last = 0.0

    def show(self, p: ScanProgress) -> None:
        now = time.monotonic()
        if not self.tty and now - self.last < 5 and p.phase is Phase.SCANNING:
            return
        self.last = now
        if p.message:  # the one-time model preparation of a first run
            line = f"{p.phase}: {p.message}"
        else:
            eta = f", ETA {p.eta:.0f}s" if p.eta is not None and p.phase is Phase.SCANNING else ""
            line = (f"{p.phase}: {p.done}/{p.total} {p.files}, {p.faces} faces, "
                    f"{p.errors} errors, {p.rate:.1f} {p.rate_unit}{eta}")
        if self.tty:
            sys.stderr.write("\r\033[K" + line[:200])
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def close(self) -> None:
        if self.tty:
            sys.stderr.write("\n")


class _SearchHeadStart:
    """`search IMAGE`: the face models load on a thread while the main thread imports the
    library, opens it and decodes the image. ONNX Runtime builds its sessions without holding
    the interpreter lock, so the command waits for the longer of the two, not their sum. The
    thread's imports come first (`imported`): both sides' imports hold that lock, and the
    models are the longer way.

    Only a head start: its engine is used when the opened library's settings are the ones it
    read (the library may change them on open); anything that failed here is done again on
    the main thread, which says why in the usual words."""

    def __init__(self, library_dir: Path) -> None:
        self.key: str | None = None  # the analysis key of the settings it read
        self.engine = None
        self.imported = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(library_dir,),
                                        name="search-head-start", daemon=True)
        self._thread.start()

    def _run(self, library_dir: Path) -> None:
        try:
            from .engine import FaceEngine  # noqa: PLC0415
            from .library.storage.settings import Settings  # noqa: PLC0415
            self.imported.set()
            s = Settings.load(library_dir)
            self.key = s.analysis_key()
            self.engine = FaceEngine(s.pack, det_threshold=s.det_threshold, min_face=s.min_face)
        except Exception:  # noqa: BLE001 - done again, and reported, on the main thread
            pass
        finally:
            self.imported.set()

    def join(self) -> None:
        self._thread.join()

    def engine_for(self, library: Library):
        """The engine for this library's settings, or None: make one."""
        self.join()
        return self.engine if self.key == library.settings.analysis_key() else None


def cmd_search(library: Library, args: argparse.Namespace) -> int:
    from .library import search_image  # noqa: PLC0415
    if args.face is not None:
        results = library.search_face(args.face, top=args.top,
                                      min_similarity=args.min_similarity)
    else:
        image = Path(args.image)
        if not image.is_file():
            raise LibraryError(f"{image}: no such file")
        head = getattr(args, "head_start", None)
        try:
            engine = loaded = None
            if head is not None:
                from .engine import load_image  # noqa: PLC0415 - the head start imported it
                loaded = load_image(image)  # while the head start's models load
                engine = head.engine_for(library)
            results = search_image(library, image, top=args.top,
                                   min_similarity=args.min_similarity, engine=engine,
                                   loaded=loaded)
        except Exception as exc:
            from .engine import ImageError  # noqa: PLC0415
            if isinstance(exc, ImageError):
                raise LibraryError(f"{image}: {exc}") from exc
            raise
    if args.json:
        print(json.dumps({"results": [r.to_json() for r in results]}))
        return 0
    if not results:
        print("no similar faces found")
    offline = _offline_paths(library, [r.photo for r in results])
    for r in results:
        who = shown(r.person_name) if r.person_name else (
            f"person {r.person_id}" if r.person_id else "unknown")
        note = "  (offline)" if r.photo in offline else ""
        print(f"{r.similarity:6.3f}  face {r.face_id:<7} {who:<20} {display_path(r.photo)}{note}")
    return 0


def _offline_paths(library: Library, paths: list[str]) -> set[str]:
    """Those of these photos that cannot be read right now (offline drive) or are missing."""
    out = set()
    for path in set(paths):
        photo = library.photo_by_path(path)
        if photo is not None and (photo.offline or photo.missing):
            out.add(path)
    return out


def cmd_export(library: Library, args: argparse.Namespace) -> int:
    if args.csv:
        from .cli_interop import cmd_export_csv  # noqa: PLC0415
        return cmd_export_csv(library, args)
    json.dump({"faces": library.export_faces()}, sys.stdout)
    sys.stdout.write("\n")
    return 0






def cmd_check(library_dir: Path, args: argparse.Namespace) -> int:
    from .library.upkeep.check import check_library  # noqa: PLC0415

    report = check_library(library_dir, repair=args.repair)
    for line in report.repaired:
        print(f"repaired: {shown(line)}")
    for line in report.findings:
        print(f"problem: {shown(line)}")
    if report.ok:
        print(f"library {display_path(library_dir)}: all checks passed")
        return 0
    if not args.repair:
        print("run 'facefolio check --repair' to fix what can be fixed")
    return 1




if __name__ == "__main__":
    sys.exit(main())
