"""New faces after a scan are assigned and grouped against their neighbourhood (people/nearby.py):
the work follows the new faces, not the library, and the user's people stay as they were."""
from __future__ import annotations

import numpy as np
import pytest

from facefolio.library.people.people import People

from people_fixtures import identity, put, state, synthetic_library


def build(path, scale: int, seed: int = 11):
    """`scale` x (20 named people of 20 faces, 30 unnamed groups of 5, 600 faces of strangers
    seen once), then the new faces: 3 of named person 0, 4 of a new stranger, 1 of the first
    unnamed group. Returns (library, new face ids, named ids, first unnamed group id)."""
    rng = np.random.default_rng(seed)
    n_named, n_groups, n_single = 20 * scale, 30 * scale, 600 * scale
    centres = rng.standard_normal((n_named + n_groups + 1, 128))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    blocks = [identity(rng, c, 20, 0.85) for c in centres[:n_named]]
    blocks += [identity(rng, c, 5, 0.85) for c in centres[n_named:n_named + n_groups]]
    singles = rng.standard_normal((n_single, 128))
    blocks.append(singles / np.linalg.norm(singles, axis=1, keepdims=True))
    old = np.vstack(blocks)
    new = np.vstack([identity(rng, centres[0], 3, 0.85), identity(rng, centres[-1], 4, 0.85),
                     identity(rng, centres[n_named], 1, 0.85)])
    lib = synthetic_library(path, np.vstack([old, new]))
    named = [put(lib, range(i * 20 + 1, i * 20 + 21), name=f"Name {i}", how="user")
             for i in range(n_named)]
    first = n_named * 20
    groups = [put(lib, range(first + g * 5 + 1, first + g * 5 + 6)) for g in range(n_groups)]
    lib.con.commit()
    lib.index()  # built once, as the scan left it: not what after_scan costs
    return lib, list(range(len(old) + 1, len(old) + len(new) + 1)), named, groups[0]


def vm_steps(lib, work) -> int:
    """SQLite virtual-machine steps (in thousands) that `work` makes this connection run."""
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0
    lib.con.set_progress_handler(count, 1000)
    try:
        work()
    finally:
        lib.con.set_progress_handler(None, 0)
    return steps[0]


def test_after_scan_places_the_new_faces_and_keeps_the_users_people(tmp_path):
    lib, new, named, group = build(tmp_path / "lib", 1)
    before = {pid: [f.id for f in lib.faces(person_id=pid)] for pid in named}
    names = {p.id: p.name for p in lib.people()}
    People(lib).after_scan(new)
    person = {f: lib.face(f).person_id for f in new}
    assert {person[f] for f in new[:3]} == {named[0]}  # auto-assigned to its named person
    stranger = {person[f] for f in new[3:7]}
    assert len(stranger) == 1 and None not in stranger  # a new unnamed group of its own
    assert lib.person(stranger.pop()).name is None
    assert person[new[7]] == group  # joined the unnamed group it belongs to
    for pid in named:  # the user's people: the same faces plus what was assigned, same names
        now = [f.id for f in lib.faces(person_id=pid)]
        assert set(before[pid]) <= set(now)
    assert {p.id: p.name for p in lib.people() if p.id in names} == names
    lib.close()


def test_after_scan_work_does_not_grow_with_the_library(tmp_path):
    """Four times the library, the same new faces: the SQL work stays (a full regroup, as
    after_scan ran before, reads every unknown face and every unnamed group: four times)."""
    small, new_small, _, _ = build(tmp_path / "small", 1)
    big, new_big, _, _ = build(tmp_path / "big", 4)
    work_small = vm_steps(small, lambda: People(small).after_scan(new_small))
    work_big = vm_steps(big, lambda: People(big).after_scan(new_big))
    assert work_big < 1.5 * work_small + 50, (work_small, work_big)
    # And a scan that found nothing new does nothing at all.
    before = state(big)
    assert vm_steps(big, lambda: People(big).after_scan([])) == 0
    assert state(big) == before
    small.close()
    big.close()


@pytest.mark.parametrize("edit", ["name", "hide", "user_move"])
def test_the_users_edit_to_a_neighbouring_group_survives(tmp_path, edit):
    """A group near the new faces that the user named, hid or touched is theirs: the local
    pass never regroups it (only an unnamed, untouched group is re-read)."""
    lib, new, named, group = build(tmp_path / "lib", 1)
    people = People(lib)
    faces = [f.id for f in lib.faces(person_id=group)]
    if edit == "name":
        people.name(group, "Kept")
    elif edit == "hide":
        people.set_hidden(group, True)
    else:
        people.move_faces(faces[:1], group)
    people.after_scan(new)
    assert set(faces) <= {f.id for f in lib.faces(person_id=group)}
    person = lib.person(group)
    assert (person.name == "Kept") == (edit == "name")
    assert person.hidden == (edit == "hide")
    if edit == "hide":
        assert lib.face(new[7]).person_id != group  # a hidden person takes no one
    lib.close()
