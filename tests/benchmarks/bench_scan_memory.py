"""Does a long scan hold its memory flat? Peak RSS of `facefolio scan` (a whole process) over
1,000 and 10,000 distinct photos, and the growth between them.

The photos are 1600 x 1200 JPEGs made from deepface-unit's (a random crop, scale, mirror and
grain each, so every file has its own fingerprint and its faces are really analysed); cached
in $TMPDIR/facefolio-bench-memory. RSS is sampled from /proc every 50 ms.

    python tests/benchmarks/bench_scan_memory.py            # 1,000 and 10,000 photos
    python tests/benchmarks/bench_scan_memory.py --sizes 200,2000

Target: peak RSS at the larger size within 25% (and 150 MB) of the smaller one's: what grows
with the library (the index, the known-photo table) is a few MB per 10,000 photos, so more
than that is a leak. ONE JSON line on stdout; exit 1 when missed.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATASETS = Path(os.environ.get("FACEFOLIO_DATASETS", ROOT.parent / "shared" / "datasets"))


def make_photos(folder: Path, n: int) -> None:
    import numpy as np
    from PIL import Image
    sources = sorted((DATASETS / "deepface-unit").glob("img*.jpg"))
    have = len(list(folder.glob("*.jpg"))) if folder.exists() else 0
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(have)
    images = [Image.open(p).convert("RGB") for p in sources]
    for i in range(have, n):
        im = images[i % len(images)]
        w, h = im.size
        k = rng.uniform(0.8, 1.0)
        x, y = rng.integers(0, int(w * (1 - k)) + 1), rng.integers(0, int(h * (1 - k)) + 1)
        crop = im.crop((x, y, x + int(w * k), y + int(h * k))).resize((1200, 1600))
        if rng.random() < 0.5:
            crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        pixels = np.asarray(crop, np.int16) + rng.integers(-3, 4, (1600, 1200, 3))
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(
            folder / f"photo_{i:05d}.jpg", quality=88)
        if i % 500 == 0:
            print(f"made {i}/{n} photos", file=sys.stderr)


def scan_peak_rss(folder: Path, library: Path) -> dict:
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "facefolio.cli", "--library", str(library),
                             "scan", str(folder)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    peak = 0
    samples = []
    while proc.poll() is None:
        try:
            with open(f"/proc/{proc.pid}/status") as fh:
                rss = next(int(line.split()[1]) for line in fh if line.startswith("VmRSS"))
            peak = max(peak, rss)
            samples.append(rss)
        except (OSError, StopIteration):
            pass
        time.sleep(0.05)
    out = proc.stdout.read().strip()
    return {"photos": len(list(folder.glob("*.jpg"))), "peak_rss_mb": round(peak / 1024, 1),
            "median_rss_mb": round(sorted(samples)[len(samples) // 2] / 1024, 1)
            if samples else None, "wall_s": round(time.monotonic() - started, 1),
            "exit": proc.returncode, "summary": out}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    cache = Path(tempfile.gettempdir()) / "facefolio-bench-memory"
    runs = []
    for n in sizes:
        folder = cache / f"set-{n}"
        make_photos(folder, n)
        with tempfile.TemporaryDirectory() as tmp:
            runs.append(scan_peak_rss(folder, Path(tmp) / "lib"))
        print(json.dumps(runs[-1]), file=sys.stderr)
    small, big = runs[0]["peak_rss_mb"], runs[-1]["peak_rss_mb"]
    growth = big - small
    ok = all(r["exit"] == 0 for r in runs) and growth <= max(0.25 * small, 150)
    print(json.dumps({"benchmark": "scan_memory", "runs": runs,
                      "growth_mb": round(growth, 1),
                      "target": "peak RSS growth <= max(25%, 150 MB) from the smallest size",
                      "ok": ok}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
