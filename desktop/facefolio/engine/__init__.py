"""Face engine: image decoding, detection, alignment and embedding. No Qt here."""
from __future__ import annotations

from .engine import Face, FaceEngine, get_engine
from .images import IMAGE_EXTENSIONS, ImageError, LoadedImage, load_image
from .models import ModelError
from .packs import DEFAULT_PACK, PACKS, PackInfo

__all__ = [
    "Face", "LoadedImage", "ImageError", "load_image", "IMAGE_EXTENSIONS",
    "FaceEngine", "get_engine", "PACKS", "PackInfo", "ModelError", "DEFAULT_PACK",
]
