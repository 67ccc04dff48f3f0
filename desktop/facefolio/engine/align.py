"""Warp a face onto the 112x112 ArcFace template, from 5 landmarks or from a box alone.

The similarity transform is the closed-form least-squares fit (Umeyama 1991), the same fit
insightface's ``norm_crop`` gets from scikit-image, written here against numpy and OpenCV so
the default pack imports neither. OpenCV's ``estimateAffinePartial2D`` with LMEDS was tried
and rejected: it fits 2-point subsets, and on the 78 faces of deepface-unit its crops gave
embeddings with cosine 0.906 (min) / 0.992 (mean) to norm_crop's, against >= 0.999999 for
this fit (python tests/benchmarks/bench_detect.py --alignment).
"""
from __future__ import annotations

import cv2
import numpy as np

ALIGNED_SIZE = 112
# insightface face_align.arcface_dst: right eye, left eye, nose, right and left mouth corners
# (in the image: the subject's right eye is on the viewer's left).
TEMPLATE = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                     [41.5493, 92.3655], [70.7299, 92.2041]], np.float32)
# Where YuNet boxes a face on an aligned crop, as fractions of the crop (x, y, w, h): mean
# over 120 celebrity-dev crops upscaled 3x (python tests/benchmarks/groupset.py --calibrate).
# A box drawn without landmarks is mapped back to a crop through it.
FACE_BOX = (0.139, 0.086, 0.694, 0.948)


def similarity(src: np.ndarray, dst: np.ndarray = TEMPLATE) -> np.ndarray:
    """2x3 matrix of the rotation + uniform scale + shift taking ``src`` points to ``dst``."""
    src = np.asarray(src, np.float64).reshape(-1, 2)
    dst = np.asarray(dst, np.float64).reshape(-1, 2)
    src_mean, dst_mean = src.mean(0), dst.mean(0)
    s, d = src - src_mean, dst - dst_mean
    u, sig, vt = np.linalg.svd(d.T @ s / len(src))
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:  # a reflection is not a pose: undo it
        sign[1, 1] = -1
    rot = u @ sign @ vt
    var = s.var(0).sum()
    scale = float(np.trace(np.diag(sig) @ sign) / var) if var > 0 else 1.0
    m = np.zeros((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = dst_mean - scale * rot @ src_mean
    return m


def align(bgr: np.ndarray, kps: np.ndarray, size: int = ALIGNED_SIZE) -> np.ndarray:
    """The face whose 5 landmarks (in ``bgr``'s pixels) are ``kps``, as a size x size crop."""
    m = similarity(kps, TEMPLATE * (size / ALIGNED_SIZE))
    return cv2.warpAffine(bgr, m, (size, size), borderValue=0.0)


def box_landmarks(box) -> np.ndarray:
    """Template landmarks placed in a face box (x, y, w, h): alignment without a detector."""
    x, y, w, h = (float(v) for v in box)
    fx, fy, fw, fh = FACE_BOX
    side_x, side_y = w / fw, h / fh  # the aligned crop's side, from the box's width / height
    x0, y0 = x - fx * side_x, y - fy * side_y
    pts = TEMPLATE / ALIGNED_SIZE
    return np.stack([x0 + pts[:, 0] * side_x, y0 + pts[:, 1] * side_y], axis=1).astype(np.float32)
