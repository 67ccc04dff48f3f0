"""Face engine: image decoding, detection, alignment and embedding. No Qt here."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .images import IMAGE_EXTENSIONS, ImageError, LoadedImage, load_image
from .models import ModelError
from .packs import DEFAULT_PACK, PACKS, PackInfo

if TYPE_CHECKING:
    from .engine import Face, FaceEngine, get_engine

__all__ = [
    "Face", "LoadedImage", "ImageError", "load_image", "IMAGE_EXTENSIONS",
    "FaceEngine", "get_engine", "PACKS", "PackInfo", "ModelError", "DEFAULT_PACK",
]

_LAZY = {"Face", "FaceEngine", "get_engine"}


def __getattr__(name: str):
    # The detector and recognizer pull in insightface (and with it matplotlib, scikit-image:
    # ~3 s of imports). Load them on first use, so `facefolio --version`, the CLI's read-only
    # commands and the app's first paint do not wait for them.
    if name in _LAZY:
        from . import engine  # noqa: PLC0415
        return getattr(engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
