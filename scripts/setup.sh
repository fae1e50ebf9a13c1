#!/usr/bin/env bash
# Shared set-up for the README commands: installs the Debian packages the
# project needs when any is missing, then configures the build directories.
# Sourced by boot.sh, test.sh and image-report.sh after they have checked
# their own arguments; safe to run again (it only does what is missing).
#
# Tool output (apt-get, meson setup, ninja) goes to a log: the user sees
# what is happening and ninja's progress, and the whole log when a step
# fails, since the log is the only place the compiler's error is.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# gdisk, fdisk, e2fsprogs, dosfstools: the storage tests make GPT disk images
# with sgdisk, sfdisk, mke2fs and mkfs.fat.
PACKAGES=(meson ninja-build g++ pkg-config binutils catch2 libfmt-dev libtomlplusplus-dev
          graphviz clang-14 libclang-rt-14-dev clang-tidy gdisk fdisk e2fsprogs dosfstools)

setup_usage() {
  cat <<EOF
usage: ./scripts/setup.sh

Installs the Debian packages rootd needs when any is missing (with sudo
unless run as root): ${PACKAGES[*]}.
Then configures build/ with meson (once; later runs reuse it).
boot.sh, test.sh and image-report.sh do this themselves first.
EOF
}

# Run directly (not sourced): only --help is an argument.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  case "${1-}" in
    -h|--help) setup_usage; exit 0 ;;
    "") ;;
    *) echo "setup.sh: unknown argument '$1' (./scripts/setup.sh --help)" >&2; exit 2 ;;
  esac
fi

# logged TITLE COMMAND...: runs COMMAND with its output in a log file; on
# failure prints the whole log to stderr and exits with COMMAND's status.
logged() {
  local title=$1; shift
  local log status=0
  log=$(mktemp "${TMPDIR:-/tmp}/rootd-setup.XXXXXX")
  "$@" >"$log" 2>&1 || status=$?
  if [ "$status" -ne 0 ]; then
    {
      echo "setup: $title failed (exit $status); its output:"
      cat "$log"
      echo "setup: $title failed (exit $status); the output above is kept in $log"
    } >&2
    exit "$status"
  fi
  rm -f "$log"
}

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  logged "apt-get update" $SUDO apt-get update -qq
  # env after sudo: sudo drops the caller's environment.
  logged "apt-get install" $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends "${missing[@]}"
fi

# configure DIR [meson options...]: set up DIR once; later runs reuse it.
configure() {
  local dir=$1; shift
  if [ ! -f "$ROOT/$dir/build.ninja" ]; then
    echo "setup: configuring $dir/" >&2
    logged "meson setup $dir" meson setup "$ROOT/$dir" "$ROOT" --wrap-mode=nodownload "$@"
  fi
}

# build DIR [TARGETS...]: builds with ninja. Progress goes to stderr (one
# line rewritten in place on a terminal, ninja's own lines otherwise); the
# full output is printed when the build fails.
build() {
  local dir=$1; shift
  # A dry run first, to stay quiet when there is nothing to do. (Its
  # output is taken whole: grep -q stopping early would kill ninja with
  # SIGPIPE, and pipefail would count that as nothing to do.)
  local plan status=0
  plan=$(ninja -C "$ROOT/$dir" -n "$@" 2>&1) || status=$?
  if [ "$status" -eq 0 ] && ! grep -q '^\[' <<<"$plan"; then
    return 0
  fi
  echo "building $dir/ (about 2 min the first time)" >&2
  local log tty=0
  status=0
  log=$(mktemp "${TMPDIR:-/tmp}/rootd-build.XXXXXX")
  [ -t 2 ] && tty=1
  set +e
  ninja -C "$ROOT/$dir" "$@" 2>&1 | tee "$log" | while IFS= read -r line; do
    case "$line" in
      \[*) if [ "$tty" -eq 1 ]; then
             printf '\r\033[K%s' "${line:0:$(( ${COLUMNS:-80} - 1 ))}" >&2
           else
             printf '%s\n' "$line" >&2
           fi ;;
    esac
  done
  status=${PIPESTATUS[0]}
  set -e
  [ "$tty" -eq 1 ] && printf '\r\033[K' >&2
  if [ "$status" -ne 0 ]; then
    {
      echo "build of $dir/ failed (ninja exit $status); the full output:"
      cat "$log"
      echo "build of $dir/ failed (ninja exit $status); the output above is kept in $log"
    } >&2
    exit "$status"
  fi
  rm -f "$log"
}

configure build
