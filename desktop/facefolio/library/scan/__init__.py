"""Scanning folders: what to do, the worker processes that read pixels, and the writes of their results."""
