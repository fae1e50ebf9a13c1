#!/usr/bin/env bash
# Reports what the rootd images cost: loadable section sizes of every build
# variant against the 64 KiB image budget, and the deepest stack rootd uses
# booting examples/runtime.toml (erix-boot --stack) against the 16 KiB
# budget. A report, not a test: it prints figures and never fails on them;
# it fails only when it cannot measure (bad argument, missing config, a boot
# that does not end with a stack figure).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() {
  cat <<'USAGE'
usage: ./scripts/image-report.sh [CONFIG...]

Builds the rootd images and erix-boot in build/, then prints each image's
.text, .rodata, .data and .bss sizes and its loaded size (text+rodata+data)
against its budget (64 KiB; the integration image, which carries the
verifiers and never ships, 96 KiB), and for each CONFIG (default
examples/runtime.toml) the peak stack of a boot (erix-boot --stack) against
the 16 KiB budget. Relative CONFIG paths are taken from the current directory.
Exit: 0 printed, 1 a boot gave no stack figure, 2 bad argument or missing CONFIG.
USAGE
}

configs=()
for a in "$@"; do
  case "$a" in
    -h|--help) usage; exit 0 ;;
    -*) echo "image-report.sh: unknown option $a (./scripts/image-report.sh --help)" >&2; exit 2 ;;
  esac
  if [ -d "$a" ]; then
    echo "image-report.sh: $a: is a directory, not a boot config" >&2; exit 2
  elif [ ! -r "$a" ]; then
    echo "image-report.sh: $a: no such readable file" >&2; exit 2
  fi
  configs+=("$(cd "$(dirname "$a")" && pwd)/$(basename "$a")")
done
[ ${#configs[@]} -gt 0 ] || configs=("$ROOT/examples/runtime.toml")

source "$ROOT/scripts/setup.sh"
build build shell/rootd shell/rootd-runtime-release shell/rootd-integration sim/erix-boot
cd "$ROOT"
printf '%-24s %8s %8s %8s %8s %10s\n' image .text .rodata .data .bss "loaded"
for elf in rootd rootd-runtime-release rootd-integration; do
  budget=65536
  [ "$elf" = rootd-integration ] && budget=98304  # the verifiers; never shipped (docs/performance.md)
  size -A "build/shell/$elf" | awk -v name="$elf" -v budget="$budget" '
    $1 == ".text" {t = $2} $1 == ".rodata" {r = $2} $1 == ".data" {d = $2} $1 == ".bss" {b = $2}
    END {printf "%-24s %8d %8d %8d %8d %10d  (budget %d for text+rodata+data)\n", name, t, r, d, b, t + r + d, budget}'
done
status=0
for config in "${configs[@]}"; do
  shown=${config#"$ROOT"/}
  out=$(build/sim/erix-boot --stack "$config" 2>&1) || true
  peak=$(printf '%s\n' "$out" | grep '^stack: ' || true)
  if [ -z "$peak" ]; then
    echo "image-report.sh: $shown: the boot printed no stack figure; its output:" >&2
    printf '%s\n' "$out" >&2
    status=1
    continue
  fi
  echo "$shown: $peak (budget 16384)"
done
exit $status
