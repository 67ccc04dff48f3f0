"""bench_million.py's whole processes: CLI commands against `--version`, and `cluster` with its
peak RSS (wait4); the in-process figures the CLI ratio is taken against."""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from facefolio.library import Library
from facefolio.library.people.people import People

DESKTOP = Path(__file__).resolve().parents[2] / "desktop"


def cli(path: Path, *args: str, env: dict) -> tuple[float, int, str]:
    """(seconds, peak RSS kB, stdout) of one whole `facefolio` process."""
    cmd = [sys.executable, "-m", "facefolio.cli"]
    if args and args[0] != "--version":
        cmd += ["--library", str(path)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd + list(args), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    out, err = proc.communicate()
    seconds = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"bench_million: {' '.join(args)} failed: {err.decode()[-400:]}")
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # peak of any child so far
    return seconds, rss, out.decode()


def run_cli(path: Path, who: dict, inproc: dict) -> dict:
    env = {**os.environ, "PYTHONPATH": f"{DESKTOP}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    start = min(cli(path, "--version", env=env)[0] for _ in range(3))
    a, b = who["merge"]
    named = who["named"]
    commands = {"people --json": ["people", "--json"], "status": ["status"],
                "name": ["name", str(named[5]), "CLI Name"], "merge": ["merge", str(a), str(b)],
                "undo": ["undo"], "suggest --json": ["suggest", str(named[0]), "--json"],
                "proposals --json": ["proposals", "--json"]}
    out = {"startup_s": round(start, 2)}
    for label, args in commands.items():
        seconds, _rss, _ = cli(path, *args, env=env)
        entry = {"s": round(seconds, 2)}
        if label in inproc:
            entry["ratio"] = round(seconds / (start + inproc[label] / 1000), 2)
        out[label] = entry
    return out


def run_cluster(path: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": f"{DESKTOP}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    cmd = [sys.executable, "-m", "facefolio.cli", "--library", str(path), "cluster", "--json"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    out = proc.stdout.read().decode()
    if status:
        raise SystemExit(f"bench_million: cluster failed: {proc.stderr.read().decode()[-400:]}")
    report = json.loads(out.strip().splitlines()[-1])
    return {"s": round(seconds, 1), "peak_rss_mb": round(usage.ru_maxrss / 1024),
            "report": report}


def inprocess_reads(path: Path, who: dict) -> dict:
    """In-process figures of the CLI's read commands (for the CLI ratio)."""
    out = {}
    with Library(path) as lib:
        people = People(lib)
        for label, work in (("people --json", lambda: lib.people()),
                            ("status", lambda: lib.counts()),
                            ("suggest --json", lambda: people.suggestions(who["named"][0], 50)),
                            ("proposals --json", lambda: people.proposals(50))):
            t0 = time.perf_counter()
            work()
            out[label] = round((time.perf_counter() - t0) * 1000, 1)
    return out
