#!/bin/sh
# assemble-bot.sh OUTDIR FILE... — copies a bot's manifest and plugins into
# one bot directory. Each file is written beside its target and renamed into
# place, so a host watching OUTDIR never sees (or maps) a half-written file.
set -eu
out=$1; shift
mkdir -p "$out"
for f in "$@"; do
  name=$(basename "$f")
  tmp="$out/.$name.tmp.$$"
  cp "$f" "$tmp"
  mv -f "$tmp" "$out/$name"
done
