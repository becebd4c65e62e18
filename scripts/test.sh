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
failed=()  # the other Pythons whose unit/model run failed
if (($# == 0)); then
  # The full run: first the unit and model tests on every other supported Python, the three
  # at once (they share nothing: free ports, own temp dirs; 159 s for all three against ~260 s
  # one after another, measured on this 2-core machine), so that the last pytest summary
  # printed is the main run's. Each run's output: test-artifacts/pytest-X.Y.log.
  source scripts/pythons.sh
  pids=()
  for version in "${other_pythons[@]}"; do
    pyenv_python "$version" >/dev/null
    [[ -x .venv-$version/bin/python ]] || { echo ".venv-$version is missing: run scripts/setup.sh" >&2; exit 1; }
    ".venv-$version/bin/python" -m pytest -q -p no:cacheprovider tests/unit tests/model \
      >"test-artifacts/pytest-$version.log" 2>&1 &
    pids+=($!)
  done
  for i in "${!other_pythons[@]}"; do
    version=${other_pythons[$i]}
    echo "==> Python $version: pytest tests/unit tests/model"
    if wait "${pids[$i]}"; then
      tail -n 1 "test-artifacts/pytest-$version.log"
    else
      cat "test-artifacts/pytest-$version.log"
      failed+=("$version")
    fi
  done
fi
echo "==> Python $(.venv/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])'): pytest"
status=0
.venv/bin/python -m pytest "$@" || status=$?
if ((${#failed[@]})); then
  echo "tests/unit or tests/model failed on Python ${failed[*]}: see above" >&2
  exit 1
fi
exit "$status"
