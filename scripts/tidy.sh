#!/usr/bin/env bash
# Runs clang-tidy over every public header (each through a one-line
# translation unit, so headers are checked the way users include them).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TIDY=${CLANG_TIDY:-clang-tidy}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
status=0
for h in "$ROOT"/include/rootd/*.hpp; do
  name=$(basename "$h" .hpp)
  printf '#include "rootd/%s.hpp"\n' "$name" > "$tmp/$name.cpp"
  "$TIDY" --quiet "$tmp/$name.cpp" -- -std=c++20 -I"$ROOT/include" -ffreestanding || status=1
done
exit $status
