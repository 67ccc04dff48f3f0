"""Naming a face of an unnamed group names the group (issue 21): "This is Anna" on one of
its seven faces offers "Name all 7 faces of this group Anna" first, "Only this face" beside
it. Each way is one of People's logged operations (name, merge, create, move), so one undo
takes it back. Called through `People.group_of` / `People.name_faces`.
"""
from __future__ import annotations

from ..storage import store
from ..storage.errors import LibraryError
from ..storage.records import AssignedBy
from ..storage.text import check_name


class GroupNaming:
    """The naming of groups, as `People` does it (people.py: `class People`)."""

    def group_of(self, face_ids: list[int]) -> tuple[int, int] | None:
        """(person id, face count) of the unnamed group every one of these faces is in, when it
        holds more faces than these: naming them should offer to name the whole group."""
        face_ids = self._faces(face_ids)
        owners = {r[0] for r in self._rows("SELECT person_id FROM faces WHERE id IN ({})",
                                           face_ids)}
        if len(owners) != 1 or None in owners:
            return None
        person = self._person(owners.pop())
        if person.name is not None or person.face_count <= len(face_ids):
            return None
        return person.id, person.face_count

    def _name_faces(self, face_ids: list[int], name: str | None,
                    person_id: int | None, whole_group: bool) -> int:
        """"These faces are NAME" (a new person) or "are PERSON". With `whole_group`, when they
        are faces of an unnamed group, the group goes with them: it is named, or merged into the
        person; else only these faces move. Returns the person the faces are now in (the
        caller holds the write lock: People.name_faces is atomic)."""
        if (name is None) == (person_id is None):
            raise LibraryError("name the faces with either a new name or a person")
        group = self.group_of(face_ids) if whole_group else None
        if group is not None:
            gid = group[0]
            if person_id is None:
                self.name(gid, name)
                return gid
            if int(person_id) != gid:
                self.merge(int(person_id), [gid])
            return int(person_id)
        if person_id is None:
            return self.create_person(face_ids, name=name)
        self.move_faces(face_ids, int(person_id))
        return int(person_id)

    def import_names(self, photo_id: int, names: dict[int, str]) -> int:
        """Names read from a photo's XMP regions, {face id: name}; returns faces named.

        In one transaction each face is checked again as it is now: a face the user placed
        (assigned_by 'user' or 'suggestion'), ignored, already so named, or that the user said
        is not a person of that name is left alone. The others go to the oldest person of that
        name, or a new one. Logged as one undoable operation.
        """
        wanted = {int(f): clean_name(n) for f, n in names.items() if n and n.strip()}
        if not wanted:
            return 0
        face_ids = self._faces(wanted)
        existing = [r[0] for r in store.in_chunks(
            self.con, "SELECT id FROM people WHERE name IN ({})", sorted(set(wanted.values())))]
        named: list[int] = []

        def change() -> list[int]:
            created: list[int] = []
            for fid, name in wanted.items():
                if self._takes_name(fid, photo_id, name):
                    target = self.con.execute("SELECT id FROM people WHERE name = ? ORDER BY "
                                              "id LIMIT 1", (name,)).fetchone()
                    if target is None:
                        pid = self.con.execute("INSERT INTO people(name, hidden, created_at) "
                                               "VALUES (?, 0, ?)", (name, store.now())).lastrowid
                        created.append(pid)
                    else:
                        pid = target[0]
                    if self.con.execute("SELECT 1 FROM faces WHERE photo_id = ? AND "
                                        "person_id = ?", (photo_id, pid)).fetchone():
                        continue  # two regions of one name: one face per person and photo
                    self._assign([fid], pid, AssignedBy.USER)
                    named.append(fid)
            if not named:
                raise NothingToDo
            return created

        try:
            self._logged("import", f"Names from XMP for {counted(face_ids, 'face')}",
                         [*self._owners(face_ids), *existing], face_ids, change)
        except NothingToDo:
            return 0
        return len(named)

    def _takes_name(self, face_id: int, photo_id: int, name: str) -> bool:
        """May a name from a file be given to this face, as the face is now?"""
        row = self.con.execute("""
            SELECT f.photo_id, f.person_id, f.assigned_by, f.ignored, pe.name
            FROM faces f LEFT JOIN people pe ON pe.id = f.person_id WHERE f.id = ?""",
                               (face_id,)).fetchone()
        if row["photo_id"] != photo_id:
            raise LibraryError(f"face {face_id} is not in photo {photo_id}")
        if row["ignored"] or row["name"] == name:
            return False
        if row["person_id"] is not None and row["assigned_by"] and \
                AssignedBy(row["assigned_by"]).by_user:
            return False  # a user decision outranks a file
        rejected = self.con.execute(
            "SELECT 1 FROM rejections r JOIN people pe ON pe.id = r.person_id "
            "WHERE r.face_id = ? AND pe.name = ?", (face_id, name)).fetchone()
        return rejected is None


class NothingToDo(Exception):
    """Raised inside a logged change that found nothing to do: roll back, log nothing."""


def person_label(person) -> str:
    """A person in words: the name, or what the user sees of an unnamed one."""
    if person.name:
        return person.name
    return f"an unnamed person ({counted(range(person.face_count), 'face')})"


def clean_name(name: str | None) -> str:
    return check_name(name)  # no control or bidi characters, at most NAME_MAX: text.py


def counted(items: list, noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"
