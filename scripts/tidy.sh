#!/usr/bin/env bash
# Runs clang-tidy over every public header (each through a one-line
# translation unit, so headers are checked the way users include them).
set -euo pipefail
case "${1-}" in
  -h|--help)
    cat <<'USAGE'
usage: ./scripts/tidy.sh

Runs clang-tidy (CLANG_TIDY, default clang-tidy) with the project's
.clang-tidy over every header in include/rootd/, each through a one-line
translation unit. Exit 0 clean, 1 a finding. Meson runs it as the test
clang-tidy-headers.
USAGE
    exit 0 ;;
  "") ;;
  *) echo "tidy.sh: unknown argument '$1'; it takes none (./scripts/tidy.sh --help)" >&2; exit 2 ;;
esac
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
