#!/usr/bin/env python
"""What a video costs a scan, beside what a photo costs, in one run.

Sets of files, each scanned into a fresh library by the scanner in-process (one worker, the
engine built once and shared, so model loading is not counted), alternating sets round after
round and keeping the best time of each:

  photos    N deepface-unit photos (their own sizes, 0.2-12 MP JPEGs)
  clip3     N 3 s videos, 640x480, 10 fps (4 frames looked at: the rule's floor)
  clip10    N 10 s videos, 640x480 (5 frames)
  hd60      N 60 s videos, 1280x720 (30 frames: the rule's ceiling)
  fhd10     N 10 s videos, 1920x1080 (5 frames: a phone's clip)
  uhd10     N 10 s videos, 3840x2160 (5 frames: a phone's 4K clip)

Each video is made with OpenCV's writer (mp4v) from two deepface-unit photos of one person
(tests/video_fixtures.py), a different pair per video so no two share a fingerprint. Also:
the decoding alone (seeking to and decoding the sampled frames, no face work) per video.

    python tests/benchmarks/bench_video_scan.py               # N=4, 2 rounds
    python tests/benchmarks/bench_video_scan.py --n 6 --rounds 3

Prints ONE JSON line on stdout (progress on stderr): seconds per file of each set, frames
looked at per video, decode-only seconds per video, and each video set's cost in photos.
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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # tests/: video_fixtures, conftest's DATASETS
sys.path.insert(0, str(HERE.parent.parent / "desktop"))

import video_fixtures as vf  # noqa: E402

from facefolio.engine import FaceEngine  # noqa: E402
from facefolio.engine.video import VideoReader  # noqa: E402
from facefolio.library import Library, Scanner  # noqa: E402

# Pairs of photos of one person each (deepface-unit/identities.csv), one pair per video.
PAIRS = [("img1.jpg", "img2.jpg"), ("img4.jpg", "img5.jpg"), ("img6.jpg", "img7.jpg"),
         ("img3.jpg", "img12.jpg"), ("img10.jpg", "img11.jpg"), ("img16.jpg", "img17.jpg"),
         ("img18.jpg", "img19.jpg"), ("img27.jpg", "img28.jpg")]
PHOTOS = ["img1.jpg", "img3.jpg", "img5.jpg", "img7.jpg", "img11.jpg", "img20.jpg",
          "img22.jpg", "img27.jpg"]
SETS = {"clip3": (3.0, (640, 480)), "clip10": (10.0, (640, 480)), "hd60": (60.0, (1280, 720)),
        "fhd10": (10.0, (1920, 1080)), "uhd10": (10.0, (3840, 2160))}


def log(*a) -> None:
    print(*a, file=sys.stderr, flush=True)


def make_sets(root: Path, n: int) -> dict[str, Path]:
    folders = {}
    photos = root / "photos"
    photos.mkdir()
    for name in PHOTOS[:n]:
        shutil.copy(vf.DEEPFACE / name, photos / name)
    folders["photos"] = photos
    for kind, (seconds, size) in SETS.items():
        folder = root / kind
        folder.mkdir()
        for i, pair in enumerate(PAIRS[:n]):
            vf.make_video(folder / f"{kind}-{i}.mp4", pair, seconds=seconds, size=size)
        folders[kind] = folder
        log(f"made {n} videos of {seconds:g} s at {size[0]}x{size[1]}")
    return folders


def scan_once(folder: Path, engine, work: Path) -> float:
    lib_dir = work / f"lib-{folder.name}-{time.monotonic_ns()}"
    with Library(lib_dir) as lib:
        lib.add_folder(folder)
        started = time.perf_counter()
        last = None
        for last in Scanner(lib, workers=1, engine_factory=lambda: engine).scan():
            pass
        took = time.perf_counter() - started
        assert last.phase == "done" and last.errors == 0, (folder, last)
    shutil.rmtree(lib_dir, ignore_errors=True)
    return took


def decode_only(folder: Path) -> tuple[float, int]:
    """Best-effort: seconds per video to open it and decode its sampled frames."""
    started, frames = time.perf_counter(), 0
    videos = sorted(folder.glob("*.mp4"))
    for path in videos:
        with VideoReader(path) as video:
            frames += sum(1 for _, px in video.samples() if px is not None)
    return (time.perf_counter() - started) / len(videos), frames // len(videos)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=4, help="files per set (at most 8)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--sets", default=",".join(SETS), help="video sets to run (photos always)")
    args = ap.parse_args()
    for kind in set(SETS) - set(args.sets.split(",")):
        del SETS[kind]
    n = max(1, min(args.n, len(PAIRS)))
    work = Path(tempfile.mkdtemp(prefix="facefolio-bench-video-"))
    try:
        folders = make_sets(work, n)
        engine = FaceEngine(threads=1)
        best: dict[str, float] = {}
        for r in range(args.rounds):
            for kind, folder in folders.items():
                took = scan_once(folder, engine, work)
                best[kind] = min(best.get(kind, took), took)
                log(f"round {r + 1}: {kind} {took:.2f} s for {n} files")
        decode = {kind: decode_only(folders[kind]) for kind in SETS}
        per_file = {k: round(v / n, 3) for k, v in best.items()}
        out = {
            "bench": "video_scan", "files_per_set": n, "rounds": args.rounds,
            "seconds_per_file": per_file,
            "frames_per_video": {k: decode[k][1] for k in SETS},
            "decode_only_seconds_per_video": {k: round(decode[k][0], 3) for k in SETS},
            "video_in_photos": {k: round(per_file[k] / per_file["photos"], 2) for k in SETS},
            "load_average": [round(x, 2) for x in os.getloadavg()],
        }
        print(json.dumps(out))
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
