"""Facefolio: a private desktop face organizer for a local photo library."""
from __future__ import annotations

__version__ = "0.1.0"
