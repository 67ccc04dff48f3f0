#!/usr/bin/env python
"""Benchmark scanning against the plainest loop a user could write instead, in one run.

On the same files (N 12 MP JPEGs of one face each, from shared/datasets/deepface-unit, made
once and cached in $TMPDIR/facefolio-bench-scan; and, reported apart, groupset.py group
photos), alternating a, b, a, b and keeping the best of each:

  (a) the plain loop, a whole process importing no project code: OpenCV decode at 1/4
      (IMREAD_REDUCED_COLOR_4), YuNet on a 640x640 letterbox, 5-point alignment with
      cv2.estimateAffinePartial2D(LMEDS), SFace one face at a time, ONNX Runtime at its
      default threads, no database (the models are the converted files Facefolio caches);
  (b) `facefolio --library TMP scan DIR`, a whole process (start-up, model loading, database
      and clustering included), on a fresh library each time;
  (c) the scanner in-process (`Scanner(Library(tmp)).scan()`, engines already built), with
      the scaling model: photos/s and CPU s per photo for each worker count;

plus stage times per photo (plain loop, and the engine on one thread) and an inference
profile: SFace ms per face by ORT threads and batch size, YuNet's first pass by threads.

Each whole-process run is done with the photos in the page cache (warm) and with them
dropped from it first (cold: posix_fadvise DONTNEED per file, no root needed).

    python tests/benchmarks/bench_scan.py                    # 40 photos, 8 group photos
    python tests/benchmarks/bench_scan.py --photos 40 --rounds 3 --workers 1,2,3
    python tests/benchmarks/bench_scan.py --startup          # start-up and search only

Prints ONE JSON line on stdout (progress on stderr). Targets (ratios of wall times measured
in this run): whole-process scan >= 2.0x the plain loop's whole process, in-process scanner
>= 2.5x the plain loop's loop; exits 1 when one is missed. --startup states its own:
`--version` and `--help` <= 0.5 s, `search PHOTO` on a 10,000-face library <= 1.5 s.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import groupset  # noqa: E402

W, H = 4000, 3000
QUALITY = 90
GRAIN = 5.0  # sensor-like noise (grey levels): files of ~3 MB like camera JPEGs
CACHE_VERSION = "v2"
TARGETS = {"whole_process": 2.0, "in_process": 2.5}
STARTUP_TARGETS = {"version_s": 0.5, "help_s": 0.5, "search_s": 1.5, "search_vs_bare": 1.3}

# `search PHOTO` is also compared with the bare process: the plain loop below (start Python,
# load both models, decode, detect, align, embed; no project code) on the one photo.



def log(msg: str) -> None:
    print(f"[bench_scan] {msg}", file=sys.stderr, flush=True)


def datasets_dir() -> Path:
    return groupset.datasets_dir()


# -- the photo set ---------------------------------------------------------------------------
def _make_photo(src: Path, variant: int, out: Path, seed: int) -> None:
    img = cv2.imread(str(src), cv2.IMREAD_COLOR)
    if variant % 2:
        img = cv2.flip(img, 1)  # later rounds: different content, same faces
    h, w = img.shape[:2]
    f = min(W / w, H / h)
    nw, nh = round(w * f), round(h * f)
    fg = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_CUBIC if f > 1 else cv2.INTER_AREA)
    # Margins: the photo itself stretched and heavily blurred (no detectable faces there).
    bg = cv2.resize(img, (W // 16, H // 16), interpolation=cv2.INTER_AREA)
    bg = cv2.GaussianBlur(bg, (0, 0), 6)
    canvas = cv2.resize(bg, (W, H), interpolation=cv2.INTER_LINEAR)
    x0, y0 = (W - nw) // 2, (H - nh) // 2
    canvas[y0:y0 + nh, x0:x0 + nw] = fg
    rng = np.random.default_rng(seed)
    grain = rng.normal(0.0, GRAIN, size=(H, W, 1)).astype(np.float32)
    canvas = np.clip(canvas.astype(np.float32) + grain, 0, 255).astype(np.uint8)
    tmp = out.with_suffix(".tmp.jpg")
    if not cv2.imwrite(str(tmp), canvas, [cv2.IMWRITE_JPEG_QUALITY, QUALITY]):
        raise RuntimeError(f"cannot write {tmp}")
    os.replace(tmp, out)


def photo_set(n: int, cache_root: Path) -> Path:
    """A folder holding exactly n generated photos (hard links into a cached pool)."""
    sources = sorted((datasets_dir() / "deepface-unit").glob("*.jpg"))
    if not sources:
        raise SystemExit(f"no photos in {datasets_dir() / 'deepface-unit'}")
    pool = cache_root / CACHE_VERSION / "pool"
    pool.mkdir(parents=True, exist_ok=True)
    folder = cache_root / CACHE_VERSION / f"set-{n}"
    folder.mkdir(parents=True, exist_ok=True)
    made = 0
    for i in range(n):
        name = f"photo_{i:05d}.jpg"
        pooled = pool / name
        if not pooled.exists():
            _make_photo(sources[i % len(sources)], i // len(sources), pooled, seed=i)
            made += 1
        target = folder / name
        if not target.exists():
            try:
                os.link(pooled, target)
            except OSError:
                shutil.copyfile(pooled, target)
    for extra in folder.iterdir():  # a set folder holds exactly its n photos
        if extra.name >= f"photo_{n:05d}.jpg" or not extra.name.startswith("photo_"):
            extra.unlink()
    if made:
        log(f"generated {made} photos into {pool}")
    return folder


def group_set(n: int, seed: int = 0) -> Path:
    """A folder of the first n group photos of groupset.py (hard links into its cache)."""
    truth = groupset.build(None, seed, max(n, 8))
    photos = sorted({t.photo for t in truth if t.kind == "group"})[:n]
    folder = groupset.default_dir(seed, max(n, 8)).with_name(f"bench-scan-groups-{n}")
    folder.mkdir(parents=True, exist_ok=True)
    for p in photos:
        target = folder / Path(p).name
        if not target.exists():
            os.link(p, target)
    return folder


def drop_from_cache(files: list[Path]) -> None:
    """Evict the files' pages from the page cache (cold start), where the OS allows it."""
    for f in files:
        fd = os.open(f, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def warm_cache(files: list[Path]) -> None:
    for f in files:
        f.read_bytes()


# -- (a) the plain loop ----------------------------------------------------------------------
PLAIN_LOOP = r'''
import json, sys, time
t0 = time.perf_counter()
import cv2, numpy as np, onnxruntime as ort
det_path, rec_path, list_path = sys.argv[1:4]
files = open(list_path).read().splitlines()
so = ort.SessionOptions()
so.log_severity_level = 3
det = ort.InferenceSession(det_path, so, providers=["CPUExecutionProvider"])
rec = ort.InferenceSession(rec_path, so, providers=["CPUExecutionProvider"])
outs = [o.name for o in det.get_outputs()]
TEMPLATE = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                     [41.5493, 92.3655], [70.7299, 92.2041]], np.float32)

def detect(img):
    h, w = img.shape[:2]
    f = 640 / max(h, w)
    canvas = np.zeros((640, 640, 3), np.uint8)
    canvas[:round(h * f), :round(w * f)] = cv2.resize(img, (round(w * f), round(h * f)))
    o = dict(zip(outs, det.run(outs, {"input": canvas.transpose(2, 0, 1)[None].astype(np.float32)})))
    boxes, kpss, scores = [], [], []
    for s in (8, 16, 32):
        n = 640 // s
        score = np.sqrt(np.clip(o[f"cls_{s}"][0, :, 0], 0, 1) * np.clip(o[f"obj_{s}"][0, :, 0], 0, 1))
        keep = score >= 0.6
        rows, cols = np.divmod(np.arange(n * n, dtype=np.float32), n)
        grid = np.stack([cols, rows], 1)[keep]
        bb = o[f"bbox_{s}"][0][keep]
        c, z = (grid + bb[:, :2]) * s, np.exp(bb[:, 2:4]) * s
        boxes.append(np.hstack([c - z / 2, z]) / f)
        kpss.append((grid[:, None] + o[f"kps_{s}"][0][keep].reshape(-1, 5, 2)) * s / f)
        scores.append(score[keep])
    boxes, kpss, scores = np.concatenate(boxes), np.concatenate(kpss), np.concatenate(scores)
    idx = np.asarray(cv2.dnn.NMSBoxes(boxes.tolist(), scores.tolist(), 0.6, 0.3)).reshape(-1)
    return [kpss[i] for i in idx]

setup = time.perf_counter() - t0
t_dec = t_det = t_emb = 0.0
faces = 0
t_loop = time.perf_counter()
for path in files:
    a = time.perf_counter()
    img = cv2.imread(path, cv2.IMREAD_REDUCED_COLOR_4)
    b = time.perf_counter()
    found = detect(img)
    c = time.perf_counter()
    for kps in found:
        m, _ = cv2.estimateAffinePartial2D(kps, TEMPLATE, method=cv2.LMEDS)
        crop = cv2.warpAffine(img, m, (112, 112))
        e = rec.run(None, {"data": crop[..., ::-1].transpose(2, 0, 1)[None].astype(np.float32)})[0][0]
        e = e / np.linalg.norm(e)
        faces += 1
    t_dec += b - a
    t_det += c - b
    t_emb += time.perf_counter() - c
loop = time.perf_counter() - t_loop
n = len(files)
print(json.dumps({"setup_s": setup, "loop_s": loop, "faces": faces, "decode_ms": 1e3 * t_dec / n,
                  "detect_ms": 1e3 * t_det / n, "align_embed_ms": 1e3 * t_emb / n}))
'''


def _child_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _self_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def run_process(cmd: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """(wall s, CPU s, stdout) of one whole process."""
    c0 = _child_cpu()
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"{cmd[:3]}... failed: {out.stderr[-1500:]}")
    return wall, _child_cpu() - c0, out.stdout


def plain_loop(files: list[Path], models: tuple[Path, Path], work: Path) -> dict:
    listing = work / "files.txt"
    listing.write_text("\n".join(str(f) for f in files))
    wall, cpu, stdout = run_process([sys.executable, "-c", PLAIN_LOOP, str(models[0]),
                                     str(models[1]), str(listing)])
    out = json.loads(stdout.strip().splitlines()[-1])
    return {"wall_s": wall, "cpu_s": cpu, **out}


def facefolio_command() -> list[str]:
    script = Path(sys.executable).with_name("facefolio")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "facefolio.cli"]


def facefolio_scan(folder: Path, work: Path) -> dict:
    lib = work / f"lib-{time.monotonic_ns()}"
    wall, cpu, _ = run_process(facefolio_command() + ["--library", str(lib), "scan",
                                                      str(folder)])
    counts = json.loads(run_process(facefolio_command() + ["--library", str(lib), "status",
                                                           "--json"])[2])["counts"]
    shutil.rmtree(lib, ignore_errors=True)
    return {"wall_s": wall, "cpu_s": cpu, "faces": counts["faces"], "photos": counts["photos"],
            "failed": counts["failed"]}


# -- (c) the scanner in-process --------------------------------------------------------------
def in_process(folder: Path, work: Path, workers: int | None = None) -> dict:
    from facefolio.library.library import Library  # noqa: PLC0415
    from facefolio.library.scan.scanner import Scanner  # noqa: PLC0415

    lib = Library(work / f"inproc-{time.monotonic_ns()}")
    try:
        lib.add_folder(folder)
        scanner = Scanner(lib, workers=workers) if workers else Scanner(lib)
        c0, t0 = _self_cpu(), time.perf_counter()
        t_analysed = None
        last = None
        for p in scanner.scan():
            last = p
            if p.phase not in ("listing", "scanning") and t_analysed is None:
                t_analysed = time.perf_counter() - t0
        wall, cpu = time.perf_counter() - t0, _self_cpu() - c0
        counts = lib.counts()
    finally:
        lib.close()
    assert last is not None and last.phase == "done", last
    return {"wall_s": wall, "cpu_s": cpu, "faces": counts["faces"], "photos": counts["photos"],
            "workers": scanner.workers, "scan_phase_s": t_analysed or wall}


def engine_stages(files: list[Path]) -> dict:
    """Per-photo stage times of the engine as the scanner calls it, one thread."""
    from facefolio.engine import FaceEngine, load_image  # noqa: PLC0415

    engine = FaceEngine(threads=1)
    t = {"decode": 0.0, "find": 0.0, "crops": 0.0, "embed": 0.0}
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
        for k, dt in zip(t, (b - a, c - b, d - c, e - d)):
            t[k] += dt
        faces += len(dets)
    return {**{f"{k}_ms": round(1e3 * v / len(files), 1) for k, v in t.items()},
            "faces": faces}


def inference_profile(files: list[Path], reps: int = 5) -> dict:
    """Per face / per photo inference times by ORT threads and batch size (best of reps):
    what the choices of threads per engine and of batching on a CPU rest on."""
    from facefolio.engine import FaceEngine, load_image  # noqa: PLC0415

    crops = []
    probe = FaceEngine(threads=1)
    for path in files:
        image = load_image(path)
        dets, finer = probe.find(image)
        crops.extend(probe.crops(image, dets, finer))
        if len(crops) >= 32:
            break
    crops = np.stack((crops * 32)[:32])
    views = [load_image(p).pixels for p in files[:8]]
    out: dict = {}
    for threads in (1, 2):
        engine = FaceEngine(threads=threads)
        rec, det = engine._recogniser, engine._detector
        for batch in (1, 8, 32):
            rec.max_batch = batch
            t = min(_timed(lambda: engine.embed_batch(crops)) for _ in range(reps))
            out[f"sface_ms_per_face_threads{threads}_batch{batch}"] = round(1e3 * t / 32, 2)
        t = min(_timed(lambda: [det.detect(v) for v in views]) for _ in range(reps))
        out[f"yunet_first_pass_ms_threads{threads}"] = round(1e3 * t / len(views), 2)
    return out


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def best(runs: list[dict]) -> dict:
    return min(runs, key=lambda r: r["wall_s"])


def rates(run: dict, n: int) -> dict:
    return {"wall_s": round(run["wall_s"], 3), "photos_per_s": round(n / run["wall_s"], 3),
            "cpu_s_per_photo": round(run["cpu_s"] / n, 4), "faces": run["faces"]}


def compare(files: list[Path], folder: Path, models, work: Path, rounds: int,
            cold: bool) -> dict:
    """Plain loop vs facefolio scan, whole processes, alternating; best of each."""
    plain, scan = [], []
    for r in range(rounds):
        for kind, runs in (("plain", plain), ("scan", scan)):
            (drop_from_cache if cold else warm_cache)(files)
            runs.append(plain_loop(files, models, work) if kind == "plain"
                        else facefolio_scan(folder, work))
        log(f"{'cold' if cold else 'warm'} round {r + 1}: plain {plain[-1]['wall_s']:.2f} s, "
            f"facefolio scan {scan[-1]['wall_s']:.2f} s")
    p, s = best(plain), best(scan)
    n = len(files)
    return {"plain_loop": {**rates(p, n), "setup_s": round(p["setup_s"], 3),
                           "loop_s": round(p["loop_s"], 3)},
            "facefolio_scan": rates(s, n),
            "speedup": round(p["wall_s"] / s["wall_s"], 3),
            "all_wall_s": {"plain_loop": [round(r["wall_s"], 2) for r in plain],
                           "facefolio_scan": [round(r["wall_s"], 2) for r in scan]},
            "_plain": p}


# -- start-up ---------------------------------------------------------------------------------
def startup(work: Path, faces: int = 10_000) -> dict:
    """`--version`, `--help` and `search PHOTO` on a library of ``faces`` faces, whole
    processes (best of 3), and where the search's time goes."""
    from facefolio.engine.engine import Face  # noqa: PLC0415
    from facefolio.library.library import Library  # noqa: PLC0415
    from facefolio.library.scan.scanner import Scanner  # noqa: PLC0415

    photos = work / "startup-photos"
    photos.mkdir(parents=True, exist_ok=True)
    per_photo = 20
    for i in range(faces // per_photo):  # tiny files; the faces come from the stand-in
        cv2.imwrite(str(photos / f"p{i:05d}.png"), np.full((16, 16, 3), i % 251, np.uint8))
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(faces // 20, 128)).astype(np.float32)

    class StandIn:  # real embeddings are not needed to time a search, only their number
        def analyze(self, image):
            out = []
            for k in range(per_photo):
                v = centres[rng.integers(len(centres))] + rng.normal(size=128) * 0.8
                out.append(Face((1.0 + k, 1.0, 20.0, 20.0), np.zeros((5, 2), np.float32), 0.9,
                                0.8, (v / np.linalg.norm(v)).astype(np.float32)))
            return out

        def analyze_many(self, images):
            return [self.analyze(i) for i in images]

    lib_dir = work / "startup-library"
    lib = Library(lib_dir)
    lib.add_folder(photos)
    for _ in Scanner(lib, engine_factory=StandIn).scan():
        pass
    n_faces = lib.counts()["faces"]
    lib.close()
    photo = datasets_dir() / "deepface-unit" / "img1.jpg"
    cmd = facefolio_command()
    timings = {}
    from facefolio.engine import models  # noqa: PLC0415
    listing = work / "one.txt"
    listing.write_text(str(photo))
    bare = [sys.executable, "-c", PLAIN_LOOP,
            str(models.converted_model(models.YUNET_FILE, models.YUNET_SHA)),
            str(models.converted_model(models.SFACE_FILE, models.SFACE_SHA)), str(listing)]
    runs = (("version_s", cmd + ["--version"]), ("help_s", cmd + ["--help"]),
            ("search_s", cmd + ["--library", str(lib_dir), "search", str(photo), "--json"]),
            ("bare_s", bare))
    walls: dict[str, list[float]] = {name: [] for name, _ in runs}
    for _ in range(3):  # alternating, best of 3 each
        for name, args in runs:
            walls[name].append(run_process(args)[0])
    timings = {name: round(min(w), 3) for name, w in walls.items()}
    timings["search_vs_bare"] = round(timings["search_s"] / timings["bare_s"], 3)
    timings["load_average"] = round(os.getloadavg()[0], 2)
    # Where the search's time goes, in one process, with the same calls the CLI makes.
    probe = (
        "import time, json; t0 = time.perf_counter()\n"
        "import facefolio.cli; t1 = time.perf_counter()\n"
        "from facefolio.library import Library; from facefolio.engine import FaceEngine, load_image\n"
        f"lib = Library({str(lib_dir)!r}, create=False); t2 = time.perf_counter()\n"
        "e = FaceEngine(); t3 = time.perf_counter()\n"
        f"faces = e.analyze(load_image({str(photo)!r})); t4 = time.perf_counter()\n"
        "r = lib.search_vector(faces[0].embedding, pack='yunet-sface', top=20); t5 = time.perf_counter()\n"
        "r = lib.search_vector(faces[0].embedding, pack='yunet-sface', top=20); t6 = time.perf_counter()\n"
        "print(json.dumps({'import_cli': t1 - t0, 'open_library': t2 - t1, 'engine': t3 - t2, "
        "'decode_analyze': t4 - t3, 'first_query_with_index_load': t5 - t4, 'query': t6 - t5}))")
    parts = json.loads(run_process([sys.executable, "-c", probe])[2].strip().splitlines()[-1])
    return {"library_faces": n_faces, **timings,
            "search_breakdown_s": {k: round(v, 3) for k, v in parts.items()},
            "targets": {k: {"target": v, "got": timings[k], "met": timings[k] <= v}
                        for k, v in STARTUP_TARGETS.items()}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--photos", type=int, default=40, help="12 MP single-face photos (40)")
    ap.add_argument("--groups", type=int, default=8, help="group photos, reported apart (8)")
    ap.add_argument("--rounds", type=int, default=2, help="a,b rounds; best of each (2)")
    ap.add_argument("--workers", default="1,2",
                    help="worker counts for the scaling model (default 1,2)")
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(),
                                                    "facefolio-bench-scan"))
    ap.add_argument("--startup", action="store_true", help="only the start-up figures")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="facefolio-bench-"))
    try:
        if args.startup:
            out = startup(work)
            print(json.dumps(out), flush=True)
            return 0 if all(t["met"] for t in out["targets"].values()) else 1
        return scan_bench(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def scan_bench(args, work: Path) -> int:
    from facefolio.engine import models  # noqa: PLC0415

    folder = photo_set(args.photos, Path(args.cache))
    files = sorted(folder.glob("photo_*.jpg"))
    mb = sum(f.stat().st_size for f in files) / len(files) / 2**20
    models_paths = (models.converted_model(models.YUNET_FILE, models.YUNET_SHA),
                    models.converted_model(models.SFACE_FILE, models.SFACE_SHA))
    log(f"{len(files)} photos of {W}x{H} ({mb:.1f} MB each) in {folder}")
    out: dict = {"photos": len(files), "megapixels": W * H / 1e6, "file_mb": round(mb, 2),
                 "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                 else os.cpu_count()}

    warm = compare(files, folder, models_paths, work, args.rounds, cold=False)
    cold = compare(files, folder, models_paths, work, 1, cold=True)
    plain = warm.pop("_plain")
    cold.pop("_plain")
    out["warm"], out["cold"] = warm, cold

    # In-process: engines built by a first small scan, as in a running app.
    in_process(group_set(1) if args.groups else folder, work)
    warm_cache(files)
    runs = [in_process(folder, work) for _ in range(args.rounds)]
    inproc = best(runs)
    out["in_process"] = {**rates(inproc, len(files)), "workers": inproc["workers"],
                         "vs_plain_loop_loop": round(plain["loop_s"] / inproc["wall_s"], 3),
                         "vs_plain_loop_process": round(plain["wall_s"] / inproc["wall_s"], 3)}
    scaling = {}
    for w in (int(x) for x in args.workers.split(",")):
        r = best([in_process(folder, work, workers=w) for _ in range(args.rounds)])
        scaling[str(w)] = {"photos_per_s": round(len(files) / r["wall_s"], 3),
                           "cpu_s_per_photo": round(r["cpu_s"] / len(files), 4)}
        log(f"scaling: {w} workers {scaling[str(w)]}")
    out["scaling"] = scaling
    out["stage_ms"] = {"plain_loop": {k: round(plain[k], 1) for k in
                                      ("decode_ms", "detect_ms", "align_embed_ms")},
                       "facefolio_engine_1_thread": engine_stages(files)}
    out["inference_profile"] = inference_profile(files)
    log(f"inference: {out['inference_profile']}")

    if args.groups:
        gfolder = group_set(args.groups)
        gfiles = sorted(gfolder.glob("*.jpg"))
        g = compare(gfiles, gfolder, models_paths, work, 1, cold=False)
        g.pop("_plain")
        g["truth_faces"] = sum(1 for t in groupset.build(None, 0, max(args.groups, 8))
                               if t.kind == "group" and Path(t.photo).name in
                               {f.name for f in gfiles})
        out["group_photos"] = {"photos": len(gfiles), **g,
                               "stage_ms": engine_stages(gfiles)}

    got = {"whole_process": warm["speedup"], "in_process": out["in_process"]["vs_plain_loop_loop"]}
    out["targets"] = {k: {"target": v, "got": got[k], "met": got[k] >= v}
                      for k, v in TARGETS.items()}
    print(json.dumps(out), flush=True)
    return 0 if all(t["met"] for t in out["targets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
