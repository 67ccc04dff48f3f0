"""Clustering: pure algorithm checks, and groups after a real scan of a dev subset."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from facefolio.library import Library
from facefolio.library.people import apart, clustering
from facefolio.library.people.attach import Owners, attach
from facefolio.library.people.clustering import ClusterParams, group_faces
from facefolio.library.people.people import People

from people_fixtures import make_photos, scan, twins_photo  # tests/ is on sys.path

from benchmarks import clustering_reference as reference
from benchmarks.clustering_reference import bcubed

PEOPLE = ["Barack_Obama", "Kate_Winslet", "Keanu_Reeves", "Tina_Fey", "Will_Smith"]


@pytest.fixture(scope="module")
def scanned(datasets, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("clustering")
    photos = make_photos(datasets, root / "photos", PEOPLE, slice(0, 10))
    shutil.copy(datasets / "deepface-unit" / "couple.jpg", photos / "couple.jpg")
    # Two faces of Obama in one photo, beside his ten portraits: both are clearly him, so
    # only the one-photo cannot-link keeps the second one out of his group.
    twins_photo(datasets, photos / "twins" / "obama_twice.jpg", "Barack_Obama", slice(10, 12))
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
    twins = [f for f in lib.faces() if Path(f.photo_path).parent.name == "twins"]
    labels = label_of(lib)
    obama = {f.person_id for f in lib.faces() if labels.get(f.id) == "Barack_Obama"}
    assert len(twins) == 2 and len(obama) == 1
    obama_id = obama.pop()
    # The case is reached: each twin alone is clearly Obama (his group's centre).
    ids, vectors = lib.embeddings([f.id for f in lib.faces(person_id=obama_id)
                                   if f.photo_id != twins[0].photo_id])
    centre = vectors.sum(0) / np.linalg.norm(vectors.sum(0))
    for twin in twins:
        assert float(lib.embedding(twin.id)[1] @ centre) >= 0.5
    assert sorted(t.person_id == obama_id for t in twins) == [False, True]
    clash = lib.con.execute("SELECT photo_id, person_id FROM faces WHERE person_id IS NOT NULL "
                            "GROUP BY photo_id, person_id HAVING COUNT(*) > 1").fetchall()
    assert clash == []


def test_separate_photos_keeps_the_best_fitting_face():
    v = np.eye(3, dtype=np.float32)[[0, 0, 0, 1]]
    kept, dropped = apart.separate_photos(np.arange(4), v, np.array([1, 2, 3, 3]))
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
        return reference.candidate_groups(reference.knn_graph(nn, nn_sims, params.eps),
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


def test_big_component_is_split_into_exact_pieces_and_merged_back(monkeypatch):
    """A chained component too big for a dendrogram: pieces, then average-link merges."""
    x, truth = chained_strangers(1)
    monkeypatch.setattr(clustering, "MAX_EXACT", 20)
    groups = groups_of(x, ClusterParams.for_threshold(0.4), plain=False)
    assert all(len(set(truth[g]) - {2}) == 1 for g in groups)
    whole = sorted(len(set(g) & set(np.flatnonzero(truth == t)))
                   for g in groups for t in (0, 1))[-2:]
    assert whole == [30, 30]  # each person ends in one group despite the 20-face pieces


def test_exact_average_link_refuses_big_inputs(monkeypatch):
    monkeypatch.setattr(clustering, "MAX_EXACT", 10)
    with pytest.raises(ValueError):
        reference.average_link(np.eye(12, dtype=np.float32), 0.6)


def clustered(seed: int, people: int = 6, each: int = 8, dim: int = 32) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((people, dim))
    x = np.repeat(centres, each, axis=0) + 0.9 * rng.standard_normal((people * each, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("seed", range(5))
def test_graph_average_link_equals_the_dendrogram_on_a_complete_graph(seed):
    """With every pair an edge, the sum-vector agglomeration is exact average linkage."""
    x = clustered(seed)
    n = len(x)
    sims = x @ x.T
    nn = np.argsort(-sims, axis=1)
    mine = clustering.graph_average_link(x, nn, np.take_along_axis(sims, nn, 1),
                                         np.arange(n), threshold=0.4, floor=-1.0)
    exact = reference.average_link(x, 0.6)
    assert {frozenset(g.tolist()) for g in mine} == {frozenset(g.tolist()) for g in exact}


def test_two_faces_of_one_photo_never_merge():
    x = np.array([[1, 0], [1, 0], [0.99, 0.14], [0, 1]], np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    nn = np.array([[j for j in range(4) if j != i] for i in range(4)])
    sims = np.take_along_axis(x @ x.T, nn, 1)
    groups = clustering.graph_average_link(x, nn, sims, np.array([7, 7, 8, 9]), 0.4, 0.25)
    together = [set(g.tolist()) for g in groups]
    assert not any({0, 1} <= g for g in together)
    assert {0, 2} in together or {1, 2} in together


def owners_of(groups: list[np.ndarray], x: np.ndarray, photos: np.ndarray) -> Owners:
    return Owners(np.vstack([x[g].sum(0) for g in groups]), np.array([len(g) for g in groups]),
                  [set(photos[g].tolist()) for g in groups], [frozenset()] * len(groups),
                  np.ones(len(groups), bool))


def test_leftover_face_attaches_only_when_clearly_one_group():
    rng = np.random.default_rng(3)
    dim = 64
    a, b = np.eye(dim)[0], np.eye(dim)[1]

    def faces(centre, r, count):
        noise = rng.standard_normal((count, dim))
        noise -= np.outer(noise @ centre, centre)
        noise /= np.linalg.norm(noise, axis=1, keepdims=True)
        return r * centre + np.sqrt(1 - r * r) * noise

    group_a = faces(a, 0.75, 20)
    # A blurred face of A: close to a few of A's faces (~0.5), below threshold on average
    # (~0.33), so average linkage alone leaves it out; A's own faces are alike at ~0.56, so
    # within attach_gap of them.
    residual = group_a[:3] - 0.75 * a
    spare = np.eye(dim)[2]
    blurred = 0.4 * a + 0.6 * residual.sum(0) / np.linalg.norm(residual.sum(0)) + 0.69 * spare
    sibling = 0.3 * a + 0.95 * b  # someone else who merely looks a bit like A
    x = np.vstack([group_a, blurred, sibling]).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    sims = x @ x.T
    nn = np.argsort(-sims, axis=1)[:, 1:21]
    owner = np.where(nn < 20, 0, -1)  # the only group: A's 20 faces
    nn_sims = np.take_along_axis(sims, nn, 1)
    params = ClusterParams.for_threshold(0.4)
    assert x[20] @ x[:20].mean(0) < 0.4 < np.sort(x[:20] @ x[20])[-3:].mean()
    photos = np.arange(22)
    groups = [np.arange(20)]
    left = [20, 21]
    joined = attach(x[left], photos[left], None, owner[left], nn_sims[left],
                    owners_of(groups, x, photos), params, 0.4)
    assert joined.tolist() == [0, -1]
    # Not when A already holds a face of its photo, nor when the user said it is not A, nor
    # when A is hidden (it competes, but takes no one).
    photos[20] = photos[5]
    assert attach(x[left], photos[left], None, owner[left], nn_sims[left],
                  owners_of(groups, x, photos), params, 0.4).tolist() == [-1, -1]
    photos[20] = 20
    assert attach(x[left], photos[left], None, owner[left], nn_sims[left],
                  owners_of(groups, x, photos), params, 0.4, [{0}, set()]).tolist() == [-1, -1]
    hidden = owners_of(groups, x, photos)
    hidden.joinable[:] = False
    assert attach(x[left], photos[left], None, owner[left], nn_sims[left], hidden, params,
                  0.4).tolist() == [-1, -1]
    # Nor across a "not the same person" pair.
    tagged = owners_of(groups, x, photos)
    tagged.tags[0] = frozenset({1})
    assert attach(x[left], photos[left], [frozenset({0}), frozenset()], owner[left],
                  nn_sims[left], tagged, params, 0.4).tolist() == [-1, -1]


def test_bcubed():
    assert bcubed(["a", "a", "b"], [1, 1, 2]) == (1.0, 1.0, 1.0)
    p, r, _ = bcubed(["a", "a", "b"], [1, 1, 1])
    assert r == 1.0 and p == pytest.approx(5 / 9)
