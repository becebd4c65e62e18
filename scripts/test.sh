#!/usr/bin/env bash
# Run every test: Python unit tests and, with real browsers and windows, the
# notebook and desktop end-to-end suites. Expects scripts/setup.sh to have run.
set -euo pipefail
cd "$(dirname "$0")/.."

mkdir -p test-artifacts
echo "==> JS: typecheck and vitest"
npm --prefix js run typecheck
npm --prefix js test
echo "==> Python: pytest"
.venv/bin/python -m pytest "$@"
