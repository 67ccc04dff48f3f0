#!/usr/bin/env python
"""Age and gender estimates: how right, and what they would add to a scan.

Accuracy: gender against tests/data/agegender_truth.csv (public figures, labelled by hand
with a source) on the main face of deepface-unit's 61 labelled photos and celebrity-dev's
320 crops (upscaled 3x). Age truth is not known (the photos' years are not), so the age is
reported as a distribution per person (median, 10th-90th percentile), beside the person's
birth year.

Cost: ms per face on one core (chips + both networks), and, in the same run, the scan's
own per-photo stage times (bench_scan.py's engine_stages on its 12 MP photos) with the
age/gender stage added on the faces found: the share it would add to a photo's cost.
Target: <= 5% of the scan's per-photo cost; exits 1 when missed.

    python tests/benchmarks/bench_agegender.py [--photos 20] [--rounds 3]
    python tests/benchmarks/bench_agegender.py --graph-levels   # agegender.GRAPH_LEVEL's basis

Prints ONE JSON line on stdout (progress on stderr).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parents[1] / "desktop"))
TARGET_SHARE = 0.05


def log(msg: str) -> None:
    print(f"[bench_agegender] {msg}", file=sys.stderr, flush=True)


def accuracy(est, engine, datasets: Path) -> dict:
    from agegender_data import labelled_faces  # noqa: PLC0415

    faces, missed = labelled_faces(datasets, None, engine)
    got = [est.estimate(f.pixels, [f.kps])[0] for f in faces]
    out: dict = {"photos_without_face": missed}
    for ds in ("deepface-unit", "celebrity-dev", "all"):
        pairs = [(f, e) for f, e in zip(faces, got) if ds in ("all", f.dataset)]
        right = sum(f.gender == e.gender for f, e in pairs)
        out[f"gender_{ds}"] = {"faces": len(pairs), "right": right,
                               "accuracy": round(right / len(pairs), 4),
                               "people": len({(f.dataset, f.person) for f, _ in pairs})}
    per = defaultdict(list)
    for f, e in zip(faces, got):
        per[(f.dataset, f.name, f.birth_year, f.gender)].append(e)
    out["age_per_person"] = [
        {"dataset": ds, "name": name, "born": born, "faces": len(es),
         "gender_right": sum(e.gender == g for e in es),
         "age_median": round(float(np.median([e.age for e in es])), 1),
         "age_p10_p90": [round(float(np.percentile([e.age for e in es], q)), 1)
                         for q in (10, 90)]}
        for (ds, name, born, g), es in sorted(per.items())]
    return out


def cost(est, engine, files: list[Path], rounds: int) -> dict:
    """Scan stages per photo (as bench_scan.engine_stages) plus the age/gender stage."""
    from facefolio.engine import load_image  # noqa: PLC0415

    best: dict[str, float] = {}
    faces = 0
    for _ in range(rounds):
        t = {"decode": 0.0, "find": 0.0, "crops": 0.0, "embed": 0.0, "agegender": 0.0}
        faces = 0
        for path in files:
            a = time.perf_counter()
            image = load_image(path)
            b = time.perf_counter()
            dets, finer = engine.find(image)
            c = time.perf_counter()
            crops = engine.crops(image, dets, finer)
            d = time.perf_counter()
            engine.embed_batch(crops)
            e = time.perf_counter()
            # Landmarks are in original pixels; the chips are cut from the decoded view.
            est.estimate(image.pixels, [kps / image.scale for _, kps, _ in dets])
            f = time.perf_counter()
            for k, dt in zip(t, (b - a, c - b, d - c, e - d, f - e)):
                t[k] += dt
            faces += len(dets)
        for k, v in t.items():
            best[k] = min(best.get(k, 1e9), 1e3 * v / len(files))
    scan = sum(v for k, v in best.items() if k != "agegender")
    return {"photos": len(files), "faces": faces,
            "stage_ms_per_photo": {k: round(v, 2) for k, v in best.items()},
            "scan_ms_per_photo": round(scan, 1),
            "agegender_ms_per_face": round(best["agegender"] * len(files) / max(faces, 1), 2),
            "agegender_share_of_scan": round(best["agegender"] / scan, 4)}


def per_face_ms(est, engine, datasets: Path, reps: int = 3) -> dict:
    """Chips and networks alone, one face at a time, on deepface-unit's faces."""
    from agegender_data import labelled_faces  # noqa: PLC0415

    faces = labelled_faces(datasets, 0, engine)[0]
    t_chips = t_all = 1e9
    for _ in range(reps):
        a = time.perf_counter()
        for f in faces:
            est.chips(f.pixels, [f.kps])
        b = time.perf_counter()
        for f in faces:
            est.estimate(f.pixels, [f.kps])
        c = time.perf_counter()
        t_chips, t_all = min(t_chips, b - a), min(t_all, c - b)
    return {"faces": len(faces), "chips_ms": round(1e3 * t_chips / len(faces), 2),
            "total_ms": round(1e3 * t_all / len(faces), 2)}


def graph_levels(reps: int = 12) -> dict:
    """ms per face (one at a time, one thread) of each network at each ORT graph level,
    best of ``reps`` interleaved rounds, on the recorded chips of tests/data."""
    from facefolio.engine.agegender import MODEL_DIR, AgeGenderEstimator  # noqa: PLC0415
    from facefolio.engine.runtime import ort, session_options  # noqa: PLC0415

    est = AgeGenderEstimator()
    ref = np.load(HERE.parent / "data" / "agegender_dlib_chips.npz")
    levels = ("ORT_DISABLE_ALL", "ORT_ENABLE_BASIC", "ORT_ENABLE_EXTENDED", "ORT_ENABLE_ALL")
    files = {"age": ("age-v1.onnx", "chip64"), "gender": ("gender-v1.onnx", "chip32")}
    sessions, outs = {}, {}
    for level in levels:
        for task, (name, _) in files.items():
            so = session_options(1)
            so.graph_optimization_level = getattr(ort().GraphOptimizationLevel, level)
            sessions[(level, task)] = ort().InferenceSession(
                str(MODEL_DIR / name), sess_options=so, providers=["CPUExecutionProvider"])
    best: dict = {}
    for _ in range(reps):
        for (level, task), s in sessions.items():
            x = est.tensor(np.repeat(ref[files[task][1]], 4, 0), task)
            t0 = time.perf_counter()
            out = [s.run(None, {"images": x[i:i + 1]})[0] for i in range(len(x))]
            dt = 1e3 * (time.perf_counter() - t0) / len(x)
            best[f"{task}_{level}"] = round(min(best.get(f"{task}_{level}", 1e9), dt), 2)
            outs[(level, task)] = np.concatenate(out)
    diff = max(float(np.abs(outs[(lv, t)] - outs[("ORT_DISABLE_ALL", t)]).max())
               for lv in levels for t in files)
    return {"ms_per_face": best, "max_probability_difference": diff}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--graph-levels", action="store_true")
    args = ap.parse_args()
    if args.graph_levels:
        print(json.dumps({"load_average": [round(x, 2) for x in os.getloadavg()],
                          **graph_levels()}))
        return 0
    import bench_scan  # noqa: PLC0415
    from conftest import DATASETS  # noqa: PLC0415

    from facefolio.engine import FaceEngine  # noqa: PLC0415
    from facefolio.engine.agegender import AgeGenderEstimator  # noqa: PLC0415

    engine, est = FaceEngine(threads=1), AgeGenderEstimator(threads=1)
    out: dict = {"load_average": [round(x, 2) for x in os.getloadavg()]}
    log("accuracy")
    out["accuracy"] = accuracy(est, engine, DATASETS)
    log("ms per face")
    out["per_face_one_thread"] = per_face_ms(est, engine, DATASETS)
    cache = Path(os.environ.get("TMPDIR", tempfile.gettempdir())) / "facefolio-bench-scan"
    folder = bench_scan.photo_set(args.photos, cache)
    log(f"scan stages on {args.photos} photos x {args.rounds}")
    out["scan"] = cost(est, engine, sorted(folder.glob("*.jpg")), args.rounds)
    out["target_share"] = TARGET_SHARE
    out["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(out))
    return 0 if out["scan"]["agegender_share_of_scan"] <= TARGET_SHARE else 1


if __name__ == "__main__":
    sys.exit(main())
