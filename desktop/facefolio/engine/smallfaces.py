"""Looking closer: faces too small for the 640 px view, and faces in a box the user drew."""
from __future__ import annotations

import numpy as np

from .images import LoadedImage, load_finer

Detection = tuple[np.ndarray, np.ndarray, float]


def search(detector, image: LoadedImage, found: list[Detection]) -> list[Detection]:
    """Faces the 640 px view missed (original coordinates); none yet."""
    return []


def iou(a, b) -> float:
    ax, ay, aw, ah = (float(v) for v in a)
    bx, by, bw, bh = (float(v) for v in b)
    iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def region(image: LoadedImage, box, margin: float, min_px: float) -> tuple[LoadedImage, np.ndarray, tuple[int, int]]:
    """Pixels around ``box`` (original coordinates) grown by ``margin`` box sizes on every
    side, from a decode where the box is at least ``min_px`` wide when one can be made.

    Returns (source image, region pixels, region origin in the source's pixels).
    """
    x, y, w, h = (float(v) for v in box)
    src = image
    if w / image.scale < min_px and image.refinable:
        src = load_finer(image, max(1.0, w / min_px))
    s = src.scale
    H, W = src.pixels.shape[:2]
    x0 = int(max(0, (x - margin * w) / s))
    y0 = int(max(0, (y - margin * h) / s))
    x1 = int(min(W, np.ceil((x + w + margin * w) / s)))
    y1 = int(min(H, np.ceil((y + h + margin * h) / s)))
    return src, src.pixels[y0:y1, x0:x1], (x0, y0)


def find_in_box(detector, image: LoadedImage, box, min_iou: float = 0.3) -> Detection | None:
    """The detected face that best overlaps ``box`` (original coordinates), if any."""
    src, pixels, (x0, y0) = region(image, box, margin=0.6, min_px=80.0)
    if pixels.shape[0] < 8 or pixels.shape[1] < 8:
        return None
    # The box spans about 1/2.2 of the region: a 320 px view shows it ~145 px wide.
    dets = detector.detect(pixels, long_side=320)
    best, best_iou = None, min_iou
    for b, kps, score in dets:
        ob = np.array([b[0] + x0, b[1] + y0, b[2], b[3]], np.float32) * np.float32(src.scale)
        ok = (kps + np.array([x0, y0], np.float32)) * np.float32(src.scale)
        overlap = iou(ob, box)
        if overlap >= best_iou:
            best, best_iou = (ob, ok.astype(np.float32), score), overlap
    return best
