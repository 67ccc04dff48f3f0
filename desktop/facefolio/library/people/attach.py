"""Faces left out of every group join the group or person they clearly belong to.

Pure numpy. A face the average linkage left alone is typically small, blurred or turned: its
average similarity to all of its person's faces misses the threshold, but its nearest faces of
that person still say who it is. It joins "owner" O (a group just formed, or a person the user
made or named) when, among its k nearest faces:

- the mean of its `attach_top` best similarities to O's faces (missing ones count as 0, so a
  lone lucky match is not enough) reaches the threshold + attach_margin;
- that figure leads every other owner's by attach_lead ("clearly one person's");
- its average similarity to all of O's faces is above threshold - attach_floor (a sibling who
  matches a few photos averages far lower), and reaches what a newcomer to O needs given how
  alike O's own faces are (ClusterParams.joining_needs, with attach_gap): among many faces of
  one person a stranger finds a few close ones by chance, so the best few are no evidence;
- O holds no face of its photo (one photo, one face per person), nor a face of the other side of
  a "not the same person" pair it is on, and the face was never rejected for O.

Owners already in the face's photo are out of the race altogether (they cannot be this face).
One pass, best candidates first, against the owners as they were: joined faces do not pull
others in, and a second face of one photo cannot join an owner the first one joined.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .apart import clash
from .clustering import ClusterParams


@dataclass
class Owners:
    """Groups and people faces may join, indexed 0..n-1."""
    sums: np.ndarray  # (n, d): sum of each owner's unit face vectors
    counts: np.ndarray  # (n,)
    photos: list[set[int]]
    tags: list[frozenset]  # "not the same person" sides (clustering.side_tags)
    joinable: np.ndarray  # (n,) bool: hidden people compete but take no one


def attach(vectors: np.ndarray, photos: np.ndarray, tags: list[frozenset] | None,
           neighbour_owner: np.ndarray, neighbour_sims: np.ndarray, owners: Owners,
           params: ClusterParams, threshold: float,
           forbidden: list[set[int]] | None = None) -> np.ndarray:
    """For each face (row), the owner it joins, or -1.

    `neighbour_owner` / `neighbour_sims`: (faces, k) owner index of each of the face's nearest
    faces (-1: nobody's, or the face itself) and the similarity. `forbidden`: per face, owners
    the user said it is not.
    """
    top = params.attach_top
    n = len(vectors)
    needs = params.joining_needs(owners.sums, owners.counts, params.attach_gap)
    proposal = np.full(n, -1, np.int64)
    strength = np.full(n, -np.inf)
    for face in range(n):
        ok = neighbour_owner[face] >= 0
        owner, sims = neighbour_owner[face][ok], neighbour_sims[face][ok]
        photo = int(photos[face])
        mine = tags[face] if tags is not None else frozenset()
        best_o, best, second = -1, -1.0, -1.0
        for o in np.unique(owner).tolist():
            if photo in owners.photos[o] or clash(mine, owners.tags[o]):
                continue
            vals = np.sort(sims[owner == o])[::-1][:top]
            score = float(vals.sum() / top)
            if score > best:
                best_o, best, second = o, score, best
            elif score > second:
                second = score
        if best_o < 0 or not owners.joinable[best_o]:
            continue
        if best - max(second, 0.0) < params.attach_lead:
            continue
        if forbidden is not None and best_o in forbidden[face]:
            continue
        mean = float(vectors[face] @ owners.sums[best_o]) / max(float(owners.counts[best_o]), 1)
        if mean < threshold - params.attach_floor or mean < needs[best_o]:
            continue
        if best < threshold + params.attach_margin:
            continue
        proposal[face], strength[face] = best_o, best
    joined = np.full(n, -1, np.int64)
    taken = {o: set(p) for o, p in enumerate(owners.photos)}
    for face in np.argsort(-strength, kind="stable").tolist():
        o = int(proposal[face])
        if o < 0 or int(photos[face]) in taken[o]:
            continue
        taken[o].add(int(photos[face]))  # one face per photo: the strongest one
        joined[face] = o
    return joined
