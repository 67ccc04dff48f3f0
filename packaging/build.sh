#!/usr/bin/env bash
# Build the standalone Facefolio app with PyInstaller, then smoke-test it.
#
#   packaging/build.sh            fresh venv in packaging/.venv, build into packaging/dist/
#   FACEFOLIO_BUILD_VENV=DIR packaging/build.sh   reuse (or create) the venv at DIR
#   PYTHON=python3.11 packaging/build.sh          the interpreter for a new venv
#
# Output: packaging/dist/facefolio/ (macOS also packaging/dist/Facefolio.app). The last step runs
# `facefolio --version` from the build and fails the script if it does not answer.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
venv="${FACEFOLIO_BUILD_VENV:-$here/.venv}"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ] && [ ! -x "$venv/Scripts/python.exe" ]; then
    echo "creating build venv $venv"
    "$python" -m venv "$venv"
fi
if [ -x "$venv/bin/python" ]; then vpy="$venv/bin/python"; else vpy="$venv/Scripts/python.exe"; fi

"$vpy" -m pip install --quiet --upgrade pip
"$vpy" -m pip install --quiet --require-hashes -r "$root/requirements/lock-packaging.txt"
"$vpy" -m pip install --quiet --no-deps "$root"

cd "$here"
start=$(date +%s)
"$vpy" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath "$here/dist" --workpath "$here/build" facefolio.spec
echo "built in $(( $(date +%s) - start ))s: $here/dist/facefolio ($(du -sh "$here/dist/facefolio" | cut -f1))"

exe="$here/dist/facefolio/facefolio"
[ -x "$exe" ] || exe="$here/dist/facefolio/facefolio.exe"
version="$("$exe" --version)"
echo "smoke test: $version"
case "$version" in
    facefolio\ *) ;;
    *) echo "build.sh: the built program did not report its version" >&2; exit 1 ;;
esac
