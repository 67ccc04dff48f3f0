"""insightface model packs (SCRFD + ArcFace 512-d) through insightface's own loaders.

insightface downloads a missing pack by itself; we check the folder first so that neither
import nor tests ever reach the network. Downloading is an explicit user action elsewhere.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .models import ModelError
from .packs import insightface_root


def pack_dir(name: str, root: Path | None = None) -> Path:
    return (root or insightface_root()) / "models" / name


def is_installed(name: str, root: Path | None = None) -> bool:
    d = pack_dir(name, root)
    return d.is_dir() and any(d.glob("*.onnx"))


class InsightFacePack:
    def __init__(self, name: str, *, det_threshold: float, providers: list[str], sess_options,
                 root: Path | None = None) -> None:
        root = root or insightface_root()
        if not is_installed(name, root):
            raise ModelError(
                f"model pack '{name}' is not installed (expected in {pack_dir(name, root)}); "
                "download it from the model settings, or pick the default pack 'yunet-sface'"
            )
        from insightface.app import FaceAnalysis

        self.app = FaceAnalysis(
            name=name, root=str(root), allowed_modules=["detection", "recognition"],
            providers=providers,
        )
        if sess_options is not None:
            # insightface's get_model drops sess_options; rebuild sessions to honour threads.
            import onnxruntime as ort

            for model in self.app.models.values():
                model.session = ort.InferenceSession(
                    model.model_file, sess_options=sess_options, providers=providers
                )
        ctx = 0 if any(p != "CPUExecutionProvider" for p in providers) else -1
        self.app.prepare(ctx_id=ctx, det_thresh=det_threshold, det_size=(640, 640))
        self.recogniser = self.app.models["recognition"]

    def detect(self, bgr: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, float]]:
        bboxes, kpss = self.app.det_model.detect(bgr, max_num=0, metric="default")
        out = []
        for (x1, y1, x2, y2, score), kps in zip(bboxes, kpss):
            box = np.array([x1, y1, x2 - x1, y2 - y1], np.float32)
            out.append((box, np.asarray(kps, np.float32), float(score)))
        return out

    def embed_batch(self, crops: np.ndarray) -> np.ndarray:
        from .sface import l2_normalise

        crops = list(crops)
        if not crops:
            return np.zeros((0, 512), np.float32)
        return l2_normalise(self.recogniser.get_feat(crops))
