#!/usr/bin/env bash
# Refresh the locks from pyproject.toml's ranges and requirements/pins.in:
#   requirements/update.sh            newest versions the ranges allow
#   requirements/update.sh -P numpy   upgrade one package, keep the rest
# Then run `bash .ci/run` on the new locks: they land only when it passes.
set -euo pipefail
cd "$(dirname "$0")/.."
uv="${UV:-uv}"
common=(--universal --python-version 3.11 --generate-hashes --constraint requirements/pins.in
        --custom-compile-command "requirements/update.sh" --quiet "$@")
"$uv" pip compile pyproject.toml "${common[@]}" -o requirements/lock.txt
"$uv" pip compile pyproject.toml --extra test "${common[@]}" -o requirements/lock-test.txt
"$uv" pip compile pyproject.toml --extra packaging "${common[@]}" -o requirements/lock-packaging.txt
