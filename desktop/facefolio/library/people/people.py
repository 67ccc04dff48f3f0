"""`People`: what the user does to people, and what happens to new faces by itself.

Automatic steps (after a scan) only touch faces nobody decided about: new faces go to a named
person they clearly match (assign.py), the rest are clustered (regroup.py, clustering.py,
attach.py); both write only what still holds when they commit, so a user edit made meanwhile
wins. User operations (name, merge, move, remove, hide, cover, delete, accept / reject a
suggestion, "not the same person", ignore, a drawn face, names from XMP) each run in one
transaction and are logged in `operations` for undo (see undo.py). Faces a user placed carry
assigned_by 'user' or 'suggestion' and are never moved by anything automatic; a removed face
leaves a rejection, so it is never suggested, auto-assigned or clustered back to that person;
an ignored face stays in the library (a rescan does not bring it back) but is shown nowhere.
Questions for the user: suggestions and rank_people (suggest.py), merge proposals
(proposals.py).

Like `Library`, a People object belongs to the thread that opened the library.
"""
from __future__ import annotations

import functools
import os
from collections.abc import Iterable

from ..library import Library
from ..storage import store
from ..storage.errors import LibraryError, NotFoundError
from ..storage.records import AssignedBy, FaceRecord
from ..storage.store import Transaction
from . import assign, birthdays, people_cache, suggest
from . import undo as oplog
from .history import History
from .nearby import group_new_faces
from .naming import GroupNaming, clean_name, counted, person_label
from .proposals import Proposal
from .regroup import QUALITY_FLOOR, ClusterReport, cluster_library
from .suggest import Suggestion

__all__ = ["People", "Proposal", "Suggestion"]


def _atomic(method):
    """The whole operation under one write lock: what it reads to decide (the faces of the
    people merged, who owns the faces removed) cannot change before it writes, even from
    another process sharing the library (its own transaction is then a savepoint)."""
    @functools.wraps(method)
    def run(self, *args, **kwargs):
        with Transaction(self.con):
            return method(self, *args, **kwargs)
    return run


class People(GroupNaming, History):
    def __init__(self, library: Library) -> None:
        self.library = library
        self.con = library.con

    # -- automatic ---------------------------------------------------------------------------
    def after_scan(self, new_face_ids: list[int]) -> ClusterReport:
        """New faces to named people they clearly match, then grouped with the unknown faces
        and unnamed groups around them (nearby.py): the cost follows the new faces, not the
        library. A full regroup runs only when asked (`cluster`)."""
        if not new_face_ids:
            return ClusterReport()
        face_ids = [int(f) for f in new_face_ids]
        self.auto_assign(face_ids)
        return group_new_faces(self.library, face_ids)

    def cluster(self) -> ClusterReport:
        """Regroup unknown faces; user edits made meanwhile win (see regroup.py)."""
        return cluster_library(self.library)

    def auto_assign(self, face_ids: list[int]) -> int:
        """Faces to the named person they clearly match (see assign.py); how many moved."""
        return assign.auto_assign(self.library, face_ids)

    # -- suggestions -------------------------------------------------------------------------
    def suggestions(self, person_id: int, limit: int = 50) -> list[Suggestion]:
        """Faces nobody confirmed that may be this person, most likely first (suggest.py)."""
        return people_cache.person_suggestions(self.library, int(person_id), limit)

    def all_suggestions(self, limit: int = 100) -> list[Suggestion]:
        """The best suggestion per face over every visible named person."""
        return suggest.all_suggestions(self.library, limit)

    def proposals(self, limit: int = 50) -> list[Proposal]:
        """"These may be the same person": pairs of people, best first (proposals.py)."""
        return people_cache.merge_proposals(self.library, limit)

    def rank_people(self, face_ids: list[int]) -> list[tuple[int, float]]:
        """Every visible person, most like these faces first, for the "This is..." picker."""
        self._faces(face_ids)
        return suggest.rank_people(self.library, face_ids)

    # -- user operations (logged, undoable) -------------------------------------------------
    @_atomic
    def name(self, person_id: int, name: str) -> None:
        """Name or rename. Two people may share a name (two Annas exist); merge if one."""
        clean = clean_name(name)
        old = self._person(person_id).name
        what = f"Rename {old} to {clean}" if old else \
            f"Give {person_label(self._person(person_id))} the name {clean}"
        self._logged("name", what, [person_id], [], lambda: self.con.execute(
            "UPDATE people SET name = ? WHERE id = ?", (clean, person_id)))

    @_atomic
    def create_person(self, face_ids: list[int], name: str | None = None) -> int:
        face_ids = self._faces(face_ids)
        clean = clean_name(name) if name is not None else None
        created: list[int] = []

        def change() -> list[int]:
            pid = self.con.execute("INSERT INTO people(name, hidden, created_at) VALUES "
                                   "(?, 0, ?)", (clean, store.now())).lastrowid
            created.append(pid)
            self._assign(face_ids, pid, AssignedBy.USER)
            return [pid]

        label = repr(clean) if clean else "a new person"
        self._logged("create", f"Create {label} from {counted(face_ids, 'face')}",
                     self._owners(face_ids), face_ids, change)
        return created[0]

    @_atomic
    def name_faces(self, face_ids: list[int], *, name: str | None = None,
                   person_id: int | None = None, whole_group: bool = True) -> int:
        """These faces are NAME or PERSON, with their unnamed group (naming.py)."""
        return self._name_faces(face_ids, name, person_id, whole_group)

    @_atomic
    def merge(self, target_id: int, source_ids: list[int]) -> None:
        """Fold the sources into the target; the target's name wins, else a source's."""
        target = self._person(target_id)
        sources = [s for s in dict.fromkeys(int(s) for s in source_ids) if s != target_id]
        if not sources:
            raise LibraryError("merge needs at least one other person than the target")
        records = [self._person(s) for s in sources]
        face_ids = [r[0] for r in self._rows(
            "SELECT id FROM faces WHERE person_id IN ({})", sources)]

        def change() -> None:
            if target.name is None:
                named = next((r.name for r in records if r.name), None)
                self.con.execute("UPDATE people SET name = ? WHERE id = ?", (named, target_id))
            # "Not X" for any merged person now means "not the target"; so does "X and Y
            # are different people".
            for s in sources:
                self.con.execute("INSERT OR IGNORE INTO rejections(face_id, person_id) "
                                 "SELECT face_id, ? FROM rejections WHERE person_id = ?",
                                 (target_id, s))
                for (other,) in self.con.execute(
                        "SELECT person_b FROM not_same WHERE person_a = ? UNION "
                        "SELECT person_a FROM not_same WHERE person_b = ?", (s, s)).fetchall():
                    if other != target_id and other not in sources:
                        self.con.execute("INSERT OR IGNORE INTO not_same(person_a, person_b, "
                                         "at) VALUES (?, ?, ?)", (*sorted((target_id, other)),
                                                                  store.now()))
            # The user vouched for the merged faces: clustering must not split them again.
            self._assign(face_ids, target_id, AssignedBy.USER)
            # The cover: one the user chose for either side, else the best face of all.
            chosen = self._chosen_covers()
            covers = [target.cover_face_id, *(r.cover_face_id for r in records)]
            cover = next((c for c in covers if c is not None and c in chosen), None)
            if cover is None:
                row = self.con.execute("SELECT id FROM faces WHERE person_id = ? AND "
                                       "ignored = 0 ORDER BY quality DESC, id LIMIT 1",
                                       (target_id,)).fetchone()
                cover = row[0] if row else None
            self.con.execute("UPDATE people SET cover_face_id = ? WHERE id = ?",
                             (cover, target_id))
            self.con.executemany("DELETE FROM people WHERE id = ?", [(s,) for s in sources])

        names = ", ".join(person_label(r) for r in records)
        self._logged("merge", f"Merge {names} into {person_label(target)}",
                     [target_id, *sources], face_ids, change)

    @_atomic
    def move_faces(self, face_ids: list[int], person_id: int) -> None:
        face_ids = self._faces(face_ids)
        person = self._person(person_id)
        self._logged("move", f"Move {counted(face_ids, 'face')} to {person_label(person)}",
                     [person_id, *self._owners(face_ids)], face_ids,
                     lambda: self._assign(face_ids, person_id, AssignedBy.USER))

    @_atomic
    def remove_faces(self, face_ids: list[int]) -> None:
        """The faces leave their person and are remembered as "not this person"."""
        face_ids = self._faces(face_ids)
        owned = [(r[0], r[1]) for r in self._rows(
            "SELECT id, person_id FROM faces WHERE person_id IS NOT NULL AND id IN ({})",
            face_ids)]

        def change() -> None:
            self.con.executemany("INSERT OR IGNORE INTO rejections(face_id, person_id) "
                                 "VALUES (?, ?)", owned)
            self.con.executemany("UPDATE faces SET person_id = NULL, assigned_by = NULL "
                                 "WHERE id = ?", [(f,) for f, _ in owned])

        self._logged("remove", f"Remove {counted(face_ids, 'face')} from their person",
                     self._owners(face_ids), face_ids, change)

    @_atomic
    def set_hidden(self, person_id: int, hidden: bool) -> None:
        person = self._person(person_id)
        self._logged("hide", f"{'Hide' if hidden else 'Show'} {person_label(person)}",
                     [person_id], [], lambda: self.con.execute(
                         "UPDATE people SET hidden = ? WHERE id = ?", (int(hidden), person_id)))

    @_atomic
    def set_cover(self, person_id: int, face_id: int) -> None:
        person = self._person(person_id)
        self._faces([face_id])
        if self.library.face(face_id).person_id != person_id:
            raise LibraryError(f"face {face_id} does not belong to person {person_id}")
        self._logged("cover", f"Set the cover of {person_label(person)}", [person_id], [],
                     lambda: self.con.execute("UPDATE people SET cover_face_id = ? WHERE id = ?",
                                              (face_id, person_id)))

    @_atomic
    def set_birth_date(self, person_id: int, birth_date: str | None) -> None:
        """A date of birth ('YYYY-MM-DD', checked: birthdays.parse_birth_date), or None to
        remove it; logged and undoable like every person edit."""
        person = self._person(person_id)
        day = None if birth_date is None else birthdays.parse_birth_date(birth_date)
        what = (f"Set the date of birth of {person_label(person)} to {day}" if day
                else f"Remove the date of birth of {person_label(person)}")
        self._logged("birthday", what, [person_id], [], lambda: self.con.execute(
            "UPDATE people SET birth_date = ? WHERE id = ?", (day, person_id)))

    @_atomic
    def delete_person(self, person_id: int) -> None:
        """The person goes; their faces become unknown and their rejections vanish."""
        person = self._person(person_id)
        face_ids = [r[0] for r in self.con.execute(
            "SELECT id FROM faces WHERE person_id = ?", (person_id,))]

        def change() -> None:
            self.con.execute("UPDATE faces SET person_id = NULL, assigned_by = NULL "
                             "WHERE person_id = ?", (person_id,))
            self.con.execute("DELETE FROM people WHERE id = ?", (person_id,))

        self._logged("delete", f"Delete {person_label(person)}", [person_id], face_ids, change)

    @_atomic
    def accept_suggestion(self, face_id: int, person_id: int) -> None:
        self._faces([face_id])
        person = self._person(person_id)
        self._logged("accept",
                     f"{self._face_label(face_id).capitalize()} is {person_label(person)}",
                     [person_id, *self._owners([face_id])], [face_id],
                     lambda: self._assign([face_id], person_id, AssignedBy.SUGGESTION))

    @_atomic
    def reject_suggestion(self, face_id: int, person_id: int) -> None:
        """"Not this person": remembered; if the face was theirs, it leaves them."""
        self._faces([face_id])
        person = self._person(person_id)

        def change() -> None:
            self.con.execute("INSERT OR IGNORE INTO rejections(face_id, person_id) "
                             "VALUES (?, ?)", (face_id, person_id))
            self.con.execute("UPDATE faces SET person_id = NULL, assigned_by = NULL "
                             "WHERE id = ? AND person_id = ?", (face_id, person_id))

        self._logged("reject", f"{self._face_label(face_id).capitalize()} is not "
                     f"{person_label(person)}",
                     [person_id], [face_id], change)

    @_atomic
    def reject_proposal(self, person_a: int, person_b: int) -> None:
        """"These are different people": remembered (never proposed again, never merged by
        clustering), logged and undoable."""
        a, b = sorted((int(person_a), int(person_b)))
        if a == b:
            raise LibraryError(f"person {a} cannot be a different person from themselves")
        first, second = self._person(a), self._person(b)
        self._logged("not_same",
                     f"{person_label(first)} and {person_label(second)} are different people",
                     [a, b], [], lambda: self.con.execute(
                         "INSERT OR IGNORE INTO not_same(person_a, person_b, at) "
                         "VALUES (?, ?, ?)", (a, b, store.now())))

    @_atomic
    def set_ignored(self, face_ids: list[int], ignored: bool) -> None:
        """"Not a face" / "Ignore" (or take it back): the face stays in the library, so a
        rescan does not bring it back, but leaves its person and is shown nowhere."""
        face_ids = self._faces(face_ids)

        def change() -> None:
            if ignored:
                self.con.executemany("UPDATE faces SET ignored = 1, person_id = NULL, "
                                     "assigned_by = NULL WHERE id = ?", [(f,) for f in face_ids])
            else:
                self.con.executemany("UPDATE faces SET ignored = 0 WHERE id = ?",
                                     [(f,) for f in face_ids])

        what = f"Ignore {counted(face_ids, 'face')}" if ignored else \
            f"Show {counted(face_ids, 'face')} again"
        self._logged("ignore", what, self._owners(face_ids), face_ids, change)

    def record_new_face(self, face_id: int) -> None:
        """Log a face the user drew (the app inserted its row, source 'user'): undo hides it
        (ignored), redo shows it again, with the person it was given."""
        [fid] = self._faces([face_id])
        row = self.con.execute("SELECT person_id, source FROM faces WHERE id = ?",
                               (fid,)).fetchone()
        if row["source"] != "user":
            raise LibraryError(f"face {fid} was found by the detector, not drawn by the user")
        scope = [row["person_id"]] if row["person_id"] is not None else []
        with Transaction(self.con):
            after = oplog.snapshot(self.con, scope, [fid])
            before = oplog.snapshot(self.con, scope, [fid])
            before["faces"][str(fid)] = [None, None, 1]
            who = f" as {person_label(self._person(scope[0]))}" if scope else ""
            where = self._face_label(fid).replace("the face in", "a face in", 1)
            oplog.record(self.con, "draw", f"Add {where}{who}", before, after)

    # -- the faces a user sees -----------------------------------------------------------
    def unknown_faces(self, include_low_quality: bool = False, limit: int | None = None
                      ) -> list[FaceRecord]:
        """Faces in no person and not ignored, oldest first. Faces below the quality floor
        (regroup.QUALITY_FLOOR: tiny, blurred) only when asked; drawn ones always."""
        sql, params = self._unknown_where(include_low_quality)
        sql = "SELECT id FROM faces WHERE " + sql + " ORDER BY id"
        if limit is not None:
            sql += f" LIMIT {max(0, int(limit))}"
        ids = [r[0] for r in self.con.execute(sql, params)]
        records = self.library.faces_by_ids(ids)
        return [records[f] for f in ids if f in records]

    def count_unknown(self, include_low_quality: bool = False) -> int:
        """How many faces `unknown_faces` would list, without loading them."""
        sql, params = self._unknown_where(include_low_quality)
        return self.con.execute("SELECT COUNT(*) FROM faces WHERE " + sql, params).fetchone()[0]

    @staticmethod
    def _unknown_where(include_low_quality: bool) -> tuple[str, list]:
        if include_low_quality:
            return "person_id IS NULL AND ignored = 0", []
        return ("person_id IS NULL AND ignored = 0 AND (quality >= ? OR source = 'user')",
                [QUALITY_FLOOR])

    # -- helpers -----------------------------------------------------------------------------
    def _assign(self, face_ids: list[int], person_id: int, how: AssignedBy) -> None:
        self.con.executemany("UPDATE faces SET person_id = ?, assigned_by = ? WHERE id = ?",
                             [(person_id, how, f) for f in face_ids])
        self.con.executemany("DELETE FROM rejections WHERE face_id = ? AND person_id = ?",
                             [(f, person_id) for f in face_ids])

    def _face_label(self, face_id: int) -> str:
        """'the face in img1.jpg' (which photo, not an id the user never sees)."""
        row = self.con.execute("SELECT p.path FROM faces f JOIN photos p ON p.id = f.photo_id "
                               "WHERE f.id = ?", (face_id,)).fetchone()
        if row is None:
            return "a face"
        return f"the face in {store.display_path(os.path.basename(store.fs_path(row[0])))}"

    def _person(self, person_id: int):
        return self.library.person(int(person_id))  # NotFoundError names the id

    def _faces(self, face_ids: Iterable[int]) -> list[int]:
        ids = list(dict.fromkeys(int(f) for f in face_ids))
        if not ids:
            raise LibraryError("no faces given")
        found = {r[0] for r in self._rows("SELECT id FROM faces WHERE id IN ({})", ids)}
        missing = [f for f in ids if f not in found]
        if missing:
            raise NotFoundError(f"no face with id {', '.join(map(str, missing))}")
        return ids

    def _owners(self, face_ids: list[int]) -> list[int]:
        return [r[0] for r in self._rows("SELECT DISTINCT person_id FROM faces WHERE "
                                         "person_id IS NOT NULL AND id IN ({})", face_ids)]

    def _rows(self, sql: str, ids: list[int]) -> list:
        return store.in_chunks(self.con, sql, ids)
