#!/usr/bin/env python
"""The whole `facefolio scan` against the machine's limit, side by side in one run.

The limit is nproc times the rate of the least work per photo done on one core: a plain loop
importing no project code (OpenCV reduced decode at 1/4, YuNet on a 640x640 letterbox,
5-point alignment, SFace; no database), ONNX Runtime pinned to one thread, the process pinned
to one core with `taskset`. Against it, on the same N distinct 12 MP JPEGs (bench_scan.py
makes them; cached in $TMPDIR/facefolio-bench-scan), alternating and keeping the best:

  - `facefolio --library TMP scan DIR` as a whole process (start-up, model loading, database,
    clustering included) at the default workers, and at 1 and 2 workers (settings.json);
  - the same on the first 40 photos, with this checkout and with a baseline checkout
    (`--baseline DIR`, e.g. /work/main/desktop: "a scan of 40 photos is no slower");
  - the fixed start-up before the first photo is analysed: the intercept of wall time against
    photo count through the 40- and N-photo scans;
  - the CPU seconds per photo of the whole scan (one more run with spawned workers, whose CPU
    reaches this process's RUSAGE_CHILDREN; fork-server workers are not this tree's children)
    and of each engine stage on one thread.

    python tests/benchmarks/bench_scan_limit.py --photos 160 --baseline /work/main/desktop

Prints ONE JSON line on stdout (progress on stderr). Targets: scan >= 0.85 of the limit,
start-up <= 0.5 s, 40 photos no slower than the baseline (within 5%); exits 1 when missed.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_scan  # noqa: E402
from bench_scan import PLAIN_LOOP, engine_stages, log, photo_set, run_process  # noqa: E402

TARGETS = {"of_limit": 0.85, "startup_s": 0.5, "forty_vs_baseline": 1.05}

# The plain loop at one ONNX Runtime thread: the least work per photo.
ONE_THREAD_LOOP = PLAIN_LOOP.replace(
    "so.log_severity_level = 3\n",
    "so.log_severity_level = 3\nso.intra_op_num_threads = 1\nso.inter_op_num_threads = 1\n"
    "so.add_session_config_entry('session.intra_op.allow_spinning', '0')\n")


def limit(files: list[Path], models, work: Path) -> dict:
    listing = work / "files.txt"
    listing.write_text("\n".join(str(f) for f in files))
    cmd = [sys.executable, "-c", ONE_THREAD_LOOP, str(models[0]), str(models[1]), str(listing)]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", str(sorted(os.sched_getaffinity(0))[0])] + cmd
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENCV_FOR_THREADS_NUM": "1"}
    wall, cpu, stdout = run_process(cmd, env)
    out = json.loads(stdout.strip().splitlines()[-1])
    return {"loop_s": out["loop_s"], "cpu_s": cpu, "wall_s": wall, "faces": out["faces"]}


def scan(folder: Path, work: Path, desktop: Path, workers: int = 0, start: str = "") -> dict:
    lib = work / f"lib-{time.monotonic_ns()}"
    lib.mkdir()
    if workers:
        (lib / "settings.json").write_text(json.dumps({"scan_workers": workers}))
    env = {**os.environ, "PYTHONPATH": str(desktop)}
    if start:
        env["FACEFOLIO_SCAN_START"] = start
    cli = [sys.executable, "-m", "facefolio.cli", "--library", str(lib)]
    wall, cpu, _ = run_process(cli + ["scan", str(folder)], env)
    counts = json.loads(run_process(cli + ["status", "--json"], env)[2])["counts"]
    shutil.rmtree(lib, ignore_errors=True)
    return {"wall_s": wall, "cpu_s": cpu, "photos": counts["photos"], "faces": counts["faces"]}


def subset(folder: Path, n: int, work: Path) -> Path:
    out = work / f"first-{n}"
    out.mkdir()
    for f in sorted(folder.glob("photo_*.jpg"))[:n]:
        os.link(f, out / f.name)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--photos", type=int, default=160)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--baseline", type=Path, default=None,
                    help="another checkout's desktop/ folder to compare 40-photo scans with")
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(),
                                                    "facefolio-bench-scan"))
    args = ap.parse_args(argv)
    from facefolio.engine import models  # noqa: PLC0415

    mine = Path(__file__).resolve().parents[2] / "desktop"
    folder = photo_set(args.photos, Path(args.cache))
    files = sorted(folder.glob("photo_*.jpg"))
    n = len(files)
    paths = (models.converted_model(models.YUNET_FILE, models.YUNET_SHA),
             models.converted_model(models.SFACE_FILE, models.SFACE_SHA))
    cores = len(os.sched_getaffinity(0))
    work = Path(tempfile.mkdtemp(prefix="facefolio-bench-limit-"))
    load = [os.getloadavg()[0]]
    try:
        forty = subset(folder, 40, work)
        bench_scan.warm_cache(files)
        one_core, whole, w1, w2, f40, base40 = [], [], [], [], [], []
        for r in range(args.rounds):
            one_core.append(limit(files, paths, work))
            whole.append(scan(folder, work, mine))
            f40.append(scan(forty, work, mine))
            if args.baseline:
                base40.append(scan(forty, work, args.baseline))
            load.append(os.getloadavg()[0])
            log(f"round {r + 1}: one core {one_core[-1]['loop_s']:.1f} s, scan "
                f"{whole[-1]['wall_s']:.1f} s, 40 photos {f40[-1]['wall_s']:.2f} s"
                + (f" (baseline {base40[-1]['wall_s']:.2f} s)" if base40 else "")
                + f", load {load[-1]:.1f}")
        w1.append(scan(folder, work, mine, workers=1))
        w2.append(scan(folder, work, mine, workers=2))
        spawned = scan(folder, work, mine, start="spawn")
        load.append(os.getloadavg()[0])
        stages = engine_stages(files[:40])
    finally:
        shutil.rmtree(work, ignore_errors=True)

    best = lambda runs, key="wall_s": min(runs, key=lambda r: r[key])  # noqa: E731
    per_core = n / best(one_core, "loop_s")["loop_s"]
    machine = cores * per_core
    s = best(whole)
    rate = n / s["wall_s"]
    t40 = best(f40)["wall_s"]
    startup = t40 - 40 * (s["wall_s"] - t40) / (n - 40)
    out = {
        "photos": n, "cores": cores,
        "limit": {"photos_per_s": round(machine, 2), "one_core_photos_per_s": round(per_core, 2),
                  "one_core_cpu_s_per_photo": round(best(one_core, "loop_s")["cpu_s"] / n, 4),
                  "all_one_core_loop_s": [round(r["loop_s"], 2) for r in one_core]},
        "scan": {"photos_per_s": round(rate, 2), "wall_s": round(s["wall_s"], 2),
                 "faces": s["faces"], "photos_stored": s["photos"],
                 "all_wall_s": [round(r["wall_s"], 2) for r in whole],
                 "cpu_s_per_photo_whole_tree": round(spawned["cpu_s"] / n, 4),
                 "spawned_workers_wall_s": round(spawned["wall_s"], 2)},
        "of_limit": round(rate / machine, 3),
        "workers": {"1": round(n / w1[0]["wall_s"], 2), "2": round(n / w2[0]["wall_s"], 2)},
        "forty": {"wall_s": round(t40, 2), "all": [round(r["wall_s"], 2) for r in f40]},
        "startup_s": round(startup, 3),
        "engine_stage_ms_one_thread": stages,
        "load_average": [round(x, 2) for x in load],
    }
    got = {"of_limit": out["of_limit"], "startup_s": out["startup_s"]}
    if base40:
        b40 = best(base40)["wall_s"]
        out["forty"]["baseline_wall_s"] = round(b40, 2)
        out["forty"]["baseline_all"] = [round(r["wall_s"], 2) for r in base40]
        got["forty_vs_baseline"] = round(t40 / b40, 3)
    out["targets"] = {k: {"target": TARGETS[k], "got": v,
                          "met": v >= TARGETS[k] if k == "of_limit" else v <= TARGETS[k]}
                      for k, v in got.items()}
    print(json.dumps(out), flush=True)
    return 0 if all(t["met"] for t in out["targets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
