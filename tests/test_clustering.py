"""Clustering: pure algorithm checks, and groups after a real scan of a dev subset."""
from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from facefolio.library import Library, Scanner
from facefolio.library import clustering
from facefolio.library.clustering import ClusterParams, bcubed, group_faces
from facefolio.library.people import People

PEOPLE = ["Barack_Obama", "Kate_Winslet", "Keanu_Reeves", "Tina_Fey", "Will_Smith"]


def make_photos(datasets: Path, out: Path, people: list[str], crops: slice) -> Path:
    """Celebrity crops upscaled into photos the detector finds (see bench_people.py)."""
    for person in people:
        (out / person).mkdir(parents=True, exist_ok=True)
        for crop in sorted((datasets / "celebrity-dev" / person).iterdir())[crops]:
            image = cv2.resize(cv2.imread(str(crop)), None, fx=3, fy=3,
                               interpolation=cv2.INTER_CUBIC)
            image = cv2.copyMakeBorder(image, 60, 60, 60, 60, cv2.BORDER_CONSTANT,
                                       value=(127, 127, 127))
            cv2.imwrite(str(out / person / f"{crop.stem}.jpg"), image)
    return out


def scan(lib: Library, folder: Path) -> None:
    lib.add_folder(folder)
    for _ in Scanner(lib).scan():
        pass


@pytest.fixture(scope="module")
def scanned(datasets, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("clustering")
    photos = make_photos(datasets, root / "photos", PEOPLE, slice(0, 10))
    shutil.copy(datasets / "deepface-unit" / "couple.jpg", photos / "couple.jpg")
    with Library(root / "template") as lib:
        scan(lib, photos)
    return root


@pytest.fixture
def lib(scanned, tmp_path):
    shutil.copytree(scanned / "template", tmp_path / "lib")
    with Library(tmp_path / "lib") as library:
        yield library


def label_of(lib: Library) -> dict[int, str]:
    """face id -> person folder, for the single face of each celebrity photo."""
    return {f.id: Path(f.photo_path).parent.name for f in lib.faces()
            if Path(f.photo_path).parent.name in PEOPLE}


def test_groups_match_identities(lib):
    truth = label_of(lib)
    people = {f.id: f.person_id for f in lib.faces()}
    ids = sorted(truth)
    precision, recall, f = bcubed([truth[i] for i in ids], [people[i] for i in ids])
    assert precision == 1.0
    assert f >= 0.9
    named = [p for p in lib.people() if p.face_count >= 3]
    assert len(named) == len(PEOPLE)
    for person in named:  # every cover is one of the person's own faces
        assert lib.face(person.cover_face_id).person_id == person.id


def test_two_faces_of_one_photo_never_in_one_person(lib):
    clash = lib.con.execute("SELECT photo_id, person_id FROM faces WHERE person_id IS NOT NULL "
                            "GROUP BY photo_id, person_id HAVING COUNT(*) > 1").fetchall()
    assert clash == []


def test_separate_photos_keeps_the_best_fitting_face():
    v = np.eye(3, dtype=np.float32)[[0, 0, 0, 1]]
    kept, dropped = clustering.separate_photos(np.arange(4), v, np.array([1, 2, 3, 3]))
    assert kept.tolist() == [0, 1, 2] and dropped.tolist() == [3]


def test_unnamed_ids_stable_when_nothing_changed(lib):
    before = {f.id: f.person_id for f in lib.faces()}
    report = People(lib).cluster()
    assert report.people_created == 0 and report.people_updated == 0
    assert {f.id: f.person_id for f in lib.faces()} == before


def test_recluster_after_adding_photos_keeps_user_decisions(lib, datasets, tmp_path):
    people = People(lib)
    truth = label_of(lib)
    obama = next(p for p in lib.people()
                 if truth.get(lib.faces(person_id=p.id)[0].id) == "Barack_Obama")
    people.name(obama.id, "Barack")
    stranger = next(i for i, who in truth.items() if who == "Tina_Fey")
    people.move_faces([stranger], obama.id)  # a user decision, even if a wrong one
    confirmed = {f.id: (f.person_id, f.assigned_by) for f in lib.faces(person_id=obama.id)}

    more = make_photos(datasets, tmp_path / "more", PEOPLE, slice(10, 16))
    scan(lib, more)
    after = {f.id: (f.person_id, f.assigned_by) for f in lib.faces(person_id=obama.id)}
    assert all(after.get(fid) == state for fid, state in confirmed.items())
    assert lib.person(obama.id).name == "Barack"
    new = [fid for fid in after if fid not in confirmed]
    assert new and all(Path(lib.face(f).photo_path).parent.name == "Barack_Obama" for f in new)
    assert all(after[f][1] == "auto" for f in new)


def chained_strangers(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two tight people plus a bridge of look-alikes that single-linkage walks across."""
    rng = np.random.default_rng(seed)
    a, b = np.eye(64)[0], np.eye(64)[1]
    people = [a + 0.15 * rng.standard_normal((30, 64)) / 8,
              b + 0.15 * rng.standard_normal((30, 64)) / 8]
    bridge = [(1 - t) * a + t * b for t in np.linspace(0.2, 0.8, 7)]
    x = np.vstack(people + [np.array(bridge)])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32), np.array([0] * 30 + [1] * 30 + [2] * 7)


def groups_of(x: np.ndarray, params: ClusterParams, plain: bool) -> list[np.ndarray]:
    sims = x @ x.T
    nn = np.argsort(-sims, axis=1)[:, :30]
    nn_sims = np.take_along_axis(sims, nn, 1)
    if plain:
        return clustering.candidate_groups(clustering.knn_graph(nn, nn_sims, params.eps),
                                           params)
    return group_faces(x, nn, nn_sims, np.arange(len(x)), params)


def test_refinement_splits_what_dbscan_chains():
    x, truth = chained_strangers()
    params = ClusterParams.for_threshold(0.4)
    assert any(len(set(truth[g]) - {2}) == 2 for g in groups_of(x, params, plain=True))
    groups = groups_of(x, params, plain=False)
    assert all(len(set(truth[g]) - {2}) == 1 for g in groups)
    assert sorted(len(g) for g in groups if len(g) >= 25)[-2:] == [30, 30] or \
        sum(len(g) for g in groups if len(g) >= 25) >= 58


def test_sampled_path_for_big_groups(monkeypatch):
    x, truth = chained_strangers(1)
    monkeypatch.setattr(clustering, "MAX_EXACT", 20)
    parts = clustering.average_link(x, ClusterParams.for_threshold(0.4).link)
    assert sorted(np.concatenate(parts).tolist()) == list(range(len(x)))
    assert all(len(set(truth[p]) - {2}) <= 1 for p in parts)


def test_bcubed():
    assert bcubed(["a", "a", "b"], [1, 1, 2]) == (1.0, 1.0, 1.0)
    p, r, _ = bcubed(["a", "a", "b"], [1, 1, 1])
    assert r == 1.0 and p == pytest.approx(5 / 9)
