#!/usr/bin/env bash
# Runs fuzz targets (tests/fuzz) with libFuzzer, one after the other:
#   scripts/fuzz.sh [-t SECONDS] TARGET...     (default 600 s each)
# Builds build-fuzz with clang 14, ASan and UBSan if it is not there
# (scripts/install-fuzz-deps.sh installs clang). Each target starts from its
# seeds and keeps what it finds in build-fuzz/fuzz/TARGET/corpus; a crash is
# written there as crash-<hash>, to be fixed and then committed to
# tests/fuzz/seeds/TARGET/. The last lines are libFuzzer's final stats.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=600
if [ "${1:-}" = -t ]; then seconds=$2; shift 2; fi
[ $# -gt 0 ] || { echo "usage: $0 [-t SECONDS] recording|control|state|gate ..." >&2; exit 2; }

build=${BUILD_DIR:-build-fuzz}
if [ ! -f "$build/build.ninja" ]; then
  CXX=${CXX:-clang++-14} meson setup "$build" -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
ninja -C "$build" fuzz-seeds $(printf 'tests/fuzz/fuzz-%s ' "$@")

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
failed=0
for target in "$@"; do
  out=$build/fuzz/$target
  mkdir -p "$out/corpus"
  dict=()
  if [ -f "tests/fuzz/dict/$target.dict" ]; then
    cat tests/fuzz/dict/json.dict "tests/fuzz/dict/$target.dict" > "$out/dict"
    dict=(-dict="$out/dict")
  fi
  seeds=()
  for dir in "tests/fuzz/seeds/$target" "$build/tests/fuzz/$target"; do
    if [ -d "$dir" ]; then seeds+=("$dir"); fi
  done
  echo "== $target: $seconds s, log in $out/log"
  status=0
  nice -n 19 "$build/tests/fuzz/fuzz-$target" "${dict[@]}" -max_total_time="$seconds" \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$out/" \
    "$out/corpus" "${seeds[@]}" >"$out/log" 2>&1 || status=$?
  grep -E '^#[0-9]+[[:space:]]' "$out/log" | tail -n 1 || true
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|SUMMARY|artifact_prefix|Test unit written)' "$out/log" || true
  if [ "$status" -ne 0 ]; then
    echo "$target: libFuzzer exited $status" >&2
    failed=1
  fi
done
exit "$failed"
