"""FaceEngine: photo pixels in, faces (box, landmarks, quality, embedding) out.

One FaceEngine is used by one thread at a time (ONNX Runtime sessions are thread-safe for
``run`` but our per-call buffers are not worth locking); make one per worker thread,
``get_engine`` caches them per thread.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from . import quality
from .images import LoadedImage
from .models import (
    SFACE_FILE, SFACE_SHA, YUNET_FILE, YUNET_SHA, ModelError, converted_model,
)
from .packs import DEFAULT_PACK, PACKS, PackInfo
from .sface import align

_PREFERRED_PROVIDERS = ("CUDAExecutionProvider", "CoreMLExecutionProvider")


@dataclass(frozen=True)
class Face:
    box: tuple[float, float, float, float]  # x, y, w, h in original image pixels
    landmarks: np.ndarray  # 5x2 float32, original pixels: r-eye, l-eye, nose, r-mouth, l-mouth
    score: float  # detector confidence
    quality: float  # 0..1: size, sharpness, frontal pose
    embedding: np.ndarray  # float32, L2-normalised, ``info.dim`` values


def default_providers() -> list[str]:
    import onnxruntime as ort

    available = ort.get_available_providers()
    return [p for p in _PREFERRED_PROVIDERS if p in available] + ["CPUExecutionProvider"]


class FaceEngine:
    def __init__(self, pack: str = DEFAULT_PACK, *, det_threshold: float = 0.6,
                 min_face: int = 20, providers: list[str] | None = None,
                 threads: int = 0) -> None:
        if pack not in PACKS:
            raise ModelError(f"unknown model pack '{pack}' (known: {', '.join(PACKS)})")
        import onnxruntime as ort

        self.info: PackInfo = PACKS[pack]
        self.min_face = min_face
        self.providers = list(providers) if providers else default_providers()
        so = ort.SessionOptions()
        if threads > 0:
            so.intra_op_num_threads = threads
        # ORT's worker threads spin-wait between runs by default: with decode and hashing
        # between inferences that burnt ~2x the CPU per photo (tests/benchmarks/bench_scan.py).
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        so.log_severity_level = 3
        if pack == "yunet-sface":
            from .sface import SFaceEmbedder
            from .yunet import YuNetDetector

            det_path = converted_model(YUNET_FILE, YUNET_SHA)
            rec_path = converted_model(SFACE_FILE, SFACE_SHA)
            self._detector = YuNetDetector(self._session(det_path, so), det_threshold)
            self._recogniser = SFaceEmbedder(str(rec_path), self._session(rec_path, so))
            self.model_files = (det_path, rec_path)
        else:
            from .insightface_pack import InsightFacePack

            ipack = InsightFacePack(pack, det_threshold=det_threshold,
                                    providers=self.providers, sess_options=so if threads else None)
            self._detector = self._recogniser = ipack
            self.model_files = ()

    def _session(self, path, so):
        import onnxruntime as ort

        try:
            return ort.InferenceSession(str(path), sess_options=so, providers=self.providers)
        except Exception as exc:
            raise ModelError(f"cannot load model {path}: {str(exc).splitlines()[0]}") from None

    def detect(self, image: LoadedImage) -> list[tuple[np.ndarray, np.ndarray, float]]:
        """Boxes (x, y, w, h) and landmarks in DECODED pixel coordinates, best first."""
        return self._detector.detect(image.pixels)

    def embed_batch(self, crops: np.ndarray) -> np.ndarray:
        """Aligned 112x112 BGR crops -> L2-normalised embeddings (N x dim)."""
        return self._recogniser.embed_batch(crops)

    def analyze(self, image: LoadedImage) -> list[Face]:
        s = image.scale
        dets = [d for d in self.detect(image) if min(d[0][2], d[0][3]) * s >= self.min_face]
        if not dets:
            return []
        crops = np.stack([align(image.pixels, kps) for _, kps, _ in dets])
        embs = self.embed_batch(crops)
        faces = []
        for (box, kps, score), crop, emb in zip(dets, crops, embs):
            box_o = box.astype(np.float64) * s
            kps_o = (kps * s).astype(np.float32)
            q = quality.face_quality(box_o[2], box_o[3], crop, kps_o)
            faces.append(Face(
                box=tuple(float(v) for v in box_o), landmarks=kps_o, score=score,
                quality=q, embedding=emb,
            ))
        faces.sort(key=lambda f: f.box[2] * f.box[3], reverse=True)
        return faces


_local = threading.local()


def get_engine(pack: str = DEFAULT_PACK, **kw) -> FaceEngine:
    """A FaceEngine for this thread, created once per (pack, options)."""
    cache = getattr(_local, "engines", None)
    if cache is None:
        cache = _local.engines = {}
    key = (pack, tuple(sorted((k, repr(v)) for k, v in kw.items())))
    if key not in cache:
        cache[key] = FaceEngine(pack, **kw)
    return cache[key]
