#!/usr/bin/env bash
# The browser the browser tests drive (tests/browser): Debian's chromium, never a
# downloaded build. `ensure` installs it when it is not on PATH.
set -euo pipefail

ensure() {
  if command -v chromium >/dev/null 2>&1; then
    return
  fi
  echo "Chromium is not installed; installing Debian's package..."
  if [ "$(id -u)" != 0 ]; then echo "run as root, or install chromium yourself" >&2; exit 1; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
}

case "${1:-}" in
  ensure) ensure ;;
  *) echo "usage: $0 ensure" >&2; exit 2 ;;
esac
