"""YuNet face detector (2023mar) run directly through ONNX Runtime.

The graph takes raw BGR 0-255 values (OpenCV's FaceDetectorYN feeds ``blobFromImage`` without
scaling); we decode its anchor-free heads for strides 8/16/32 exactly as OpenCV's
``face_detect.cpp`` does. The converted graph (models.py) accepts any input size that is a
multiple of 32, so a 4:3 photo is seen as 640x480 instead of being letterboxed into 640x640,
and a region can be looked at in more detail by asking for a larger view.
"""
from __future__ import annotations

import cv2
import numpy as np

from .boxes import Detection

INPUT_SIZE = 640  # the long side of the default view
STRIDES = (8, 16, 32)
NMS_IOU = 0.3
# Views shrunk by less than this factor are resized with INTER_LINEAR, more with INTER_AREA.
# OpenCV's INTER_AREA takes a slow general path for a ratio like 1000 -> 640 px (several
# times the detector's own pre-processing). What it costs in faces (python tests/benchmarks/bench_detect.py --seed 1, and
# with --area-below 1.0): the first pass alone finds 48-64 px faces at 0.476 instead of
# 0.549 (seed 0: identical); with the closer pass for small faces both find all of them.
AREA_BELOW = 0.5



class YuNetDetector:
    def __init__(self, session, det_threshold: float = 0.7) -> None:
        self.session = session
        self.det_threshold = det_threshold
        inp = session.get_inputs()[0]
        self.input_name = inp.name
        self.output_names = [o.name for o in session.get_outputs()]
        missing = {f"{k}_{s}" for k in ("cls", "obj", "bbox", "kps") for s in STRIDES}
        missing -= set(self.output_names)
        if missing:
            raise ValueError(f"not a YuNet graph: outputs {sorted(missing)} missing")
        # A graph with a fixed 640x640 input (an older converter) still works, letterboxed.
        self.free_size = not all(isinstance(d, int) for d in inp.shape[2:])
        self._grids: dict[tuple[int, int], dict[int, np.ndarray]] = {}

    def view_shape(self, h: int, w: int, long_side: int = INPUT_SIZE) -> tuple[float, int, int]:
        """(scale factor, input height, input width) for an h x w image seen at long_side."""
        f = long_side / max(h, w)
        if not self.free_size:
            return f, INPUT_SIZE, INPUT_SIZE
        nh, nw = max(1, round(h * f)), max(1, round(w * f))
        return f, -(-nh // 32) * 32, -(-nw // 32) * 32

    def blob(self, bgr: np.ndarray, long_side: int = INPUT_SIZE) -> tuple[np.ndarray, float]:
        """The 1x3xHxW input for ``bgr`` and the factor from image to input pixels."""
        h, w = bgr.shape[:2]
        f, ih, iw = self.view_shape(h, w, long_side)
        nw, nh = max(1, round(w * f)), max(1, round(h * f))
        interp = cv2.INTER_AREA if f < AREA_BELOW else cv2.INTER_LINEAR
        canvas = np.zeros((ih, iw, 3), np.uint8)
        # Pad bottom/right only, so detections map back with a single division by f.
        canvas[:nh, :nw] = cv2.resize(bgr, (nw, nh), interpolation=interp) if f != 1 else bgr
        return canvas.transpose(2, 0, 1)[None].astype(np.float32), f

    def detect(self, bgr: np.ndarray, long_side: int = INPUT_SIZE,
               threshold: float | None = None) -> list[Detection]:
        """Faces in ``bgr`` (its own pixel coordinates), best score first."""
        blob, f = self.blob(bgr, long_side)
        return self.detect_blobs(blob, [f], threshold)[0]

    def detect_many(self, images: list[np.ndarray], long_side: int = INPUT_SIZE,
                    threshold: float | None = None, batch: int = 16) -> list[list[Detection]]:
        """`detect` for several images, run in batches of same-sized inputs (for a GPU: one
        launch per batch instead of one per photo; on a CPU it buys nothing)."""
        out: list[list[Detection]] = [[] for _ in images]
        groups: dict[tuple, list[tuple[int, np.ndarray, float]]] = {}
        for i, bgr in enumerate(images):
            blob, f = self.blob(bgr, long_side)
            groups.setdefault(blob.shape, []).append((i, blob, f))
        for items in groups.values():
            for at in range(0, len(items), batch):
                chunk = items[at:at + batch]
                dets = self.detect_blobs(np.concatenate([b for _, b, _ in chunk]),
                                         [f for _, _, f in chunk], threshold)
                for (i, _, _), d in zip(chunk, dets):
                    out[i] = d
        return out

    def detect_blobs(self, blob: np.ndarray, factors: list[float],
                     threshold: float | None = None) -> list[list[Detection]]:
        """Run a batch of same-sized inputs (N x 3 x H x W); one detection list per input."""
        outs = dict(zip(self.output_names,
                        self.session.run(self.output_names, {self.input_name: blob})))
        th = self.det_threshold if threshold is None else threshold
        grids = self._grid(blob.shape[2], blob.shape[3])
        return [self._decode(outs, i, grids, f, th) for i, f in enumerate(factors)]

    def _grid(self, h: int, w: int) -> dict[int, np.ndarray]:
        # Anchor centres per stride depend only on the input size: compute them once.
        grids = self._grids.get((h, w))
        if grids is None:
            grids = {}
            for s in STRIDES:
                rows, cols = np.divmod(np.arange((h // s) * (w // s), dtype=np.float32), w // s)
                grids[s] = np.stack([cols, rows], axis=1)
            self._grids[(h, w)] = grids
        return grids

    @staticmethod
    def _decode(outs: dict, i: int, grids: dict, f: float, th: float) -> list[Detection]:
        boxes, kpss, scores = [], [], []
        for s in STRIDES:
            cls = np.clip(outs[f"cls_{s}"][i, :, 0], 0, 1)
            obj = np.clip(outs[f"obj_{s}"][i, :, 0], 0, 1)
            score = np.sqrt(cls * obj)
            keep = score >= th
            if not keep.any():
                continue
            grid = grids[s][keep]
            bb = outs[f"bbox_{s}"][i][keep]
            kp = outs[f"kps_{s}"][i][keep].reshape(-1, 5, 2)
            centre = (grid + bb[:, :2]) * s
            size = np.exp(bb[:, 2:4]) * s
            boxes.append(np.hstack([centre - size / 2, size]))
            kpss.append((grid[:, None, :] + kp) * s)
            scores.append(score[keep])
        if not boxes:
            return []
        boxes_a = np.concatenate(boxes) / f
        kps_a = np.concatenate(kpss) / f
        scores_a = np.concatenate(scores)
        idx = cv2.dnn.NMSBoxes(boxes_a.tolist(), scores_a.tolist(), th, NMS_IOU, top_k=5000)
        idx = np.asarray(idx, dtype=int).reshape(-1)
        order = idx[np.argsort(-scores_a[idx])]
        return [(boxes_a[i].astype(np.float32), kps_a[i].astype(np.float32),
                 float(scores_a[i])) for i in order]
