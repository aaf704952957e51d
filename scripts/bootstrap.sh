#!/usr/bin/env bash
# From nothing to a first playback: installs the Debian packages livebot
# needs, builds it, and plays the bundled sample recording through the
# Lesson 2 bot, printing the playback summary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh >/dev/null
build=${BUILD_DIR:-build}
[ -f "$build/build.ninja" ] || meson setup "$build" >/dev/null
ninja -C "$build" -j"$(nproc)" >/dev/null
exec "$build/host/cli/livebot" playback "$build/examples/recordings/sample-3days.json" \
  --bot "$build/examples/bots/lesson2-v2" --out playback-out
