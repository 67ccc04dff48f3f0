"""Strangers stay strangers (issue 19): a real scan of a small lfw-train library shaped like
a real one (one person with many photos, his brother, people seen once), grouped by the
scan's own after-scan step. Fails when a large group starts absorbing people seen once.

The subset (tests/benchmarks/lfwset.py `subset`): 120 photos of George W. Bush, the 12 of
his brother Jeb, the people seen once whose faces the grouping of issue 19 found in the big
group on the whole of lfw-train (LOOK_ALIKES), 120 more people seen once and 15 people with
2-12 photos, taken by rule (sorted names, every k-th).
"""
from __future__ import annotations

import os
import shutil
import sys
from collections import Counter
from pathlib import Path

import pytest

from facefolio.library import Library, Scanner

sys.path.insert(0, str(Path(__file__).resolve().parent / "benchmarks"))
import lfwset  # noqa: E402
from clustering_reference import bcubed  # noqa: E402

BIG, BROTHER = "George_W_Bush", "Jeb_Bush"
# Seen once in lfw-train, and put in George W. Bush's group by the grouping before issue 19
# (python tests/benchmarks/bench_lfw.py on the code of main at 4961787).
LOOK_ALIKES = ("Armando_Calderon_Sol", "Carlos_Alberto_Parreira", "Dan_Boyle", "Darin_Erstad",
               "Michael_Kahn", "Mike_Johanns")
# This subset (302 photos) reached BCubed P 1.000, R 0.993 with every group pruned; the margin
# is about three faces.
# Before issue 19 it scored P 0.899 (the big group held the brother's 12 faces and the 6
# look-alikes), and this test failed on that code.
MIN_PRECISION = 0.99


@pytest.fixture(scope="module")
def grouped(datasets, tmp_path_factory):
    root = datasets / "lfw-train"
    if not (root / "labels.csv").is_file():
        pytest.skip("lfw-train is not in the shared data sets")
    labels = lfwset.read_labels(root)
    chosen = lfwset.subset(labels, BIG, n_big=120, n_single=120, n_mid=15,
                           relatives=(BROTHER,) + LOOK_ALIKES)
    photos = tmp_path_factory.mktemp("lfw") / "photos"
    for rel in chosen:
        (photos / rel).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(root / rel, photos / rel)
    lib = Library(photos.parent / "lib")
    lib.add_folder(photos)
    for _ in Scanner(lib).scan():  # the scan ends with the real after-scan grouping
        pass
    rows = lib.con.execute("SELECT f.id, p.path, f.x, f.y, f.w, f.h, f.person_id FROM faces f "
                           "JOIN photos p ON p.id = f.photo_id").fetchall()
    centred = lfwset.centred_faces(
        [(r[0], str(Path(r[1]).relative_to(photos)), r[2], r[3], r[4], r[5]) for r in rows])
    person = {r[0]: r[6] for r in rows}
    scored = sorted(chosen)
    truth = [chosen[p] for p in scored]
    predicted = [person.get(centred.get(p)) for p in scored]
    yield truth, predicted
    lib.close()
    shutil.rmtree(photos.parent, ignore_errors=True)


def test_a_big_group_takes_in_no_stranger(grouped):
    truth, predicted = grouped
    seen = Counter(truth)
    assert seen[BROTHER] == 12 and all(seen[p] == 1 for p in LOOK_ALIKES)  # the case is in
    big = Counter(p for t, p in zip(truth, predicted) if t == BIG).most_common(1)[0][0]
    assert big is not None
    in_big = Counter(t for t, p in zip(truth, predicted) if p == big)
    assert in_big[BIG] >= 100  # the big person is found...
    strangers = {t: n for t, n in in_big.items() if t != BIG}
    precision, recall, _ = bcubed(truth, predicted)
    figures = f"BCubed P {precision:.4f} R {recall:.4f}; in the big group: {dict(in_big)}"
    assert strangers == {}, figures  # ...and holds nobody else: no brother, no look-alike
    absorbed = lfwset.strangers_absorbed(truth, predicted)
    assert absorbed <= 1, f"{absorbed} faces of people seen once sit in a group; {figures}"
    assert precision >= MIN_PRECISION, figures
    assert recall >= 0.9, figures  # and precision is not bought by leaving everyone alone
