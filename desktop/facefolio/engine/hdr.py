"""HDR photos (PQ or HLG, as phones and cameras now write AVIF and HEIF) tone-mapped to what the
detector was trained on: ordinary sRGB-like pictures.

The decoders hand over the HDR signal itself in 8 bits (libavif and libheif convert the depth,
not the transfer curve): shown as is, a PQ picture is flat and grey, faces in it dim. The
transfer is read from the file's `colr` box (nclx: 16 = PQ, 18 = HLG); each 8-bit code value
then maps through one 256-entry table: the standard's EOTF to display light, SDR white at 203
nits (ITU-R BT.2408), a Reinhard curve that keeps highlights up to `PEAK_NITS`, sRGB encoding.
The P3 or BT.2020 primaries are left as they are: a slight desaturation, not a detection matter.
"""
from __future__ import annotations

import os
import struct

import numpy as np

PQ, HLG = 16, 18
SDR_WHITE_NITS = 203.0
PEAK_NITS = 1000.0
_META_MAX = 4 << 20


def transfer_of(path: str | os.PathLike) -> int | None:
    """The nclx transfer characteristics of an AVIF/HEIF file, or None (none written)."""
    from .motion import top_box  # noqa: PLC0415 - the same box walk as motion photos

    try:
        with open(path, "rb") as fh:
            meta = top_box(fh, 0, os.fstat(fh.fileno()).st_size, b"meta", _META_MAX)
    except (OSError, struct.error):
        return None
    at = meta.find(b"colrnclx") if meta else -1
    if at < 0 or at + 14 > len(meta):
        return None
    return struct.unpack(">H", meta[at + 10:at + 12])[0]


def tone_map_table(transfer: int) -> np.ndarray | None:
    """The 8-bit code value -> 8-bit sRGB table for a PQ or HLG signal; None for others."""
    e = np.arange(256, dtype=np.float64) / 255.0
    if transfer == PQ:
        m1, m2 = 2610 / 16384, 2523 / 4096 * 128
        c1, c2, c3 = 3424 / 4096, 2413 / 4096 * 32, 2392 / 4096 * 32
        p = e ** (1 / m2)
        nits = 10000.0 * (np.maximum(p - c1, 0) / (c2 - c3 * p)) ** (1 / m1)
    elif transfer == HLG:
        a, b, c = 0.17883277, 0.28466892, 0.55991073
        scene = np.where(e <= 0.5, e * e / 3, (np.exp((e - c) / a) + b) / 12)
        nits = PEAK_NITS * scene ** 1.2  # the reference OOTF of a 1000-nit display
    else:
        return None
    lum = nits / SDR_WHITE_NITS
    white = PEAK_NITS / SDR_WHITE_NITS
    mapped = np.clip(lum * (1 + lum / (white * white)) / (1 + lum), 0, 1)  # 1.0 at the peak
    srgb = np.where(mapped <= 0.0031308, mapped * 12.92,
                    1.055 * mapped ** (1 / 2.4) - 0.055)
    return np.clip(np.round(srgb * 255), 0, 255).astype(np.uint8)


def tone_map(rgb: np.ndarray, transfer: int | None) -> np.ndarray:
    """``rgb`` (uint8) tone-mapped in place when its transfer is PQ or HLG."""
    table = tone_map_table(transfer) if transfer else None
    if table is None:
        return rgb
    np.take(table, rgb, out=rgb)
    return rgb
