#!/usr/bin/env bash
# Prints the path of a working Python X.Y interpreter (argument: 3.13), or nothing. Looks on PATH, then in
# pyenv's versions (whose shims answer only for the global version), so that make test finds both supported
# Pythons on these machines (Debian's python3 and pyenv's 3.11 and 3.13).
set -uo pipefail
want="${1:?usage: find-python.sh X.Y}"
candidates=("python$want")
for dir in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$want".*/bin /usr/bin /usr/local/bin; do
  candidates+=("$dir/python$want")
done
for py in "${candidates[@]}"; do
  if out=$("$py" -c 'import sys, venv, ensurepip; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) && [ "$out" = "$want" ]; then
    command -v "$py" 2>/dev/null || echo "$py"
    exit 0
  fi
done
exit 0
