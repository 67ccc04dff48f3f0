"""Age and gender from an insightface pack's own genderage.onnx, when that pack is chosen.

insightface's ``model_zoo.attribute.Attribute`` reduced to what it computes, without its
``face_align`` (which imports scikit-image): the face box's centre, scaled so 1.5x the box's
longer side fills the 96 px input, no rotation; RGB; (x - mean) / std with mean 0, std 1
for graphs converted from mxnet (their first nodes normalise), else 127.5 / 128; outputs
(female, male, age / 100). The graph gives one age, no distribution: the interval is the
age itself. Its licence is the pack's: non-commercial research only.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from .estimate import Estimate
from .insightface_pack import pack_dir
from .runtime import CPU, shared_session

LABELS = ("female", "male")


def genderage_file(pack: str, root: Path | None = None) -> Path | None:
    """The pack's genderage graph: ``genderage.onnx``, or None when the pack has none."""
    path = pack_dir(pack, root) / "genderage.onnx"
    return path if path.is_file() else None


def _box(face) -> np.ndarray:
    box = getattr(face, "box", None)
    if box is None:
        box = face[0]
    return np.asarray(box, np.float64).reshape(4)  # x, y, w, h


class InsightFaceGenderAge:
    def __init__(self, path: Path, pack: str, threads: int = 1,
                 providers: list[str] | None = None) -> None:
        import onnx  # noqa: PLC0415

        self.session = shared_session(path, threads, providers or [CPU])
        inp = self.session.get_inputs()[0]
        self.input_name, self.size = inp.name, int(inp.shape[2])
        if self.session.get_outputs()[0].shape[-1] != 3:
            raise ValueError(f"{path} is not a gender/age graph (its output is not 3 values)")
        # insightface's own test (attribute.py) for the input normalisation.
        nodes = onnx.load(str(path), load_external_data=False).graph.node[:8]
        sub = any(n.name.startswith(("Sub", "_minus")) for n in nodes)
        mul = any(n.name.startswith(("Mul", "_mul")) for n in nodes)
        if any(i < 3 and n.name == "bn_data" for i, n in enumerate(nodes)):
            sub = mul = True
        self.mean, self.std = (0.0, 1.0) if sub and mul else (127.5, 128.0)
        self.source = f"insightface {pack} genderage.onnx"

    def crop(self, bgr: np.ndarray, face) -> np.ndarray:
        x, y, w, h = _box(face)
        s = self.size / (max(w, h) * 1.5)
        cx, cy = (x + w / 2) * s, (y + h / 2) * s
        m = np.array([[s, 0, self.size / 2 - cx], [0, s, self.size / 2 - cy]])
        return cv2.warpAffine(bgr, m, (self.size, self.size), borderValue=0.0)

    def estimate(self, bgr: np.ndarray, faces: Sequence, tasks: tuple[str, ...] = ()
                 ) -> list[Estimate]:
        """Both, whatever ``tasks`` asks: one small graph answers both at once."""
        if not len(faces):
            return []
        crops = np.stack([self.crop(bgr, f) for f in faces])[..., ::-1]  # BGR -> RGB
        blob = (crops.astype(np.float32) - self.mean) / self.std
        blob = np.ascontiguousarray(blob.transpose(0, 3, 1, 2))
        preds = np.concatenate([self.session.run(None, {self.input_name: blob[i:i + 1]})[0]
                                for i in range(len(blob))])
        out = []
        for p in preds:
            g = np.exp(p[:2] - p[:2].max())
            g /= g.sum()  # the graph gives scores; their softmax reads as a confidence
            k = int(p[1] > p[0])
            age = float(p[2] * 100)
            out.append(Estimate(age=age, age_low=age, age_high=age, gender=LABELS[k],
                                gender_confidence=float(g[k]), source=self.source))
        return out
