#!/usr/bin/env bash
# Create .venv and install the project with its dev tools; quick when nothing changed.
# On a fresh Debian machine it first installs python3-venv (and pip) if they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
STAMP=.venv/.installed
if [ -f "$STAMP" ] && [ "$STAMP" -nt pyproject.toml ] && [ -x .venv/bin/python ]; then
  exit 0
fi
if ! "$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11)' 2>/dev/null; then
  echo "callplatform needs Python 3.11 ($PYTHON is $("$PYTHON" -V 2>&1)); set PYTHON=..." >&2
  exit 1
fi
if ! "$PYTHON" -m venv --help >/dev/null 2>&1 || ! "$PYTHON" -c 'import ensurepip' 2>/dev/null; then
  echo "installing python3-venv with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q python3-venv python3-pip >/dev/null 2>&1 || {
    apt-get update -q >/dev/null && apt-get install -y -q python3-venv python3-pip >/dev/null; }
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >&2
.venv/bin/python -m pip install -q -e '.[dev]' >&2
touch "$STAMP"
echo "virtualenv ready: .venv" >&2
