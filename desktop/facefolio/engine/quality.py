"""A 0..1 quality figure per face: is it big, sharp and frontal enough to trust?

Used to pick cover faces and by grouping (the detector's confidence caps it: SURE_SCORE): a
face below regroup.QUALITY_FLOOR never starts a group of its own and waits behind "Show
low-quality faces" (that floor is measured by tests/benchmarks/bench_groups.py --variant
quality_floor_0.70 and friends), so the figure only needs to rank faces sensibly, not to be
calibrated.
"""
from __future__ import annotations

import cv2
import numpy as np

# The recogniser sees 112 px crops; beyond that more pixels add little.
_FULL_SIZE = 112.0
# Where the sharpness term (variance of the Laplacian on the 112 px crop) nears 1: a scale set
# by eye on deepface-unit's crops, not a measured boundary; the floor above it is measured.
_SHARP_SCALE = 150.0


def size_score(box_w: float, box_h: float) -> float:
    return float(np.clip(min(box_w, box_h) / _FULL_SIZE, 0.0, 1.0))


def sharpness_score(aligned_bgr: np.ndarray) -> float:
    grey = cv2.cvtColor(aligned_bgr, cv2.COLOR_BGR2GRAY)
    var = float(cv2.Laplacian(grey, cv2.CV_64F).var())
    return float(1.0 - np.exp(-var / _SHARP_SCALE))


def frontal_score(kps: np.ndarray) -> float:
    """1 for a frontal face, towards 0 as yaw/pitch grow (from the 5 landmarks)."""
    kps = np.asarray(kps, dtype=np.float64)
    eye_r, eye_l, nose, mouth_r, mouth_l = kps
    axis = eye_l - eye_r
    d = float(np.hypot(*axis))
    if d < 1e-6:
        return 0.0
    ux = axis / d
    uy = np.array([-ux[1], ux[0]])
    # Work in the eye-line frame so that in-plane roll does not count as bad pose.
    eye_mid = (eye_r + eye_l) / 2
    mouth_mid = (mouth_r + mouth_l) / 2
    yaw = abs(float(np.dot(nose - eye_mid, ux))) / d  # nose off the eye midline
    vert = float(np.dot(mouth_mid - eye_mid, uy))
    nose_v = float(np.dot(nose - eye_mid, uy))
    # Nose about halfway between eyes and mouth when frontal; pitch moves it up or down.
    pitch = abs(nose_v / vert - 0.55) if abs(vert) > 1e-6 else 1.0
    return float(np.clip(1.0 - 1.6 * yaw - 1.2 * max(0.0, pitch - 0.1), 0.0, 1.0))


# What is not surely a face is not shown as one: a detection scored under SURE_SCORE gets at
# most UNSURE_QUALITY, under regroup.QUALITY_FLOOR (0.62), so it waits behind "Show
# low-quality faces", never starts a person, and stays searchable. Measured: the centred
# faces of lfw-train score 0.88 and up (all but 0.04% of them); of the faces at its photos'
# edges scored 0.60-0.70 many are hands, flags, maps and logos or cut-off halves of faces,
# from 0.70 to 0.80 mostly real faces; every false face of `bench_false_faces.py` (699
# photos) scored 0.60-0.83, none is shown; group-photo faces in their person
# (`bench_groups.py`) 98.9%, none in a wrong one.
SURE_SCORE = 0.80
UNSURE_QUALITY = 0.60


def face_quality(box_w: float, box_h: float, aligned_bgr: np.ndarray, kps: np.ndarray,
                 score: float | None = None) -> float:
    """`score`: the detector's confidence (None for a face the user drew: surely a face)."""
    # Weighted mean rather than a product: one weak factor lowers, but does not zero, a face.
    q = (
        0.3 * size_score(box_w, box_h)
        + 0.4 * sharpness_score(aligned_bgr)
        + 0.3 * frontal_score(kps)
    )
    if score is not None and score < SURE_SCORE:
        q = min(q, UNSURE_QUALITY)
    return float(np.clip(q, 0.0, 1.0))
