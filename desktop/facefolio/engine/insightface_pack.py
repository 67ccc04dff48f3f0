"""insightface model packs (SCRFD + ArcFace 512-d), run without insightface's package ``__init__``.

``import insightface`` pulls in matplotlib, scikit-image and albumentations (which asks PyPI
for updates over the network) for the sake of its app and mask renderer. A pack needs one
class of it, the SCRFD detector decoder (``insightface.model_zoo.scrfd``, whose own imports
are numpy, OpenCV, onnx and ONNX Runtime): `_submodule` imports just that file through bare
package objects, and the ArcFace recogniser is run here directly. tests/test_engine_packs.py
builds a small pack of this layout and checks that none of those packages gets imported.

insightface downloads a missing pack by itself; we check the folder first so that neither
import nor tests ever reach the network. Downloading is an explicit user action elsewhere.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from pathlib import Path

import numpy as np

from .errors import ModelError
from .packs import insightface_root
from .runtime import make_session, ort
from .sface import l2_normalise


def pack_dir(name: str, root: Path | None = None) -> Path:
    return (root or insightface_root()) / "models" / name


def is_installed(name: str, root: Path | None = None) -> bool:
    d = pack_dir(name, root)
    return d.is_dir() and any(d.glob("*.onnx"))


def _submodule(name: str) -> types.ModuleType:
    """``insightface.<name>`` imported without running any package ``__init__`` above it."""
    full = f"insightface.{name}"
    if full in sys.modules:
        return sys.modules[full]
    spec = importlib.util.find_spec("insightface")  # locates it; runs nothing
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("the insightface packs need the 'insightface' package (0.7.3)")
    parts = full.split(".")
    created = []
    for i in range(1, len(parts)):
        pkg = ".".join(parts[:i])
        if pkg not in sys.modules:
            bare = types.ModuleType(pkg)
            bare.__path__ = [str(Path(loc, *parts[1:i])) for loc in spec.submodule_search_locations]
            bare.__package__ = pkg
            sys.modules[pkg] = bare
            created.append(pkg)
    if not created:  # the real package is loaded: use it
        return importlib.import_module(full)
    try:
        return importlib.import_module(full)
    finally:
        # Bare packages and the module go again (we hold the module): a later real
        # `import insightface` runs its __init__ and imports its submodules as usual.
        for pkg in [*created, full]:
            sys.modules.pop(pkg, None)


class InsightFacePack:
    def __init__(self, name: str, *, det_threshold: float, providers: list[str],
                 threads: int = 0, root: Path | None = None) -> None:
        root = root or insightface_root()
        if not is_installed(name, root):
            raise ModelError(
                f"model pack '{name}' is not installed: put its .onnx files in "
                f"{pack_dir(name, root)} (Facefolio never downloads models), or choose the "
                "default pack 'yunet-sface' in Settings"
            )
        ort()  # before scrfd.py imports it: telemetry off first
        scrfd = _submodule("model_zoo.scrfd")
        self.det = self.rec = None
        files = []
        # What insightface's model router does, for the two tasks we use.
        for path in sorted(pack_dir(name, root).glob("*.onnx")):
            session = make_session(path, threads, providers)
            shape = session.get_inputs()[0].shape
            if len(session.get_outputs()) >= 5 and self.det is None:
                # A graph with a fixed input size is always fed that size.
                self.fixed_size = shape[3] if isinstance(shape[3], int) else None
                self.det = scrfd.SCRFD(model_file=str(path), session=session)
                self.det.prepare(0, det_thresh=det_threshold, input_size=(640, 640))
                files.append(path)
            elif (self.rec is None and len(session.get_outputs()) == 1 and shape[2] == shape[3]
                  and isinstance(shape[2], int) and shape[2] >= 112 and shape[2] % 16 == 0):
                self.rec = _ArcFace(path, session)
                files.append(path)
        if self.det is None or self.rec is None:
            raise ModelError(f"model pack '{name}' lacks a detector or a recogniser "
                             f"(in {pack_dir(name, root)})")
        self.det_threshold = det_threshold
        self.model_files = tuple(files)

    def detect(self, bgr: np.ndarray, long_side: int = 640, threshold: float | None = None
               ) -> list[tuple[np.ndarray, np.ndarray, float]]:
        self.det.det_thresh = self.det_threshold if threshold is None else threshold
        side = self.fixed_size or -(-long_side // 32) * 32
        bboxes, kpss = self.det.detect(bgr, input_size=(side, side), max_num=0,
                                       metric="default")
        out = []
        for i, (x1, y1, x2, y2, score) in enumerate(bboxes):
            kps = kpss[i] if kpss is not None else None
            if kps is None:
                continue  # alignment needs the 5 landmarks
            box = np.array([x1, y1, x2 - x1, y2 - y1], np.float32)
            out.append((box, np.asarray(kps, np.float32), float(score)))
        return out

    def detect_many(self, images: list[np.ndarray], long_side: int = 640,
                    threshold: float | None = None) -> list[list]:
        return [self.detect(bgr, long_side, threshold) for bgr in images]

    def embed_batch(self, crops: np.ndarray) -> np.ndarray:
        return self.rec.embed_batch(crops)


class _ArcFace:
    """insightface's ArcFaceONNX, reduced to what we use: batch of aligned crops -> 512-d."""

    def __init__(self, path: Path, session) -> None:
        import onnx  # noqa: PLC0415

        self.session = session
        inp = session.get_inputs()[0]
        self.input_name = inp.name
        self.size = int(inp.shape[2])
        self.dim = int(session.get_outputs()[0].shape[-1])
        self.batch = 32 if not isinstance(inp.shape[0], int) else 1
        # insightface's own test: graphs converted from mxnet normalise inside (they start with
        # Sub and Mul nodes) and want raw 0-255; the others want (x - 127.5) / 127.5.
        names = [n.name for n in onnx.load(str(path), load_external_data=False).graph.node[:8]]
        inside = any(n.startswith(("Sub", "_minus")) for n in names) and \
            any(n.startswith(("Mul", "_mul")) for n in names)
        self.mean, self.std = (0.0, 1.0) if inside else (127.5, 127.5)

    def embed_batch(self, crops: np.ndarray) -> np.ndarray:
        import cv2  # noqa: PLC0415

        crops = list(crops)
        if not crops:
            return np.zeros((0, self.dim), np.float32)
        if crops[0].shape[0] != self.size:
            crops = [cv2.resize(c, (self.size, self.size)) for c in crops]
        blob = (np.stack(crops)[..., ::-1].astype(np.float32) - self.mean) / self.std
        blob = np.ascontiguousarray(blob.transpose(0, 3, 1, 2))
        feats = [self.session.run(None, {self.input_name: blob[i:i + self.batch]})[0]
                 for i in range(0, len(blob), self.batch)]
        return l2_normalise(np.concatenate(feats))
