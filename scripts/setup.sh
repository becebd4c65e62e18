#!/usr/bin/env bash
# Set up everything pytonium_lab needs on a fresh Debian machine, idempotently:
# system packages (Xvfb, openbox, wmctrl, Chromium, xdotool), the Python venv (.venv) with the
# project and its test tools, the JS runtime build, and the CEF window runtime
# (Python 3.7 + cefpython3, see `pytonium-lab setup-cef`).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*"; }

debian_packages=(xvfb xauth x11-utils xdotool openbox wmctrl chromium fonts-dejavu-core redis-server)
command -v npm >/dev/null || debian_packages+=(nodejs npm)
missing=()
for pkg in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  log "Debian packages: ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}"
fi

# Before the editable install: its build hook then finds the JS built and skips npm.
log "JS runtime (js/ -> pytonium_lab/static/)"
npm --prefix js ci --no-audit --no-fund --loglevel=error
npm --prefix js run build

python=${PYTHON:-python3}
"$python" -c 'import sys; assert sys.version_info >= (3, 10), sys.version' \
  || { echo "pytonium_lab needs Python >= 3.10 (set PYTHON=...)" >&2; exit 1; }
if [[ ! -x .venv/bin/python ]]; then
  log "Python venv .venv ($("$python" --version))"
  "$python" -m venv .venv
fi
log "Python packages (the project, editable, with test tools and the cef engine)"
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test,cef]' 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -c 'import pytonium_lab, anywidget, playwright, jupyterlab' \
  || { echo "Python packages failed to install" >&2; exit 1; }

source scripts/pythons.sh
for version in "${other_pythons[@]}"; do
  other=$(pyenv_python "$version")
  if [[ ! -x .venv-$version/bin/python ]]; then
    log "Python venv .venv-$version ($("$other" --version))"
    "$other" -m venv ".venv-$version"
  fi
  log "Python $version: the project, editable, with the unit/model test tools (and cef where its wheel exists)"
  ".venv-$version/bin/python" -m pip install -q --disable-pip-version-check -e '.[test-core,cef]' 2>&1 \
    | grep -v "^WARNING: Location" || true
  ".venv-$version/bin/python" -c 'import pytonium_lab, redis, hypothesis, pytest' \
    || { echo "Python $version packages failed to install" >&2; exit 1; }
done

log "CEF window runtime (Python 3.7 + cefpython3 66, cached)"
.venv/bin/pytonium-lab setup-cef
