"""File types a scan looks at: light enough for folder walking to import without the decoders.

Every other file a scan meets is counted by type (`unread_type`) so that `status` and the
Folders page can say what Facefolio does not read, instead of dropping it silently.
"""
from __future__ import annotations

import os

# Camera RAW files LibRaw (rawpy) reads: Canon, Nikon, Sony, Adobe/Leica/Pentax/phones (DNG),
# Fujifilm, Panasonic, Olympus/OM, Pentax, Samsung, Sigma, Hasselblad, Phase One, Epson,
# Kodak, Minolta, Leica.
RAW_EXTENSIONS: frozenset[str] = frozenset({
    ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".dng", ".raf", ".rw2",
    ".orf", ".pef", ".srw", ".x3f", ".3fr", ".fff", ".iiq", ".erf", ".kdc", ".dcr", ".mrw",
    ".rwl", ".mos",
})

IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".heic", ".heif", ".avif",
     ".jxl"}
) | RAW_EXTENSIONS

# Videos: frames sampled, faces tracked (video.py), through OpenCV's FFmpeg backend.
VIDEO_EXTENSIONS: frozenset[str] = frozenset({".mp4", ".mov", ".m4v", ".avi", ".mkv"})



def is_video(path: str | os.PathLike) -> bool:
    """A video by its name (never by its first bytes: HEIC and AVIF photos are ISO-BMFF
    files too, with an `ftyp` box like an MP4's)."""
    return os.path.splitext(os.fspath(path))[1].lower() in VIDEO_EXTENSIONS


# Read, but not as photos: sidecars belong to the photo named after them (xmp.py).
SIDECAR_EXTENSIONS: frozenset[str] = frozenset({".xmp"})


def unread_type(name: str) -> str | None:
    """The type to count a file under when a scan does not read it ('.psd', or 'no
    extension'), or None when the scan reads it (a photo, a video, a sidecar) or skips it on
    purpose
    (hidden files: '.DS_Store', '._IMG_0001.JPG')."""
    if name.startswith("."):
        return None
    ext = os.path.splitext(name)[1].lower()
    if ext in IMAGE_EXTENSIONS or ext in VIDEO_EXTENSIONS or ext in SIDECAR_EXTENSIONS:
        return None
    return ext or "no extension"
