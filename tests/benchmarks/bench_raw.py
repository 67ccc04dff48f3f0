#!/usr/bin/env python
"""Benchmark camera RAW decoding and the RAW+JPEG pairing of a folder listing.

In one run, on a 23 MP DNG made from a deepface-unit photo (upscaled 3x, RGGB mosaic):
  - load_image of a DNG with a full-size JPEG preview (the preview is used),
  - load_image of the same DNG without a preview (LibRaw's half-size development),
  - rawpy's default development (AHD, full size) of it: what a plain RAW decoder costs,
  - load_image of the JPEG of the same shot;
and walk_folder over N RAW+JPEG pairs (capture times compared) against N JPEGs alone.

    python tests/benchmarks/bench_raw.py [--pairs 200] [--repeat 3]

Prints ONE JSON line on stdout: seconds (best of --repeat) and the load average.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import DATASETS  # noqa: E402
from test_raw_pairs import make_dng, make_dng_with_preview, with_exif_date  # noqa: E402

from PIL import Image  # noqa: E402

from facefolio.engine.images import load_image  # noqa: E402
from facefolio.library.interop import pairs  # noqa: E402
from facefolio.library.scan.walk import walk_folder  # noqa: E402


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    import rawpy

    src = DATASETS / "deepface-unit" / "img1.jpg"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        big = Image.open(src).convert("RGB")
        big = big.resize((big.width * 3, big.height * 3), Image.Resampling.LANCZOS)
        big.save(tmp / "shot.png")
        big.save(tmp / "shot.jpg", quality=92)
        print("writing DNGs...", file=sys.stderr)
        make_dng(tmp / "shot.png", tmp / "plain.dng")
        make_dng_with_preview(tmp / "shot.png", tmp / "preview.dng", big)

        def ahd():
            with rawpy.imread(str(tmp / "plain.dng")) as raw:
                raw.postprocess(use_camera_wb=True)
        result = {
            "megapixels": round(big.width * big.height / 1e6, 1),
            "preview_s": best(lambda: load_image(tmp / "preview.dng"), args.repeat),
            "half_size_s": best(lambda: load_image(tmp / "plain.dng"), args.repeat),
            "ahd_full_s": best(ahd, args.repeat),
            "jpeg_s": best(lambda: load_image(tmp / "shot.jpg"), args.repeat),
        }
        print("writing pairs...", file=sys.stderr)
        small = tmp / "small.jpg"
        with_exif_date(src, small, "2021:06:05 14:03:07")
        make_dng(src, tmp / "small.dng", "2021:06:05 14:03:07")
        paired, alone = tmp / "paired", tmp / "alone"
        paired.mkdir()
        alone.mkdir()
        for i in range(args.pairs):
            os.link(small, paired / f"IMG_{i:04d}.JPG")
            os.link(tmp / "small.dng", paired / f"IMG_{i:04d}.DNG")
            os.link(small, alone / f"IMG_{i:04d}.JPG")

        def walk(folder):
            pairs._CAPTURE_CACHE.clear()  # a fresh process: a CLI rescan
            return list(walk_folder(folder, 1))
        assert len(walk(paired)) == args.pairs
        result.update({
            "pairs": args.pairs,
            "walk_pairs_s": best(lambda: walk(paired), args.repeat),
            "walk_jpegs_alone_s": best(lambda: walk(alone), args.repeat),
            "loadavg": os.getloadavg()[0],
        })
        shutil.rmtree(paired)
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
