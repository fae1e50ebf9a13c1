#!/usr/bin/env bash
# The runtime and release images must carry no fault-hook code or strings;
# the integration image must carry them (so this check can tell the two
# apart). Only what is loaded counts: the check reads the image's loadable
# bytes (objcopy -O binary), not debug info. Matches are substrings: a
# neighbouring printable byte (a length, a tab) must neither hide a hook
# string in a runtime image nor lose it in the integration image.
set -euo pipefail
objcopy=$1; integration=$2; shift 2
hook_strings=(rootd-hooks force-fail force-service-fail force-spawn-fail probed-omit-primary-control
              probed-misroute-primary-control FORCED_FAILURE BOOT_FORCED_SPAWN_FAILURE
              BOOT_FORCED_SERVICE_FAILURE)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

loaded_strings() { "$objcopy" -O binary "$1" "$tmp/image.bin" && strings -n 6 "$tmp/image.bin"; }

status=0
present=$(loaded_strings "$integration")
for s in "${hook_strings[@]}"; do
  grep -qF -- "$s" <<<"$present" || { echo "integration image lacks hook string '$s'" >&2; status=1; }
done
for elf in "$@"; do
  found=$(loaded_strings "$elf" | grep -F -f <(printf '%s\n' "${hook_strings[@]}") || true)
  if [ -n "$found" ]; then
    echo "$elf carries fault-hook strings:" >&2; echo "$found" >&2; status=1
  else
    echo "$elf: no fault-hook strings"
  fi
done
exit $status
