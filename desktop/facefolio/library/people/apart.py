"""Faces that must stay apart: two faces of one photo are two people, and so are the two sides of
a "not the same person" answer. `side_tags` marks the sides, `clash` tests two faces' marks, and
`separate_photos` keeps only the best-fitting of a group's faces that must be apart."""
from __future__ import annotations

import numpy as np


def separate_photos(group: np.ndarray, vectors: np.ndarray, photo_ids: np.ndarray,
                    tags: list[frozenset] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(kept, dropped): of faces that must be apart (one photo, or the two sides of a "not the
    same person" pair) only the best-fitting stay, best fit first."""
    photos = photo_ids[group]
    tagged = tags is not None and any(tags[int(r)] for r in group)
    if len(np.unique(photos)) == len(photos) and not tagged:
        return group, np.empty(0, np.int64)
    total = vectors[group].sum(axis=0)
    fit = vectors[group] @ total  # ~ mean similarity to the rest of the group
    order = np.argsort(-fit, kind="stable")
    keep = np.zeros(len(group), bool)
    seen: set[int] = set()
    kept_tags: set = set()
    for k in order.tolist():
        face = int(group[k])
        mine = tags[face] if tags is not None else frozenset()
        if int(photos[k]) in seen or clash(mine, kept_tags):
            continue
        keep[k] = True
        seen.add(int(photos[k]))
        kept_tags |= mine
    return group[keep], group[~keep]


def side_tags(n: int, sides: list[tuple[np.ndarray, np.ndarray]] | None
              ) -> list[frozenset] | None:
    """Per row, the tags of the "not the same person" pairs it is in: pair p's first side
    carries 2p, its second 2p + 1; two faces clash when one holds t and the other t ^ 1."""
    if not sides:
        return None
    tags: list[set] = [set() for _ in range(n)]
    for p, (a, b) in enumerate(sides):
        for r in np.asarray(a).tolist():
            tags[r].add(2 * p)
        for r in np.asarray(b).tolist():
            tags[r].add(2 * p + 1)
    return [frozenset(t) for t in tags]


def clash(a, b) -> bool:
    """Do two tag sets (see side_tags) hold the two sides of one pair?"""
    return bool(a) and bool(b) and any(t ^ 1 in b for t in a)
