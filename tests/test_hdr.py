"""HDR (PQ / HLG) photos tone-mapped before detection: an AVIF of the Immich assets, and a
deepface-unit group photo encoded as a PQ signal the way libavif hands one over (8 bits)."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from facefolio.engine import FaceEngine, hdr
from facefolio.engine.images import LoadedImage, load_image


def pq_signal(bgr: np.ndarray) -> np.ndarray:
    """sRGB pixels as the PQ code values an HDR camera would write (SDR white at 203 nits)."""
    x = bgr.astype(np.float64) / 255
    linear = np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)
    y = linear * hdr.SDR_WHITE_NITS / 10000
    m1, m2 = 2610 / 16384, 2523 / 4096 * 128
    c1, c2, c3 = 3424 / 4096, 2413 / 4096 * 32, 2392 / 4096 * 32
    p = y ** m1
    return np.round(((c1 + c2 * p) / (1 + c3 * p)) ** m2 * 255).astype(np.uint8)


def test_pq_avif_is_tone_mapped_and_sdr_avif_left_alone(datasets):
    root = datasets / "immich-assets" / "formats" / "avif"
    if not root.is_dir():
        pytest.skip("immich-assets not in the shared data sets")
    hdr_file, sdr_file = root / "10bit-HDR-P3-nclx.avif", root / "8bit-sRGB.avif"
    # exiftool: TransferCharacteristics "SMPTE ST 2084, ITU BT.2100 PQ" (16); sRGB is 13.
    assert (hdr.transfer_of(hdr_file), hdr.transfer_of(sdr_file)) == (16, 13)
    with Image.open(sdr_file) as im:
        plain = np.asarray(im.convert("RGB"))[:, :, ::-1]
    assert np.array_equal(load_image(sdr_file).pixels, plain)
    with Image.open(hdr_file) as im:
        signal = np.asarray(im.convert("RGB"))
    mapped = load_image(hdr_file).pixels
    # The PQ signal spans 0..194 with little contrast; mapped, it spans the sRGB range.
    assert signal.max() < 200 and mapped.max() > 240
    assert mapped.std() > signal.std() * 1.3


def test_tone_mapping_gives_the_detector_back_its_faces(datasets):
    image = load_image(datasets / "deepface-unit" / "selfie-many-people.jpg")
    engine = FaceEngine()
    original = engine.analyze(image)
    signal = pq_signal(image.pixels)
    as_is = engine.analyze(LoadedImage(signal.copy(), image.scale, image.width, image.height))
    mapped = engine.analyze(LoadedImage(hdr.tone_map(signal.copy(), hdr.PQ), image.scale,
                                        image.width, image.height))
    assert len(mapped) == len(original) > len(as_is)


def test_tables_are_monotonic_and_put_sdr_white_near_white():
    for transfer in (hdr.PQ, hdr.HLG):
        table = hdr.tone_map_table(transfer).astype(int)
        assert (np.diff(table) >= 0).all() and table[0] == 0 and table[-1] == 255
    # PQ code value of 203 nits is 0.58 (148 of 255): shown at 3/4 of white, not 148.
    assert 180 <= hdr.tone_map_table(hdr.PQ)[148] <= 200
    assert hdr.tone_map_table(13) is None
