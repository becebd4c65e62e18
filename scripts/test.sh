#!/usr/bin/env bash
# Run every test: JS typecheck and unit tests, Python lint, format and type
# checks, Python unit tests and, with real browsers and windows, the
# notebook and desktop end-to-end suites (on .venv's Python); with no arguments, also the unit
# and model tests on the other supported Pythons (scripts/pythons.sh). Expects scripts/setup.sh to have run.
set -euo pipefail
cd "$(dirname "$0")/.."

mkdir -p test-artifacts
echo "==> JS: typecheck and vitest"
npm --prefix js run typecheck
npm --prefix js test
echo "==> Python: ruff (lint, format) and mypy"
.venv/bin/ruff check pytonium_lab tests bench
.venv/bin/ruff format --check pytonium_lab tests bench
.venv/bin/mypy pytonium_lab
if (($# == 0)); then
  # The full run: the unit and model tests on every other supported Python first (~75-110 s
  # each), so that the last pytest summary printed is the main run's.
  source scripts/pythons.sh
  for version in "${other_pythons[@]}"; do
    pyenv_python "$version" >/dev/null
    [[ -x .venv-$version/bin/python ]] || { echo ".venv-$version is missing: run scripts/setup.sh" >&2; exit 1; }
    echo "==> Python $version: pytest tests/unit tests/model"
    ".venv-$version/bin/python" -m pytest -q tests/unit tests/model
  done
fi
echo "==> Python $(.venv/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])'): pytest"
.venv/bin/python -m pytest "$@"
