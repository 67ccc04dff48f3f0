#!/usr/bin/env python
"""Benchmark scanning: the library's pipelined Scanner against the plainest single-threaded loop.

Makes N 12-megapixel JPEGs (4000x3000, quality 90) from the real photos of
shared/datasets/deepface-unit (each photo upscaled to fit a 4000x3000 canvas whose margins are
a blurred, stretched copy of itself, plus light sensor grain so files are as big as camera
JPEGs; cached in $TMPDIR/facefolio-bench-scan), then measures in ONE run, alternating
a, b, a, b (best of each):

  (a) baseline: for each file `load_image` (reduced decode) -> `FaceEngine().analyze`
      (YuNet -> align -> SFace), one thread, ONNX Runtime default threads, no database
      ("speedup"); the same loop with ONNX Runtime held to one thread is reported too
      ("speedup_vs_ort_1thread");
  (b) `Scanner(Library(tmp)).scan()` end to end, a fresh library each time (engine model
      conversion cache warmed first).

    python tests/benchmarks/bench_scan.py --photos 40 --json
    python tests/benchmarks/bench_scan.py --photos 40 --profile      # + why, in "profile"

Prints ONE JSON line on stdout (progress on stderr):
  {"photos", "megapixels", "baseline_photos_per_s", "scanner_photos_per_s", "speedup",
   "stage_ms": {"decode", "detect", "embed", "write"}, "faces", ...}
stage_ms are per photo: decode/detect/embed from the baseline loop (embed = everything in
`analyze` after detection: alignment, SFace, quality), write = the Scanner's `_write`
(timed by wrapping it) divided by the photos written.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from facefolio.engine import FaceEngine, load_image
from facefolio.library import scanner as scanner_mod
from facefolio.library.library import Library
from facefolio.library.scanner import Scanner

W, H = 4000, 3000
QUALITY = 90
GRAIN = 5.0  # sensor-like noise (grey levels): files of ~3 MB like camera JPEGs
CACHE_VERSION = "v2"


def cpu_s() -> float:
    """CPU seconds used by this process (all threads) so far."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def log(msg: str) -> None:
    print(f"[bench_scan] {msg}", file=sys.stderr, flush=True)


def datasets_dir() -> Path:
    env = os.environ.get("FACEFOLIO_DATASETS")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for base in (here.parents[3], Path("/work")):  # repo beside shared/, as in conftest
        if (base / "shared" / "datasets").is_dir():
            return base / "shared" / "datasets"
    return here.parents[3] / "shared" / "datasets"


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
    t0 = time.perf_counter()
    made = 0
    for i in range(n):
        name = f"photo_{i:05d}.jpg"
        src = sources[i % len(sources)]
        pooled = pool / name
        if not pooled.exists():
            _make_photo(src, i // len(sources), pooled, seed=i)
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
        log(f"generated {made} photos in {time.perf_counter() - t0:.1f} s into {pool}")
    return folder


# -- timing helpers --------------------------------------------------------------------------
class Timer:
    def __init__(self) -> None:
        self.total = 0.0
        self.calls = 0
        self._lock = threading.Lock()

    def wrap(self, fn):
        def timed(*a, **kw):
            t0 = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                dt = time.perf_counter() - t0
                with self._lock:
                    self.total += dt
                    self.calls += 1
        return timed


class _SessionProxy:
    """Times `run` of an ONNX Runtime session, delegates everything else."""

    def __init__(self, session, timer: Timer) -> None:
        self._s = session
        self.run = timer.wrap(session.run)

    def __getattr__(self, name):
        return getattr(self._s, name)


# -- (a) the plainest loop -------------------------------------------------------------------
def run_baseline(files: list[Path], engine: FaceEngine) -> dict:
    t_decode, t_detect, t_embed, t_analyze = Timer(), Timer(), Timer(), Timer()
    t_det_ort = Timer()
    det = engine._detector
    orig_session = det.session
    det.session = _SessionProxy(orig_session, t_det_ort)
    engine.detect = t_detect.wrap(FaceEngine.detect.__get__(engine))
    engine.embed_batch = t_embed.wrap(FaceEngine.embed_batch.__get__(engine))
    decode = t_decode.wrap(load_image)
    analyze = t_analyze.wrap(engine.analyze)
    faces = 0
    c0 = cpu_s()
    t0 = time.perf_counter()
    try:
        for path in files:
            image = decode(path)
            faces += len(analyze(image))
    finally:
        wall = time.perf_counter() - t0
        cpu = cpu_s() - c0
        det.session = orig_session
        del engine.detect, engine.embed_batch
    n = len(files)
    ms = lambda t: 1000.0 * t.total / n  # noqa: E731
    return {
        "wall_s": wall, "photos_per_s": n / wall, "faces": faces,
        "cores_used": cpu / wall, "cpu_ms_per_photo": 1000.0 * cpu / n,
        "decode_ms": ms(t_decode), "detect_ms": ms(t_detect),
        # everything in analyze after detection: align + SFace + quality
        "embed_ms": ms(t_analyze) - ms(t_detect),
        "detail": {"detect_onnx_ms": ms(t_det_ort),
                   "detect_pre_post_ms": ms(t_detect) - ms(t_det_ort),
                   "sface_onnx_ms": ms(t_embed),
                   "align_quality_ms": ms(t_analyze) - ms(t_detect) - ms(t_embed)},
    }


# -- (b) the real scanner --------------------------------------------------------------------
def run_scanner(folder: Path, n: int, workers: int | None = None, threads: int | None = None,
                reuse: bool = False) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="facefolio-bench-lib-"))
    write_t, engine_t = Timer(), Timer()
    orig_write = Scanner._write
    Scanner._write = write_t.wrap(orig_write)
    try:
        lib = Library(tmp / "library")
        lib.add_folder(folder)
        kw = {}
        if workers:
            kw["workers"] = workers
        if reuse:
            # Engines built before the scan and handed in (the scanner's own pool does the
            # same from its second scan on).
            ready = [FaceEngine(threads=threads or 0) for _ in range(workers or 2)]
            kw["engine_factory"] = engine_t.wrap(ready.pop)
        elif threads is not None:
            kw["engine_factory"] = engine_t.wrap(lambda: FaceEngine(threads=threads))
        scanner = Scanner(lib, **kw)
        # threads None: the scanner's own engines, borrowed from its process-wide pool (built
        # in the first scanner round, reused after, as in the app); not timed separately.
        c0 = cpu_s()
        t0 = time.perf_counter()
        t_scanned = None
        last = None
        for p in scanner.scan():
            last = p
            if p.phase == "finishing" and t_scanned is None:
                t_scanned = time.perf_counter() - t0
        wall = time.perf_counter() - t0
        cpu = cpu_s() - c0
        faces = lib.counts()["faces"]
        lib.close()
    finally:
        Scanner._write = orig_write
        shutil.rmtree(tmp, ignore_errors=True)
    assert last is not None and last.phase == "done", last
    assert last.done == n and last.errors == 0, last
    return {"wall_s": wall, "photos_per_s": n / wall, "faces": faces,
            "workers": scanner.workers,
            "cores_used": cpu / wall, "cpu_ms_per_photo": 1000.0 * cpu / n,
            "write_ms": 1000.0 * write_t.total / n, "write_calls": write_t.calls,
            "engine_setup_s": engine_t.total,
            "scan_phase_s": t_scanned, "finish_phase_s": wall - (t_scanned or wall)}


# -- --profile: why is the scanner not faster? -----------------------------------------------
def _parallel(fn, items, threads: int) -> float:
    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(fn, items))
    return time.perf_counter() - t0


def profile(files: list[Path]) -> dict:
    out: dict = {}
    n = len(files)
    # Hashing (the scanner hashes every new file before decoding it).
    t0 = time.perf_counter()
    for f in files:
        scanner_mod._hash_file(str(f))
    out["hash_ms"] = 1000.0 * (time.perf_counter() - t0) / n
    # Engine construction: how much of it is converted_model re-verifying the cached files
    # (it opens a throw-away InferenceSession per model on every call)?
    from facefolio.engine import models  # noqa: PLC0415
    t0 = time.perf_counter()
    for name, sha in ((models.YUNET_FILE, models.YUNET_SHA), (models.SFACE_FILE, models.SFACE_SHA)):
        models.converted_model(name, sha)
    out["converted_model_both_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    FaceEngine(threads=1)
    out["engine_create_s"] = time.perf_counter() - t0
    # Does decoding scale over two threads (GIL released by Pillow)?
    for t in (1, 2):
        out[f"decode_{t}thr_photos_per_s"] = n / _parallel(load_image, files, t)
    images = [load_image(f) for f in files]
    # Inference only, on already decoded images, in several thread layouts.
    local = threading.local()

    def analyzer(ort_threads):
        def fn(img):
            eng = getattr(local, f"e{ort_threads}", None)
            if eng is None:
                eng = FaceEngine(threads=ort_threads)
                setattr(local, f"e{ort_threads}", eng)
            return eng.analyze(img)
        return fn

    layouts = [(1, 0), (1, 1), (1, 2), (2, 1), (2, 2)]  # (python threads, ORT threads each)
    for workers, ort_threads in layouts:
        fn = analyzer(ort_threads)
        with ThreadPoolExecutor(workers) as pool:  # build engines outside the timing
            list(pool.map(lambda _: fn(images[0]), range(workers * 4)))
        dt = min(_parallel(fn, images, workers) for _ in range(2))
        out[f"analyze_{workers}w_ort{ort_threads or 'default'}_photos_per_s"] = n / dt
        local.__dict__.clear()
    # Full pipelines without SQLite: hash + decode + analyze per file.
    def full(ort_threads):
        fn = analyzer(ort_threads)

        def one(f):
            scanner_mod._hash_file(str(f))
            return fn(load_image(f))
        return one
    for workers, ort_threads in [(2, 1), (2, 2), (3, 1)]:
        fn = full(ort_threads)
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda _: fn(files[0]), range(workers * 2)))
        out[f"hash_decode_analyze_{workers}w_ort{ort_threads}_photos_per_s"] = \
            n / _parallel(fn, files, workers)
        local.__dict__.clear()
    return {k: round(v, 3) for k, v in out.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--photos", type=int, default=40, help="number of 12 MP photos (default 40)")
    ap.add_argument("--rounds", type=int, default=2, help="a,b rounds; best of each (default 2)")
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(),
                                                    "facefolio-bench-scan"),
                    help="where the generated photos are kept between runs")
    ap.add_argument("--variants", default="",
                    help="extra scanner layouts to time, e.g. '1x0,2x2,3x1' (workers x ORT "
                         "threads, 0 = ORT default); suffix r = engines built before the "
                         "scan (reused), e.g. '2x1r'")
    ap.add_argument("--profile", action="store_true",
                    help="also time hashing, threaded decoding and inference layouts")
    ap.add_argument("--json", action="store_true", help="JSON output (always; kept for symmetry)")
    args = ap.parse_args(argv)

    folder = photo_set(args.photos, Path(args.cache))
    files = sorted(folder.glob("photo_*.jpg"))
    mb = sum(f.stat().st_size for f in files) / len(files) / 2**20
    log(f"{len(files)} photos of {W}x{H} ({mb:.1f} MB each) in {folder}")

    log("warming the model conversion cache and the page cache")
    t0 = time.perf_counter()
    engine = FaceEngine()  # converts and caches the models on first use
    engine_first_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    FaceEngine()
    engine_again_s = time.perf_counter() - t0
    # The scan's finishing step imports people -> clustering -> scikit-learn: a one-time cost
    # per process (seconds) that would otherwise land in the first timed scan only.
    t0 = time.perf_counter()
    import facefolio.library.people  # noqa: F401, PLC0415
    people_import_s = time.perf_counter() - t0
    for f in files:
        f.read_bytes()
    engine.analyze(load_image(files[0]))

    # The same loop with ONNX Runtime held to one thread: single-threaded in the strict sense.
    engine_1t = FaceEngine(threads=1)
    base_runs, base1_runs, scan_runs = [], [], []
    for r in range(args.rounds):
        base1_runs.append(run_baseline(files, engine_1t))
        base_runs.append(run_baseline(files, engine))
        log(f"round {r + 1} a: baseline {base_runs[-1]['photos_per_s']:.3f} photos/s")
        scan_runs.append(run_scanner(folder, len(files)))
        log(f"round {r + 1} b: scanner  {scan_runs[-1]['photos_per_s']:.3f} photos/s "
            f"(scan {scan_runs[-1]['scan_phase_s']:.2f} s + finish "
            f"{scan_runs[-1]['finish_phase_s']:.2f} s)")
    base = max(base_runs, key=lambda r: r["photos_per_s"])
    base1 = max(base1_runs, key=lambda r: r["photos_per_s"])
    scan = max(scan_runs, key=lambda r: r["photos_per_s"])

    out = {
        "photos": len(files),
        "megapixels": round(W * H / 1e6, 1),
        "baseline_photos_per_s": round(base["photos_per_s"], 3),
        "scanner_photos_per_s": round(scan["photos_per_s"], 3),
        "speedup": round(scan["photos_per_s"] / base["photos_per_s"], 3),
        "baseline_ort_1thread_photos_per_s": round(base1["photos_per_s"], 3),
        "speedup_vs_ort_1thread": round(scan["photos_per_s"] / base1["photos_per_s"], 3),
        "stage_ms": {"decode": round(base["decode_ms"], 2), "detect": round(base["detect_ms"], 2),
                     "embed": round(base["embed_ms"], 2), "write": round(scan["write_ms"], 3)},
        "faces": base["faces"],
        "scanner_faces": scan["faces"],
        "file_mb": round(mb, 2),
        "scanner_workers": scan["workers"],
        "stage_detail_ms": {k: round(v, 2) for k, v in base["detail"].items()},
        # CPU seconds per wall second (2 = both cores busy) and CPU work per photo: the
        # baseline is not single-core, its ONNX Runtime sessions use every core.
        "cores_used": {"baseline": round(base["cores_used"], 2),
                       "scanner": round(scan["cores_used"], 2)},
        "cpu_ms_per_photo": {"baseline": round(base["cpu_ms_per_photo"], 1),
                             "scanner": round(scan["cpu_ms_per_photo"], 1)},
        "scanner_engine_setup_s": round(scan["engine_setup_s"], 3),
        "engine_create_s": {"first": round(engine_first_s, 3), "again": round(engine_again_s, 3)},
        "people_import_s": round(people_import_s, 3),
        "scanner_scan_phase_s": round(scan["scan_phase_s"], 3),
        "scanner_finish_phase_s": round(scan["finish_phase_s"], 3),
        "all_runs_photos_per_s": {"baseline": [round(r["photos_per_s"], 3) for r in base_runs],
                                  "scanner": [round(r["photos_per_s"], 3) for r in scan_runs]},
    }
    if args.variants:
        variants = {}
        for spec in args.variants.split(","):
            reuse = spec.endswith("r")
            w, t = (int(x) for x in spec.lower().rstrip("r").split("x"))
            runs = [run_scanner(folder, len(files), workers=w, threads=t, reuse=reuse)
                    for _ in range(args.rounds)]
            best = max(r["photos_per_s"] for r in runs)
            variants[spec] = {"photos_per_s": round(best, 3),
                              "vs_baseline": round(best / base["photos_per_s"], 3)}
            log(f"variant {spec}: {best:.3f} photos/s")
        out["variants"] = variants
    if args.profile:
        log("profiling")
        out["profile"] = profile(files)
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
