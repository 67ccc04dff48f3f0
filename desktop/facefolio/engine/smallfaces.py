"""Looking closer: faces too small for the 640 px view.

The first pass sees a 12 MP photo at 640 px, so a 48 px face is 8 px there: alone it finds
0-9% of faces 32-48 px wide and 48-69% of 48-64 px. Looking at every photo at half
resolution finds them all, but a 2000x1500 view is ten times the pixels of 640x480. What the first pass gives for
free is evidence: responses between 0.1 and the detection threshold, a few view pixels wide,
are where small faces are; a photo with no face at all at 640 px is probed once more at a
quarter of its size. A candidate is confirmed on the pixels at hand (its region enlarged),
and only then does the photo get the closer pass, on a full-resolution decode seen at half
of it; the same decode gives the small faces' crops (refine.py places their landmarks).

Measured (python tests/benchmarks/bench_detect.py --seed 0, then --seed 1; 40 group photos
each): 100% of faces found in every width bin from 32 px (55 and 150 faces of 32-48 px),
2 false detections each; the closer pass ran on 17 and 32 of 40 group photos, on 0 of 40
single-face photos and 0 of 10 empty ones. Decode + detection + crops cost 0.99-1.01x the
first pass alone on single-face photos and 1.7x on empty ones (the probe, ~33 ms).
"""
from __future__ import annotations

import numpy as np

from .boxes import Detection, iou
from .images import LoadedImage, load_finer
from .refine import detect_around
from .yunet import INPUT_SIZE, NMS_IOU

# Evidence of a small face: a response above CANDIDATE_SCORE narrower than TRIGGER_PX
# (original pixels; 12.8 px in the 640 px view of a 4000 px photo).
CANDIDATE_SCORE = 0.1
TRIGGER_PX = 80.0
MAX_CONFIRM = 8  # candidates looked at before deciding there is no small face
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
           ) -> tuple[list[Detection], list[float], LoadedImage]:
    """Faces of the photo including small ones (original coordinates), given the first pass
    (``seen``: every response down to CANDIDATE_SCORE, ``faces``: those above the detection
    threshold, both in original coordinates).

    Returns the faces, for each the scale of the view that placed its landmarks (view
    pixels per original pixel), and the finest decode made on the way.
    """
    longest = max(image.width, image.height)
    first = INPUT_SIZE / max(image.pixels.shape[:2]) / image.scale
    if longest * DETAIL_FRACTION <= DETAIL_MIN_SIDE:
        return faces, [first] * len(faces), image
    evidence = list(seen)
    if not faces:
        probe_side = int(min(PROBE_MAX_SIDE, longest * PROBE_FRACTION,
                             max(image.pixels.shape[:2])))
        if probe_side > INPUT_SIZE * 1.2:
            s = np.float32(image.scale)
            evidence = [(b * s, k * s, sc) for b, k, sc in detector.detect(
                image.pixels, long_side=probe_side, threshold=CANDIDATE_SCORE)]
    tiny = sorted((d for d in evidence if d[0][2] < TRIGGER_PX), key=lambda d: -d[2])
    # Confirmed first, on the pixels at hand: the region around a candidate enlarged until
    # it would be 64 px wide. A false candidate (a pattern on a shirt) costs one detector
    # run on a small input here instead of a full decode and a pass at half resolution.
    if not any(detect_around(detector, image, d[0], 64.0) for d in tiny[:MAX_CONFIRM]):
        return faces, [first] * len(faces), image
    fine, finer = detail_pass(detector, image)
    coarse = [d for d in faces if all(iou(d[0], f[0]) < NMS_IOU for f in fine)]
    # Where both passes found a face, the finer pass's detection (landmarks placed on more
    # pixels) is kept.
    fine_factor = min(detail_side(image), max(finer.pixels.shape[:2])) / longest
    return fine + coarse, [fine_factor] * len(fine) + [first] * len(coarse), finer


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
