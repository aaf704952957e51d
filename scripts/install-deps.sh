#!/usr/bin/env bash
# Installs livebot's build and test dependencies from Debian 12 packages.
# Safe to run again: apt skips what is already there.
set -euo pipefail

packages=(
  meson ninja-build pkg-config g++ binutils unzip
  lld                                # the watcher tests link with ld.bfd, gold and lld
  libboost-dev                       # Boost.DLL (header-only)
  flatbuffers-compiler libflatbuffers-dev   # flatc 2.0.8 + headers, pinned together
  libuv1-dev libspdlog-dev libfmt-dev
  libsqlite3-dev sqlite3
  catch2                             # Catch2 v2 single header
  libcli11-dev nlohmann-json3-dev libsimdjson-dev libzip-dev libxxhash-dev
  libssl-dev                         # SHA-256 for plugin pins (libcrypto)
  libhowardhinnant-date-dev tzdata   # time zones for schedules, from the system zoneinfo
)

if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${packages[@]}"
