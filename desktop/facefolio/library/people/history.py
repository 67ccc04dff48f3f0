"""Every user edit of people is one logged operation: `_logged` runs the change in one
transaction between two snapshots of what it may touch (undo.py), so `undo` and `redo` restore
exactly what the user saw. A mixin of `People` (people.py), which calls `_logged` from each edit.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from ..storage.store import Transaction
from . import undo as oplog


class History:
    """The log of `People`'s edits: undo, redo, the list, and the covers the user chose."""

    # -- undo --------------------------------------------------------------------------------
    def undo(self, expect: int | None = None) -> str | None:
        """Undo the newest operation (its description), None when there is none. With
        `expect`, only if the newest is still that operation (else ChangedElsewhereError)."""
        with Transaction(self.con):
            return oplog.undo(self.con, expect)

    def redo(self, expect: int | None = None) -> str | None:
        with Transaction(self.con):
            return oplog.redo(self.con, expect)

    def can_undo(self) -> bool:
        return oplog.can_undo(self.con)

    def can_redo(self) -> bool:
        return oplog.can_redo(self.con)

    def history(self, limit: int = 50) -> list[oplog.Operation]:
        return oplog.history(self.con, limit)

    def _chosen_covers(self) -> set[int]:
        """Faces the user made a cover with *Set as cover* (logged, not undone)."""
        out: set[int] = set()
        for (after,) in self.con.execute("SELECT redo_data FROM operations WHERE kind = "
                                         "'cover' AND undone = 0"):
            for row in (json.loads(after or "{}").get("people") or {}).values():
                if row and row.get("cover_face_id") is not None:
                    out.add(int(row["cover_face_id"]))
        return out

    def _logged(self, kind: str, description: str, person_ids: Iterable[int],
                face_ids: list[int], change: Callable[[], object]) -> None:
        """Run one user change in one transaction, with before/after snapshots for undo."""
        scope = {int(p) for p in person_ids if p is not None}
        with Transaction(self.con):
            before = oplog.snapshot(self.con, scope, face_ids)
            created = change()
            if isinstance(created, list):  # people that did not exist before
                for pid in created:
                    before["people"][str(pid)] = None
                    before["scope_people"].append(pid)
                scope.update(created)
            # An unnamed person left with no face is no one: it goes (undo brings it back).
            for pid in scope:
                self.con.execute("DELETE FROM people WHERE id = ? AND name IS NULL AND NOT "
                                 "EXISTS (SELECT 1 FROM faces WHERE person_id = ?)", (pid, pid))
            oplog.fix_covers(self.con, scope)
            after = oplog.snapshot(self.con, scope, face_ids)
            oplog.record(self.con, kind, description, before, after)
