#!/usr/bin/env bash
# The main job: set up, build, and boot examples/runtime.toml (or the config
# given) with erix-boot, which runs the real freestanding rootd ELF under a
# model of the kernel and early services. Extra arguments go to erix-boot.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
ninja -C "$ROOT/build" >/dev/null
cd "$ROOT"
if [ -x build/sim/erix-boot ]; then
  exec build/sim/erix-boot "$@"
fi
# Without erix-boot in this build, show the checked launch plan instead.
echo "erix-boot is not part of this build; showing the launch plan of examples/runtime.toml"
build/tools/erix-bcfg check examples/runtime.toml
exec build/tools/erix-bcfg plan examples/runtime.toml
