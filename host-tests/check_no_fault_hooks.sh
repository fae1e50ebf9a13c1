#!/usr/bin/env bash
# The runtime and release images must carry no fault-hook code or strings;
# the integration image must carry them (so this check can tell the two
# apart). Only what is loaded counts: the check reads the image's loadable
# bytes (objcopy -O binary), not debug info. Matches are substrings: a
# neighbouring printable byte (a length, a tab) must neither hide a hook
# string in a runtime image nor lose it in the integration image.
#
# Verifiers likewise: no verifier name (verify.hpp verifier_name, read from
# the header given), no PROOF marker and no VERIFY_ reason name in the
# runtime and release images; the integration image has the names and the
# VERIFY_ reasons. A verifier name is matched as a whole upper-case token
# (FRAMEBUFFER must not match HANDOFF_FRAMEBUFFER_EMPTY).
set -euo pipefail
objcopy=$1; verify_header=$2; integration=$3; shift 3
hook_strings=(rootd-hooks force-fail force-service-fail force-spawn-fail probed-omit-primary-control
              probed-misroute-primary-control FORCED_FAILURE BOOT_FORCED_SPAWN_FAILURE
              BOOT_FORCED_SERVICE_FAILURE)
mapfile -t verifier_names < <(sed -n 's/.*case VerifierId::\([A-Z0-9_]*\): return "\1";.*/\1/p' "$verify_header")
[ ${#verifier_names[@]} -gt 0 ] || { echo "no verifier names in $verify_header" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

loaded_strings() { "$objcopy" -O binary "$1" "$tmp/image.bin" && strings -n 4 "$tmp/image.bin"; }

status=0
present=$(loaded_strings "$integration")
for s in "${hook_strings[@]}"; do
  grep -qF -- "$s" <<<"$present" || { echo "integration image lacks hook string '$s'" >&2; status=1; }
done
token() { printf '(^|[^A-Z0-9_])%s($|[^A-Z0-9_])\n' "$@"; }
for s in "${verifier_names[@]}" VERIFY_; do
  case "$s" in VERIFY_) pattern='VERIFY_' ;; *) pattern=$(token "$s") ;; esac
  grep -qE -- "$pattern" <<<"$present" || { echo "integration image lacks verifier string '$s'" >&2; status=1; }
done
for elf in "$@"; do
  strings_of=$(loaded_strings "$elf")
  found=$(grep -F -f <(printf '%s\n' "${hook_strings[@]}") <<<"$strings_of" || true)
  if [ -n "$found" ]; then
    echo "$elf carries fault-hook strings:" >&2; echo "$found" >&2; status=1
  else
    echo "$elf: no fault-hook strings"
  fi
  found=$(grep -E -f <(token "${verifier_names[@]}"; printf '%s\n' PROOF VERIFY_) <<<"$strings_of" || true)
  if [ -n "$found" ]; then
    echo "$elf carries verifier strings:" >&2; echo "$found" >&2; status=1
  else
    echo "$elf: no verifier strings"
  fi
done
exit $status
