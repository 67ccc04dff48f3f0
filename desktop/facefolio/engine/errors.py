"""The engine's two user-facing errors, importable without loading any image or model code."""
from __future__ import annotations


class ImageError(Exception):
    """A photo could not be read; ``str(err)`` is one line fit to show the user."""


class ModelError(Exception):
    """A model file is missing, damaged or not installed; the message says which and where."""
