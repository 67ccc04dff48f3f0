"""Search with the faces of an image that need not be in the library: "find people in a
photo" in the app (every face, left to right) and `facefolio search --image` (the largest).

Plain data out: boxes, embeddings and the decoded pixels (for the caller's crops); errors as
types a front end can word (`PackNotInstalledError`, `FaceModelError`, `NoFaceError`; an
unreadable file raises the engine's `ImageError`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..library import Library
from ..storage.errors import LibraryError
from ..storage.records import Box, SearchResult
from ..storage.store import display_path


class PackNotInstalledError(LibraryError):
    """The library's model pack (chosen in its settings) has no model files here."""

    def __init__(self, pack: str, folder: str) -> None:
        super().__init__(f"the face model '{pack}' is not installed: put its .onnx files in "
                         f"{folder} (Facefolio never downloads models)")
        self.pack = pack
        self.folder = folder


class FaceModelError(LibraryError):
    """The model pack is there but cannot run (a damaged file, a runtime that refuses it)."""


class NoFaceError(LibraryError):
    """The image holds no face the model finds."""

    def __init__(self, path: str | os.PathLike) -> None:
        super().__init__(f"no face found in {display_path(path)}")
        self.path = os.fspath(path)


@dataclass(frozen=True)
class FoundFace:
    box: Box  # x, y, w, h in original-image pixels
    embedding: np.ndarray  # float32, unit length, of the library's pack


@dataclass(frozen=True)
class ImageFaces:
    """The faces of one image, and its decoded pixels for crops (`scale` original pixels
    per decoded pixel, as `engine.LoadedImage`)."""

    path: str
    pixels: np.ndarray
    scale: float
    faces: list[FoundFace]


def check_pack(pack: str) -> None:
    """Raise PackNotInstalledError for a known pack whose files are not installed."""
    from ...engine import PACKS, is_installed, pack_dir  # noqa: PLC0415 - folder checks only
    if pack in PACKS and pack != "yunet-sface" and not is_installed(pack):
        raise PackNotInstalledError(pack, str(pack_dir(pack)))


def detect_faces(library: Library, path: str | os.PathLike, engine=None) -> ImageFaces:
    """Detect and embed every face of an image with the library's pack, left to right (as
    people read a photo); NoFaceError when there is none."""
    from ...engine import ModelError, get_engine, load_image  # noqa: PLC0415 - heavy
    s = library.settings
    check_pack(s.pack)
    try:
        # One engine per thread and settings (get_engine): a second search does not load
        # the models again.
        engine = engine or get_engine(s.pack, det_threshold=s.det_threshold,
                                      min_face=s.min_face)
        image = load_image(path)
        faces = engine.analyze(image)
    except ModelError as exc:
        raise FaceModelError(f"the face model cannot run: {exc}") from exc
    if not faces:
        raise NoFaceError(path)
    faces.sort(key=lambda f: f.box[0])
    return ImageFaces(os.fspath(path), image.pixels, image.scale,
                      [FoundFace(tuple(f.box), np.asarray(f.embedding, np.float32))
                       for f in faces])


def search_faces(library: Library, faces: list[FoundFace], *, top: int = 20
                 ) -> list[list[SearchResult]]:
    """Each face matched against the library: its most similar faces, most similar first."""
    pack = library.settings.pack
    return [library.search_vector(f.embedding, pack=pack, top=top) for f in faces]


def faces_in_image(library: Library, path: str | os.PathLike, engine=None,
                   loaded=None) -> list:
    """Detect and embed the faces of any image with the library's model pack, largest first
    (the engine's order): the engine's `Face` objects."""
    from ...engine import FaceEngine, load_image  # noqa: PLC0415 - heavy, load on first use
    s = library.settings
    engine = engine or FaceEngine(s.pack, det_threshold=s.det_threshold, min_face=s.min_face)
    return engine.analyze(loaded if loaded is not None else load_image(path))


def search_image(library: Library, path: str | os.PathLike, *, top: int = 20,
                 min_similarity: float | None = None, engine=None,
                 loaded=None) -> list[SearchResult]:
    """Faces most like the largest face in the image, most similar first (`engine`: one
    made with the library's settings; `loaded`: the image as `engine.load_image` gave it)."""
    faces = faces_in_image(library, path, engine, loaded)
    if not faces:
        raise NoFaceError(path)
    return library.search_vector(faces[0].embedding, pack=library.settings.pack, top=top,
                                 min_similarity=min_similarity)
