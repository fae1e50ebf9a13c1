#!/usr/bin/env bash
# Fails when any freestanding ELF given needs a symbol it does not define:
# rootd runs with no libc and no libstdc++, so there is nothing to resolve it.
set -u
nm=$1; shift
status=0
for elf in "$@"; do
  undefined=$("$nm" -u "$elf")
  if [ -n "$undefined" ]; then
    echo "$elf needs undefined symbols:" >&2
    echo "$undefined" >&2
    status=1
  else
    echo "$elf: no undefined symbols"
  fi
done
exit $status
