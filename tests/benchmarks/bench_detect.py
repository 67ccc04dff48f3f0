#!/usr/bin/env python
"""Benchmark detection of small faces on groupset.py photos, and what it costs elsewhere.

In one run, on N 12 MP group photos (groupset.py: 6-16 people, faces 32-280 px) and on the
40 12 MP single-face photos of bench_scan.py (faces of 300 px and more, nothing small):

  - found-rate by face width (detector-box width, groupset.width_bin) and false detections
    (detections matching no face), for the engine as shipped ("engine") and for its first
    pass alone ("first_pass": the 640 px view, what Facefolio did before);
  - how often the second, closer pass runs (group photos vs single-face photos) and the
    time per photo of load_image + FaceEngine.find + crops, with and without it;
  - whether found faces are recognisable, by width, with crops from the finest decode (as
    shipped) and from the first decode only: the share of found celebrity faces whose
    nearest person (mean embedding of the person's held-out portraits) is their own, and the
    mean cosine between a found face's embedding and that of its source crop upscaled 3x
    ("source_similarity").

    python tests/benchmarks/bench_detect.py                 # 40 group photos
    python tests/benchmarks/bench_detect.py --photos 12     # quicker
    python tests/benchmarks/bench_detect.py --alignment     # align.py vs insightface norm_crop

Prints ONE JSON line on stdout (progress on stderr). Targets: >= 95% of faces 48 px and
wider found, >= 80% of 32-48 px; exits 1 when one is missed.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import groupset  # noqa: E402

from facefolio.engine import FaceEngine, load_image, smallfaces  # noqa: E402
from facefolio.engine import engine as engine_mod  # noqa: E402

TARGETS = {"48_and_wider": 0.95, "32-48": 0.80}


def log(msg: str) -> None:
    print(f"[bench_detect] {msg}", file=sys.stderr, flush=True)


def bins_order(d: dict) -> dict:
    return dict(sorted(d.items(), key=lambda kv: int(kv[0].split("-")[0])))


def run(engine: FaceEngine, files: list[str], truth: dict | None, centroids: dict | None,
        finest_crops: bool = True, sources: dict | None = None) -> dict:
    """Find faces in every file; score against ``truth`` when given."""
    found, total, recog, recog_n, source_sim = {}, {}, {}, {}, {}
    false_dets, finer_decodes, faces_out = 0, 0, 0
    t_find = t_load = 0.0
    passes = [0]
    detail_pass = smallfaces.detail_pass

    def counted(*a, **kw):
        passes[0] += 1
        return detail_pass(*a, **kw)

    smallfaces.detail_pass = counted
    saved = engine_mod.EMBED_MIN_PX
    if not finest_crops:
        engine_mod.EMBED_MIN_PX = 0.0  # every crop from the first decode
    try:
        for path in files:
            t0 = time.perf_counter()
            image = load_image(path)
            t1 = time.perf_counter()
            dets, finer = engine.find(image)
            crops = engine.crops(image, dets, finer)
            t2 = time.perf_counter()
            t_load += t1 - t0
            t_find += t2 - t1
            finer_decodes += finer is not image
            faces_out += len(dets)
            if truth is None:
                continue
            faces = truth[path]
            pairs, _, unmatched = groupset.match(faces, [d[0] for d in dets])
            false_dets += len(unmatched)
            for t in faces:
                b = groupset.width_bin(t.width)
                total[b] = total.get(b, 0) + 1
            if (centroids is not None or sources is not None) and pairs:
                embs = engine.embed_batch(crops[[j for _, j in pairs]])
            for k, (i, _) in enumerate(pairs):
                b = groupset.width_bin(faces[i].width)
                found[b] = found.get(b, 0) + 1
                if sources is not None and sources.get(faces[i].crop) is not None:
                    source_sim.setdefault(b, []).append(float(embs[k] @ sources[faces[i].crop]))
                person = faces[i].person
                if centroids is not None and person in centroids:
                    names = list(centroids)
                    sims = np.stack([centroids[n] for n in names]) @ embs[k]
                    recog[b] = recog.get(b, 0) + (names[int(np.argmax(sims))] == person)
                    recog_n[b] = recog_n.get(b, 0) + 1
    finally:
        engine_mod.EMBED_MIN_PX = saved
        smallfaces.detail_pass = detail_pass
    n = len(files)
    out = {"photos": n, "detail_pass_photos": passes[0], "finer_decode_photos": finer_decodes,
           "faces": faces_out,
           "load_ms": round(1000 * t_load / n, 1), "find_and_crop_ms": round(1000 * t_find / n, 1)}
    if truth is not None:
        out["found_rate"] = bins_order({b: round(found.get(b, 0) / total[b], 3) for b in total})
        out["faces_by_width"] = bins_order(total)
        wide = [b for b in total if int(b.split("-")[0]) >= 48]
        out["found_48_and_wider"] = round(sum(found.get(b, 0) for b in wide)
                                          / sum(total[b] for b in wide), 3)
        out["false_detections"] = false_dets
        if source_sim:
            out["source_similarity"] = bins_order({b: round(float(np.mean(v)), 3)
                                                   for b, v in source_sim.items()})
        if recog_n:
            out["recognised_rate"] = bins_order({b: round(recog[b] / recog_n[b], 3)
                                                 for b in recog_n})
    return out


def cost(engine: FaceEngine, first: FaceEngine, files: list[str], reps: int = 3) -> dict:
    """load_image + find + crops per photo, as shipped and first pass only, interleaved
    photo by photo (best of ``reps`` each) so that load on a shared machine hits both."""
    best = {"engine": np.full(len(files), np.inf), "first_pass": np.full(len(files), np.inf)}
    for _ in range(reps):
        for i, path in enumerate(files):
            for name, eng in (("engine", engine), ("first_pass", first)):
                t0 = time.perf_counter()
                image = load_image(path)
                dets, finer = eng.find(image)
                eng.crops(image, dets, finer)
                best[name][i] = min(best[name][i], time.perf_counter() - t0)
    e, f = best["engine"].sum(), best["first_pass"].sum()
    return {"engine_ms": round(1000 * e / len(files), 1),
            "first_pass_ms": round(1000 * f / len(files), 1), "ratio": round(e / f, 3)}


def source_embeddings(engine: FaceEngine, truth: list) -> dict[str, np.ndarray | None]:
    """Per celebrity crop used in a group photo: its embedding, upscaled 3x on its own (the
    best any crop of that face in a photo can hope to match)."""
    import cv2  # noqa: PLC0415

    from facefolio.engine import LoadedImage  # noqa: PLC0415

    out: dict[str, np.ndarray | None] = {}
    for t in truth:
        if t.kind == "group" and t.crop.startswith("celebrity-dev/") and t.crop not in out:
            img = cv2.imread(str(groupset.datasets_dir() / t.crop))
            up = cv2.resize(img, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)
            faces = engine.analyze(LoadedImage(up, 1.0, up.shape[1], up.shape[0]))
            out[t.crop] = faces[0].embedding if faces else None
    return out


def portrait_centroids(engine: FaceEngine, truth: list) -> dict[str, np.ndarray]:
    """Per celebrity: the mean embedding of the held-out portraits (largest face of each)."""
    by_person: dict[str, list] = {}
    for t in truth:
        if t.kind == "portrait":
            faces = engine.analyze(load_image(t.photo))
            if faces:
                by_person.setdefault(t.person, []).append(faces[0].embedding)
    out = {}
    for person, embs in by_person.items():
        c = np.mean(embs, axis=0)
        out[person] = c / np.linalg.norm(c)
    return out


def alignment_check() -> dict:
    """align.align against insightface's norm_crop on the faces of deepface-unit."""
    import warnings

    warnings.filterwarnings("ignore")
    from insightface.utils import face_align  # the reference; needs insightface's __init__

    from facefolio.engine.align import align

    import cv2  # noqa: PLC0415

    from facefolio.engine.align import TEMPLATE  # noqa: PLC0415

    engine = FaceEngine(small_faces=False)
    cos, diff, lmeds = [], [], []
    for path in sorted((groupset.datasets_dir() / "deepface-unit").glob("*.jpg")):
        image = load_image(path)
        for _, kps, _ in engine.detect(image):
            ours = align(image.pixels, kps)
            ref = face_align.norm_crop(image.pixels, landmark=kps, image_size=112)
            m, _ = cv2.estimateAffinePartial2D(kps, TEMPLATE, method=cv2.LMEDS)
            robust = cv2.warpAffine(image.pixels, m, (112, 112), borderValue=0.0)
            a, b, c = engine.embed_batch(np.stack([ours, ref, robust]))
            cos.append(float(a @ b))
            lmeds.append(float(c @ b))
            diff.append(float(np.abs(ours.astype(int) - ref).max()))
    return {"faces": len(cos), "ours_vs_norm_crop": {
        "cosine_min": round(min(cos), 6), "cosine_mean": round(float(np.mean(cos)), 6),
        "max_pixel_difference": max(diff)},
        "lmeds_vs_norm_crop": {"cosine_min": round(min(lmeds), 4),
                               "cosine_mean": round(float(np.mean(lmeds)), 4)}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--photos", type=int, default=40, help="group photos (default 40)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--singles", type=int, default=40,
                    help="bench_scan.py single-face photos for the cost check (default 40)")
    ap.add_argument("--probe-fraction", type=float, default=None,
                    help="override smallfaces.PROBE_FRACTION (to see what it buys)")
    ap.add_argument("--refine-view-px", type=float, default=None,
                    help="override refine.REFINE_VIEW_PX (0: landmarks never placed again)")
    ap.add_argument("--refine-face-px", type=float, default=None,
                    help="override refine.REFINE_FACE_PX (how wide the face is seen again)")
    ap.add_argument("--area-below", type=float, default=None,
                    help="override yunet.AREA_BELOW (1.0: every shrink with INTER_AREA)")
    ap.add_argument("--empty", type=int, default=10,
                    help="photos with nobody in them, for false detections and cost (10)")
    ap.add_argument("--alignment", action="store_true",
                    help="only compare align.py with insightface's norm_crop")
    args = ap.parse_args(argv)
    if args.alignment:
        print(json.dumps(alignment_check()))
        return 0

    if args.probe_fraction is not None:
        smallfaces.PROBE_FRACTION = args.probe_fraction
    if args.refine_view_px is not None:
        from facefolio.engine import refine  # noqa: PLC0415

        refine.REFINE_VIEW_PX = args.refine_view_px
    if args.refine_face_px is not None:
        from facefolio.engine import refine  # noqa: PLC0415

        refine.REFINE_FACE_PX = args.refine_face_px
    if args.area_below is not None:
        from facefolio.engine import yunet  # noqa: PLC0415

        yunet.AREA_BELOW = args.area_below
    truth = groupset.build(None, args.seed, args.photos)
    group = groupset.by_photo([t for t in truth if t.kind == "group"])
    files = sorted(group)
    import bench_scan  # noqa: PLC0415 - its photo set: big single faces, nothing small

    singles_dir = bench_scan.photo_set(args.singles, Path(bench_scan.tempfile.gettempdir())
                                       / "facefolio-bench-scan")
    singles = sorted(str(p) for p in singles_dir.glob("photo_*.jpg"))
    engine = FaceEngine()
    first = FaceEngine(small_faces=False)
    engine.analyze(load_image(files[0]))  # warm up sessions and caches
    log(f"{len(files)} group photos, {len(singles)} single-face photos")
    centroids = portrait_centroids(engine, truth)
    log(f"portrait centroids for {len(centroids)} people")

    out = {"group_photos": len(files), "seed": args.seed}
    sources = source_embeddings(engine, truth)
    out["engine"] = run(engine, files, group, centroids, sources=sources)
    log(f"engine: {out['engine']}")
    out["first_pass"] = run(first, files, group, None)
    log(f"first pass: {out['first_pass']}")
    coarse = run(engine, files, group, centroids, finest_crops=False, sources=sources)
    out["engine_crops_from_first_decode"] = {k: coarse.get(k) for k in
                                             ("recognised_rate", "source_similarity")}
    out["single_face_photos"] = run(engine, singles, None, None)
    out["single_face_cost"] = cost(engine, first, singles)
    empty_dir = groupset.default_dir(args.seed, 0).with_name(f"{groupset.VERSION}-empty")
    empty_dir.mkdir(parents=True, exist_ok=True)
    empties = [str(groupset.empty_photo(empty_dir / f"empty_{i:03d}.jpg", i, args.seed))
               for i in range(args.empty)]
    out["empty_photos"] = run(engine, empties, None, None)  # every face found is false
    out["empty_cost"] = cost(engine, first, empties)
    g = out["engine"]
    met = {"48_and_wider": g["found_48_and_wider"], "32-48": g["found_rate"].get("32-48", 0.0)}
    out["targets"] = {k: {"target": v, "got": met[k], "met": met[k] >= v}
                      for k, v in TARGETS.items()}
    print(json.dumps(out), flush=True)
    return 0 if all(t["met"] for t in out["targets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
