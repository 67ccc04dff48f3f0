"""Naming and merging as a user does it: the "This is…" picker (ranked, with faces and unnamed
groups), the merge dialog (who, and which name stays), F2, Delete, covers, assigning from
search results, and undo that says what it undoes."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


from app_fixtures import (  # noqa: E402,F401
    album_folder,
    album_library,
    album_template,
    click_tile,
    dialogs,
    no_dangling_pools,
    open_window,
    unsure_library,
    unsure_template,
)
from facefolio.app.person_picker import PickedPerson  # noqa: E402
from facefolio.app.roles import FaceIdRole  # noqa: E402
from facefolio.library import Library  # noqa: E402
from facefolio.library.people.people import People  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QLabel  # noqa: E402

WAIT = 30000



def row_of(window, name: str) -> int:
    return next(i for i in range(window.people.proxy.rowCount())
                if window.people.proxy.index(i, 0).data() == name)


def test_this_is_lists_the_likeliest_first_with_faces_and_unnamed_groups(
        qtbot, open_window, unsure_library, dialogs):
    with Library(unsure_library) as lib:
        jen = next(p.id for p in lib.people() if p.name == "Jennifer Aniston")
        two = [f.id for f in lib.faces(person_id=jen) if "Aniston" in f.photo_path][:2]
        unnamed = People(lib).create_person(two)  # an unnamed group of two
        obama_face = max(lib.faces(unassigned=True), key=lambda f: "Obama_1." in f.photo_path)
    seen = {}

    def look_then_pick(dialog) -> None:
        qtbot.waitUntil(lambda: not dialog.list.item(0).icon().isNull(), timeout=WAIT)
        seen["labels"] = [dialog.list.item(i).text() for i in range(dialog.list.count())]
        seen["ids"] = [c.person_id for c in dialog.choices]
        dialog.list.setCurrentRow(seen["ids"].index(unnamed))
    dialogs.pick = look_then_pick
    window = open_window(unsure_library)
    window.sidebar.setCurrentRow(2)
    unknown = window.unknown
    qtbot.waitUntil(lambda: unknown.model.rowCount() == 3, timeout=WAIT)
    row = next(i for i, f in enumerate(unknown.model.rows) if f.face_id == obama_face.id)
    click_tile(qtbot, unknown.view, row)
    qtbot.mouseClick(unknown.assign_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "labels" in seen, timeout=WAIT)
    labels = seen["labels"]
    assert labels[0].startswith("Barack Obama  ·  6 photos  ·  ") and "% alike" in labels[0]
    assert "Unnamed (2 photos)" in " ".join(labels)
    alike = [int(t.rsplit("·", 1)[1].split("%")[0]) for t in labels]
    assert alike == sorted(alike, reverse=True)
    # Picking the unnamed group puts the face in it.
    qtbot.waitUntil(lambda: unknown.model.rowCount() == 2, timeout=WAIT)
    with Library(unsure_library) as lib:
        assert lib.face(obama_face.id).person_id == unnamed


def test_merge_asks_naming_both_and_which_name_stays(qtbot, open_window, album_library,
                                                     dialogs):
    with Library(album_library) as lib:
        people = People(lib)
        by_name = {p.name: p for p in lib.people()}
        people.name(by_name["Hugh Laurie"].id, "Sundar Pichai")
        people.name(by_name["Jennifer Aniston"].id, "Sundar")
    window = open_window(album_library)
    qtbot.waitUntil(lambda: len(window.people.model.rows) == 3, timeout=WAIT)
    view = window.people.view
    click_tile(qtbot, view, row_of(window, "Sundar Pichai"))
    click_tile(qtbot, view, row_of(window, "Sundar"), Qt.KeyboardModifier.ControlModifier)
    dialogs.merge = False  # cancel: nothing changes
    qtbot.mouseClick(window.people.merge_button, Qt.MouseButton.LeftButton)
    asked = dialogs.seen[-1]
    texts = [w.text() for w in asked.findChildren(QLabel)]
    assert any("Merge Sundar and Sundar Pichai into one person (13 photos)?" in t or
               "Merge Sundar Pichai and Sundar into one person (13 photos)?" in t
               for t in texts), texts
    assert [b.text() for b, _p in asked.buttons] in (["Sundar Pichai", "Sundar"],
                                                    ["Sundar", "Sundar Pichai"])
    # The default keeps the bigger person's name (Sundar Pichai: 7 photos against 6).
    assert next(b for b, _p in asked.buttons if b.isChecked()).text() == "Sundar Pichai"
    qtbot.wait(200)
    assert len(window.people.model.rows) == 3
    dialogs.merge = "Sundar"
    qtbot.mouseClick(window.people.merge_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(window.people.model.rows) == 2, timeout=WAIT)
    merged = next(p for p in window.people.model.rows if p.face_count == 13)
    assert merged.name == "Sundar"
    assert window.statusBar().currentMessage().startswith("Merged 2 people into Sundar")
    # Undo says what it undoes, in the menu and when done.
    qtbot.waitUntil(lambda: window.undo_action.text().startswith("&Undo merge"), timeout=WAIT)
    assert "Sundar" in window.undo_action.text()
    window.undo_action.trigger()
    qtbot.waitUntil(lambda: len(window.people.model.rows) == 3, timeout=WAIT)
    assert window.statusBar().currentMessage().startswith("Undone: Merge")
    assert {p.name for p in window.people.model.rows} == {"Barack Obama", "Sundar",
                                                          "Sundar Pichai"}
    qtbot.waitUntil(lambda: window.redo_action.text().startswith("&Redo merge"), timeout=WAIT)


def test_dragging_a_person_onto_another_asks_first(qtbot, open_window, album_library, dialogs):
    window = open_window(album_library)
    qtbot.waitUntil(lambda: len(window.people.model.rows) == 3, timeout=WAIT)
    model = window.people.model
    rows = [p.name for p in model.rows]
    source, target = rows.index("Hugh Laurie"), rows.index("Barack Obama")
    dialogs.merge = True
    model.dropMimeData(model.mimeData([model.index(source)]), Qt.DropAction.CopyAction, -1, -1,
                       model.index(target))
    assert len(dialogs.seen) == 1
    assert [b.text() for b, _p in dialogs.seen[0].buttons] == ["Barack Obama", "Hugh Laurie"]
    qtbot.waitUntil(lambda: len(window.people.model.rows) == 2, timeout=WAIT)


def test_f2_names_and_delete_takes_a_face_out(qtbot, open_window, album_library, monkeypatch):
    from PySide6.QtWidgets import QInputDialog
    monkeypatch.setattr(QInputDialog, "getText",
                        staticmethod(lambda *a, **k: ("Barry", True)))
    window = open_window(album_library)
    qtbot.waitUntil(lambda: len(window.people.model.rows) == 3, timeout=WAIT)
    view = window.people.view
    click_tile(qtbot, view, row_of(window, "Barack Obama"))
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_F2)
    qtbot.waitUntil(lambda: any(p.name == "Barry" for p in window.people.model.rows),
                    timeout=WAIT)
    barry = next(p for p in window.people.model.rows if p.name == "Barry")
    window.show_person(barry.id)
    page = window.person
    qtbot.waitUntil(lambda: page.faces.rowCount() == 8, timeout=WAIT)
    face = page.faces.rows[3].face_id
    click_tile(qtbot, page.view, 3)
    page.view.setFocus()
    qtbot.keyClick(page.view, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: page.faces.rowCount() == 7, timeout=WAIT)
    with Library(album_library) as lib:
        assert lib.face(face).person_id is None
        assert [r[0] for r in lib.con.execute(
            "SELECT person_id FROM rejections WHERE face_id = ?", (face,))] == [barry.id]
    assert window.statusBar().currentMessage().startswith("The face is not Barry")


def test_set_as_cover_from_the_persons_page(qtbot, open_window, album_library):
    window = open_window(album_library)
    qtbot.waitUntil(lambda: len(window.people.model.rows) == 3, timeout=WAIT)
    hugh = next(p for p in window.people.model.rows if p.name == "Hugh Laurie")
    window.show_person(hugh.id)
    page = window.person
    qtbot.waitUntil(lambda: page.faces.rowCount() == 7, timeout=WAIT)
    row = next(i for i, f in enumerate(page.faces.rows) if f.face_id != hugh.cover_face_id)
    chosen = page.faces.rows[row].face_id
    assert not page.cover_button.isEnabled()
    click_tile(qtbot, page.view, row)
    qtbot.mouseClick(page.cover_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: any(p.id == hugh.id and p.cover_face_id == chosen
                                for p in window.people.model.rows), timeout=WAIT)
    with Library(album_library) as lib:
        assert lib.person(hugh.id).cover_face_id == chosen


def test_assign_search_results_to_a_new_person(qtbot, open_window, album_library, dialogs):
    window = open_window(album_library)
    qtbot.waitUntil(lambda: len(window.people.model.rows) == 3, timeout=WAIT)
    obama = next(p for p in window.people.model.rows if p.name == "Barack Obama")
    window.show_face_search(obama.cover_face_id)
    search = window.search
    qtbot.waitUntil(lambda: search.model.rowCount() >= 8, timeout=WAIT)
    assert search.slider.value() == 40  # every search starts from the default
    click_tile(qtbot, search.view, 1)
    click_tile(qtbot, search.view, 2, Qt.KeyboardModifier.ControlModifier)
    picked = [search.proxy.index(r, 0).data(FaceIdRole) for r in (1, 2)]
    assert search.assign_button.isEnabled()
    dialogs.pick = PickedPerson(None, "Young Barack")
    qtbot.mouseClick(search.assign_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: any(p.name == "Young Barack" for p in window.people.model.rows),
                    timeout=WAIT)
    with Library(album_library) as lib:
        young = next(p.id for p in lib.people() if p.name == "Young Barack")
        assert sorted(f.id for f in lib.faces(person_id=young)) == sorted(picked)
    # The results follow: the two faces now say who they are.
    qtbot.waitUntil(lambda: sum(f.person_name == "Young Barack" for f in search.model.rows)
                    == 2, timeout=WAIT)
    search.slider.setValue(90)
    window.show_face_search(obama.cover_face_id)
    assert search.slider.value() == 40


def test_changes_from_another_process_show_up(qtbot, open_window, album_library):
    import subprocess
    import sys
    window = open_window(album_library)
    window.session.watch(200)
    qtbot.waitUntil(lambda: len(window.people.model.rows) == 3, timeout=WAIT)
    hugh = next(p for p in window.people.model.rows if p.name == "Hugh Laurie")
    run = subprocess.run([sys.executable, "-m", "facefolio.cli", "--library",
                          str(album_library), "name", str(hugh.id), "Dr House"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    qtbot.waitUntil(lambda: any(p.name == "Dr House" for p in window.people.model.rows),
                    timeout=WAIT)
    # And the undo menu knows about it (the change is in the shared log).
    qtbot.waitUntil(lambda: "Dr House" in window.undo_action.text(), timeout=WAIT)


def test_undo_never_undoes_a_change_it_did_not_name(qtbot, open_window, album_library):
    """Another process logs an operation after the menu said "Undo rename …" and before the
    app looked again: Ctrl+Z then undoes nothing, says why, and the next Ctrl+Z (now named
    after the other change) undoes that one."""
    window = open_window(album_library)
    window.session._watch_timer.stop()  # the gap between two looks, made as long as we need
    qtbot.waitUntil(lambda: len(window.people.model.rows) == 3, timeout=WAIT)
    hugh = next(p for p in window.people.model.rows if p.name == "Hugh Laurie")
    obama = next(p for p in window.people.model.rows if p.name == "Barack Obama")
    window.actions.name_person(hugh.id, "Dr House")
    qtbot.waitUntil(lambda: "Dr House" in window.undo_action.text(), timeout=WAIT)
    with Library(album_library) as lib:  # the CLI or a second window, unseen so far
        People(lib).name(obama.id, "President")
    window.undo_action.trigger()
    qtbot.waitUntil(lambda: "another window or the command line" in
                    window.statusBar().currentMessage(), timeout=WAIT)
    assert "President" in window.statusBar().currentMessage()
    with Library(album_library) as lib:
        assert (lib.person(hugh.id).name, lib.person(obama.id).name) == ("Dr House",
                                                                         "President")
    qtbot.waitUntil(lambda: "President" in window.undo_action.text(), timeout=WAIT)
    window.undo_action.trigger()
    qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith("Undone"),
                    timeout=WAIT)
    with Library(album_library) as lib:
        assert (lib.person(hugh.id).name, lib.person(obama.id).name) == ("Dr House",
                                                                         "Barack Obama")


def test_undo_right_after_a_change_undoes_that_change(qtbot, open_window, album_library):
    """Ctrl+Z pressed before the writer has answered (the labels not caught up yet) means the
    change just made, not a refusal."""
    window = open_window(album_library)
    qtbot.waitUntil(lambda: len(window.people.model.rows) == 3, timeout=WAIT)
    hugh = next(p for p in window.people.model.rows if p.name == "Hugh Laurie")
    window.actions.name_person(hugh.id, "Hugh")  # an earlier change, shown in the menu
    qtbot.waitUntil(lambda: "Hugh" in window.undo_action.text(), timeout=WAIT)
    window.actions.name_person(hugh.id, "Dr House")
    window.session.undo()  # at once: the rename is still on its way to the writer
    qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith("Undone"),
                    timeout=WAIT)
    with Library(album_library) as lib:
        assert lib.person(hugh.id).name == "Hugh"


def test_an_idle_window_sees_no_change_from_outside(qtbot, open_window, album_library):
    """The watcher's own look (a read that opens and closes the database) is not taken for
    another process's change: an idle window does not reload everything every look."""
    window = open_window(album_library)
    qtbot.waitUntil(lambda: len(window.people.model.rows) == 3, timeout=WAIT)
    seen = []
    window.session.externalChange.connect(lambda: seen.append(1))
    window.session.watch(100)
    qtbot.wait(2000)
    assert seen == []


def test_this_is_leaves_no_dialog_behind(qtbot, open_window, album_library, dialogs):
    """Each "This is…" dialog is freed once the next one opens: old ones would stay
    parented to the window, listening to every batch of thumbnails."""
    from facefolio.app.person_picker import PersonPickerDialog
    from PySide6.QtCore import QCoreApplication, QEvent
    dialogs.pick = None  # cancel each time
    window = open_window(album_library)
    qtbot.waitUntil(lambda: len(window.people.model.rows) == 3, timeout=WAIT)
    with Library(album_library) as lib:
        face = lib.faces()[0].id
    for n in range(1, 4):
        window.actions.assign([face])
        qtbot.waitUntil(lambda n=n: len(dialogs.seen) == n, timeout=WAIT)
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert len(window.findChildren(PersonPickerDialog)) == 1


def test_naming_a_face_of_an_unnamed_group_names_the_group(qtbot, open_window, album_library,
                                                           dialogs):
    """Issue 21, point 3: "This is…" on one face of an unnamed group offers to name the whole
    group (the default) or only that face, instead of splitting the group."""
    with Library(album_library) as lib:
        jen = next(p.id for p in lib.people() if p.name == "Jennifer Aniston")
        three = [f.id for f in lib.faces(person_id=jen)][:3]
        group = People(lib).create_person(three)  # an unnamed group of three
        count = len(lib.people())
    seen = {}

    def type_a_name(name: str, only: bool = False):
        def answer(dialog) -> None:
            dialog.edit.setText(name)
            seen["all"] = dialog.all_faces.text()
            seen["shown"] = not dialog.all_faces.isHidden()
            if only:
                dialog.only_these.setChecked(True)
        return answer
    window = open_window(album_library)
    dialogs.pick = type_a_name("Anna")
    window.actions.assign(three[:1])

    def people_now():
        with Library(album_library) as lib:
            return {p.id: (p.name, p.face_count) for p in lib.people()}
    qtbot.waitUntil(lambda: people_now().get(group) == ("Anna", 3), timeout=WAIT)
    assert seen == {"all": "Name all 3 faces of this group Anna", "shown": True}
    assert len(people_now()) == count  # no one-face person beside the group

    # "Only this face": a person of its own, the rest of the group stays together.
    with Library(album_library) as lib:
        People(lib).name(group, "Anna")  # already; now make a fresh unnamed group
        group2 = People(lib).create_person(three[1:])
    dialogs.pick = type_a_name("Kate", only=True)
    window.actions.assign(three[1:2])
    qtbot.waitUntil(lambda: ("Kate", 1) in people_now().values(), timeout=WAIT)
    assert people_now()[group2] == (None, 1)


def test_selection_buttons_follow_the_selection_across_reloads(qtbot, open_window,
                                                               album_library):
    """Issue 21, point 6: after a refresh (a change from the CLI) *Merge selected* and
    *Photos together* act on what is selected, and are off when nothing is."""
    from facefolio.app.roles import RecordRole
    window = open_window(album_library)
    page = window.people
    qtbot.waitUntil(lambda: len(page.model.rows) == 3, timeout=WAIT)
    click_tile(qtbot, page.view, 0)
    click_tile(qtbot, page.view, 1, Qt.KeyboardModifier.ControlModifier)
    chosen = [page.proxy.index(i, 0).data(RecordRole).id for i in (0, 1)]
    assert page.merge_button.isEnabled() and {p.id for p in page.selected_people()} == \
        set(chosen)
    with Library(album_library) as lib:
        People(lib).name(chosen[0], "Zz Top")  # from outside: the rows are loaded again
        People(lib).create_person([lib.faces(person_id=chosen[1])[0].id])
    page.reload()
    qtbot.waitUntil(lambda: len(page.model.rows) == 4, timeout=WAIT)
    assert {p.id for p in page.selected_people()} == set(chosen)
    assert page.merge_button.isEnabled() and page.together_button.isEnabled()
    with Library(album_library) as lib:
        People(lib).delete_person(chosen[1])
    page.reload()
    qtbot.waitUntil(lambda: len(page.model.rows) == 3, timeout=WAIT)
    assert [p.id for p in page.selected_people()] == [chosen[0]]
    assert not page.merge_button.isEnabled()
    assert page.together_button.text() == "Their photos"
    with Library(album_library) as lib:
        People(lib).delete_person(chosen[0])
    page.reload()
    qtbot.waitUntil(lambda: len(page.model.rows) == 2, timeout=WAIT)
    assert page.selected_people() == []
    assert not page.merge_button.isEnabled() and not page.together_button.isEnabled()


def test_a_person_card_menu_has_person_actions_only(qtbot, open_window, album_library):
    """Issue 21, point 4: no "Not this person" on a card (it took the cover face away)."""
    window = open_window(album_library)
    page = window.people
    qtbot.waitUntil(lambda: len(page.model.rows) == 3, timeout=WAIT)
    index = page.view.model().index(0, 0)
    page._context(index, page.view.visualRect(index).center())
    texts = [a.text() for a in window.actions.last_menu.actions() if a.text()]
    window.actions.last_menu.close()
    assert texts[0] == "Open" and "Export photos…" in texts
    assert not [t for t in texts if t.startswith("Not ") or t in ("This is…", "Set as cover")]
