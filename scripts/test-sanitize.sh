#!/usr/bin/env bash
# Builds livebot with AddressSanitizer and UndefinedBehaviorSanitizer into
# build-asan (plugins too: every shared module gets the same flags) and runs
# the whole test suite there. Any report fails the test binary it comes
# from; the last line is "N passed, N failed" (docs/RELIABILITY.md).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build-asan}
if [ ! -f "$build/build.ninja" ]; then
  # The project's -O2, with line tables only (-g1): quicker to build than
  # full debug info, and reports still name the file and line.
  meson setup "$build" -Db_sanitize=address,undefined \
    -Dcpp_args="-g1 -fno-omit-frame-pointer" >/dev/null
fi
ninja -C "$build" -j"$(nproc)"
# Leaks are errors, and none is suppressed (docs/RELIABILITY.md).
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
exec python3 scripts/run-tests.py "$build" "$@"
