"""Camera RAW files through LibRaw (rawpy): the camera's own preview when it is large enough,
else a fast demosaic.

Most cameras embed a JPEG the size of the sensor (Canon, Nikon, Fujifilm, Pentax, phones'
DNG) or nearly; the detector wants faces of 32 px in a 12 MP photo, so a preview is used only
when its long side is at least `PREVIEW_MIN_SIDE` or the sensor's own. Otherwise the mosaic is
reduced 2x2 to one pixel (LibRaw's half-size mode: no interpolation, about 10x faster than
AHD), with the camera's white balance. Both stay within the memory budget (budget.py): the
need is stated before LibRaw unpacks a byte.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from .budget import BUDGET, PER_DECODE, fmt_bytes
from .errors import ImageError

PREVIEW_MIN_SIDE = 2000
# LibRaw's flip codes -> EXIF orientation
_FLIP_TO_EXIF = {0: 1, 3: 3, 5: 8, 6: 6}


@dataclass(frozen=True)
class RawDecode:
    rgb: np.ndarray  # RGB uint8, oriented
    width: int  # the developed image's oriented size (what the photo is, in pixels)
    height: int
    how: str  # 'preview' or 'demosaic'
    preview_jpeg: bytes | None = None  # kept for dates: the preview's EXIF, when it has one


def _rawpy():
    try:
        import rawpy  # noqa: PLC0415 - LibRaw loads only when a RAW file is met
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise ImageError(f"RAW files need rawpy, which is not installed ({exc})") from None
    return rawpy


def decode_raw(path: str, min_side: int, max_pixels: int, decode_jpeg) -> RawDecode:
    """Develop a RAW file; ``decode_jpeg(bytes, orientation)`` decodes a preview (Pillow, with
    the same limits and reductions as any JPEG) and returns (RGB array, the preview's long
    side before any reduction)."""
    rawpy = _rawpy()
    try:
        raw = _open(rawpy, path)
    except rawpy.LibRawFileUnsupportedError:
        raise ImageError("RAW format not supported by LibRaw") from None
    except (rawpy.LibRawIOError, rawpy.LibRawDataError, rawpy.LibRawError) as exc:
        raise ImageError(f"corrupt or truncated RAW file ({_short(exc)})") from None
    with raw:
        s = raw.sizes
        w, h = int(s.width), int(s.height)
        if w <= 0 or h <= 0:
            raise ImageError("corrupt RAW file: zero-sized image")
        if w * h > max_pixels:
            raise ImageError(f"image too large: {w}x{h} pixels exceeds the "
                             f"{max_pixels // 1_000_000}-megapixel limit")
        orientation = _FLIP_TO_EXIF.get(int(s.flip), 1)
        out_w, out_h = (h, w) if orientation in (6, 8) else (w, h)
        preview = _preview(raw, rawpy)
        if preview is not None:
            try:
                rgb, preview_side = decode_jpeg(preview, orientation)
            except ImageError:
                rgb, preview_side = None, 0  # a damaged preview: develop the mosaic instead
            if rgb is not None and preview_side >= min(PREVIEW_MIN_SIDE, max(w, h)):
                return RawDecode(rgb, out_w, out_h, "preview", preview)
        # Half size: raw mosaic (2 B/px) + LibRaw's 4-channel 16-bit half image (2 B/px)
        # + our 8-bit result (0.75 B/px). A small sensor whose half would be under the
        # detector's view is interpolated whole instead (bilinear: 8 + 3 B/px more).
        half = max(w, h) // 2 >= min_side
        need = int(s.raw_width) * int(s.raw_height) * 2 + w * h * (3 if half else 11)
        if need > PER_DECODE:
            raise ImageError(f"image too large to decode: {w}x{h} RAW needs "
                             f"{fmt_bytes(need)} of memory, over the "
                             f"{fmt_bytes(PER_DECODE)} budget")
        try:
            with BUDGET.reserve(need):
                rgb = raw.postprocess(
                    half_size=half, use_camera_wb=True, output_bps=8,
                    demosaic_algorithm=None if half else rawpy.DemosaicAlgorithm.LINEAR)
        except MemoryError:
            raise ImageError("not enough memory to decode this image") from None
        except (rawpy.LibRawError, ValueError) as exc:
            raise ImageError(f"corrupt or truncated RAW file ({_short(exc)})") from None
        return RawDecode(np.ascontiguousarray(rgb), out_w, out_h, "demosaic", preview)


def _open(rawpy, path: str):
    """LibRaw opens by name when the name is UTF-8, else from the file's bytes."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        with open(path, "rb") as fh:
            return rawpy.imread(io.BytesIO(fh.read()))
    return rawpy.imread(path)


def _preview(raw, rawpy) -> bytes | None:
    """The embedded JPEG preview, or None (none, a bitmap one, or unreadable)."""
    try:
        thumb = raw.extract_thumb()
    except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError,
            rawpy.LibRawError):
        return None
    if thumb.format == rawpy.ThumbFormat.JPEG:
        return bytes(thumb.data)
    return None


def raw_header(path: str) -> tuple[int, int]:
    """(width, height) as displayed, without unpacking the mosaic. Raises ImageError."""
    rawpy = _rawpy()
    try:
        with _open(rawpy, path) as raw:
            s = raw.sizes
            w, h, flip = int(s.width), int(s.height), int(s.flip)
    except rawpy.LibRawError as exc:
        raise ImageError(f"corrupt or unsupported RAW file ({_short(exc)})") from None
    return (h, w) if _FLIP_TO_EXIF.get(flip, 1) in (6, 8) else (w, h)


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:120]
