#!/usr/bin/env bash
# Runs every test: the GCC build, then a clang build with AddressSanitizer
# and UndefinedBehaviorSanitizer over the whole host suite.
set -euo pipefail

case "${1-}" in
  -h|--help)
    cat <<'USAGE'
usage: ./scripts/test.sh

Installs what is missing, then builds and runs every test twice: with GCC
in build/, then with clang++-14 under AddressSanitizer and
UndefinedBehaviorSanitizer in build-asan/ (the fuzz targets run there too).
The first run builds both (several minutes). Prints meson's per-test lines
and summaries; exits non-zero if a build or any test fails. CI runs exactly
this (.ci/run). One suite alone: meson test -C build --print-errorlogs [NAME...]
USAGE
    exit 0 ;;
  "") ;;
  *) echo "test.sh: unknown argument '$1'; it takes none (./scripts/test.sh --help)" >&2; exit 2 ;;
esac

source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

echo "== gcc build: all tests"
build build
meson test -C "$ROOT/build" --print-errorlogs

echo "== clang++-14 with address,undefined sanitizers: all tests"
CXX=clang++-14 configure build-asan -Db_sanitize=address,undefined -Db_lundef=false
build build-asan
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
  meson test -C "$ROOT/build-asan" --print-errorlogs
