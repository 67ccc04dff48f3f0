"""Decoding within a memory budget (issue 9 part 4): huge images get reduced decodes or a
clear per-file error, never an out-of-memory kill of the whole scan."""
from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from facefolio.engine import FaceEngine, ImageError, LoadedImage, budget, images, load_image

UNIT = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "deepface-unit"
GB = 1 << 30


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def write_png(path: Path, w: int, h: int, face: np.ndarray, at: tuple[int, int],
              grey: int) -> None:
    """An RGB PNG of w x h, flat ``grey`` with ``face`` (BGR) at ``at``, streamed row by row
    so that writing a 14000 x 14000 file needs no more than one row in memory."""
    fh, fw = face.shape[:2]
    x0, y0 = at
    flat = b"\x00" + bytes([grey]) * (3 * w)
    rgb = face[:, :, ::-1]
    comp = zlib.compressobj(1)
    parts = [b"\x89PNG\r\n\x1a\n", _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))]
    idat = []
    for y in range(h):
        if y0 <= y < y0 + fh:
            row = np.full((w, 3), grey, np.uint8)
            row[x0:x0 + fw] = rgb[y - y0]
            idat.append(comp.compress(b"\x00" + row.tobytes()))
        else:
            idat.append(comp.compress(flat))
    idat.append(comp.flush())
    parts += [_chunk(b"IDAT", b"".join(idat)), _chunk(b"IEND", b"")]
    path.write_bytes(b"".join(parts))


def test_budget_refuses_with_a_clear_message(tmp_path, monkeypatch):
    path = tmp_path / "big.png"
    Image.new("RGB", (2000, 2000), (90, 90, 90)).save(path)
    monkeypatch.setattr(images, "PER_DECODE", 8 << 20)
    with pytest.raises(ImageError, match=r"^image too large to decode: 2000x2000 PNG needs "
                                         r"\d+ MB of memory, over the 8 MB budget$"):
        load_image(path)


def test_whole_decodes_are_reduced_and_map_back(tmp_path, monkeypatch):
    src = cv2.imread(str(UNIT / "couple.jpg"))
    big = cv2.resize(src, (3000, 2000), interpolation=cv2.INTER_CUBIC)
    path = tmp_path / "couple.png"
    cv2.imwrite(str(path), big)
    monkeypatch.setattr(images, "VIEW_MAX_PIXELS", 1_000_000)
    img = load_image(path)
    assert img.pixels.shape[:2] == (667, 1000) and img.scale == 3.0
    assert (img.width, img.height) == (3000, 2000) and not img.refinable
    engine = FaceEngine()
    reduced = engine.analyze(img)
    full = engine.analyze(LoadedImage(big, 1.0, 3000, 2000))
    assert len(reduced) == len(full) == 2
    for a, b in zip(reduced, full):  # boxes in original pixels, whatever was decoded
        assert np.allclose(a.box, b.box, atol=0.05 * b.box[2])


def test_jpeg_over_budget_is_decoded_coarser(tmp_path, monkeypatch):
    path = tmp_path / "wide.jpg"
    cv2.imwrite(str(path), np.full((1200, 4000, 3), 128, np.uint8))
    assert load_image(path, min_side=4000).scale == 1.0
    monkeypatch.setattr(images, "PER_DECODE", 10 << 20)  # 4000x1200x7 B = 34 MB: too much
    img = load_image(path, min_side=4000)
    assert img.scale == 2.0 and img.pixels.shape[:2] == (600, 2000)


def test_large_decodes_take_turns():
    pool = budget.DecodeBudget(100)
    running, peak, lock = [0], [0], threading.Lock()

    def decode(n: int) -> None:
        with pool.reserve(n):
            with lock:
                running[0] += 1
                peak[0] = max(peak[0], running[0])
            time.sleep(0.05)
            with lock:
                running[0] -= 1

    threads = [threading.Thread(target=decode, args=(60,)) for _ in range(4)]
    threads.append(threading.Thread(target=decode, args=(500,)))  # oversized: runs alone
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert peak[0] == 1 and pool.used == 0 and pool.peak <= 100
    small = budget.DecodeBudget(100)
    with small.reserve(30), small.reserve(30), small.reserve(30):  # small ones never wait
        assert small.used == 90


@pytest.fixture(scope="module")
def huge_pngs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("huge")
    face = cv2.imread(str(UNIT / "img1.jpg"))
    face = cv2.resize(face, None, fx=2.5, fy=2.5, interpolation=cv2.INTER_CUBIC)
    for i in range(10):
        write_png(folder / f"huge_{i}.png", 14000, 14000, face,
                  (1000 + 900 * i, 2000 + 700 * i), 60 + 15 * i)
    return folder


def test_scan_of_ten_14000px_pngs_stays_under_1_5_gb(huge_pngs, tmp_path):
    """Peak RSS of a whole `facefolio scan` process (start-up included), and a status for
    every file."""
    lib = tmp_path / "library"
    probe = ("import resource, subprocess, sys; "
             "r = subprocess.run(sys.argv[1:]); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)")
    cmd = [sys.executable, "-c", probe, sys.executable, "-m", "facefolio.cli",
           "--library", str(lib), "scan", str(huge_pngs)]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    took = time.perf_counter() - t0
    assert out.returncode == 0, out.stderr[-2000:]
    peak = int(out.stdout.strip().splitlines()[-1]) * 1024  # ru_maxrss is in KiB on Linux
    status = json.loads(subprocess.run(
        [sys.executable, "-m", "facefolio.cli", "--library", str(lib), "status", "--json"],
        capture_output=True, text=True, timeout=120, check=True).stdout)
    print(f"ten 14000x14000 PNGs: peak RSS {peak / GB:.2f} GB, {took:.0f} s, "
          f"counts {status['counts']}, failed {status['failed']}")
    assert peak < 1.5 * GB
    failed = {Path(f["path"]).name for f in status["failed"]}
    assert status["counts"]["photos"] == 10
    # Each is analysed (its reduced decode shows the one face): none refused, none lost.
    assert not failed and status["counts"]["faces"] == 10
