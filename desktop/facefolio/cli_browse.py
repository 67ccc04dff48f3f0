"""Browsing sub-commands of `facefolio`: photos by person, date and people together.

`cli.py` calls `register(sub, common)`. Handlers take (library, args) and return the exit code;
failures raise LibraryError, which cli.py prints as one line (exit 1).
"""
from __future__ import annotations

import argparse


def register(sub, common: argparse.ArgumentParser) -> None:
    """Nothing registered yet: `photos --with` lands with the browsing views (issue 12)."""
