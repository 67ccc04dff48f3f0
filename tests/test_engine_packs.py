"""Start-up and packs: what the engine imports, ONNX Runtime's telemetry, the converted graphs.

insightface's package __init__ imports matplotlib, scikit-image and albumentations (which asks
PyPI for updates over the network): neither the default pack nor an insightface pack may run
it. A tiny pack with insightface's layout (an SCRFD-shaped detector, an ArcFace-shaped
recogniser, built here with onnx.helper) stands in for the real ones, which are never
downloaded in tests.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from facefolio.engine import FaceEngine, load_image, runtime
from facefolio.engine.insightface_pack import is_installed

HEAVY = ("insightface.app", "matplotlib", "skimage", "albumentations", "sklearn", "scipy")
UNIT = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "deepface-unit"


def _run(code: str, **env) -> dict:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, env={**os.environ, **env})
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_cli_import_loads_no_decoder_or_runtime():
    got = _run("import sys, json, facefolio.cli, facefolio.engine as e; e.PACKS; "
               "e.IMAGE_EXTENSIONS; e.ImageError; "
               "print(json.dumps(sorted(m for m in ('cv2', 'PIL', 'onnxruntime', 'onnx', "
               "'insightface', 'pillow_heif') if m in sys.modules)))")
    assert got == []


def test_default_pack_imports_no_insightface():
    got = _run(
        "import sys, json\n"
        "from facefolio.engine import FaceEngine, load_image\n"
        f"faces = FaceEngine().analyze(load_image({str(UNIT / 'couple.jpg')!r}))\n"
        "print(json.dumps({'faces': len(faces), 'loaded': sorted(m for m in sys.modules "
        f"if m.split('.')[0] == 'insightface' or m in {HEAVY!r})}}))")
    assert got == {"faces": 2, "loaded": []}


def test_telemetry_switched_off_on_first_import(monkeypatch):
    import onnxruntime

    calls = []
    monkeypatch.setattr(onnxruntime, "disable_telemetry_events", lambda: calls.append(1))
    monkeypatch.setattr(runtime, "_module", None)
    assert runtime.ort() is onnxruntime and calls == [1]
    runtime.ort()
    assert calls == [1]  # once per process


def test_converted_graphs_take_any_batch_and_size():
    engine = FaceEngine()
    rec, det = engine._recogniser, engine._detector
    assert rec.dynamic_batch and det.free_size
    rng = np.random.default_rng(0)
    crops = rng.integers(0, 256, (5, 112, 112, 3), dtype=np.uint8)
    together = engine.embed_batch(crops)
    alone = np.concatenate([engine.embed_batch(c[None]) for c in crops])
    assert together.shape == (5, 128) and np.allclose(together, alone, atol=1e-5)
    # A 4:3 photo is seen as 640x480 (no letterbox), a region as asked.
    assert det.view_shape(3000, 4000) == (0.16, 480, 640)
    assert det.view_shape(300, 200, long_side=320)[1:] == (320, 224)


# -- a stand-in insightface pack ---------------------------------------------------------------
def _scrfd_like(path: Path) -> None:
    """9 outputs like SCRFD-500M with keypoints; one face, centre (320, 320), 128 px wide."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, outputs = [], []
    tensors = {}
    for s in (8, 16, 32):
        k = (640 // s) ** 2 * 2
        score = np.zeros((k, 1), np.float32)
        bbox = np.zeros((k, 4), np.float32)
        kps = np.zeros((k, 10), np.float32)
        if s == 32:
            i = (10 * 20 + 10) * 2  # row 10, col 10, first anchor: centre (320, 320)
            score[i] = 0.9
            bbox[i] = 2.0  # 64 px on every side
            kps[i] = np.array([-0.6, -0.4, 0.6, -0.4, 0, 0.2, -0.5, 0.9, 0.5, 0.9]) * 2
        tensors.update({f"score_{s}": score, f"bbox_{s}": bbox, f"kps_{s}": kps})
    for kind in ("score", "bbox", "kps"):
        for s in (8, 16, 32):
            name = f"{kind}_{s}"
            arr = tensors[name]
            nodes.append(helper.make_node("Constant", [], [name],
                                          value=numpy_helper.from_array(arr, name + "_v")))
            outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, arr.shape))
    graph = helper.make_graph(nodes, "scrfd_like", [helper.make_tensor_value_info(
        "input.1", TensorProto.FLOAT, [1, 3, 640, 640])], outputs)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)


def _arcface_like(path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = np.random.default_rng(1).normal(size=(3, 512)).astype(np.float32)
    nodes = [helper.make_node("ReduceMean", ["data"], ["pooled"], axes=[2, 3], keepdims=0),
             helper.make_node("MatMul", ["pooled", "w"], ["fc1"])]
    graph = helper.make_graph(
        nodes, "arcface_like",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, ["N", 3, 112, 112])],
        [helper.make_tensor_value_info("fc1", TensorProto.FLOAT, ["N", 512])],
        [numpy_helper.from_array(w, "w")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)


@pytest.fixture()
def fake_pack(tmp_path) -> Path:
    home = tmp_path / "insightface"
    d = home / "models" / "buffalo_sc"
    d.mkdir(parents=True)
    _scrfd_like(d / "det_500m.onnx")
    _arcface_like(d / "w600k_mbf.onnx")
    assert is_installed("buffalo_sc", home / "models" / "..")
    return home


def test_insightface_pack_without_package_init(fake_pack):
    got = _run(
        "import sys, json, numpy as np\n"
        "from facefolio.engine import FaceEngine, LoadedImage\n"
        "e = FaceEngine('buffalo_sc')\n"
        "px = np.random.default_rng(0).integers(0, 256, (640, 640, 3), dtype=np.uint8)\n"
        "faces = e.analyze(LoadedImage(px, 1.0, 640, 640))\n"
        "drawn = e.embed_box(LoadedImage(px, 1.0, 640, 640), (100, 100, 80, 80))\n"
        "print(json.dumps({'boxes': [[round(v) for v in f.box] for f in faces],\n"
        "  'dim': int(faces[0].embedding.shape[0]),\n"
        "  'norm': float(np.linalg.norm(faces[0].embedding)), 'drawn_dim': len(drawn.embedding),\n"
        "  'scrfd': type(e._detector.det).__module__,\n"
        "  'insightface_modules': sorted(m for m in sys.modules if m.startswith('insightface')),\n"
        f"  'heavy': sorted(m for m in sys.modules if m in {HEAVY!r})}}))",
        INSIGHTFACE_HOME=str(fake_pack))
    assert got["boxes"] == [[256, 256, 128, 128]]
    assert got["dim"] == 512 == got["drawn_dim"] and abs(got["norm"] - 1) < 1e-4
    assert got["scrfd"] == "insightface.model_zoo.scrfd"
    assert got["insightface_modules"] == [] and got["heavy"] == []


def test_real_insightface_import_still_works_after_ours(fake_pack, monkeypatch):
    """The bare packages are removed again: a later `import insightface` is the real one."""
    got = _run(
        "import sys, json\n"
        "from facefolio.engine import FaceEngine\n"
        "FaceEngine('buffalo_sc')\n"
        "import insightface\n"
        "print(json.dumps({'version': insightface.__version__, "
        "'scrfd': insightface.model_zoo.scrfd.SCRFD.__name__, "
        "'app': hasattr(insightface.app, 'FaceAnalysis')}))",
        INSIGHTFACE_HOME=str(fake_pack), NO_ALBUMENTATIONS_UPDATE="1")
    assert got == {"version": "0.7.3", "scrfd": "SCRFD", "app": True}


def test_engine_api_on_a_real_photo():
    img = load_image(UNIT / "couple.jpg")
    assert img.path and img.format == "JPEG"
    assert len(FaceEngine().analyze(img)) == 2
