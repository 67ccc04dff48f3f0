"""Decode photos into BGR pixels the detector can use, with user-readable errors.

Everything goes through Pillow so that one code path handles EXIF orientation, odd pixel
modes and the decompression-bomb budget; JPEGs are decoded reduced with libjpeg's DCT
scaling (``Image.draft``) because the detector only ever sees 640 px.
"""
from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

try:  # HEIC/HEIF support is optional at runtime but a declared dependency.
    import pillow_heif

    pillow_heif.register_heif_opener()
except ImportError:  # pragma: no cover - depends on the install
    pillow_heif = None

IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".heic", ".heif"}
)

# Only these decoders may run: Pillow can also open formats (EPS, PDF...) that shell out
# or are not photos, and a library scan must never do that on a hostile file.
# (JPEG's opener also yields MPO files, so MPO needs no entry of its own.)
Image.init()
# Our own budget (load_image max_pixels) is checked from the header before any pixel is
# decoded, with a message naming the size; Pillow's global check would pre-empt it.
Image.MAX_IMAGE_PIXELS = None
_FORMATS = tuple(
    f for f in ("JPEG", "PNG", "WEBP", "TIFF", "BMP", "HEIF") if f in Image.OPEN
)

_ORIENT_OPS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_ALPHA_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}


class ImageError(Exception):
    """A photo could not be read; ``str(err)`` is one line fit to show the user."""


@dataclass(frozen=True)
class LoadedImage:
    pixels: np.ndarray  # BGR uint8 HxWx3, oriented, possibly reduced
    scale: float  # original pixels per decoded pixel (>= 1)
    width: int  # original oriented width
    height: int  # original oriented height
    taken_at: str | None = None


def load_image(
    path: str | os.PathLike, *, min_side: int = 1280, max_pixels: int = 200_000_000
) -> LoadedImage:
    """Decode ``path``; raise :class:`ImageError` with a readable message on any failure."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise ImageError("not a regular file")
        if size == 0:
            raise ImageError("empty file (0 bytes)")
        with open(path, "rb") as fh:
            return _decode(fh, min_side, max_pixels)
    except ImageError:
        raise
    except FileNotFoundError:
        raise ImageError("file not found") from None
    except PermissionError:
        raise ImageError("permission denied") from None
    except MemoryError:
        raise ImageError("not enough memory to decode this image") from None
    except OSError as exc:
        raise ImageError(f"cannot read file: {exc.strerror or exc}") from None


def _decode(fh, min_side: int, max_pixels: int) -> LoadedImage:
    with warnings.catch_warnings():
        # Our own pixel budget decides; Pillow's warning must not leak to callers.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            im = Image.open(fh, formats=_FORMATS)
        except Image.DecompressionBombError as exc:
            m = re.search(r"\((\d+) pixels\)", str(exc))
            n = f"{int(m.group(1)):,} pixels" if m else "too many pixels"
            raise ImageError(
                f"image too large: {n} exceeds the {max_pixels // 1_000_000}-megapixel limit"
            ) from None
        except UnidentifiedImageError:
            raise ImageError("not an image (unrecognised file contents)") from None
        except (SyntaxError, ValueError, EOFError) as exc:
            raise ImageError(f"corrupt image header ({_short(exc)})") from None
        with im:
            return _decode_opened(im, min_side, max_pixels)


def _decode_opened(im: Image.Image, min_side: int, max_pixels: int) -> LoadedImage:
    fmt = im.format or "image"
    w, h = im.size
    if w <= 0 or h <= 0:
        raise ImageError(f"corrupt {fmt}: zero-sized image")
    if w * h > max_pixels:  # refuse before any pixel is decoded
        raise ImageError(
            f"image too large: {w}x{h} pixels exceeds the "
            f"{max_pixels // 1_000_000}-megapixel limit"
        )
    try:
        exif = im.getexif()
        orientation = int(exif.get(0x0112, 1) or 1)
    except Exception:  # a broken EXIF block should not lose the photo
        exif, orientation = None, 1
    taken_at = _taken_at(exif)

    if fmt in ("JPEG", "MPO"):  # only libjpeg can decode at 1/2, 1/4, 1/8 for free
        factor = reduction_for(max(w, h), min_side)
        if factor > 1:
            im.draft("RGB", (w // factor, h // factor))
    try:
        im.load()
        rgb = _to_rgb8(im)
    except MemoryError:
        raise ImageError("not enough memory to decode this image") from None
    except Exception as exc:
        if "truncated" in str(exc).lower() or isinstance(exc, EOFError):
            raise ImageError(f"truncated or corrupt {fmt}") from None
        raise ImageError(f"corrupt {fmt} ({_short(exc)})") from None

    scale = w / rgb.width
    if orientation in _ORIENT_OPS:
        rgb = rgb.transpose(_ORIENT_OPS[orientation])
    if orientation in (5, 6, 7, 8):
        w, h = h, w
    bgr = cv2.cvtColor(np.asarray(rgb), cv2.COLOR_RGB2BGR)
    return LoadedImage(pixels=bgr, scale=max(1.0, scale), width=w, height=h, taken_at=taken_at)


def _to_rgb8(im: Image.Image) -> Image.Image:
    """Any Pillow mode -> 8-bit RGB; alpha is composited on white (transparent = paper)."""
    mode = im.mode
    if mode == "RGB":
        return im
    if mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        # Pillow's convert("L") clips these to 0..255 instead of rescaling 16-bit data.
        a = np.asarray(im).astype(np.float32)
        if mode == "F" and a.size and float(a.max()) <= 1.0:
            a = a * 255.0
        elif mode != "F" and a.size and float(a.max()) > 255:
            a = a * (255.0 / 65535.0)
        grey = np.clip(a + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(np.dstack([grey] * 3), "RGB")
    if mode == "P" and "transparency" in im.info or mode in _ALPHA_MODES:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return im.convert("RGB")


def _taken_at(exif) -> str | None:
    """EXIF DateTimeOriginal as ISO 8601, or None when absent or malformed."""
    if exif is None:
        return None
    try:
        raw = exif.get_ifd(0x8769).get(0x9003)
        if not raw:
            return None
        raw = str(raw).strip().rstrip("\x00")
        return datetime.strptime(raw[:19], "%Y:%m:%d %H:%M:%S").isoformat()
    except Exception:
        return None


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:120]


def reduction_for(longest: int, min_side: int) -> int:
    """The JPEG DCT reduction factor ``load_image`` picks (exposed for tests)."""
    return next((f for f in (8, 4, 2) if longest / f >= min_side), 1)


__all__ = ["IMAGE_EXTENSIONS", "ImageError", "LoadedImage", "load_image"]
