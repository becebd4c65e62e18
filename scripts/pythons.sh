# The supported Pythons besides the main one (.venv, which runs everything): scripts/setup.sh
# makes .venv-X.Y for each with the project and the tools of tests/unit and tests/model, and
# scripts/test.sh runs those two suites on each. Keep in step with pyproject's classifiers.
# shellcheck shell=bash
other_pythons=(3.10 3.12 3.13)

# pyenv_python X.Y: the path of pyenv's newest Python X.Y, or exit 1 saying how to get it.
pyenv_python() {
  local root=${PYENV_ROOT:-$HOME/.pyenv} found=()
  shopt -s nullglob
  found=("$root"/versions/"$1".*/bin/python)
  shopt -u nullglob
  if ((${#found[@]} == 0)); then
    echo "Python $1 is missing: no $root/versions/$1.*/bin/python. Install it with 'pyenv install $1'" \
      "(the unit and model tests run on each of ${other_pythons[*]})." >&2
    exit 1
  fi
  printf '%s\n' "${found[@]}" | sort -V | tail -n 1
}
