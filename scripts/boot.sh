#!/usr/bin/env bash
# The main job: set up, build, and boot examples/runtime.toml (or the config
# given) with erix-boot, which runs the real freestanding rootd ELF under a
# model of the kernel and early services. Extra arguments go to erix-boot.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# erix-boot's options, so that a mistyped one fails before a build. The
# scripts test compares these lists with `erix-boot --help`.
VALUE_OPTIONS=(--image --fault --latency --handoff --write-handoff --hooks --audit-json --trace --chart --disk)
FLAG_OPTIONS=(--audit --stack --version)

usage() {
  cat <<'USAGE'
usage: ./scripts/boot.sh [ERIX-BOOT OPTIONS] [CONFIG]

Installs what is missing, builds build/ (about 2 min the first time), then
boots CONFIG (default examples/runtime.toml) with build/sim/erix-boot, which
runs the real rootd ELF under a model of the kernel and early services.
Every argument goes to erix-boot; its exit status is the script's.
Without erix-boot in the build, prints the checked launch plan instead.
USAGE
  if [ -x "$ROOT/build/sim/erix-boot" ]; then
    echo
    echo "erix-boot's options (build/sim/erix-boot --help):"
    echo
    "$ROOT/build/sim/erix-boot" --help
  else
    echo
    echo "erix-boot's options: docs/erix-boot.md (or this text again after a build)."
  fi
}

in_list() {
  local want=$1; shift
  local o
  for o in "$@"; do [ "$o" = "$want" ] && return 0; done
  return 1
}

# Check the options' names (erix-boot checks their values).
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  a=${args[i]}
  case "$a" in
    -h|--help) usage; exit 0 ;;
    --*=*)
      in_list "${a%%=*}" "${VALUE_OPTIONS[@]}" || {
        echo "boot.sh: unknown option ${a%%=*} (./scripts/boot.sh --help)" >&2; exit 2; } ;;
    -) ;;
    -*)
      if in_list "$a" "${VALUE_OPTIONS[@]}"; then
        if ((i + 1 >= ${#args[@]})); then
          echo "boot.sh: $a needs a value (./scripts/boot.sh --help)" >&2; exit 2
        fi
        i=$((i + 1))
      elif ! in_list "$a" "${FLAG_OPTIONS[@]}"; then
        echo "boot.sh: unknown option $a (./scripts/boot.sh --help)" >&2; exit 2
      fi ;;
  esac
done

source "$ROOT/scripts/setup.sh"
build build
cd "$ROOT"
if [ -x build/sim/erix-boot ]; then
  exec build/sim/erix-boot "$@"
fi
# Without erix-boot in this build, show the checked launch plan instead.
echo "erix-boot is not part of this build; showing the launch plan of examples/runtime.toml"
build/tools/erix-bcfg check examples/runtime.toml
exec build/tools/erix-bcfg plan examples/runtime.toml
