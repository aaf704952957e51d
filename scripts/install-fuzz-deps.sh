#!/usr/bin/env bash
# Installs what the fuzz build needs beyond scripts/install-deps.sh: clang 14
# and its runtimes (libFuzzer, ASan, UBSan), from Debian 12 packages. The
# sanitized gcc build (scripts/test-sanitize.sh) needs nothing more: gcc's
# runtimes come with g++.
set -euo pipefail

packages=(clang-14 libclang-rt-14-dev)

if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${packages[@]}"
