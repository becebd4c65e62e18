#!/usr/bin/env bash
# Run every test: JS typecheck and unit tests, Python lint, format and type
# checks, Python unit tests and, with real browsers and windows, the
# notebook and desktop end-to-end suites. Expects scripts/setup.sh to have run.
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
echo "==> Python: pytest"
.venv/bin/python -m pytest "$@"
