#!/usr/bin/env bash
# Runs every test: the GCC build, then a clang build with AddressSanitizer
# and UndefinedBehaviorSanitizer over the whole host suite.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

echo "== gcc build: all tests"
ninja -C "$ROOT/build"
meson test -C "$ROOT/build" --print-errorlogs

echo "== clang++-14 with address,undefined sanitizers: all tests"
CXX=clang++-14 configure build-asan -Db_sanitize=address,undefined -Db_lundef=false
ninja -C "$ROOT/build-asan"
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
  meson test -C "$ROOT/build-asan" --print-errorlogs
