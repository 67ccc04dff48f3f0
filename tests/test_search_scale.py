"""The machinery of tests/benchmarks/bench_search.py, small and fast: the library it writes
with SQL is one the real `Library` searches like the app does, its exact search is exact, its
generator draws what its parameters say, and its "cold" really empties the page cache.
(The figures themselves come from running the benchmark, not from here.)"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "benchmarks"))
import bench_search  # noqa: E402
import searchset  # noqa: E402

from facefolio.library import Library  # noqa: E402

# Round figures near the fitted ones (tests/benchmarks/searchset.py prints them): the tests
# must not need the engine, so they draw from fixed parameters and an isotropic shape.
PARAMS = searchset.Params(a=0.3, sigma_b=0.7, sigma_w=0.66, tau_id=0.1, tau_q=0.35, alpha=1.0)


def _model() -> searchset.FaceModel:
    mean_dir = np.zeros(searchset.DIM)
    mean_dir[0] = 1.0
    return searchset.FaceModel(PARAMS, mean_dir, np.eye(searchset.DIM) / searchset.DIM)


def test_bench_library_answers_the_apps_query(tmp_path):
    """3,000 faces written with SQL; `search_face(top=200)` returns 200 others, best first,
    with the true cosine of each, the exact nearest ten and most of the exact 200 (hnswlib
    at ef 201 for k 201 misses some of the tail even here: bench_search.py reports it)."""
    info = searchset.build_library(tmp_path / "lib", 3000, _model(), seed=3, zipf=1.0)
    assert info["faces"] == 3000 and info["largest_person_faces"] > 100
    with Library(tmp_path / "lib") as lib:
        assert lib.counts()["faces"] == 3000
        assert lib.counts()["named_people"] > 0
        # The benchmark's "same person" figures rely on knowing each face's true person.
        owner = searchset.library_owners(3000, seed=3, zipf=1.0)
        assigned = lib.con.execute(
            "SELECT id, person_id FROM faces WHERE person_id IS NOT NULL").fetchall()
        assert len(assigned) > 1000
        assert all(owner[face - 1] + 1 == person for face, person in assigned)
        data = bench_search.all_embeddings(lib)
        face_ids = np.array([1, 777, 2999])
        exact = bench_search.exact_topk(data, data[face_ids - 1], bench_search.TOP + 1)
        for fid, truth in zip(face_ids, exact):
            results = lib.search_face(int(fid), top=bench_search.TOP)
            ids = [r.face_id for r in results]
            assert len(ids) == bench_search.TOP and fid not in ids
            sims = np.array([r.similarity for r in results])
            assert np.all(np.diff(sims) <= 1e-6)
            np.testing.assert_allclose(sims, data[np.array(ids) - 1] @ data[fid - 1],
                                       atol=1e-4)
            others = truth[truth != fid][:bench_search.TOP]
            assert len(set(ids[:10]) & set(others[:10].tolist())) >= 9
            assert len(set(ids) & set(others.tolist())) >= 0.85 * bench_search.TOP
            assert results[0].photo.startswith("/bench/photos/")


def test_exact_topk_is_exact_across_chunks():
    rng = np.random.default_rng(0)
    data = rng.standard_normal((5000, searchset.DIM)).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    queries = data[[3, 1400, 4999]]
    found = bench_search.exact_topk(data, queries, 25, chunk=700)  # 8 chunks, last partial
    truth = np.argsort(-(queries @ data.T), axis=1)[:, :25] + 1
    np.testing.assert_array_equal(found, truth)


def test_generator_draws_what_its_parameters_say():
    """Same person ~ (a^2 + sigma_b^2) / total, different people ~ a^2 / total."""
    faces, labels = _model().sample(300, 10, seed=1)
    assert np.allclose(np.linalg.norm(faces, axis=1), 1, atol=1e-5)
    same, diff = searchset.pair_similarities(faces, labels)
    p = PARAMS
    total = p.a ** 2 + p.sigma_b ** 2 + p.sigma_w ** 2 * np.exp(2 * p.tau_q ** 2)
    assert abs(diff.mean() - p.a ** 2 / total) < 0.02
    assert abs(same.mean() - (p.a ** 2 + p.sigma_b ** 2) / total) < 0.05
    assert same.mean() - diff.mean() > 0.3  # people are told apart


def test_people_sizes_follow_the_zipf_law():
    rng = np.random.default_rng(2)
    counts = np.bincount(searchset.owners(200_000, 1000, 1.0, rng), minlength=1000)
    harmonic = np.sum(1 / np.arange(1, 1001))
    assert abs(counts[0] / 200_000 - 1 / harmonic) < 0.01  # person 1: ~13% of all faces
    assert counts[0] > 50 * counts[-1]
    equal = np.bincount(searchset.owners(200_000, 1000, 0.0, rng), minlength=1000)
    assert equal.max() < 2 * equal.min()


def _on_tmpfs(path: Path) -> bool:
    best, fstype = "", ""
    for line in Path("/proc/mounts").read_text().splitlines():
        mount, kind = line.split()[1], line.split()[2]
        if str(path).startswith(mount) and len(mount) > len(best):
            best, fstype = mount, kind
    return fstype in ("tmpfs", "ramfs")


@pytest.mark.skipif(not shutil.which("fincore") or not Path("/proc/mounts").exists(),
                    reason="needs Linux and util-linux fincore")
def test_cold_means_out_of_the_page_cache(tmp_path):
    if _on_tmpfs(tmp_path):
        pytest.skip("a file on tmpfs cannot leave memory")
    path = tmp_path / "index.bin"
    path.write_bytes(np.random.default_rng(0).bytes(8 << 20))
    path.read_bytes()  # cached now

    def cached() -> int:
        out = subprocess.run(["fincore", "--bytes", "--noheadings", "--output", "RES",
                              str(path)], capture_output=True, text=True, check=True)
        return int(out.stdout.split()[0])

    assert cached() > 4 << 20
    assert bench_search.drop_from_page_cache([path]) == 0.0
    assert cached() == 0
