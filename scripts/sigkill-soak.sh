#!/bin/sh
# Crash consistency, the long run: SIGKILLs the live host N times (default
# 1000) at random moments of executions, commits and swaps, checking the
# store after each restart (tests/crash/test_sigkill.cpp). The suite runs the
# same test with 120. Prints "SIGKILLs survived with nothing lost: n/n" and
# exits non-zero if any kill lost or doubled an execution.
set -eu
build=${BUILD:-build}
ninja -C "$build" -j2 >/dev/null
rc=0
out=$(LIVEBOT_SIGKILLS=${1:-1000} "$build/tests/crash/test-crash-kill" 2>&1) || rc=$?
printf '%s\n' "$out" | grep -E "SIGKILLs survived|All tests passed|test cases|FAILED" || true
exit $rc
