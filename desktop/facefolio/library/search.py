"""Search with the faces of an image that need not be in the library."""
from __future__ import annotations

import os

from .library import Library
from .records import SearchResult
from .store import LibraryError


def faces_in_image(library: Library, path: str | os.PathLike, engine=None) -> list:
    """Detect and embed the faces of any image with the library's model pack, largest first."""
    from ..engine import FaceEngine, load_image  # noqa: PLC0415 - heavy, load on first use
    s = library.settings
    engine = engine or FaceEngine(s.pack, det_threshold=s.det_threshold, min_face=s.min_face)
    return engine.analyze(load_image(path))


def search_image(library: Library, path: str | os.PathLike, *, top: int = 20,
                 min_similarity: float | None = None, engine=None) -> list[SearchResult]:
    """Faces most like the largest face in the image, most similar first."""
    faces = faces_in_image(library, path, engine)
    if not faces:
        raise LibraryError(f"no face found in {path}")
    return library.search_vector(faces[0].embedding, pack=library.settings.pack, top=top,
                                 min_similarity=min_similarity)
