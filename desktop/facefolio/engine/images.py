"""Decode photos into BGR pixels the detector can use, with user-readable errors.

Everything but camera RAW goes through Pillow so that one code path handles EXIF orientation,
odd pixel modes and the size limits: JPEG, PNG, WebP, TIFF, BMP, HEIC/HEIF (pillow-heif),
AVIF (Pillow's own), JPEG XL (pillow-jxl-plugin). RAW files go through LibRaw (raw.py), their
embedded preview through the JPEG path here. The date comes from dates.py. Only the resolution a stage needs is decoded: JPEGs with libjpeg's
DCT scaling (``Image.draft``: 1/2, 1/4, 1/8 for a fraction of the cost), and a photo whose
small faces need more detail is decoded again, finer (`load_finer`). Formats that cannot
scale on decode (PNG, TIFF, WebP, BMP, HEIC without a large enough embedded thumbnail) are
decoded whole within a memory budget (budget.py) and reduced right after.
"""
from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from . import dates, exiv2, hdr
from .budget import BUDGET, PER_DECODE, fmt_bytes, return_large_frees_to_the_os
from .errors import ImageError
from .formats import IMAGE_EXTENSIONS, RAW_EXTENSIONS

try:  # HEIC/HEIF support is optional at runtime but a declared dependency.
    import pillow_heif

    pillow_heif.register_heif_opener()
except ImportError:  # pragma: no cover - depends on the install
    pillow_heif = None
try:  # JPEG XL: a declared dependency; registers the "JXL" opener on import.
    import pillow_jxl  # noqa: F401
except ImportError:  # pragma: no cover - depends on the install
    pillow_jxl = None

# Only these decoders may run: Pillow can also open formats (EPS, PDF...) that shell out
# or are not photos, and a library scan must never do that on a hostile file.
# (JPEG's opener also yields MPO files, so MPO needs no entry of its own.) Only their plugins
# are loaded, not Pillow's forty (`Image.init()`: 77 ms of every start-up); with `formats`
# given and every one of them registered, Image.open never loads the others.
from PIL import (  # noqa: E402,F401 - each registers its opener
    BmpImagePlugin,
    JpegImagePlugin,
    MpoImagePlugin,
    PngImagePlugin,
    TiffImagePlugin,
    WebPImagePlugin,
)

try:
    from PIL import AvifImagePlugin  # noqa: E402,F401 - Pillow 11.3+
except ImportError:  # pragma: no cover - depends on the install
    pass
# Our own limits are checked from the header before any pixel is decoded, with a message
# naming the size; Pillow's global check would pre-empt them.
Image.MAX_IMAGE_PIXELS = None
_FORMATS = tuple(
    f for f in ("JPEG", "PNG", "WEBP", "TIFF", "BMP", "HEIF", "AVIF", "JXL") if f in Image.OPEN
)
_DCT_FORMATS = ("JPEG", "MPO")
_HDR_FORMATS = ("AVIF", "HEIF")  # may carry PQ / HLG (hdr.py)
# A RAW's JPEG preview is decoded reduced too, and again finer for small faces.
_REFINABLE = (*_DCT_FORMATS, "RAW preview")  # libjpeg decodes these at 1/2, 1/4, 1/8 directly

# The detector looks at a 640 px view; decode at least this long a side so that the view
# and the faces big enough to embed from it come from one decode.
DETECT_SIDE = 1000
# Beyond this many pixels an image that was decoded whole is reduced (by an integer factor)
# before anything else: 40 MP keep 32 px faces findable and cost 120 MB as BGR.
VIEW_MAX_PIXELS = 40_000_000
# A header claiming more than this is refused outright, whatever the format.
MAX_PIXELS = 500_000_000

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
return_large_frees_to_the_os()


@dataclass(frozen=True)
class LoadedImage:
    pixels: np.ndarray  # BGR uint8 HxWx3, oriented, possibly reduced
    scale: float  # original pixels per decoded pixel (>= 1)
    width: int  # original oriented width
    height: int  # original oriented height
    taken_at: str | None = None  # the best date inside the file (dates.best of `dates`)
    path: str | None = None  # where it was read from, so a finer decode can be made
    format: str | None = None  # Pillow's format name, or 'RAW' / 'RAW preview' (raw.py)
    dates: tuple = ()  # every dates.Dated found inside the file

    @property
    def refinable(self) -> bool:
        """True when `load_finer` can give more pixels than ``pixels`` holds."""
        return self.path is not None and self.format in _REFINABLE and self.scale > 1


def load_image(
    path: str | os.PathLike, *, min_side: int = DETECT_SIDE, max_pixels: int = MAX_PIXELS
) -> LoadedImage:
    """Decode ``path``; raise :class:`ImageError` with a readable message on any failure.

    A JPEG is decoded at the coarsest DCT scale whose long side is still >= ``min_side``.
    """
    return _load(Path(path), lambda longest: reduction_for(longest, min_side), max_pixels)


def load_finer(image: LoadedImage, max_scale: float) -> LoadedImage:
    """``image`` decoded again with at most ``max_scale`` original pixels per pixel.

    Only for `LoadedImage.refinable` images; the result may still be coarser than asked when
    the memory budget does not allow more.
    """
    if not image.refinable:
        return image
    factor = next((f for f in (8, 4, 2) if f <= max_scale), 1)
    if factor >= image.scale:
        return image
    return _load(Path(image.path), lambda longest: factor, MAX_PIXELS)


def _load(path: Path, factor_for, max_pixels: int) -> LoadedImage:
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise ImageError("not a regular file")
        if size == 0:
            raise ImageError("empty file (0 bytes)")
        if path.suffix.lower() in RAW_EXTENSIONS:
            return _decode_raw(str(path), factor_for, max_pixels)
        with open(path, "rb") as fh:
            return _decode(fh, str(path), factor_for, max_pixels)
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


def open_image(path: str | os.PathLike) -> Image.Image:
    """Pillow's image of `path`, read only by the plugins Facefolio allows (never every
    plugin Pillow has: a file named .jpg holding another format is not parsed by them)."""
    return Image.open(path, formats=_FORMATS)


def _decode(fh, path: str, factor_for, max_pixels: int) -> LoadedImage:
    with warnings.catch_warnings():
        # Our own limits decide; Pillow's warning must not leak to callers.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            im = Image.open(fh, formats=_FORMATS)
        except UnidentifiedImageError:
            raise ImageError("not an image (unrecognised file contents)") from None
        except (SyntaxError, ValueError, EOFError) as exc:
            raise ImageError(f"corrupt image header ({_short(exc)})") from None
        with im:
            return _decode_opened(im, path, factor_for, max_pixels)


def _decode_raw(path: str, factor_for, max_pixels: int) -> LoadedImage:
    """A camera RAW file: its preview (decoded as any JPEG) or a fast demosaic (raw.py)."""
    from .raw import decode_raw  # noqa: PLC0415 - LibRaw loads only for RAW files

    def decode_jpeg(data: bytes, orientation: int) -> tuple[np.ndarray, int]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            try:
                im = Image.open(io.BytesIO(data), formats=("JPEG",))
            except (UnidentifiedImageError, SyntaxError, ValueError, EOFError):
                raise ImageError("unreadable RAW preview") from None
            with im:
                loaded = _decode_opened(im, path, factor_for, max_pixels, orientation)
        return cv2.cvtColor(loaded.pixels, cv2.COLOR_BGR2RGB), max(loaded.width, loaded.height)

    developed = decode_raw(path, DETECT_SIDE, max_pixels, decode_jpeg)
    found = exiv2.exiv2_dates(path)
    rgb = developed.rgb
    # Past VIEW_MAX_PIXELS reduce as any image decoded whole.
    f = _reduce_factor(rgb.shape[1], rgb.shape[0])
    if f > 1:
        rgb = cv2.resize(rgb, (-(-rgb.shape[1] // f), -(-rgb.shape[0] // f)),
                         interpolation=cv2.INTER_AREA)
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    best = dates.best(found)
    return LoadedImage(pixels=bgr, scale=max(1.0, developed.width / bgr.shape[1]),
                       width=developed.width, height=developed.height,
                       taken_at=best.when if best else None, path=path,
                       format="RAW preview" if developed.how == "preview" else "RAW",
                       dates=tuple(found))


def _decode_opened(im: Image.Image, path: str, factor_for, max_pixels: int,
                   orientation_override: int | None = None) -> LoadedImage:
    fmt = im.format or "image"
    w, h = im.size
    if w <= 0 or h <= 0:
        raise ImageError(f"corrupt {fmt}: zero-sized image")
    if w * h > max_pixels:  # refuse before any pixel is decoded
        raise ImageError(
            f"image too large: {w}x{h} pixels exceeds the "
            f"{max_pixels // 1_000_000}-megapixel limit"
        )
    # Pillow's PNG getexif() decodes the whole image to look for an eXIf chunk after the
    # pixels: that one is read after the decode instead, inside the memory budget.
    late_exif = fmt == "PNG" and "exif" not in im.info
    orientation, found = (1, []) if late_exif else _exif(im)

    if fmt in _DCT_FORMATS:
        factor = factor_for(max(w, h))
        # Pillow holds RGB at 4 bytes a pixel, then 3 for the array: 7 at the peak.
        while factor < 8 and (w // factor) * (h // factor) * 7 > PER_DECODE:
            factor *= 2
        if factor > 1:
            im.draft("RGB", (w // factor, h // factor))
        need = im.size[0] * im.size[1] * 7
    else:
        if fmt == "HEIF" and w * h > VIEW_MAX_PIXELS:
            im.draft(None, _reduced_size(w, h))  # an embedded thumbnail, when big enough
        need = _decode_need(im, fmt)
    if need > PER_DECODE:
        raise ImageError(
            f"image too large to decode: {w}x{h} {fmt} needs {fmt_bytes(need)} of memory, "
            f"over the {fmt_bytes(PER_DECODE)} budget"
        )
    try:
        with BUDGET.reserve(need):
            im.load()
            if late_exif:
                orientation, found = _exif(im)
            if orientation_override is not None:
                orientation = orientation_override
            found += _motion_dates(fmt, path)
            rgb = _reduce(im)
            rgb = _to_rgb8(rgb)
            scale = w / rgb.width
            if orientation in _ORIENT_OPS:
                rgb = rgb.transpose(_ORIENT_OPS[orientation])
            arr = np.array(rgb)
            del rgb
            if fmt in _HDR_FORMATS:  # a PQ or HLG signal: tone-mapped for the detector
                hdr.tone_map(arr, hdr.transfer_of(path))
            # Free the whole decode before the budget is released for the next one.
            im.close()
    except MemoryError:
        raise ImageError("not enough memory to decode this image") from None
    except Exception as exc:
        if "truncated" in str(exc).lower() or isinstance(exc, EOFError):
            raise ImageError(f"truncated or corrupt {fmt}") from None
        raise ImageError(f"corrupt {fmt} ({_short(exc)})") from None
    if orientation in (5, 6, 7, 8):
        w, h = h, w
    bgr = cv2.cvtColor(arr, cv2.COLOR_RGB2BGR, dst=arr)  # in place: no third copy
    best = dates.best(found)
    return LoadedImage(pixels=bgr, scale=max(1.0, scale), width=w, height=h,
                       taken_at=best.when if best else None, path=path, format=fmt,
                       dates=tuple(found))


def _bytes_per_pixel(mode: str) -> int:
    if mode in ("1", "L", "P"):
        return 1
    if mode.startswith("I;16"):
        return 2
    return 4  # every multi-band mode, and I / F, is 32 bits a pixel in Pillow


def _decode_need(im: Image.Image, fmt: str) -> int:
    """Peak bytes of decoding ``im`` whole, then reducing and converting it."""
    w, h = im.size
    need = w * h * _bytes_per_pixel(im.mode)
    if fmt in ("HEIF", "AVIF", "JXL"):
        # The codec's buffer (16 bits a sample for 10- and 16-bit files), then Pillow's copy:
        # a 21 MP AVIF or JPEG XL peaked 250-270 MB over the process in Image.load().
        need *= 2
    rw, rh = _reduced_size(w, h)
    if (rw, rh) == (w, h) or im.mode in ("P", "1"):
        need += w * h * 4  # converted at full size (no reduce, or reduce cannot take P/1)
    return need + rw * rh * 7


def _reduced_size(w: int, h: int) -> tuple[int, int]:
    f = _reduce_factor(w, h)
    return -(-w // f), -(-h // f)


def _reduce_factor(w: int, h: int) -> int:
    f = 1
    while (w / f) * (h / f) > VIEW_MAX_PIXELS:
        f += 1
    return f


def _reduce(im: Image.Image) -> Image.Image:
    """An image decoded whole, reduced by an integer factor to at most VIEW_MAX_PIXELS."""
    f = _reduce_factor(*im.size)
    if f == 1:
        return im
    if im.mode in ("P", "1"):
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif im.mode.startswith("I;16"):
        im = im.convert("I")
    return im.reduce(f)


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


def _exif(im: Image.Image) -> tuple[int, list]:
    """(EXIF orientation, every date in the file's metadata: dates.image_dates)."""
    try:
        orientation = int(im.getexif().get(0x0112, 1) or 1)
    except Exception:  # a broken EXIF block should not lose the photo
        orientation = 1
    try:
        return orientation, dates.image_dates(im)
    except Exception:  # a malformed date is no date
        return orientation, []


def _motion_dates(fmt: str, path: str) -> list:
    """The QuickTime date of the video inside a motion photo (dates order, point 5)."""
    if fmt not in ("JPEG", "MPO", "HEIF"):
        return []
    from .motion import motion_video_date  # noqa: PLC0415

    found = motion_video_date(path)
    return [found] if found else []


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:120]


def reduction_for(longest: int, min_side: int) -> int:
    """The JPEG DCT reduction factor ``load_image`` picks (exposed for tests)."""
    return next((f for f in (8, 4, 2) if longest / f >= min_side), 1)


__all__ = ["IMAGE_EXTENSIONS", "ImageError", "LoadedImage", "load_finer", "load_image"]
