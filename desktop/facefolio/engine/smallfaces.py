"""Looking closer: faces too small for the 640 px view, and faces in a box the user drew.

The first pass sees a 12 MP photo at 640 px, so a 48 px face is 8 px there: alone it finds
0-9% of faces 32-48 px wide and 55-69% of 48-64 px. Looking at every photo at half
resolution finds them all but costs ~9x the detector time. What the first pass gives for
free is evidence: responses between 0.1 and the detection threshold, a few view pixels wide,
are where small faces are; and a photo with no face at all at 640 px is probed once more at
a quarter of its size. Only photos with such evidence get the closer pass, on the photo decoded
at full resolution and seen at half of it; the same decode gives the small faces' crops.

Measured (python tests/benchmarks/bench_detect.py --seed 0, then --seed 1; 40 group photos
each): found 100% of faces in every width bin from 32 px (55 and 150 faces of 32-48 px),
2 and 3 false detections; the closer pass ran on 18 and 32 of 40 group photos, on 1 of 40
single-face photos (a weak response beside a 584 px face), on 0 of 10 empty photos; decode +
detection + crops cost 1.16x the first pass alone on single-face photos and 1.4-1.55x on
empty ones (the probe). Crops of 32-48 px faces from the full-resolution decode are
recognised (nearest portrait centroid is their own person) 98-100% of the time, against
56-57% from the 1/4 decode the detector used.
"""
from __future__ import annotations

import numpy as np

from .images import LoadedImage, load_finer
from .yunet import INPUT_SIZE, NMS_IOU

Detection = tuple[np.ndarray, np.ndarray, float]

# Evidence of a small face: a response above CANDIDATE_SCORE narrower than TRIGGER_PX
# (original pixels; 12.8 px in the 640 px view of a 4000 px photo).
CANDIDATE_SCORE = 0.1
TRIGGER_PX = 80.0
# When the 640 px view shows no face at all, the photo may hold only tiny ones (a class
# photo taken from afar) that leave no trace at 640 px: a probe at PROBE_FRACTION of the
# original size (a 32 px face is 8 px there; for a 12 MP JPEG that is the 1/4 decode itself,
# not resized) looks again. At 0.18 it found 70 of the 150 faces of 32-48 px of
# `bench_detect.py --seed 1 --probe-fraction 0.18`, all of them from 0.2 on; at 0.22 (880 px,
# resized) it still missed the photo of 32 px faces in tests/test_engine_smallfaces.py.
PROBE_FRACTION = 0.25
PROBE_MAX_SIDE = 1280
# The closer pass sees the photo at this fraction of its original size, within these bounds
# (a 32 px face is then 16 px: YuNet finds those; 3072 px caps the cost of huge photos).
DETAIL_FRACTION = 0.5
DETAIL_MIN_SIDE = int(INPUT_SIZE * 1.25)  # no closer look is worth it below this
DETAIL_MAX_SIDE = 3072


def search(detector, image: LoadedImage, seen: list[Detection], faces: list[Detection]
           ) -> tuple[list[Detection], LoadedImage]:
    """Faces of the photo including small ones (original coordinates), given the first pass
    (``seen``: every response down to CANDIDATE_SCORE, ``faces``: those above the detection
    threshold, both in original coordinates); and the finest decode made on the way."""
    longest = max(image.width, image.height)
    if longest * DETAIL_FRACTION <= DETAIL_MIN_SIDE:
        return faces, image
    evidence = list(seen)
    if not faces:
        probe_side = int(min(PROBE_MAX_SIDE, longest * PROBE_FRACTION,
                             max(image.pixels.shape[:2])))
        if probe_side > INPUT_SIZE * 1.2:
            s = np.float32(image.scale)
            evidence = [(b * s, k * s, sc) for b, k, sc in detector.detect(
                image.pixels, long_side=probe_side, threshold=CANDIDATE_SCORE)]
    if not any(b[2] < TRIGGER_PX for b, _, _ in evidence):
        return faces, image
    fine, finer = detail_pass(detector, image)
    return merge(faces, fine), finer


def detail_side(image: LoadedImage) -> int:
    return int(min(DETAIL_MAX_SIDE, max(image.width, image.height) * DETAIL_FRACTION))


def detail_pass(detector, image: LoadedImage) -> tuple[list[Detection], LoadedImage]:
    """Faces of the whole photo seen at `detail_side` (original coordinates), and the finest
    decode made for it (reused for the crops of small faces)."""
    finer = load_finer(image, 1.0)
    side = min(detail_side(image), max(finer.pixels.shape[:2]))
    dets = detector.detect(finer.pixels, long_side=side)
    s = np.float32(finer.scale)
    return [(b * s, (k * s).astype(np.float32), score) for b, k, score in dets], finer


def merge(coarse: list[Detection], fine: list[Detection]) -> list[Detection]:
    """Union of two passes over one photo; where both found a face, the finer pass's
    detection (its landmarks are placed on more pixels) is kept."""
    out = list(fine)
    for det in coarse:
        if all(iou(det[0], f[0]) < NMS_IOU for f in fine):
            out.append(det)
    return out


def iou(a, b) -> float:
    ax, ay, aw, ah = (float(v) for v in a)
    bx, by, bw, bh = (float(v) for v in b)
    iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def region(image: LoadedImage, box, margin: float, min_px: float
           ) -> tuple[LoadedImage, np.ndarray, tuple[int, int]]:
    """Pixels around ``box`` (original coordinates) grown by ``margin`` box sizes on every
    side, from a decode where the box is at least ``min_px`` wide when one can be made.

    Returns (source image, region pixels, region origin in the source's pixels).
    """
    x, y, w, h = (float(v) for v in box)
    src = image
    if w / image.scale < min_px and image.refinable:
        src = load_finer(image, max(1.0, w / min_px))
    s = src.scale
    hgt, wid = src.pixels.shape[:2]
    x0 = int(max(0, (x - margin * w) / s))
    y0 = int(max(0, (y - margin * h) / s))
    x1 = int(min(wid, np.ceil((x + w + margin * w) / s)))
    y1 = int(min(hgt, np.ceil((y + h + margin * h) / s)))
    return src, src.pixels[y0:y1, x0:x1], (x0, y0)


def find_in_box(detector, image: LoadedImage, box, min_iou: float = 0.3) -> Detection | None:
    """The detected face that best overlaps ``box`` (original coordinates), if any."""
    src, pixels, (x0, y0) = region(image, box, margin=0.6, min_px=80.0)
    if pixels.shape[0] < 8 or pixels.shape[1] < 8:
        return None
    # The box spans about 1/2.2 of the region: a 320 px view shows it ~145 px wide.
    dets = detector.detect(pixels, long_side=320)
    best, best_iou = None, min_iou
    origin = np.array([x0, y0], np.float32)
    for b, kps, score in dets:
        ob = np.array([b[0] + x0, b[1] + y0, b[2], b[3]], np.float32) * np.float32(src.scale)
        overlap = iou(ob, box)
        if overlap >= best_iou:
            ok = ((kps + origin) * np.float32(src.scale)).astype(np.float32)
            best, best_iou = (ob, ok, score), overlap
    return best
