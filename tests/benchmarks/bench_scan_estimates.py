#!/usr/bin/env python
"""What age and gender estimates add to a scan, measured with bench_scan.py's own scan.

On bench_scan.py's 12 MP single-face photos (its cached set), the in-process scanner
(`Scanner(Library(tmp)).scan()`, engines built once) runs interleaved with three choices of
what the workers estimate (ages.SCAN_TASKS): nothing, the gender alone (what ships), age and
gender; best of `--rounds` each. Then the background pass (ages.fill) adds the age to a
library scanned with the shipped choice: its ms per photo (one thread, decode included).

    python tests/benchmarks/bench_scan_estimates.py [--photos 40] [--rounds 3] [--workers 1]
    python tests/benchmarks/bench_scan_estimates.py --accuracy   # genders as a scan stores them

--accuracy scans deepface-unit's labelled photos with the real scanner, runs the age pass,
and scores the gender stored for each photo's largest face against
tests/data/agegender_truth.csv (the same truth as bench_agegender.py, which scores the
engine alone).

Prints ONE JSON line on stdout (progress on stderr). Target: the shipped choice adds <= 5%
to the scan's wall time; exits 1 when missed.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_scan  # noqa: E402

TARGET_SHARE = 0.05


def estimate_costs(folder: Path, work: Path, rounds: int, workers: int) -> dict:
    from facefolio.library.library import Library  # noqa: PLC0415
    from facefolio.library.people import ages  # noqa: PLC0415
    from facefolio.library.scan.scanner import Scanner  # noqa: PLC0415

    shipped = ages.SCAN_TASKS
    variants = {"none": (), "gender": ("gender",), "age_gender": ("age", "gender")}
    walls: dict[str, list[float]] = {k: [] for k in variants}
    bench_scan.in_process(bench_scan.group_set(1), work, workers)  # models built once
    try:
        for r in range(rounds):
            for name, tasks in variants.items():
                ages.SCAN_TASKS = tasks  # read by the parent when it makes the WorkSpec
                walls[name].append(bench_scan.in_process(folder, work, workers)["wall_s"])
            bench_scan.log(f"estimates round {r + 1}: " + ", ".join(
                f"{k} {v[-1]:.2f} s" for k, v in walls.items()))
    finally:
        ages.SCAN_TASKS = shipped
    best = {k: min(v) for k, v in walls.items()}
    n = len(list(folder.glob("photo_*.jpg")))
    lib = Library(work / f"fill-{time.monotonic_ns()}")
    try:
        lib.add_folder(folder)
        for _ in Scanner(lib, workers=workers).scan():
            pass
        pending = ages.count_pending(lib.con)
        t0 = time.perf_counter()
        for _ in ages.fill(lib):
            pass
        fill_s = time.perf_counter() - t0
    finally:
        lib.close()
    share = {k: round(best[k] / best["none"] - 1, 4) for k in ("gender", "age_gender")}
    got = share["gender"] if shipped == ("gender",) else share["age_gender"]
    return {"photos": n, "workers": workers, "shipped": list(shipped),
            "wall_s": {k: [round(x, 3) for x in v] for k, v in walls.items()},
            "ms_per_photo": {k: round(1e3 * v / n, 1) for k, v in best.items()},
            "added_share": share,
            "fill_pass": {"faces": pending, "wall_s": round(fill_s, 3),
                          "ms_per_photo": round(1e3 * fill_s / n, 1)},
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "target": {"share": TARGET_SHARE, "got": got, "met": got <= TARGET_SHARE}}


def accuracy(work: Path) -> dict:
    """Genders and ages the way a scan and the age pass store them, on deepface-unit."""
    import csv  # noqa: PLC0415
    from collections import defaultdict  # noqa: PLC0415

    from facefolio.library.library import Library  # noqa: PLC0415
    from facefolio.library.people import ages  # noqa: PLC0415
    from facefolio.library.scan.scanner import Scanner  # noqa: PLC0415
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from agegender_data import truth  # noqa: PLC0415

    folder = bench_scan.datasets_dir() / "deepface-unit"
    with open(folder / "identities.csv", newline="") as fh:
        person_of = {r["file"]: r["person"] for r in csv.DictReader(fh)}
    labels = truth()
    with Library(work / "accuracy") as lib:
        lib.add_folder(folder)
        for _ in Scanner(lib).scan():
            pass
        for _ in ages.fill(lib):
            pass
        faces = [f for f in lib.faces() if Path(f.photo_path).name in person_of]
        main: dict[str, object] = {}
        for f in faces:
            name = Path(f.photo_path).name
            if name not in main or f.box[2] * f.box[3] > main[name].box[2] * main[name].box[3]:
                main[name] = f
        est = ages.estimates(lib.con, [f.id for f in main.values()])
    right, per = 0, defaultdict(list)
    for name, f in main.items():
        t = labels[("deepface-unit", person_of[name])]
        e = est.get(f.id)
        right += e is not None and e.gender == t["gender"]
        if e is not None and e.age is not None:
            per[t["name"]].append(e.age)
    return {"photos_labelled": len(person_of), "photos_with_a_face": len(main),
            "gender_right": right, "accuracy": round(right / max(1, len(main)), 4),
            "people": len({person_of[n] for n in main}),
            "age_median_per_person": {k: round(sorted(v)[len(v) // 2], 1)
                                      for k, v in sorted(per.items())},
            "load_average": [round(x, 2) for x in os.getloadavg()]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--photos", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--accuracy", action="store_true",
                    help="score the genders a scan stores on deepface-unit instead")
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(),
                                                    "facefolio-bench-scan"))
    args = ap.parse_args(argv)
    if args.accuracy:
        work = Path(tempfile.mkdtemp(prefix="facefolio-bench-"))
        try:
            print(json.dumps(accuracy(work)), flush=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return 0
    folder = bench_scan.photo_set(args.photos, Path(args.cache))
    bench_scan.warm_cache(sorted(folder.glob("photo_*.jpg")))
    work = Path(tempfile.mkdtemp(prefix="facefolio-bench-"))
    try:
        out = estimate_costs(folder, work, args.rounds, args.workers)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(out), flush=True)
    return 0 if out["target"]["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
