"""The engine's pipeline API: photos in batches, accelerators, faces the user draws."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from facefolio.engine import FaceEngine, load_image, runtime

sys.path.insert(0, str(Path(__file__).resolve().parent / "benchmarks"))
import groupset  # noqa: E402

UNIT = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "deepface-unit"


@pytest.fixture(scope="module")
def engine() -> FaceEngine:
    return FaceEngine()


@pytest.mark.parametrize("available,chosen", [
    (["CPUExecutionProvider"], ["CPUExecutionProvider"]),
    (["AzureExecutionProvider", "CPUExecutionProvider"], ["CPUExecutionProvider"]),
    (["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
     ["CUDAExecutionProvider", "CPUExecutionProvider"]),
    (["CoreMLExecutionProvider", "CPUExecutionProvider"],
     ["CoreMLExecutionProvider", "CPUExecutionProvider"]),
    (["DmlExecutionProvider", "CPUExecutionProvider"],
     ["DmlExecutionProvider", "CPUExecutionProvider"]),
])
def test_provider_choice(available, chosen):
    assert runtime.choose_providers(available) == chosen


class _Spy:
    """Records the input shape of every run of a session."""

    def __init__(self, session) -> None:
        self.session, self.shapes = session, []

    def run(self, names, feed, *a):
        self.shapes.append(next(iter(feed.values())).shape)
        return self.session.run(names, feed, *a)

    def __getattr__(self, name):
        return getattr(self.session, name)


def test_batches_on_an_accelerator(monkeypatch, engine):
    """With a GPU offered, photos of one view size are detected together and all crops
    embedded together. (Here ORT falls back to the CPU for the sessions themselves.)"""
    monkeypatch.setattr(runtime, "available_providers",
                        lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    gpu = FaceEngine()
    assert gpu.providers == ["CUDAExecutionProvider", "CPUExecutionProvider"] and gpu.gpu
    det, rec = _Spy(gpu._detector.session), _Spy(gpu._recogniser.session)
    gpu._detector.session, gpu._recogniser.session = det, rec
    names = ["couple.jpg", "img1.jpg", "img2.jpg", "img3.jpg", "selfie-many-people.jpg"]
    images = [load_image(UNIT / n) for n in names]
    views = [gpu._detector.blob(i.pixels)[0].shape for i in images]
    faces = gpu.analyze_many(images)
    # One detector run per distinct view size, holding every photo of that size.
    assert sorted(s[0] for s in det.shapes[:len(set(views))]) == \
        sorted(views.count(v) for v in set(views))
    assert {s[1:] for s in det.shapes[:len(set(views))]} == {v[1:] for v in set(views)}
    total = sum(len(f) for f in faces)
    assert rec.shapes == [(total, 3, 112, 112)] and total >= 8
    alone = [engine.analyze(i) for i in images]
    for many, one in zip(faces, alone):
        assert len(many) == len(one)
        for a, b in zip(many, one):
            assert float(a.embedding @ b.embedding) > 0.999


@pytest.mark.skipif(not any(p in runtime.GPU_PROVIDERS for p in runtime.available_providers()),
                    reason="ONNX Runtime offers no GPU provider here")
def test_real_accelerator_runs_both_models():
    gpu = FaceEngine()
    assert gpu.gpu
    for session in (gpu._detector.session, gpu._recogniser.session):
        assert session.get_providers()[0] in runtime.GPU_PROVIDERS
    images = [load_image(UNIT / n) for n in ("couple.jpg", "img1.jpg")]
    cpu = FaceEngine(providers=["CPUExecutionProvider"])
    for many, one in zip(gpu.analyze_many(images), (cpu.analyze(i) for i in images)):
        assert [round(f.box[0]) for f in many] == pytest.approx([round(f.box[0]) for f in one],
                                                                abs=3)
        assert all(float(a.embedding @ b.embedding) > 0.99 for a, b in zip(many, one))


def test_analyze_many_matches_analyze(engine):
    images = [load_image(UNIT / n) for n in ("couple.jpg", "img1.jpg", "img6.jpg")]
    for many, one in zip(engine.analyze_many(images), (engine.analyze(i) for i in images)):
        assert [f.box for f in many] == [f.box for f in one]
        assert all(np.allclose(a.embedding, b.embedding, atol=1e-5) for a, b in zip(many, one))


def test_embed_box_finds_the_face_in_a_drawn_box(engine):
    sims = []
    for name in ("couple.jpg", "img1.jpg", "selfie-many-people.jpg"):
        image = load_image(UNIT / name)
        for face in engine.analyze(image):
            x, y, w, h = face.box
            for box in (face.box, (x + 0.15 * w, y - 0.1 * h, 1.2 * w, 1.1 * h)):  # sloppy
                drawn = engine.embed_box(image, box)
                assert drawn.score > 0.5, (name, box)  # the detector found it in the box
                sims.append(float(drawn.embedding @ face.embedding))
    print(f"embed_box vs detected: min {min(sims):.3f}, mean {np.mean(sims):.3f}")
    # Same face: far above any impostor pair of master.csv (at most 0.357).
    assert min(sims) > 0.8 and np.mean(sims) > 0.92


def test_embed_box_without_a_face_aligns_the_box(engine):
    image = load_image(UNIT / "couple.jpg")
    face = engine.embed_box(image, (5, 5, 60, 80))  # a corner of the background
    assert face.score == 0.0 and face.box == (5.0, 5.0, 60.0, 80.0)
    assert face.landmarks.shape == (5, 2) and abs(np.linalg.norm(face.embedding) - 1) < 1e-4
    with pytest.raises(ValueError, match="too small"):
        engine.embed_box(image, (5, 5, 0, 10))


def test_embed_box_on_a_small_face_uses_full_resolution(engine, tmp_path):
    path = tmp_path / "g2.jpg"
    truth = groupset.group_photo(path, 2)  # faces 35-41 px in a 4000x3000 photo
    image = load_image(path)
    found = engine.analyze(image)
    pairs, _, _ = groupset.match(truth, [f.box for f in found])
    assert len(pairs) == len(truth)
    for i, j in pairs:
        drawn = engine.embed_box(image, truth[i].box)
        assert drawn.score > 0.5
        assert float(drawn.embedding @ found[j].embedding) > 0.8


def test_engines_share_sessions_across_threads(engine):
    """Scan workers each have an engine; the models are loaded once and run concurrently."""
    import threading

    a, b = FaceEngine(threads=1), FaceEngine(threads=1)
    assert a._recogniser.session is b._recogniser.session
    assert a._detector.session is b._detector.session
    images = [load_image(UNIT / n) for n in ("couple.jpg", "img1.jpg", "img2.jpg", "img6.jpg")]
    alone = [engine.analyze(i) for i in images]
    got: dict[int, list] = {}

    def work(eng, idx):
        for i in idx:
            got[i] = eng.analyze(images[i])

    threads = [threading.Thread(target=work, args=(e, idx)) for e, idx in ((a, (0, 2)), (b, (1, 3)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for i, faces in enumerate(alone):
        assert [f.box for f in got[i]] == [f.box for f in faces]
        assert all(float(x.embedding @ y.embedding) > 0.9999 for x, y in zip(got[i], faces))


def test_one_worker_owns_the_accelerator_and_gets_batches(tmp_path):
    """Scan workers whose engine runs on an accelerator (here asked for through the spec;
    ORT falls back to the CPU underneath): one of them keeps it and receives photos in
    batches, the others stop; every photo is answered once, faces as float32 arrays."""
    from facefolio.library.scan.plan import Job
    from facefolio.library.scan.pool import ProcessPool
    from facefolio.library.scan.work import WorkSpec
    from facefolio.library.scan.walk import FileEntry

    spec = WorkSpec("yunet-sface", 0.6, 20, 1,
                    providers=("CUDAExecutionProvider", "CPUExecutionProvider"))
    pool = ProcessPool(spec, 2)
    try:
        names = ["couple.jpg", "img1.jpg", "img2.jpg", "img3.jpg", "img4.jpg", "img5.jpg"]
        ids = {pool.put(("analyse", Job("new", FileEntry(str(UNIT / n), 1)))): n
               for n in names}
        answers = {}
        while len(answers) < len(names):
            for job_id, answer in pool.poll(1.0):
                answers[ids[job_id]] = answer
        assert pool.gpu and pool.size == 1 and pool.capacity > 2
        assert sum(s.process.is_alive() for s in pool._slots) == 1
        assert all(a.kind == "analysed" and len(a.faces) >= 1 for a in answers.values())
        assert len(answers["couple.jpg"].faces) == 2
        assert answers["img1.jpg"].faces.embeddings.dtype == np.float32
    finally:
        pool.close()
