"""Labeled Faces in the Wild as a stranger-heavy library: labels, the centred face, scores.

Shared by bench_lfw.py and tests/test_grouping_rules.py. LFW labels the face in the centre
of each 250 x 250 photo (others at the edges are unlabelled people). The scoring, as the
issue and the data set's README state it: the centred face of each photo; a photo with no
face found there, or a centred face in no person, is a person of its own.
"""
from __future__ import annotations

import csv
import os
from collections import Counter
from pathlib import Path

import numpy as np

DATASETS = Path(os.environ.get("FACEFOLIO_DATASETS")
                or Path(__file__).resolve().parents[3] / "shared" / "datasets")
# The labelled face's box holds the photo's centre; of several, the one whose centre is
# nearest (a face at the edge never holds it: LFW's photos are cropped around the label).
CENTRE = 125.0


def read_labels(root: Path) -> dict[str, str]:
    """photo path (relative to root) -> person, from root/labels.csv, or from the folders."""
    listed = root / "labels.csv"
    if listed.is_file():
        with open(listed, newline="") as f:
            return {r["photo"]: r["person"] for r in csv.DictReader(f)}
    return {str(p.relative_to(root)): p.parent.name
            for p in sorted(root.glob("*/*.jpg"))}


def subset(labels: dict[str, str], big: str, n_big: int, n_single: int, n_mid: int,
           relatives: tuple[str, ...] = ()) -> dict[str, str]:
    """A small library with the shape of a real one: one person with many photos (`n_big`
    of `big`'s), his relatives, `n_mid` people with 2-12 photos and `n_single` seen once;
    deterministic (sorted names, every k-th)."""
    by_person: dict[str, list[str]] = {}
    for photo, person in sorted(labels.items()):
        by_person.setdefault(person, []).append(photo)
    out = {p: big for p in by_person[big][:n_big]}
    for rel in relatives:
        out.update({p: rel for p in by_person.get(rel, [])})
    singles = [p for p, ph in by_person.items() if len(ph) == 1]
    mids = [p for p, ph in by_person.items() if 2 <= len(ph) <= 12 and p not in relatives]
    for chosen, count in ((singles, n_single), (mids, n_mid)):
        step = max(1, len(chosen) // max(count, 1))
        for person in chosen[::step][:count]:
            out.update({p: person for p in by_person[person]})
    return out


def centred_faces(rows) -> dict[str, int]:
    """photo path -> face id of its centred face, from (face id, path, x, y, w, h) rows."""
    best: dict[str, tuple[float, int]] = {}
    for fid, path, x, y, w, h in rows:
        if not (x <= CENTRE <= x + w and y <= CENTRE <= y + h):
            continue
        d = (x + w / 2 - CENTRE) ** 2 + (y + h / 2 - CENTRE) ** 2
        if path not in best or d < best[path][0]:
            best[path] = (d, fid)
    return {path: fid for path, (_, fid) in best.items()}


def pairwise(truth: list, predicted: list) -> tuple[float, float, float]:
    """Pairwise precision, recall and F (None = a singleton)."""
    truth = [t if t is not None else ("single", i) for i, t in enumerate(truth)]
    predicted = [p if p is not None else ("single", i) for i, p in enumerate(predicted)]

    def pairs(counts) -> int:
        return sum(c * (c - 1) // 2 for c in counts.values())

    both = pairs(Counter(zip(truth, predicted)))
    found, real = pairs(Counter(predicted)), pairs(Counter(truth))
    p = both / found if found else 1.0
    r = both / real if real else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def wrong_faces(truth: list, predicted: list) -> dict:
    """Faces in a group whose majority is someone else, and groups holding any such face."""
    members: dict = {}
    for t, p in zip(truth, predicted):
        if p is not None:
            members.setdefault(p, Counter())[t] += 1
    wrong = groups = 0
    for counts in members.values():
        top = counts.most_common(1)[0][1]
        extra = sum(counts.values()) - top
        wrong += extra
        groups += extra > 0
    return {"faces_in_wrong_person": wrong, "groups_with_a_stranger": groups,
            "groups": len(members)}


def strangers_absorbed(truth: list, predicted: list) -> int:
    """Faces of people seen once (in this set) that sit in a group with other faces."""
    seen = Counter(truth)
    size = Counter(p for p in predicted if p is not None)
    return sum(1 for t, p in zip(truth, predicted)
               if seen[t] == 1 and p is not None and size[p] > 1)


def best_of(values: np.ndarray) -> float:
    return float(values.max()) if len(values) else 0.0
