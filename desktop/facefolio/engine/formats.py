"""File types a scan looks at: light enough for folder walking to import without the decoders."""
from __future__ import annotations

IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".heic", ".heif"}
)
