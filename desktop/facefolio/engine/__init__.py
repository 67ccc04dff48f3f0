"""Face engine: image decoding, detection, alignment and embedding. No Qt here.

Importing the package costs nothing beyond the pack table and the error classes: OpenCV,
Pillow and ONNX Runtime load on first use of what needs them, so `facefolio --version`, the
CLI's read-only commands and the app's first paint do not wait for them.
"""
from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from .errors import ImageError, ModelError
from .formats import IMAGE_EXTENSIONS
from .packs import DEFAULT_PACK, PACKS, PackInfo

if TYPE_CHECKING:
    from .engine import Face, FaceEngine, get_engine
    from .images import LoadedImage, load_finer, load_image
    from .insightface_pack import is_installed, pack_dir
    from .video import load_still

__all__ = [
    "Face", "LoadedImage", "ImageError", "load_image", "load_finer", "IMAGE_EXTENSIONS",
    "FaceEngine", "get_engine", "PACKS", "PackInfo", "ModelError", "DEFAULT_PACK",
    "is_installed", "pack_dir", "load_still",
]

_LAZY = {"Face": "engine", "FaceEngine": "engine", "get_engine": "engine",
         "LoadedImage": "images", "load_image": "images", "load_finer": "images",
         "is_installed": "insightface_pack", "pack_dir": "insightface_pack",
         "load_still": "video"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
