"""Landmarks placed again on the face alone: for faces seen small, and for boxes users draw.

A face found in the 640 px view of a 12 MP photo may be 20 px wide there; its landmarks are
then off by a good fraction of an eye, and an aligned crop taken from full-resolution pixels
inherits the error. Running the detector once more on the region around the face, from the
finest decode, seen REFINE_FACE_PX wide, places them again. Measured on groupset.py photos
(python tests/benchmarks/bench_detect.py, and with --refine-view-px 0; seed 0): the mean
cosine between a found face's embedding and its source crop's (upscaled 3x) rises from
0.69 to 0.84 for faces 32-48 px wide and from 0.73 to 0.86 for 96-160 px; found faces whose
nearest portrait centroid is their own person go from 97.6% to 100% (32-48 px). Crops from
the 1/4 decode the detector used would give 0.29 and 60% for 32-48 px.
"""
from __future__ import annotations

import numpy as np

from .boxes import Detection, iou
from .images import LoadedImage, load_finer
from .yunet import INPUT_SIZE

# Landmarks placed in a view where the face was narrower than this are placed again...
REFINE_VIEW_PX = 40.0
# ... on the face seen this wide. Mean source similarity of 32-48 px faces at 48 / 64 / 160
# px: 0.824 / 0.841 / 0.843 (96-160 px: 0.858 / 0.863 / 0.878), for a detector input growing
# with the square (bench_detect.py --refine-face-px 48, default, 160).
REFINE_FACE_PX = 64.0
MARGIN = 0.6  # of the box's size, on every side: enough context for the detector


def refine(detector, src: LoadedImage, dets: list[Detection], view_scales: list[float]
           ) -> list[Detection]:
    """``dets`` (original coordinates) with box and landmarks re-placed where the view that
    found them showed the face narrower than REFINE_VIEW_PX; the score stays."""
    out = []
    for det, scale in zip(dets, view_scales):
        if det[0][2] * scale < REFINE_VIEW_PX:
            again = detect_around(detector, src, det[0], REFINE_FACE_PX)
            if again is not None:
                det = (again[0], again[1], det[2])
        out.append(det)
    return out


def find_in_box(detector, image: LoadedImage, box) -> Detection | None:
    """The detected face that best overlaps ``box`` (original coordinates), if any, from
    the finest pixels worth decoding for it (the box >= 80 px wide)."""
    w = float(box[2])
    src = image
    if w / image.scale < 80.0 and image.refinable:
        src = load_finer(image, max(1.0, w / 80.0))
    return detect_around(detector, src, box, None)


def detect_around(detector, src: LoadedImage, box, face_px: float | None,
                   min_iou: float = 0.3) -> Detection | None:
    """Detect in the region around ``box`` (original coordinates) of ``src``'s pixels, seen
    with the box ``face_px`` wide (None: at the region's own resolution, up to 640 px)."""
    x, y, w, h = (float(v) for v in box)
    s = src.scale
    hgt, wid = src.pixels.shape[:2]
    x0, y0 = int(max(0, (x - MARGIN * w) / s)), int(max(0, (y - MARGIN * h) / s))
    x1 = int(min(wid, np.ceil((x + w + MARGIN * w) / s)))
    y1 = int(min(hgt, np.ceil((y + h + MARGIN * h) / s)))
    pixels = src.pixels[y0:y1, x0:x1]
    if min(pixels.shape[:2]) < 8:
        return None
    longest = max(pixels.shape[:2])
    side = longest if face_px is None else longest * face_px * s / max(w, 1.0)
    dets = detector.detect(pixels, long_side=int(min(INPUT_SIZE, max(32, side))))
    best, best_iou = None, min_iou
    origin = np.array([x0, y0], np.float32)
    for b, kps, score in dets:
        ob = np.array([b[0] + x0, b[1] + y0, b[2], b[3]], np.float32) * np.float32(s)
        overlap = iou(ob, box)
        if overlap >= best_iou:
            best = (ob, ((kps + origin) * np.float32(s)).astype(np.float32), score)
            best_iou = overlap
    return best
