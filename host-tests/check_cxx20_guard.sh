#!/usr/bin/env bash
# rootd needs C++20 and says so: every header's first include is
# rootd/requires_cxx20.hpp, and a C++17 translation unit including the
# service-facing parsers fails with that message as its first error
# (not with errors from inside <span>).
#
# usage: check_cxx20_guard.sh SOURCE_ROOT CXX...
set -uo pipefail
root=$1; shift
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

for h in "$root"/include/rootd/*.hpp; do
  name=$(basename "$h")
  [ "$name" = requires_cxx20.hpp ] && continue
  first=$(grep -m 1 '^[[:space:]]*#[[:space:]]*include' "$h")
  [ "$first" = '#include "rootd/requires_cxx20.hpp"' ] || fail "$name: first include is '$first'"
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '#include "rootd/bcfg.hpp"\n#include "rootd/handoff.hpp"\nint main() {}\n' > "$work/service.cpp"
for std in c++17 gnu++17; do
  if "$@" -std=$std -fsyntax-only -I"$root/include" "$work/service.cpp" >"$work/log" 2>&1; then
    fail "-std=$std: compiled"
  fi
  first=$(grep -m 1 'error' "$work/log")
  case "$first" in
    *"rootd needs C++20"*) ;;
    *) fail "-std=$std: first error is not rootd's: $first" ;;
  esac
done
"$@" -std=c++20 -fsyntax-only -I"$root/include" "$work/service.cpp" >"$work/log" 2>&1 ||
  fail "-std=c++20 does not compile: $(head -5 "$work/log")"

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "cxx20 guard: every header checks first; C++17 gets rootd's message first"
