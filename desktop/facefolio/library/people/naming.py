"""Naming a face of an unnamed group names the group (issue 21): "This is Anna" on one of
its seven faces offers "Name all 7 faces of this group Anna" first, "Only this face" beside
it. Each way is one of People's logged operations (name, merge, create, move), so one undo
takes it back. Called through `People.group_of` / `People.name_faces`.
"""
from __future__ import annotations

from ..storage.errors import LibraryError


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
