#!/usr/bin/env bash
# Makes sure Debian's chromium is installed for the browser tests (tests/portal, marker
# `browser`). Playwright drives it through executable_path=/usr/bin/chromium, so no
# browser download from Playwright's CDN is needed. Idempotent: does nothing if present.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "browser.sh: $CHROMIUM is missing and we are not root (no sudo); install 'chromium' by hand" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
echo "browser.sh: installing Debian's chromium" >&2
if ! $SUDO apt-get install -y --no-install-recommends chromium >&2; then
  $SUDO apt-get update >&2
  $SUDO apt-get install -y --no-install-recommends chromium >&2
fi

if [ ! -x "$CHROMIUM" ]; then
  echo "browser.sh: apt-get finished but $CHROMIUM is still missing" >&2
  exit 1
fi
"$CHROMIUM" --version >&2 || true
