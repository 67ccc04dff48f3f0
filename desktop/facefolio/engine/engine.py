"""FaceEngine: photo pixels in, faces (box, landmarks, quality, embedding) out.

One FaceEngine is used by one thread at a time (its detector keeps per-call state); make one
per worker thread, ``get_engine`` caches them per thread. The ONNX Runtime sessions under
them are shared by the whole process (runtime.shared_session).

Per photo: the detector looks at a 640 px view of the decoded pixels; where that view shows
signs of faces too small for it, `smallfaces` looks closer; faces seen small get their
landmarks placed again on the face alone (`refine`), and every face is aligned from the
finest pixels worth having for it (a second, finer decode of the photo when a face is too
small in the first). `analyze_many` embeds the crops of several photos in shared batches.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from . import quality, refine, smallfaces
from .align import ALIGNED_SIZE, align, box_landmarks
from .boxes import Detection
from .errors import ModelError
from .images import LoadedImage, load_finer
from .packs import DEFAULT_PACK, PACKS, PackInfo
from .runtime import choose_providers, on_gpu, shared_session
from .yunet import INPUT_SIZE

# A face is aligned from pixels where its box is at least this wide: the 112 px crop holds
# the face box at 0.694 of its width (align.FACE_BOX), i.e. 78 px; fewer means upsampling.
EMBED_MIN_PX = 78.0



@dataclass(frozen=True)
class Face:
    box: tuple[float, float, float, float]  # x, y, w, h in original image pixels
    landmarks: np.ndarray  # 5x2 float32, original pixels: r-eye, l-eye, nose, r-mouth, l-mouth
    score: float  # detector confidence (0 for a box drawn by the user with no face found in it)
    quality: float  # 0..1: size, sharpness, frontal pose
    embedding: np.ndarray  # float32, L2-normalised, ``info.dim`` values


# The detector's score a face needs. At 0.60 (before) bench_false_faces.py counted 15 false
# faces in 699 photos with no face or one (4.3 per 200); at 0.70, 3 (0.86 per 200), with the
# same 2 real faces missed and bench_detect.py still finding 98.2% / 100% of faces 32-48 px
# wide and 99.5% / 99.7% of wider ones (seeds 0 / 1). Settings.det_threshold's default.
DEFAULT_DET_THRESHOLD = 0.7


class FaceEngine:
    def __init__(self, pack: str = DEFAULT_PACK, *, det_threshold: float = DEFAULT_DET_THRESHOLD,
                 min_face: int = 20, providers: list[str] | None = None,
                 threads: int = 0, small_faces: bool = True) -> None:
        if pack not in PACKS:
            raise ModelError(f"unknown model pack '{pack}' (known: {', '.join(PACKS)})")
        self.info: PackInfo = PACKS[pack]
        self.min_face = min_face
        self.small_faces = small_faces
        self.providers = list(providers) if providers else choose_providers()
        self.gpu = on_gpu(self.providers)
        if pack == "yunet-sface":
            from .models import SFACE_FILE, SFACE_SHA, YUNET_FILE, YUNET_SHA, converted_model
            from .sface import SFaceEmbedder
            from .yunet import YuNetDetector

            det_path = converted_model(YUNET_FILE, YUNET_SHA)
            rec_path = converted_model(SFACE_FILE, SFACE_SHA)
            self._detector = YuNetDetector(shared_session(det_path, threads, self.providers),
                                           det_threshold)
            # Batches pay on a GPU only: on the CPU one crop at a time was as fast or faster
            # (29.0 ms a face at batch 1, 31.8 at 8, 32.6 at 32, one thread; the
            # "inference_profile" of python tests/benchmarks/bench_scan.py).
            self._recogniser = SFaceEmbedder(shared_session(rec_path, threads, self.providers),
                                             max_batch=64 if self.gpu else 1)
            self.model_files = (det_path, rec_path)
        else:
            from .insightface_pack import InsightFacePack

            ipack = InsightFacePack(pack, det_threshold=det_threshold,
                                    providers=self.providers, threads=threads)
            self._detector = self._recogniser = ipack
            self.model_files = ipack.model_files

    # -- the stages -----------------------------------------------------------------------
    def detect(self, image: LoadedImage) -> list[Detection]:
        """Boxes (x, y, w, h) and landmarks in DECODED pixel coordinates, best first."""
        return self._detector.detect(image.pixels)

    def find(self, image: LoadedImage, seen: list[Detection] | None = None
             ) -> tuple[list[Detection], LoadedImage]:
        """Every face in the photo, small ones too, in ORIGINAL pixel coordinates; and the
        finest decode of the photo made on the way (``image`` itself when none was).

        ``seen``: the first pass's detections (decoded pixels, `first_passes`), if made.
        """
        th = self._detector.det_threshold
        if seen is None:
            seen = self.first_passes([image])[0]
        seen = [_scaled(d, image.scale) for d in seen]
        dets = [d for d in seen if d[2] >= th]
        scales = [INPUT_SIZE / max(image.pixels.shape[:2]) / image.scale] * len(dets)
        finer = image
        if self.small_faces:
            dets, scales, finer = smallfaces.search(self._detector, image, seen, dets)
        keep = [i for i, d in enumerate(dets) if min(d[0][2], d[0][3]) >= self.min_face]
        dets, scales = [dets[i] for i in keep], [scales[i] for i in keep]
        finer = self._finest_needed(finer, dets)
        return refine.refine(self._detector, finer, dets, scales), finer

    def _finest_needed(self, image: LoadedImage, dets: list[Detection]) -> LoadedImage:
        """``image``, or one finer decode of it where every face is >= EMBED_MIN_PX wide
        (as far as the format and the original allow)."""
        need = [float(d[0][2]) for d in dets if d[0][2] / image.scale < EMBED_MIN_PX]
        if not need or not image.refinable:
            return image
        return load_finer(image, max(1.0, min(need) / EMBED_MIN_PX))

    def first_passes(self, images: list[LoadedImage]) -> list[list[Detection]]:
        """The 640 px pass of each photo, down to the small-face evidence threshold.

        NMS is greedy by score, so the faces above the detection threshold are exactly
        those a pass at that threshold gives; the weaker rest is evidence (smallfaces.py).
        On a GPU the photos are run in batches of same-sized views.
        """
        th = self._detector.det_threshold
        low = min(th, smallfaces.CANDIDATE_SCORE) if self.small_faces else th
        if self.gpu and len(images) > 1:
            return self._detector.detect_many([i.pixels for i in images], threshold=low)
        return [self._detector.detect(i.pixels, threshold=low) for i in images]

    def embed_batch(self, crops: np.ndarray) -> np.ndarray:
        """Aligned 112x112 BGR crops -> L2-normalised embeddings (N x dim)."""
        return self._recogniser.embed_batch(crops)

    def crops(self, image: LoadedImage, dets: list[Detection],
              finer: LoadedImage | None = None) -> np.ndarray:
        """Aligned crops of ``dets`` (original coordinates), each from the finest useful pixels.

        A face is aligned from the coarsest of ``image`` and ``finer`` where it is at least
        EMBED_MIN_PX wide, else from the finest (`find` returns the ``finer`` to pass).
        """
        if not dets:
            return np.zeros((0, ALIGNED_SIZE, ALIGNED_SIZE, 3), np.uint8)
        have = sorted({id(i): i for i in (image, finer) if i is not None}.values(),
                      key=lambda i: -i.scale)  # coarsest first
        sources = [next((i for i in have if box[2] / i.scale >= EMBED_MIN_PX), have[-1])
                   for box, _, _ in dets]
        return np.stack([align(src.pixels, kps / src.scale)
                         for src, (_, kps, _) in zip(sources, dets)])

    # -- whole photos ---------------------------------------------------------------------
    def analyze(self, image: LoadedImage) -> list[Face]:
        return self.analyze_many([image])[0]

    def analyze_many(self, images: list[LoadedImage]) -> list[list[Face]]:
        """Faces of several photos, their crops embedded in shared batches (largest first)."""
        found, crops = [], []
        for image, seen in zip(images, self.first_passes(images)):
            dets, finer = self.find(image, seen)
            found.append(dets)
            crops.append(self.crops(image, dets, finer))
            del finer  # a full-resolution decode is not kept past its photo
        flat = np.concatenate(crops)
        embs = self.embed_batch(flat) if len(flat) else np.zeros((0, self.info.dim), np.float32)
        out, at = [], 0
        for dets, cs in zip(found, crops):
            out.append(_faces(dets, cs, embs[at:at + len(dets)], detected=True))
            at += len(dets)
        return out

    def embed_box(self, image: LoadedImage, box) -> Face:
        """A face for a box the user drew (original pixels): landmarks from the detector run
        on the region around the box when it finds a face there, else from the box alone."""
        x, y, w, h = (float(v) for v in box)
        if w <= 1 or h <= 1:
            raise ValueError(f"face box too small: {w:.0f}x{h:.0f} pixels")
        det = refine.find_in_box(self._detector, image, (x, y, w, h))
        if det is None:
            det = (np.array([x, y, w, h], np.float32), box_landmarks((x, y, w, h)), 0.0)
        crops = self.crops(image, [det], self._finest_needed(image, [det]))
        return _faces([det], crops, self.embed_batch(crops))[0]


def _scaled(det: Detection, s: float) -> Detection:
    box, kps, score = det
    return box.astype(np.float32) * np.float32(s), (kps * s).astype(np.float32), score


def _faces(dets: list[Detection], crops: np.ndarray, embs: np.ndarray,
           detected: bool = False) -> list[Face]:
    """`detected`: found by the detector alone (not a box the user drew), so its score says
    how sure a face it is (quality.SURE_SCORE)."""
    faces = []
    for (box, kps, score), crop, emb in zip(dets, crops, embs):
        q = quality.face_quality(float(box[2]), float(box[3]), crop, kps,
                                 float(score) if detected else None)
        faces.append(Face(box=tuple(float(v) for v in box), landmarks=kps.astype(np.float32),
                          score=float(score), quality=q, embedding=emb))
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


__all__ = ["Face", "FaceEngine", "get_engine", "EMBED_MIN_PX"]
