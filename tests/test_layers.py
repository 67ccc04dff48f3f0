"""The core never needs Qt: every module of `facefolio.engine` and `facefolio.library`, the
lazily imported ones included, imports in a fresh interpreter where PySide6 cannot be found
(napari runs its non-Qt tests with Qt uninstalled; a meta-path hook does the same here)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

DESKTOP = Path(__file__).resolve().parents[1] / "desktop"

# Run in a child: this process may hold PySide6 already (the app tests), and a module imported
# once is not imported again.
_CHILD = r"""
import importlib, importlib.abc, json, pkgutil, sys

BLOCKED = ("PySide6", "shiboken6")

class NoQt(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is blocked: the core must not import Qt")
        return None

sys.meta_path.insert(0, NoQt())
try:
    import PySide6  # noqa: F401
    hook = "PySide6 imported despite the hook"
except ImportError:
    hook = None

imported, failed = [], {}
for package in ("facefolio.engine", "facefolio.library"):
    root = importlib.import_module(package)
    imported.append(package)
    for info in pkgutil.walk_packages(root.__path__, package + "."):
        try:
            importlib.import_module(info.name)
            imported.append(info.name)
        except Exception as exc:
            failed[info.name] = f"{type(exc).__name__}: {exc}"
qt = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
print(json.dumps({"hook": hook, "imported": imported, "failed": failed, "qt": qt}))
"""


def _walk(extra: str = "") -> dict:
    out = subprocess.run([sys.executable, "-c", extra + _CHILD], capture_output=True,
                         text=True, timeout=300, env={"PYTHONPATH": str(DESKTOP),
                                                      "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def _modules(package: str) -> set[str]:
    """Every module file of a package on disk, as a dotted name."""
    root = DESKTOP / package.replace(".", "/")
    names = set()
    for path in root.rglob("*.py"):
        parts = path.relative_to(DESKTOP).with_suffix("").parts
        names.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_every_engine_and_library_module_imports_without_qt():
    seen = _walk()
    assert seen["hook"] is None
    assert seen["failed"] == {}
    assert seen["qt"] == []
    # The walk reached every module on disk, the ones only imported late included.
    wanted = _modules("facefolio.engine") | _modules("facefolio.library")
    assert wanted <= set(seen["imported"])
    assert {"facefolio.library.interop.xmp", "facefolio.library.people.questions",
            "facefolio.engine.insightface_pack"} <= set(seen["imported"])


def test_the_check_fails_for_a_core_module_that_imports_qt(tmp_path):
    """The same walk, with one library module that imports Qt: it is named as failing."""
    extra = f"import facefolio.library as lib\nlib.__path__.append({str(tmp_path)!r})\n"
    (tmp_path / "uses_qt.py").write_text("from PySide6.QtCore import QObject\n")
    seen = _walk(extra)
    assert "facefolio.library.uses_qt" in seen["failed"]
    assert "blocked" in seen["failed"]["facefolio.library.uses_qt"]
