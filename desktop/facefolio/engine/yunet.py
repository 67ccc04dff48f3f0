"""YuNet face detector (2023mar) run directly through ONNX Runtime.

The graph has a fixed 1x3x640x640 input of raw BGR 0-255 values (OpenCV's FaceDetectorYN
feeds ``blobFromImage`` without scaling), so we letterbox into 640x640 and decode the
anchor-free heads for strides 8/16/32 exactly as OpenCV's ``face_detect.cpp`` does.
"""
from __future__ import annotations

import cv2
import numpy as np

INPUT_SIZE = 640
STRIDES = (8, 16, 32)
NMS_IOU = 0.3

Detection = tuple[np.ndarray, np.ndarray, float]  # box (x, y, w, h), kps 5x2, score


class YuNetDetector:
    def __init__(self, session, det_threshold: float = 0.6) -> None:
        self.session = session
        self.det_threshold = det_threshold
        self.input_name = session.get_inputs()[0].name
        self.output_names = [o.name for o in session.get_outputs()]
        missing = {f"{k}_{s}" for k in ("cls", "obj", "bbox", "kps") for s in STRIDES}
        missing -= set(self.output_names)
        if missing:
            raise ValueError(f"not a YuNet graph: outputs {sorted(missing)} missing")
        # Anchor centres per stride are constant for the fixed input: compute them once.
        self._grid = {}
        for s in STRIDES:
            n = INPUT_SIZE // s
            rows, cols = np.divmod(np.arange(n * n, dtype=np.float32), n)
            self._grid[s] = np.stack([cols, rows], axis=1)

    def detect(self, bgr: np.ndarray) -> list[Detection]:
        """Faces in ``bgr`` (its own pixel coordinates), best score first."""
        h, w = bgr.shape[:2]
        f = INPUT_SIZE / max(h, w)
        nw, nh = max(1, round(w * f)), max(1, round(h * f))
        interp = cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR
        canvas = np.zeros((INPUT_SIZE, INPUT_SIZE, 3), np.uint8)
        # Pad bottom/right only, so detections map back with a single division by f.
        canvas[:nh, :nw] = cv2.resize(bgr, (nw, nh), interpolation=interp)
        blob = canvas.transpose(2, 0, 1)[None].astype(np.float32)
        out = dict(zip(self.output_names, self.session.run(self.output_names, {self.input_name: blob})))

        boxes, kpss, scores = [], [], []
        for s in STRIDES:
            cls = np.clip(out[f"cls_{s}"][0, :, 0], 0, 1)
            obj = np.clip(out[f"obj_{s}"][0, :, 0], 0, 1)
            score = np.sqrt(cls * obj)
            keep = score >= self.det_threshold
            if not keep.any():
                continue
            grid = self._grid[s][keep]
            bb = out[f"bbox_{s}"][0][keep]
            kp = out[f"kps_{s}"][0][keep].reshape(-1, 5, 2)
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
        idx = cv2.dnn.NMSBoxes(
            boxes_a.tolist(), scores_a.tolist(), self.det_threshold, NMS_IOU, top_k=5000
        )
        idx = np.asarray(idx, dtype=int).reshape(-1)
        order = idx[np.argsort(-scores_a[idx])]
        return [
            (boxes_a[i].astype(np.float32), kps_a[i].astype(np.float32), float(scores_a[i]))
            for i in order
        ]
