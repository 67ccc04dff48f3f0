"""What went wrong reaches the user: a failing read is said on the status bar (never an empty
list that looks like "nothing to show"), and the GUI tells a change made elsewhere from a
failure by the exception's type."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import sqlite3  # noqa: E402

from app_fixtures import (  # noqa: E402,F401
    album_folder,
    album_template,
    dialogs,
    no_dangling_pools,
    open_window,
    photo_folder,
    scanned_library,
    scanned_template,
    unsure_library,
    unsure_template,
)
from facefolio.library import Library, LibraryError  # noqa: E402
from facefolio.library.people import people_cache, suggest
from facefolio.library.people.people import People  # noqa: E402

WAIT = 30000
BROKEN = "database disk image is malformed"


def _broken(*_args, **_kwargs):
    raise LibraryError(BROKEN)


def test_review_says_why_it_cannot_list_suggestions(qtbot, open_window, unsure_library,
                                                    monkeypatch):
    window = open_window(unsure_library)
    page = window.review
    qtbot.waitUntil(lambda: len(page.questions) == 3, timeout=WAIT)
    loads = page.loads
    # The queue's suggestions come from what the library keeps per person (people_cache).
    monkeypatch.setattr(people_cache, "all_suggestions", _broken)
    page.reload()
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() == BROKEN, timeout=WAIT)
    # The queue the user had stays; it is not replaced by an answer without suggestions.
    assert page.loads == loads and len(page.questions) == 3


def test_this_is_says_why_instead_of_an_unranked_list(qtbot, open_window, scanned_library,
                                                      monkeypatch, dialogs):
    window = open_window(scanned_library)
    with Library(scanned_library) as lib:
        face = lib.faces()[0].id
    monkeypatch.setattr(suggest, "rank_people", _broken)
    window.actions.assign([face])
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() == BROKEN, timeout=WAIT)
    assert dialogs.seen == []  # no picker that pretends nobody looks like the face


def test_undo_tells_a_change_made_elsewhere_from_a_failure(qtbot, open_window,
                                                           scanned_library, monkeypatch):
    window = open_window(scanned_library)
    session = window.session
    session._watch_timer.stop()  # the labels must stay as they are: stale on purpose
    with Library(scanned_library) as lib:
        first, second = [p.id for p in lib.people()][:2]
    session.people_write(lambda p: p.name(first, "Anna"))
    qtbot.waitUntil(lambda: "Anna" in window.undo_action.text(), timeout=WAIT)
    with Library(scanned_library) as lib:  # the command line names someone meanwhile
        People(lib).name(second, "Bert")
    session.undo()
    message = window.statusBar().currentMessage
    qtbot.waitUntil(lambda: "another window or the command line" in message(), timeout=WAIT)
    assert message().startswith("Nothing undone:") and "Bert" in message()
    with Library(scanned_library) as lib:
        assert lib.person(first).name == "Anna"  # nothing was undone

    def locked(self, expect=None):
        raise sqlite3.OperationalError("database is locked")
    monkeypatch.setattr(People, "undo", locked)
    qtbot.waitUntil(lambda: "Bert" in window.undo_action.text(), timeout=WAIT)
    session.undo()
    qtbot.waitUntil(lambda: message() == "Undo failed: database is locked", timeout=WAIT)


def test_a_read_that_fails_reaches_its_caller_as_the_exception(qtbot, open_window,
                                                               scanned_library):
    window = open_window(scanned_library)
    seen: list[Exception] = []
    window.session.read(lambda library: library.person(10 ** 9), lambda _v: None,
                        seen.append)
    qtbot.waitUntil(lambda: bool(seen), timeout=WAIT)
    from facefolio.library import NotFoundError
    assert isinstance(seen[0], NotFoundError)
    # Without a handler of its own, the first line goes to the status bar.
    window.session.read(lambda library: library.person(10 ** 9), lambda _v: None)
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() ==
                    f"no person with id {10 ** 9}", timeout=WAIT)
