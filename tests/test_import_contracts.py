"""The layers of DESIGN.md as import-linter contracts (pyproject.toml), and proof they can fail.

Each contract is checked on the real tree, then on a copy of the package with one forbidden
import added: lint-imports must name the broken contract.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.skipif(not LINT.exists(), reason="import-linter is not installed")


def lint(root: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(root / "desktop"))
    return subprocess.run([str(LINT), str(root / "pyproject.toml"), "--no-cache"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=300)


def test_the_tree_keeps_every_contract():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "broken" not in result.stdout.lower().replace("0 broken", "")


@pytest.mark.parametrize(("module", "line", "contract"), [
    ("library/storage/store.py", "import PySide6.QtCore", "never imports Qt or the app"),
    ("engine/images.py", "from facefolio.app import words", "never imports Qt or the app"),
    ("engine/quality.py", "import sqlite3", "The engine never imports the library"),
    ("app/words.py", "import sqlite3", "The app runs no SQL"),
    ("app/words.py", "from facefolio.engine import runtime", "The app runs no SQL"),
])
def test_a_forbidden_import_breaks_its_contract(tmp_path, module, line, contract):
    copy = tmp_path / "tree"
    shutil.copytree(ROOT / "desktop" / "facefolio", copy / "desktop" / "facefolio",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    target = copy / "desktop" / "facefolio" / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{line}  # forbidden\n",
                      encoding="utf-8")
    result = lint(copy)
    assert result.returncode != 0, result.stdout[-2000:]
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken, result.stdout[-3000:]
