"""Face boxes, (x, y, w, h) in a photo's pixels, detections, and how much two boxes overlap."""
from __future__ import annotations

import numpy as np

Box = tuple[float, float, float, float]
# One detection as the detectors give it: box (x, y, w, h), five landmarks (5 x 2), score.
Detection = tuple[np.ndarray, np.ndarray, float]


def iou(a, b) -> float:
    """Intersection over union of two boxes: 1.0 the same box, 0.0 apart (or an empty box)."""
    ax, ay, aw, ah = (float(v) for v in a)
    bx, by, bw, bh = (float(v) for v in b)
    iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0
