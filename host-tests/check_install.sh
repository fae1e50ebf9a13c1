#!/usr/bin/env bash
# An installed erix-boot works on its own: `meson install --destdir` into a
# temporary directory, the tree moved elsewhere (so neither the build tree
# nor the first install location is where it looks), then erix-boot run
# from outside both trees boots the installed examples to READY. Its
# loaded data must not hold the build or source directory's path.
#
# usage: check_install.sh BUILD_ROOT SOURCE_ROOT OBJCOPY
set -uo pipefail
build=$1
source_root=$2
objcopy=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

if ! meson install -C "$build" --no-rebuild --destdir "$work/first" >"$work/install.log" 2>&1; then
  cat "$work/install.log"
  echo "FAIL: meson install"
  exit 1
fi
# Somewhere else entirely: nothing may point back at $work/first.
mv "$work/first" "$work/moved"
exe=$(find "$work/moved" -type f -name erix-boot -path '*/bin/*')
[ -n "$exe" ] || { echo "FAIL: no bin/erix-boot installed"; exit 1; }
prefix=$(dirname "$(dirname "$exe")")

for image in rootd rootd-runtime-release rootd-integration loader-ok loader-alt; do
  [ -f "$prefix/libexec/erix-rootd/$image" ] || fail "libexec/erix-rootd/$image is not installed"
done
[ -f "$prefix/share/erix-rootd/examples/runtime.toml" ] || fail "share/erix-rootd/examples/runtime.toml is not installed"
[ ! -e "$prefix/share/erix-rootd/examples/consumer" ] || fail "examples/consumer was installed with the configs"
[ -z "$(find "$work/moved" -name '*.layout')" ] || fail "a build-tree .layout file was installed"

mkdir "$work/elsewhere"
# boot ARGS...: runs the installed erix-boot from outside every tree; the
# last stdout line must be a READY summary.
boot() {
  local out status=0
  out=$(cd "$work/elsewhere" && "$exe" "$@" 2>"$work/err") || status=$?
  [ "$status" -eq 0 ] || fail "erix-boot $*: exit $status: $(cat "$work/err")"
  case "$(printf '%s\n' "$out" | tail -n 1)" in
    "summary: status=READY "*) ;;
    *) fail "erix-boot $*: no READY summary: $(printf '%s\n' "$out" | tail -n 2)" ;;
  esac
}
boot                                                       # the default config and image
boot "$prefix/share/erix-rootd/examples/phase0.toml"       # an installed example
boot --image "$prefix/libexec/erix-rootd/rootd-runtime-release" "$prefix/share/erix-rootd/examples/phase0.toml"

# Copied out of any tree, erix-boot has no images or examples beside it:
# it says so and asks for --image, and boots when given both.
mkdir "$work/lonely"
cp "$exe" "$work/lonely/erix-boot"
status=0
(cd "$work/elsewhere" && "$work/lonely/erix-boot" "$prefix/share/erix-rootd/examples/phase0.toml" >"$work/out" 2>"$work/err") || status=$?
[ "$status" -eq 2 ] && [ ! -s "$work/out" ] || fail "erix-boot with nothing beside it: exit $status, stdout $(cat "$work/out")"
grep -q -- "--image" "$work/err" || fail "erix-boot with nothing beside it does not point to --image: $(cat "$work/err")"
status=0
(cd "$work/elsewhere" && "$work/lonely/erix-boot" >"$work/out" 2>"$work/err") || status=$?
[ "$status" -eq 2 ] && grep -q "CONFIG" "$work/err" || fail "erix-boot with no config anywhere: exit $status, $(cat "$work/err")"
exe_saved=$exe
exe="$work/lonely/erix-boot"
boot --image "$prefix/libexec/erix-rootd/rootd" "$prefix/share/erix-rootd/examples/phase0.toml"
exe=$exe_saved

# Paths in the loaded data (debug info may name the sources; that is not
# something the program reads).
bcfg="$prefix/bin/erix-bcfg"
(cd "$work/elsewhere" && "$bcfg" check "$prefix/share/erix-rootd/examples/runtime.toml" >"$work/out" 2>&1) ||
  fail "installed erix-bcfg check of an installed example: $(cat "$work/out")"
for tool in "$exe" "$bcfg"; do
  for section in .rodata .data; do
    "$objcopy" -O binary --only-section="$section" "$tool" "$work/section" 2>/dev/null || continue
    for dir in "$build" "$source_root"; do
      ! grep -q -F -- "$dir" "$work/section" || fail "installed $(basename "$tool")'s $section holds $dir"
    done
  done
done

if [ "$failures" -ne 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "install: erix-boot boots the installed examples from $prefix"
