#!/usr/bin/env bash
# Reports what the rootd images cost: loadable section sizes of every build
# variant against the 64 KiB image budget, and the deepest stack rootd uses
# booting examples/runtime.toml (erix-boot --stack) against the 16 KiB
# budget. A report, not a test: it prints figures and never fails on them.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
ninja -C "$ROOT/build" shell/rootd shell/rootd-runtime-release shell/rootd-integration sim/erix-boot >/dev/null
cd "$ROOT"
printf '%-24s %8s %8s %8s %8s %10s\n' image .text .rodata .data .bss "loaded"
for elf in rootd rootd-runtime-release rootd-integration; do
  size -A "build/shell/$elf" | awk -v name="$elf" '
    $1 == ".text" {t = $2} $1 == ".rodata" {r = $2} $1 == ".data" {d = $2} $1 == ".bss" {b = $2}
    END {printf "%-24s %8d %8d %8d %8d %10d  (budget 65536 for text+rodata+data)\n", name, t, r, d, b, t + r + d}'
done
for config in ${1:-examples/runtime.toml}; do
  peak=$(build/sim/erix-boot --stack "$config" | grep '^stack: ' || true)
  echo "$config: $peak (budget 16384)"
done
