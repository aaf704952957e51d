#!/usr/bin/env bash
# From nothing to a first playback with a hot swap: installs the Debian
# packages livebot needs, builds it, and plays the bundled sample recording
# through the Lesson 2 bot on v1, with v2 swapped in halfway, printing the
# playback summary (both versions' executions, the counter kept).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh >/dev/null
build=${BUILD_DIR:-build}
[ -f "$build/build.ninja" ] || meson setup "$build" >/dev/null
ninja -C "$build" -j"$(nproc)" >/dev/null
"$build/host/cli/livebot" playback "$build/examples/recordings/sample-3days.json" \
  --bot "$build/examples/bots/lesson2-v1" --out playback-out \
  --swap "1200:location_memory=$build/examples/bots/lesson2-v2/lesson2_memory_v2.so"
exec "$build/host/cli/livebot" state sample-home --store playback-out/playback.db
