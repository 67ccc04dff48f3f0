"""The review queue: every open question in one list, answered with the keyboard."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

from app_fixtures import (  # noqa: E402,F401
    album_folder,
    album_template,
    dialogs,
    no_dangling_pools,
    open_window,
    unsure_library,
    unsure_template,
)
from facefolio.library import Library  # noqa: E402
from facefolio.library.people.questions import QuestionKind  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402

WAIT = 30000


def person_of(library_path: Path, face_id: int) -> str | None:
    with Library(library_path) as lib:
        return lib.face(face_id).person_name


def rejected(library_path: Path, face_id: int) -> list[int]:
    with Library(library_path) as lib:
        return [r[0] for r in lib.con.execute(
            "SELECT person_id FROM rejections WHERE face_id = ?", (face_id,))]


def test_review_queue_is_answered_with_y_n_s_and_arrows(qtbot, open_window, unsure_library):
    window = open_window(unsure_library)
    page = window.review
    qtbot.waitUntil(lambda: window.sidebar.item(4).text() == "Review  (3)", timeout=WAIT)
    window.sidebar.setFocus()  # the user clicks "Review" in the sidebar
    window.sidebar.setCurrentRow(4)
    assert window.current_page() is page
    qtbot.waitUntil(lambda: len(page.questions) == 3, timeout=WAIT)
    # The keys answer at once, without a click into the page first.
    assert window.focusWidget() is page.list
    sims = [q.similarity for q in page.questions]
    assert sims == sorted(sims, reverse=True)  # best evidence first
    kinds = [(q.kind, q.person.name) for q in page.questions]
    assert kinds.count((QuestionKind.SUGGESTION, "Barack Obama")) == 2
    assert (QuestionKind.SUGGESTION, "Hugh Laurie") in kinds
    first = page.questions[0]
    assert page.heading.text() == f"Is this {first.person.name}?"
    # Beside the face: the person's face most like it, and the photo it is from.
    assert page.captions[1].text().split("\n") == [
        first.person.name, f"in {Path(first.match_photo).name}"]
    assert page.summary.text() == "3 questions left"
    qtbot.keyClick(page.list, Qt.Key.Key_Y)
    assert len(page.questions) == 2  # off the list at once
    qtbot.waitUntil(lambda: person_of(unsure_library, first.face.face_id) ==
                    first.person.name, timeout=WAIT)
    # S skips to the next question; Left comes back; N says "not them" (remembered).
    skipped = page.current()
    qtbot.keyClick(page.list, Qt.Key.Key_S)
    assert page.current() is not skipped and page.current() is not None
    qtbot.keyClick(page.list, Qt.Key.Key_Left)
    assert page.current() is skipped
    qtbot.keyClick(page.list, Qt.Key.Key_Right)
    second = page.current()
    qtbot.keyClick(page.list, Qt.Key.Key_N)
    qtbot.waitUntil(lambda: rejected(unsure_library, second.face.face_id) ==
                    [second.person.id], timeout=WAIT)
    assert person_of(unsure_library, second.face.face_id) is None
    qtbot.waitUntil(lambda: window.sidebar.item(4).text() == "Review  (1)", timeout=WAIT)
    assert page.current().key == skipped.key
    # The answers updated people live: the People page counts the new face.
    qtbot.waitUntil(lambda: any(p.name == first.person.name and p.face_count ==
                                first.person.face_count + 1
                                for p in window.people.model.rows), timeout=WAIT)
    qtbot.keyClick(page.list, Qt.Key.Key_Y)
    qtbot.waitUntil(lambda: person_of(unsure_library, skipped.face.face_id) ==
                    skipped.person.name, timeout=WAIT)
    qtbot.waitUntil(lambda: window.sidebar.item(4).text() == "Review", timeout=WAIT)
    assert page.heading.text() == "Nothing to review"
    # Only the heading and why: no empty picture frames, buttons or list.
    assert not any(w.isVisible() for w in (*page.pictures, page.yes_button, page.list))
    # Ctrl+Z takes the last answer back, and the question returns.
    qtbot.waitUntil(window.undo_action.isEnabled, timeout=WAIT)
    window.undo_action.trigger()
    qtbot.waitUntil(lambda: len(page.questions) == 1, timeout=WAIT)
    assert person_of(unsure_library, skipped.face.face_id) is None
    assert page.yes_button.isVisible() and page.list.isVisible()
    # The keys still answer (issue 21, point 12): the list was hidden and came back.
    qtbot.waitUntil(lambda: window.focusWidget() is page.list, timeout=WAIT)


def test_review_buttons_and_open_photo(qtbot, open_window, unsure_library):
    window = open_window(unsure_library)
    window.sidebar.setCurrentRow(4)
    page = window.review
    qtbot.waitUntil(lambda: len(page.questions) == 3, timeout=WAIT)
    q = page.current()
    qtbot.waitUntil(lambda: page.pictures[0].pixmap() is not None and
                    not page.pictures[0].pixmap().isNull(), timeout=WAIT)
    qtbot.mouseClick(page.open_button, Qt.MouseButton.LeftButton)
    assert window.current_page() is window.viewer
    assert window.viewer.path == q.face.photo_path and window.viewer.focus_face == \
        q.face.face_id
    window.go_back()
    assert window.current_page() is page
    qtbot.mouseClick(page.no_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: rejected(unsure_library, q.face.face_id) == [q.person.id],
                    timeout=WAIT)


def test_a_suggestion_shows_the_persons_face_most_like_it(unsure_library):
    """The card compares the face with the person's most alike face, not with the cover."""
    import numpy as np
    from facefolio.app.review import load_questions
    from facefolio.app.review_page import picture_keys
    with Library(unsure_library) as lib:
        asked = [q for q in load_questions(lib) if q.kind is QuestionKind.SUGGESTION]
        assert asked
        for q in asked:
            mine = [f.id for f in lib.faces(person_id=q.person.id) if not f.ignored]
            ids, matrix = lib.embeddings(mine)
            best = int(ids[int(np.argmax(matrix @ lib.embedding(q.face.face_id)[1]))])
            assert q.match == best
            assert picture_keys(q) == [("face", q.face.face_id), ("face", best)]
            assert q.match_photo == lib.face(best).photo_path
        # Not simply the cover: at least one question shows another face than it.
        assert any(q.match != q.person.cover_face_id for q in asked)


def test_the_sidebar_count_comes_right_while_the_review_page_is_hidden(
        qtbot, open_window, unsure_library, monkeypatch):
    """Each ask brings one named person's suggestions up to date (a budget of 0 s, as on a
    busy machine): the count beside "Review" still reaches every question, with the page
    never on screen."""
    from facefolio.library.people import questions
    monkeypatch.setattr(questions, "REVIEW_BUDGET_S", 0.0)
    window = open_window(unsure_library)
    assert window.current_page() is not window.review
    with Library(unsure_library) as lib:
        named = sum(1 for p in lib.people() if p.name)
    assert named > 1  # else one ask completes the queue and this proves nothing
    qtbot.waitUntil(lambda: window.sidebar.item(4).text() == "Review  (3)", timeout=WAIT)
    assert not window.review.isVisible()
    assert window.review.loads >= 2
