"""No socket, ever: the commands, the app's start-up and the insightface import stay offline.

Two guards, each in fresh subprocesses (imports are where dependencies phone home):
- Python level: a `sitecustomize` makes every internet `connect`, `getaddrinfo` and
  `create_connection` record itself and raise. It sees what Python code does (albumentations'
  update check) and is checked to catch exactly that when the switch is turned back on.
- System level, where strace exists: every `connect`/`sendto`/`sendmsg` of a real CLI scan,
  native code included (ONNX Runtime's telemetry client is C++); any AF_INET/AF_INET6
  address fails. AF_UNIX (nscd, D-Bus) is local and allowed.
ONNX Runtime's telemetry also writes an event store under the user's cache folder before it
uploads: the commands run with HOME and XDG_CACHE_HOME in tmp, which must stay free of it.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from app_fixtures import make_photos

VENV_BIN = Path(sys.executable).parent
FACEFOLIO = VENV_BIN / "facefolio"
TIMEOUT = 300

GUARD = r'''
import os, socket, traceback

_LOG = os.environ["FACEFOLIO_NET_LOG"]
_LOCAL = {getattr(socket, "AF_UNIX", None)}


def _deny(what, detail):
    with open(_LOG, "a") as fh:
        fh.write(f"{what} {detail!r}\n{''.join(traceback.format_stack(limit=15))}\n")
    raise OSError(f"no-network test: {what} {detail!r}")


def _checked(method):
    def call(self, address, *args):
        if self.family not in _LOCAL:
            _deny(method.__name__, address)
        return method(self, address, *args)
    return call


socket.socket.connect = _checked(socket.socket.connect)
socket.socket.connect_ex = _checked(socket.socket.connect_ex)
socket.socket.sendto = lambda self, *a: _deny("sendto", a[-1])
socket.getaddrinfo = lambda host, *a, **k: _deny("getaddrinfo", host)
socket.gethostbyname = lambda host: _deny("gethostbyname", host)
socket.create_connection = lambda address, *a, **k: _deny("create_connection", address)
'''

# The app: open the window on a scanned library, let start-up finish (engine warm-up, page
# loads, face thumbnails drawn), close it, say what it showed.
APP = r'''
import json, sys, time
from multiprocessing import forkserver
from facefolio.cli import main
from PySide6.QtWidgets import QApplication


def briefly(app):
    window = next(w for w in app.topLevelWidgets() if type(w).__name__ == "MainWindow")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        app.processEvents()
        pools = window.session.pools
        if (window.warm_up not in pools._running and pools.running == 0
                and window.people.model.rows and len(window.thumbnails.cache._items)):
            break
        time.sleep(0.02)
    shown = {"people": len(window.people.model.rows),
             "thumbnails": len(window.thumbnails.cache._items),
             # The warm-up ran offline: the scan's fork server (which preloads the engine in
             # its own process, traced by strace -f too) is up, or the engine is loaded here.
             "engine": ("facefolio.engine.engine" in sys.modules
                        or forkserver._forkserver._forkserver_pid is not None)}
    window.close()
    print(json.dumps(shown))
    return 0


QApplication.exec = briefly
sys.exit(main(["--library", sys.argv[1]]))
'''


@pytest.fixture
def offline(tmp_path: Path):
    """run(args) -> CompletedProcess: a subprocess with the socket guard, HOME and the user
    cache in tmp (the converted models stay where they are)."""
    from facefolio.engine.models import cache_dir
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(GUARD)
    log = tmp_path / "network.log"
    home = tmp_path / "home"
    home.mkdir()
    env = dict(os.environ, PYTHONPATH=str(guard), FACEFOLIO_NET_LOG=str(log),
               HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"),
               FACEFOLIO_CACHE_DIR=str(cache_dir()), QT_QPA_PLATFORM="offscreen")
    for name in ("NO_ALBUMENTATIONS_UPDATE", "ORT_DISABLE_TELEMETRY"):
        env.pop(name, None)  # facefolio sets them itself: that is what is under test

    def run(args: list[str], **extra_env: str) -> subprocess.CompletedProcess:
        done = subprocess.run([str(a) for a in args], env={**env, **extra_env},
                              capture_output=True, text=True, timeout=TIMEOUT)
        assert done.returncode == 0, f"{args[:3]} failed:\n{done.stderr[-3000:]}"
        return done
    run.log = log
    run.home = home
    return run


def attempts(log: Path) -> str:
    return log.read_text() if log.exists() else ""


def telemetry_files(home: Path) -> list[Path]:
    return [p for p in home.rglob("*") if "DeveloperTools" in p.parts or "onnxruntime" in p.name]


def test_the_guard_catches_albumentations_update_check(offline):
    """The guard is not blind: with the switch turned back on by the user, importing
    insightface's package is caught trying to reach the network."""
    offline([sys.executable, "-c", "import facefolio, insightface"],
            NO_ALBUMENTATIONS_UPDATE="0")
    log = attempts(offline.log)
    assert "'pypi.org'" in log and "albumentations/check_version.py" in log, log


# --- strace -------------------------------------------------------------------------------
_CALL = re.compile(r"\b(connect|sendto|sendmsg)\(\d+, \{sa_family=(AF_\w+)")


def internet_calls(trace: str) -> list[str]:
    """Lines of an `strace -f` log that reach for an internet address (IPv4 or IPv6)."""
    return [line for line in trace.splitlines()
            if (m := _CALL.search(line)) and m.group(2) in ("AF_INET", "AF_INET6")]


def _strace_works() -> bool:
    """strace is installed and may trace here (a container without ptrace rights may not)."""
    if shutil.which("strace") is None:
        return False
    probe = subprocess.run(["strace", "-f", "-o", os.devnull, "true"], capture_output=True)
    return probe.returncode == 0


STRACE_WORKS = _strace_works()
needs_strace = pytest.mark.skipif(not STRACE_WORKS,
                                  reason="strace missing or not allowed to trace "
                                         "(.ci/run installs it)")


def strace(offline, out: Path, args: list) -> tuple[subprocess.CompletedProcess, str]:
    """Run `args` (guarded) under strace: (its result, the log of its network calls)."""
    done = offline(["strace", "-f", "-qq", "-e", "trace=connect,sendto,sendmsg", "-o", out,
                    *args])
    return done, out.read_text()


def test_commands_and_app_start_up_make_no_connection(offline, tmp_path):
    """Scan, cluster, search, the insightface import and the app's start-up; each also under
    strace where it works, so that native code (ONNX Runtime, Qt) is watched too."""
    photos = make_photos(tmp_path / "Photos", per_person=3)
    library = tmp_path / "library"
    lib = ["--library", library]
    traces: list[str] = []

    def run(args: list) -> subprocess.CompletedProcess:
        if not STRACE_WORKS:
            return offline(args)
        done, trace = strace(offline, tmp_path / f"strace-{len(traces)}.log", args)
        traces.append(trace)
        return done
    run([FACEFOLIO, *lib, "scan", photos])
    run([FACEFOLIO, *lib, "cluster"])
    found = run([FACEFOLIO, *lib, "search", photos / "couple.jpg", "--json"])
    assert json.loads(found.stdout)["results"]
    # A user may pick an insightface pack: its package import is the path that phoned home.
    run([sys.executable, "-c", "import facefolio, insightface, insightface.app"])
    shown = json.loads(run([sys.executable, "-c", APP, library]).stdout.splitlines()[-1])
    assert shown["people"] and shown["thumbnails"] and shown["engine"], shown
    assert attempts(offline.log) == ""
    assert telemetry_files(offline.home) == []
    assert [line for trace in traces for line in internet_calls(trace)] == []


@needs_strace
def test_strace_sees_an_internet_connect(offline, tmp_path):
    """The parser is not blind: a plain TCP connect (to TEST-NET, routed nowhere) is caught."""
    code = ("import socket; s = socket.socket(); s.settimeout(0.5); "
            "s.connect_ex(('192.0.2.1', 9))")
    _done, trace = strace(offline, tmp_path / "strace.log", [sys.executable, "-S", "-c", code])
    assert any("192.0.2.1" in line for line in internet_calls(trace)), trace


@needs_strace
def test_a_real_cli_scan_makes_no_internet_connection(offline, tmp_path, datasets):
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("img1.jpg", "couple.jpg"):
        shutil.copy(datasets / "deepface-unit" / name, photos / name)
    _done, trace = strace(offline, tmp_path / "strace.log",
                          [FACEFOLIO, "--library", tmp_path / "lib", "scan", photos])
    assert internet_calls(trace) == []
    assert attempts(offline.log) == ""
    assert telemetry_files(offline.home) == []
