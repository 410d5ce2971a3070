#!/usr/bin/env bash
# Print the Python the development virtualenv (.venv) is built on: the newest of 3.13 and 3.12 found (pyenv's
# builds, then python3.13/python3.12 on PATH), else python3. ansible-core 2.20 and later need Python 3.12 or newer;
# on python3 3.11 alone (a plain Debian 12) requirements-test.txt falls back to ansible-core 2.19.
# HA_REDIS_PYTHON overrides the choice.
set -euo pipefail
if [ -n "${HA_REDIS_PYTHON:-}" ]; then
  command -v "$HA_REDIS_PYTHON"
  exit 0
fi
root=$(pyenv root 2>/dev/null || true)
for minor in 3.13 3.12; do
  if [ -n "$root" ]; then
    for dir in "$root"/versions/"$minor".*; do
      if [ -x "$dir/bin/python3" ]; then
        echo "$dir/bin/python3"
        exit 0
      fi
    done
  fi
  # A python3.X on PATH that is a pyenv shim fails when that version is not installed; ask it to run.
  if path=$(command -v "python$minor" 2>/dev/null) && "$path" -c '' 2>/dev/null; then
    echo "$path"
    exit 0
  fi
done
command -v python3
