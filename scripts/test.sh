#!/usr/bin/env bash
# Builds livebot (if needed) and runs the whole test suite. The last line it
# prints is "N passed, N failed"; it exits non-zero if anything failed.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" >/dev/null
fi
ninja -C "$build" -j"$(nproc)"
exec python3 scripts/run-tests.py "$build" "$@"
