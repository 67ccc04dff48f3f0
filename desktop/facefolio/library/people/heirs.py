"""What a regrouping hands down from the groups it replaces: an unnamed group's id goes to the new
group that holds most of its faces (so an unchanged group keeps its place on screen), and the
user's "not the same person" answers go to the groups its faces went to."""
from __future__ import annotations

import numpy as np

from ..storage import store


def hand_down_not_same(con, gone: list[int], old_person: dict[int, int | None],
                        new_person: dict[int, int]) -> None:
    """A group clustering folds away takes the user's "not the same person" answers with
    its row (ON DELETE CASCADE): hand them to the groups its faces went to. The side tags
    kept those faces from the other person's, so the answer holds for their new groups."""
    for pid in gone:
        others = [b if a == pid else a for a, b in con.execute(
            "SELECT person_a, person_b FROM not_same WHERE ? IN (person_a, person_b)", (pid,))]
        heirs = {new_person[f] for f, was in old_person.items()
                 if was == pid and f in new_person} - {pid}
        con.executemany(
            "INSERT OR IGNORE INTO not_same(person_a, person_b, at) VALUES (?, ?, ?)",
            [(min(h, o), max(h, o), store.now()) for h in heirs for o in others if h != o])


def inherit_ids(groups: list[np.ndarray], old_person: dict[int, int | None], valid: set[int],
           fluid: set[int]) -> dict[int, int]:
    """Keep the ids of unnamed people: each new group inherits the old person it overlaps
    most, largest overlaps first, so an unchanged group keeps its id and place on screen.
    Only a person still fluid can be inherited: one the user named or touched is theirs."""
    pairs = []
    for gi, group in enumerate(groups):
        counts: dict[int, int] = {}
        for fid in group.tolist():
            pid = old_person[fid]
            if pid is not None and pid in fluid and fid in valid:
                counts[pid] = counts.get(pid, 0) + 1
        pairs += [(n, gi, pid) for pid, n in counts.items()]
    pairs.sort(key=lambda t: (-t[0], t[1], t[2]))
    heir: dict[int, int] = {}
    taken: set[int] = set()
    for _, gi, pid in pairs:
        if gi not in heir and pid not in taken:
            heir[gi] = pid
            taken.add(pid)
    return heir
