#!/usr/bin/env bash
# Shared set-up for the README commands: installs the Debian packages the
# project needs when any is missing, then configures the build directories.
# Sourced by boot.sh and test.sh; safe to run again (it only does what is
# missing).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# gdisk, fdisk, e2fsprogs, dosfstools: the storage tests make GPT disk images
# with sgdisk, sfdisk, mke2fs and mkfs.fat.
PACKAGES=(meson ninja-build g++ pkg-config binutils catch2 libfmt-dev libtomlplusplus-dev
          graphviz clang-14 libclang-rt-14-dev clang-tidy gdisk fdisk e2fsprogs dosfstools)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# configure DIR [meson options...]: set up DIR once; later runs reuse it.
configure() {
  local dir=$1; shift
  if [ ! -f "$ROOT/$dir/build.ninja" ]; then
    meson setup "$ROOT/$dir" "$ROOT" --wrap-mode=nodownload "$@" >/dev/null
  fi
}

configure build
