"""dlib's face chips (``get_face_chip_details`` + ``extract_image_chip``) without dlib.

The age and gender networks (agegender.py) were trained on chips cut this way: a similarity
transform fitted from 5 landmarks to dlib's template with 0.2 padding, the source first
halved through an image pyramid until the face is at most twice the chip's side, then
bilinear sampling. Skipping the pyramid aliases a 32 px chip cut from a 300 px face.

dlib's 5-point model marks the outer and inner corner of each eye and the base of the nose;
YuNet marks the eye centres, the nose tip and the mouth corners. `YUNET_TEMPLATE` places
YuNet's points in dlib's template frame: the mean position of YuNet's landmarks mapped
through the chip transform dlib's own landmarks give, over lfw-train faces (not the sets the
accuracy is measured on): python tests/benchmarks/agegender_dlib.py --calibrate.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from .align import similarity

# dlib/image_transforms/interpolation.h, get_face_chip_details: the 5-point template in the
# unit square, in dlib's part order (eye corners of the viewer's right eye, outer then inner;
# of the viewer's left eye, outer then inner; nose base).
DLIB_TEMPLATE = np.array([[0.8595674595992, 0.2134981538014],
                          [0.6460604764104, 0.2289674387677],
                          [0.1205750620789, 0.2137274526848],
                          [0.3340850613712, 0.2290642403242],
                          [0.4901123135679, 0.6277975316475]])
# YuNet's order: viewer's-left eye, viewer's-right eye, nose tip, mouth corners (left, right).
# Measured, see the module docstring: the mean over 1,985 lfw-train faces (sd 0.02-0.06).
YUNET_TEMPLATE = np.array([[0.2316, 0.2024],
                           [0.7618, 0.2064],
                           [0.4970, 0.5233],
                           [0.2658, 0.7778],
                           [0.7220, 0.7827]])
PADDING = 0.2


def chip_geometry(points: np.ndarray, template: np.ndarray, size: int,
                  padding: float = PADDING) -> tuple[np.ndarray, float, float]:
    """dlib's chip_details: centre, angle and scale (image px per chip px) of the chip."""
    chip_pts = (padding + np.asarray(template, np.float64)) / (2 * padding + 1) * size
    m = similarity(chip_pts, np.asarray(points, np.float64))  # chip -> image
    p = m[:, :2] @ np.array([1.0, 0.0])
    angle, scale = math.atan2(p[1], p[0]), float(np.hypot(*p))
    centre = m[:, :2] @ np.array([size / 2.0, size / 2.0]) + m[:, 2]
    return centre, angle, scale


def extract_chip(pixels: np.ndarray, points: np.ndarray, template: np.ndarray, size: int,
                 padding: float = PADDING) -> np.ndarray:
    """The size x size chip of the face whose landmarks (``pixels``' coordinates) are
    ``points`` in ``template``'s order. Channels are kept as they come."""
    return extract_chips(pixels, points, template, (size,), padding)[0]


def extract_chips(pixels: np.ndarray, points: np.ndarray, template: np.ndarray,
                  sizes: tuple[int, ...], padding: float = PADDING) -> list[np.ndarray]:
    """One chip per size, as dlib cuts each alone, from one shared pyramid.

    dlib grows its region by 2, 6, 14, ... (2^(n+2) - 2) px for n levels, so the regions of
    two chip sizes differ by a multiple of 2^(n+2): every level the smaller one uses sits on
    the same pixel grid in the larger region, and sharing is exact. A region cut off by the
    photo's top or left edge breaks that: those chips are cut one by one.
    """
    geo = []
    for size in sizes:
        centre, angle, scale = chip_geometry(points, template, size, padding)
        # dlib's centered_drect: the chip's corner pixels land on a rect of side size*scale-1.
        side = size * scale - 1.0
        levels = 0
        while (side / 2.0 ** (levels + 1)) ** 2 > size * size:
            levels += 1  # halve while the halved face still has more pixels than the chip
        geo.append((size, centre, angle, side, levels))
    _, centre, angle, side, top = max(geo, key=lambda g: g[4])
    cos, sin = math.cos(angle), math.sin(angle)
    rot = np.array([[cos, -sin], [sin, cos]])
    # The region dlib works on: the rotated rect grown by 2, 6, 14, ... px for the filter.
    grow = 2.0 ** (top + 2) - 2
    ext = np.abs(np.array([[-1, -1], [1, -1], [-1, 1], [1, 1]]) * side / 2 @ rot.T).max(0)
    x0, y0 = (int(np.floor(v + 0.5)) for v in centre - ext - grow)
    if min(x0, y0) < 0 and len(geo) > 1:
        # Cut off at the photo's top or left edge, each size's region would start at 0 or
        # not depending on its own margin: the shared grid would not be dlib's. Cut apart.
        return [extract_chips(pixels, points, template, (g[0],), padding)[0] for g in geo]
    x0, y0 = max(x0, 0), max(y0, 0)
    x1 = min(int(np.floor(centre[0] + ext[0] + grow + 0.5)), pixels.shape[1] - 1) + 1
    y1 = min(int(np.floor(centre[1] + ext[1] + grow + 0.5)), pixels.shape[0] - 1) + 1
    if x1 <= x0 or y1 <= y0:  # the face lies wholly outside the photo
        return [np.zeros((g[0], g[0]) + pixels.shape[2:], pixels.dtype) for g in geo]
    # Grey levels x 256 in uint16: cv2's integer pyramid is then exact, and dropping the low
    # byte truncates each level to whole grey levels as dlib's integer pixels are (rounding
    # instead leaves every level half a grey level brighter). Half the work of float32.
    pyramid = [pixels[y0:y1, x0:x1].astype(np.uint16) << 8]
    for _ in range(top):
        src = pyramid[-1]
        if min(src.shape[:2]) < 4:
            break
        # dlib's pyramid_down<2>: the same 5-tap [1 4 6 4 1] filter as cv2.pyrDown, its
        # pixel j being pyrDown's j + 1, keeping only the (n - 3) // 2 pixels whose filter
        # lies wholly inside.
        h, w = (src.shape[0] - 3) // 2, (src.shape[1] - 3) // 2
        pyramid.append(cv2.pyrDown(src)[1:h + 1, 1:w + 1] & 0xFF00)
    return [_sample(pyramid, size, c - (x0, y0), side, min(levels, len(pyramid) - 1), rot,
                    pixels.dtype)
            for size, c, _, side, levels in geo]


def _sample(pyramid: list[np.ndarray], size: int, c: np.ndarray, side: float, level: int,
            rot: np.ndarray, dtype) -> np.ndarray:
    src = pyramid[level]
    for _ in range(level):
        # dlib's bookkeeping of where a point goes down one level, bias included: the
        # networks learnt from chips cut with it.
        c, side = c / 2.0 - (1.25, 0.75), side / 2.0
    half = side / 2.0
    # Chip corners (0,0), (size-1,0), (0,size-1) -> the rect's corners rotated about its
    # centre, as dlib's extract_image_chips fits its affine map.
    corners = np.array([[-half, -half], [half, -half], [-half, half]]) @ rot.T + c
    chip_pts = np.array([[0, 0], [size - 1, 0], [0, size - 1]], np.float32)
    m = cv2.getAffineTransform(chip_pts, corners.astype(np.float32))
    chip = cv2.warpAffine(src, m, (size, size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    # dlib's bilinear sampling gives black where any of the 4 neighbours is outside.
    grid = np.mgrid[0:size, 0:size][::-1].reshape(2, -1).astype(np.float64)
    sx, sy = m[:, :2] @ grid + m[:, 2:]
    outside = ((sx < 0) | (sy < 0) | (np.floor(sx) + 1 > src.shape[1] - 1)
               | (np.floor(sy) + 1 > src.shape[0] - 1)).reshape(size, size)
    chip[outside] = 0
    return (chip >> 8).astype(dtype)
